//! The static URL tree: what Django's `get_resolver()` would build from ROOT_URLCONF,
//! read as text.
//!
//! Building it: find the root URLconf ([`Root`]), read each URL module with a small
//! abstract interpreter (`interp`: list literals, `+`/`+=`, `.append()`/`.extend()`,
//! `path`/`re_path`/`url`/`include`/`i18n_patterns`/`static`, helper functions of the same
//! module, loops over app folders evaluated against the files on disk), then expand
//! `include()` from the root into [`UrlNode`]s, each with its file and byte range.
//! Registrations made under a condition carry a [`Cond`]: two registrations in mutually
//! exclusive branches never meet. What cannot be read statically becomes an opaque node
//! and marks its level incomplete, so rules that need the whole picture stay silent.
//!
//! Also collected here, because they need file access: the literal URL names passed to
//! `reverse()`/`reverse_lazy()`/`redirect()`/`resolve_url()` in the project's Python files
//! and to `{% url %}` in its templates ([`UrlReference`]), and which views passed to
//! `path()` are class-based views missing `.as_view()`.

mod expand;
mod refs;
pub mod route;
mod views;

use crate::load::{Loader, LoaderSource};
use crate::report::NotAnalysed;
use crate::settings::{Settings, Value};
use crate::FileRole;
use djcheck_diagnostics::{FileId, Span};
use djcheck_pyeval as pyeval;
pub use djcheck_pyeval::{Branch, BranchId, Cond, Name};
pub use route::RouteKind;

/// Index of a node in [`UrlTree::nodes`].
pub type NodeId = usize;

/// A route as written in `path()`/`re_path()`.
#[derive(Debug, Clone)]
pub struct Route {
    pub kind: RouteKind,
    /// The route's text, when it is a literal (or built from literals).
    pub text: Option<String>,
    /// The route argument.
    pub span: Option<Span>,
    /// Wrapped in `gettext_lazy()` or similar: the text is the untranslated message.
    pub translated: bool,
}

/// A registration made by one iteration of a loop (auto-discovery).
#[derive(Debug, Clone)]
pub struct LoopItem {
    /// The loop's iterable.
    pub loop_span: Span,
    /// The item this iteration handled, for humans (`apps/blog`, `"blog"`).
    pub item: String,
}

/// One pattern of the tree, at its place (a module included twice gives two nodes for
/// each of its patterns).
#[derive(Debug, Clone)]
pub struct UrlNode {
    /// The include this pattern belongs to; `None` at the root URLconf's level.
    pub parent: Option<NodeId>,
    /// The `path()`/`re_path()` call, or for an opaque entry the expression.
    pub call: Option<Span>,
    pub route: Option<Route>,
    /// The condition under which it is registered, its ancestors' included.
    pub cond: Cond,
    /// Set when a loop registered it.
    pub via: Option<LoopItem>,
    pub kind: NodeKind,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Endpoint(Endpoint),
    Include(Include),
    /// An entry that cannot be read statically: its level is incomplete.
    Opaque,
}

/// A pattern with a view.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: Name,
    /// The view argument.
    pub view: Span,
    /// Certainly a view (a function, `X.as_view()`, a class), not something that might be
    /// an `include()` in disguise.
    pub certain: bool,
    /// A class-based view passed without `.as_view()` (Django's urls.E009): its name.
    pub class_without_as_view: Option<String>,
    /// Extra keyword arguments (`path(route, view, {"k": v})`) are given.
    pub has_kwargs: bool,
}

/// Where an include points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncludeTarget {
    /// A module of the project.
    Module { module: String, file: FileId },
    /// A list of patterns (`include([...])`, a `(patterns, app_name)` tuple, `i18n_patterns`).
    Inline,
    /// A module of the project's own packages that does not exist, and the closest
    /// module that does (a likely typo).
    Missing {
        module: String,
        suggestion: Option<String>,
    },
    /// A module outside the project (third-party, Django's own), or a value that cannot be
    /// read (`router.urls`).
    External { module: Option<String> },
    /// A module already being included further up: an include cycle, not expanded.
    Cycle { module: String },
}

/// A pattern that includes other patterns.
#[derive(Debug, Clone)]
pub struct Include {
    /// The `include()` call, if there is one (`admin.site.urls` and `i18n_patterns` have
    /// none).
    pub include_call: Option<Span>,
    pub target: IncludeTarget,
    /// The `namespace=` argument, when given: its value and span.
    pub namespace_arg: Option<(Name, Span)>,
    /// The app namespace: the module's `app_name`, or the tuple's.
    pub app_name: Name,
    /// The instance namespace Django uses: `namespace` or else `app_name`.
    pub namespace: Name,
    pub children: Vec<NodeId>,
    /// The children are all known (no opaque entry, target read completely).
    pub complete: bool,
    /// URL names of a known module outside the project (`django.contrib.auth.urls`).
    pub external_names: Vec<&'static str>,
}

/// Where the root URLconf comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootSource {
    /// The config key `root-urlconf`.
    Config,
    /// ROOT_URLCONF in the settings (the span of its assignment).
    Settings(Option<Span>),
    /// The project's only top-level `urls.py`.
    LoneUrlsPy,
}

#[derive(Debug, Clone)]
pub struct Root {
    /// The dotted module name.
    pub module: String,
    /// Its file, when the project has it.
    pub file: Option<FileId>,
    pub source: RootSource,
    /// It names a module of the project's own packages that does not exist.
    pub missing: bool,
}

/// An include cycle: `chain[0]` includes `chain[1]` ... includes `chain[0]` again.
#[derive(Debug, Clone)]
pub struct IncludeCycle {
    pub chain: Vec<String>,
    /// The `include()` that closes the cycle.
    pub site: Span,
}

/// How a URL name is referred to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferenceKind {
    /// `reverse()`, `reverse_lazy()`, `redirect()` or `resolve_url()` (the function name).
    Call(&'static str),
    /// `{% url "..." %}` in a template.
    TemplateTag,
}

/// A literal URL name used somewhere in the project.
#[derive(Debug, Clone)]
pub struct UrlReference {
    /// The string literal.
    pub span: Span,
    /// `"namespace:name"` or `"name"`.
    pub name: String,
    pub kind: ReferenceKind,
}

/// The project's URL configuration, built once, read-only.
#[derive(Debug, Clone, Default)]
pub struct UrlTree {
    pub root: Option<Root>,
    /// The root URLconf was read (it exists and parses).
    pub root_readable: bool,
    /// Why there is no usable root URLconf, when there is none.
    pub root_problem: Option<NotAnalysed>,
    /// The project modules evaluated to build the tree (URL modules and what they
    /// import), in reading order.
    pub modules_read: Vec<String>,
    pub nodes: Vec<UrlNode>,
    /// The root URLconf's patterns.
    pub top: Vec<NodeId>,
    /// The root URLconf's `urlpatterns` is completely known.
    pub top_complete: bool,
    /// Every level of the tree is completely known.
    pub complete: bool,
    /// Why the tree is incomplete, for humans, each with the place of its cause when
    /// it is in a file (see [`UrlTree::mark_incomplete`]).
    pub incomplete: Vec<Incomplete>,
    pub cycles: Vec<IncludeCycle>,
    pub branches: Vec<Branch>,
    /// The value of APPEND_SLASH when statically known (Django's default: true).
    pub append_slash: Option<bool>,
    /// Template files (relative paths) of the project.
    pub templates: Vec<String>,
    pub references: Vec<UrlReference>,
    /// The project can switch URLconfs per request or per test (`request.urlconf`,
    /// django-hosts): references can't be checked against this tree.
    pub per_request_urlconf: bool,
    /// A list of a URL module is changed from another module at run time (an
    /// `AppConfig.ready()` appending plugin URLs): which names exist is known only then.
    pub extended_at_run_time: bool,
}

/// One reason the URL tree is not completely known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incomplete {
    pub why: String,
    /// Where the cause is (the statement that binds an unreadable `urlpatterns`).
    pub span: Option<Span>,
}

impl UrlTree {
    /// Records why part of the tree is not known (once per reason).
    pub(crate) fn mark_incomplete(&mut self, why: String, span: Option<Span>) {
        if !self.incomplete.iter().any(|r| r.why == why) {
            self.incomplete.push(Incomplete { why, span });
        }
    }
}

impl UrlTree {
    pub fn node(&self, id: NodeId) -> &UrlNode {
        &self.nodes[id]
    }

    /// The children of `parent` (`None`: the root level) and whether they are complete.
    pub fn children(&self, parent: Option<NodeId>) -> (&[NodeId], bool) {
        match parent {
            None => (&self.top, self.top_complete),
            Some(p) => match &self.nodes[p].kind {
                NodeKind::Include(i) => (&i.children, i.complete),
                _ => (&[], true),
            },
        }
    }

    /// The nearest ancestors first.
    pub fn ancestors(&self, id: NodeId) -> impl Iterator<Item = NodeId> + '_ {
        let mut cur = self.nodes[id].parent;
        std::iter::from_fn(move || {
            let c = cur?;
            cur = self.nodes[c].parent;
            Some(c)
        })
    }

    /// The full namespace path of a node's own namespace (for an include: its instance
    /// namespace with its parents'), as Django's `_load_all_namespaces` computes it.
    /// `None` when some part is unknown or the node has no namespace.
    pub fn namespace_path(&self, id: NodeId) -> Option<String> {
        let NodeKind::Include(inc) = &self.nodes[id].kind else {
            return None;
        };
        let own = inc.namespace.known()?;
        let mut parts = vec![own.to_owned()];
        for a in self.ancestors(id) {
            if let NodeKind::Include(pi) = &self.nodes[a].kind {
                match &pi.namespace {
                    Name::Absent => {}
                    Name::Known(s, _) => parts.push(s.clone()),
                    Name::Unknown => return None,
                }
            }
        }
        parts.reverse();
        Some(parts.join(":"))
    }

    /// The namespace scope a node's name belongs to: `Some(Some(include))` for its
    /// nearest namespaced ancestor, `Some(None)` for the root, `None` when an ancestor's
    /// namespace is unknown.
    pub fn scope(&self, id: NodeId) -> Option<Option<NodeId>> {
        for a in self.ancestors(id) {
            if let NodeKind::Include(pi) = &self.nodes[a].kind {
                match &pi.namespace {
                    Name::Absent => {}
                    Name::Known(..) => return Some(Some(a)),
                    Name::Unknown => return None,
                }
            }
        }
        Some(None)
    }

    /// A description of a branch point's place, for notes.
    pub fn branch(&self, id: BranchId) -> Option<&Branch> {
        self.branches.get(id as usize)
    }
}

/// Modules outside the project whose URL names are known.
const KNOWN_EXTERNAL: &[(&str, &[&str])] = &[
    (
        "django.contrib.auth.urls",
        &[
            "login",
            "logout",
            "password_change",
            "password_change_done",
            "password_reset",
            "password_reset_done",
            "password_reset_confirm",
            "password_reset_complete",
        ],
    ),
    ("django.conf.urls.i18n", &["set_language"]),
    (
        "django.contrib.flatpages.urls",
        &["django.contrib.flatpages.views.flatpage"],
    ),
];

/// Modules outside the project that set an `app_name`: including them adds a namespace
/// (whose names are unknown), never names or namespaces at the including level.
const KNOWN_NAMESPACED: &[(&str, &str)] = &[
    ("debug_toolbar.urls", "djdt"),
    ("rest_framework.urls", "rest_framework"),
];

/// Builds the URL tree. Called once by [`crate::load`], after the settings are read,
/// with the evaluator's memory (the settings already evaluated in it).
///
/// The root URLconf is, in this order: the config key `root-urlconf` (command-line and
/// config values beat discovery), ROOT_URLCONF from the settings, or the project's only
/// top-level `urls.py` when no settings module was found.
pub(crate) fn build(
    ld: &mut Loader<'_>,
    mem: &mut pyeval::Memory,
    settings: &Settings,
    templates: &std::collections::BTreeSet<String>,
) -> UrlTree {
    let mut tree = UrlTree {
        templates: templates.iter().cloned().collect(),
        append_slash: match settings.get("APPEND_SLASH") {
            None => Some(true),
            Some(_) => settings.bool("APPEND_SLASH"),
        },
        ..UrlTree::default()
    };
    let root = match find_root(ld, settings) {
        Ok(r) => Some(r),
        Err(p) => {
            tree.mark_incomplete(p.why.clone(), p.span);
            tree.root_problem = Some(p);
            None
        }
    };
    if let Some(r) = &root {
        let mut src = LoaderSource {
            ld,
            role: ROLE,
            read: Vec::new(),
        };
        let mut it = pyeval::Interp::new(mem, &mut src);
        let mut ex = expand::Expander {
            it: &mut it,
            views: Vec::new(),
        };
        ex.expand_root(r, &mut tree);
        let views = std::mem::take(&mut ex.views);
        if it.over_budget() {
            tree.mark_incomplete("the URL modules are too large to evaluate".to_owned(), None);
        }
        drop(it);
        for f in &src.read {
            let path = src.ld.db.file(*f).path.clone();
            if let Some(m) = src.ld.modules.module_name(&path) {
                if !tree.modules_read.contains(&m) {
                    tree.modules_read.push(m);
                }
            }
        }
        tree.branches = mem.branches().to_vec();
        if !tree.root_readable {
            let why = if r.missing || r.file.is_none() {
                format!("root URLconf `{}` is not a module of the project", r.module)
            } else {
                format!(
                    "root URLconf `{}` can't be read (see its PARSE finding)",
                    r.module
                )
            };
            tree.root_problem = Some(NotAnalysed {
                what: "URL rules".to_owned(),
                why,
                fix: (r.missing || r.file.is_none()).then(|| FIX_ROOT.to_owned()),
                span: match &r.source {
                    RootSource::Settings(s) => *s,
                    _ => None,
                },
            });
        }
        views::resolve(ld, &mut tree, views);
    }
    tree.root = root;
    tree.complete = tree.incomplete.is_empty();
    refs::collect(ld, &mut tree);
    tree
}

const FIX_ROOT: &str = "set `root-urlconf` in [tool.djcheck]";

fn find_root(ld: &mut Loader<'_>, settings: &Settings) -> Result<Root, NotAnalysed> {
    let problem = |why: String, span: Option<Span>, fix: bool| NotAnalysed {
        what: "URL rules".to_owned(),
        why,
        fix: fix.then(|| FIX_ROOT.to_owned()),
        span,
    };
    let (module, source) = if let Some(m) = &ld.opts.analysis.root_urlconf {
        (m.clone(), RootSource::Config)
    } else if let Some(s) = settings.get("ROOT_URLCONF") {
        match &s.value {
            Value::Str(v) => (v.clone(), RootSource::Settings(s.span)),
            Value::OneOf(alts) => {
                let names: Vec<String> = alts
                    .iter()
                    .map(|a| match a {
                        Value::Str(v) => format!("`{v}`"),
                        _ => "a value".to_owned(),
                    })
                    .collect();
                return Err(problem(
                    format!(
                        "ROOT_URLCONF is one of {} depending on a condition",
                        names.join(", ")
                    ),
                    s.span,
                    true,
                ));
            }
            _ => {
                let why = match &s.env {
                    Some(env) if !env.has_default => match &env.var {
                        Some(v) => format!(
                            "ROOT_URLCONF is read from the environment (`{v}`) with no default"
                        ),
                        None => {
                            "ROOT_URLCONF is read from the environment with no default".to_owned()
                        }
                    },
                    _ => "ROOT_URLCONF can't be read statically".to_owned(),
                };
                return Err(problem(why, s.span, true));
            }
        }
    } else if settings.module.is_some() && settings.readable {
        let why = if settings.star_unknown.is_some() {
            "ROOT_URLCONF is not set in the settings read, and may come from a star import that can't be read"
        } else {
            "the settings do not set ROOT_URLCONF"
        };
        return Err(problem(why.to_owned(), settings.star_unknown, true));
    } else {
        let mut lone: Vec<String> = ld
            .files
            .iter()
            .filter(|f| {
                let Some(dir) = f.strip_suffix("urls.py") else {
                    return false;
                };
                if !(dir.is_empty() || dir.ends_with('/')) {
                    return false;
                }
                let dir = dir.trim_end_matches('/');
                // In a project package (beside wsgi.py, asgi.py or settings), not an
                // app's own urls.py: a reusable app's URLs are included under its
                // namespace, never the root.
                let beside = |name: &str| {
                    let p = if dir.is_empty() {
                        name.to_owned()
                    } else {
                        format!("{dir}/{name}")
                    };
                    ld.files.contains(&p)
                };
                let is_app = ["apps.py", "models.py", "migrations/__init__.py"]
                    .iter()
                    .any(|n| beside(n));
                let project_package = dir.is_empty()
                    || ["wsgi.py", "asgi.py"].iter().any(|n| beside(n))
                    || (!is_app
                        && ["settings.py", "settings/__init__.py"]
                            .iter()
                            .any(|n| beside(n)));
                if !project_package {
                    return false;
                }
                // At a source root, or in a package directly under one.
                ld.modules.roots.iter().any(|r| {
                    let rest = if r.is_empty() {
                        Some(dir)
                    } else if dir == r {
                        Some("")
                    } else {
                        dir.strip_prefix(r.as_str())
                            .and_then(|x| x.strip_prefix('/'))
                    };
                    rest.is_some_and(|x| !x.contains('/'))
                })
            })
            .cloned()
            .collect();
        lone.dedup();
        let why = match lone.len() {
            0 => "no settings module and no top-level urls.py found",
            1 => "",
            _ => "no settings module, and several top-level urls.py: which one is the root is unknown",
        };
        if lone.len() != 1 {
            return Err(problem(why.to_owned(), None, true));
        }
        let Some(m) = ld.modules.module_name(&lone[0]) else {
            return Err(problem(
                "the top-level urls.py is not importable".to_owned(),
                None,
                true,
            ));
        };
        (m, RootSource::LoneUrlsPy)
    };
    let file = ld
        .modules
        .resolve(&ld.files, &module)
        .map(|rel| ld.register(&rel));
    let missing = ld.is_missing_project_module(&module);
    Ok(Root {
        module,
        file,
        source,
        missing,
    })
}

/// The module of the same package whose name is closest to `dotted`'s, when it is
/// close enough to be a typo (`blog.url` for `blog.urls`).
pub(crate) fn suggest_module(src: &dyn pyeval::Source, dotted: &str) -> Option<String> {
    let files = src.files();
    let (package, name) = dotted.rsplit_once('.')?;
    let init = src.resolve(package)?;
    let dir = init.strip_suffix("/__init__.py")?;
    let prefix = format!("{dir}/");
    let mut best: Option<(usize, String)> = None;
    for f in files.range(prefix.clone()..) {
        let Some(rest) = f.strip_prefix(&prefix) else {
            break;
        };
        let candidate = match rest.split_once('/') {
            Some((pkg, "__init__.py")) => pkg,
            Some(_) => continue,
            None => match rest.strip_suffix(".py") {
                Some(m) if m != "__init__" => m,
                _ => continue,
            },
        };
        let d = edit_distance(name, candidate);
        let limit = (name.chars().count() / 3).clamp(1, 2);
        if d <= limit && best.as_ref().is_none_or(|(bd, _)| d < *bd) {
            best = Some((d, format!("{package}.{candidate}")));
        }
    }
    best.map(|(_, m)| m)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != *cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// The role files read for the URL tree are recorded under.
pub(crate) const ROLE: FileRole = FileRole::Urls;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{load, LoadOptions, NoVisitor};
    use std::path::Path;

    fn tree_of(fixture: &str) -> (crate::Project, Vec<String>) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fixtures/urls")
            .join(fixture);
        let opts = LoadOptions {
            root,
            ..LoadOptions::default()
        };
        let (project, _) = load(&opts, &NoVisitor).expect("loads");
        let t = &project.urls;
        let mut lines = Vec::new();
        for (id, n) in t.nodes.iter().enumerate() {
            let depth = t.ancestors(id).count();
            let route = n
                .route
                .as_ref()
                .and_then(|r| r.text.clone())
                .unwrap_or_default();
            let what = match &n.kind {
                NodeKind::Endpoint(e) => format!("endpoint name={:?}", e.name.known()),
                NodeKind::Include(_) => format!("include ns={:?}", t.namespace_path(id)),
                NodeKind::Opaque => "opaque".to_owned(),
            };
            let cond = if n.cond.is_always() {
                ""
            } else {
                " (conditional)"
            };
            lines.push(format!("{}{route:?} {what}{cond}", "  ".repeat(depth)));
        }
        (project, lines)
    }

    #[test]
    fn incident_after_the_fix() {
        let (p, lines) = tree_of("URL001_duplicate-namespace/silent");
        let t = &p.urls;
        assert!(t.complete, "{:?}\n{}", t.incomplete, lines.join("\n"));
        assert_eq!(
            t.root.as_ref().map(|r| r.module.as_str()),
            Some("proj.urls")
        );
        let mut ns: Vec<String> = (0..t.nodes.len())
            .filter_map(|i| t.namespace_path(i))
            .collect();
        ns.sort();
        assert_eq!(
            ns,
            vec![
                "blog",
                "blog:comments",
                "cloud_app",
                "news",
                "news:comments",
                "shop",
                "shop:cart",
                "shop:comments",
                "tools",
                "tools",
            ],
            "{}",
            lines.join("\n")
        );
    }

    #[test]
    fn incident_before_the_fix() {
        let (p, lines) = tree_of("URL001_duplicate-namespace/fires");
        let t = &p.urls;
        assert!(t.complete, "{:?}\n{}", t.incomplete, lines.join("\n"));
        let looped: Vec<&str> = t
            .nodes
            .iter()
            .filter_map(|n| n.via.as_ref().map(|v| v.item.as_str()))
            .collect();
        assert_eq!(
            looped,
            vec!["apps/blog", "apps/cloud_app"],
            "{}",
            lines.join("\n")
        );
    }
    fn tree_from(files: &[(&str, &str)]) -> (crate::Project, Vec<String>) {
        let mut overrides = std::collections::BTreeMap::new();
        overrides.insert(
            "manage.py".to_owned(),
            "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n"
                .to_owned(),
        );
        overrides.insert("proj/__init__.py".to_owned(), String::new());
        overrides.insert(
            "proj/settings.py".to_owned(),
            "INSTALLED_APPS = ['django.contrib.auth', 'a', 'b']\nROOT_URLCONF = 'proj.urls'\n"
                .to_owned(),
        );
        for (p, t) in files {
            overrides.insert((*p).to_owned(), (*t).to_owned());
        }
        // An empty folder, one per call (a random name: tests run in parallel), removed
        // when `root` drops: every file comes from the overrides.
        let root = tempfile::Builder::new()
            .prefix("djcheck-urls-tree-empty-")
            .tempdir()
            .expect("create a scratch folder");
        let opts = LoadOptions {
            root: root.path().to_path_buf(),
            overrides,
            ..LoadOptions::default()
        };
        let (project, _) = load(&opts, &NoVisitor).expect("loads");
        let t = &project.urls;
        let mut ns: Vec<String> = (0..t.nodes.len())
            .filter_map(|i| {
                let cond = if t.nodes[i].cond.is_always() { "" } else { "?" };
                t.namespace_path(i).map(|n| format!("{n}{cond}"))
            })
            .collect();
        ns.sort();
        (project, ns)
    }

    const APP_A: (&str, &str) = ("a/urls.py", "app_name = 'a'\nurlpatterns = []\n");
    const APP_B: (&str, &str) = ("b/urls.py", "app_name = 'b'\nurlpatterns = []\n");

    #[test]
    fn reads_what_the_issue_lists() {
        let urls = "\
import os
from django.conf import settings
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.conf.urls.i18n import i18n_patterns

def helper(prefix):
    return [path(prefix, include('a.urls', namespace='helper'))]

urlpatterns = helper('h/')
urlpatterns += i18n_patterns(path(_('b/'), include('b.urls')))
urlpatterns.extend([path(f'{n}/', include(f'{n}.urls', namespace=f'x{n}')) for n in ['a', 'b']])
for app in settings.INSTALLED_APPS:
    if app.startswith('django.'):
        continue
    urlpatterns.append(path(app + '/', include(app + '.urls', namespace='loop-' + app)))
base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for name in sorted(os.listdir(base)):
    if name in ('proj',):
        continue
    if not os.path.exists(os.path.join(base, name, 'urls.py')):
        continue
    urlpatterns += [path(name, include('%s.urls' % name, namespace='dir-' + name))]
try:
    import debug_toolbar
    urlpatterns.append(path('t/', include('a.urls', namespace='tb')))
except ImportError:
    urlpatterns.append(path('t/', include('a.urls', namespace='tb')))
";
        let (p, ns) = tree_from(&[
            ("a/__init__.py", ""),
            ("b/__init__.py", ""),
            APP_A,
            APP_B,
            ("proj/urls.py", urls),
        ]);
        assert!(p.urls.complete, "{:?}", p.urls.incomplete);
        assert_eq!(
            ns,
            vec!["b", "dir-a", "dir-b", "helper", "loop-a", "loop-b", "tb?", "tb?", "xa", "xb"]
        );
        // The two `tb` registrations are in exclusive arms.
        let tb: Vec<&UrlNode> = (0..p.urls.nodes.len())
            .filter(|i| p.urls.namespace_path(*i).as_deref() == Some("tb"))
            .map(|i| &p.urls.nodes[i])
            .collect();
        assert!(tb[0].cond.excludes(&tb[1].cond));
    }

    #[test]
    fn cycles_and_unknowns_make_the_tree_incomplete() {
        let (p, _) = tree_from(&[
            ("a/__init__.py", ""),
            ("a/urls.py", "from django.urls import include, path\nurlpatterns = [path('x/', include('proj.urls'))]\n"),
            ("proj/urls.py", "from django.urls import include, path\nfrom somewhere import extra\nurlpatterns = [path('a/', include('a.urls'))] + extra\n"),
        ]);
        let t = &p.urls;
        assert!(!t.complete);
        assert!(!t.top_complete);
        assert_eq!(t.cycles.len(), 1);
        assert_eq!(t.cycles[0].chain, vec!["proj.urls", "a.urls", "proj.urls"]);
    }
    #[test]
    fn modules_re_exporting_each_other_terminate() {
        let (p, _) = tree_from(&[
            ("a/__init__.py", ""),
            ("a/one.py", "from a.two import x\n"),
            ("a/two.py", "from a.one import x\n"),
            ("proj/urls.py", "from django.urls import include, path\nfrom a.one import x\nurlpatterns = [path('a/', include(x))] + x\n"),
        ]);
        assert!(!p.urls.complete);
    }
}
