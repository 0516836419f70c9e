//! A small abstract interpreter for URL modules.
//!
//! It executes a module's top-level statements the way Python would, over values it can
//! know statically: strings, lists (held in a heap, so `urlpatterns.append()` inside a
//! helper function changes the module's list), `path()`/`re_path()`/`include()` results,
//! module objects, paths in the project tree. An `if` whose test cannot be decided runs
//! every arm and merges them, tagging what each arm registers with a [`Cond`]; a loop over
//! app folders runs once per folder found on disk; anything else it cannot follow turns
//! into an unknown value, and a list that may have received unknown entries gets an
//! unknown item, which later becomes an opaque node. It never guesses a value.

use super::route::RouteKind;
use super::{
    Branch, Cond, Include, IncludeCycle, IncludeTarget, LoopItem, Name, NodeId, NodeKind, Root,
    Route, UrlNode, UrlTree, KNOWN_EXTERNAL, KNOWN_NAMESPACED, ROLE,
};
use crate::modules::Modules;
use crate::settings::Settings;
use crate::Loader;
use djcheck_diagnostics::{FileId, Span};
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::{eval, ParsedModule, Ranged, TextRange};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

type ListId = u32;
type Env = BTreeMap<String, Val>;
/// Lists are shared between the states of `if` arms until one arm changes them.
type Heap = BTreeMap<ListId, Rc<ListObj>>;

/// Statements and expressions evaluated per build, at most: a pathological URL module
/// (a loop over a huge range) must not stall the run. Past it, values become unknown.
const STEP_BUDGET: usize = 2_000_000;
/// Nodes of the expanded tree, at most (a module included many times, many levels deep).
const MAX_NODES: usize = 200_000;
/// Include nesting, at most.
const MAX_DEPTH: usize = 40;
/// Nested helper-function calls, at most.
const MAX_CALL_DEPTH: usize = 12;
/// Iterations of one loop, at most.
const MAX_ITERATIONS: usize = 5_000;

/// A value, as far as it is statically known.
#[derive(Debug, Clone, PartialEq)]
enum Val {
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
    Path(FsPath),
    Settings,
    AppConfig(Rc<AppCfg>),
}

impl Val {
    fn is_unknown(&self) -> bool {
        matches!(self, Val::Unknown | Val::Callable { certain: false })
    }

    fn as_str(&self) -> Option<&str> {
        match self {
            Val::Str(s) | Val::Translated(s) => Some(s),
            _ => None,
        }
    }
}

/// A path in the project tree, relative to the root (`""` is the root).
#[derive(Debug, Clone, PartialEq)]
enum FsPath {
    Known(String),
    /// An entry of a folder that djcheck does not know (not a `.py` file, nor a folder
    /// holding one).
    Other,
    /// A path inside such an entry.
    OtherChild(String),
}

#[derive(Debug, PartialEq)]
struct AppCfg {
    name: String,
    label: Option<String>,
    dir: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
struct ListObj {
    items: Vec<Item>,
    tuple: bool,
    /// A value absent from it may still be in it where the project runs (INSTALLED_APPS:
    /// deployments add apps), so `x in list` is never decided false.
    open: bool,
}

#[derive(Debug, Clone, PartialEq)]
struct Item {
    id: u32,
    val: Val,
    cond: Cond,
    via: Option<Rc<Via>>,
}

#[derive(Debug, PartialEq)]
struct Via {
    loop_span: Span,
    item: String,
}

/// A `path()`/`re_path()`/`url()` result.
#[derive(Debug, PartialEq)]
struct Entry {
    call: Span,
    kind: RouteKind,
    route: Option<String>,
    route_span: Option<Span>,
    translated: bool,
    target: Target,
    name: Name,
    has_kwargs: bool,
}

#[derive(Debug, PartialEq)]
enum Target {
    View(ViewVal),
    Include(Rc<IncludeVal>),
    Admin(Option<String>),
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
struct ViewVal {
    span: Span,
    kind: ViewKind,
}

/// What a view argument is, for the class-based-view check.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum ViewKind {
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
struct IncludeVal {
    call: Span,
    target: IncTarget,
    /// The app name of a `(patterns, app_name)` tuple.
    tuple_app_name: Option<Name>,
    /// `namespace=`: its value and span.
    namespace: Option<(Name, Span)>,
    /// An `i18n_patterns()` group rather than an `include()`.
    locale: bool,
}

#[derive(Debug, PartialEq)]
enum IncTarget {
    Module(String),
    Missing(String),
    External(Option<String>),
    Inline(ListId),
}

/// Where a view of a node must be looked up after the tree is built.
pub(super) struct ViewRequest {
    pub node: NodeId,
    pub kind: ViewKind,
}

/// A function defined at the top level of an evaluated module.
struct FuncInfo {
    module: String,
    parsed: Rc<ParsedModule>,
    index: usize,
}

/// The result of evaluating a module.
struct ModResult {
    file: FileId,
    env: Env,
    heap: Heap,
    /// Where top-level names were last assigned.
    spans: BTreeMap<String, Span>,
    /// A star import that could not be read: any name may come from it.
    star_unknown: bool,
}

enum Slot {
    Busy,
    Done(Rc<ModResult>),
    NotFound,
    Unusable,
}

/// Why a module could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fail {
    NotFound,
    Unusable,
    Busy,
}

/// The module being executed.
struct Cx {
    module: String,
    file: FileId,
    is_package: bool,
    parsed: Rc<ParsedModule>,
}

#[derive(Debug, Clone, Default)]
struct Frame {
    locals: Env,
    globals: BTreeSet<String>,
    returns: Vec<(Val, Cond)>,
}

#[derive(Debug, Clone, Default)]
struct State {
    globals: Env,
    frames: Vec<Frame>,
    heap: Heap,
    reach: Cond,
    /// Restrictions on later loop iterations from `break`s under a condition.
    breaks: Cond,
    spans: BTreeMap<String, Span>,
    star_unknown: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Normal,
    Continue,
    Break,
    Return,
}

pub(super) struct Interp<'l, 'o> {
    ld: &'l mut Loader<'o>,
    settings: &'l Settings,
    next_item: u32,
    next_list: ListId,
    branches: Vec<Branch>,
    modules: BTreeMap<String, Slot>,
    funcs: Vec<FuncInfo>,
    st: State,
    cx: Option<Rc<Cx>>,
    via: Vec<Rc<Via>>,
    call_depth: usize,
    steps: usize,
    /// Inside a `try` body: whether an import certainly failed, or may fail.
    try_depth: usize,
    raised: bool,
    may_raise: bool,
    views: Vec<ViewRequest>,
    base_dir: Option<Val>,
    force_depth: usize,
}

impl<'l, 'o> Interp<'l, 'o> {
    pub(super) fn new(ld: &'l mut Loader<'o>, settings: &'l Settings) -> Self {
        Interp {
            ld,
            settings,
            next_item: 0,
            next_list: 0,
            branches: Vec::new(),
            modules: BTreeMap::new(),
            funcs: Vec::new(),
            st: State::default(),
            cx: None,
            via: Vec::new(),
            call_depth: 0,
            steps: 0,
            try_depth: 0,
            raised: false,
            may_raise: false,
            views: Vec::new(),
            base_dir: None,
            force_depth: 0,
        }
    }

    /// The views to look up, once the tree is built.
    pub(super) fn finish(self) -> Vec<ViewRequest> {
        self.views
    }

    // ----- the tree ------------------------------------------------------------------

    /// Evaluates the root URLconf and expands its includes into `tree`.
    pub(super) fn expand_root(&mut self, root: &Root, tree: &mut UrlTree) {
        let res = match self.module(&root.module) {
            Ok(r) => r,
            Err(Fail::NotFound) => {
                tree.incomplete.push(format!(
                    "root URLconf `{}` is not a module of the project",
                    root.module
                ));
                return;
            }
            Err(_) => {
                tree.incomplete
                    .push(format!("root URLconf `{}` could not be read", root.module));
                return;
            }
        };
        let mut stack = vec![root.module.clone()];
        let (top, complete) = match res.env.get("urlpatterns") {
            Some(Val::List(id)) => {
                let id = *id;
                let mut top = Vec::new();
                let complete =
                    self.expand_list(&res, id, None, &Cond::always(), &mut stack, tree, &mut top);
                (top, complete)
            }
            _ => {
                tree.incomplete.push(format!(
                    "`urlpatterns` of `{}` cannot be read statically",
                    root.module
                ));
                (Vec::new(), false)
            }
        };
        tree.top = top;
        tree.top_complete = complete;
        if !complete && tree.incomplete.is_empty() {
            tree.incomplete
                .push("some URL patterns cannot be read statically".to_owned());
        }
        tree.branches = std::mem::take(&mut self.branches);
        if self.steps > STEP_BUDGET {
            tree.incomplete
                .push("the URL modules are too large to evaluate".to_owned());
        }
    }

    /// Adds the nodes of list `id` (of `res`'s heap) under `parent`. Returns whether the
    /// level is completely known.
    #[allow(clippy::too_many_arguments)]
    fn expand_list(
        &mut self,
        res: &Rc<ModResult>,
        id: ListId,
        parent: Option<NodeId>,
        cond: &Cond,
        stack: &mut Vec<String>,
        tree: &mut UrlTree,
        out: &mut Vec<NodeId>,
    ) -> bool {
        let Some(list) = res.heap.get(&id) else {
            return false;
        };
        let items = list.items.clone();
        let mut complete = true;
        for item in items {
            if tree.nodes.len() >= MAX_NODES || stack.len() > MAX_DEPTH {
                if !tree.incomplete.iter().any(|r| r.contains("too large")) {
                    tree.incomplete
                        .push("the URL tree is too large to expand".to_owned());
                }
                return false;
            }
            let c = cond.and(&item.cond);
            if c.is_impossible() {
                continue;
            }
            let via = item.via.as_ref().map(|v| LoopItem {
                loop_span: v.loop_span,
                item: v.item.clone(),
            });
            let Val::Entry(e) = &item.val else {
                complete = false;
                let nid = tree.nodes.len();
                tree.nodes.push(UrlNode {
                    parent,
                    call: None,
                    route: None,
                    cond: c,
                    via,
                    kind: NodeKind::Opaque,
                });
                out.push(nid);
                continue;
            };
            let route = Route {
                kind: e.kind,
                text: e.route.clone(),
                span: e.route_span,
                translated: e.translated,
            };
            let nid = tree.nodes.len();
            match &e.target {
                Target::Unknown => {
                    complete = false;
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c,
                        via,
                        kind: NodeKind::Opaque,
                    });
                }
                Target::View(v) => {
                    let (certain, request) = match &v.kind {
                        ViewKind::Callable => (true, None),
                        ViewKind::Other => (false, None),
                        ViewKind::Symbol(m, n) => {
                            (false, Some(ViewKind::Symbol(m.clone(), n.clone())))
                        }
                        ViewKind::Qual(q) => (false, Some(ViewKind::Qual(q.clone()))),
                    };
                    if let Some(kind) = request {
                        self.views.push(ViewRequest { node: nid, kind });
                    }
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c,
                        via,
                        kind: NodeKind::Endpoint(super::Endpoint {
                            name: e.name.clone(),
                            view: v.span,
                            certain,
                            class_without_as_view: None,
                            has_kwargs: e.has_kwargs,
                        }),
                    });
                }
                Target::Admin(site) => {
                    let ns = match site {
                        Some(s) => Name::Known(s.clone(), None),
                        None => Name::Unknown,
                    };
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c,
                        via,
                        kind: NodeKind::Include(Include {
                            include_call: None,
                            target: IncludeTarget::External {
                                module: Some("django.contrib.admin".to_owned()),
                            },
                            namespace_arg: None,
                            app_name: Name::Known("admin".to_owned(), None),
                            namespace: ns,
                            children: Vec::new(),
                            complete: false,
                            external_names: Vec::new(),
                        }),
                    });
                }
                Target::Include(inc) => {
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c.clone(),
                        via,
                        kind: NodeKind::Opaque,
                    });
                    let include = self.expand_include(res, inc, nid, &c, stack, tree);
                    tree.nodes[nid].kind = NodeKind::Include(include);
                }
            }
            out.push(nid);
        }
        complete
    }

    fn expand_include(
        &mut self,
        res: &Rc<ModResult>,
        inc: &IncludeVal,
        nid: NodeId,
        cond: &Cond,
        stack: &mut Vec<String>,
        tree: &mut UrlTree,
    ) -> Include {
        let mut children = Vec::new();
        let mut complete = false;
        let mut external_names = Vec::new();
        let mut app_name = inc.tuple_app_name.clone().unwrap_or(Name::Absent);
        let target = match &inc.target {
            IncTarget::Inline(id) => {
                complete = self.expand_list(res, *id, Some(nid), cond, stack, tree, &mut children);
                IncludeTarget::Inline
            }
            IncTarget::Missing(m) => IncludeTarget::Missing {
                module: m.clone(),
                suggestion: super::suggest_module(self.ld, m),
            },
            IncTarget::External(m) => {
                match m
                    .as_deref()
                    .and_then(|m| KNOWN_EXTERNAL.iter().find(|(k, _)| *k == m))
                {
                    Some((_, names)) => {
                        external_names = names.to_vec();
                        complete = true;
                        if inc.tuple_app_name.is_none() {
                            app_name = Name::Absent;
                        }
                    }
                    None => {
                        let namespaced = m
                            .as_deref()
                            .and_then(|m| KNOWN_NAMESPACED.iter().find(|(k, _)| *k == m));
                        app_name = match namespaced {
                            Some((_, app)) => Name::Known((*app).to_owned(), None),
                            None if inc.tuple_app_name.is_none() => Name::Unknown,
                            None => app_name,
                        };
                    }
                }
                IncludeTarget::External { module: m.clone() }
            }
            IncTarget::Module(m) => {
                if stack.iter().any(|s| s == m) {
                    let start = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut chain: Vec<String> = stack[start..].to_vec();
                    chain.push(m.clone());
                    if !tree.cycles.iter().any(|c| c.site == inc.call) {
                        tree.cycles.push(IncludeCycle {
                            chain,
                            site: inc.call,
                        });
                    }
                    // The module's app_name is still read by Django before the cycle bites.
                    if let Ok(r) = self.module(m) {
                        app_name = module_app_name(&r, app_name);
                    } else {
                        app_name = Name::Unknown;
                    }
                    tree.incomplete.push(format!("include cycle through `{m}`"));
                    IncludeTarget::Cycle { module: m.clone() }
                } else {
                    match self.module(m) {
                        Ok(r) => {
                            app_name = module_app_name(&r, app_name);
                            match r.env.get("urlpatterns") {
                                Some(Val::List(id)) => {
                                    let id = *id;
                                    stack.push(m.clone());
                                    complete = self.expand_list(
                                        &r,
                                        id,
                                        Some(nid),
                                        cond,
                                        stack,
                                        tree,
                                        &mut children,
                                    );
                                    stack.pop();
                                }
                                _ => {
                                    tree.incomplete.push(format!(
                                        "`urlpatterns` of `{m}` cannot be read statically"
                                    ));
                                }
                            }
                            IncludeTarget::Module {
                                module: m.clone(),
                                file: r.file,
                            }
                        }
                        Err(_) => {
                            app_name = Name::Unknown;
                            let file = self
                                .ld
                                .modules
                                .resolve(&self.ld.files, m)
                                .map(|rel| self.ld.register(&rel));
                            match file {
                                Some(file) => IncludeTarget::Module {
                                    module: m.clone(),
                                    file,
                                },
                                None => IncludeTarget::External {
                                    module: Some(m.clone()),
                                },
                            }
                        }
                    }
                }
            }
        };
        if inc.locale {
            app_name = Name::Absent;
        }
        let namespace = match &inc.namespace {
            Some((Name::Known(ns, s), _)) if !ns.is_empty() => Name::Known(ns.clone(), *s),
            Some((Name::Unknown, _)) => Name::Unknown,
            _ => app_name.clone(),
        };
        if !complete && !matches!(target, IncludeTarget::External { .. }) {
            // Reasons for modules and cycles are recorded where they are found.
        }
        if !complete {
            if let IncludeTarget::External { module } = &target {
                tree.incomplete.push(match module {
                    Some(m) => format!("`{m}` is outside the project"),
                    None => "an include of a value that cannot be read statically".to_owned(),
                });
            }
        }
        Include {
            include_call: Some(inc.call),
            target,
            namespace_arg: inc.namespace.clone(),
            app_name,
            namespace,
            children,
            complete,
            external_names,
        }
    }

    // ----- modules -------------------------------------------------------------------

    fn module(&mut self, dotted: &str) -> Result<Rc<ModResult>, Fail> {
        match self.modules.get(dotted) {
            Some(Slot::Done(r)) => return Ok(r.clone()),
            Some(Slot::Busy) => return Err(Fail::Busy),
            Some(Slot::NotFound) => return Err(Fail::NotFound),
            Some(Slot::Unusable) => return Err(Fail::Unusable),
            None => {}
        }
        let Some(rel) = self.ld.modules.resolve(&self.ld.files, dotted) else {
            self.modules.insert(dotted.to_owned(), Slot::NotFound);
            return Err(Fail::NotFound);
        };
        self.modules.insert(dotted.to_owned(), Slot::Busy);
        let Some((file, parsed)) = self.ld.load_parsed(&rel, ROLE) else {
            self.modules.insert(dotted.to_owned(), Slot::Unusable);
            return Err(Fail::Unusable);
        };
        let parsed = Rc::new(parsed);
        let cx = Rc::new(Cx {
            module: dotted.to_owned(),
            file,
            is_package: rel.ends_with("/__init__.py"),
            parsed: parsed.clone(),
        });
        let saved_state = std::mem::take(&mut self.st);
        let saved_cx = self.cx.replace(cx);
        let saved_via = std::mem::take(&mut self.via);
        let saved_depth = std::mem::replace(&mut self.call_depth, 0);
        let saved_try = (
            std::mem::replace(&mut self.try_depth, 0),
            self.raised,
            self.may_raise,
        );
        self.st
            .globals
            .insert("__name__".into(), Val::Str(dotted.to_owned()));
        self.st
            .globals
            .insert("__file__".into(), Val::Path(FsPath::Known(rel)));
        let body = parsed.clone();
        self.exec_block(body.body());
        let st = std::mem::replace(&mut self.st, saved_state);
        self.cx = saved_cx;
        self.via = saved_via;
        self.call_depth = saved_depth;
        (self.try_depth, self.raised, self.may_raise) = saved_try;
        let res = Rc::new(ModResult {
            file,
            env: st.globals,
            heap: st.heap,
            spans: st.spans,
            star_unknown: st.star_unknown,
        });
        self.modules
            .insert(dotted.to_owned(), Slot::Done(res.clone()));
        Ok(res)
    }

    fn cx(&self) -> Option<Rc<Cx>> {
        self.cx.clone()
    }

    fn resolves(&self, dotted: &str) -> bool {
        self.ld.modules.resolve(&self.ld.files, dotted).is_some()
    }

    /// The value of `import dotted` (bound to the name it binds).
    fn module_value(&self, dotted: &str) -> Val {
        if self.resolves(dotted) {
            Val::Module(dotted.to_owned())
        } else {
            qual(dotted)
        }
    }

    fn is_missing_project_module(&self, dotted: &str) -> bool {
        super::is_missing_project_module(self.ld, dotted)
    }

    /// The value bound by `from base import name`.
    fn imported_name(&mut self, base: &str, name: &str) -> Val {
        let full = format!("{base}.{name}");
        if self.resolves(&full) {
            return Val::Module(full);
        }
        if self.resolves(base) {
            return Val::Symbol(base.to_owned(), name.to_owned());
        }
        qual(&full)
    }

    /// Follows a symbol to its value in its module.
    fn force(&mut self, v: Val) -> Val {
        if !matches!(v, Val::Symbol(..)) {
            return v;
        }
        // Modules re-exporting each other's names would otherwise be followed forever.
        if self.force_depth >= 16 {
            return Val::Unknown;
        }
        self.force_depth += 1;
        let out = self.force_symbol(v);
        self.force_depth -= 1;
        out
    }

    fn force_symbol(&mut self, v: Val) -> Val {
        match v {
            Val::Symbol(m, n) => {
                let (head, rest) = match n.split_once('.') {
                    Some((h, r)) => (h.to_owned(), Some(r.to_owned())),
                    None => (n.clone(), None),
                };
                let Ok(res) = self.module(&m) else {
                    return Val::Unknown;
                };
                let base = match res.env.get(&head) {
                    Some(Val::Symbol(m2, n2)) if *m2 == m && *n2 == head => {
                        // A class or function of that module: not a plain value.
                        return Val::Unknown;
                    }
                    Some(v) => {
                        let v = v.clone();
                        self.import_val(&res.heap, &v, &mut BTreeMap::new())
                    }
                    None => {
                        let full = format!("{m}.{head}");
                        if self.resolves(&full) {
                            Val::Module(full)
                        } else {
                            Val::Unknown
                        }
                    }
                };
                match rest {
                    None => self.force(base),
                    Some(r) => {
                        let mut v = base;
                        for part in r.split('.') {
                            v = self.attr(v, part);
                        }
                        self.force(v)
                    }
                }
            }
            other => other,
        }
    }

    /// Copies a value from another module's heap into the current one.
    fn import_val(&mut self, src: &Heap, v: &Val, memo: &mut BTreeMap<ListId, ListId>) -> Val {
        match v {
            Val::List(id) => Val::List(self.import_list(src, *id, memo)),
            Val::Entry(e) => Val::Entry(Rc::new(self.import_entry(src, e, memo))),
            Val::Include(i) => Val::Include(Rc::new(self.import_include(src, i, memo))),
            Val::Dict(d) => {
                let items = d
                    .iter()
                    .map(|(k, v)| (self.import_val(src, k, memo), self.import_val(src, v, memo)))
                    .collect();
                Val::Dict(Rc::new(items))
            }
            // Functions run only in their own module.
            Val::Func(_) => Val::Callable { certain: true },
            other => other.clone(),
        }
    }

    fn import_list(
        &mut self,
        src: &Heap,
        id: ListId,
        memo: &mut BTreeMap<ListId, ListId>,
    ) -> ListId {
        if let Some(n) = memo.get(&id) {
            return *n;
        }
        let new = self.alloc(Vec::new(), false);
        memo.insert(id, new);
        let Some(obj) = src.get(&id) else {
            return new;
        };
        let obj = obj.clone();
        let mut items = Vec::with_capacity(obj.items.len());
        for it in &obj.items {
            items.push(Item {
                id: it.id,
                val: self.import_val(src, &it.val, memo),
                cond: it.cond.clone(),
                via: it.via.clone(),
            });
        }
        if let Some(l) = self.st.heap.get_mut(&new).map(Rc::make_mut) {
            l.items = items;
            l.tuple = obj.tuple;
        }
        new
    }

    fn import_entry(
        &mut self,
        src: &Heap,
        e: &Entry,
        memo: &mut BTreeMap<ListId, ListId>,
    ) -> Entry {
        let target = match &e.target {
            Target::Include(i) => Target::Include(Rc::new(self.import_include(src, i, memo))),
            Target::View(v) => Target::View(v.clone()),
            Target::Admin(a) => Target::Admin(a.clone()),
            Target::Unknown => Target::Unknown,
        };
        Entry {
            call: e.call,
            kind: e.kind,
            route: e.route.clone(),
            route_span: e.route_span,
            translated: e.translated,
            target,
            name: e.name.clone(),
            has_kwargs: e.has_kwargs,
        }
    }

    fn import_include(
        &mut self,
        src: &Heap,
        i: &IncludeVal,
        memo: &mut BTreeMap<ListId, ListId>,
    ) -> IncludeVal {
        let target = match &i.target {
            IncTarget::Inline(id) => IncTarget::Inline(self.import_list(src, *id, memo)),
            IncTarget::Module(m) => IncTarget::Module(m.clone()),
            IncTarget::Missing(m) => IncTarget::Missing(m.clone()),
            IncTarget::External(m) => IncTarget::External(m.clone()),
        };
        IncludeVal {
            call: i.call,
            target,
            tuple_app_name: i.tuple_app_name.clone(),
            namespace: i.namespace.clone(),
            locale: i.locale,
        }
    }

    // ----- heap ----------------------------------------------------------------------

    fn alloc(&mut self, items: Vec<Item>, tuple: bool) -> ListId {
        let id = self.next_list;
        self.next_list += 1;
        self.st.heap.insert(
            id,
            Rc::new(ListObj {
                items,
                tuple,
                open: false,
            }),
        );
        id
    }

    fn item(&mut self, val: Val) -> Item {
        let id = self.next_item;
        self.next_item += 1;
        Item {
            id,
            val,
            cond: self.st.reach.clone(),
            via: self.via.last().cloned(),
        }
    }

    /// True when something registered under `c` exists whenever the current code runs.
    fn definite(&self, c: &Cond) -> bool {
        c.implied_by(&self.st.reach)
    }

    fn new_list(&mut self, vals: Vec<Val>, tuple: bool) -> Val {
        let items = vals.into_iter().map(|v| self.item(v)).collect();
        Val::List(self.alloc(items, tuple))
    }

    fn list_items(&self, id: ListId) -> Vec<Item> {
        self.st
            .heap
            .get(&id)
            .map(|l| l.items.clone())
            .unwrap_or_default()
    }

    fn push_items(&mut self, id: ListId, items: Vec<Item>) {
        let reach = self.st.reach.clone();
        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
            for mut it in items {
                it.cond = it.cond.and(&reach);
                l.items.push(it);
            }
        }
    }

    /// Marks a list as possibly holding entries that cannot be known.
    fn taint_list(&mut self, id: ListId) {
        let it = self.item(Val::Unknown);
        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
            l.items.push(it);
        }
    }

    /// Items of an iterable value, or `None` when it is not known at all.
    fn iter_items(&mut self, v: Val) -> Option<Vec<Item>> {
        match self.force(v) {
            Val::List(id) => Some(self.list_items(id)),
            Val::Dict(d) => {
                let keys: Vec<Val> = d.iter().map(|(k, _)| k.clone()).collect();
                Some(keys.into_iter().map(|k| self.item(k)).collect())
            }
            _ => None,
        }
    }

    fn new_branch(&mut self, span: Span) -> u32 {
        let id = u32::try_from(self.branches.len()).unwrap_or(u32::MAX);
        self.branches.push(Branch { span });
        id
    }

    // ----- statements ----------------------------------------------------------------

    fn exec_block(&mut self, body: &[Stmt]) -> Flow {
        for stmt in body {
            if self.st.reach.is_impossible() || self.raised {
                return Flow::Normal;
            }
            self.steps += 1;
            if self.steps > STEP_BUDGET {
                return Flow::Normal;
            }
            let f = self.exec(stmt);
            if f != Flow::Normal {
                return f;
            }
        }
        Flow::Normal
    }

    fn span(&self, range: TextRange) -> Span {
        let file = self.cx.as_ref().map_or(FileId(0), |c| c.file);
        Span::new(file, range)
    }

    fn exec(&mut self, stmt: &Stmt) -> Flow {
        match stmt {
            Stmt::Assign(a) => {
                let v = self.eval(&a.value);
                for t in &a.targets {
                    self.assign(t, v.clone(), a.range());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = self.eval(value);
                    self.assign(&a.target, v, a.range());
                }
            }
            Stmt::AugAssign(a) => self.aug_assign(a),
            Stmt::Expr(e) => {
                self.eval(&e.value);
            }
            Stmt::If(s) => return self.exec_if(s),
            Stmt::Try(t) => return self.exec_try(t),
            Stmt::For(f) => return self.exec_for(f),
            Stmt::While(w) => self.taint_run(&w.body, None),
            Stmt::With(w) => return self.exec_block(&w.body),
            Stmt::Match(m) => {
                for case in &m.cases {
                    self.taint_run(&case.body, None);
                }
            }
            Stmt::FunctionDef(f) => {
                let val = match (self.cx(), self.st.frames.is_empty()) {
                    (Some(cx), true) => {
                        // Only top-level functions can be run later.
                        let idx = self.funcs.len();
                        match self.current_parsed(&cx, f.range()) {
                            Some((parsed, index)) => {
                                self.funcs.push(FuncInfo {
                                    module: cx.module.clone(),
                                    parsed,
                                    index,
                                });
                                Val::Func(idx)
                            }
                            None => Val::Callable { certain: true },
                        }
                    }
                    _ => Val::Callable { certain: true },
                };
                let name = f.name.id.as_str().to_owned();
                self.bind(&name, val, f.range());
            }
            Stmt::ClassDef(c) => {
                let name = c.name.id.as_str().to_owned();
                let v = match self.cx() {
                    Some(cx) if self.st.frames.is_empty() => {
                        Val::Symbol(cx.module.clone(), name.clone())
                    }
                    _ => Val::Unknown,
                };
                self.bind(&name, v, c.range());
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let dotted = a.name.id.as_str();
                    self.note_import(dotted);
                    match &a.asname {
                        Some(as_) => {
                            let v = self.module_value(dotted);
                            self.bind(as_.id.as_str(), v, i.range());
                        }
                        None => {
                            let first = dotted.split('.').next().unwrap_or(dotted).to_owned();
                            let v = self.module_value(&first);
                            self.bind(&first, v, i.range());
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => self.import_from(i),
            Stmt::Return(r) => {
                let v = match &r.value {
                    Some(v) => self.eval(v),
                    None => Val::None,
                };
                let reach = self.st.reach.clone();
                if let Some(f) = self.st.frames.last_mut() {
                    f.returns.push((v, reach));
                }
                return Flow::Return;
            }
            Stmt::Continue(_) => return Flow::Continue,
            Stmt::Break(_) => return Flow::Break,
            Stmt::Global(g) => {
                if let Some(f) = self.st.frames.last_mut() {
                    for n in &g.names {
                        f.globals.insert(n.id.as_str().to_owned());
                    }
                }
            }
            Stmt::Delete(d) => {
                for t in &d.targets {
                    if let Expr::Name(n) = t {
                        self.bind(n.id.as_str(), Val::Unknown, d.range());
                    }
                }
            }
            Stmt::Raise(_) => {
                if self.try_depth > 0 {
                    self.may_raise = true;
                }
                let reach = self.st.reach.clone();
                if let Some(f) = self.st.frames.last_mut() {
                    f.returns.push((Val::Unknown, reach));
                }
                return Flow::Return;
            }
            _ => {}
        }
        Flow::Normal
    }

    /// The module being run and the index of the top-level statement at `range`.
    fn current_parsed(&self, cx: &Cx, range: TextRange) -> Option<(Rc<ParsedModule>, usize)> {
        let index = cx.parsed.body().iter().position(|s| s.range() == range)?;
        Some((cx.parsed.clone(), index))
    }

    fn note_import(&mut self, dotted: &str) {
        if self.try_depth == 0 {
            return;
        }
        if self.resolves(dotted) {
            return;
        }
        if self.is_missing_project_module(dotted) {
            self.raised = true;
        } else {
            self.may_raise = true;
        }
    }

    fn import_from(&mut self, i: &ast::StmtImportFrom) {
        let Some(cx) = self.cx() else { return };
        let Some(base) = Modules::absolute(
            &cx.module,
            cx.is_package,
            i.level,
            i.module.as_ref().map(|m| m.id.as_str()),
        ) else {
            return;
        };
        if i.names.iter().any(|a| a.name.id.as_str() == "*") {
            self.note_import(&base);
            match self.module(&base) {
                Ok(res) => {
                    let names: Vec<(String, Val)> = res
                        .env
                        .iter()
                        .filter(|(k, _)| !k.starts_with('_'))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect();
                    for (k, v) in names {
                        let v = self.import_val(&res.heap, &v, &mut BTreeMap::new());
                        self.bind(&k, v, i.range());
                    }
                    if res.star_unknown {
                        self.st.star_unknown = true;
                    }
                }
                Err(_) => self.st.star_unknown = true,
            }
            return;
        }
        for a in &i.names {
            let name = a.name.id.as_str();
            let full = format!("{base}.{name}");
            if !self.resolves(&full) {
                self.note_import(&base);
            }
            let v = self.imported_name(&base, name);
            let bound = a.asname.as_ref().map_or(name, |n| n.id.as_str()).to_owned();
            self.bind(&bound, v, i.range());
        }
    }

    fn bind(&mut self, name: &str, v: Val, range: TextRange) {
        if let Some(f) = self.st.frames.last_mut() {
            if !f.globals.contains(name) {
                f.locals.insert(name.to_owned(), v);
                return;
            }
        }
        let span = self.span(range);
        if self.st.frames.is_empty() {
            self.st.spans.insert(name.to_owned(), span);
        }
        self.st.globals.insert(name.to_owned(), v);
    }

    fn lookup(&self, name: &str) -> Val {
        if let Some(f) = self.st.frames.last() {
            if !f.globals.contains(name) {
                if let Some(v) = f.locals.get(name) {
                    return v.clone();
                }
            }
        }
        if let Some(v) = self.st.globals.get(name) {
            return v.clone();
        }
        match name {
            "sorted" | "list" | "tuple" | "set" | "frozenset" | "reversed" | "str"
            | "enumerate" | "len" | "dict" => Val::Qual(format!("builtins.{name}")),
            _ => Val::Unknown,
        }
    }

    fn assign(&mut self, target: &Expr, v: Val, range: TextRange) {
        match target {
            Expr::Name(n) => self.bind(n.id.as_str(), v, range),
            Expr::Tuple(_) | Expr::List(_) => {
                let elts = eval::sequence_elements(target).unwrap_or(&[]);
                let values = self.unpack(v, elts.len());
                for (i, e) in elts.iter().enumerate() {
                    let val = values
                        .as_ref()
                        .and_then(|vs| vs.get(i).cloned())
                        .unwrap_or(Val::Unknown);
                    self.assign(e, val, range);
                }
            }
            Expr::Subscript(s) => {
                let base = self.eval(&s.value);
                if let Val::List(id) = base {
                    self.taint_list(id);
                }
            }
            _ => {}
        }
    }

    /// The `n` values of a sequence being unpacked, when known.
    fn unpack(&mut self, v: Val, n: usize) -> Option<Vec<Val>> {
        let v = self.force(v);
        let Val::List(id) = v else { return None };
        let items = self.list_items(id);
        if items.len() != n || items.iter().any(|i| !self.definite(&i.cond)) {
            return None;
        }
        Some(items.into_iter().map(|i| i.val).collect())
    }

    fn aug_assign(&mut self, a: &ast::StmtAugAssign) {
        let Expr::Name(n) = a.target.as_ref() else {
            if let Expr::Attribute(_) | Expr::Subscript(_) = a.target.as_ref() {
                self.eval(&a.value);
            }
            return;
        };
        let name = n.id.as_str();
        let cur = self.lookup(name);
        let rhs = self.eval(&a.value);
        if !matches!(a.op, ast::Operator::Add) {
            self.bind(name, Val::Unknown, a.range());
            return;
        }
        match cur {
            // `list += iterable` extends the list in place.
            Val::List(id) => self.extend(id, rhs),
            other => {
                let v = self.binop_add(other, rhs);
                self.bind(name, v, a.range());
            }
        }
    }

    fn extend(&mut self, id: ListId, v: Val) {
        match self.force(v) {
            Val::List(src) => {
                let items = self.list_items(src);
                self.push_items(id, items);
            }
            Val::Dict(d) => {
                let keys: Vec<Val> = d.iter().map(|(k, _)| k.clone()).collect();
                for k in keys {
                    let it = self.item(k);
                    self.push_items(id, vec![it]);
                }
            }
            _ => self.taint_list(id),
        }
    }

    fn truth(&mut self, v: &Val) -> Option<bool> {
        match v {
            Val::Bool(b) => Some(*b),
            Val::None => Some(false),
            Val::Int(i) => Some(*i != 0),
            Val::Str(s) | Val::Translated(s) => Some(!s.is_empty()),
            Val::List(id) => {
                let items = self.list_items(*id);
                if items
                    .iter()
                    .any(|i| self.definite(&i.cond) && !i.val.is_unknown())
                {
                    Some(true)
                } else if items.is_empty() {
                    Some(false)
                } else {
                    None
                }
            }
            Val::Dict(d) => Some(!d.is_empty()),
            Val::Entry(_)
            | Val::Include(_)
            | Val::Module(_)
            | Val::Func(_)
            | Val::Path(_)
            | Val::AppConfig(_)
            | Val::Callable { certain: true } => Some(true),
            _ => None,
        }
    }

    fn exec_if(&mut self, s: &ast::StmtIf) -> Flow {
        let mut clauses: Vec<(Option<&Expr>, &[Stmt])> = vec![(Some(&s.test), &s.body)];
        for c in &s.elif_else_clauses {
            clauses.push((c.test.as_ref(), &c.body));
        }
        let mut arms: Vec<&[Stmt]> = Vec::new();
        let mut exhaustive = false;
        for (test, body) in clauses {
            match test {
                None => {
                    arms.push(body);
                    exhaustive = true;
                    break;
                }
                Some(t) => {
                    let v = self.eval(t);
                    match self.truth(&v) {
                        Some(false) => continue,
                        Some(true) => {
                            arms.push(body);
                            exhaustive = true;
                            break;
                        }
                        None => arms.push(body),
                    }
                }
            }
        }
        if !exhaustive {
            arms.push(&[]);
        }
        if arms.len() == 1 {
            return self.exec_block(arms[0]);
        }
        let b = self.new_branch(self.span(s.test.range()));
        self.run_arms(b, &arms)
    }

    /// Runs each arm from the same state under its own condition, then merges.
    fn run_arms(&mut self, b: u32, arms: &[&[Stmt]]) -> Flow {
        let n = arms.len().min(63);
        let base = self.st.clone();
        let mut states = Vec::with_capacity(n);
        let mut flows = Vec::with_capacity(n);
        for (i, arm) in arms.iter().take(n).enumerate() {
            self.st = base.clone();
            self.st.reach = base.reach.and(&Cond::arm(b, 1 << i));
            let f = self.exec_block(arm);
            flows.push(f);
            states.push(std::mem::take(&mut self.st));
        }
        self.join(&base, states, &flows, b)
    }

    /// Merges the arms' states and works out how execution continues after them.
    fn join(&mut self, base: &State, states: Vec<State>, flows: &[Flow], b: u32) -> Flow {
        let n = states.len().min(63);
        self.st = self.merge(base, states, b);
        let mask = |want: Flow| -> u64 {
            flows
                .iter()
                .enumerate()
                .filter(|(_, f)| **f == want)
                .fold(0, |m, (i, _)| m | (1 << i))
        };
        let normal = mask(Flow::Normal);
        let broke = mask(Flow::Break);
        let all: u64 = (1u64 << n) - 1;
        if broke != 0 {
            self.st.breaks = self.st.breaks.and(&Cond::arm(b, all & !broke));
        }
        if normal == all {
            self.st.reach = base.reach.clone();
            return Flow::Normal;
        }
        self.st.reach = base.reach.and(&Cond::arm(b, normal));
        if normal == 0 {
            // Every arm left: the same way, or a mix (treated as continuing the loop;
            // the break conditions above still restrict later iterations).
            let first = flows.first().copied().unwrap_or(Flow::Normal);
            if flows.iter().all(|f| *f == first) {
                return first;
            }
            if flows.contains(&Flow::Return) && !flows.contains(&Flow::Continue) {
                return Flow::Return;
            }
            return Flow::Continue;
        }
        Flow::Normal
    }

    /// Merges the states of the arms of branch `b` (each started from `base`).
    fn merge(&mut self, base: &State, arms: Vec<State>, b: u32) -> State {
        let n = arms.len();
        let mut out = State {
            reach: base.reach.clone(),
            breaks: arms
                .iter()
                .fold(base.breaks.clone(), |c, s| c.and(&s.breaks)),
            star_unknown: arms.iter().any(|s| s.star_unknown),
            ..State::default()
        };
        // Heap: lists changed in some arms keep every item, tagged with the arms
        // holding it.
        let ids: BTreeSet<ListId> = arms.iter().flat_map(|s| s.heap.keys().copied()).collect();
        for id in ids {
            let versions: Vec<(usize, &Rc<ListObj>)> = arms
                .iter()
                .enumerate()
                .filter_map(|(i, s)| s.heap.get(&id).map(|l| (i, l)))
                .collect();
            if let Some((_, first)) = versions.first() {
                if versions.len() == n && versions.iter().all(|(_, l)| Rc::ptr_eq(l, first)) {
                    out.heap.insert(id, Rc::clone(first));
                    continue;
                }
            }
            let lists: Vec<(usize, &[Item])> = versions
                .iter()
                .map(|(i, l)| (*i, l.items.as_slice()))
                .collect();
            let tuple = versions.first().is_some_and(|(_, l)| l.tuple);
            let open = versions.iter().any(|(_, l)| l.open);
            let items = union_items(&lists, b);
            out.heap.insert(id, Rc::new(ListObj { items, tuple, open }));
        }
        // Names.
        out.globals = self.merge_env(
            arms.iter().map(|s| &s.globals).collect(),
            b,
            n,
            &mut out.heap,
        );
        let frames = base.frames.len();
        for fi in 0..frames {
            let envs: Vec<&Env> = arms
                .iter()
                .filter_map(|s| s.frames.get(fi).map(|f| &f.locals))
                .collect();
            let locals = self.merge_env(envs, b, n, &mut out.heap);
            let mut globals = BTreeSet::new();
            let mut returns: Vec<(Val, Cond)> = Vec::new();
            for s in &arms {
                if let Some(f) = s.frames.get(fi) {
                    globals.extend(f.globals.iter().cloned());
                    for r in &f.returns {
                        if !returns.contains(r) {
                            returns.push(r.clone());
                        }
                    }
                }
            }
            out.frames.push(Frame {
                locals,
                globals,
                returns,
            });
        }
        for s in &arms {
            for (k, v) in &s.spans {
                out.spans.entry(k.clone()).or_insert(*v);
            }
        }
        out
    }

    fn merge_env(&mut self, envs: Vec<&Env>, b: u32, n: usize, heap: &mut Heap) -> Env {
        let mut out = Env::new();
        let names: BTreeSet<&String> = envs.iter().flat_map(|e| e.keys()).collect();
        for name in names {
            let vals: Vec<Option<&Val>> = envs.iter().map(|e| e.get(name)).collect();
            let first = vals[0];
            if vals.len() == n && vals.iter().all(|v| *v == first) {
                if let Some(v) = first {
                    out.insert(name.clone(), v.clone());
                }
                continue;
            }
            // Different lists (or a list in some arms only): one list of all their
            // items, each tagged with the arms holding it.
            let all_lists = vals
                .iter()
                .all(|v| v.is_none_or(|v| matches!(v, Val::List(_))));
            if all_lists {
                let lists: Vec<(usize, Vec<Item>)> = vals
                    .iter()
                    .enumerate()
                    .filter_map(|(i, v)| match v {
                        Some(Val::List(id)) => {
                            Some((i, heap.get(id).map(|l| l.items.clone()).unwrap_or_default()))
                        }
                        _ => None,
                    })
                    .collect();
                let refs: Vec<(usize, &[Item])> =
                    lists.iter().map(|(i, l)| (*i, l.as_slice())).collect();
                let mut items = union_items(&refs, b);
                // Arms without the name contribute nothing, so what the others hold is
                // conditional on them.
                let present: u64 = lists.iter().fold(0, |m, (i, _)| m | (1 << i));
                let all: u64 = (1u64 << n.min(63)) - 1;
                if present != all {
                    for it in &mut items {
                        it.cond = it.cond.and(&Cond::arm(b, present));
                    }
                }
                let id = self.next_list;
                self.next_list += 1;
                heap.insert(
                    id,
                    Rc::new(ListObj {
                        items,
                        tuple: false,
                        open: false,
                    }),
                );
                out.insert(name.clone(), Val::List(id));
            } else {
                out.insert(name.clone(), Val::Unknown);
            }
        }
        out
    }

    fn exec_try(&mut self, t: &ast::StmtTry) -> Flow {
        let saved = (self.raised, self.may_raise);
        self.raised = false;
        self.may_raise = false;
        self.try_depth += 1;
        let base = self.st.clone();
        let body_flow = self.exec_block(&t.body);
        self.try_depth -= 1;
        let (raised, may_raise) = (self.raised, self.may_raise);
        self.raised = saved.0;
        self.may_raise = saved.1 || (may_raise && self.try_depth > 0);
        let catches_import = |h: &ast::ExceptHandler| {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            match &h.type_ {
                None => true,
                Some(ty) => {
                    let names: Vec<String> = match ty.as_ref() {
                        Expr::Tuple(tu) => tu.elts.iter().filter_map(eval::dotted_name).collect(),
                        other => eval::dotted_name(other).into_iter().collect(),
                    };
                    names.iter().any(|n| {
                        let last = n.rsplit('.').next().unwrap_or(n);
                        matches!(
                            last,
                            "ImportError" | "ModuleNotFoundError" | "Exception" | "BaseException"
                        )
                    })
                }
            }
        };
        let handler = t.handlers.iter().find(|h| catches_import(h));
        let flow = if raised && handler.is_some() {
            // The body certainly failed on an import: what it did before stays, and the
            // handler runs.
            match handler {
                Some(ast::ExceptHandler::ExceptHandler(h)) => self.exec_block(&h.body),
                None => Flow::Normal,
            }
        } else if raised || may_raise {
            // The body may or may not fail: the body (then `else`) and each handler are
            // arms of one branch. The body already ran; its state is the first arm's.
            let b = self.new_branch(self.span(t.range()));
            let body_state = std::mem::replace(&mut self.st, base.clone());
            let mut states = Vec::new();
            let mut flows = Vec::new();
            self.st = body_state;
            self.st.reach = base.reach.and(&Cond::arm(b, 1));
            let f = if body_flow == Flow::Normal {
                self.exec_block(&t.orelse)
            } else {
                body_flow
            };
            flows.push(f);
            states.push(std::mem::take(&mut self.st));
            for (i, h) in t.handlers.iter().take(62).enumerate() {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                self.st = base.clone();
                self.st.reach = base.reach.and(&Cond::arm(b, 1 << (i + 1)));
                flows.push(self.exec_block(&h.body));
                states.push(std::mem::take(&mut self.st));
            }
            self.join(&base, states, &flows, b)
        } else {
            if body_flow != Flow::Normal {
                return body_flow;
            }
            self.exec_block(&t.orelse)
        };
        let fin = self.exec_block(&t.finalbody);
        if fin != Flow::Normal {
            return fin;
        }
        flow
    }

    fn exec_for(&mut self, f: &ast::StmtFor) -> Flow {
        let iterable = self.eval(&f.iter);
        let loop_span = self.span(f.iter.range());
        let Some(items) = self.iter_items(iterable) else {
            self.taint_run(&f.body, Some((&f.target, Val::Unknown)));
            return Flow::Normal;
        };
        let outer = self.st.reach.clone();
        let mut loop_reach = outer.clone();
        let mut broke = false;
        let body: &[Stmt] = &f.body;
        let mut uncertain: Vec<Val> = Vec::new();
        for (n, it) in items.into_iter().enumerate() {
            if n >= MAX_ITERATIONS {
                uncertain.push(Val::Unknown);
                break;
            }
            if is_uncertain_item(&it.val) {
                uncertain.push(it.val);
                continue;
            }
            let reach = loop_reach.and(&it.cond);
            if reach.is_impossible() {
                continue;
            }
            self.st.reach = reach;
            self.st.breaks = Cond::always();
            self.assign(&f.target, it.val.clone(), f.range());
            self.via.push(Rc::new(Via {
                loop_span,
                item: describe(&it.val),
            }));
            let flow = self.exec_block(body);
            self.via.pop();
            loop_reach = loop_reach.and(&self.st.breaks);
            self.st.breaks = Cond::always();
            match flow {
                Flow::Break => {
                    broke = true;
                    break;
                }
                Flow::Return => {
                    self.st.reach = outer;
                    return Flow::Return;
                }
                _ => {}
            }
        }
        self.st.reach = outer;
        for v in uncertain {
            self.taint_run(body, Some((&f.target, v)));
        }
        if !broke {
            return self.exec_block(&f.orelse);
        }
        Flow::Normal
    }

    /// Runs `body` on a copy of the state to see what it would change, then marks what
    /// changed as unknown: for loops over things that cannot be listed, `while` loops.
    fn taint_run(&mut self, body: &[Stmt], bind: Option<(&Expr, Val)>) {
        let before = self.st.clone();
        if let Some((target, v)) = bind {
            self.assign(target, v, target.range());
        }
        let saved_call_depth = self.call_depth;
        self.exec_block(body);
        self.call_depth = saved_call_depth;
        let after = std::mem::replace(&mut self.st, before);
        let grown: Vec<ListId> = after
            .heap
            .iter()
            .filter_map(|(id, l)| {
                let orig = self.st.heap.get(id)?;
                if Rc::ptr_eq(l, orig) {
                    return None;
                }
                l.items
                    .iter()
                    .any(|it| !orig.items.iter().any(|o| o.id == it.id))
                    .then_some(*id)
            })
            .collect();
        for id in grown {
            self.taint_list(id);
        }
        let changed: Vec<String> = after
            .globals
            .iter()
            .filter(|(k, v)| self.st.globals.get(*k) != Some(v))
            .map(|(k, _)| k.clone())
            .collect();
        for k in changed {
            self.st.globals.insert(k, Val::Unknown);
        }
        if let (Some(fa), Some(fb)) = (after.frames.last(), self.st.frames.last_mut()) {
            for (k, v) in &fa.locals {
                if fb.locals.get(k) != Some(v) {
                    fb.locals.insert(k.clone(), Val::Unknown);
                }
            }
            for r in &fa.returns {
                fb.returns.push((Val::Unknown, r.1.clone()));
            }
        }
        self.st.star_unknown |= after.star_unknown;
    }

    // ----- expressions ---------------------------------------------------------------

    fn eval(&mut self, e: &Expr) -> Val {
        self.steps += 1;
        if self.steps > STEP_BUDGET {
            return Val::Unknown;
        }
        match e {
            Expr::StringLiteral(s) => Val::Str(s.value.to_str().to_owned()),
            Expr::NumberLiteral(_) => eval::int_value(e).map_or(Val::Unknown, Val::Int),
            Expr::BooleanLiteral(b) => Val::Bool(b.value),
            Expr::NoneLiteral(_) => Val::None,
            Expr::FString(f) => self.fstring(f),
            Expr::Name(n) => self.lookup(n.id.as_str()),
            Expr::Attribute(a) => {
                let base = self.eval(&a.value);
                self.attr(base, a.attr.id.as_str())
            }
            Expr::List(_) | Expr::Tuple(_) | Expr::Set(_) => {
                let elts: &[Expr] = match e {
                    Expr::List(l) => &l.elts,
                    Expr::Tuple(t) => &t.elts,
                    Expr::Set(s) => &s.elts,
                    _ => &[],
                };
                let mut items = Vec::new();
                for el in elts {
                    if let Expr::Starred(s) = el {
                        let v = self.eval(&s.value);
                        match self.force(v) {
                            Val::List(id) => {
                                let reach = self.st.reach.clone();
                                for mut it in self.list_items(id) {
                                    it.cond = it.cond.and(&reach);
                                    items.push(it);
                                }
                            }
                            _ => items.push(self.item(Val::Unknown)),
                        }
                        continue;
                    }
                    let v = self.eval(el);
                    items.push(self.item(v));
                }
                Val::List(self.alloc(items, matches!(e, Expr::Tuple(_))))
            }
            Expr::Dict(d) => {
                let mut pairs = Vec::new();
                for it in &d.items {
                    match &it.key {
                        Some(k) => {
                            let k = self.eval(k);
                            let v = self.eval(&it.value);
                            pairs.push((k, v));
                        }
                        None => pairs.push((Val::Unknown, Val::Unknown)),
                    }
                }
                Val::Dict(Rc::new(pairs))
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::BinOp(b) => {
                let l = self.eval(&b.left);
                let r = self.eval(&b.right);
                match b.op {
                    ast::Operator::Add => self.binop_add(l, r),
                    ast::Operator::Div => self.path_join(l, &[r]),
                    ast::Operator::Mod => match (l.as_str(), self.force(r)) {
                        (Some(fmt), Val::Str(arg)) => percent_format(fmt, &[arg]),
                        (Some(fmt), Val::List(id)) => {
                            let items = self.list_items(id);
                            let args: Option<Vec<String>> = items
                                .iter()
                                .map(|i| i.val.as_str().map(str::to_owned))
                                .collect();
                            args.map_or(Val::Unknown, |a| percent_format(fmt, &a))
                        }
                        _ => Val::Unknown,
                    },
                    _ => Val::Unknown,
                }
            }
            Expr::Compare(c) => self.compare(c),
            Expr::BoolOp(b) => {
                let is_and = matches!(b.op, ast::BoolOp::And);
                let mut result = Some(is_and);
                for v in &b.values {
                    let v = self.eval(v);
                    match self.truth(&v) {
                        Some(t) if t != is_and => return Val::Bool(t),
                        Some(_) => {}
                        None => result = None,
                    }
                }
                result.map_or(Val::Unknown, Val::Bool)
            }
            Expr::UnaryOp(u) => {
                let v = self.eval(&u.operand);
                match u.op {
                    ast::UnaryOp::Not => self.truth(&v).map_or(Val::Unknown, |t| Val::Bool(!t)),
                    ast::UnaryOp::USub => match v {
                        Val::Int(i) => Val::Int(-i),
                        _ => Val::Unknown,
                    },
                    _ => Val::Unknown,
                }
            }
            Expr::If(i) => {
                let t = self.eval(&i.test);
                match self.truth(&t) {
                    Some(true) => self.eval(&i.body),
                    Some(false) => self.eval(&i.orelse),
                    None => {
                        let a = self.eval(&i.body);
                        let b = self.eval(&i.orelse);
                        if a == b {
                            a
                        } else {
                            Val::Unknown
                        }
                    }
                }
            }
            Expr::ListComp(c) => self.comprehension(&c.elt, &c.generators),
            Expr::SetComp(c) => self.comprehension(&c.elt, &c.generators),
            Expr::Generator(g) => self.comprehension(&g.elt, &g.generators),
            Expr::Subscript(s) => self.subscript(s),
            Expr::Lambda(_) => Val::Callable { certain: true },
            Expr::Named(n) => {
                let v = self.eval(&n.value);
                self.assign(&n.target, v.clone(), n.range());
                v
            }
            _ => Val::Unknown,
        }
    }

    fn fstring(&mut self, f: &ast::ExprFString) -> Val {
        let mut out = String::new();
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => out.push_str(&l.value),
                ast::FStringPart::FString(fs) => {
                    for el in &fs.elements {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                if i.format_spec.is_some()
                                    || i.debug_text.is_some()
                                    || !matches!(
                                        i.conversion,
                                        ast::ConversionFlag::None | ast::ConversionFlag::Str
                                    )
                                {
                                    return Val::Unknown;
                                }
                                let v = self.eval(&i.expression);
                                match self.text_of(&v) {
                                    Some(s) => out.push_str(&s),
                                    None => return Val::Unknown,
                                }
                            }
                        }
                    }
                }
            }
        }
        Val::Str(out)
    }

    /// `str(v)`, when known.
    fn text_of(&mut self, v: &Val) -> Option<String> {
        match self.force(v.clone()) {
            Val::Str(s) | Val::Translated(s) => Some(s),
            Val::Int(i) => Some(i.to_string()),
            Val::Bool(b) => Some(if b { "True" } else { "False" }.to_owned()),
            Val::AppConfig(a) => Some(a.name.clone()),
            _ => None,
        }
    }

    fn binop_add(&mut self, l: Val, r: Val) -> Val {
        let l = self.force(l);
        let r = self.force(r);
        match (&l, &r) {
            (Val::Str(a), Val::Str(b)) => Val::Str(format!("{a}{b}")),
            (Val::Int(a), Val::Int(b)) => a.checked_add(*b).map_or(Val::Unknown, Val::Int),
            (Val::List(a), Val::List(b)) => {
                let mut items = self.list_items(*a);
                items.extend(self.list_items(*b));
                let tuple = self.st.heap.get(a).is_some_and(|l| l.tuple);
                Val::List(self.alloc(items, tuple))
            }
            (Val::List(a), _) => {
                let mut items = self.list_items(*a);
                items.push(self.item(Val::Unknown));
                Val::List(self.alloc(items, false))
            }
            (_, Val::List(b)) => {
                let mut items = vec![self.item(Val::Unknown)];
                items.extend(self.list_items(*b));
                Val::List(self.alloc(items, false))
            }
            _ => Val::Unknown,
        }
    }

    fn compare(&mut self, c: &ast::ExprCompare) -> Val {
        let mut left = self.eval(&c.left);
        let mut result = Some(true);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let r = self.eval(right);
            let l = self.force(left.clone());
            let rf = self.force(r.clone());
            let v = match op {
                ast::CmpOp::Eq => self.equals(&l, &rf),
                ast::CmpOp::NotEq => self.equals(&l, &rf).map(|b| !b),
                ast::CmpOp::In => self.contains(&rf, &l),
                ast::CmpOp::NotIn => self.contains(&rf, &l).map(|b| !b),
                ast::CmpOp::Is => match (&l, &rf) {
                    (Val::None, Val::None) => Some(true),
                    (Val::None, x) | (x, Val::None) if is_known_not_none(x) => Some(false),
                    _ => None,
                },
                ast::CmpOp::IsNot => match (&l, &rf) {
                    (Val::None, Val::None) => Some(false),
                    (Val::None, x) | (x, Val::None) if is_known_not_none(x) => Some(true),
                    _ => None,
                },
                _ => None,
            };
            match v {
                Some(false) => return Val::Bool(false),
                Some(true) => {}
                None => result = None,
            }
            left = r;
        }
        result.map_or(Val::Unknown, Val::Bool)
    }

    fn equals(&self, a: &Val, b: &Val) -> Option<bool> {
        match (a, b) {
            (Val::Str(x), Val::Str(y)) => Some(x == y),
            (Val::Int(x), Val::Int(y)) => Some(x == y),
            (Val::Bool(x), Val::Bool(y)) => Some(x == y),
            (Val::None, Val::None) => Some(true),
            (Val::Str(_), Val::Int(_) | Val::None | Val::Bool(_))
            | (Val::Int(_) | Val::None | Val::Bool(_), Val::Str(_)) => Some(false),
            _ => None,
        }
    }

    fn contains(&mut self, container: &Val, needle: &Val) -> Option<bool> {
        match container {
            Val::Str(hay) => needle.as_str().map(|n| hay.contains(n)),
            Val::List(id) => {
                let items = self.list_items(*id);
                let mut unknown = self.st.heap.get(id).is_some_and(|l| l.open);
                for it in &items {
                    let v = self.force(it.val.clone());
                    match self.equals(&v, needle) {
                        Some(true) if self.definite(&it.cond) => return Some(true),
                        Some(false) => {}
                        _ => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Val::Dict(d) => {
                let mut unknown = false;
                for (k, _) in d.iter() {
                    match self.equals(k, needle) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            _ => None,
        }
    }

    fn subscript(&mut self, s: &ast::ExprSubscript) -> Val {
        let base = self.eval(&s.value);
        let base = self.force(base);
        if let Expr::Slice(_) = s.slice.as_ref() {
            return Val::Unknown;
        }
        let key = self.eval(&s.slice);
        match (&base, &key) {
            (Val::List(id), Val::Int(i)) => {
                let items = self.list_items(*id);
                if items
                    .iter()
                    .any(|it| !self.definite(&it.cond) || it.val.is_unknown())
                {
                    return Val::Unknown;
                }
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let idx = if *i < 0 { len + i } else { *i };
                usize::try_from(idx)
                    .ok()
                    .and_then(|x| items.get(x))
                    .map_or(Val::Unknown, |it| it.val.clone())
            }
            (Val::Dict(d), k) => {
                for (dk, dv) in d.iter() {
                    match self.equals(dk, k) {
                        Some(true) => return dv.clone(),
                        Some(false) => {}
                        None => return Val::Unknown,
                    }
                }
                Val::Unknown
            }
            _ => Val::Unknown,
        }
    }

    fn comprehension(&mut self, elt: &Expr, gens: &[ast::Comprehension]) -> Val {
        let mut out = Vec::new();
        let saved = self.st.frames.len();
        // Comprehension variables live in their own scope.
        self.st.frames.push(Frame::default());
        if let Some(f) = self.st.frames.last_mut() {
            // Names not bound in the comprehension are looked up outside it.
            f.globals = BTreeSet::new();
        }
        let outer_locals = if saved > 0 {
            self.st.frames.get(saved - 1).map(|f| f.locals.clone())
        } else {
            None
        };
        if let (Some(l), Some(f)) = (outer_locals, self.st.frames.last_mut()) {
            f.locals = l;
        }
        self.comp_level(elt, gens, &mut out);
        self.st.frames.truncate(saved);
        Val::List(self.alloc(out, false))
    }

    fn comp_level(&mut self, elt: &Expr, gens: &[ast::Comprehension], out: &mut Vec<Item>) {
        let Some((g, rest)) = gens.split_first() else {
            let v = self.eval(elt);
            out.push(self.item(v));
            return;
        };
        let iterable = self.eval(&g.iter);
        let loop_span = self.span(g.iter.range());
        let Some(items) = self.iter_items(iterable) else {
            out.push(self.item(Val::Unknown));
            return;
        };
        let outer = self.st.reach.clone();
        for (n, it) in items.into_iter().enumerate() {
            if n >= MAX_ITERATIONS || is_uncertain_item(&it.val) {
                out.push(self.item(Val::Unknown));
                if n >= MAX_ITERATIONS {
                    break;
                }
                continue;
            }
            self.st.reach = outer.and(&it.cond);
            self.assign(&g.target, it.val.clone(), g.range());
            let mut keep = true;
            for cond in &g.ifs {
                let v = self.eval(cond);
                match self.truth(&v) {
                    Some(true) => {}
                    Some(false) => {
                        keep = false;
                        break;
                    }
                    None => {
                        let b = self.new_branch(self.span(cond.range()));
                        self.st.reach = self.st.reach.and(&Cond::arm(b, 1));
                    }
                }
            }
            if keep {
                self.via.push(Rc::new(Via {
                    loop_span,
                    item: describe(&it.val),
                }));
                self.comp_level(elt, rest, out);
                self.via.pop();
            }
        }
        self.st.reach = outer;
    }

    fn attr(&mut self, base: Val, attr: &str) -> Val {
        match base {
            Val::Module(m) => {
                let full = format!("{m}.{attr}");
                if self.resolves(&full) {
                    Val::Module(full)
                } else {
                    Val::Symbol(m, attr.to_owned())
                }
            }
            Val::Symbol(m, n) => Val::Symbol(m, format!("{n}.{attr}")),
            Val::Qual(q) => qual(&format!("{q}.{attr}")),
            Val::Path(p) => match attr {
                "parent" => self.path_parent(&p),
                "name" => match &p {
                    FsPath::Known(s) => Val::Str(s.rsplit('/').next().unwrap_or(s).to_owned()),
                    FsPath::OtherChild(s) => Val::Str(s.clone()),
                    FsPath::Other => Val::Unknown,
                },
                "stem" => match &p {
                    FsPath::Known(s) => {
                        let name = s.rsplit('/').next().unwrap_or(s);
                        Val::Str(name.split_once('.').map_or(name, |(a, _)| a).to_owned())
                    }
                    _ => Val::Unknown,
                },
                // `os.DirEntry.path`
                "path" => Val::Path(p),
                _ => Val::Unknown,
            },
            Val::Settings => self.setting(attr),
            Val::AppConfig(a) => match attr {
                "name" => Val::Str(a.name.clone()),
                "label" => a.label.clone().map_or(Val::Unknown, Val::Str),
                "path" => a
                    .dir
                    .clone()
                    .map_or(Val::Unknown, |d| Val::Path(FsPath::Known(d))),
                "module" => self.module_value(&a.name),
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }

    fn setting(&mut self, name: &str) -> Val {
        match name {
            "INSTALLED_APPS" => match self.settings.str_list("INSTALLED_APPS") {
                Some((apps, complete)) => {
                    let mut vals: Vec<Val> = apps.into_iter().map(Val::Str).collect();
                    if !complete {
                        vals.push(Val::Unknown);
                    }
                    let list = self.new_list(vals, false);
                    if let Val::List(id) = &list {
                        if let Some(l) = self.st.heap.get_mut(id).map(Rc::make_mut) {
                            l.open = true;
                        }
                    }
                    list
                }
                None => Val::Unknown,
            },
            "BASE_DIR" => self.base_dir(),
            // Other settings often differ per environment: never decided here.
            _ => Val::Unknown,
        }
    }

    /// `settings.BASE_DIR`, evaluated in the settings module that assigns it.
    fn base_dir(&mut self) -> Val {
        if let Some(v) = &self.base_dir {
            return v.clone();
        }
        self.base_dir = Some(Val::Unknown);
        let Some(span) = self.settings.get("BASE_DIR").and_then(|s| s.span) else {
            return Val::Unknown;
        };
        let path = self.ld.db.file(span.file).path.clone();
        let Some(module) = self.ld.modules.module_name(&path) else {
            return Val::Unknown;
        };
        let v = match self.module(&module) {
            Ok(res) => match res.env.get("BASE_DIR") {
                Some(v @ Val::Path(_)) => v.clone(),
                _ => Val::Unknown,
            },
            Err(_) => Val::Unknown,
        };
        self.base_dir = Some(v.clone());
        v
    }

    fn eval_args(&mut self, call: &ast::ExprCall) -> (Vec<Val>, BTreeMap<String, Val>) {
        let mut args = Vec::new();
        for a in &call.arguments.args {
            if let Expr::Starred(s) = a {
                let v = self.eval(&s.value);
                match self.force(v) {
                    Val::List(id) => {
                        for it in self.list_items(id) {
                            args.push(it.val);
                        }
                    }
                    _ => args.push(Val::Unknown),
                }
                continue;
            }
            args.push(self.eval(a));
        }
        let mut kwargs = BTreeMap::new();
        for k in &call.arguments.keywords {
            if let Some(name) = &k.arg {
                let v = self.eval(&k.value);
                kwargs.insert(name.id.as_str().to_owned(), v);
            }
        }
        (args, kwargs)
    }

    /// A call we cannot follow: lists passed to it may be changed.
    fn opaque_call(&mut self, call: &ast::ExprCall) -> Val {
        let (args, kwargs) = self.eval_args(call);
        for v in args.iter().chain(kwargs.values()) {
            if let Val::List(id) = v {
                self.taint_list(*id);
            }
        }
        Val::Callable { certain: false }
    }

    fn eval_call(&mut self, call: &ast::ExprCall) -> Val {
        if let Expr::Attribute(a) = call.func.as_ref() {
            let recv = self.eval(&a.value);
            if let Some(v) = self.method(&recv, a.attr.id.as_str(), call) {
                return v;
            }
            let callee = self.attr(recv, a.attr.id.as_str());
            return self.call_value(callee, call);
        }
        let callee = self.eval(&call.func);
        self.call_value(callee, call)
    }

    fn call_value(&mut self, callee: Val, call: &ast::ExprCall) -> Val {
        match callee {
            Val::Qual(q) => self.builtin(&q, call),
            Val::Func(i) => self.call_func(i, call),
            _ => self.opaque_call(call),
        }
    }

    /// Methods of known values. `None` when `recv.name` is not a method handled here.
    fn method(&mut self, recv: &Val, name: &str, call: &ast::ExprCall) -> Option<Val> {
        if name == "as_view" {
            self.eval_args(call);
            return Some(Val::Callable { certain: true });
        }
        let recv = match recv {
            Val::Symbol(..) => return None,
            other => other.clone(),
        };
        match recv {
            Val::List(id) => {
                let (args, _) = self.eval_args(call);
                Some(match (name, args.as_slice()) {
                    ("append", [x]) => {
                        let it = self.item(x.clone());
                        self.push_items(id, vec![it]);
                        Val::None
                    }
                    ("extend", [x]) => {
                        self.extend(id, x.clone());
                        Val::None
                    }
                    ("insert", [Val::Int(i), x]) => {
                        let it = self.item(x.clone());
                        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
                            let len = i64::try_from(l.items.len()).unwrap_or(i64::MAX);
                            let at = if *i < 0 {
                                (len + i).max(0)
                            } else {
                                (*i).min(len)
                            };
                            let at = usize::try_from(at).unwrap_or(0);
                            l.items.insert(at, it);
                        }
                        Val::None
                    }
                    ("copy", []) => {
                        let items = self.list_items(id);
                        let tuple = self.st.heap.get(&id).is_some_and(|l| l.tuple);
                        Val::List(self.alloc(items, tuple))
                    }
                    ("index" | "count", _) => Val::Unknown,
                    _ => {
                        self.taint_list(id);
                        Val::Unknown
                    }
                })
            }
            Val::Str(s) => {
                let (args, _) = self.eval_args(call);
                Some(str_method(&s, name, &args, self))
            }
            Val::Path(p) => {
                let (args, _) = self.eval_args(call);
                Some(self.path_method(&p, name, &args))
            }
            Val::Dict(d) => {
                let (args, _) = self.eval_args(call);
                Some(match name {
                    "items" => {
                        let pairs: Vec<(Val, Val)> = d.as_ref().clone();
                        let mut vals = Vec::new();
                        for (k, v) in pairs {
                            vals.push(self.new_list(vec![k, v], true));
                        }
                        self.new_list(vals, false)
                    }
                    "keys" => {
                        let keys: Vec<Val> = d.iter().map(|(k, _)| k.clone()).collect();
                        self.new_list(keys, false)
                    }
                    "values" => {
                        let vals: Vec<Val> = d.iter().map(|(_, v)| v.clone()).collect();
                        self.new_list(vals, false)
                    }
                    "get" => match args.first() {
                        Some(k) => {
                            for (dk, dv) in d.iter() {
                                match self.equals(dk, k) {
                                    Some(true) => return Some(dv.clone()),
                                    Some(false) => {}
                                    None => return Some(Val::Unknown),
                                }
                            }
                            args.get(1).cloned().unwrap_or(Val::None)
                        }
                        None => Val::Unknown,
                    },
                    _ => Val::Unknown,
                })
            }
            _ => None,
        }
    }

    fn call_func(&mut self, idx: usize, call: &ast::ExprCall) -> Val {
        let (args, kwargs) = self.eval_args(call);
        let Some(info) = self.funcs.get(idx) else {
            return Val::Unknown;
        };
        let same_module = self.cx.as_ref().is_some_and(|c| c.module == info.module);
        if !same_module || self.call_depth >= MAX_CALL_DEPTH {
            for v in args.iter().chain(kwargs.values()) {
                if let Val::List(id) = v {
                    self.taint_list(*id);
                }
            }
            return Val::Unknown;
        }
        let parsed = info.parsed.clone();
        let Some(Stmt::FunctionDef(def)) = parsed.body().get(info.index) else {
            return Val::Unknown;
        };
        let mut frame = Frame::default();
        let params = &def.parameters;
        let positional: Vec<&ast::ParameterWithDefault> = params
            .posonlyargs
            .iter()
            .chain(params.args.iter())
            .collect();
        for (i, p) in positional.iter().enumerate() {
            let name = p.parameter.name.id.as_str();
            let v = if let Some(v) = args.get(i) {
                v.clone()
            } else if let Some(v) = kwargs.get(name) {
                v.clone()
            } else if let Some(d) = &p.default {
                self.eval(d)
            } else {
                Val::Unknown
            };
            frame.locals.insert(name.to_owned(), v);
        }
        for p in &params.kwonlyargs {
            let name = p.parameter.name.id.as_str();
            let v = match (kwargs.get(name), &p.default) {
                (Some(v), _) => v.clone(),
                (None, Some(d)) => self.eval(d),
                (None, None) => Val::Unknown,
            };
            frame.locals.insert(name.to_owned(), v);
        }
        if let Some(v) = &params.vararg {
            frame
                .locals
                .insert(v.name.id.as_str().to_owned(), Val::Unknown);
        }
        if let Some(v) = &params.kwarg {
            frame
                .locals
                .insert(v.name.id.as_str().to_owned(), Val::Unknown);
        }
        collect_globals(&def.body, &mut frame.globals);
        self.st.frames.push(frame);
        self.call_depth += 1;
        let reach = self.st.reach.clone();
        let flow = self.exec_block(&def.body);
        self.call_depth -= 1;
        self.st.reach = reach.clone();
        let Some(frame) = self.st.frames.pop() else {
            return Val::Unknown;
        };
        let mut returns = frame.returns;
        if flow == Flow::Normal && !returns.iter().any(|(_, c)| *c == reach) {
            returns.push((Val::None, reach.clone()));
        }
        match returns.as_slice() {
            [(v, _)] => v.clone(),
            [] => Val::None,
            many => {
                if many.iter().all(|(v, _)| matches!(v, Val::List(_))) {
                    let mut items = Vec::new();
                    for (v, c) in many {
                        if let Val::List(id) = v {
                            for mut it in self.list_items(*id) {
                                it.cond = it.cond.and(c);
                                items.push(it);
                            }
                        }
                    }
                    Val::List(self.alloc(items, false))
                } else if many.iter().all(|(v, _)| *v == many[0].0) {
                    many[0].0.clone()
                } else {
                    Val::Unknown
                }
            }
        }
    }

    fn builtin(&mut self, q: &str, call: &ast::ExprCall) -> Val {
        match q {
            "django.urls.path" | "django.urls.conf.path" => self.make_entry(RouteKind::Path, call),
            "django.urls.re_path"
            | "django.urls.conf.re_path"
            | "django.conf.urls.url"
            | "django.conf.urls.re_path" => self.make_entry(RouteKind::Regex, call),
            "django.urls.include" | "django.urls.conf.include" | "django.conf.urls.include" => {
                self.make_include(call)
            }
            "django.conf.urls.i18n.i18n_patterns" => self.i18n(call),
            "django.conf.urls.static.static"
            | "django.contrib.staticfiles.urls.staticfiles_urlpatterns" => {
                // Unnamed, un-namespaced patterns (and none unless DEBUG): nothing the
                // rules need.
                self.eval_args(call);
                self.new_list(Vec::new(), false)
            }
            "pathlib.Path" | "pathlib.PurePath" | "pathlib.PosixPath" => {
                let (args, _) = self.eval_args(call);
                match args.split_first() {
                    Some((first @ Val::Path(_), rest)) => self.path_join(first.clone(), rest),
                    _ => Val::Unknown,
                }
            }
            "os.path.join" => {
                let (args, _) = self.eval_args(call);
                match args.split_first() {
                    Some((first, rest)) => self.path_join(first.clone(), rest),
                    None => Val::Unknown,
                }
            }
            "os.path.dirname" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(p)) => self.path_parent(p),
                    _ => Val::Unknown,
                }
            }
            "os.path.basename" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(p)) => self.attr(Val::Path(p.clone()), "name"),
                    Some(Val::Str(s)) => Val::Str(s.rsplit('/').next().unwrap_or(s).to_owned()),
                    _ => Val::Unknown,
                }
            }
            "os.path.abspath" | "os.path.realpath" | "os.path.normpath" | "builtins.str" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(v @ (Val::Path(_) | Val::Str(_))) => v.clone(),
                    _ => Val::Unknown,
                }
            }
            "os.path.exists" | "os.path.isdir" | "os.path.isfile" => {
                let (args, _) = self.eval_args(call);
                let m = match q {
                    "os.path.exists" => "exists",
                    "os.path.isdir" => "is_dir",
                    _ => "is_file",
                };
                match args.first() {
                    Some(Val::Path(p)) => self.path_method(&p.clone(), m, &[]),
                    _ => Val::Unknown,
                }
            }
            "os.listdir" | "os.scandir" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(p)) => {
                        let listing = self.path_method(&p.clone(), "iterdir", &[]);
                        if q == "os.listdir" {
                            // Names, not paths.
                            match listing {
                                Val::List(id) => {
                                    let items = self.list_items(id);
                                    let names: Vec<Val> = items
                                        .into_iter()
                                        .map(|i| match i.val {
                                            Val::Path(FsPath::Known(s)) => Val::Str(
                                                s.rsplit('/').next().unwrap_or(&s).to_owned(),
                                            ),
                                            // The name of an entry djcheck does not know:
                                            // joined to its folder, it is such an entry.
                                            other => other,
                                        })
                                        .collect();
                                    self.new_list(names, false)
                                }
                                other => other,
                            }
                        } else {
                            listing
                        }
                    }
                    _ => Val::Unknown,
                }
            }
            "glob.glob" | "glob.iglob" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(FsPath::Known(p))) => self.glob("", &p.clone()),
                    _ => Val::Unknown,
                }
            }
            "builtins.sorted" | "builtins.list" | "builtins.tuple" | "builtins.set"
            | "builtins.frozenset" | "builtins.reversed" => {
                let (args, kwargs) = self.eval_args(call);
                let Some(arg) = args.first().cloned() else {
                    return self.new_list(Vec::new(), q == "builtins.tuple");
                };
                let Some(mut items) = self.iter_items(arg) else {
                    return Val::Unknown;
                };
                if q == "builtins.sorted" {
                    if kwargs.contains_key("key") {
                        return Val::Unknown;
                    }
                    sort_items(&mut items);
                    if matches!(kwargs.get("reverse"), Some(Val::Bool(true))) {
                        items.reverse();
                    }
                } else if q == "builtins.reversed" {
                    items.reverse();
                }
                Val::List(self.alloc(items, q == "builtins.tuple"))
            }
            "builtins.enumerate" => {
                let (args, _) = self.eval_args(call);
                let Some(items) = args.first().cloned().and_then(|a| self.iter_items(a)) else {
                    return Val::Unknown;
                };
                let mut out = Vec::new();
                for (i, it) in items.into_iter().enumerate() {
                    let pair =
                        self.new_list(vec![Val::Int(i64::try_from(i).unwrap_or(0)), it.val], true);
                    out.push(Item { val: pair, ..it });
                }
                Val::List(self.alloc(out, false))
            }
            "importlib.import_module" => {
                let (args, _) = self.eval_args(call);
                match args.first().and_then(|a| a.as_str().map(str::to_owned)) {
                    Some(m) => {
                        self.note_import(&m);
                        self.module_value(&m)
                    }
                    None => {
                        if self.try_depth > 0 {
                            self.may_raise = true;
                        }
                        Val::Unknown
                    }
                }
            }
            "importlib.util.find_spec" => {
                let (args, _) = self.eval_args(call);
                match args.first().and_then(|a| a.as_str().map(str::to_owned)) {
                    Some(m) if self.resolves(&m) => Val::Bool(true),
                    Some(m) if self.is_missing_project_module(&m) => Val::None,
                    _ => Val::Unknown,
                }
            }
            "django.utils.module_loading.module_has_submodule" => {
                let (args, _) = self.eval_args(call);
                match (args.first(), args.get(1).and_then(Val::as_str)) {
                    (Some(Val::Module(m)), Some(sub)) => {
                        let full = format!("{m}.{sub}");
                        Val::Bool(self.resolves(&full))
                    }
                    _ => Val::Unknown,
                }
            }
            "django.apps.apps.get_app_configs" => self.app_configs(),
            "django.apps.apps.is_installed" => {
                let (args, _) = self.eval_args(call);
                let Some(name) = args.first().and_then(Val::as_str) else {
                    return Val::Unknown;
                };
                match self.settings.str_list("INSTALLED_APPS") {
                    Some((apps, _)) => {
                        let found = apps
                            .iter()
                            .any(|a| a == name || a.split(".apps.").next() == Some(name));
                        // Absent from these settings may still mean installed where the
                        // project runs.
                        if found {
                            Val::Bool(true)
                        } else {
                            Val::Unknown
                        }
                    }
                    None => Val::Unknown,
                }
            }
            "django.utils.translation.gettext_lazy"
            | "django.utils.translation.gettext"
            | "django.utils.translation.ugettext_lazy"
            | "django.utils.translation.ugettext" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Str(s)) => Val::Translated(s.clone()),
                    _ => Val::Unknown,
                }
            }
            "django.contrib.admin.autodiscover" => Val::None,
            _ => self.opaque_call(call),
        }
    }

    fn app_configs(&mut self) -> Val {
        let Some((apps, complete)) = self.settings.str_list("INSTALLED_APPS") else {
            return Val::Unknown;
        };
        let mut vals = Vec::new();
        for a in apps {
            let (name, label) = match a.find(".apps.") {
                Some(pos) => (a[..pos].to_owned(), None),
                None => {
                    let label = a.rsplit('.').next().unwrap_or(&a).to_owned();
                    (a.clone(), Some(label))
                }
            };
            let dir = self.ld.modules.resolve_package_dir(&self.ld.files, &name);
            vals.push(Val::AppConfig(Rc::new(AppCfg { name, label, dir })));
        }
        if !complete {
            vals.push(Val::Unknown);
        }
        self.new_list(vals, false)
    }

    fn make_entry(&mut self, kind: RouteKind, call: &ast::ExprCall) -> Val {
        if eval::has_splat(call) {
            self.eval_args(call);
            return Val::Unknown;
        }
        let call_span = self.span(call.range());
        let (Some(route_expr), Some(view_expr)) = (
            eval::argument(call, 0, "route"),
            eval::argument(call, 1, "view"),
        ) else {
            return Val::Unknown;
        };
        let rv = self.eval(route_expr);
        let (route, translated) = match self.force(rv) {
            Val::Str(s) => (Some(s), false),
            Val::Translated(s) => (Some(s), true),
            _ => (None, false),
        };
        let view_val = self.eval(view_expr);
        let target = self.classify_view(view_expr, view_val);
        let has_kwargs =
            eval::argument(call, 2, "kwargs").is_some_and(|k| !matches!(k, Expr::NoneLiteral(_)));
        if let Some(k) = eval::argument(call, 2, "kwargs") {
            self.eval(k);
        }
        let name = match eval::argument(call, 3, "name") {
            None | Some(Expr::NoneLiteral(_)) => Name::Absent,
            Some(n) => {
                let v = self.eval(n);
                let span = self.span(n.range());
                match self.force(v) {
                    Val::Str(s) => Name::Known(s, Some(span)),
                    Val::None => Name::Absent,
                    _ => Name::Unknown,
                }
            }
        };
        Val::Entry(Rc::new(Entry {
            call: call_span,
            kind,
            route,
            route_span: Some(self.span(route_expr.range())),
            translated,
            target,
            name,
            has_kwargs,
        }))
    }

    fn classify_view(&mut self, expr: &Expr, v: Val) -> Target {
        let span = self.span(expr.range());
        let view = |kind| Target::View(ViewVal { span, kind });
        match v {
            Val::Include(i) => Target::Include(i),
            Val::Admin(site) => Target::Admin(site),
            Val::Callable { certain: true } | Val::Func(_) => view(ViewKind::Callable),
            Val::Callable { certain: false } => view(ViewKind::Other),
            Val::Symbol(m, n) => {
                if n.contains('.') {
                    if n.ends_with(".urls") {
                        Target::Unknown
                    } else {
                        view(ViewKind::Other)
                    }
                } else {
                    view(ViewKind::Symbol(m, n))
                }
            }
            Val::Qual(q) => {
                if q.ends_with(".urls") {
                    Target::Unknown
                } else {
                    view(ViewKind::Qual(q))
                }
            }
            Val::List(id) => {
                // `(patterns, app_name, namespace)`, as `admin.site.urls` returns.
                let items = self.list_items(id);
                let tuple = self.st.heap.get(&id).is_some_and(|l| l.tuple);
                if tuple && items.len() == 3 && items.iter().all(|i| self.definite(&i.cond)) {
                    let target = match self.force(items[0].val.clone()) {
                        Val::List(l) => IncTarget::Inline(l),
                        Val::Module(m) => IncTarget::Module(m),
                        _ => IncTarget::External(None),
                    };
                    let app = name_of(&items[1].val);
                    let ns = name_of(&items[2].val);
                    Target::Include(Rc::new(IncludeVal {
                        call: span,
                        target,
                        tuple_app_name: Some(app),
                        namespace: Some((ns, span)),
                        locale: false,
                    }))
                } else {
                    Target::Unknown
                }
            }
            Val::Unknown => match expr {
                Expr::Call(_) => view(ViewKind::Other),
                Expr::Attribute(a) if a.attr.id.as_str() != "urls" => view(ViewKind::Other),
                _ => Target::Unknown,
            },
            _ => Target::Unknown,
        }
    }

    fn make_include(&mut self, call: &ast::ExprCall) -> Val {
        let call_span = self.span(call.range());
        if eval::has_splat(call) {
            self.eval_args(call);
            return Val::Include(Rc::new(IncludeVal {
                call: call_span,
                target: IncTarget::External(None),
                tuple_app_name: Some(Name::Unknown),
                namespace: Some((Name::Unknown, call_span)),
                locale: false,
            }));
        }
        let Some(arg_expr) = eval::argument(call, 0, "arg") else {
            return Val::Unknown;
        };
        let namespace = match eval::argument(call, 1, "namespace") {
            None | Some(Expr::NoneLiteral(_)) => None,
            Some(e) => {
                let v = self.eval(e);
                let span = self.span(e.range());
                match self.force(v) {
                    Val::Str(s) => Some((Name::Known(s, Some(span)), span)),
                    Val::None => None,
                    _ => Some((Name::Unknown, span)),
                }
            }
        };
        let arg = self.eval(arg_expr);
        let arg = self.force(arg);
        let (target, tuple_app_name) = match arg {
            Val::Str(s) => (self.module_target(&s), None),
            Val::Module(m) => (IncTarget::Module(m), None),
            Val::Qual(q) => (IncTarget::External(Some(q)), None),
            Val::List(id) => {
                let tuple = self.st.heap.get(&id).is_some_and(|l| l.tuple);
                if tuple {
                    let items = self.list_items(id);
                    if items.len() == 2 && items.iter().all(|i| self.definite(&i.cond)) {
                        let first = self.force(items[0].val.clone());
                        let target = match first {
                            Val::Str(s) => self.module_target(&s),
                            Val::Module(m) => IncTarget::Module(m),
                            Val::List(l) => IncTarget::Inline(l),
                            Val::Qual(q) => IncTarget::External(Some(q)),
                            _ => IncTarget::External(None),
                        };
                        let app = self.force(items[1].val.clone());
                        (target, Some(name_of(&app)))
                    } else {
                        (IncTarget::External(None), Some(Name::Unknown))
                    }
                } else {
                    (IncTarget::Inline(id), None)
                }
            }
            _ => (IncTarget::External(None), None),
        };
        Val::Include(Rc::new(IncludeVal {
            call: call_span,
            target,
            tuple_app_name,
            namespace,
            locale: false,
        }))
    }

    fn module_target(&self, dotted: &str) -> IncTarget {
        if self.resolves(dotted) {
            IncTarget::Module(dotted.to_owned())
        } else if self.is_missing_project_module(dotted) {
            IncTarget::Missing(dotted.to_owned())
        } else {
            IncTarget::External(Some(dotted.to_owned()))
        }
    }

    fn i18n(&mut self, call: &ast::ExprCall) -> Val {
        let call_span = self.span(call.range());
        let mut items = Vec::new();
        for a in &call.arguments.args {
            if let Expr::Starred(s) = a {
                let v = self.eval(&s.value);
                match self.force(v) {
                    Val::List(id) => items.extend(self.list_items(id)),
                    _ => items.push(self.item(Val::Unknown)),
                }
                continue;
            }
            let v = self.eval(a);
            items.push(self.item(v));
        }
        let inner = self.alloc(items, false);
        let entry = Entry {
            call: call_span,
            kind: RouteKind::Locale,
            route: None,
            route_span: None,
            translated: false,
            target: Target::Include(Rc::new(IncludeVal {
                call: call_span,
                target: IncTarget::Inline(inner),
                tuple_app_name: None,
                namespace: None,
                locale: true,
            })),
            name: Name::Absent,
            has_kwargs: false,
        };
        self.new_list(vec![Val::Entry(Rc::new(entry))], false)
    }

    // ----- paths ---------------------------------------------------------------------

    fn path_parent(&self, p: &FsPath) -> Val {
        match p {
            FsPath::Known(s) if s.is_empty() => Val::Unknown,
            FsPath::Known(s) => Val::Path(FsPath::Known(
                s.rsplit_once('/')
                    .map_or(String::new(), |(d, _)| d.to_owned()),
            )),
            _ => Val::Unknown,
        }
    }

    fn path_join(&mut self, base: Val, parts: &[Val]) -> Val {
        let mut cur = match self.force(base) {
            Val::Path(p) => p,
            _ => return Val::Unknown,
        };
        for part in parts {
            let seg = match self.force(part.clone()) {
                Val::Str(s) => s,
                Val::Path(FsPath::Other) if matches!(cur, FsPath::Known(_)) => {
                    cur = FsPath::Other;
                    continue;
                }
                _ => return Val::Unknown,
            };
            if seg.starts_with('/') {
                return Val::Unknown;
            }
            for piece in seg.split('/') {
                match (&mut cur, piece) {
                    (_, "" | ".") => {}
                    (FsPath::Known(s), "..") => {
                        if s.is_empty() {
                            return Val::Unknown;
                        }
                        *s = s
                            .rsplit_once('/')
                            .map_or(String::new(), |(d, _)| d.to_owned());
                    }
                    (FsPath::Known(s), p) => {
                        if !s.is_empty() {
                            s.push('/');
                        }
                        s.push_str(p);
                    }
                    (FsPath::Other, p) => cur = FsPath::OtherChild(p.to_owned()),
                    (FsPath::OtherChild(s), p) => {
                        s.push('/');
                        s.push_str(p);
                    }
                }
            }
        }
        Val::Path(cur)
    }

    fn is_dir(&self, p: &str) -> bool {
        if p.is_empty() {
            return true;
        }
        let prefix = format!("{p}/");
        self.ld
            .files
            .range(prefix.clone()..)
            .next()
            .is_some_and(|f| f.starts_with(&prefix))
    }

    fn path_method(&mut self, p: &FsPath, name: &str, args: &[Val]) -> Val {
        match name {
            "resolve" | "absolute" | "expanduser" => Val::Path(p.clone()),
            "joinpath" => self.path_join(Val::Path(p.clone()), args),
            "exists" | "is_dir" | "is_file" => match p {
                FsPath::Known(s) => {
                    let file = self.ld.files.contains(s);
                    let dir = self.is_dir(s);
                    match name {
                        "exists" if file || dir => Val::Bool(true),
                        "is_dir" if dir => Val::Bool(true),
                        "is_dir" if file => Val::Bool(false),
                        "is_file" if file => Val::Bool(true),
                        "is_file" if dir => Val::Bool(false),
                        // A Python file djcheck does not list does not exist; other files
                        // and empty folders are not listed.
                        _ if s.ends_with(".py") => Val::Bool(false),
                        _ => Val::Unknown,
                    }
                }
                FsPath::OtherChild(s) if s.ends_with(".py") && name != "is_dir" => Val::Bool(false),
                _ => Val::Unknown,
            },
            "iterdir" => match p {
                FsPath::Known(dir) => {
                    let children = self.children(dir);
                    let mut vals: Vec<Val> = children
                        .into_iter()
                        .map(|c| Val::Path(FsPath::Known(c)))
                        .collect();
                    vals.push(Val::Path(FsPath::Other));
                    self.new_list(vals, false)
                }
                _ => Val::Unknown,
            },
            "glob" => match (p, args.first()) {
                (FsPath::Known(dir), Some(Val::Str(pat))) => {
                    let (dir, pat) = (dir.clone(), pat.clone());
                    self.glob(&dir, &pat)
                }
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }

    /// The files and folders djcheck knows directly inside `dir`, sorted.
    fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: BTreeSet<String> = BTreeSet::new();
        for f in self.ld.files.range(prefix.clone()..) {
            let Some(rest) = f.strip_prefix(&prefix) else {
                break;
            };
            let first = rest.split('/').next().unwrap_or(rest);
            out.insert(format!("{prefix}{first}"));
        }
        out.into_iter().collect()
    }

    /// `glob` of `pattern` under `dir`: `*` and `?` within one path segment.
    fn glob(&mut self, dir: &str, pattern: &str) -> Val {
        if pattern.contains("**") || pattern.contains('[') || pattern.starts_with('/') {
            return Val::Unknown;
        }
        let mut cur: Vec<String> = vec![dir.to_owned()];
        let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        for seg in &segs {
            let mut next = Vec::new();
            for d in &cur {
                if seg.contains('*') || seg.contains('?') {
                    for c in self.children(d) {
                        let name = c.rsplit('/').next().unwrap_or(&c);
                        if wildcard(seg, name) {
                            next.push(c);
                        }
                    }
                } else {
                    let c = if d.is_empty() {
                        (*seg).to_owned()
                    } else {
                        format!("{d}/{seg}")
                    };
                    if self.ld.files.contains(&c) || self.is_dir(&c) {
                        next.push(c);
                    }
                }
            }
            cur = next;
        }
        let mut vals: Vec<Val> = cur
            .into_iter()
            .map(|c| Val::Path(FsPath::Known(c)))
            .collect();
        if !segs.last().is_some_and(|s| s.ends_with(".py")) {
            vals.push(Val::Path(FsPath::Other));
        }
        self.new_list(vals, false)
    }
}

/// The app name a module gives an include (its `app_name` attribute wins over the
/// tuple's).
fn module_app_name(res: &ModResult, tuple: Name) -> Name {
    match res.env.get("app_name") {
        Some(Val::Str(s)) => Name::Known(s.clone(), res.spans.get("app_name").copied()),
        Some(Val::None) => tuple,
        Some(_) => Name::Unknown,
        None if res.star_unknown => Name::Unknown,
        None => tuple,
    }
}

fn name_of(v: &Val) -> Name {
    match v {
        Val::Str(s) => Name::Known(s.clone(), None),
        Val::None => Name::Absent,
        _ => Name::Unknown,
    }
}

fn qual(q: &str) -> Val {
    match q {
        "django.conf.settings" => Val::Settings,
        "django.contrib.admin.site.urls" | "django.contrib.admin.sites.site.urls" => {
            Val::Admin(Some("admin".to_owned()))
        }
        _ => Val::Qual(q.to_owned()),
    }
}

fn is_known_not_none(v: &Val) -> bool {
    !matches!(
        v,
        Val::Unknown | Val::Callable { certain: false } | Val::None | Val::Symbol(..)
    )
}

/// Values a loop cannot run over as one definite item.
fn is_uncertain_item(v: &Val) -> bool {
    v.is_unknown() || matches!(v, Val::Path(FsPath::Other))
}

fn describe(v: &Val) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Path(FsPath::Known(p)) => p.clone(),
        Val::AppConfig(a) => a.name.clone(),
        Val::Int(i) => i.to_string(),
        _ => "…".to_owned(),
    }
}

fn sort_items(items: &mut [Item]) {
    fn key(v: &Val) -> Option<String> {
        match v {
            Val::Str(s) => Some(s.clone()),
            Val::Path(FsPath::Known(p)) => Some(p.clone()),
            _ => None,
        }
    }
    // Unknown values cannot be placed; they go last, in order.
    items.sort_by(|a, b| match (key(&a.val), key(&b.val)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// The ordered union of several versions of a list (by item id). An item held by only
/// some versions is tagged with the arms (of branch `b`) holding it.
fn union_items(lists: &[(usize, &[Item])], b: u32) -> Vec<Item> {
    if let Some((_, first)) = lists.first() {
        if lists.iter().all(|(_, l)| same_ids(l, first)) {
            return first.to_vec();
        }
    }
    let mut out: Vec<Item> = Vec::new();
    let mut present: Vec<u64> = Vec::new();
    for (arm, items) in lists {
        let mine: BTreeSet<u32> = items.iter().map(|i| i.id).collect();
        let mut pos = 0usize;
        for it in *items {
            match out.iter().position(|o| o.id == it.id) {
                Some(p) => {
                    present[p] |= 1 << arm;
                    pos = p + 1;
                }
                None => {
                    // After what earlier arms added at this point.
                    while pos < out.len() && !mine.contains(&out[pos].id) {
                        pos += 1;
                    }
                    out.insert(pos, it.clone());
                    present.insert(pos, 1 << arm);
                    pos += 1;
                }
            }
        }
    }
    let holders: u64 = lists.iter().fold(0, |m, (i, _)| m | (1 << i));
    for (it, mask) in out.iter_mut().zip(present) {
        if mask != holders {
            it.cond = it.cond.and(&Cond::arm(b, mask));
        }
    }
    out
}

fn same_ids(a: &[Item], b: &[Item]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.id == y.id && x.cond == y.cond)
}

fn collect_globals(body: &[Stmt], out: &mut BTreeSet<String>) {
    for s in body {
        match s {
            Stmt::Global(g) => out.extend(g.names.iter().map(|n| n.id.as_str().to_owned())),
            Stmt::If(i) => {
                collect_globals(&i.body, out);
                for c in &i.elif_else_clauses {
                    collect_globals(&c.body, out);
                }
            }
            Stmt::For(f) => collect_globals(&f.body, out),
            Stmt::While(w) => collect_globals(&w.body, out),
            Stmt::Try(t) => {
                collect_globals(&t.body, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    collect_globals(&h.body, out);
                }
                collect_globals(&t.orelse, out);
                collect_globals(&t.finalbody, out);
            }
            Stmt::With(w) => collect_globals(&w.body, out),
            _ => {}
        }
    }
}

/// `fnmatch` of one path segment with `*` and `?`.
fn wildcard(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Hidden entries are not matched by a leading wildcard, as in `glob`.
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}

fn percent_format(fmt: &str, args: &[String]) -> Val {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => match it.next() {
                Some(a) => out.push_str(a),
                None => return Val::Unknown,
            },
            _ => return Val::Unknown,
        }
    }
    if it.next().is_some() {
        return Val::Unknown;
    }
    Val::Str(out)
}

fn str_method(s: &str, name: &str, args: &[Val], it: &mut Interp<'_, '_>) -> Val {
    let arg = |i: usize| args.get(i).and_then(Val::as_str);
    match name {
        "startswith" | "endswith" => {
            let test = |p: &str| {
                if name == "startswith" {
                    s.starts_with(p)
                } else {
                    s.ends_with(p)
                }
            };
            match args.first() {
                Some(Val::Str(p)) => Val::Bool(test(p)),
                Some(Val::List(id)) => {
                    let items = it.list_items(*id);
                    let mut any = false;
                    for i in &items {
                        match i.val.as_str() {
                            Some(p) => any |= test(p),
                            None => return Val::Unknown,
                        }
                    }
                    Val::Bool(any)
                }
                _ => Val::Unknown,
            }
        }
        "replace" => match (arg(0), arg(1)) {
            (Some(a), Some(b)) if args.len() == 2 => Val::Str(s.replace(a, b)),
            _ => Val::Unknown,
        },
        "lower" => Val::Str(s.to_lowercase()),
        "upper" => Val::Str(s.to_uppercase()),
        "strip" | "lstrip" | "rstrip" => {
            let chars: Option<Vec<char>> = match args.first() {
                None | Some(Val::None) => None,
                Some(Val::Str(c)) => Some(c.chars().collect()),
                _ => return Val::Unknown,
            };
            let pred = |c: char| match &chars {
                None => c.is_whitespace(),
                Some(cs) => cs.contains(&c),
            };
            Val::Str(match name {
                "strip" => s.trim_matches(pred).to_owned(),
                "lstrip" => s.trim_start_matches(pred).to_owned(),
                _ => s.trim_end_matches(pred).to_owned(),
            })
        }
        "removeprefix" => arg(0).map_or(Val::Unknown, |p| {
            Val::Str(s.strip_prefix(p).unwrap_or(s).to_owned())
        }),
        "removesuffix" => arg(0).map_or(Val::Unknown, |p| {
            Val::Str(s.strip_suffix(p).unwrap_or(s).to_owned())
        }),
        "split" | "rsplit" => {
            let Some(sep) = arg(0) else {
                return Val::Unknown;
            };
            if sep.is_empty() {
                return Val::Unknown;
            }
            let max = match args.get(1) {
                None => None,
                Some(Val::Int(n)) if *n >= 0 => usize::try_from(*n).ok(),
                Some(Val::Int(_)) => None,
                _ => return Val::Unknown,
            };
            let parts: Vec<String> = match (name, max) {
                ("split", None) => s.split(sep).map(str::to_owned).collect(),
                ("split", Some(n)) => s.splitn(n + 1, sep).map(str::to_owned).collect(),
                (_, None) => s.split(sep).map(str::to_owned).collect(),
                (_, Some(n)) => {
                    let mut v: Vec<String> = s.rsplitn(n + 1, sep).map(str::to_owned).collect();
                    v.reverse();
                    v
                }
            };
            it.new_list(parts.into_iter().map(Val::Str).collect(), false)
        }
        "format" => {
            let mut out = String::new();
            let mut next = 0usize;
            let mut chars = s.chars().peekable();
            while let Some(c) = chars.next() {
                match c {
                    '{' if chars.peek() == Some(&'{') => {
                        chars.next();
                        out.push('{');
                    }
                    '}' if chars.peek() == Some(&'}') => {
                        chars.next();
                        out.push('}');
                    }
                    '{' => {
                        let mut field = String::new();
                        for c in chars.by_ref() {
                            if c == '}' {
                                break;
                            }
                            field.push(c);
                        }
                        let idx = if field.is_empty() {
                            next += 1;
                            next - 1
                        } else if let Ok(n) = field.parse::<usize>() {
                            n
                        } else {
                            return Val::Unknown;
                        };
                        match args.get(idx).map(|v| it.text_of(v)) {
                            Some(Some(t)) => out.push_str(&t),
                            _ => return Val::Unknown,
                        }
                    }
                    c => out.push(c),
                }
            }
            Val::Str(out)
        }
        "join" => match args.first() {
            Some(Val::List(id)) => {
                let items = it.list_items(*id);
                let mut parts = Vec::new();
                for i in items {
                    if !it.definite(&i.cond) {
                        return Val::Unknown;
                    }
                    match i.val.as_str() {
                        Some(p) => parts.push(p.to_owned()),
                        None => return Val::Unknown,
                    }
                }
                Val::Str(parts.join(s))
            }
            _ => Val::Unknown,
        },
        _ => Val::Unknown,
    }
}
