//! The functions of one module as `RunPython` sees them: what a `code`/`reverse_code`
//! argument refers to, and every function of the same module it reaches, transitively.
//!
//! [`ModuleScope`] indexes a module's top-level functions, classes, plain bindings and
//! imports. [`ModuleScope::resolve_code`] turns the argument given to `RunPython` into the
//! function it names (a `def`, a lambda, `functools.partial(f, ...)`, a method or
//! staticmethod of a class of the module, a function defined in the `Migration` class
//! body) or says it is `RunPython.noop` or unknown. [`ModuleScope::reachable`] follows the
//! references of those functions to other functions of the module, breadth first, so the
//! order of what it returns is the order of the source and never depends on anything
//! else.
//!
//! Nothing here guesses: a name bound by an import, a conditional definition or several
//! kinds of bindings is unknown, and an unknown function is simply not followed.

use crate::ast::visitor::{self, Visitor};
use crate::ast::{self, Expr, ExprContext, Stmt};
use crate::eval::{self, ModuleBindings};
use crate::{Ranged, TextRange};
use std::collections::{BTreeMap, BTreeSet};

/// How many functions [`ModuleScope::reachable`] follows at most: a migration module has a
/// handful; the cap only bounds pathological input.
pub const MAX_REACHED: usize = 512;

/// How many `NAME = other` or `partial(...)` steps a resolution follows.
const MAX_RESOLVE_DEPTH: usize = 8;

/// A function definition or a lambda.
#[derive(Debug, Clone, Copy)]
pub enum FuncKind<'a> {
    Def(&'a ast::StmtFunctionDef),
    Lambda(&'a ast::ExprLambda),
}

/// A function of the module, with the class it is defined in, if any.
#[derive(Debug, Clone, Copy)]
pub struct Func<'a> {
    pub kind: FuncKind<'a>,
    pub class: Option<&'a ast::StmtClassDef>,
}

impl<'a> Func<'a> {
    /// The name to show: `forwards`, `Seeder.run`, or `<lambda>`. Functions defined in
    /// the `Migration` class body are named without the class, as they are written.
    pub fn name(&self) -> String {
        match self.kind {
            FuncKind::Def(d) => match self.class {
                Some(c) if c.name.id.as_str() != "Migration" => {
                    format!("{}.{}", c.name.id.as_str(), d.name.id.as_str())
                }
                _ => d.name.id.as_str().to_owned(),
            },
            FuncKind::Lambda(_) => "<lambda>".to_owned(),
        }
    }

    /// The whole definition.
    pub fn range(&self) -> TextRange {
        match self.kind {
            FuncKind::Def(d) => d.range,
            FuncKind::Lambda(l) => l.range,
        }
    }

    /// The function's name in its `def`, or the whole lambda.
    pub fn name_range(&self) -> TextRange {
        match self.kind {
            FuncKind::Def(d) => d.name.range,
            FuncKind::Lambda(l) => l.range,
        }
    }

    pub fn parameters(&self) -> Option<&'a ast::Parameters> {
        match self.kind {
            FuncKind::Def(d) => Some(&d.parameters),
            FuncKind::Lambda(l) => l.parameters.as_deref(),
        }
    }

    /// Visits the parameters (their defaults are literals of this function too) and the
    /// body, nested functions and lambdas included.
    pub fn walk<V: Visitor<'a>>(&self, v: &mut V) {
        if let Some(p) = self.parameters() {
            v.visit_parameters(p);
        }
        match self.kind {
            FuncKind::Def(d) => v.visit_body(&d.body),
            FuncKind::Lambda(l) => v.visit_expr(&l.body),
        }
    }

    /// Every name the function binds locally (parameters, assignment and loop targets,
    /// imports, nested definitions, exception names), nested scopes included. A name in
    /// this set never refers to the module-level binding of the same name.
    pub fn local_names(&self) -> BTreeSet<&'a str> {
        let mut c = LocalNames::default();
        self.walk(&mut c);
        c.names
    }

    fn key(&self) -> (u32, u32) {
        let r = self.range();
        (r.start().into(), r.end().into())
    }
}

#[derive(Default)]
struct LocalNames<'a> {
    names: BTreeSet<&'a str>,
}

impl<'a> Visitor<'a> for LocalNames<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::FunctionDef(f) => {
                self.names.insert(f.name.id.as_str());
            }
            Stmt::ClassDef(c) => {
                self.names.insert(c.name.id.as_str());
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    self.names.insert(import_bound_name(a));
                }
            }
            Stmt::ImportFrom(i) => {
                for a in &i.names {
                    self.names.insert(import_bound_name(a));
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            if matches!(n.ctx, ExprContext::Store | ExprContext::Del) {
                self.names.insert(n.id.as_str());
            }
        }
        visitor::walk_expr(self, expr);
    }

    fn visit_parameter(&mut self, p: &'a ast::Parameter) {
        self.names.insert(p.name.id.as_str());
        visitor::walk_parameter(self, p);
    }

    fn visit_except_handler(&mut self, h: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(h2) = h;
        if let Some(n) = &h2.name {
            self.names.insert(n.id.as_str());
        }
        visitor::walk_except_handler(self, h);
    }
}

/// The name an import alias binds: `import a.b` binds `a`, `import a.b as c` binds `c`.
fn import_bound_name(a: &ast::Alias) -> &str {
    match &a.asname {
        Some(n) => n.id.as_str(),
        None => {
            let full = a.name.id.as_str();
            full.split('.').next().unwrap_or(full)
        }
    }
}

/// A name bound by an import statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Import {
    /// The name the import binds in its scope.
    pub bound: String,
    /// The dotted path the bound name refers to: `import a.b as m` gives `a.b`,
    /// `import a.b` gives `a` (the name bound), `from a.b import C` gives `a.b.C`, and a
    /// relative `from ..models import C` gives `..models.C`.
    pub target: String,
    /// For `import a.b.c` (no `as`): the full module path, reachable as `a.b.c` through
    /// the bound name `a`.
    pub full_module: Option<String>,
    /// The alias in the import statement.
    pub range: TextRange,
}

/// The bindings of one `import` or `from ... import` statement (star imports bind
/// nothing that can be known).
pub fn imports_of(stmt: &Stmt) -> Vec<Import> {
    let mut out = Vec::new();
    match stmt {
        Stmt::Import(i) => {
            for a in &i.names {
                let full = a.name.id.as_str();
                let (target, full_module) = match &a.asname {
                    Some(_) => (full.to_owned(), None),
                    None => (
                        full.split('.').next().unwrap_or(full).to_owned(),
                        full.contains('.').then(|| full.to_owned()),
                    ),
                };
                out.push(Import {
                    bound: import_bound_name(a).to_owned(),
                    target,
                    full_module,
                    range: a.range,
                });
            }
        }
        Stmt::ImportFrom(i) => {
            let mut module = ".".repeat(i.level as usize);
            if let Some(m) = &i.module {
                module.push_str(m.id.as_str());
            }
            for a in &i.names {
                let name = a.name.id.as_str();
                if name == "*" {
                    continue;
                }
                let target = if module.ends_with('.') || module.is_empty() {
                    format!("{module}{name}")
                } else {
                    format!("{module}.{name}")
                };
                out.push(Import {
                    bound: import_bound_name(a).to_owned(),
                    target,
                    full_module: None,
                    range: a.range,
                });
            }
        }
        _ => {}
    }
    out
}

/// What a `RunPython` argument (or any callable expression) refers to.
#[derive(Debug, Clone, Copy)]
pub enum Resolution<'a> {
    Func(Func<'a>),
    /// `RunPython.noop`: does nothing, on purpose.
    Noop,
    /// Imported, computed, or otherwise not statically known.
    Unknown,
}

/// A function reached from the roots given to [`ModuleScope::reachable`].
#[derive(Debug, Clone, Copy)]
pub struct Reached<'a> {
    pub func: Func<'a>,
    /// Index (in the same list) of the function it was first reached from; `None` for a
    /// root.
    pub from: Option<usize>,
    /// Where that function refers to it.
    pub via: Option<TextRange>,
}

/// The root a reached function was found from, following `from` links.
pub fn root_of(reached: &[Reached<'_>], mut index: usize) -> usize {
    for _ in 0..reached.len() {
        match reached.get(index).and_then(|r| r.from) {
            Some(p) => index = p,
            None => break,
        }
    }
    index
}

/// One module's functions, classes, bindings and imports, gathered on first use (most
/// migrations are never asked: they run no Python).
#[derive(Debug)]
pub struct ModuleScope<'a> {
    pub body: &'a [Stmt],
    maps: std::sync::OnceLock<Maps<'a>>,
}

/// What [`ModuleScope`] gathers from the module's statements.
#[derive(Debug)]
struct Maps<'a> {
    bindings: ModuleBindings<'a>,
    functions: BTreeMap<&'a str, &'a ast::StmtFunctionDef>,
    classes: BTreeMap<&'a str, &'a ast::StmtClassDef>,
    imports: BTreeMap<String, Import>,
    /// Names bound in more than one way at module level: never resolved.
    ambiguous: BTreeSet<&'a str>,
    /// The `Migration` class, whose body is the scope of `operations`.
    migration: Option<&'a ast::StmtClassDef>,
}

impl<'a> ModuleScope<'a> {
    pub fn new(body: &'a [Stmt]) -> Self {
        ModuleScope {
            body,
            maps: std::sync::OnceLock::new(),
        }
    }

    fn maps(&self) -> &Maps<'a> {
        self.maps.get_or_init(|| Maps::of(self.body))
    }

    /// The module's plain `NAME = value` bindings ([`ModuleBindings`]).
    pub fn bindings(&self) -> &ModuleBindings<'a> {
        &self.maps().bindings
    }
}

impl<'a> Maps<'a> {
    fn of(body: &'a [Stmt]) -> Self {
        let bindings = ModuleBindings::new(body);
        let mut functions = BTreeMap::new();
        let mut classes = BTreeMap::new();
        let mut imports = BTreeMap::new();
        // Which kinds of top-level statement bind each name: a name bound by two kinds
        // (a `def` and an import, say) depends on order and is left unresolved. A bit per
        // kind.
        let mut kinds: BTreeMap<&'a str, u8> = BTreeMap::new();
        for stmt in body {
            match stmt {
                Stmt::FunctionDef(f) => {
                    functions.insert(f.name.id.as_str(), f);
                    *kinds.entry(f.name.id.as_str()).or_default() |= 1 << 0;
                }
                Stmt::ClassDef(c) => {
                    classes.insert(c.name.id.as_str(), c);
                    *kinds.entry(c.name.id.as_str()).or_default() |= 1 << 1;
                }
                Stmt::Import(_) | Stmt::ImportFrom(_) => {
                    for i in imports_of(stmt) {
                        imports.insert(i.bound.clone(), i);
                    }
                    let names: Vec<&'a str> = match stmt {
                        Stmt::Import(i) => i.names.iter().map(import_bound_name).collect(),
                        Stmt::ImportFrom(i) => i.names.iter().map(import_bound_name).collect(),
                        _ => Vec::new(),
                    };
                    for n in names {
                        *kinds.entry(n).or_default() |= 1 << 2;
                    }
                }
                Stmt::Assign(a) => {
                    let mut names = Vec::new();
                    for t in &a.targets {
                        store_names(t, &mut names);
                    }
                    for n in names {
                        *kinds.entry(n).or_default() |= 1 << 3;
                    }
                }
                Stmt::AnnAssign(a) => {
                    let mut names = Vec::new();
                    store_names(&a.target, &mut names);
                    for n in names {
                        *kinds.entry(n).or_default() |= 1 << 3;
                    }
                }
                _ => {}
            }
        }
        let ambiguous = kinds
            .into_iter()
            .filter(|(_, k)| k.count_ones() > 1)
            .map(|(n, _)| n)
            .collect();
        let migration = body.iter().rev().find_map(|s| match s {
            Stmt::ClassDef(c) if c.name.id.as_str() == "Migration" => Some(c),
            _ => None,
        });
        Maps {
            bindings,
            functions,
            classes,
            imports,
            ambiguous,
            migration,
        }
    }
}

impl<'a> ModuleScope<'a> {
    /// A module-level import binding of `name`, unless the name is also bound otherwise.
    pub fn import(&self, name: &str) -> Option<&Import> {
        if self.maps().ambiguous.contains(name) {
            return None;
        }
        self.maps().imports.get(name)
    }

    /// Every module-level import binding, by bound name.
    pub fn imports(&self) -> impl Iterator<Item = &Import> + '_ {
        let maps = self.maps();
        maps.imports
            .values()
            .filter(move |i| !maps.ambiguous.contains(i.bound.as_str()))
    }

    /// A top-level function of the module.
    pub fn function(&self, name: &str) -> Option<Func<'a>> {
        if self.maps().ambiguous.contains(name) {
            return None;
        }
        self.maps().functions.get(name).map(|d| Func {
            kind: FuncKind::Def(d),
            class: None,
        })
    }

    /// A top-level class of the module.
    pub fn class(&self, name: &str) -> Option<&'a ast::StmtClassDef> {
        if self.maps().ambiguous.contains(name) {
            return None;
        }
        self.maps().classes.get(name).copied()
    }

    /// Resolves an argument of `RunPython` written in the `Migration` class body: a name
    /// defined in that body is found there before the module.
    pub fn resolve_code(&self, expr: &'a Expr) -> Resolution<'a> {
        if let (Expr::Name(n), Some(class)) = (expr, self.maps().migration) {
            if let Some(d) = method(class, n.id.as_str()) {
                return Resolution::Func(Func {
                    kind: FuncKind::Def(d),
                    class: Some(class),
                });
            }
        }
        self.resolve(expr)
    }

    /// Resolves a callable expression written at module level (or in a function, for a
    /// name that is not local to it).
    pub fn resolve(&self, expr: &'a Expr) -> Resolution<'a> {
        self.resolve_depth(expr, 0)
    }

    fn resolve_depth(&self, expr: &'a Expr, depth: usize) -> Resolution<'a> {
        if depth > MAX_RESOLVE_DEPTH {
            return Resolution::Unknown;
        }
        match expr {
            Expr::Lambda(l) => Resolution::Func(Func {
                kind: FuncKind::Lambda(l),
                class: None,
            }),
            Expr::Name(n) => self.resolve_name_depth(n.id.as_str(), depth),
            Expr::Attribute(a) => {
                let attr = a.attr.id.as_str();
                if attr == "noop"
                    && eval::dotted_name(&a.value)
                        .is_some_and(|d| d == "RunPython" || d.ends_with(".RunPython"))
                {
                    return Resolution::Noop;
                }
                // `Seeder.run` or `Seeder().run`.
                let class_expr = match a.value.as_ref() {
                    Expr::Call(c) if c.arguments.is_empty() => c.func.as_ref(),
                    other => other,
                };
                if let Expr::Name(cn) = class_expr {
                    if let Some(class) = self.class(cn.id.as_str()) {
                        if let Some(f) = self.method_of(class, attr, 0) {
                            return Resolution::Func(f);
                        }
                    }
                }
                Resolution::Unknown
            }
            Expr::Call(c) => {
                let is_partial = eval::dotted_name(&c.func)
                    .is_some_and(|d| d == "partial" || d == "functools.partial");
                match c.arguments.args.first() {
                    Some(first) if is_partial && !first.is_starred_expr() => {
                        self.resolve_depth(first, depth + 1)
                    }
                    _ => Resolution::Unknown,
                }
            }
            _ => Resolution::Unknown,
        }
    }

    /// Resolves a module-level name to a function.
    pub fn resolve_name(&self, name: &str) -> Resolution<'a> {
        self.resolve_name_depth(name, 0)
    }

    fn resolve_name_depth(&self, name: &str, depth: usize) -> Resolution<'a> {
        if let Some(f) = self.function(name) {
            return Resolution::Func(f);
        }
        if self.maps().ambiguous.contains(name) {
            return Resolution::Unknown;
        }
        match self.maps().bindings.get(name) {
            Some(bound) => self.resolve_depth(bound, depth + 1),
            None => Resolution::Unknown,
        }
    }

    /// A method of a class of the module, looking into its bases of the same module.
    fn method_of(
        &self,
        class: &'a ast::StmtClassDef,
        name: &str,
        depth: usize,
    ) -> Option<Func<'a>> {
        if let Some(d) = method(class, name) {
            return Some(Func {
                kind: FuncKind::Def(d),
                class: Some(class),
            });
        }
        if depth >= MAX_RESOLVE_DEPTH {
            return None;
        }
        let bases = class.arguments.as_deref().map_or(&[][..], |a| &a.args[..]);
        bases.iter().find_map(|b| match b {
            Expr::Name(n) => self
                .class(n.id.as_str())
                .and_then(|c| self.method_of(c, name, depth + 1)),
            _ => None,
        })
    }

    /// The functions of the module `func` refers to, in source order, each with the
    /// range of the reference.
    pub fn references(&self, func: &Func<'a>) -> Vec<(Func<'a>, TextRange)> {
        let mut r = Refs {
            scope: self,
            locals: func.local_names(),
            class: func.class,
            out: Vec::new(),
        };
        func.walk(&mut r);
        r.out
    }

    /// Every function reached from `roots`, the roots first, then breadth first in source
    /// order. Each function appears once.
    pub fn reachable(&self, roots: &[Func<'a>]) -> Vec<Reached<'a>> {
        let mut out: Vec<Reached<'a>> = Vec::new();
        let mut seen = BTreeSet::new();
        for r in roots {
            if seen.insert(r.key()) {
                out.push(Reached {
                    func: *r,
                    from: None,
                    via: None,
                });
            }
        }
        let mut i = 0;
        while i < out.len() && out.len() < MAX_REACHED {
            let f = out[i].func;
            for (g, via) in self.references(&f) {
                if out.len() >= MAX_REACHED {
                    break;
                }
                if seen.insert(g.key()) {
                    out.push(Reached {
                        func: g,
                        from: Some(i),
                        via: Some(via),
                    });
                }
            }
            i += 1;
        }
        out
    }
}

/// A function defined directly in a class body.
fn method<'a>(class: &'a ast::StmtClassDef, name: &str) -> Option<&'a ast::StmtFunctionDef> {
    class.body.iter().rev().find_map(|s| match s {
        Stmt::FunctionDef(f) if f.name.id.as_str() == name => Some(f),
        _ => None,
    })
}

fn store_names<'a>(target: &'a Expr, out: &mut Vec<&'a str>) {
    match target {
        Expr::Name(n) => out.push(n.id.as_str()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| store_names(e, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| store_names(e, out)),
        Expr::Starred(s) => store_names(&s.value, out),
        _ => {}
    }
}

struct Refs<'s, 'a> {
    scope: &'s ModuleScope<'a>,
    locals: BTreeSet<&'a str>,
    /// The class whose methods `self.x` / `cls.x` refer to.
    class: Option<&'a ast::StmtClassDef>,
    out: Vec<(Func<'a>, TextRange)>,
}

impl<'a> Visitor<'a> for Refs<'_, 'a> {
    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Name(n) if n.ctx == ExprContext::Load => {
                let name = n.id.as_str();
                if !self.locals.contains(name) {
                    if let Resolution::Func(f) = self.scope.resolve_name(name) {
                        self.out.push((f, n.range));
                    }
                }
            }
            Expr::Call(c) => {
                // Instantiating a class of the module runs its `__init__`.
                if let Expr::Name(n) = c.func.as_ref() {
                    if !self.locals.contains(n.id.as_str()) {
                        if let Some(class) = self.scope.class(n.id.as_str()) {
                            if let Some(f) = self.scope.method_of(class, "__init__", 0) {
                                self.out.push((f, n.range));
                            }
                        }
                    }
                }
            }
            Expr::Attribute(a) => {
                if let Expr::Name(n) = a.value.as_ref() {
                    let base = n.id.as_str();
                    let attr = a.attr.id.as_str();
                    let class = if (base == "self" || base == "cls") && self.class.is_some() {
                        self.class
                    } else if !self.locals.contains(base) {
                        self.scope.class(base)
                    } else {
                        None
                    };
                    if let Some(f) = class.and_then(|c| self.scope.method_of(c, attr, 0)) {
                        self.out.push((f, a.range));
                    }
                }
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// The outermost expression of the module whose range is exactly `range`.
pub fn find_expr(body: &[Stmt], range: TextRange) -> Option<&Expr> {
    struct Find<'a> {
        range: TextRange,
        found: Option<&'a Expr>,
    }
    impl<'a> Visitor<'a> for Find<'a> {
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if self.found.is_none() && stmt.range().contains_range(self.range) {
                visitor::walk_stmt(self, stmt);
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if self.found.is_some() || !expr.range().contains_range(self.range) {
                return;
            }
            if expr.range() == self.range {
                self.found = Some(expr);
                return;
            }
            visitor::walk_expr(self, expr);
        }
    }
    let mut f = Find { range, found: None };
    for s in body {
        f.visit_stmt(s);
        if f.found.is_some() {
            break;
        }
    }
    f.found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_module;

    /// The names of the functions reached from the `RunPython` arguments `args` (source
    /// snippets found in `src`).
    fn reached(src: &str, args: &[&str]) -> Vec<String> {
        let p = parse_module(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let scope = ModuleScope::new(p.body());
        let mut roots = Vec::new();
        for a in args {
            let start = src.rfind(a).expect("argument in source");
            let range = TextRange::new(
                u32::try_from(start).unwrap().into(),
                u32::try_from(start + a.len()).unwrap().into(),
            );
            let e = find_expr(p.body(), range).expect("expression at range");
            match scope.resolve_code(e) {
                Resolution::Func(f) => roots.push(f),
                other => panic!("{a} did not resolve: {other:?}"),
            }
        }
        let names: Vec<String> = scope
            .reachable(&roots)
            .iter()
            .map(|r| r.func.name())
            .collect();
        assert!(!names.is_empty());
        names
    }

    #[test]
    fn names_lambdas_partials_and_helpers() {
        let src = r#"
import functools
from functools import partial
from django.db import migrations

def helper(x):
    return inner(x)

def inner(x):
    return x

def unused():
    pass

def forwards(apps, schema_editor):
    helper(1)

def with_arg(apps, schema_editor, value):
    pass

class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(forwards, lambda apps, se: inner(2)),
        migrations.RunPython(functools.partial(with_arg, value=1), partial(with_arg, value=2)),
    ]
"#;
        assert_eq!(
            reached(src, &["forwards", "lambda apps, se: inner(2)"]),
            ["forwards", "<lambda>", "helper", "inner"]
        );
        assert_eq!(
            reached(src, &["functools.partial(with_arg, value=1)"]),
            ["with_arg"]
        );
    }

    #[test]
    fn methods_and_migration_body_functions() {
        let src = r#"
from django.db import migrations

class Seeder:
    @staticmethod
    def run(apps, schema_editor):
        Seeder.rows()

    @staticmethod
    def rows():
        return []

class Base:
    def helper(self):
        pass

class Runner(Base):
    def __init__(self):
        self.helper()

    def __call__(self, apps, schema_editor):
        pass

def forwards(apps, schema_editor):
    Runner()

class Migration(migrations.Migration):
    def local(apps, schema_editor):
        forwards(apps, schema_editor)

    operations = [
        migrations.RunPython(Seeder.run, local),
    ]
"#;
        assert_eq!(reached(src, &["Seeder.run"]), ["Seeder.run", "Seeder.rows"]);
        assert_eq!(
            reached(src, &["local"]),
            ["local", "forwards", "Runner.__init__", "Base.helper"]
        );
    }

    #[test]
    fn noop_and_unknowns() {
        let src = r#"
from django.db import migrations
from myapp.helpers import imported
from django.db.migrations import RunPython

class Migration(migrations.Migration):
    operations = [
        migrations.RunPython(imported, migrations.RunPython.noop),
        RunPython(RunPython.noop, getattr(x, "y")),
    ]
"#;
        let p = parse_module(src);
        let scope = ModuleScope::new(p.body());
        let at = |s: &str| {
            let start = src.rfind(s).unwrap();
            let r = TextRange::at(
                u32::try_from(start).unwrap().into(),
                u32::try_from(s.len()).unwrap().into(),
            );
            scope.resolve_code(find_expr(p.body(), r).unwrap())
        };
        assert!(matches!(at("imported"), Resolution::Unknown));
        assert!(matches!(at("migrations.RunPython.noop"), Resolution::Noop));
        assert!(matches!(at("RunPython.noop"), Resolution::Noop));
        assert!(matches!(at("getattr(x, \"y\")"), Resolution::Unknown));
    }

    #[test]
    fn local_names_shadow_module_functions() {
        let src = r#"
def helper():
    pass

def forwards(apps, schema_editor):
    helper = apps.get_model("a", "B")
    helper.objects.all()

class Migration:
    operations = [RunPython(forwards)]
"#;
        assert_eq!(reached(src, &["forwards"]), ["forwards"]);
    }

    #[test]
    fn recursion_and_rebinding_terminate() {
        let src = r#"
def a():
    b()

def b():
    a()

alias = a
again = alias

class Migration:
    operations = [RunPython(again)]
"#;
        assert_eq!(reached(src, &["again"]), ["a", "b"]);
    }

    #[test]
    fn ambiguous_names_are_unknown() {
        let src = "from x import f\ndef f():\n    pass\n";
        let p = parse_module(src);
        let scope = ModuleScope::new(p.body());
        assert!(matches!(scope.resolve_name("f"), Resolution::Unknown));
        assert!(scope.import("f").is_none());
    }

    #[test]
    fn imports_are_described() {
        let p = parse_module(
            "import a.b.c\nimport a.b as m\nfrom x.models import Y as Z\nfrom ..models import W\n",
        );
        let all: Vec<Import> = p.body().iter().flat_map(imports_of).collect();
        assert_eq!(all[0].bound, "a");
        assert_eq!(all[0].full_module.as_deref(), Some("a.b.c"));
        assert_eq!(all[1].target, "a.b");
        assert_eq!(all[2].bound, "Z");
        assert_eq!(all[2].target, "x.models.Y");
        assert_eq!(all[3].target, "..models.W");
    }
}
