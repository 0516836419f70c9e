//! Statements: modules, imports, assignments, branches, loops, functions and classes.

use crate::cond::{Branch, Cond};
use crate::value::{ClassVal, Env, EnvRead, FsPath, Heap, Item, ListId, ListObj, Origin, Val, Via};
use crate::{Limit, Source};
use djcheck_diagnostics::{FileId, Span};
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::{eval, ParsedModule, Ranged, TextRange};
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;

/// Statements and expressions evaluated per run, at most: a pathological module (a loop
/// over a huge range) must not stall the run. Past it, values become unknown.
pub const STEP_BUDGET: usize = 2_000_000;
/// Nested helper-function calls, at most.
const MAX_CALL_DEPTH: usize = 12;
/// Iterations of one loop, at most.
pub(crate) const MAX_ITERATIONS: usize = 5_000;
/// Modules being evaluated at once (an import chain), at most.
const MAX_IMPORT_DEPTH: usize = 48;
/// Items of one list, at most; past it the list holds an unknown item.
pub const MAX_LIST_ITEMS: usize = 20_000;
/// Bytes of one string, at most; past it the string is unknown.
pub const MAX_STR_BYTES: usize = 1 << 20;
/// Nested classes (a model's `Meta`), at most.
const MAX_CLASS_DEPTH: usize = 3;

/// The result of evaluating a module: its names, the lists they refer to, and where
/// each name was bound.
#[derive(Debug)]
pub struct ModResult {
    pub module: String,
    pub file: FileId,
    pub env: Env,
    pub heap: Heap,
    /// Where top-level names were last bound, and how.
    pub origins: BTreeMap<String, Origin>,
    /// A star import that could not be read ran here: a name absent from `env` may
    /// come from it. Its span.
    pub star_unknown: Option<Span>,
    /// Files executed into this module's namespace besides its own (django-split-settings
    /// `include()`), in order.
    pub included: Vec<FileId>,
}

impl ModResult {
    /// The items of a list of this module.
    pub fn list(&self, id: ListId) -> Option<&ListObj> {
        self.heap.get(&id).map(Rc::as_ref)
    }
}

pub(crate) enum Slot {
    Busy,
    Done(Rc<ModResult>),
    NotFound,
    Unusable,
}

/// Why a module could not be evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fail {
    /// No such module in the project.
    NotFound,
    /// Its file can't be read or parsed (the source recorded why).
    Unusable,
    /// It is being evaluated (an import cycle), or the import chain is too deep.
    Busy,
}

/// A function defined at the top level of an evaluated module.
pub(crate) struct FuncInfo {
    pub module: String,
    pub parsed: Rc<ParsedModule>,
    pub index: usize,
}

/// What the evaluator keeps between runs: evaluated modules, functions, branch points.
/// Settings are evaluated first, then the URL modules, with the same memory, so a URL
/// module reading `settings.INSTALLED_APPS` reuses the settings already evaluated.
#[derive(Default)]
pub struct Memory {
    pub(crate) modules: BTreeMap<String, Slot>,
    pub(crate) funcs: Vec<FuncInfo>,
    pub(crate) next_item: u32,
    pub(crate) next_list: ListId,
    pub(crate) branches: Vec<Branch>,
    pub(crate) steps: usize,
    /// Limits hit, with where (deduplicated by kind and place).
    pub(crate) limits: Vec<(Limit, Option<Span>)>,
    /// The settings module, for `django.conf.settings`.
    pub settings_module: Option<String>,
    /// The installed apps, for `apps.get_app_configs()`: the apps and whether the list
    /// is complete.
    pub app_configs: Option<(Vec<Rc<crate::value::AppCfg>>, bool)>,
}

impl Memory {
    pub fn new() -> Self {
        Memory::default()
    }

    /// The branch points conditions refer to.
    pub fn branches(&self) -> &[Branch] {
        &self.branches
    }

    /// The limits hit so far.
    pub fn limits(&self) -> &[(Limit, Option<Span>)] {
        &self.limits
    }

    /// A module already evaluated.
    pub fn evaluated(&self, dotted: &str) -> Option<Rc<ModResult>> {
        match self.modules.get(dotted) {
            Some(Slot::Done(r)) => Some(r.clone()),
            _ => None,
        }
    }
}

/// The code being executed: a module, or a file run into a module's namespace.
pub(crate) struct Cx {
    pub module: String,
    pub file: FileId,
    pub is_package: bool,
    pub parsed: Rc<ParsedModule>,
    /// The file's path, relative to the project root.
    pub rel: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    Function,
    Class,
}

#[derive(Debug, Clone)]
pub(crate) struct Frame {
    pub kind: FrameKind,
    pub locals: Env,
    pub globals: BTreeSet<String>,
    pub returns: Vec<(Val, Cond)>,
    /// Where class attributes were bound.
    pub spans: BTreeMap<String, Span>,
}

impl Frame {
    pub(crate) fn new(kind: FrameKind) -> Frame {
        Frame {
            kind,
            locals: Env::new(),
            globals: BTreeSet::new(),
            returns: Vec::new(),
            spans: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct State {
    pub globals: Env,
    pub frames: Vec<Frame>,
    pub heap: Heap,
    pub reach: Cond,
    /// Restrictions on later loop iterations from `break`s under a condition.
    pub breaks: Cond,
    pub origins: BTreeMap<String, Origin>,
    pub star_unknown: Option<Span>,
    pub included: Vec<FileId>,
    /// Files included by django-split-settings, to include each once.
    pub included_paths: BTreeSet<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Normal,
    Continue,
    Break,
    Return,
}

/// One run of the evaluator over the project's modules.
pub struct Interp<'a> {
    pub(crate) mem: &'a mut Memory,
    pub(crate) src: &'a mut dyn Source,
    pub(crate) st: State,
    pub(crate) cx: Option<Rc<Cx>>,
    pub(crate) via: Vec<Rc<Via>>,
    pub(crate) call_depth: usize,
    pub(crate) class_depth: usize,
    /// Inside a `try` body: whether an import certainly failed, or may fail.
    pub(crate) try_depth: usize,
    pub(crate) raised: bool,
    pub(crate) may_raise: bool,
    pub(crate) force_depth: usize,
    pub(crate) import_depth: usize,
    /// The environment read met while evaluating the current statement's value.
    pub(crate) env_read: Option<EnvRead>,
}

impl<'a> Interp<'a> {
    pub fn new(mem: &'a mut Memory, src: &'a mut dyn Source) -> Self {
        Interp {
            mem,
            src,
            st: State::default(),
            cx: None,
            via: Vec::new(),
            call_depth: 0,
            class_depth: 0,
            try_depth: 0,
            raised: false,
            may_raise: false,
            force_depth: 0,
            import_depth: 0,
            env_read: None,
        }
    }

    /// The source of files, for callers building on the evaluation.
    pub fn source(&mut self) -> &mut dyn Source {
        self.src
    }

    pub fn memory(&self) -> &Memory {
        self.mem
    }

    /// True once the step budget is spent.
    pub fn over_budget(&self) -> bool {
        self.mem.steps > STEP_BUDGET
    }

    pub(crate) fn hit(&mut self, limit: Limit, span: Option<Span>) {
        if !self
            .mem
            .limits
            .iter()
            .any(|(l, s)| *l == limit && *s == span)
        {
            self.mem.limits.push((limit, span));
        }
    }

    /// Counts one step; false once the budget is spent.
    pub(crate) fn step(&mut self) -> bool {
        self.mem.steps += 1;
        if self.mem.steps > STEP_BUDGET {
            if self.mem.steps == STEP_BUDGET + 1 {
                let span = self
                    .cx
                    .as_ref()
                    .map(|c| Span::new(c.file, TextRange::default()));
                self.hit(Limit::Steps, span);
            }
            return false;
        }
        true
    }

    // ----- modules -------------------------------------------------------------------

    /// Evaluates module `dotted` of the project (once per memory: Python imports a module
    /// once, and re-evaluating on every import is exponential in import chains).
    pub fn module(&mut self, dotted: &str) -> Result<Rc<ModResult>, Fail> {
        match self.mem.modules.get(dotted) {
            Some(Slot::Done(r)) => return Ok(r.clone()),
            Some(Slot::Busy) => return Err(Fail::Busy),
            Some(Slot::NotFound) => return Err(Fail::NotFound),
            Some(Slot::Unusable) => return Err(Fail::Unusable),
            None => {}
        }
        let Some(rel) = self.src.resolve(dotted) else {
            self.mem.modules.insert(dotted.to_owned(), Slot::NotFound);
            return Err(Fail::NotFound);
        };
        if self.import_depth >= MAX_IMPORT_DEPTH {
            self.hit(Limit::ImportDepth, None);
            return Err(Fail::Busy);
        }
        self.mem.modules.insert(dotted.to_owned(), Slot::Busy);
        let Some((file, parsed)) = self.src.load(&rel) else {
            self.mem.modules.insert(dotted.to_owned(), Slot::Unusable);
            return Err(Fail::Unusable);
        };
        let cx = Rc::new(Cx {
            module: dotted.to_owned(),
            file,
            is_package: rel.ends_with("/__init__.py"),
            parsed: parsed.clone(),
            rel: rel.clone(),
        });
        let saved_state = std::mem::take(&mut self.st);
        let saved_cx = self.cx.replace(cx);
        let saved_via = std::mem::take(&mut self.via);
        let saved_depth = std::mem::replace(&mut self.call_depth, 0);
        let saved_class = std::mem::replace(&mut self.class_depth, 0);
        let saved_try = (
            std::mem::replace(&mut self.try_depth, 0),
            self.raised,
            self.may_raise,
        );
        let saved_env = self.env_read.take();
        self.raised = false;
        self.may_raise = false;
        self.import_depth += 1;
        self.st
            .globals
            .insert("__name__".into(), Val::Str(dotted.to_owned()));
        self.st
            .globals
            .insert("__file__".into(), Val::Path(FsPath::Known(rel)));
        self.exec_block(parsed.body());
        self.import_depth -= 1;
        let st = std::mem::replace(&mut self.st, saved_state);
        self.cx = saved_cx;
        self.via = saved_via;
        self.call_depth = saved_depth;
        self.class_depth = saved_class;
        (self.try_depth, self.raised, self.may_raise) = saved_try;
        self.env_read = saved_env;
        let res = Rc::new(ModResult {
            module: dotted.to_owned(),
            file,
            env: st.globals,
            heap: st.heap,
            origins: st.origins,
            star_unknown: st.star_unknown,
            included: st.included,
        });
        self.mem
            .modules
            .insert(dotted.to_owned(), Slot::Done(res.clone()));
        Ok(res)
    }

    /// Runs the file `rel` in the current module's namespace (django-split-settings'
    /// `include()`): its bindings land in the current globals.
    pub(crate) fn exec_file_here(&mut self, rel: &str) -> bool {
        let Some(cur) = self.cx.clone() else {
            return false;
        };
        if !self.st.included_paths.insert(rel.to_owned()) {
            return true;
        }
        if self.import_depth >= MAX_IMPORT_DEPTH {
            self.hit(Limit::ImportDepth, None);
            return false;
        }
        let Some((file, parsed)) = self.src.load(rel) else {
            return false;
        };
        self.st.included.push(file);
        let cx = Rc::new(Cx {
            module: cur.module.clone(),
            file,
            is_package: cur.is_package,
            parsed: parsed.clone(),
            rel: rel.to_owned(),
        });
        let saved_cx = self.cx.replace(cx);
        let saved_try = (
            std::mem::replace(&mut self.try_depth, 0),
            self.raised,
            self.may_raise,
        );
        self.raised = false;
        self.may_raise = false;
        self.import_depth += 1;
        self.exec_block(parsed.body());
        self.import_depth -= 1;
        self.cx = saved_cx;
        (self.try_depth, self.raised, self.may_raise) = saved_try;
        true
    }

    pub(crate) fn cx(&self) -> Option<Rc<Cx>> {
        self.cx.clone()
    }

    pub(crate) fn resolves(&self, dotted: &str) -> bool {
        self.src.resolve(dotted).is_some()
    }

    /// The value of `import dotted` (bound to the name it binds).
    pub(crate) fn module_value(&self, dotted: &str) -> Val {
        if self.resolves(dotted) {
            Val::Module(dotted.to_owned())
        } else {
            crate::builtins::qual(dotted)
        }
    }

    /// The value bound by `from base import name`.
    pub(crate) fn imported_name(&mut self, base: &str, name: &str) -> Val {
        let full = format!("{base}.{name}");
        if self.resolves(&full) {
            return Val::Module(full);
        }
        if self.resolves(base) {
            return Val::Symbol(base.to_owned(), name.to_owned());
        }
        crate::builtins::qual(&full)
    }

    /// Follows a symbol to its value in its module.
    pub fn force(&mut self, v: Val) -> Val {
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
        let Val::Symbol(m, n) = v else {
            return v;
        };
        let (head, rest) = match n.split_once('.') {
            Some((h, r)) => (h.to_owned(), Some(r.to_owned())),
            None => (n.clone(), None),
        };
        let Ok(res) = self.module(&m) else {
            return Val::Unknown;
        };
        let base = match res.env.get(&head) {
            Some(Val::Symbol(m2, n2)) if *m2 == m && *n2 == head => {
                // A function of that module: not a plain value.
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

    /// Copies a value from another module's heap into the current one.
    pub fn import_val(&mut self, src: &Heap, v: &Val, memo: &mut BTreeMap<ListId, ListId>) -> Val {
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
            Val::Class(c) => {
                let attrs = c
                    .attrs
                    .iter()
                    .map(|(k, v)| (k.clone(), self.import_val(src, v, memo)))
                    .collect();
                let bases = c
                    .bases
                    .iter()
                    .map(|b| self.import_val(src, b, memo))
                    .collect();
                Val::Class(Rc::new(ClassVal {
                    module: c.module.clone(),
                    name: c.name.clone(),
                    bases,
                    attrs,
                    spans: c.spans.clone(),
                    span: c.span,
                }))
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
            l.open = obj.open;
        }
        new
    }

    fn import_entry(
        &mut self,
        src: &Heap,
        e: &crate::value::Entry,
        memo: &mut BTreeMap<ListId, ListId>,
    ) -> crate::value::Entry {
        use crate::value::Target;
        let target = match &e.target {
            Target::Include(i) => Target::Include(Rc::new(self.import_include(src, i, memo))),
            Target::View(v) => Target::View(v.clone()),
            Target::Admin(a) => Target::Admin(a.clone()),
            Target::Unknown => Target::Unknown,
        };
        crate::value::Entry {
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
        i: &crate::value::IncludeVal,
        memo: &mut BTreeMap<ListId, ListId>,
    ) -> crate::value::IncludeVal {
        use crate::value::IncTarget;
        let target = match &i.target {
            IncTarget::Inline(id) => IncTarget::Inline(self.import_list(src, *id, memo)),
            IncTarget::Module(m) => IncTarget::Module(m.clone()),
            IncTarget::Missing(m) => IncTarget::Missing(m.clone()),
            IncTarget::External(m) => IncTarget::External(m.clone()),
        };
        crate::value::IncludeVal {
            call: i.call,
            target,
            tuple_app_name: i.tuple_app_name.clone(),
            namespace: i.namespace.clone(),
            locale: i.locale,
        }
    }

    // ----- heap ----------------------------------------------------------------------

    pub(crate) fn alloc(&mut self, mut items: Vec<Item>, tuple: bool) -> ListId {
        if items.len() > MAX_LIST_ITEMS {
            items.truncate(MAX_LIST_ITEMS);
            let span = self
                .cx
                .as_ref()
                .map(|c| Span::new(c.file, TextRange::default()));
            self.hit(Limit::ListSize, span);
            let it = self.item(Val::Unknown);
            items.push(it);
        }
        // Copying a list costs in proportion to its length.
        self.mem.steps += items.len() / 8;
        let id = self.mem.next_list;
        self.mem.next_list += 1;
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

    pub(crate) fn item(&mut self, val: Val) -> Item {
        let id = self.mem.next_item;
        self.mem.next_item += 1;
        Item {
            id,
            val,
            cond: self.st.reach.clone(),
            via: self.via.last().cloned(),
        }
    }

    /// True when something registered under `c` exists whenever the current code runs.
    pub(crate) fn definite(&self, c: &Cond) -> bool {
        c.implied_by(&self.st.reach)
    }

    pub(crate) fn new_list(&mut self, vals: Vec<Val>, tuple: bool) -> Val {
        let items = vals.into_iter().map(|v| self.item(v)).collect();
        Val::List(self.alloc(items, tuple))
    }

    pub(crate) fn list_items(&self, id: ListId) -> Vec<Item> {
        self.st
            .heap
            .get(&id)
            .map(|l| l.items.clone())
            .unwrap_or_default()
    }

    pub(crate) fn is_tuple(&self, id: ListId) -> bool {
        self.st.heap.get(&id).is_some_and(|l| l.tuple)
    }

    pub(crate) fn push_items(&mut self, id: ListId, items: Vec<Item>) {
        let reach = self.st.reach.clone();
        let len = self.st.heap.get(&id).map_or(0, |l| l.items.len());
        self.mem.steps += items.len() / 8;
        if len + items.len() > MAX_LIST_ITEMS {
            let span = self
                .cx
                .as_ref()
                .map(|c| Span::new(c.file, TextRange::default()));
            self.hit(Limit::ListSize, span);
            let keep = MAX_LIST_ITEMS.saturating_sub(len);
            let mut items = items;
            items.truncate(keep);
            let unknown = self.item(Val::Unknown);
            items.push(unknown);
            if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
                if l.items.len() <= MAX_LIST_ITEMS {
                    for mut it in items {
                        it.cond = it.cond.and(&reach);
                        l.items.push(it);
                    }
                }
            }
            return;
        }
        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
            for mut it in items {
                it.cond = it.cond.and(&reach);
                l.items.push(it);
            }
        }
    }

    /// Marks a list as possibly holding entries that cannot be known.
    pub(crate) fn taint_list(&mut self, id: ListId) {
        let it = self.item(Val::Unknown);
        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
            if l.items
                .last()
                .is_some_and(|last| last.val == Val::Unknown && last.cond == it.cond)
            {
                return;
            }
            l.items.push(it);
        }
    }

    /// Marks a list as open: a value absent from it may still be in it where the project
    /// runs.
    pub(crate) fn open_list(&mut self, id: ListId) {
        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
            l.open = true;
        }
    }

    /// Items of an iterable value, or `None` when it is not known at all.
    pub(crate) fn iter_items(&mut self, v: Val) -> Option<Vec<Item>> {
        match self.force(v) {
            Val::List(id) => Some(self.list_items(id)),
            Val::Dict(d) => {
                let keys: Vec<Val> = d.iter().map(|(k, _)| k.clone()).collect();
                Some(keys.into_iter().map(|k| self.item(k)).collect())
            }
            _ => None,
        }
    }

    pub(crate) fn new_branch(&mut self, span: Span) -> u32 {
        let id = u32::try_from(self.mem.branches.len()).unwrap_or(u32::MAX);
        self.mem.branches.push(Branch { span });
        id
    }

    // ----- statements ----------------------------------------------------------------

    pub(crate) fn exec_block(&mut self, body: &[Stmt]) -> Flow {
        for stmt in body {
            if self.st.reach.is_impossible() || self.raised {
                return Flow::Normal;
            }
            if !self.step() {
                return Flow::Normal;
            }
            let f = self.exec(stmt);
            if f != Flow::Normal {
                return f;
            }
        }
        Flow::Normal
    }

    pub(crate) fn span(&self, range: TextRange) -> Span {
        let file = self.cx.as_ref().map_or(FileId(0), |c| c.file);
        Span::new(file, range)
    }

    fn exec(&mut self, stmt: &Stmt) -> Flow {
        match stmt {
            Stmt::Assign(a) => {
                self.env_read = None;
                let v = self.eval(&a.value);
                for t in &a.targets {
                    self.assign(t, v.clone(), a.range());
                }
                self.env_read = None;
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    self.env_read = None;
                    let v = self.eval(value);
                    self.assign(&a.target, v, a.range());
                    self.env_read = None;
                }
            }
            Stmt::AugAssign(a) => self.aug_assign(a),
            Stmt::Expr(e) => {
                self.eval(&e.value);
            }
            Stmt::If(s) => return self.exec_if(s),
            Stmt::Try(t) => {
                return self.exec_try(&t.body, &t.handlers, &t.orelse, &t.finalbody, t.range())
            }
            Stmt::For(f) => return self.exec_for(f),
            Stmt::While(w) => self.taint_run(&w.body, None),
            Stmt::With(w) => return self.exec_with(w),
            Stmt::Match(m) => {
                for case in &m.cases {
                    self.taint_run(&case.body, None);
                }
            }
            Stmt::FunctionDef(f) => {
                let val = match (self.cx(), self.st.frames.is_empty()) {
                    (Some(cx), true) => {
                        // Only top-level functions can be run later.
                        let idx = self.mem.funcs.len();
                        match self.current_parsed(&cx, f.range()) {
                            Some((parsed, index)) => {
                                self.mem.funcs.push(FuncInfo {
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
            Stmt::ClassDef(c) => self.exec_class(c),
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
                    match t {
                        Expr::Name(n) => self.unbind(n.id.as_str()),
                        Expr::Subscript(s) => {
                            let base = self.eval(&s.value);
                            if let Val::List(id) = self.force(base) {
                                self.taint_list(id);
                            }
                        }
                        _ => {}
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

    /// A class statement: its bases, and its body run in a class scope, for top-level
    /// classes and the classes nested in them (a model's `Meta`). Classes inside
    /// functions are opaque.
    fn exec_class(&mut self, c: &ast::StmtClassDef) {
        let name = c.name.id.as_str().to_owned();
        let in_function = self.st.frames.iter().any(|f| f.kind == FrameKind::Function);
        let Some(cx) = self.cx() else { return };
        if in_function || self.class_depth >= MAX_CLASS_DEPTH {
            self.bind(&name, Val::Unknown, c.range());
            return;
        }
        let mut bases = Vec::new();
        if let Some(args) = &c.arguments {
            for b in &args.args {
                let v = self.eval(b);
                bases.push(v);
            }
            for k in &args.keywords {
                self.eval(&k.value);
            }
        }
        for d in &c.decorator_list {
            self.eval(&d.expression);
        }
        let mut frame = Frame::new(FrameKind::Class);
        // Names a class body does not bind are looked up in the module.
        frame.globals = BTreeSet::new();
        self.st.frames.push(frame);
        self.class_depth += 1;
        let saved_try = self.try_depth;
        self.exec_block(&c.body);
        self.try_depth = saved_try;
        self.class_depth -= 1;
        let frame = self
            .st
            .frames
            .pop()
            .unwrap_or_else(|| Frame::new(FrameKind::Class));
        let v = Val::Class(Rc::new(ClassVal {
            module: cx.module.clone(),
            name: name.clone(),
            bases,
            attrs: frame.locals,
            spans: frame.spans,
            span: self.span(c.name.range),
        }));
        // Decorated classes may be replaced by the decorator's result.
        let v = if c.decorator_list.is_empty() {
            v
        } else {
            Val::Symbol(cx.module.clone(), name.clone())
        };
        self.bind(&name, v, c.range());
    }

    /// The module being run and the index of the top-level statement at `range`.
    fn current_parsed(&self, cx: &Cx, range: TextRange) -> Option<(Rc<ParsedModule>, usize)> {
        let index = cx.parsed.body().iter().position(|s| s.range() == range)?;
        Some((cx.parsed.clone(), index))
    }

    pub(crate) fn note_import(&mut self, dotted: &str) {
        if self.try_depth == 0 {
            return;
        }
        if self.resolves(dotted) {
            return;
        }
        if self.src.is_missing_project_module(dotted) {
            self.raised = true;
        } else {
            self.may_raise = true;
        }
    }

    fn import_from(&mut self, i: &ast::StmtImportFrom) {
        let Some(cx) = self.cx() else { return };
        let Some(base) = absolute(
            &cx.module,
            cx.is_package,
            i.level,
            i.module.as_ref().map(|m| m.id.as_str()),
        ) else {
            return;
        };
        if i.names.iter().any(|a| a.name.id.as_str() == "*") {
            self.note_import(&base);
            if self.raised {
                // The import certainly fails here: the `except ImportError` handler runs.
                return;
            }
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
                        let origin = res.origins.get(&k).cloned();
                        self.bind(&k, v, i.range());
                        if let (Some(o), true) = (origin, self.st.frames.is_empty()) {
                            // Keep where the imported module set it.
                            self.st.origins.insert(k, o);
                        }
                    }
                    if res.star_unknown.is_some() {
                        self.st.star_unknown = res.star_unknown;
                    }
                }
                Err(_) => {
                    // It may rebind any name: what was bound before stays, marked.
                    let span = self.span(i.range());
                    if self.st.frames.is_empty() {
                        for o in self.st.origins.values_mut() {
                            o.overridden_at = Some(span);
                        }
                    }
                    self.st.star_unknown = Some(span);
                }
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

    pub(crate) fn bind(&mut self, name: &str, v: Val, range: TextRange) {
        let span = self.span(range);
        if let Some(f) = self.st.frames.last_mut() {
            if !f.globals.contains(name) {
                if f.kind == FrameKind::Class {
                    f.spans.insert(name.to_owned(), span);
                }
                f.locals.insert(name.to_owned(), v);
                return;
            }
        }
        if self.st.frames.is_empty() {
            self.st.origins.insert(
                name.to_owned(),
                Origin {
                    span,
                    env: self.env_read.clone(),
                    overridden_at: None,
                },
            );
        }
        self.st.globals.insert(name.to_owned(), v);
    }

    fn unbind(&mut self, name: &str) {
        if let Some(f) = self.st.frames.last_mut() {
            if !f.globals.contains(name) {
                f.locals.remove(name);
                return;
            }
        }
        self.st.globals.remove(name);
        self.st.origins.remove(name);
    }

    pub(crate) fn lookup(&self, name: &str) -> Val {
        // Function scopes see their own names; class scopes their own, then the module's
        // (a class body can't see an enclosing function's names, nor a method its class's).
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
        crate::builtins::builtin_name(name)
    }

    pub(crate) fn assign(&mut self, target: &Expr, v: Val, range: TextRange) {
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
                let key = self.eval(&s.slice);
                self.set_item(&s.value, base, key, v, range);
            }
            _ => {}
        }
    }

    /// `base[key] = v`: dicts bound to a name are updated, lists are tainted.
    fn set_item(&mut self, base_expr: &Expr, base: Val, key: Val, v: Val, range: TextRange) {
        match self.force(base) {
            Val::List(id) => self.taint_list(id),
            Val::Dict(d) => {
                let Expr::Name(n) = base_expr else { return };
                let mut items = d.as_ref().clone();
                if key.is_plain() {
                    items.retain(|(k, _)| *k != key);
                    items.push((key, v));
                } else {
                    items.push((Val::Unknown, Val::Unknown));
                }
                let name = n.id.as_str().to_owned();
                self.rebind_mutated(&name, Val::Dict(Rc::new(items)), range);
            }
            _ => {}
        }
    }

    /// Rebinds `name` after an in-place change, keeping where it was first bound.
    pub(crate) fn rebind_mutated(&mut self, name: &str, v: Val, range: TextRange) {
        let origin = self.st.origins.get(name).cloned();
        self.bind(name, v, range);
        if let (Some(mut o), true) = (origin, self.st.frames.is_empty()) {
            o.span = self.span(range);
            self.st.origins.insert(name.to_owned(), o);
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

    /// A name bound to a symbol of another module, about to be changed in place
    /// (`urlpatterns += ...`, `.extend()`): import its value once, so the change is made
    /// to this module's copy, as Python changes the one shared object.
    pub(crate) fn materialize(&mut self, name: &str) -> Val {
        let cur = self.lookup(name);
        if !matches!(cur, Val::Symbol(..)) {
            return cur;
        }
        let forced = self.force(cur);
        if matches!(forced, Val::List(_) | Val::Dict(_)) {
            let in_frame = self
                .st
                .frames
                .last()
                .is_some_and(|f| !f.globals.contains(name) && f.locals.contains_key(name));
            if in_frame {
                if let Some(f) = self.st.frames.last_mut() {
                    f.locals.insert(name.to_owned(), forced.clone());
                }
            } else {
                self.st.globals.insert(name.to_owned(), forced.clone());
            }
        }
        forced
    }

    fn aug_assign(&mut self, a: &ast::StmtAugAssign) {
        let Expr::Name(n) = a.target.as_ref() else {
            if let Expr::Attribute(_) | Expr::Subscript(_) = a.target.as_ref() {
                self.eval(&a.value);
            }
            return;
        };
        let name = n.id.as_str();
        let cur = self.materialize(name);
        self.env_read = None;
        let rhs = self.eval(&a.value);
        if !matches!(a.op, ast::Operator::Add) {
            self.bind(name, Val::Unknown, a.range());
            return;
        }
        match cur {
            // `list += iterable` extends the list in place.
            Val::List(id) => {
                self.extend(id, rhs);
                let origin = self.st.origins.get(name).cloned();
                if let (Some(mut o), true) = (origin, self.st.frames.is_empty()) {
                    o.span = self.span(a.range());
                    self.st.origins.insert(name.to_owned(), o);
                }
            }
            other => {
                let v = self.binop_add(other, rhs);
                self.bind(name, v, a.range());
            }
        }
        self.env_read = None;
    }

    pub(crate) fn extend(&mut self, id: ListId, v: Val) {
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

    pub(crate) fn truth(&mut self, v: &Val) -> Option<bool> {
        match v {
            Val::Bool(b) => Some(*b),
            Val::None => Some(false),
            Val::Int(i) => Some(*i != 0),
            Val::Str(s) | Val::Translated(s) => Some(!s.is_empty()),
            Val::OneOf(alts) => {
                let mut out = None;
                for a in alts.iter() {
                    let t = self.truth(a)?;
                    if out.is_some_and(|o| o != t) {
                        return None;
                    }
                    out = Some(t);
                }
                out
            }
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
            | Val::Class(_)
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
            star_unknown: arms.iter().find_map(|s| s.star_unknown),
            ..State::default()
        };
        for s in &arms {
            for f in &s.included {
                if !out.included.contains(f) {
                    out.included.push(*f);
                }
            }
            out.included_paths.extend(s.included_paths.iter().cloned());
        }
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
            let mut spans = BTreeMap::new();
            for s in &arms {
                if let Some(f) = s.frames.get(fi) {
                    globals.extend(f.globals.iter().cloned());
                    for r in &f.returns {
                        if !returns.contains(r) {
                            returns.push(r.clone());
                        }
                    }
                    for (k, v) in &f.spans {
                        spans.entry(k.clone()).or_insert(*v);
                    }
                }
            }
            let kind = base.frames[fi].kind;
            out.frames.push(Frame {
                kind,
                locals,
                globals,
                returns,
                spans,
            });
        }
        // Origins: the last arm that bound a name differently from the base says where
        // (its value is an alternative of that arm).
        for s in &arms {
            for (k, o) in &s.origins {
                if base.origins.get(k) != Some(o) || !out.origins.contains_key(k) {
                    out.origins.insert(k.clone(), o.clone());
                }
            }
        }
        out.origins.retain(|k, _| out.globals.contains_key(k));
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
                let tuple = vals.iter().flatten().any(|v| match v {
                    Val::List(id) => heap.get(id).is_some_and(|l| l.tuple),
                    _ => false,
                });
                let open = vals.iter().flatten().any(|v| match v {
                    Val::List(id) => heap.get(id).is_some_and(|l| l.open),
                    _ => false,
                });
                let id = self.mem.next_list;
                self.mem.next_list += 1;
                heap.insert(id, Rc::new(ListObj { items, tuple, open }));
                out.insert(name.clone(), Val::List(id));
            } else if vals.len() == n && vals.iter().all(Option::is_some) {
                // Scalars bound in every arm: one of them.
                let alts: Vec<Val> = vals.into_iter().flatten().cloned().collect();
                out.insert(name.clone(), Val::one_of(alts));
            } else {
                out.insert(name.clone(), Val::Unknown);
            }
        }
        out
    }

    /// `try`/`except`/`else`/`finally`, and `with contextlib.suppress(...)`.
    fn exec_try(
        &mut self,
        body: &[Stmt],
        handlers: &[ast::ExceptHandler],
        orelse: &[Stmt],
        finalbody: &[Stmt],
        range: TextRange,
    ) -> Flow {
        let catches_import = |h: &ast::ExceptHandler| {
            let ast::ExceptHandler::ExceptHandler(h) = h;
            match &h.type_ {
                None => true,
                Some(ty) => catches_import_error(ty),
            }
        };
        let handler_bodies: Vec<&[Stmt]> = handlers
            .iter()
            .map(|h| {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                h.body.as_slice()
            })
            .collect();
        let import_handler = handlers
            .iter()
            .position(catches_import)
            .map(|i| handler_bodies[i]);
        self.exec_try_bodies(
            body,
            &handler_bodies,
            import_handler,
            orelse,
            finalbody,
            range,
        )
    }

    pub(crate) fn exec_try_bodies(
        &mut self,
        body: &[Stmt],
        handlers: &[&[Stmt]],
        import_handler: Option<&[Stmt]>,
        orelse: &[Stmt],
        finalbody: &[Stmt],
        range: TextRange,
    ) -> Flow {
        let saved = (self.raised, self.may_raise);
        self.raised = false;
        self.may_raise = false;
        self.try_depth += 1;
        let base = self.st.clone();
        let body_flow = self.exec_block(body);
        self.try_depth -= 1;
        let (raised, may_raise) = (self.raised, self.may_raise);
        self.raised = saved.0;
        self.may_raise = saved.1 || (may_raise && self.try_depth > 0);
        let flow = if raised && import_handler.is_some() {
            // The body certainly failed on an import: what it did before stays, and the
            // handler runs.
            match import_handler {
                Some(h) => self.exec_block(h),
                None => Flow::Normal,
            }
        } else if raised || may_raise {
            // The body may or may not fail: the body (then `else`) and each handler are
            // arms of one branch. The body already ran; its state is the first arm's.
            let b = self.new_branch(self.span(range));
            let body_state = std::mem::replace(&mut self.st, base.clone());
            let mut states = Vec::new();
            let mut flows = Vec::new();
            self.st = body_state;
            self.st.reach = base.reach.and(&Cond::arm(b, 1));
            let f = if body_flow == Flow::Normal {
                self.exec_block(orelse)
            } else {
                body_flow
            };
            flows.push(f);
            states.push(std::mem::take(&mut self.st));
            for (i, h) in handlers.iter().take(62).enumerate() {
                self.st = base.clone();
                self.st.reach = base.reach.and(&Cond::arm(b, 1 << (i + 1)));
                flows.push(self.exec_block(h));
                states.push(std::mem::take(&mut self.st));
            }
            self.join(&base, states, &flows, b)
        } else {
            if body_flow != Flow::Normal {
                return body_flow;
            }
            self.exec_block(orelse)
        };
        let fin = self.exec_block(finalbody);
        if fin != Flow::Normal {
            return fin;
        }
        flow
    }

    /// `with`: the body runs; `with contextlib.suppress(ImportError):` is a `try` whose
    /// handler does nothing.
    fn exec_with(&mut self, w: &ast::StmtWith) -> Flow {
        let mut suppresses_import = false;
        for item in &w.items {
            if let Expr::Call(call) = &item.context_expr {
                let callee = self.eval(&call.func);
                if matches!(&callee, Val::Qual(q) if q == "contextlib.suppress")
                    && call.arguments.args.iter().any(catches_import_error)
                {
                    suppresses_import = true;
                    continue;
                }
            }
            let v = self.eval(&item.context_expr);
            if let Some(t) = &item.optional_vars {
                let _ = v;
                self.assign(t, Val::Unknown, w.range());
            }
        }
        if suppresses_import {
            let empty: &[Stmt] = &[];
            return self.exec_try_bodies(&w.body, &[empty], Some(empty), &[], &[], w.range());
        }
        self.exec_block(&w.body)
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
                self.hit(Limit::Iterations, Some(loop_span));
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
    pub(crate) fn taint_run(&mut self, body: &[Stmt], bind: Option<(&Expr, Val)>) {
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
            if let Some(o) = after.origins.get(&k) {
                self.st.origins.insert(k.clone(), o.clone());
            }
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
        if after.star_unknown.is_some() {
            self.st.star_unknown = after.star_unknown;
        }
    }

    /// Calls a function defined at the top level of the module being run.
    pub(crate) fn call_func(&mut self, idx: usize, call: &ast::ExprCall) -> Val {
        let (args, kwargs) = self.eval_args(call);
        let Some(info) = self.mem.funcs.get(idx) else {
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
        let mut frame = Frame::new(FrameKind::Function);
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
}

/// True when an `except` type (or a `suppress()` argument) catches a failed import.
fn catches_import_error(ty: &Expr) -> bool {
    let names: Vec<String> = match ty {
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

/// Values a loop cannot run over as one definite item.
pub(crate) fn is_uncertain_item(v: &Val) -> bool {
    v.is_unknown() || matches!(v, Val::Path(FsPath::Other) | Val::OneOf(_))
}

pub(crate) fn describe(v: &Val) -> String {
    match v {
        Val::Str(s) => s.clone(),
        Val::Path(FsPath::Known(p)) => p.clone(),
        Val::AppConfig(a) => a.name.clone(),
        Val::Int(i) => i.to_string(),
        _ => "…".to_owned(),
    }
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
    // Position of each item id in `out`, kept in step with insertions.
    let mut index: BTreeMap<u32, usize> = BTreeMap::new();
    for (arm, items) in lists {
        let mine: BTreeSet<u32> = items.iter().map(|i| i.id).collect();
        let mut pos = 0usize;
        for it in *items {
            match index.get(&it.id).copied() {
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
                    for v in index.values_mut() {
                        if *v >= pos {
                            *v += 1;
                        }
                    }
                    index.insert(it.id, pos);
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

/// Resolves a `from . import` style module name relative to `current` (a dotted
/// module name) with `level` leading dots. `is_package` says whether `current` is a
/// package's `__init__`.
pub fn absolute(
    current: &str,
    is_package: bool,
    level: u32,
    module: Option<&str>,
) -> Option<String> {
    if level == 0 {
        return module.map(str::to_owned);
    }
    let mut parts: Vec<&str> = current.split('.').collect();
    if !is_package {
        parts.pop();
    }
    for _ in 1..level {
        parts.pop()?;
    }
    let mut base = parts.join(".");
    if let Some(m) = module {
        if !base.is_empty() {
            base.push('.');
        }
        base.push_str(m);
    }
    if base.is_empty() {
        None
    } else {
        Some(base)
    }
}
