//! Small static evaluations of expressions: literals, dotted names, call arguments.
//!
//! Nothing here guesses: a function returns `None` when the answer is not a literal fact
//! of the source.

use crate::ast::{self, Expr, Stmt};
use std::collections::BTreeMap;

/// The value of a string literal, including implicit concatenation (`"a" "b"`).
/// f-strings, byte strings and anything computed give `None`.
pub fn str_value(expr: &Expr) -> Option<String> {
    match expr {
        Expr::StringLiteral(s) => Some(s.value.to_str().to_owned()),
        _ => None,
    }
}

/// The value of an integer literal that fits in `i64`.
pub fn int_value(expr: &Expr) -> Option<i64> {
    match expr {
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64(),
            _ => None,
        },
        _ => None,
    }
}

/// The value of `True` / `False`.
pub fn bool_value(expr: &Expr) -> Option<bool> {
    match expr {
        Expr::BooleanLiteral(b) => Some(b.value),
        _ => None,
    }
}

/// A dotted name such as `migrations.swappable_dependency` for `Name`/`Attribute` chains.
pub fn dotted_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Name(n) => Some(n.id.as_str().to_owned()),
        Expr::Attribute(a) => {
            let mut base = dotted_name(&a.value)?;
            base.push('.');
            base.push_str(a.attr.id.as_str());
            Some(base)
        }
        _ => None,
    }
}

/// The last segment of a call's callee: `migrations.RunSQL(...)` gives `RunSQL`.
pub fn callee_last(call: &ast::ExprCall) -> Option<&str> {
    match call.func.as_ref() {
        Expr::Name(n) => Some(n.id.as_str()),
        Expr::Attribute(a) => Some(a.attr.id.as_str()),
        _ => None,
    }
}

/// A keyword argument's value.
pub fn keyword<'a>(call: &'a ast::ExprCall, name: &str) -> Option<&'a Expr> {
    call.arguments
        .keywords
        .iter()
        .find(|k| k.arg.as_ref().is_some_and(|a| a.id.as_str() == name))
        .map(|k| &k.value)
}

/// An argument given either at position `pos` or as keyword `name`.
pub fn argument<'a>(call: &'a ast::ExprCall, pos: usize, name: &str) -> Option<&'a Expr> {
    keyword(call, name).or_else(|| {
        // Positional arguments after a `*args` splat have unknown positions.
        let args = &call.arguments.args;
        if args.iter().take(pos + 1).any(|a| a.is_starred_expr()) {
            return None;
        }
        args.get(pos)
    })
}

/// True when the call has `*args` or `**kwargs`, so its arguments are not all known.
pub fn has_splat(call: &ast::ExprCall) -> bool {
    call.arguments.args.iter().any(|a| a.is_starred_expr())
        || call.arguments.keywords.iter().any(|k| k.arg.is_none())
}

/// Elements of a list or tuple literal.
pub fn sequence_elements(expr: &Expr) -> Option<&[Expr]> {
    match expr {
        Expr::List(l) => Some(&l.elts),
        Expr::Tuple(t) => Some(&t.elts),
        _ => None,
    }
}

/// A fingerprint of an expression's structure: equal for expressions that are the same
/// code whatever their layout, comments or position in the file.
pub fn fingerprint(expr: &Expr) -> u64 {
    use std::hash::{Hash, Hasher};
    let comparable = ruff_python_ast::comparable::ComparableExpr::from(expr);
    // SipHash with fixed keys: the same within a run, which is all comparisons need.
    let mut h = std::hash::DefaultHasher::new();
    comparable.hash(&mut h);
    h.finish()
}

/// Module-level names bound by plain assignment, the last binding winning.
///
/// Only unconditional top-level `NAME = value` statements count; a name also bound in
/// any other way (augmented assignment, import, def, loop) is removed, because its value
/// at the point of use is not a literal fact.
#[derive(Debug, Default)]
pub struct ModuleBindings<'a> {
    names: BTreeMap<&'a str, &'a Expr>,
}

impl<'a> ModuleBindings<'a> {
    pub fn new(body: &'a [Stmt]) -> Self {
        let mut names: BTreeMap<&'a str, &'a Expr> = BTreeMap::new();
        let mut unstable: Vec<&'a str> = Vec::new();
        for stmt in body {
            match stmt {
                Stmt::Assign(a) => {
                    for t in &a.targets {
                        if let Expr::Name(n) = t {
                            names.insert(n.id.as_str(), &a.value);
                        } else {
                            collect_target_names(t, &mut unstable);
                        }
                    }
                }
                Stmt::AnnAssign(a) => {
                    if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), a.value.as_deref()) {
                        names.insert(n.id.as_str(), v);
                    }
                }
                Stmt::AugAssign(a) => collect_target_names(&a.target, &mut unstable),
                Stmt::FunctionDef(f) => unstable.push(f.name.id.as_str()),
                Stmt::ClassDef(c) => unstable.push(c.name.id.as_str()),
                Stmt::For(f) => collect_target_names(&f.target, &mut unstable),
                _ => {}
            }
        }
        for n in unstable {
            names.remove(n);
        }
        ModuleBindings { names }
    }

    pub fn get(&self, name: &str) -> Option<&'a Expr> {
        self.names.get(name).copied()
    }

    /// Follows `NAME` to its bound expression, a few steps deep (`A = B`, `B = [...]`).
    pub fn resolve(&self, mut expr: &'a Expr) -> &'a Expr {
        for _ in 0..8 {
            match expr {
                Expr::Name(n) => match self.get(n.id.as_str()) {
                    Some(v) => expr = v,
                    None => return expr,
                },
                _ => return expr,
            }
        }
        expr
    }
}

/// Whether a module binds `name` at module level in any way: a `class`/`def`, an
/// assignment, an import, a loop target, a `with ... as`, at the top or under `if`, `try`,
/// `with`, `for`, `while` or `match` (what Python runs at import time, on some path).
/// `None` when a star import or a `global`-free dynamic binding could bind it unseen.
pub fn module_binds(body: &[Stmt], name: &str) -> Option<bool> {
    let mut unknown = false;
    if binds_in(body, name, &mut unknown) {
        return Some(true);
    }
    (!unknown).then_some(false)
}

fn binds_in(body: &[Stmt], name: &str, unknown: &mut bool) -> bool {
    let target = |t: &Expr| {
        let mut names = Vec::new();
        collect_target_names(t, &mut names);
        names.contains(&name)
    };
    body.iter().any(|stmt| match stmt {
        Stmt::ClassDef(c) => c.name.id.as_str() == name,
        Stmt::FunctionDef(f) => f.name.id.as_str() == name,
        Stmt::Assign(a) => a.targets.iter().any(target),
        Stmt::AnnAssign(a) => a.value.is_some() && target(&a.target),
        Stmt::AugAssign(a) => target(&a.target),
        Stmt::Import(i) => i.names.iter().any(|a| {
            let bound = a.asname.as_ref().map_or_else(
                || a.name.id.split('.').next().unwrap_or(""),
                |n| n.id.as_str(),
            );
            bound == name
        }),
        Stmt::ImportFrom(i) => i.names.iter().any(|a| {
            if a.name.id.as_str() == "*" {
                *unknown = true;
                return false;
            }
            a.asname.as_ref().unwrap_or(&a.name).id.as_str() == name
        }),
        Stmt::If(i) => {
            binds_in(&i.body, name, unknown)
                || i.elif_else_clauses
                    .iter()
                    .any(|c| binds_in(&c.body, name, unknown))
        }
        Stmt::Try(t) => {
            binds_in(&t.body, name, unknown)
                || binds_in(&t.orelse, name, unknown)
                || binds_in(&t.finalbody, name, unknown)
                || t.handlers.iter().any(|h| {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    h.name.as_ref().is_some_and(|n| n.id.as_str() == name)
                        || binds_in(&h.body, name, unknown)
                })
        }
        Stmt::With(w) => {
            w.items
                .iter()
                .any(|i| i.optional_vars.as_deref().is_some_and(target))
                || binds_in(&w.body, name, unknown)
        }
        Stmt::For(f) => {
            target(&f.target)
                || binds_in(&f.body, name, unknown)
                || binds_in(&f.orelse, name, unknown)
        }
        Stmt::While(w) => binds_in(&w.body, name, unknown) || binds_in(&w.orelse, name, unknown),
        Stmt::Match(m) => m.cases.iter().any(|c| binds_in(&c.body, name, unknown)),
        _ => false,
    })
}

fn collect_target_names<'a>(target: &'a Expr, out: &mut Vec<&'a str>) {
    match target {
        Expr::Name(n) => out.push(n.id.as_str()),
        Expr::Tuple(t) => t.elts.iter().for_each(|e| collect_target_names(e, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| collect_target_names(e, out)),
        Expr::Starred(s) => collect_target_names(&s.value, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_module;

    fn expr_of(src: &str) -> ast::ModModule {
        parse_module(src).module
    }

    #[test]
    fn strings_and_names() {
        let m = expr_of("x = 'a' 'b'\ny = foo.bar.baz\n");
        let b = ModuleBindings::new(&m.body);
        assert_eq!(str_value(b.get("x").unwrap()).as_deref(), Some("ab"));
        assert_eq!(
            dotted_name(b.get("y").unwrap()).as_deref(),
            Some("foo.bar.baz")
        );
    }

    #[test]
    fn fingerprints_ignore_layout() {
        let a = expr_of("x = [\n    f('a', b=1),  # comment\n]\n");
        let b = expr_of("x = [f( 'a',b=1)]\n");
        let c = expr_of("x = [f('a', b=2)]\n");
        let fa = fingerprint(ModuleBindings::new(&a.body).get("x").unwrap());
        let fb = fingerprint(ModuleBindings::new(&b.body).get("x").unwrap());
        let fc = fingerprint(ModuleBindings::new(&c.body).get("x").unwrap());
        assert_eq!(fa, fb);
        assert_ne!(fa, fc);
    }

    #[test]
    fn module_level_bindings_anywhere() {
        let binds = |src: &str| module_binds(&expr_of(src).body, "Migration");
        assert_eq!(binds("class Migration: pass\n"), Some(true));
        assert_eq!(
            binds("if connection.vendor == 'postgresql':\n    class Migration: pass\nelse:\n    class Migration: pass\n"),
            Some(true)
        );
        assert_eq!(
            binds("try:\n    import x\nexcept ImportError:\n    Migration = None\n"),
            Some(true)
        );
        assert_eq!(binds("from .base import Migration\n"), Some(true));
        assert_eq!(binds("from .base import *\n"), None);
        assert_eq!(
            binds("def f():\n    class Migration: pass\nclass Other:\n    Migration = 1\n"),
            Some(false)
        );
    }

    #[test]
    fn rebinding_in_other_ways_is_unstable() {
        let m = expr_of("x = [1]\nx += [2]\ny = 1\nz = y\n");
        let b = ModuleBindings::new(&m.body);
        assert!(b.get("x").is_none());
        let z = b.get("z").unwrap();
        assert_eq!(int_value(b.resolve(z)), Some(1));
    }
}
