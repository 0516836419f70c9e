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
    // Measured first, so that the name is one allocation of the right size.
    fn len(e: &Expr) -> Option<usize> {
        match e {
            Expr::Name(n) => Some(n.id.len()),
            Expr::Attribute(a) => Some(len(&a.value)? + 1 + a.attr.id.len()),
            _ => None,
        }
    }
    fn write(e: &Expr, out: &mut String) {
        match e {
            Expr::Name(n) => out.push_str(n.id.as_str()),
            Expr::Attribute(a) => {
                write(&a.value, out);
                out.push('.');
                out.push_str(a.attr.id.as_str());
            }
            _ => {}
        }
    }
    let mut out = String::with_capacity(len(expr)?);
    write(expr, &mut out);
    Some(out)
}

/// Whether `expr` is the dotted name `dotted` (`os.environ.get`): [`dotted_name`]
/// compared, without building it.
pub fn is_dotted(expr: &Expr, dotted: &str) -> bool {
    match expr {
        Expr::Name(n) => n.id.as_str() == dotted,
        Expr::Attribute(a) => dotted
            .rsplit_once('.')
            .is_some_and(|(head, last)| last == a.attr.id.as_str() && is_dotted(&a.value, head)),
        _ => false,
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
    // The shape is written out as bytes, then hashed once with xxh3: the walk makes many
    // writes of a few bytes each, which cost SipHash far more than appending to a buffer.
    let mut shape = Shape(Vec::with_capacity(1024));
    hash_shape(expr, &mut shape);
    xxhash_rust::xxh3::xxh3_64(&shape.0)
}

/// A `Hasher` that keeps what it is given: the bytes a fingerprint is the hash of.
struct Shape(Vec<u8>);

impl std::hash::Hasher for Shape {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        xxhash_rust::xxh3::xxh3_64(&self.0)
    }
}

/// Hashes what [`ruff_python_ast::comparable::ComparableExpr`] compares (node kinds,
/// names, literal values, operators; not ranges, layout or comments) without building
/// it: the forms operation lists are made of are walked here, anything else (lambdas,
/// comprehensions, f-strings...) is hashed through `ComparableExpr`.
fn hash_shape<H: std::hash::Hasher>(e: &Expr, h: &mut H) {
    use std::hash::Hash;
    let seq = |elts: &[Expr], h: &mut H| {
        h.write_usize(elts.len());
        for x in elts {
            hash_shape(x, h);
        }
    };
    match e {
        Expr::Call(c) => {
            h.write_u8(1);
            hash_shape(&c.func, h);
            seq(&c.arguments.args, h);
            h.write_usize(c.arguments.keywords.len());
            for k in &c.arguments.keywords {
                k.arg.as_ref().map(ast::Identifier::as_str).hash(h);
                hash_shape(&k.value, h);
            }
        }
        Expr::Attribute(a) => {
            h.write_u8(2);
            hash_shape(&a.value, h);
            a.attr.as_str().hash(h);
        }
        Expr::Name(n) => {
            h.write_u8(3);
            n.id.as_str().hash(h);
        }
        Expr::List(l) => {
            h.write_u8(4);
            seq(&l.elts, h);
        }
        Expr::Tuple(t) => {
            h.write_u8(5);
            seq(&t.elts, h);
        }
        Expr::Set(s) => {
            h.write_u8(6);
            seq(&s.elts, h);
        }
        Expr::Dict(d) => {
            h.write_u8(7);
            h.write_usize(d.items.len());
            for item in &d.items {
                match &item.key {
                    Some(k) => {
                        h.write_u8(1);
                        hash_shape(k, h);
                    }
                    None => h.write_u8(0),
                }
                hash_shape(&item.value, h);
            }
        }
        Expr::StringLiteral(s) => {
            h.write_u8(8);
            s.value.to_str().hash(h);
        }
        Expr::BytesLiteral(b) => {
            h.write_u8(9);
            for byte in b.value.bytes() {
                h.write_u8(byte);
            }
            h.write_u8(0xff);
            h.write_usize(b.value.bytes().count());
        }
        Expr::NumberLiteral(n) => {
            h.write_u8(10);
            match &n.value {
                ast::Number::Int(i) => {
                    h.write_u8(0);
                    i.hash(h);
                }
                ast::Number::Float(f) => {
                    h.write_u8(1);
                    h.write_u64(f.to_bits());
                }
                ast::Number::Complex { real, imag } => {
                    h.write_u8(2);
                    h.write_u64(real.to_bits());
                    h.write_u64(imag.to_bits());
                }
            }
        }
        Expr::BooleanLiteral(b) => {
            h.write_u8(11);
            b.value.hash(h);
        }
        Expr::NoneLiteral(_) => h.write_u8(12),
        Expr::EllipsisLiteral(_) => h.write_u8(13),
        Expr::UnaryOp(u) => {
            h.write_u8(14);
            u.op.hash(h);
            hash_shape(&u.operand, h);
        }
        Expr::BinOp(b) => {
            h.write_u8(15);
            hash_shape(&b.left, h);
            b.op.hash(h);
            hash_shape(&b.right, h);
        }
        Expr::Subscript(s) => {
            h.write_u8(16);
            hash_shape(&s.value, h);
            hash_shape(&s.slice, h);
        }
        Expr::Starred(s) => {
            h.write_u8(17);
            hash_shape(&s.value, h);
        }
        _ => {
            h.write_u8(0);
            ruff_python_ast::comparable::ComparableExpr::from(e).hash(h);
        }
    }
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
    fn dotted_names_built_and_compared() {
        let m = expr_of("a = os.environ.get\nb = getenv\nc = f().get\nd = os['x'].get\n");
        let b = ModuleBindings::new(&m.body);
        let e = |n: &str| b.get(n).unwrap();
        assert_eq!(dotted_name(e("a")).as_deref(), Some("os.environ.get"));
        assert_eq!(dotted_name(e("a")).map(|s| s.capacity()), Some(14));
        assert!(is_dotted(e("a"), "os.environ.get"));
        for other in [
            "os.environ",
            "environ.get",
            "os.environ.get.x",
            "os..get",
            "",
        ] {
            assert!(!is_dotted(e("a"), other), "{other}");
        }
        assert!(is_dotted(e("b"), "getenv") && !is_dotted(e("b"), "os.getenv"));
        for n in ["c", "d"] {
            assert_eq!(dotted_name(e(n)), None);
            assert!(!is_dotted(e(n), "f.get"));
        }
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
    fn fingerprints_are_equal_exactly_where_the_code_is() {
        let fp = |src: &str| {
            let m = expr_of(&format!("x = {src}\n"));
            fingerprint(ModuleBindings::new(&m.body).get("x").unwrap())
        };
        // The same code, written differently.
        let same = [
            ("['a', \"b\"]", "[\"a\", 'b',]"),
            ("('ab',)", "(('a' 'b'),)"),
            (
                "f(x, *a, k=1, **kw)",
                "f(\n    x,\n    *a,\n    k=1,\n    **kw,\n)",
            ),
            ("{'a': 1, **d}", "{\n 'a': 1,  **d}"),
            ("-1 + 2.5 * x[1:2]", "(-1) + (2.5 * x[1:2])"),
            ("lambda a: [i for i in a]", "lambda a: [i  for i in a]"),
            ("b'x' if y else None", "(b'x' if y else None)"),
            ("1_000", "1000"),
        ];
        for (a, b) in same {
            assert_eq!(fp(a), fp(b), "{a} / {b}");
        }
        // Different code.
        let differ = [
            ("['a', 'b']", "['b', 'a']"),
            ("['a', 'b']", "('a', 'b')"),
            ("['a', 'b']", "{'a', 'b'}"),
            ("[['a'], 'b']", "[['a', 'b']]"),
            ("f(x)", "f(k=x)"),
            ("f(k=x)", "f(j=x)"),
            ("f(*a)", "f(a)"),
            ("{'a': 1, **d}", "{'a': 1, 'd': d}"),
            ("a.b", "a.c"),
            ("a.b", "b.a"),
            ("'1'", "1"),
            ("1", "1.0"),
            ("True", "1"),
            ("None", "..."),
            ("b'a'", "'a'"),
            ("-x", "~x"),
            ("x - y", "x + y"),
            ("x[1]", "x[2]"),
            ("lambda a: a", "lambda b: b"),
            ("f'{a}'", "f'{b}'"),
        ];
        for (a, b) in differ {
            assert_ne!(fp(a), fp(b), "{a} / {b}");
        }
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
