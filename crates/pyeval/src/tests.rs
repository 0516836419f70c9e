//! The evaluator on the shapes real settings and URL modules take.

use crate::{Interp, Limit, Memory, ModResult, Source, Val};
use djcheck_diagnostics::FileId;
use djcheck_python::ParsedModule;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// A project held in memory: relative path to text.
struct Mem {
    files: BTreeSet<String>,
    texts: BTreeMap<String, String>,
    ids: BTreeMap<String, FileId>,
}

impl Mem {
    fn new(files: &[(&str, &str)]) -> Mem {
        let texts: BTreeMap<String, String> = files
            .iter()
            .map(|(p, t)| ((*p).to_owned(), (*t).to_owned()))
            .collect();
        Mem {
            files: texts.keys().cloned().collect(),
            texts,
            ids: BTreeMap::new(),
        }
    }
}

impl Source for Mem {
    fn resolve(&self, dotted: &str) -> Option<String> {
        let rel = dotted.replace('.', "/");
        [format!("{rel}.py"), format!("{rel}/__init__.py")]
            .into_iter()
            .find(|c| self.files.contains(c))
    }

    fn load(&mut self, rel: &str) -> Option<(FileId, Rc<ParsedModule>)> {
        let text = self.texts.get(rel)?.clone();
        let id = self.register(rel);
        let parsed = djcheck_python::parse_module(&text);
        parsed.errors.is_empty().then(|| (id, Rc::new(parsed)))
    }

    fn files(&self) -> &BTreeSet<String> {
        &self.files
    }

    fn is_missing_project_module(&self, dotted: &str) -> bool {
        let first = dotted.split('.').next().unwrap_or(dotted);
        first != dotted && self.resolve(first).is_some() && self.resolve(dotted).is_none()
    }

    fn register(&mut self, rel: &str) -> FileId {
        let n = u32::try_from(self.ids.len()).unwrap_or(0);
        *self.ids.entry(rel.to_owned()).or_insert(FileId(n))
    }

    fn exists_unlisted(&self, _rel: &str) -> bool {
        false
    }
}

fn run(files: &[(&str, &str)], module: &str) -> (Rc<ModResult>, Memory) {
    let mut src = Mem::new(files);
    let mut mem = Memory::new();
    let res = {
        let mut it = Interp::new(&mut mem, &mut src);
        it.module(module).expect("module evaluates")
    };
    (res, mem)
}

fn strs(res: &ModResult, name: &str) -> Vec<String> {
    match res.env.get(name) {
        Some(Val::List(id)) => res
            .list(*id)
            .expect("list")
            .items
            .iter()
            .map(|i| match &i.val {
                Val::Str(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("{name} is not a list: {other:?}"),
    }
}

fn s(res: &ModResult, name: &str) -> Option<String> {
    res.env
        .get(name)
        .and_then(|v| v.as_str().map(str::to_owned))
}

const PKG: (&str, &str) = ("proj/__init__.py", "");

#[test]
fn optional_local_settings_absent_is_a_no_op() {
    let settings = "\
ROOT_URLCONF = 'proj.urls'
INSTALLED_APPS = ['django.contrib.auth', 'blog']
try:
    from .local_settings import *
except ImportError:
    pass
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(s(&res, "ROOT_URLCONF").as_deref(), Some("proj.urls"));
    assert_eq!(
        strs(&res, "INSTALLED_APPS"),
        ["django.contrib.auth", "blog"]
    );
    assert!(res.star_unknown.is_none());
    assert!(res.origins["ROOT_URLCONF"].overridden_at.is_none());
}

#[test]
fn optional_local_settings_present_is_evaluated() {
    let settings = "\
ROOT_URLCONF = 'proj.urls'
DEBUG = False
try:
    from proj.local_settings import *
except ImportError:
    pass
";
    let local = "DEBUG = True\nROOT_URLCONF = 'proj.urls_local'\n";
    let (res, _) = run(
        &[
            PKG,
            ("proj/settings.py", settings),
            ("proj/local_settings.py", local),
        ],
        "proj.settings",
    );
    assert_eq!(s(&res, "ROOT_URLCONF").as_deref(), Some("proj.urls_local"));
    assert_eq!(res.env.get("DEBUG"), Some(&Val::Bool(true)));
}

#[test]
fn local_settings_behind_exists_or_suppress() {
    let settings = "\
import os
from contextlib import suppress
from pathlib import Path
BASE_DIR = Path(__file__).resolve().parent.parent
ROOT_URLCONF = 'proj.urls'
if os.path.exists(os.path.join(BASE_DIR, 'proj', 'local.py')):
    from .local import *
with suppress(ImportError):
    from .other_local import *
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(s(&res, "ROOT_URLCONF").as_deref(), Some("proj.urls"));
    assert!(res.star_unknown.is_none(), "{:?}", res.star_unknown);
}

#[test]
fn unreadable_star_import_keeps_earlier_values_marked() {
    let settings = "\
ROOT_URLCONF = 'proj.urls'
from third_party.settings import *
AUTH_USER_MODEL = 'users.User'
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(s(&res, "ROOT_URLCONF").as_deref(), Some("proj.urls"));
    assert!(res.origins["ROOT_URLCONF"].overridden_at.is_some());
    assert!(res.origins["AUTH_USER_MODEL"].overridden_at.is_none());
    assert!(res.star_unknown.is_some());
}

#[test]
fn settings_package_base_dev_prod() {
    let base = "INSTALLED_APPS = ['django.contrib.auth', 'users']\nDEBUG = False\n";
    let dev = "from .base import *\nINSTALLED_APPS += ['debug_toolbar']\nDEBUG = True\n";
    let prod = "from .base import *\n";
    let files = [
        PKG,
        ("proj/settings/__init__.py", ""),
        ("proj/settings/base.py", base),
        ("proj/settings/dev.py", dev),
        ("proj/settings/prod.py", prod),
    ];
    let (res, _) = run(&files, "proj.settings.dev");
    assert_eq!(
        strs(&res, "INSTALLED_APPS"),
        ["django.contrib.auth", "users", "debug_toolbar"]
    );
    assert_eq!(res.env.get("DEBUG"), Some(&Val::Bool(true)));
    let (res, _) = run(&files, "proj.settings.prod");
    assert_eq!(
        strs(&res, "INSTALLED_APPS"),
        ["django.contrib.auth", "users"]
    );
}

#[test]
fn split_settings_with_globs_and_optional() {
    let init = "\
from split_settings.tools import include, optional
include(
    'components/base.py',
    'components/*.py',
    optional('local_settings.py'),
    optional('missing.py'),
)
";
    let files = [
        PKG,
        ("proj/settings/__init__.py", init),
        (
            "proj/settings/components/base.py",
            "INSTALLED_APPS = ['django.contrib.auth']\nROOT_URLCONF = 'proj.urls'\n",
        ),
        (
            "proj/settings/components/apps.py",
            "INSTALLED_APPS += ['blog']\n",
        ),
        (
            "proj/settings/components/database.py",
            "MIGRATION_MODULES = {'blog': 'blog.db_migrations'}\n",
        ),
        ("proj/settings/local_settings.py", "DEBUG = True\n"),
    ];
    let (res, _) = run(&files, "proj.settings");
    assert_eq!(
        strs(&res, "INSTALLED_APPS"),
        ["django.contrib.auth", "blog"]
    );
    assert_eq!(s(&res, "ROOT_URLCONF").as_deref(), Some("proj.urls"));
    assert_eq!(res.env.get("DEBUG"), Some(&Val::Bool(true)));
    assert!(matches!(
        res.env.get("MIGRATION_MODULES"),
        Some(Val::Dict(_))
    ));
    assert!(res.star_unknown.is_none());
    assert_eq!(res.included.len(), 4, "base.py once, the two others, local");
}

#[test]
fn migration_modules_under_if_gives_alternatives() {
    let settings = "\
import sys
TESTING = 'test' in sys.argv
if TESTING:
    MIGRATION_MODULES = {'blog': 'blog.test_migrations'}
else:
    MIGRATION_MODULES = {'blog': 'blog.migrations_prod'}
ROOT_URLCONF = 'proj.urls_a' if TESTING else 'proj.urls_b'
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    match res.env.get("MIGRATION_MODULES") {
        Some(Val::OneOf(alts)) => assert_eq!(alts.len(), 2),
        other => panic!("{other:?}"),
    }
    match res.env.get("ROOT_URLCONF") {
        Some(Val::OneOf(alts)) => assert_eq!(
            alts.as_ref(),
            &[
                Val::Str("proj.urls_a".to_owned()),
                Val::Str("proj.urls_b".to_owned())
            ]
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn string_building() {
    let settings = "\
from pathlib import Path
PROJECT_NAME = 'shop'
ROOT_URLCONF = '{}.urls'.format(PROJECT_NAME)
A = '%s.wsgi.application' % PROJECT_NAME
B = f'{PROJECT_NAME}.asgi'
C = 'Shop.Settings'.lower().replace('settings', 'urls')
D = 'a' + '.' + 'b'
E = '{0}-{1}'.format('x', 1)
F = str(Path(__file__).parent / 'templates')
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(s(&res, "ROOT_URLCONF").as_deref(), Some("shop.urls"));
    assert_eq!(s(&res, "A").as_deref(), Some("shop.wsgi.application"));
    assert_eq!(s(&res, "B").as_deref(), Some("shop.asgi"));
    assert_eq!(s(&res, "C").as_deref(), Some("shop.urls"));
    assert_eq!(s(&res, "D").as_deref(), Some("a.b"));
    assert_eq!(s(&res, "E").as_deref(), Some("x-1"));
    assert_eq!(
        res.env.get("F"),
        Some(&Val::Path(crate::FsPath::Known(
            "proj/templates".to_owned()
        )))
    );
}

#[test]
fn environment_defaults() {
    let settings = "\
import os
import environ
from decouple import config
env = environ.Env(DEBUG=(bool, False))
A = os.environ.get('A', 'proj.urls')
B = os.getenv('B', 'users.User')
C = env('C', default='c')
D = env.str('D', default='d')
E = env.bool('DEBUG')
F = env.list('F', default=['x', 'y'])
G = config('G', default='g')
H = config('H', default='True', cast=bool)
I = os.environ['I']
J = env('J')
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(s(&res, "A").as_deref(), Some("proj.urls"));
    assert_eq!(s(&res, "B").as_deref(), Some("users.User"));
    assert_eq!(s(&res, "C").as_deref(), Some("c"));
    assert_eq!(s(&res, "D").as_deref(), Some("d"));
    assert_eq!(res.env.get("E"), Some(&Val::Bool(false)));
    assert_eq!(strs(&res, "F"), ["x", "y"]);
    assert_eq!(s(&res, "G").as_deref(), Some("g"));
    assert_eq!(res.env.get("H"), Some(&Val::Bool(true)));
    assert_eq!(res.env.get("I"), Some(&Val::Unknown));
    assert_eq!(res.env.get("J"), Some(&Val::Unknown));
    let env = |n: &str| res.origins[n].env.clone().expect("env read");
    assert!(env("A").has_default);
    assert!(!env("I").has_default);
    assert_eq!(env("I").var.as_deref(), Some("I"));
    assert!(!env("J").has_default);
}

#[test]
fn django_tenants_collections() {
    let settings = "\
SHARED_APPS = ['django_tenants', 'customers', 'django.contrib.auth']
TENANT_APPS = ['django.contrib.auth', 'shop']
INSTALLED_APPS = SHARED_APPS + [a for a in TENANT_APPS if a not in SHARED_APPS]
B = list(dict.fromkeys(SHARED_APPS + TENANT_APPS))
C = list(filter(lambda a: a not in SHARED_APPS, TENANT_APPS))
D = INSTALLED_APPS[1:3]
E = tuple(SHARED_APPS)
E2 = [*SHARED_APPS, 'x']
INSTALLED_APPS.remove('customers')
INSTALLED_APPS.insert(0, 'first')
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(
        strs(&res, "INSTALLED_APPS"),
        ["first", "django_tenants", "django.contrib.auth", "shop"]
    );
    assert_eq!(
        strs(&res, "B"),
        ["django_tenants", "customers", "django.contrib.auth", "shop"]
    );
    assert_eq!(strs(&res, "C"), ["shop"]);
    assert_eq!(strs(&res, "D"), ["customers", "django.contrib.auth"]);
    assert_eq!(
        strs(&res, "E"),
        ["django_tenants", "customers", "django.contrib.auth"]
    );
    assert_eq!(strs(&res, "E2").len(), 4);
}

#[test]
fn conditional_items_are_listed_with_their_condition() {
    let settings = "A = ['x']\nif DEBUG:\n    A += ['y']\nB = 'a'\nif X:\n    B = 'b'\nC = 1\nif X:\n    C = 1\n";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    let Some(Val::List(id)) = res.env.get("A") else {
        panic!()
    };
    let items = &res.list(*id).expect("list").items;
    assert_eq!(items.len(), 2);
    assert!(items[0].cond.is_always());
    assert!(!items[1].cond.is_always());
    assert!(matches!(res.env.get("B"), Some(Val::OneOf(_))));
    assert_eq!(res.env.get("C"), Some(&Val::Int(1)));
}

#[test]
fn doubling_is_capped_not_fatal() {
    let mut settings = String::from("X = ['a']\nS = 'ab'\n");
    for _ in 0..40 {
        settings.push_str("X = X + X\nS = S + S\n");
    }
    settings.push_str("Y = ['b']\nfor _ in range(3):\n    Y += Y\n");
    let (res, mem) = run(&[PKG, ("proj/settings.py", &settings)], "proj.settings");
    let Some(Val::List(id)) = res.env.get("X") else {
        panic!()
    };
    let items = &res.list(*id).expect("list").items;
    assert!(items.len() <= crate::MAX_LIST_ITEMS + 1);
    assert!(items.last().is_some_and(|i| i.val == Val::Unknown));
    assert_eq!(res.env.get("S"), Some(&Val::Unknown));
    let hit: Vec<Limit> = mem.limits().iter().map(|(l, _)| *l).collect();
    assert!(
        hit.contains(&Limit::ListSize) && hit.contains(&Limit::StrSize),
        "{hit:?}"
    );
}

#[test]
fn urlpatterns_built_across_modules() {
    let base = "from django.urls import path\nurlpatterns = [path('a/', view_a)]\n";
    let one = "from .base import urlpatterns\nfrom django.urls import path\nurlpatterns += [path('b/', v)]\n";
    let two = "from proj.urls import base\nfrom django.urls import path\nurlpatterns = base.urlpatterns + [path('c/', v)]\n";
    let three = "from .base import urlpatterns\nfrom django.urls import path\nurlpatterns.extend([path('d/', v)])\nurlpatterns.append(path('e/', v))\n";
    let files = [
        PKG,
        ("proj/urls/__init__.py", ""),
        ("proj/urls/base.py", base),
        ("proj/urls/one.py", one),
        ("proj/urls/two.py", two),
        ("proj/urls/three.py", three),
    ];
    let routes = |m: &str| {
        let (res, _) = run(&files, m);
        let Some(Val::List(id)) = res.env.get("urlpatterns") else {
            panic!("{m}: {:?}", res.env.get("urlpatterns"))
        };
        res.list(*id)
            .expect("list")
            .items
            .iter()
            .map(|i| match &i.val {
                Val::Entry(e) => e.route.clone().unwrap_or_default(),
                other => format!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(routes("proj.urls.one"), ["a/", "b/"]);
    assert_eq!(routes("proj.urls.two"), ["a/", "c/"]);
    assert_eq!(routes("proj.urls.three"), ["a/", "d/", "e/"]);
}

#[test]
fn class_attributes_and_bases() {
    let apps = "\
from django.apps import AppConfig
class Base(AppConfig):
    default_auto_field = 'django.db.models.BigAutoField'
class ShopConfig(Base):
    name = 'shop'
    label = 'store'
";
    let (res, _) = run(
        &[("shop/__init__.py", ""), ("shop/apps.py", apps)],
        "shop.apps",
    );
    let Some(Val::Class(c)) = res.env.get("ShopConfig") else {
        panic!()
    };
    assert_eq!(c.attrs.get("label"), Some(&Val::Str("store".to_owned())));
    assert!(matches!(&c.bases[0], Val::Class(b) if b.name == "Base"));
}

#[test]
fn loops_and_recursion_are_bounded() {
    let settings = "\
X = []
for i in range(10**9):
    X.append(i)
def f(n):
    return f(n + 1)
Y = f(0)
while True:
    X.append(1)
";
    let (res, _) = run(&[PKG, ("proj/settings.py", settings)], "proj.settings");
    assert_eq!(res.env.get("Y"), Some(&Val::Unknown));
}
