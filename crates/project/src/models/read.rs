//! Reading the project's model classes: each app's models module and the project modules
//! it imports, class bodies read from the syntax tree, names resolved by the static
//! evaluator (a memory of its own, so that settings and URL evaluation are unchanged).

use super::django::{self, DjangoAbstract};
use super::{Declared, DeclaredField, DeclaredModel, FieldClass, FieldOrigin, ModelKind};
use crate::load::{Loader, LoaderSource};
use crate::pyvalue::{self, canonical_path, CallValue, PyValue};
use crate::report::InstalledApp;
use crate::settings::Settings;
use crate::{App, FileRole};
use djcheck_diagnostics::{FileId, Span};
use djcheck_pyeval::{self as pyeval, ModResult, Val};
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::{ParsedModule, Ranged};
use rustc_hash::{FxHashMap, FxHashSet};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::sync::Arc;

/// Modules read at most through imports from the models modules.
const MAX_MODULES: usize = 600;
/// Depth of class hierarchies and of name resolution, at most.
const MAX_DEPTH: usize = 24;

/// Django's `Options` names (`DEFAULT_NAMES` of Django 5.2), the `Meta` attributes kept
/// in `original_attrs`.
const DEFAULT_NAMES: &[&str] = &[
    "verbose_name",
    "verbose_name_plural",
    "db_table",
    "db_table_comment",
    "ordering",
    "unique_together",
    "permissions",
    "get_latest_by",
    "order_with_respect_to",
    "app_label",
    "db_tablespace",
    "abstract",
    "managed",
    "proxy",
    "swappable",
    "auto_created",
    "apps",
    "default_permissions",
    "select_on_save",
    "default_related_name",
    "required_db_features",
    "required_db_vendor",
    "base_manager_name",
    "default_manager_name",
    "indexes",
    "constraints",
];

type Cache = BTreeMap<String, Option<(FileId, Rc<ParsedModule>)>>;

/// The evaluator's source, keeping every parsed module for the reader.
struct CachingSource<'a, 'o> {
    inner: LoaderSource<'a, 'o>,
    cache: Rc<RefCell<Cache>>,
}

impl pyeval::Source for CachingSource<'_, '_> {
    fn resolve(&self, dotted: &str) -> Option<String> {
        pyeval::Source::resolve(&self.inner, dotted)
    }
    fn load(&mut self, rel: &str) -> Option<(FileId, Rc<ParsedModule>)> {
        if let Some(hit) = self.cache.borrow().get(rel) {
            return hit.clone();
        }
        let got = pyeval::Source::load(&mut self.inner, rel);
        self.cache.borrow_mut().insert(rel.to_owned(), got.clone());
        got
    }
    fn files(&self) -> &BTreeSet<String> {
        pyeval::Source::files(&self.inner)
    }
    fn is_missing_project_module(&self, dotted: &str) -> bool {
        pyeval::Source::is_missing_project_module(&self.inner, dotted)
    }
    fn register(&mut self, rel: &str) -> FileId {
        pyeval::Source::register(&mut self.inner, rel)
    }
    fn exists_unlisted(&self, rel: &str) -> bool {
        pyeval::Source::exists_unlisted(&self.inner, rel)
    }
}

/// A class defined at the top level of a project module.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct ClassRef {
    module: String,
    name: String,
}

impl ClassRef {
    fn path(&self) -> String {
        format!("{}.{}", self.module, self.name)
    }
}

/// What a name or an expression stands for.
#[derive(Debug, Clone)]
enum R {
    /// Something outside the project, by canonical dotted path.
    Qual(String),
    Class(ClassRef),
    /// A class nested in a top-level class (`Base.Meta`).
    Nested(ClassRef, String),
    Module(String),
    /// A function of the project, by the path of its definition.
    Func(String),
    Settings,
    /// A member of a `Choices` enumeration: its value and label.
    Member(PyValue, PyValue),
    Value(PyValue),
    Unknown,
}

impl R {
    fn py(&self) -> PyValue {
        match self {
            R::Qual(q) => PyValue::Ref(q.clone()),
            R::Class(c) => PyValue::Ref(c.path()),
            R::Func(f) => PyValue::Ref(f.clone()),
            R::Member(v, _) => v.clone(),
            R::Value(v) => v.clone(),
            _ => PyValue::Unknown,
        }
    }
}

/// What a class is.
#[derive(Debug, Clone)]
enum Kind {
    /// A model class (`abstract` from its own `Meta`).
    Model {
        abstract_: bool,
    },
    /// Not a model, nor anything else read here: contributes no field.
    Plain,
    Choices,
    /// A field class: the Django class it deconstructs as, when its construction is
    /// Django's.
    Field {
        base: Option<&'static str>,
    },
    Manager {
        use_in_migrations: Option<bool>,
    },
    QuerySet,
    Unknown(String),
}

/// A manager declared in a class body.
#[derive(Debug, Clone)]
struct ManagerDecl {
    /// What `deconstruct()` gives for it, when it is kept as it is (`use_in_migrations`).
    value: PyValue,
    use_in_migrations: Option<bool>,
}

/// A field call in a class body, before it is attached to a model.
#[derive(Debug, Clone)]
struct BodyField {
    name: String,
    span: Span,
    class: Option<FieldClass>,
    call: CallValue,
}

/// What a class body binds.
#[derive(Debug, Clone, Default)]
struct Body {
    /// Every name the body binds (the class `__dict__`).
    names: BTreeSet<String>,
    fields: Vec<BodyField>,
    managers: Vec<(String, ManagerDecl)>,
    maybe_fields: Vec<(String, Span)>,
    /// The `Meta` class of the body.
    meta: Option<(FileId, Span)>,
    /// Why the body can't be read completely.
    problem: Option<String>,
}

/// A class as read once.
#[derive(Debug, Clone)]
struct Info {
    span: Span,
    bases: Vec<R>,
    kind: Kind,
    body: Rc<Body>,
    /// Names bound by the body, as values (constants, nested classes).
    locals: Rc<BTreeMap<String, R>>,
}

/// A node of a class hierarchy.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Node {
    Project(ClassRef),
    External(String),
}

/// One source of `Meta` attributes.
#[derive(Debug, Clone)]
enum MetaSrc {
    /// A `Meta` class of the project: the class holding it.
    Project(ClassRef),
    Django(&'static DjangoAbstract),
}

struct Reader<'i, 'a> {
    it: &'i mut pyeval::Interp<'a>,
    cache: Rc<RefCell<Cache>>,
    /// Classes read (looked up, never listed: hashed).
    infos: FxHashMap<ClassRef, Option<Rc<Info>>>,
    busy: FxHashSet<ClassRef>,
    choices: FxHashMap<ClassRef, Option<Rc<Choices>>>,
    depth: usize,
    definitions: BTreeSet<String>,
    /// Classes changed after their class statement (`Model.add_to_class(...)`).
    modified: BTreeSet<ClassRef>,
    /// The class statement being read: its module and its index among the module's
    /// statements. A module-level name bound again after it had another value there.
    at: Option<(String, usize)>,
    /// Per module: the index of the last top-level statement binding each name.
    last_binding: BTreeMap<String, Rc<BTreeMap<String, usize>>>,
    /// The first `add_to_class`/`contribute_to_class` on a class not resolved.
    unresolved_class_change: Option<String>,
}

/// The members of an enumeration class: name, value, label.
type Choices = Vec<(String, PyValue, PyValue)>;
/// Local fields, and the names of class attributes that may be fields.
type LocalFields = (Vec<DeclaredField>, Vec<(String, Span)>);
/// `Meta` options with where each is set, or why they are not known.
type Options = Result<Vec<(String, PyValue, Option<Span>)>, String>;

/// Reads every model of the project's apps.
pub(crate) fn read(
    ld: &mut Loader<'_>,
    apps: &[App],
    installed: &[InstalledApp],
    settings: &Settings,
) -> Declared {
    let mut out = Declared::default();
    // App packages (dotted) to labels.
    let mut packages: BTreeMap<String, String> = BTreeMap::new();
    for a in apps {
        let Some(dir) = &a.dir else { continue };
        // The name INSTALLED_APPS imports it by, else the one from the deepest source
        // root (`src/pkg` is `pkg`).
        let dotted = installed
            .iter()
            .find(|i| i.dir.as_deref() == Some(dir.as_str()))
            .map(|i| i.name.clone())
            .or_else(|| package_of_dir(ld, dir));
        if let Some(d) = dotted {
            packages.insert(d, a.label.clone());
        }
    }
    let cache: Rc<RefCell<Cache>> = Rc::new(RefCell::new(BTreeMap::new()));
    let mut mem = pyeval::Memory::new();
    mem.settings_module = settings.module.clone().filter(|_| settings.readable);
    let mut src = CachingSource {
        inner: LoaderSource {
            ld,
            role: FileRole::Models,
            read: Vec::new(),
        },
        cache: cache.clone(),
    };
    let mut it = pyeval::Interp::new(&mut mem, &mut src);
    let mut r = Reader {
        it: &mut it,
        cache,
        infos: FxHashMap::default(),
        busy: FxHashSet::default(),
        choices: FxHashMap::default(),
        depth: 0,
        definitions: BTreeSet::new(),
        modified: BTreeSet::new(),
        at: None,
        last_binding: BTreeMap::new(),
        unresolved_class_change: None,
    };

    // The models modules, and the project modules they import (transitively).
    let mut queue: Vec<(String, bool)> = Vec::new();
    for (pkg, label) in &packages {
        let m = format!("{pkg}.models");
        if r.resolves(&m) {
            queue.push((m, true));
        } else {
            // Django imports `<app>.models` only when it exists. Models of the
            // migrations of an app without one may be declared anywhere (or the tree is
            // partial): their absence proves nothing.
            out.without_module.insert(label.clone());
        }
    }
    let mut seen: BTreeMap<String, bool> = BTreeMap::new();
    let mut truncated = false;
    let mut unreadable: Vec<String> = Vec::new();
    let mut i = 0;
    while i < queue.len() {
        let (m, certain) = queue[i].clone();
        i += 1;
        match seen.get(&m) {
            Some(true) => continue,
            Some(false) if !certain => continue,
            _ => {}
        }
        if seen.len() >= MAX_MODULES {
            truncated = true;
            break;
        }
        seen.insert(m.clone(), certain);
        let Some((_, parsed, is_pkg)) = r.parsed(&m) else {
            unreadable.push(m.clone());
            continue;
        };
        let mut imports = Vec::new();
        collect_imports(parsed.body(), &m, is_pkg, certain, 0, &mut imports);
        for (dotted, c) in imports {
            // `import a.b.c` imports `a`, `a.b` and `a.b.c`.
            let parts: Vec<&str> = dotted.split('.').collect();
            for n in 1..=parts.len() {
                let prefix = parts[..n].join(".");
                if r.resolves(&prefix) {
                    queue.push((prefix, c));
                }
            }
        }
    }

    // Which app a module belongs to: the longest app package containing it (the module
    // itself, then each enclosing package).
    let app_of = |module: &str| -> Option<String> {
        let mut m = module;
        loop {
            if let Some(label) = packages.get(m) {
                return Some(label.clone());
            }
            m = m.rsplit_once('.')?.0;
        }
    };
    for m in &unreadable {
        if let Some(app) = app_of(m) {
            out.incomplete
                .entry(app)
                .or_insert_with(|| format!("module `{m}` can't be read"));
        }
    }
    if truncated {
        for label in packages.values() {
            out.incomplete.entry(label.clone()).or_insert_with(|| {
                format!("the models modules import more than {MAX_MODULES} project modules")
            });
        }
    }

    let defaults = default_auto_fields(&mut r, &packages, installed, settings);
    for module in seen.keys() {
        r.note_modified_classes(module);
    }

    for (module, certain) in &seen {
        let Some((file, parsed, _)) = r.parsed(module) else {
            continue;
        };
        let home = app_of(module);
        for (def, conditional) in top_level_classes(parsed.body()) {
            let cref = ClassRef {
                module: module.clone(),
                name: def.name.id.as_str().to_owned(),
            };
            let span = Span::new(file, def.name.range);
            let Some(info) = r.info(&cref) else { continue };
            match &info.kind {
                Kind::Model { abstract_: true } => {}
                Kind::Model { abstract_: false } if !conditional && *certain => {
                    let model = r.model(&cref, &info, span, home.clone(), &defaults);
                    match model {
                        Ok(m) => {
                            out.labels.insert(
                                cref.path(),
                                (
                                    format!("{}.{}", m.app, m.name.to_ascii_lowercase()),
                                    m.name.clone(),
                                ),
                            );
                            out.models.push(m);
                        }
                        Err(why) => {
                            if let Some(app) = home.clone() {
                                out.maybe_models
                                    .entry(app.clone())
                                    .or_default()
                                    .insert(cref.name.to_ascii_lowercase(), why.clone());
                                out.incomplete.entry(app).or_insert(why);
                            }
                        }
                    }
                }
                Kind::Model { .. } | Kind::Unknown(_) => {
                    // A class that may be a model: its name is never reported missing.
                    let why = match &info.kind {
                        Kind::Unknown(why) => why.clone(),
                        _ => "it is defined under a condition".to_owned(),
                    };
                    let app = home.clone().unwrap_or_default();
                    out.maybe_models
                        .entry(app)
                        .or_default()
                        .insert(cref.name.to_ascii_lowercase(), why);
                }
                _ => {}
            }
        }
    }
    // Models whose `Meta.app_label` is outside the apps read are kept: their label is
    // what Django uses.
    out.pks = out
        .models
        .iter()
        .filter_map(|m| {
            let f = m.fields.as_ref().ok()?;
            let pk = f.iter().find(|f| {
                f.call.kw("primary_key") == Some(&PyValue::Bool(true))
                    || matches!(f.origin, FieldOrigin::AutoPk)
            })?;
            Some((m.key(), pk.name.clone()))
        })
        .collect();
    out.definitions = std::mem::take(&mut r.definitions);
    out.unresolved_class_change = r.unresolved_class_change.take();
    for module in seen.keys() {
        if let Some(rel) = r.it.source().resolve(module) {
            out.read_files.insert(rel);
        }
    }
    out
}

/// The dotted name of a package folder, from the deepest source root holding it.
fn package_of_dir(ld: &Loader<'_>, dir: &str) -> Option<String> {
    let mut roots: Vec<&String> = ld.modules.roots.iter().collect();
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    for root in roots {
        let rest = if root.is_empty() {
            Some(dir)
        } else {
            dir.strip_prefix(root.as_str())
                .and_then(|r| r.strip_prefix('/'))
        };
        if let Some(rest) = rest {
            if !rest.is_empty() {
                return Some(rest.replace('/', "."));
            }
        }
    }
    None
}

/// Top-level class statements, and whether each is under a condition (`if`/`try`).
fn top_level_classes(body: &[Stmt]) -> Vec<(&ast::StmtClassDef, bool)> {
    let mut out = Vec::new();
    each_top_level_class(body, false, 0, &mut |c, cond| out.push((c, cond)));
    // A name defined twice: the last definition is the one bound.
    let mut last: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, (c, _)) in out.iter().enumerate() {
        last.insert(c.name.id.as_str(), i);
    }
    out.into_iter()
        .enumerate()
        .filter(|(i, (c, _))| last.get(c.name.id.as_str()) == Some(i))
        .map(|(_, x)| x)
        .collect()
}

/// Calls `f` on each top-level class statement in order, with whether it is under a
/// condition.
fn each_top_level_class<'a>(
    body: &'a [Stmt],
    cond: bool,
    depth: usize,
    f: &mut dyn FnMut(&'a ast::StmtClassDef, bool),
) {
    if depth > 4 {
        return;
    }
    for s in body {
        match s {
            Stmt::ClassDef(c) => f(c, cond),
            Stmt::If(i) => {
                each_top_level_class(&i.body, true, depth + 1, f);
                for c in &i.elif_else_clauses {
                    each_top_level_class(&c.body, true, depth + 1, f);
                }
            }
            Stmt::Try(t) => {
                each_top_level_class(&t.body, true, depth + 1, f);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    each_top_level_class(&h.body, true, depth + 1, f);
                }
                each_top_level_class(&t.orelse, true, depth + 1, f);
            }
            Stmt::With(w) => each_top_level_class(&w.body, cond, depth + 1, f),
            _ => {}
        }
    }
}

/// Modules imported when a module runs: `(dotted, certain)`, certain unless under a
/// condition.
fn collect_imports(
    body: &[Stmt],
    module: &str,
    is_pkg: bool,
    certain: bool,
    depth: usize,
    out: &mut Vec<(String, bool)>,
) {
    if depth > 4 {
        return;
    }
    for s in body {
        match s {
            Stmt::Import(i) => {
                for a in &i.names {
                    out.push((a.name.id.as_str().to_owned(), certain));
                }
            }
            Stmt::ImportFrom(i) => {
                let Some(base) = pyeval::absolute(
                    module,
                    is_pkg,
                    i.level,
                    i.module.as_ref().map(|m| m.id.as_str()),
                ) else {
                    continue;
                };
                out.push((base.clone(), certain));
                for a in &i.names {
                    if a.name.id.as_str() != "*" {
                        out.push((format!("{base}.{}", a.name.id.as_str()), certain));
                    }
                }
            }
            Stmt::If(x) => {
                collect_imports(&x.body, module, is_pkg, false, depth + 1, out);
                for c in &x.elif_else_clauses {
                    collect_imports(&c.body, module, is_pkg, false, depth + 1, out);
                }
            }
            Stmt::Try(t) => {
                collect_imports(&t.body, module, is_pkg, false, depth + 1, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    collect_imports(&h.body, module, is_pkg, false, depth + 1, out);
                }
                collect_imports(&t.orelse, module, is_pkg, false, depth + 1, out);
                collect_imports(&t.finalbody, module, is_pkg, certain, depth + 1, out);
            }
            Stmt::With(w) => collect_imports(&w.body, module, is_pkg, certain, depth + 1, out),
            _ => {}
        }
    }
}

/// The auto-created primary key class of each app: `AppConfig.default_auto_field`, else
/// `DEFAULT_AUTO_FIELD`, else Django's `AutoField`. `None` when not known.
fn default_auto_fields(
    r: &mut Reader<'_, '_>,
    packages: &BTreeMap<String, String>,
    installed: &[InstalledApp],
    settings: &Settings,
) -> BTreeMap<String, Option<String>> {
    let global: Option<String> = match settings.get("DEFAULT_AUTO_FIELD") {
        Some(s) => s.value.as_str().map(canonical_path),
        None if settings.readable && !settings.may_be_set("DEFAULT_AUTO_FIELD") => {
            Some("django.db.models.AutoField".to_owned())
        }
        None => None,
    };
    let mut out = BTreeMap::new();
    for (pkg, label) in packages {
        // The AppConfig class: the one INSTALLED_APPS names, else the package's default.
        let explicit = installed
            .iter()
            .find(|i| i.name == *pkg && i.entry != i.name)
            .map(|i| i.entry.clone());
        let class = match explicit {
            Some(path) => path
                .rsplit_once('.')
                .map(|(m, n)| ClassRef {
                    module: m.to_owned(),
                    name: n.to_owned(),
                })
                .map(Some)
                .unwrap_or(None),
            None => r.default_app_config(pkg),
        };
        let value = match class {
            None => global.clone(),
            Some(c) => match r.config_auto_field(&c, 0) {
                Ok(Some(v)) => Some(canonical_path(&v)),
                Ok(None) => global.clone(),
                Err(()) => None,
            },
        };
        out.insert(label.clone(), value);
    }
    out
}

impl Reader<'_, '_> {
    fn resolves(&mut self, dotted: &str) -> bool {
        self.it.source().resolve(dotted).is_some()
    }

    /// A module's syntax tree, and whether it is a package.
    fn parsed(&mut self, module: &str) -> Option<(FileId, Rc<ParsedModule>, bool)> {
        let rel = self.it.source().resolve(module)?;
        let hit = self.cache.borrow().get(&rel).cloned();
        let got = match hit {
            Some(h) => h,
            None => self.it.source().load(&rel),
        };
        let (f, p) = got?;
        Some((f, p, rel.ends_with("/__init__.py")))
    }

    fn module(&mut self, module: &str) -> Option<Rc<ModResult>> {
        self.it.module(module).ok()
    }

    /// The AppConfig of a package that Django picks without an explicit path.
    fn default_app_config(&mut self, pkg: &str) -> Option<ClassRef> {
        let module = format!("{pkg}.apps");
        let res = self.module(&module)?;
        let mut found: Vec<(ClassRef, Option<bool>)> = Vec::new();
        for v in res.env.values() {
            let Val::Class(c) = v else { continue };
            if c.module != module {
                continue;
            }
            let is_config = c.bases.iter().any(|b| match b {
                Val::Qual(q) => q == "django.apps.AppConfig" || q == "django.apps.config.AppConfig",
                Val::Class(_) | Val::Symbol(..) => true,
                _ => false,
            });
            if !is_config {
                continue;
            }
            let default = match c.attrs.get("default") {
                Some(Val::Bool(b)) => Some(*b),
                _ => None,
            };
            found.push((
                ClassRef {
                    module: c.module.clone(),
                    name: c.name.clone(),
                },
                default,
            ));
        }
        if found.len() == 1 {
            return found.pop().filter(|f| f.1 != Some(false)).map(|f| f.0);
        }
        found.into_iter().find(|f| f.1 == Some(true)).map(|f| f.0)
    }

    /// `default_auto_field` of an AppConfig class: `Ok(None)` when it does not set it
    /// (Django's AppConfig then reads the setting), `Err` when unknown.
    fn config_auto_field(&mut self, c: &ClassRef, depth: usize) -> Result<Option<String>, ()> {
        if depth > 8 {
            return Err(());
        }
        let res = self.module(&c.module).ok_or(())?;
        let Some(Val::Class(cv)) = res.env.get(&c.name) else {
            return Err(());
        };
        let cv = cv.clone();
        match cv.attrs.get("default_auto_field") {
            Some(Val::Str(s)) => return Ok(Some(s.clone())),
            Some(_) => return Err(()),
            None => {}
        }
        for b in &cv.bases {
            match self.it.force(b.clone()) {
                Val::Qual(q)
                    if q == "django.apps.AppConfig" || q == "django.apps.config.AppConfig" => {}
                Val::Class(bc) => {
                    let r = self.config_auto_field(
                        &ClassRef {
                            module: bc.module.clone(),
                            name: bc.name.clone(),
                        },
                        depth + 1,
                    )?;
                    if r.is_some() {
                        return Ok(r);
                    }
                }
                _ => return Err(()),
            }
        }
        Ok(None)
    }

    // ----- names -----------------------------------------------------------------------

    fn enter(&mut self) -> bool {
        if self.depth >= MAX_DEPTH * 4 {
            return false;
        }
        self.depth += 1;
        true
    }

    /// A module-level name of `module`.
    fn name_in(&mut self, module: &str, name: &str) -> R {
        if !self.enter() {
            return R::Unknown;
        }
        let out = self.name_in_inner(module, name);
        self.depth -= 1;
        out
    }

    fn name_in_inner(&mut self, module: &str, name: &str) -> R {
        let Some(res) = self.module(module) else {
            return R::Unknown;
        };
        match res.env.get(name) {
            Some(v) => {
                let v = v.clone();
                self.val(&res, &v, module, name)
            }
            None => {
                let sub = format!("{module}.{name}");
                if self.resolves(&sub) {
                    return R::Module(sub);
                }
                if res.star_unknown.is_some() {
                    return R::Unknown;
                }
                match name {
                    "dict" | "list" | "tuple" | "set" | "frozenset" | "str" | "int" | "bool"
                    | "float" | "bytes" | "object" => R::Qual(format!("builtins.{name}")),
                    _ => R::Unknown,
                }
            }
        }
    }

    /// A value of the evaluator, bound to `name` in `module`.
    fn val(&mut self, res: &ModResult, v: &Val, module: &str, name: &str) -> R {
        match v {
            Val::Class(c) => R::Class(ClassRef {
                module: c.module.clone(),
                name: c.name.clone(),
            }),
            Val::Symbol(m, n) => {
                if m == module && n == name {
                    // A decorated class (or function): the class statement defines it.
                    return match self.parsed(module) {
                        Some((_, p, _)) if defines_class(p.body(), name) => R::Class(ClassRef {
                            module: module.to_owned(),
                            name: name.to_owned(),
                        }),
                        Some((_, p, _)) if defines_function(p.body(), name) => {
                            self.definitions.insert(format!("{module}.{name}"));
                            R::Func(format!("{module}.{name}"))
                        }
                        _ => R::Unknown,
                    };
                }
                let (m, n) = (m.clone(), n.clone());
                self.dotted_in(&m, &n)
            }
            Val::Module(m) => R::Module(m.clone()),
            Val::Qual(q) => R::Qual(canonical_path(q)),
            Val::Settings => R::Settings,
            Val::Func(_) => match self.parsed(module) {
                Some((_, p, _)) if defines_function(p.body(), name) => {
                    self.definitions.insert(format!("{module}.{name}"));
                    R::Func(format!("{module}.{name}"))
                }
                _ => R::Unknown,
            },
            other => R::Value(val_py(res, other, 0)),
        }
    }

    /// `A.B.C` looked up in `module`.
    fn dotted_in(&mut self, module: &str, dotted: &str) -> R {
        let mut parts = dotted.split('.');
        let Some(first) = parts.next() else {
            return R::Unknown;
        };
        let mut r = self.name_in(module, first);
        for p in parts {
            r = self.attr(r, p);
        }
        r
    }

    fn attr(&mut self, base: R, attr: &str) -> R {
        match base {
            R::Module(m) => {
                let full = format!("{m}.{attr}");
                if self.resolves(&full) {
                    R::Module(full)
                } else {
                    self.name_in(&m, attr)
                }
            }
            R::Qual(q) => {
                let full = format!("{q}.{attr}");
                if full == "django.conf.settings" {
                    R::Settings
                } else {
                    R::Qual(canonical_path(&full))
                }
            }
            R::Settings => R::Value(PyValue::Setting(attr.to_owned())),
            R::Class(c) => self.class_attr(&c, attr, 0),
            R::Member(v, l) => match attr {
                "value" => R::Value(v),
                "label" => R::Value(l),
                _ => R::Unknown,
            },
            _ => R::Unknown,
        }
    }

    /// An attribute of a project class: a `Choices` member or list, a nested class, a
    /// constant of its body, or its bases'.
    fn class_attr(&mut self, c: &ClassRef, attr: &str, depth: usize) -> R {
        if depth > MAX_DEPTH {
            return R::Unknown;
        }
        let Some(info) = self.info(c) else {
            return R::Unknown;
        };
        if matches!(info.kind, Kind::Choices) {
            if let Some(members) = self.choices_of(c) {
                let list = |f: &dyn Fn(&(String, PyValue, PyValue)) -> PyValue| {
                    R::Value(PyValue::List(members.iter().map(f).collect()))
                };
                match attr {
                    "choices" => {
                        return list(&|(_, v, l)| PyValue::Tuple(vec![v.clone(), l.clone()]))
                    }
                    "values" => return list(&|(_, v, _)| v.clone()),
                    "labels" => return list(&|(_, _, l)| l.clone()),
                    "names" => return list(&|(n, _, _)| PyValue::Str(n.clone())),
                    _ => {}
                }
                if let Some((_, v, l)) = members.iter().find(|(n, _, _)| n == attr) {
                    return R::Member(v.clone(), l.clone());
                }
            }
            return R::Unknown;
        }
        if let Some(v) = info.locals.get(attr) {
            return match v {
                R::Unknown => R::Unknown,
                other => other.clone(),
            };
        }
        if info.body.names.contains(attr) {
            return R::Unknown;
        }
        for b in info.bases.clone() {
            match b {
                R::Class(bc) => {
                    let v = self.class_attr(&bc, attr, depth + 1);
                    if !matches!(v, R::Unknown) {
                        return v;
                    }
                }
                _ => return R::Unknown,
            }
        }
        R::Unknown
    }

    /// Reads an expression in a module's scope, with a class body's names first.
    fn expr(&mut self, e: &Expr, module: &str, locals: Option<&BTreeMap<String, R>>) -> R {
        if !self.enter() {
            return R::Unknown;
        }
        let out = self.expr_inner(e, module, locals);
        self.depth -= 1;
        out
    }

    fn expr_inner(&mut self, e: &Expr, module: &str, locals: Option<&BTreeMap<String, R>>) -> R {
        {
            let mut item = |x: &Expr| self.expr(x, module, locals).py();
            if let Some(v) = pyvalue::literal(e, &mut item) {
                return R::Value(v);
            }
        }
        match e {
            Expr::Name(n) => {
                let id = n.id.as_str();
                if let Some(v) = locals.and_then(|l| l.get(id)) {
                    return v.clone();
                }
                if self.rebound_later(module, id) {
                    return R::Unknown;
                }
                self.name_in(module, id)
            }
            Expr::Attribute(a) => {
                let base = self.expr(&a.value, module, locals);
                self.attr(base, a.attr.id.as_str())
            }
            Expr::Call(c) => self.call(c, module, locals),
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
                let l = self.expr(&b.left, module, locals).py();
                let r = self.expr(&b.right, module, locals).py();
                match (l, r) {
                    (PyValue::Str(x), PyValue::Str(y)) => R::Value(PyValue::Str(x + &y)),
                    (PyValue::List(mut x), PyValue::List(y)) => {
                        x.extend(y);
                        R::Value(PyValue::List(x))
                    }
                    (PyValue::Tuple(mut x), PyValue::Tuple(y)) => {
                        x.extend(y);
                        R::Value(PyValue::Tuple(x))
                    }
                    _ => R::Unknown,
                }
            }
            _ => R::Unknown,
        }
    }

    /// Arguments of a call, as values.
    fn args(
        &mut self,
        c: &ast::ExprCall,
        module: &str,
        locals: Option<&BTreeMap<String, R>>,
    ) -> (Vec<PyValue>, Vec<(String, PyValue)>, bool) {
        let mut args = Vec::new();
        let mut splat = false;
        for a in &c.arguments.args {
            if let Expr::Starred(s) = a {
                match self.expr(&s.value, module, locals).py() {
                    PyValue::List(v) | PyValue::Tuple(v) => args.extend(v),
                    _ => splat = true,
                }
                continue;
            }
            args.push(self.expr(a, module, locals).py());
        }
        let mut kwargs = Vec::new();
        for k in &c.arguments.keywords {
            match &k.arg {
                Some(n) => {
                    let v = self.expr(&k.value, module, locals);
                    let v = if n.id.as_str() == "choices" {
                        self.choices_arg(v)
                    } else {
                        v.py()
                    };
                    kwargs.push((n.id.as_str().to_owned(), v));
                }
                None => match self.expr(&k.value, module, locals).py() {
                    PyValue::Dict(d) => {
                        for (key, v) in d {
                            match key {
                                PyValue::Str(s) => kwargs.push((s, v)),
                                _ => splat = true,
                            }
                        }
                    }
                    _ => splat = true,
                },
            }
        }
        (args, kwargs, splat)
    }

    /// `choices=Status` (a `Choices` class) is its `.choices`.
    fn choices_arg(&mut self, v: R) -> PyValue {
        if let R::Class(c) = &v {
            if let Some(info) = self.info(c) {
                if matches!(info.kind, Kind::Choices) {
                    return self.class_attr(c, "choices", 0).py();
                }
            }
        }
        v.py()
    }

    fn call(&mut self, c: &ast::ExprCall, module: &str, locals: Option<&BTreeMap<String, R>>) -> R {
        let callee = self.expr(&c.func, module, locals);
        let path = match &callee {
            R::Qual(q) => q.clone(),
            R::Class(cr) => cr.path(),
            _ => {
                return R::Unknown;
            }
        };
        let (args, kwargs, splat) = self.args(c, module, locals);
        R::Value(pyvalue::simplify_call(CallValue {
            path,
            args,
            kwargs,
            splat,
        }))
    }

    // ----- classes ---------------------------------------------------------------------

    /// What a class is, read once.
    fn info(&mut self, c: &ClassRef) -> Option<Rc<Info>> {
        if let Some(i) = self.infos.get(c) {
            return i.clone();
        }
        if self.busy.contains(c) || self.busy.len() > MAX_DEPTH {
            return None;
        }
        self.busy.insert(c.clone());
        let info = self.read_info(c).map(Rc::new);
        self.busy.remove(c);
        self.infos.insert(c.clone(), info.clone());
        info
    }

    fn read_info(&mut self, c: &ClassRef) -> Option<Info> {
        let (file, parsed, _) = self.parsed(&c.module)?;
        // The top-level class, else one defined under a module-level condition.
        let def = find_class(parsed.body(), &c.name)?;
        self.definitions.insert(c.path());
        Some(self.read_class(c, file, def))
    }

    /// Whether a module-level name is bound again after the class statement being read
    /// (the evaluator knows its last value, not the one the class saw).
    fn rebound_later(&mut self, module: &str, name: &str) -> bool {
        let Some((m, idx)) = self.at.clone() else {
            return false;
        };
        if m != module {
            return false;
        }
        let map = match self.last_binding.get(module) {
            Some(x) => x.clone(),
            None => {
                let Some((_, parsed, _)) = self.parsed(module) else {
                    return false;
                };
                let map = Rc::new(last_bindings(parsed.body()));
                self.last_binding.insert(module.to_owned(), map.clone());
                map
            }
        };
        map.get(name).is_some_and(|last| *last > idx)
    }

    fn read_class(&mut self, c: &ClassRef, file: FileId, def: &ast::StmtClassDef) -> Info {
        let index = self.parsed(&c.module).and_then(|(_, p, _)| {
            p.body()
                .iter()
                .position(|s| s.range().contains_range(def.range))
        });
        let saved = std::mem::replace(&mut self.at, index.map(|i| (c.module.clone(), i)));
        let info = self.read_class_at(c, file, def);
        self.at = saved;
        info
    }

    fn read_class_at(&mut self, c: &ClassRef, file: FileId, def: &ast::StmtClassDef) -> Info {
        let mut bases = Vec::new();
        let mut problem = None;
        if let Some(args) = &def.arguments {
            for b in &args.args {
                if b.is_starred_expr() {
                    problem = Some("its bases are computed".to_owned());
                    bases.push(R::Unknown);
                    continue;
                }
                bases.push(self.expr(b, &c.module, None));
            }
            if !args.keywords.is_empty() {
                problem =
                    Some("its class statement has keyword arguments (a metaclass)".to_owned());
            }
        }
        let kind = match problem {
            Some(p) => Kind::Unknown(p),
            None => self.kind_of(&bases),
        };
        let (body, locals) = self.read_body(c, file, def, &kind);
        let kind = match kind {
            Kind::Model { .. } => Kind::Model {
                abstract_: self.own_abstract(c, &body),
            },
            // `use_in_migrations` of the class's own body wins over its bases'.
            Kind::Manager { use_in_migrations } => Kind::Manager {
                use_in_migrations: match locals.get("use_in_migrations") {
                    Some(R::Value(PyValue::Bool(b))) => Some(*b),
                    Some(_) => None,
                    None if body.names.contains("use_in_migrations") => None,
                    None => use_in_migrations,
                },
            },
            other => other,
        };
        Info {
            span: Span::new(file, def.name.range),
            bases,
            kind,
            body: Rc::new(body),
            locals: Rc::new(locals),
        }
    }

    /// `abstract = True` in the class's own `Meta`.
    fn own_abstract(&mut self, c: &ClassRef, body: &Body) -> bool {
        if body.meta.is_none() {
            return false;
        }
        let attrs = self.meta_attrs(&MetaSrc::Project(c.clone()), 0);
        matches!(
            attrs
                .ok()
                .and_then(|a| a.get("abstract").map(|x| x.0.clone())),
            Some(PyValue::Bool(true))
        )
    }

    /// A class's kind from its bases.
    fn kind_of(&mut self, bases: &[R]) -> Kind {
        if bases.is_empty() {
            return Kind::Plain;
        }
        let mut kinds = Vec::new();
        for b in bases {
            let k = match b {
                R::Qual(q) => qual_kind(q),
                R::Class(bc) => match self.info(bc) {
                    Some(i) => match &i.kind {
                        Kind::Model { .. } => Kind::Model { abstract_: false },
                        other => other.clone(),
                    },
                    None => Kind::Unknown(format!("base `{}` can't be read", bc.name)),
                },
                _ => Kind::Unknown("a base can't be resolved statically".to_owned()),
            };
            kinds.push(k);
        }
        // A model if any base is one; otherwise the first specific kind.
        if kinds.iter().any(|k| matches!(k, Kind::Model { .. })) {
            return Kind::Model { abstract_: false };
        }
        if let Some(u) = kinds.iter().find(|k| matches!(k, Kind::Unknown(_))) {
            return u.clone();
        }
        for k in &kinds {
            match k {
                Kind::Field { .. } | Kind::Manager { .. } | Kind::QuerySet | Kind::Choices => {
                    return k.clone()
                }
                _ => {}
            }
        }
        Kind::Plain
    }

    /// Reads a class body: fields, managers, `Meta`, names.
    fn read_body(
        &mut self,
        c: &ClassRef,
        file: FileId,
        def: &ast::StmtClassDef,
        kind: &Kind,
    ) -> (Body, BTreeMap<String, R>) {
        let mut body = Body::default();
        let mut locals: BTreeMap<String, R> = BTreeMap::new();
        let is_model = matches!(kind, Kind::Model { .. });
        for s in &def.body {
            match s {
                Stmt::Assign(a) => {
                    let single = match a.targets.as_slice() {
                        [Expr::Name(n)] => Some(n.id.as_str().to_owned()),
                        _ => None,
                    };
                    let Some(name) = single else {
                        for t in &a.targets {
                            bind_names(t, &mut |n| {
                                body.names.insert(n.to_owned());
                                locals.insert(n.to_owned(), R::Unknown);
                                forget(&mut body, n);
                                body.maybe_fields
                                    .push((n.to_owned(), Span::new(file, a.range())));
                            });
                        }
                        continue;
                    };
                    let span = Span::new(file, a.targets[0].range());
                    self.body_assign(c, &mut body, &mut locals, &name, &a.value, span, is_model);
                }
                Stmt::AnnAssign(a) => {
                    let Expr::Name(n) = a.target.as_ref() else {
                        continue;
                    };
                    let Some(v) = &a.value else { continue };
                    let span = Span::new(file, a.target.range());
                    let name = n.id.as_str().to_owned();
                    self.body_assign(c, &mut body, &mut locals, &name, v, span, is_model);
                }
                Stmt::FunctionDef(f) => {
                    let n = f.name.id.as_str().to_owned();
                    body.names.insert(n.clone());
                    forget(&mut body, &n);
                    locals.insert(n, R::Unknown);
                }
                Stmt::ClassDef(inner) => {
                    let n = inner.name.id.as_str().to_owned();
                    body.names.insert(n.clone());
                    forget(&mut body, &n);
                    if n == "Meta" {
                        body.meta = Some((file, Span::new(file, inner.name.range)));
                    }
                    locals.insert(n.clone(), R::Nested(c.clone(), n));
                }
                Stmt::Expr(_) | Stmt::Pass(_) => {}
                Stmt::AugAssign(a) => {
                    bind_names(&a.target, &mut |n| {
                        body.names.insert(n.to_owned());
                        locals.insert(n.to_owned(), R::Unknown);
                    });
                }
                Stmt::Import(_) | Stmt::ImportFrom(_) => {
                    for n in djcheck_python::functions::imports_of(s) {
                        body.names.insert(n.bound.clone());
                        locals.insert(n.bound.clone(), R::Unknown);
                    }
                }
                _ => {
                    if is_model {
                        body.problem = Some(
                            "its class body binds names under a condition or in a loop".to_owned(),
                        );
                    }
                }
            }
        }
        (body, locals)
    }

    #[allow(clippy::too_many_arguments)]
    fn body_assign(
        &mut self,
        c: &ClassRef,
        body: &mut Body,
        locals: &mut BTreeMap<String, R>,
        name: &str,
        value: &Expr,
        span: Span,
        is_model: bool,
    ) {
        body.names.insert(name.to_owned());
        forget(body, name);
        if let (Expr::Call(call), true) = (value, is_model) {
            let callee = self.expr(&call.func, &c.module, Some(locals));
            match self.callee_kind(&callee, call) {
                Callee::Field(class) => {
                    let (args, kwargs, splat) = self.args(call, &c.module, Some(locals));
                    body.fields.push(BodyField {
                        name: name.to_owned(),
                        span,
                        call: CallValue {
                            path: class
                                .as_ref()
                                .map_or_else(|| path_of(&callee), |c| c.path().to_owned()),
                            args,
                            kwargs,
                            splat,
                        },
                        class,
                    });
                    locals.insert(name.to_owned(), R::Unknown);
                    return;
                }
                Callee::Manager(m) => {
                    body.managers.push((name.to_owned(), m));
                    locals.insert(name.to_owned(), R::Unknown);
                    return;
                }
                Callee::Private => {
                    locals.insert(name.to_owned(), R::Unknown);
                    return;
                }
                Callee::NotField => {
                    let v = self.expr(value, &c.module, Some(locals));
                    locals.insert(name.to_owned(), v);
                    return;
                }
                Callee::Unknown => {
                    body.maybe_fields.push((name.to_owned(), span));
                    locals.insert(name.to_owned(), R::Unknown);
                    return;
                }
            }
        }
        let v = self.expr(value, &c.module, Some(locals));
        if is_model && matches!(v, R::Unknown) && may_be_object(value) {
            // A name bound to something unknown may be a field object (arithmetic, a
            // lambda, a display or a comprehension never is).
            body.maybe_fields.push((name.to_owned(), span));
        }
        if is_model && matches!(v, R::Value(PyValue::None)) {
            // `name = None` hides a field of an abstract parent; it is no field itself.
        }
        locals.insert(name.to_owned(), v);
    }

    /// What a call in a model's body creates.
    fn callee_kind(&mut self, callee: &R, call: &ast::ExprCall) -> Callee {
        match callee {
            R::Qual(q) => {
                if pyvalue::is_translation(q).is_some() {
                    return Callee::NotField;
                }
                if let Some(p) = django::known_field_class(q) {
                    return Callee::Field(Some(FieldClass::Django(p)));
                }
                if django::is_private_field_class(q) {
                    return Callee::Private;
                }
                if django::is_django_field_class(q) {
                    return Callee::Field(Some(FieldClass::Opaque(q.clone())));
                }
                if let Some(u) = django::django_manager(q) {
                    return Callee::Manager(ManagerDecl {
                        value: PyValue::Call(Arc::new(CallValue {
                            path: q.clone(),
                            args: Vec::new(),
                            kwargs: Vec::new(),
                            splat: false,
                        })),
                        use_in_migrations: Some(u),
                    });
                }
                if q.starts_with("builtins.")
                    || q.starts_with("django.utils.")
                    || q.starts_with("datetime.")
                    || q.starts_with("decimal.")
                {
                    return Callee::NotField;
                }
                Callee::Unknown
            }
            R::Class(cr) => {
                let Some(info) = self.info(cr) else {
                    return Callee::Unknown;
                };
                match info.kind.clone() {
                    Kind::Field { base } => {
                        let plain = self.plain_field_class(cr, 0);
                        match (base, plain) {
                            (Some(b), true) => Callee::Field(Some(FieldClass::Custom {
                                path: cr.path(),
                                base: b,
                            })),
                            _ => Callee::Field(Some(FieldClass::Opaque(cr.path()))),
                        }
                    }
                    Kind::Manager { use_in_migrations } => {
                        let (args, kwargs, splat) = (
                            Vec::new(),
                            Vec::new(),
                            !call.arguments.args.is_empty() || !call.arguments.keywords.is_empty(),
                        );
                        Callee::Manager(ManagerDecl {
                            value: PyValue::Call(Arc::new(CallValue {
                                path: cr.path(),
                                args,
                                kwargs,
                                splat,
                            })),
                            use_in_migrations,
                        })
                    }
                    Kind::Plain | Kind::Choices | Kind::QuerySet | Kind::Model { .. } => {
                        Callee::NotField
                    }
                    Kind::Unknown(_) => Callee::Unknown,
                }
            }
            R::Func(_) => Callee::Unknown,
            R::Unknown => {
                // `X.as_manager()` of a project query set, `M.from_queryset(Q)()`.
                if let Expr::Attribute(a) = call.func.as_ref() {
                    if a.attr.id.as_str() == "as_manager" {
                        return Callee::Manager(ManagerDecl {
                            value: PyValue::Unknown,
                            use_in_migrations: Some(false),
                        });
                    }
                }
                if let Expr::Call(inner) = call.func.as_ref() {
                    if let Expr::Attribute(a) = inner.func.as_ref() {
                        if a.attr.id.as_str() == "from_queryset" {
                            return Callee::Manager(ManagerDecl {
                                value: PyValue::Unknown,
                                use_in_migrations: None,
                            });
                        }
                    }
                }
                Callee::Unknown
            }
            _ => Callee::Unknown,
        }
    }

    /// Records the classes a module changes after their class statement: `X.add_to_class
    /// (...)`, `field.contribute_to_class(X, ...)`, `setattr(X, ...)`, `X.attr = ...`.
    fn note_modified_classes(&mut self, module: &str) {
        let Some((_, parsed, _)) = self.parsed(module) else {
            return;
        };
        // Each target, and whether the statement adds a field or model to it.
        let mut targets: Vec<(&Expr, bool)> = Vec::new();
        fn walk<'a>(body: &'a [Stmt], depth: usize, out: &mut Vec<(&'a Expr, bool)>) {
            if depth > 4 {
                return;
            }
            for s in body {
                match s {
                    Stmt::Expr(e) => {
                        if let Expr::Call(c) = e.value.as_ref() {
                            match c.func.as_ref() {
                                Expr::Attribute(a) if a.attr.id.as_str() == "add_to_class" => {
                                    out.push((&a.value, true))
                                }
                                Expr::Attribute(a)
                                    if a.attr.id.as_str() == "contribute_to_class" =>
                                {
                                    out.extend(c.arguments.args.first().map(|x| (x, true)))
                                }
                                Expr::Name(n) if n.id.as_str() == "setattr" => {
                                    out.extend(c.arguments.args.first().map(|x| (x, false)))
                                }
                                // `X._meta.get_field("a").validators.append(...)`.
                                f if mentions_meta(f) => {
                                    out.extend(chain_root(f).map(|x| (x, false)))
                                }
                                _ => {}
                            }
                        }
                    }
                    Stmt::Assign(a) => {
                        for t in &a.targets {
                            if let Expr::Attribute(x) = t {
                                // `X.attr = ...`, `X._meta.get_field("a").max_length = 4`.
                                out.extend(chain_root(&x.value).map(|x| (x, false)));
                            }
                        }
                    }
                    Stmt::AugAssign(a) => {
                        if let Expr::Attribute(x) = a.target.as_ref() {
                            out.extend(chain_root(&x.value).map(|x| (x, false)));
                        }
                    }
                    Stmt::If(i) => {
                        walk(&i.body, depth + 1, out);
                        for c in &i.elif_else_clauses {
                            walk(&c.body, depth + 1, out);
                        }
                    }
                    Stmt::Try(t) => {
                        walk(&t.body, depth + 1, out);
                        walk(&t.orelse, depth + 1, out);
                        walk(&t.finalbody, depth + 1, out);
                    }
                    Stmt::For(f) => walk(&f.body, depth + 1, out),
                    Stmt::With(w) => walk(&w.body, depth + 1, out),
                    _ => {}
                }
            }
        }
        walk(parsed.body(), 0, &mut targets);
        for (t, adds) in targets {
            match self.expr(t, module, None) {
                R::Class(c) => {
                    self.modified.insert(c);
                }
                _ if adds && self.unresolved_class_change.is_none() => {
                    let file = self.it.source().resolve(module).unwrap_or_default();
                    self.unresolved_class_change =
                        Some(format!("`add_to_class` on a class not resolved, in {file}"));
                }
                _ => {}
            }
        }
    }

    /// A field class of the project with no construction of its own.
    fn plain_field_class(&mut self, c: &ClassRef, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        let Some(info) = self.info(c) else {
            return false;
        };
        const OWN: &[&str] = &["__init__", "deconstruct", "contribute_to_class", "clone"];
        if OWN.iter().any(|n| info.body.names.contains(*n)) {
            return false;
        }
        for b in info.bases.clone() {
            match b {
                R::Qual(q) if django::known_field_class(&q).is_some() => {}
                R::Qual(q) if q == "builtins.object" => {}
                R::Class(bc) => {
                    if !self.plain_field_class(&bc, depth + 1) {
                        return false;
                    }
                }
                _ => return false,
            }
        }
        true
    }

    /// Members of a `Choices` class: `(name, value, label)`.
    fn choices_of(&mut self, c: &ClassRef) -> Option<Rc<Vec<(String, PyValue, PyValue)>>> {
        if let Some(x) = self.choices.get(c) {
            return x.clone();
        }
        let v = self.read_choices(c).map(Rc::new);
        self.choices.insert(c.clone(), v.clone());
        v
    }

    fn read_choices(&mut self, c: &ClassRef) -> Option<Vec<(String, PyValue, PyValue)>> {
        let info = self.info(c)?;
        // The data type: the Django base reached.
        let mut ty = None;
        for b in info.bases.clone() {
            match b {
                R::Qual(q) if q == "django.db.models.TextChoices" => ty = Some("str"),
                R::Qual(q) if q == "django.db.models.IntegerChoices" => ty = Some("int"),
                R::Qual(q) if q == "django.db.models.Choices" => ty = ty.or(Some("any")),
                R::Class(bc) => {
                    // A project base: only one without members of its own.
                    let members = self.choices_of(&bc)?;
                    if !members.is_empty() {
                        return None;
                    }
                    ty = ty.or(Some("inherited"));
                    let bi = self.info(&bc)?;
                    for bb in bi.bases.clone() {
                        if let R::Qual(q) = bb {
                            match q.as_str() {
                                "django.db.models.TextChoices" => ty = Some("str"),
                                "django.db.models.IntegerChoices" => ty = Some("int"),
                                _ => {}
                            }
                        }
                    }
                }
                R::Qual(q) if q == "builtins.str" => ty = Some("str"),
                R::Qual(q) if q == "builtins.int" => ty = Some("int"),
                _ => return None,
            }
        }
        let ty = ty?;
        if !matches!(ty, "str" | "int") {
            return None;
        }
        let (_, parsed, _) = self.parsed(&c.module)?;
        let def = find_class(parsed.body(), &c.name)?;
        let mut out: Vec<(String, PyValue, PyValue)> = Vec::new();
        let mut empty: Option<PyValue> = None;
        for s in &def.body {
            let (name, value) = match s {
                Stmt::Assign(a) => match a.targets.as_slice() {
                    [Expr::Name(n)] => (n.id.as_str(), a.value.as_ref()),
                    _ => return None,
                },
                Stmt::FunctionDef(_) | Stmt::Expr(_) | Stmt::Pass(_) => continue,
                Stmt::AnnAssign(_) => continue,
                _ => return None,
            };
            if name == "__empty__" {
                empty = Some(self.expr(value, &c.module, None).py());
                continue;
            }
            if name.starts_with('_') {
                continue;
            }
            let v = self.expr(value, &c.module, None).py();
            let (value, label) = match &v {
                PyValue::Tuple(items)
                    if items.len() > 1 && matches!(items.last(), Some(PyValue::Str(_))) =>
                {
                    let label = items.last().cloned().unwrap_or(PyValue::Unknown);
                    let rest = &items[..items.len() - 1];
                    let value = if rest.len() == 1 {
                        rest[0].clone()
                    } else {
                        return None;
                    };
                    (value, label)
                }
                other => (
                    other.clone(),
                    PyValue::Str(django::title(&name.replace('_', " "))),
                ),
            };
            let value = match (ty, value) {
                ("str", PyValue::Str(s)) => PyValue::Str(s),
                ("int", PyValue::Int(i)) => PyValue::Int(i),
                ("int", PyValue::Bool(b)) => PyValue::Int(i64::from(b)),
                _ => return None,
            };
            if label.has_unknown() {
                return None;
            }
            // An alias (a value seen before) is not a member of its own.
            if out.iter().any(|(_, v, _)| *v == value) {
                continue;
            }
            out.push((name.to_owned(), value, label));
        }
        if let Some(e) = empty {
            if e.has_unknown() {
                return None;
            }
            out.insert(0, ("__empty__".to_owned(), PyValue::None, e));
        }
        Some(out)
    }

    // ----- models ----------------------------------------------------------------------

    /// Python's method resolution order of a class, over the classes read here.
    fn mro(&mut self, n: &Node, depth: usize) -> Result<Vec<Node>, String> {
        if depth > MAX_DEPTH {
            return Err("its class hierarchy is too deep".to_owned());
        }
        let bases: Vec<Node> = match n {
            Node::External(p) => external_bases(p)
                .ok_or_else(|| format!("base `{p}` is outside the project"))?
                .iter()
                .map(|b| Node::External((*b).to_owned()))
                .collect(),
            Node::Project(c) => {
                let info = self
                    .info(c)
                    .ok_or_else(|| format!("class `{}` can't be read", c.name))?;
                let mut out = Vec::new();
                for b in &info.bases {
                    out.push(match b {
                        R::Class(bc) => Node::Project(bc.clone()),
                        R::Qual(q) => Node::External(q.clone()),
                        _ => {
                            return Err(format!(
                                "a base of `{}` can't be resolved statically",
                                c.name
                            ))
                        }
                    });
                }
                out
            }
        };
        let mut seqs: Vec<Vec<Node>> = Vec::new();
        for b in &bases {
            seqs.push(self.mro(b, depth + 1)?);
        }
        seqs.push(bases.clone());
        let mut out = vec![n.clone()];
        // C3 merge.
        loop {
            seqs.retain(|s| !s.is_empty());
            if seqs.is_empty() {
                break;
            }
            let head = seqs
                .iter()
                .map(|s| s[0].clone())
                .find(|h| !seqs.iter().any(|s| s[1..].contains(h)));
            let Some(h) = head else {
                return Err("its bases have no consistent method resolution order".to_owned());
            };
            for s in &mut seqs {
                if s[0] == h {
                    s.remove(0);
                }
            }
            out.push(h);
        }
        Ok(out)
    }

    /// Whether a node is a model class (has `_meta`), and if so whether abstract.
    fn node_model(&mut self, n: &Node) -> Option<bool> {
        match n {
            Node::Project(c) => match self.info(c)?.kind {
                Kind::Model { abstract_ } => Some(abstract_),
                _ => None,
            },
            Node::External(p) => django::django_abstract(p).map(|_| true),
        }
    }

    /// The local fields of a model class (own, copied from abstract parents, parent
    /// links), as Django's `ModelBase` builds them. Keys are field names.
    fn local_fields(
        &mut self,
        c: &ClassRef,
        proxy: bool,
        depth: usize,
    ) -> Result<LocalFields, String> {
        if depth > MAX_DEPTH {
            return Err("its class hierarchy is too deep".to_owned());
        }
        let info = self
            .info(c)
            .ok_or_else(|| format!("class `{}` can't be read", c.name))?;
        if let Some(p) = &info.body.problem {
            return Err(p.clone());
        }
        if self.modified.contains(c) {
            return Err(format!(
                "`{}` is changed after its class statement (`add_to_class`, `setattr`...)",
                c.name
            ));
        }
        let mut fields: Vec<DeclaredField> = Vec::new();
        let mut maybe = info.body.maybe_fields.clone();
        for f in &info.body.fields {
            fields.push(DeclaredField {
                name: f.name.clone(),
                span: f.span,
                class: f
                    .class
                    .clone()
                    .unwrap_or_else(|| FieldClass::Opaque(f.call.path.clone())),
                call: f.call.clone(),
                origin: FieldOrigin::Own,
            });
        }
        let own: BTreeSet<String> = fields.iter().map(|f| f.name.clone()).collect();
        let mro = self.mro(&Node::Project(c.clone()), 0)?;
        let parents: Vec<Node> = info
            .bases
            .iter()
            .filter_map(|b| match b {
                R::Class(bc) => Some(Node::Project(bc.clone())),
                R::Qual(q) => Some(Node::External(q.clone())),
                _ => None,
            })
            .collect();
        let mut inherited: BTreeSet<String> = BTreeSet::new();
        for n in mro.iter().skip(1) {
            let is_model = self.node_model(n);
            if !parents.contains(n) || is_model.is_none() {
                match n {
                    Node::Project(pc) => {
                        if let Some(pi) = self.info(pc) {
                            inherited.extend(pi.body.names.iter().cloned());
                        }
                    }
                    Node::External(p) => {
                        if external_bases(p).is_none() {
                            return Err(format!("base `{p}` is outside the project"));
                        }
                    }
                }
                continue;
            }
            let take = |name: &str| {
                !own.contains(name) && !info.body.names.contains(name) && !inherited.contains(name)
            };
            match (n, is_model) {
                (Node::External(p), _) => {
                    let Some(a) = django::django_abstract(p) else {
                        continue;
                    };
                    for (name, src) in a.fields {
                        if !take(name) || fields.iter().any(|f| f.name == *name) {
                            continue;
                        }
                        let PyValue::Call(call) = django::parse_value(src) else {
                            continue;
                        };
                        let class = match django::known_field_class(&call.path) {
                            Some(p) => FieldClass::Django(p),
                            None => FieldClass::Opaque(call.path.clone()),
                        };
                        fields.push(DeclaredField {
                            name: (*name).to_owned(),
                            span: info.span,
                            class,
                            call: (*call).clone(),
                            origin: FieldOrigin::DjangoAbstract(a.path),
                        });
                    }
                }
                (Node::Project(pc), Some(true)) => {
                    let (pf, pm) = self.local_fields(pc, false, depth + 1)?;
                    for mut f in pf {
                        if !take(&f.name) || fields.iter().any(|x| x.name == f.name) {
                            continue;
                        }
                        if matches!(f.origin, FieldOrigin::Own) {
                            f.origin = FieldOrigin::Abstract(pc.name.clone());
                        }
                        fields.push(f);
                    }
                    for m in pm {
                        if take(&m.0) {
                            maybe.push(m);
                        }
                    }
                }
                (Node::Project(pc), Some(false)) => {
                    if proxy {
                        continue;
                    }
                    // Multi-table inheritance: the link to the parent, unless declared.
                    let declared = fields.iter().any(|f| {
                        f.call
                            .kw("parent_link")
                            .is_some_and(|v| *v == PyValue::Bool(true))
                    });
                    if declared {
                        continue;
                    }
                    let name = format!("{}_ptr", pc.name.to_ascii_lowercase());
                    fields.push(DeclaredField {
                        name,
                        span: info.span,
                        class: FieldClass::Django("django.db.models.OneToOneField"),
                        call: CallValue {
                            path: "django.db.models.OneToOneField".into(),
                            args: Vec::new(),
                            kwargs: vec![
                                ("to".into(), PyValue::Ref(pc.path())),
                                (
                                    "on_delete".into(),
                                    PyValue::Ref("django.db.models.CASCADE".into()),
                                ),
                                ("auto_created".into(), PyValue::Bool(true)),
                                ("parent_link".into(), PyValue::Bool(true)),
                            ],
                            splat: false,
                        },
                        origin: FieldOrigin::ParentLink,
                    });
                }
                _ => {}
            }
        }
        Ok((fields, maybe))
    }

    /// The `Meta` class a model gets: its own, else the first one up its bases (an
    /// abstract parent's, a mixin's; a concrete parent's `Meta` is not inherited).
    fn meta_of(&mut self, c: &ClassRef) -> Result<Option<MetaSrc>, String> {
        let info = self
            .info(c)
            .ok_or_else(|| format!("class `{}` can't be read", c.name))?;
        if info.body.meta.is_some() {
            return Ok(Some(MetaSrc::Project(c.clone())));
        }
        let mro = self.mro(&Node::Project(c.clone()), 0)?;
        for n in mro.iter().skip(1) {
            match n {
                Node::Project(pc) => {
                    let pi = self
                        .info(pc)
                        .ok_or_else(|| format!("class `{}` can't be read", pc.name))?;
                    let concrete = matches!(pi.kind, Kind::Model { abstract_: false });
                    if pi.body.meta.is_some() && !concrete {
                        return Ok(Some(MetaSrc::Project(pc.clone())));
                    }
                }
                Node::External(p) => {
                    if let Some(a) = django::django_abstract(p) {
                        return Ok(Some(MetaSrc::Django(a)));
                    }
                }
            }
        }
        Ok(None)
    }

    /// The attributes of a `Meta` class: its own, then its bases' (Python's class
    /// attribute lookup), as `(value, where)`.
    fn meta_attrs(
        &mut self,
        m: &MetaSrc,
        depth: usize,
    ) -> Result<BTreeMap<String, (PyValue, Option<Span>)>, String> {
        if depth > 8 {
            return Err("its `Meta` inherits too deeply".to_owned());
        }
        let holder = match m {
            MetaSrc::Django(a) => {
                return Ok(a
                    .options
                    .iter()
                    .map(|(k, v)| ((*k).to_owned(), (django::parse_value(v), None)))
                    .collect())
            }
            MetaSrc::Project(c) => c.clone(),
        };
        let (file, parsed, _) = self
            .parsed(&holder.module)
            .ok_or_else(|| "its module can't be read".to_owned())?;
        let def = find_class(parsed.body(), &holder.name)
            .ok_or_else(|| format!("class `{}` can't be found", holder.name))?;
        let meta = def
            .body
            .iter()
            .rev()
            .find_map(|s| match s {
                Stmt::ClassDef(x) if x.name.id.as_str() == "Meta" => Some(x),
                _ => None,
            })
            .ok_or_else(|| "its `Meta` can't be found".to_owned())?;
        let mut out: BTreeMap<String, (PyValue, Option<Span>)> = BTreeMap::new();
        // Bases first, so the class's own attributes win.
        if let Some(args) = &meta.arguments {
            if !args.keywords.is_empty() {
                return Err("its `Meta` has keyword arguments".to_owned());
            }
            for b in args.args.iter().rev() {
                let r = self.expr(b, &holder.module, None);
                match r {
                    R::Qual(q) if q == "builtins.object" => {}
                    R::Nested(pc, n) if n == "Meta" => {
                        // A model's `Meta` read at run time: an abstract parent's had
                        // `abstract` reset to False.
                        let mut inherited =
                            self.meta_attrs(&MetaSrc::Project(pc.clone()), depth + 1)?;
                        if let Some(pi) = self.info(&pc) {
                            if matches!(pi.kind, Kind::Model { .. }) {
                                if let Some(a) = inherited.get_mut("abstract") {
                                    a.0 = PyValue::Bool(false);
                                }
                            }
                        }
                        out.extend(inherited);
                    }
                    R::Qual(q) if django::django_abstract(&q).is_some() => {}
                    _ => {
                        return Err("its `Meta` derives from a class that can't be read".to_owned())
                    }
                }
            }
        }
        let mut locals: BTreeMap<String, R> = BTreeMap::new();
        for s in &meta.body {
            match s {
                Stmt::Assign(a) => {
                    let [Expr::Name(n)] = a.targets.as_slice() else {
                        return Err("its `Meta` assigns in a way that can't be read".to_owned());
                    };
                    let v = self.expr(&a.value, &holder.module, Some(&locals));
                    let py = match n.id.as_str() {
                        "indexes" | "constraints" => v.py(),
                        _ => v.py(),
                    };
                    out.insert(
                        n.id.as_str().to_owned(),
                        (py, Some(Span::new(file, a.range()))),
                    );
                    locals.insert(n.id.as_str().to_owned(), v);
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), &a.value) {
                        let v = self.expr(v, &holder.module, Some(&locals));
                        out.insert(
                            n.id.as_str().to_owned(),
                            (v.py(), Some(Span::new(file, a.range()))),
                        );
                    }
                }
                Stmt::Expr(_) | Stmt::Pass(_) | Stmt::FunctionDef(_) => {}
                _ => return Err("its `Meta` binds names under a condition".to_owned()),
            }
        }
        Ok(out)
    }

    /// Reads a concrete model.
    fn model(
        &mut self,
        c: &ClassRef,
        info: &Info,
        span: Span,
        home: Option<String>,
        defaults: &BTreeMap<String, Option<String>>,
    ) -> Result<DeclaredModel, String> {
        let meta = self.meta_of(c)?;
        let attrs = match &meta {
            Some(m) => self.meta_attrs(m, 0),
            None => Ok(BTreeMap::new()),
        };
        let own_meta = info.body.meta.map(|m| m.1);
        // The app label: `Meta.app_label`, else the containing app.
        let app = match attrs.as_ref().ok().and_then(|a| a.get("app_label")) {
            Some((PyValue::Str(l), _)) => l.clone(),
            Some(_) => return Err(format!("`{}`'s `Meta.app_label` can't be read", c.name)),
            None => match &home {
                Some(h) => h.clone(),
                None => {
                    return Err(format!(
                        "`{}` is in module `{}`, outside every app",
                        c.name, c.module
                    ))
                }
            },
        };
        let flag = |k: &str, default: bool| -> Option<bool> {
            match attrs.as_ref().ok()?.get(k) {
                None => Some(default),
                Some((PyValue::Bool(b), _)) => Some(*b),
                Some(_) => None,
            }
        };
        let kind = match (attrs.is_ok(), flag("managed", true), flag("proxy", false)) {
            (true, Some(false), Some(_)) => Some(ModelKind::Unmanaged),
            (true, Some(true), Some(true)) => Some(ModelKind::Proxy),
            (true, Some(true), Some(false)) => Some(ModelKind::Concrete),
            _ => None,
        };
        let proxy = kind == Some(ModelKind::Proxy);
        let fields = self.local_fields(c, proxy, 0);
        let (fields, maybe_fields) = match fields {
            Ok((mut f, m)) => {
                if proxy {
                    // A proxy's fields are its parent's; what it declares is an error.
                    f.clear();
                }
                let mut m = m;
                let pk = if proxy || kind.is_none() {
                    Ok(())
                } else {
                    add_auto_pk(&mut f, &mut m, span, defaults.get(&app).cloned().flatten())
                };
                (pk.map(|()| f), m)
            }
            Err(e) => (Err(e), Vec::new()),
        };
        let options = attrs.map(|a| {
            let mut out: Vec<(String, PyValue, Option<Span>)> = Vec::new();
            for (k, (v, s)) in a {
                if DEFAULT_NAMES.contains(&k.as_str()) {
                    out.push((k, v, s));
                }
            }
            out
        });
        let managers = self.managers_of(c, &options);
        let default_table = format!("{}_{}", app, c.name.to_ascii_lowercase());
        Ok(DeclaredModel {
            app,
            name: c.name.clone(),
            module: c.module.clone(),
            span,
            kind,
            fields,
            maybe_fields,
            options,
            meta_span: own_meta,
            managers,
            default_table,
        })
    }

    /// The managers Django's state holds for a model (`ModelState.from_model`).
    fn managers_of(&mut self, c: &ClassRef, options: &Options) -> Result<PyValue, String> {
        let opts = options.as_ref().map_err(Clone::clone)?;
        let opt = |k: &str| {
            opts.iter()
                .find(|(n, _, _)| n == k)
                .map(|(_, v, _)| v.clone())
        };
        if opt("base_manager_name").is_some_and(|v| v != PyValue::None) {
            return Err("`Meta.base_manager_name` is set".to_owned());
        }
        let mro = self.mro(&Node::Project(c.clone()), 0)?;
        if let Some(Node::Project(m)) = mro
            .iter()
            .find(|n| matches!(n, Node::Project(x) if self.modified.contains(x)))
        {
            return Err(format!("`{}` is changed after its class statement", m.name));
        }
        for n in &mro {
            if let Node::Project(pc) = n {
                if self.node_model(n).is_some() {
                    if let Some(pi) = self.info(pc) {
                        if let Some((name, _)) = pi.body.maybe_fields.first() {
                            return Err(format!("`{name}` may be a manager"));
                        }
                    }
                }
            }
        }
        // (name, declaration), by depth among model classes, then declaration order.
        let mut managers: Vec<(String, ManagerDecl)> = Vec::new();
        let mut seen: BTreeSet<String> = BTreeSet::new();
        for n in &mro {
            if self.node_model(n).is_none() && *n != Node::Project(c.clone()) {
                continue;
            }
            let local: Vec<(String, ManagerDecl)> = match n {
                Node::Project(pc) => {
                    let pi = self
                        .info(pc)
                        .ok_or_else(|| format!("class `{}` can't be read", pc.name))?;
                    pi.body.managers.clone()
                }
                Node::External(p) => match django::django_abstract(p) {
                    Some(a) => a
                        .managers
                        .iter()
                        .map(|(name, class, u)| {
                            (
                                (*name).to_owned(),
                                ManagerDecl {
                                    value: PyValue::Call(Arc::new(CallValue {
                                        path: canonical_path(class),
                                        args: Vec::new(),
                                        kwargs: Vec::new(),
                                        splat: false,
                                    })),
                                    use_in_migrations: Some(*u),
                                },
                            )
                        })
                        .collect(),
                    None => Vec::new(),
                },
            };
            for (name, m) in local {
                if seen.insert(name.clone()) {
                    managers.push((name, m));
                }
            }
        }
        if managers.is_empty() {
            return Ok(PyValue::List(Vec::new()));
        }
        let default_name = match opt("default_manager_name") {
            None | Some(PyValue::None) => managers[0].0.clone(),
            Some(PyValue::Str(s)) => s,
            Some(_) => return Err("`Meta.default_manager_name` can't be read".to_owned()),
        };
        let shim = |name: &str| {
            PyValue::Tuple(vec![
                PyValue::Str(name.to_owned()),
                PyValue::Call(Arc::new(CallValue {
                    path: "django.db.models.Manager".into(),
                    args: Vec::new(),
                    kwargs: Vec::new(),
                    splat: false,
                })),
            ])
        };
        let mut out = Vec::new();
        let mut only_default_shim = true;
        for (name, m) in &managers {
            match m.use_in_migrations {
                Some(true) => {
                    if m.value.has_unknown() {
                        return Err(format!("manager `{name}` can't be read statically"));
                    }
                    out.push(PyValue::Tuple(vec![
                        PyValue::Str(name.clone()),
                        m.value.clone(),
                    ]));
                    only_default_shim = false;
                }
                Some(false) if *name == default_name => out.push(shim(name)),
                Some(false) => {}
                None => {
                    return Err(format!(
                        "whether manager `{name}` is used in migrations can't be read statically"
                    ))
                }
            }
        }
        if only_default_shim && out.len() == 1 && default_name == "objects" {
            return Ok(PyValue::List(Vec::new()));
        }
        Ok(PyValue::List(out))
    }
}

/// What a call in a model body creates.
enum Callee {
    Field(Option<FieldClass>),
    Manager(ManagerDecl),
    /// GenericForeignKey and the like: no column, never in migrations.
    Private,
    NotField,
    Unknown,
}

fn path_of(r: &R) -> String {
    match r {
        R::Qual(q) => q.clone(),
        R::Class(c) => c.path(),
        _ => String::new(),
    }
}

/// Whether an expression may evaluate to an existing object such as a field (a name, an
/// attribute, a call, a subscript), not to a new number, string, container or function.
fn may_be_object(e: &Expr) -> bool {
    match e {
        Expr::Name(_)
        | Expr::Attribute(_)
        | Expr::Call(_)
        | Expr::Subscript(_)
        | Expr::Await(_)
        | Expr::Named(_)
        | Expr::Starred(_) => true,
        Expr::If(i) => may_be_object(&i.body) || may_be_object(&i.orelse),
        Expr::BoolOp(b) => b.values.iter().any(may_be_object),
        _ => false,
    }
}

/// The name an attribute or call chain starts from (`X` of `X._meta.get_field("a")`).
fn chain_root(e: &Expr) -> Option<&Expr> {
    let mut cur = e;
    for _ in 0..32 {
        match cur {
            Expr::Name(_) => return Some(cur),
            Expr::Attribute(a) => cur = &a.value,
            Expr::Call(c) => cur = &c.func,
            Expr::Subscript(s) => cur = &s.value,
            _ => return None,
        }
    }
    None
}

/// Whether an attribute or call chain goes through `_meta`.
fn mentions_meta(e: &Expr) -> bool {
    let mut cur = e;
    for _ in 0..32 {
        match cur {
            Expr::Attribute(a) => {
                if a.attr.id.as_str() == "_meta" {
                    return true;
                }
                cur = &a.value;
            }
            Expr::Call(c) => cur = &c.func,
            Expr::Subscript(s) => cur = &s.value,
            _ => return false,
        }
    }
    false
}

/// Forgets what a body declared under a name that is bound again.
fn forget(body: &mut Body, name: &str) {
    body.fields.retain(|f| f.name != name);
    body.managers.retain(|(n, _)| n != name);
    body.maybe_fields.retain(|(n, _)| n != name);
}

fn bind_names(t: &Expr, f: &mut dyn FnMut(&str)) {
    match t {
        Expr::Name(n) => f(n.id.as_str()),
        Expr::Tuple(x) => x.elts.iter().for_each(|e| bind_names(e, f)),
        Expr::List(x) => x.elts.iter().for_each(|e| bind_names(e, f)),
        Expr::Starred(s) => bind_names(&s.value, f),
        _ => {}
    }
}

/// Adds the primary key Django creates when no field is one.
fn add_auto_pk(
    fields: &mut Vec<DeclaredField>,
    maybe: &mut Vec<(String, Span)>,
    span: Span,
    class: Option<String>,
) -> Result<(), String> {
    let mut unknown = false;
    let link = |f: &DeclaredField| {
        matches!(f.origin, FieldOrigin::ParentLink)
            || f.call.kw("parent_link") == Some(&PyValue::Bool(true))
    };
    for f in fields.iter_mut() {
        if link(f) && f.call.kw("primary_key").is_none() {
            continue;
        }
        let pk = match f.call.kw("primary_key") {
            Some(PyValue::Bool(true)) => true,
            Some(PyValue::Bool(false)) | None => false,
            Some(PyValue::Int(i)) => *i != 0,
            Some(_) => {
                unknown = true;
                false
            }
        };
        if pk {
            if unknown {
                break;
            }
            // `Options.setup_pk`: the primary key is not serialized.
            f.call.kwargs.retain(|(k, _)| k != "serialize");
            f.call
                .kwargs
                .push(("serialize".into(), PyValue::Bool(false)));
            return Ok(());
        }
        if f.call.args.len() > 2 && matches!(f.class, FieldClass::Django(_)) {
            // `primary_key` may be given by position.
            unknown = true;
        }
    }
    if unknown {
        return Err("whether a field is the primary key can't be read statically".to_owned());
    }
    // An attribute of unknown kind may be the primary key: then whether `id` exists is
    // not known.
    if !maybe.is_empty() {
        for f in fields.iter().filter(|f| link(f)) {
            maybe.push((f.name.clone(), f.span));
        }
        maybe.push(("id".to_owned(), span));
        return Ok(());
    }
    // Multi-table inheritance: the link to the first parent is the primary key.
    if let Some(f) = fields.iter_mut().find(|f| link(f)) {
        f.call
            .kwargs
            .push(("primary_key".into(), PyValue::Bool(true)));
        f.call
            .kwargs
            .push(("serialize".into(), PyValue::Bool(false)));
        return Ok(());
    }
    let (class, path) = match class {
        Some(p) => match django::known_field_class(&p) {
            Some(k) => (FieldClass::Django(k), p),
            None => (FieldClass::Opaque(p.clone()), p),
        },
        None => (FieldClass::Opaque(String::new()), String::new()),
    };
    fields.insert(
        0,
        DeclaredField {
            name: "id".into(),
            span,
            class,
            call: CallValue {
                path,
                args: Vec::new(),
                kwargs: vec![
                    ("auto_created".into(), PyValue::Bool(true)),
                    ("primary_key".into(), PyValue::Bool(true)),
                    ("serialize".into(), PyValue::Bool(false)),
                    ("verbose_name".into(), PyValue::Str("ID".into())),
                ],
                splat: false,
            },
            origin: FieldOrigin::AutoPk,
        },
    );
    Ok(())
}

/// The bases of classes outside the project that djcheck knows.
fn external_bases(p: &str) -> Option<&'static [&'static str]> {
    Some(match p {
        "django.db.models.Model" | "django.contrib.gis.db.models.Model" | "builtins.object" => &[],
        "django.contrib.auth.models.AbstractBaseUser" => &["django.db.models.Model"],
        "django.contrib.auth.models.PermissionsMixin" => &["django.db.models.Model"],
        "django.contrib.auth.models.AbstractUser" => &[
            "django.contrib.auth.models.AbstractBaseUser",
            "django.contrib.auth.models.PermissionsMixin",
        ],
        "django.contrib.sessions.base_session.AbstractBaseSession" => &["django.db.models.Model"],
        _ => return None,
    })
}

fn qual_kind(q: &str) -> Kind {
    if django::is_model_root(q) || django::django_abstract(q).is_some() {
        return Kind::Model { abstract_: false };
    }
    if django::is_django_choices(q) {
        return Kind::Choices;
    }
    if let Some(k) = django::known_field_class(q) {
        return Kind::Field { base: Some(k) };
    }
    if django::is_django_field_class(q) {
        return Kind::Field { base: None };
    }
    if let Some(u) = django::django_manager(q) {
        return Kind::Manager {
            use_in_migrations: Some(u),
        };
    }
    if django::is_django_queryset(q) {
        return Kind::QuerySet;
    }
    match q {
        "builtins.object" | "builtins.str" | "builtins.int" | "typing.Generic" | "abc.ABC" => {
            Kind::Plain
        }
        _ => Kind::Unknown(format!("base `{q}` is outside the project")),
    }
}

/// The index of the last top-level statement binding each name of a module.
fn last_bindings(body: &[Stmt]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for (i, s) in body.iter().enumerate() {
        let mut names: Vec<String> = Vec::new();
        match s {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    bind_names(t, &mut |n| names.push(n.to_owned()));
                }
            }
            Stmt::AnnAssign(a) => bind_names(&a.target, &mut |n| names.push(n.to_owned())),
            Stmt::AugAssign(a) => bind_names(&a.target, &mut |n| names.push(n.to_owned())),
            Stmt::ClassDef(c) => names.push(c.name.id.as_str().to_owned()),
            Stmt::FunctionDef(f) => names.push(f.name.id.as_str().to_owned()),
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                for imp in djcheck_python::functions::imports_of(s) {
                    names.push(imp.bound);
                }
            }
            // Compound statements may bind anything: every name they assign.
            Stmt::If(_) | Stmt::Try(_) | Stmt::For(_) | Stmt::While(_) | Stmt::With(_) => {
                collect_bound(std::slice::from_ref(s), 0, &mut names);
            }
            _ => {}
        }
        for n in names {
            out.insert(n, i);
        }
    }
    out
}

fn collect_bound(body: &[Stmt], depth: usize, out: &mut Vec<String>) {
    if depth > 6 {
        return;
    }
    for s in body {
        match s {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    bind_names(t, &mut |n| out.push(n.to_owned()));
                }
            }
            Stmt::AnnAssign(a) => bind_names(&a.target, &mut |n| out.push(n.to_owned())),
            Stmt::AugAssign(a) => bind_names(&a.target, &mut |n| out.push(n.to_owned())),
            Stmt::ClassDef(c) => out.push(c.name.id.as_str().to_owned()),
            Stmt::FunctionDef(f) => out.push(f.name.id.as_str().to_owned()),
            Stmt::Import(_) | Stmt::ImportFrom(_) => {
                for imp in djcheck_python::functions::imports_of(s) {
                    out.push(imp.bound);
                }
            }
            Stmt::If(i) => {
                collect_bound(&i.body, depth + 1, out);
                for c in &i.elif_else_clauses {
                    collect_bound(&c.body, depth + 1, out);
                }
            }
            Stmt::Try(t) => {
                collect_bound(&t.body, depth + 1, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    collect_bound(&h.body, depth + 1, out);
                }
                collect_bound(&t.orelse, depth + 1, out);
                collect_bound(&t.finalbody, depth + 1, out);
            }
            Stmt::For(f) => {
                bind_names(&f.target, &mut |n| out.push(n.to_owned()));
                collect_bound(&f.body, depth + 1, out);
                collect_bound(&f.orelse, depth + 1, out);
            }
            Stmt::While(w) => collect_bound(&w.body, depth + 1, out),
            Stmt::With(w) => collect_bound(&w.body, depth + 1, out),
            _ => {}
        }
    }
}

/// The class statement that binds `name` at the top level: the last one of that name (as
/// [`top_level_classes`] keeps it), found without listing them all.
fn find_class<'a>(body: &'a [Stmt], name: &str) -> Option<&'a ast::StmtClassDef> {
    let mut found = None;
    each_top_level_class(body, false, 0, &mut |c, _| {
        if c.name.id.as_str() == name {
            found = Some(c);
        }
    });
    found
}

fn defines_class(body: &[Stmt], name: &str) -> bool {
    find_class(body, name).is_some()
}

fn defines_function(body: &[Stmt], name: &str) -> bool {
    body.iter()
        .any(|s| matches!(s, Stmt::FunctionDef(f) if f.name.id.as_str() == name))
}

/// A value of the evaluator as a Python value (lists from the module's heap).
fn val_py(res: &ModResult, v: &Val, depth: usize) -> PyValue {
    if depth > 32 {
        return PyValue::Unknown;
    }
    match v {
        Val::None => PyValue::None,
        Val::Bool(b) => PyValue::Bool(*b),
        Val::Int(i) => PyValue::Int(*i),
        Val::Str(s) | Val::Translated(s) => PyValue::Str(s.clone()),
        Val::List(id) => {
            let Some(l) = res.list(*id) else {
                return PyValue::Unknown;
            };
            let mut items = Vec::with_capacity(l.items.len());
            for it in &l.items {
                if !it.cond.is_always() {
                    return PyValue::Unknown;
                }
                items.push(val_py(res, &it.val, depth + 1));
            }
            if l.tuple {
                PyValue::Tuple(items)
            } else {
                PyValue::List(items)
            }
        }
        Val::Dict(d) => PyValue::Dict(
            d.iter()
                .map(|(k, x)| (val_py(res, k, depth + 1), val_py(res, x, depth + 1)))
                .collect(),
        ),
        Val::Qual(q) => PyValue::Ref(canonical_path(q)),
        Val::Class(c) => PyValue::Ref(format!("{}.{}", c.module, c.name)),
        _ => PyValue::Unknown,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn find_class_is_the_last_definition_top_level_classes_keeps() {
        let src = "class A: x = 1\nclass B: pass\nif y:\n    class A: x = 2\ntry:\n    class C: pass\nexcept E:\n    class B: pass\nwith m:\n    class D: pass\ndef f():\n    class E: pass\n";
        let parsed = djcheck_python::parse_module(src);
        let kept = top_level_classes(parsed.body());
        for name in ["A", "B", "C", "D", "E", "Z"] {
            let listed = kept
                .iter()
                .rev()
                .find(|(c, _)| c.name.id.as_str() == name)
                .map(|(c, _)| c.range);
            assert_eq!(
                find_class(parsed.body(), name).map(|c| c.range),
                listed,
                "{name}"
            );
        }
        assert_eq!(kept.len(), 4);
        let a = find_class(parsed.body(), "A").map(|c| c.range.start());
        assert_eq!(a, src.find("class A: x = 2").map(|o| (o as u32).into()));
    }
}
