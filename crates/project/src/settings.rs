//! Reading Django settings statically: literal values, lists, `+`/`+=`, `from .base import *`,
//! and conditionals (whose effect makes a value uncertain, never wrong).

use crate::modules::Modules;
use djcheck_diagnostics::{FileId, Span};
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::{eval, Ranged};
use std::collections::BTreeMap;

/// A statically known settings value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    /// A list or tuple. `complete` is false when items may have been added in ways that
    /// cannot be read statically (a conditional `+=`, a loop).
    List {
        items: Vec<Value>,
        complete: bool,
    },
    Dict(Vec<(Value, Value)>),
    Unknown,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
}

/// String keys to string-or-None values, in source order.
pub type StrDict = Vec<(String, Option<String>)>;

/// A settings value and where it was (last) assigned.
#[derive(Debug, Clone, PartialEq)]
pub struct Setting {
    pub value: Value,
    pub span: Option<Span>,
}

/// The project's settings as read from its settings module(s).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The settings module the project runs with, if found.
    pub module: Option<String>,
    /// Files read (the module and what it star-imports), in reading order.
    pub files: Vec<FileId>,
    pub values: BTreeMap<String, Setting>,
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.values.get(name)
    }

    /// A string setting whose value is known.
    pub fn str(&self, name: &str) -> Option<(&str, Option<Span>)> {
        let s = self.values.get(name)?;
        Some((s.value.as_str()?, s.span))
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.values.get(name)?.value {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The string entries of a list setting and whether the list is completely known.
    pub fn str_list(&self, name: &str) -> Option<(Vec<String>, bool)> {
        match &self.values.get(name)?.value {
            Value::List { items, complete } => {
                let mut out = Vec::new();
                let mut all = *complete;
                for i in items {
                    match i {
                        Value::Str(s) => out.push(s.clone()),
                        _ => all = false,
                    }
                }
                Some((out, all))
            }
            _ => None,
        }
    }

    /// A dict setting of string keys; values `Some(string)`, `None` for Python `None`.
    /// Entries with unknown keys or values make it incomplete.
    pub fn str_dict(&self, name: &str) -> Option<(StrDict, bool)> {
        match &self.values.get(name)?.value {
            Value::Dict(items) => {
                let mut out = Vec::new();
                let mut all = true;
                for (k, v) in items {
                    match (k, v) {
                        (Value::Str(k), Value::Str(v)) => out.push((k.clone(), Some(v.clone()))),
                        (Value::Str(k), Value::None) => out.push((k.clone(), None)),
                        _ => all = false,
                    }
                }
                Some((out, all))
            }
            _ => None,
        }
    }
}

/// A parsed module handed to the evaluator by the loader.
pub struct LoadedModule {
    pub file: FileId,
    pub parsed: djcheck_python::ParsedModule,
    pub is_package: bool,
}

/// Reads settings starting from `module`, loading imported project modules through
/// `load` (which records read and parse problems itself).
pub fn evaluate(module: &str, load: &mut dyn FnMut(&str) -> Option<LoadedModule>) -> Settings {
    let mut ev = Evaluator {
        load,
        stack: Vec::new(),
        files: Vec::new(),
        cache: BTreeMap::new(),
    };
    let mut env = Env::new();
    ev.exec_module(module, &mut env, None);
    Settings {
        module: Some(module.to_owned()),
        files: ev.files,
        values: env,
    }
}

type Env = BTreeMap<String, Setting>;

struct Evaluator<'l> {
    load: &'l mut dyn FnMut(&str) -> Option<LoadedModule>,
    /// Modules being evaluated, to stop import cycles.
    stack: Vec<String>,
    files: Vec<FileId>,
    /// Namespaces of modules already evaluated.
    cache: BTreeMap<String, Option<Env>>,
}

struct Ctx<'a> {
    module: &'a str,
    is_package: bool,
    file: FileId,
}

impl Evaluator<'_> {
    /// The namespace of `module` after executing it, evaluated once per run as Python
    /// imports a module once (re-evaluating on every import is exponential in the length of
    /// star-import chains). `None` when it cannot be read or is already being evaluated.
    fn namespace(&mut self, module: &str) -> Option<Env> {
        if let Some(cached) = self.cache.get(module) {
            return cached.clone();
        }
        if self.stack.iter().any(|m| m == module) || self.stack.len() > 16 {
            return None;
        }
        let Some(loaded) = (self.load)(module) else {
            self.cache.insert(module.to_owned(), None);
            return None;
        };
        self.files.push(loaded.file);
        self.stack.push(module.to_owned());
        let ctx = Ctx {
            module,
            is_package: loaded.is_package,
            file: loaded.file,
        };
        let mut env = Env::new();
        self.exec_body(loaded.parsed.body(), &mut env, &ctx);
        self.stack.pop();
        self.cache.insert(module.to_owned(), Some(env.clone()));
        Some(env)
    }

    /// Executes `module` into `env`. With `only`, copies just those names (an explicit
    /// `from m import A, B as C`): `(source name, bound name)`.
    fn exec_module(
        &mut self,
        module: &str,
        env: &mut Env,
        only: Option<&[(String, String)]>,
    ) -> bool {
        let Some(own) = self.namespace(module) else {
            return false;
        };
        match only {
            None => {
                for (k, v) in own {
                    env.insert(k, v);
                }
            }
            Some(names) => {
                for (src, dst) in names {
                    if let Some(v) = own.get(src) {
                        env.insert(dst.clone(), v.clone());
                    } else {
                        env.insert(dst.clone(), unknown(None));
                    }
                }
            }
        }
        true
    }

    fn exec_body(&mut self, body: &[Stmt], env: &mut Env, ctx: &Ctx<'_>) {
        for stmt in body {
            self.exec(stmt, env, ctx);
        }
    }

    fn exec(&mut self, stmt: &Stmt, env: &mut Env, ctx: &Ctx<'_>) {
        match stmt {
            Stmt::Assign(a) => {
                let v = eval_expr(&a.value, env);
                for t in &a.targets {
                    assign(t, &v, env, ctx, a.range());
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(value) = &a.value {
                    let v = eval_expr(value, env);
                    assign(&a.target, &v, env, ctx, a.range());
                }
            }
            Stmt::AugAssign(a) => {
                if let Expr::Name(n) = a.target.as_ref() {
                    let name = n.id.as_str().to_owned();
                    let cur = env
                        .get(&name)
                        .map(|s| s.value.clone())
                        .unwrap_or(Value::Unknown);
                    let rhs = eval_expr(&a.value, env);
                    let v = if matches!(a.op, ast::Operator::Add) {
                        add(&cur, &rhs)
                    } else {
                        Value::Unknown
                    };
                    env.insert(
                        name,
                        Setting {
                            value: v,
                            span: Some(Span::new(ctx.file, a.range())),
                        },
                    );
                }
            }
            Stmt::Expr(e) => {
                if let Expr::Call(call) = e.value.as_ref() {
                    mutate_by_call(call, env, ctx);
                }
            }
            Stmt::ImportFrom(i) => {
                let Some(target) = Modules::absolute(
                    ctx.module,
                    ctx.is_package,
                    i.level,
                    i.module.as_ref().map(|m| m.id.as_str()),
                ) else {
                    return;
                };
                let star = i.names.iter().any(|a| a.name.id.as_str() == "*");
                if star {
                    let mut imported = Env::new();
                    if self.exec_module(&target, &mut imported, None) {
                        for (k, v) in imported {
                            if !k.starts_with('_') {
                                env.insert(k, v);
                            }
                        }
                    } else {
                        // A star import we cannot read may rebind anything seen so far.
                        for v in env.values_mut() {
                            v.value = Value::Unknown;
                        }
                    }
                } else {
                    let names: Vec<(String, String)> = i
                        .names
                        .iter()
                        .map(|a| {
                            let src = a.name.id.as_str().to_owned();
                            let dst = a
                                .asname
                                .as_ref()
                                .map_or_else(|| src.clone(), |n| n.id.as_str().to_owned());
                            (src, dst)
                        })
                        .collect();
                    if !self.exec_module(&target, env, Some(&names)) {
                        for (_, dst) in names {
                            env.insert(dst, unknown(Some(Span::new(ctx.file, i.range()))));
                        }
                    }
                }
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let bound = a.asname.as_ref().map_or_else(
                        || {
                            a.name
                                .id
                                .as_str()
                                .split('.')
                                .next()
                                .unwrap_or_default()
                                .to_owned()
                        },
                        |n| n.id.as_str().to_owned(),
                    );
                    env.remove(&bound);
                }
            }
            Stmt::If(s) => {
                let mut branches: Vec<Env> = Vec::new();
                let mut e = env.clone();
                self.exec_body(&s.body, &mut e, ctx);
                branches.push(e);
                let mut has_else = false;
                for clause in &s.elif_else_clauses {
                    has_else |= clause.test.is_none();
                    let mut e = env.clone();
                    self.exec_body(&clause.body, &mut e, ctx);
                    branches.push(e);
                }
                if !has_else {
                    branches.push(env.clone());
                }
                *env = merge_all(branches);
            }
            Stmt::Try(t) => {
                let before = env.clone();
                let mut body = env.clone();
                self.exec_body(&t.body, &mut body, ctx);
                self.exec_body(&t.orelse, &mut body, ctx);
                let mut branches = vec![body];
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    // The handler runs after part of the body: start from "before", the
                    // merge below keeps whatever differs uncertain.
                    let mut e = before.clone();
                    self.exec_body(&h.body, &mut e, ctx);
                    branches.push(e);
                }
                let mut merged = merge_all(branches);
                self.exec_body(&t.finalbody, &mut merged, ctx);
                *env = merged;
            }
            Stmt::With(w) => self.exec_body(&w.body, env, ctx),
            Stmt::For(f) => {
                let mut e = env.clone();
                self.exec_body(&f.body, &mut e, ctx);
                self.exec_body(&f.orelse, &mut e, ctx);
                *env = merge_all(vec![env.clone(), e]);
            }
            Stmt::While(w) => {
                let mut e = env.clone();
                self.exec_body(&w.body, &mut e, ctx);
                *env = merge_all(vec![env.clone(), e]);
            }
            Stmt::FunctionDef(f) => {
                env.remove(f.name.id.as_str());
            }
            Stmt::ClassDef(c) => {
                env.remove(c.name.id.as_str());
            }
            _ => {}
        }
    }
}

fn unknown(span: Option<Span>) -> Setting {
    Setting {
        value: Value::Unknown,
        span,
    }
}

fn assign(
    target: &Expr,
    v: &Value,
    env: &mut Env,
    ctx: &Ctx<'_>,
    range: djcheck_python::TextRange,
) {
    let span = Some(Span::new(ctx.file, range));
    match target {
        Expr::Name(n) => {
            env.insert(
                n.id.as_str().to_owned(),
                Setting {
                    value: v.clone(),
                    span,
                },
            );
        }
        Expr::Tuple(t) => {
            for e in &t.elts {
                assign(e, &Value::Unknown, env, ctx, range);
            }
        }
        Expr::List(l) => {
            for e in &l.elts {
                assign(e, &Value::Unknown, env, ctx, range);
            }
        }
        Expr::Subscript(s) => {
            // `DICT["key"] = value`
            if let (Expr::Name(n), Some(key)) = (s.value.as_ref(), eval::str_value(&s.slice)) {
                if let Some(Setting {
                    value: Value::Dict(items),
                    ..
                }) = env.get_mut(n.id.as_str())
                {
                    items.retain(|(k, _)| k.as_str() != Some(key.as_str()));
                    items.push((Value::Str(key), v.clone()));
                } else if let Some(s) = env.get_mut(n.id.as_str()) {
                    s.value = Value::Unknown;
                }
            }
        }
        _ => {}
    }
}

/// `NAME.append(x)`, `.extend(xs)`, `.insert(i, x)`, `.remove(x)`, `.update(d)`.
fn mutate_by_call(call: &ast::ExprCall, env: &mut Env, ctx: &Ctx<'_>) {
    let Expr::Attribute(attr) = call.func.as_ref() else {
        return;
    };
    let Expr::Name(n) = attr.value.as_ref() else {
        return;
    };
    let name = n.id.as_str();
    let Some(cur) = env.get(name).map(|s| s.value.clone()) else {
        return;
    };
    let args: Vec<Value> = call
        .arguments
        .args
        .iter()
        .map(|a| eval_expr(a, env))
        .collect();
    let new = match (attr.attr.id.as_str(), cur, args.as_slice()) {
        (
            "append",
            Value::List {
                mut items,
                complete,
            },
            [x],
        ) => {
            items.push(x.clone());
            Value::List { items, complete }
        }
        ("extend", l @ Value::List { .. }, [x]) => add(&l, x),
        (
            "insert",
            Value::List {
                mut items,
                complete,
            },
            [Value::Int(i), x],
        ) => {
            let i = usize::try_from(*i).unwrap_or(0).min(items.len());
            items.insert(i, x.clone());
            Value::List { items, complete }
        }
        (
            "remove",
            Value::List {
                mut items,
                complete,
            },
            [x],
        ) => {
            if let Some(pos) = items.iter().position(|i| i == x) {
                items.remove(pos);
            }
            Value::List { items, complete }
        }
        ("update", Value::Dict(mut items), [Value::Dict(more)]) => {
            for (k, v) in more {
                items.retain(|(ek, _)| ek != k);
                items.push((k.clone(), v.clone()));
            }
            Value::Dict(items)
        }
        // Methods that read (`index`, `count`, `get`, `copy`) change nothing.
        ("index" | "count" | "get" | "copy" | "keys" | "values" | "items", v, _) => v,
        _ => Value::Unknown,
    };
    env.insert(
        name.to_owned(),
        Setting {
            value: new,
            span: Some(Span::new(ctx.file, call.range())),
        },
    );
}

fn add(a: &Value, b: &Value) -> Value {
    match (a, b) {
        (
            Value::List {
                items: x,
                complete: cx,
            },
            Value::List {
                items: y,
                complete: cy,
            },
        ) => {
            let mut items = x.clone();
            items.extend(y.iter().cloned());
            Value::List {
                items,
                complete: *cx && *cy,
            }
        }
        (Value::Str(x), Value::Str(y)) => Value::Str(format!("{x}{y}")),
        (Value::Int(x), Value::Int(y)) => x.checked_add(*y).map_or(Value::Unknown, Value::Int),
        (Value::List { items, .. }, Value::Unknown)
        | (Value::Unknown, Value::List { items, .. }) => Value::List {
            items: items.clone(),
            complete: false,
        },
        _ => Value::Unknown,
    }
}

fn merge_all(mut branches: Vec<Env>) -> Env {
    let Some(mut acc) = branches.pop() else {
        return Env::new();
    };
    for b in branches {
        acc = merge(acc, b);
    }
    acc
}

/// Merges the environments of two possible paths: equal values stay, lists that differ
/// keep every item seen but become incomplete, anything else becomes unknown.
fn merge(a: Env, mut b: Env) -> Env {
    let mut out = Env::new();
    for (k, va) in a {
        match b.remove(&k) {
            Some(vb) => {
                let span = vb.span.or(va.span);
                out.insert(
                    k,
                    Setting {
                        value: merge_value(va.value, vb.value),
                        span,
                    },
                );
            }
            None => {
                out.insert(
                    k,
                    Setting {
                        value: only_on_one_path(va.value),
                        span: va.span,
                    },
                );
            }
        }
    }
    for (k, vb) in b {
        out.insert(
            k,
            Setting {
                value: only_on_one_path(vb.value),
                span: vb.span,
            },
        );
    }
    out
}

fn only_on_one_path(v: Value) -> Value {
    match v {
        Value::List { items, .. } => Value::List {
            items,
            complete: false,
        },
        _ => Value::Unknown,
    }
}

fn merge_value(a: Value, b: Value) -> Value {
    if a == b {
        return a;
    }
    match (a, b) {
        (Value::List { items: x, .. }, Value::List { items: y, .. }) => {
            let mut items = x;
            for i in y {
                if !items.contains(&i) {
                    items.push(i);
                }
            }
            Value::List {
                items,
                complete: false,
            }
        }
        _ => Value::Unknown,
    }
}

/// Names of calls that read an environment variable with a default as 2nd argument or
/// `default=`: `os.environ.get`, `os.getenv`, django-environ's `env(...)`/`env.str(...)`,
/// python-decouple's `config(...)`.
fn env_default(call: &ast::ExprCall) -> Option<&Expr> {
    let callee = eval::dotted_name(&call.func)?;
    let is_env_read = matches!(
        callee.as_str(),
        "os.environ.get" | "os.getenv" | "environ.get" | "getenv"
    ) || callee == "env"
        || callee == "config"
        || (callee.starts_with("env.") && callee.matches('.').count() == 1);
    if !is_env_read {
        return None;
    }
    eval::keyword(call, "default").or_else(|| call.arguments.args.get(1))
}

/// Evaluates an expression against the environment; anything not statically known is
/// [`Value::Unknown`].
pub fn eval_expr(expr: &Expr, env: &Env) -> Value {
    match expr {
        Expr::StringLiteral(_) => eval::str_value(expr).map_or(Value::Unknown, Value::Str),
        Expr::NumberLiteral(_) => eval::int_value(expr).map_or(Value::Unknown, Value::Int),
        Expr::BooleanLiteral(b) => Value::Bool(b.value),
        Expr::NoneLiteral(_) => Value::None,
        Expr::List(_) | Expr::Tuple(_) | Expr::Set(_) => {
            let elts: &[Expr] = match expr {
                Expr::List(l) => &l.elts,
                Expr::Tuple(t) => &t.elts,
                Expr::Set(s) => &s.elts,
                _ => &[],
            };
            let mut items = Vec::new();
            let mut complete = true;
            for e in elts {
                if let Expr::Starred(s) = e {
                    match eval_expr(&s.value, env) {
                        Value::List {
                            items: more,
                            complete: c,
                        } => {
                            items.extend(more);
                            complete &= c;
                        }
                        _ => complete = false,
                    }
                } else {
                    items.push(eval_expr(e, env));
                }
            }
            Value::List { items, complete }
        }
        Expr::Dict(d) => {
            let mut items = Vec::new();
            for item in &d.items {
                match &item.key {
                    Some(k) => items.push((eval_expr(k, env), eval_expr(&item.value, env))),
                    None => match eval_expr(&item.value, env) {
                        Value::Dict(more) => items.extend(more),
                        _ => items.push((Value::Unknown, Value::Unknown)),
                    },
                }
            }
            Value::Dict(items)
        }
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
            add(&eval_expr(&b.left, env), &eval_expr(&b.right, env))
        }
        Expr::Name(n) => env
            .get(n.id.as_str())
            .map_or(Value::Unknown, |s| s.value.clone()),
        Expr::Call(call) => {
            if let Some(default) = env_default(call) {
                return eval_expr(default, env);
            }
            match eval::dotted_name(&call.func).as_deref() {
                Some("list" | "tuple") if call.arguments.args.len() == 1 => {
                    match eval_expr(&call.arguments.args[0], env) {
                        v @ Value::List { .. } => v,
                        _ => Value::Unknown,
                    }
                }
                _ => Value::Unknown,
            }
        }
        _ => Value::Unknown,
    }
}

/// Finds `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")` (or an
/// assignment to `os.environ["DJANGO_SETTINGS_MODULE"]`) in an entry point module.
pub fn settings_module_from_entrypoint(body: &[Stmt]) -> Option<String> {
    let mut found = None;
    let mut visit = |e: &Expr| {
        if let Expr::Call(call) = e {
            let callee = eval::dotted_name(&call.func).unwrap_or_default();
            if callee.ends_with("environ.setdefault") || callee.ends_with("environ.__setitem__") {
                let key = call.arguments.args.first().and_then(eval::str_value);
                let val = call.arguments.args.get(1).and_then(eval::str_value);
                if key.as_deref() == Some("DJANGO_SETTINGS_MODULE") {
                    if let Some(v) = val {
                        found.get_or_insert(v);
                    }
                }
            }
        }
    };
    walk_exprs(body, &mut visit);
    found
}

fn walk_exprs(body: &[Stmt], f: &mut dyn FnMut(&Expr)) {
    for s in body {
        match s {
            Stmt::Expr(e) => f(&e.value),
            Stmt::Assign(a) => f(&a.value),
            Stmt::FunctionDef(d) => walk_exprs(&d.body, f),
            Stmt::If(i) => {
                walk_exprs(&i.body, f);
                for c in &i.elif_else_clauses {
                    walk_exprs(&c.body, f);
                }
            }
            Stmt::Try(t) => {
                walk_exprs(&t.body, f);
                walk_exprs(&t.orelse, f);
            }
            Stmt::With(w) => walk_exprs(&w.body, f),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_python::parse_module;

    fn run(files: &[(&str, &str)], root: &str) -> Settings {
        let mut next = 0u32;
        let mut load = |m: &str| {
            let (_, src) = files.iter().find(|(n, _)| *n == m)?;
            next += 1;
            Some(LoadedModule {
                file: FileId(next),
                parsed: parse_module(src),
                is_package: false,
            })
        };
        evaluate(root, &mut load)
    }

    #[test]
    fn split_settings() {
        let s = run(
            &[
                ("proj.settings.base", "INSTALLED_APPS = ['django.contrib.auth', 'users']\nAUTH_USER_MODEL = 'auth.User'\n"),
                ("proj.settings.dev", "from .base import *\nINSTALLED_APPS += ['debug']\nAUTH_USER_MODEL = os.environ.get('X', 'users.User')\n"),
            ],
            "proj.settings.dev",
        );
        assert_eq!(s.str("AUTH_USER_MODEL").map(|x| x.0), Some("users.User"));
        let (apps, complete) = s.str_list("INSTALLED_APPS").unwrap();
        assert_eq!(apps, vec!["django.contrib.auth", "users", "debug"]);
        assert!(complete);
    }

    #[test]
    fn conditionals_make_values_uncertain() {
        let s = run(
            &[("s", "A = ['x']\nif DEBUG:\n    A += ['y']\nB = 'a'\nif X:\n    B = 'b'\nC = 1\nif X:\n    C = 1\n")],
            "s",
        );
        let (apps, complete) = s.str_list("A").unwrap();
        assert_eq!(apps, vec!["x", "y"]);
        assert!(!complete);
        assert_eq!(s.get("B").unwrap().value, Value::Unknown);
        assert_eq!(s.get("C").unwrap().value, Value::Int(1));
    }

    #[test]
    fn entrypoint() {
        let m = parse_module("import os\ndef main():\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n");
        assert_eq!(
            settings_module_from_entrypoint(m.body()).as_deref(),
            Some("proj.settings")
        );
    }
}
