//! The values the evaluator knows: Python's (strings, numbers, lists, dicts, modules,
//! classes, functions), paths in the project tree, and the results of the Django calls
//! that module-level code makes (`path()`, `include()`, `admin.site.urls`, app configs).

use crate::cond::Cond;
use djcheck_diagnostics::Span;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Index of a list in a heap.
pub type ListId = u32;
/// A module's names.
pub type Env = BTreeMap<String, Val>;
/// Lists are shared between the states of `if` arms until one arm changes them.
pub type Heap = BTreeMap<ListId, Rc<ListObj>>;

/// A value, as far as it is statically known.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Unknown,
    /// Something callable: a function, a lambda, `X.as_view()`, a decorator's result.
    /// `certain` is false for the result of calling something unknown.
    Callable {
        certain: bool,
    },
    None,
    Bool(bool),
    Int(i64),
    Str(String),
    /// A string wrapped in `gettext_lazy()` and the like.
    Translated(String),
    /// One of several values, depending on which arm of a branch ran (an `if`/`else`
    /// assigning different literals, `a if test else b`). Never nested, at least two.
    OneOf(Rc<Vec<Val>>),
    List(ListId),
    Dict(Rc<Vec<(Val, Val)>>),
    Entry(Rc<Entry>),
    Include(Rc<IncludeVal>),
    /// `admin.site.urls`: the site's name (its namespace), when known.
    Admin(Option<String>),
    /// A module of the project.
    Module(String),
    /// A name (possibly dotted: `HomeView.as_view`) of a project module, resolved only
    /// when its value is needed.
    Symbol(String, String),
    /// A qualified name outside the project (`django.urls.path`).
    Qual(String),
    /// A function defined in a module being evaluated.
    Func(usize),
    /// A class defined at the top level of a project module.
    Class(Rc<ClassVal>),
    Path(FsPath),
    /// `django.conf.settings`.
    Settings,
    AppConfig(Rc<AppCfg>),
    /// `split_settings.tools.optional("file.py")`.
    OptionalFile(String),
    /// An object that reads the environment: django-environ's `Env(...)` (with the
    /// defaults of its scheme), environs' `Env()`, python-decouple's `AutoConfig()`.
    EnvReader(EnvLib, Rc<Vec<(String, Val)>>),
}

/// The library an environment reader comes from: their call signatures differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvLib {
    /// django-environ: `env("X", cast=None, default=...)`, `env.str("X", default)`.
    DjangoEnviron,
    /// environs: `env("X", default)`, `env.str("X", default)`.
    Environs,
    /// python-decouple: `config("X", default=..., cast=...)`.
    Decouple,
}

impl Val {
    /// True when nothing is known of it.
    pub fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown | Val::Callable { certain: false })
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) | Val::Translated(s) => Some(s),
            _ => None,
        }
    }

    /// A scalar that can be one alternative of [`Val::OneOf`].
    pub(crate) fn is_plain(&self) -> bool {
        matches!(
            self,
            Val::None
                | Val::Bool(_)
                | Val::Int(_)
                | Val::Str(_)
                | Val::Translated(_)
                | Val::Path(FsPath::Known(_))
        )
    }

    /// The alternatives of `self` (itself when it is not [`Val::OneOf`]).
    pub fn alternatives(&self) -> Vec<Val> {
        match self {
            Val::OneOf(v) => v.as_ref().clone(),
            other => vec![other.clone()],
        }
    }

    /// `OneOf` of the given values, or the value itself when they are all equal;
    /// `Unknown` when one of them is neither a plain scalar nor a dict.
    pub(crate) fn one_of(vals: Vec<Val>) -> Val {
        let mut out: Vec<Val> = Vec::new();
        for v in vals {
            for a in v.alternatives() {
                if !a.is_plain() && !matches!(a, Val::Dict(_)) {
                    return Val::Unknown;
                }
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        match out.len() {
            0 => Val::Unknown,
            1 => out.pop().unwrap_or(Val::Unknown),
            _ => Val::OneOf(Rc::new(out)),
        }
    }
}

/// A path in the project tree, relative to the root (`""` is the root).
#[derive(Debug, Clone, PartialEq)]
pub enum FsPath {
    Known(String),
    /// An entry of a folder that djcheck does not know (not a `.py` file, nor a folder
    /// holding one).
    Other,
    /// A path inside such an entry.
    OtherChild(String),
}

/// An installed app, as `apps.get_app_configs()` gives it.
#[derive(Debug, PartialEq)]
pub struct AppCfg {
    /// The app's module (`AppConfig.name`).
    pub name: String,
    pub label: Option<String>,
    /// Its package folder, when the project has it.
    pub dir: Option<String>,
}

/// A class defined at the top level of a module: its bases and the names its body binds.
#[derive(Debug, PartialEq)]
pub struct ClassVal {
    pub module: String,
    pub name: String,
    pub bases: Vec<Val>,
    pub attrs: Env,
    /// Where each attribute is assigned.
    pub spans: BTreeMap<String, Span>,
    /// The class statement's name.
    pub span: Span,
}

/// A list (or tuple) object.
#[derive(Debug, Clone, PartialEq)]
pub struct ListObj {
    pub items: Vec<Item>,
    pub tuple: bool,
    /// A value absent from it may still be in it where the project runs (INSTALLED_APPS:
    /// deployments add apps), so `x in list` is never decided false.
    pub open: bool,
}

/// One item of a list, with the condition under which it is there.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub id: u32,
    pub val: Val,
    pub cond: Cond,
    pub via: Option<Rc<Via>>,
}

/// The loop iteration that added an item.
#[derive(Debug, PartialEq)]
pub struct Via {
    pub loop_span: Span,
    pub item: String,
}

/// A namespace or app name as read statically.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Name {
    /// Certainly not set.
    Absent,
    /// Set to this value; the span is where it is written, when known.
    Known(String, Option<Span>),
    /// Set in a way that cannot be read statically (or possibly set).
    Unknown,
}

impl Name {
    pub fn known(&self) -> Option<&str> {
        match self {
            Name::Known(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn span(&self) -> Option<Span> {
        match self {
            Name::Known(_, s) => *s,
            _ => None,
        }
    }
}

/// What kind of pattern a `path()`-like call makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatternKind {
    /// `path()`.
    Path,
    /// `re_path()` or `url()`.
    Regex,
    /// The language prefix `i18n_patterns()` adds.
    Locale,
}

/// A `path()`/`re_path()`/`url()` result.
#[derive(Debug, PartialEq)]
pub struct Entry {
    pub call: Span,
    pub kind: PatternKind,
    pub route: Option<String>,
    pub route_span: Option<Span>,
    pub translated: bool,
    pub target: Target,
    pub name: Name,
    pub has_kwargs: bool,
}

/// What a pattern leads to.
#[derive(Debug, PartialEq)]
pub enum Target {
    View(ViewVal),
    Include(Rc<IncludeVal>),
    Admin(Option<String>),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ViewVal {
    pub span: Span,
    pub kind: ViewKind,
}

/// What a view argument is, for the class-based-view check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ViewKind {
    /// A name of a project module (a function or a class).
    Symbol(String, String),
    /// A qualified name outside the project.
    Qual(String),
    /// Certainly a callable that is not a class.
    Callable,
    /// Most likely a view, but its nature is unknown.
    Other,
}

/// An `include()` result.
#[derive(Debug, PartialEq)]
pub struct IncludeVal {
    pub call: Span,
    pub target: IncTarget,
    /// The app name of a `(patterns, app_name)` tuple.
    pub tuple_app_name: Option<Name>,
    /// `namespace=`: its value and span.
    pub namespace: Option<(Name, Span)>,
    /// An `i18n_patterns()` group rather than an `include()`.
    pub locale: bool,
}

/// What an `include()` includes.
#[derive(Debug, PartialEq)]
pub enum IncTarget {
    Module(String),
    Missing(String),
    External(Option<String>),
    Inline(ListId),
}

/// Where a module-level name got its value, for diagnostics and the project report.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// The statement that (last) bound it.
    pub span: Span,
    /// The value is read from the environment (`os.environ.get`, django-environ,
    /// python-decouple): the variable, and whether a default was given (the value is
    /// then that default).
    pub env: Option<EnvRead>,
    /// A star import of a module that cannot be read ran after this binding, and may
    /// have rebound it there.
    pub overridden_at: Option<Span>,
}

/// An environment variable read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRead {
    pub var: Option<String>,
    pub has_default: bool,
}
