//! Python values as Django's migration autodetector compares them: what `makemigrations`
//! writes into a migration (a field's keyword arguments, a model's options, an index)
//! and what it reads back from the models, reduced to one form so that the two can be
//! compared the way Python's `==` compares them.
//!
//! Values are read from migration source here ([`from_migration_expr`]); the models
//! reader builds the same values from `models.py` with the static evaluator. Nothing is
//! guessed: what is not a literal fact of the source is [`PyValue::Unknown`], and
//! [`py_eq`] answers `None` when it cannot tell.

use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::eval::{self, ModuleBindings};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// A value as far as the source states it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum PyValue {
    None,
    Bool(bool),
    Int(i64),
    /// A float, by its bits (compared numerically by [`py_eq`]).
    Float(u64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<PyValue>),
    Tuple(Vec<PyValue>),
    /// A set or frozenset: compared without order.
    Set(Vec<PyValue>),
    Dict(Vec<(PyValue, PyValue)>),
    /// A named object (a function, a class, a constant), by its canonical dotted path
    /// ([`canonical_path`]).
    Ref(String),
    /// `settings.NAME`.
    Setting(String),
    /// A value derived by convention, not read (the label of a library's model from its
    /// module path): equal when the same, undecided otherwise.
    Likely(Box<PyValue>),
    /// An object built by a call: a validator, `Decimal("1.0")`, `Q(...)`, an index, a
    /// field given as an argument. What Django's `deconstruct()` gives for it, when the
    /// object deconstructs to the call that built it.
    Call(Arc<CallValue>),
    Unknown,
}

/// A call: the callee's canonical path and its arguments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallValue {
    pub path: String,
    pub args: Vec<PyValue>,
    /// Keyword arguments in source order.
    pub kwargs: Vec<(String, PyValue)>,
    /// `*args` or `**kwargs`: the arguments are not all known.
    pub splat: bool,
}

impl CallValue {
    pub fn kw(&self, name: &str) -> Option<&PyValue> {
        self.kwargs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }

    /// The last segment of the path (`CharField`).
    pub fn name(&self) -> &str {
        self.path.rsplit('.').next().unwrap_or(&self.path)
    }
}

impl PyValue {
    pub fn float(f: f64) -> PyValue {
        PyValue::Float(f.to_bits())
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            PyValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// True when some part of the value is not known.
    pub fn has_unknown(&self) -> bool {
        match self {
            PyValue::Unknown => true,
            PyValue::List(v) | PyValue::Tuple(v) | PyValue::Set(v) => {
                v.iter().any(PyValue::has_unknown)
            }
            PyValue::Dict(d) => d.iter().any(|(k, v)| k.has_unknown() || v.has_unknown()),
            PyValue::Call(c) => {
                c.splat
                    || c.args.iter().any(PyValue::has_unknown)
                    || c.kwargs.iter().any(|(_, v)| v.has_unknown())
            }
            _ => false,
        }
    }

    /// Items of a list, tuple or set.
    pub fn items(&self) -> Option<&[PyValue]> {
        match self {
            PyValue::List(v) | PyValue::Tuple(v) | PyValue::Set(v) => Some(v),
            _ => None,
        }
    }
}

/// Django's own modules whose public names are re-exported by a shorter package: the
/// path `makemigrations` writes and the one `models.py` imports name the same object.
const REEXPORTS: &[(&str, &str)] = &[
    (
        "django.db.models.fields.related_descriptors.",
        "django.db.models.",
    ),
    ("django.db.models.fields.related.", "django.db.models."),
    ("django.db.models.fields.files.", "django.db.models."),
    ("django.db.models.fields.generated.", "django.db.models."),
    ("django.db.models.fields.json.", "django.db.models."),
    ("django.db.models.fields.proxy.", "django.db.models."),
    ("django.db.models.fields.composite.", "django.db.models."),
    ("django.db.models.fields.", "django.db.models."),
    ("django.db.models.deletion.", "django.db.models."),
    ("django.db.models.query_utils.", "django.db.models."),
    ("django.db.models.indexes.", "django.db.models."),
    ("django.db.models.constraints.", "django.db.models."),
    ("django.db.models.expressions.", "django.db.models."),
    ("django.db.models.enums.", "django.db.models."),
    ("django.db.models.manager.", "django.db.models."),
    ("django.db.models.base.", "django.db.models."),
    ("django.db.models.aggregates.", "django.db.models."),
    ("django.db.models.lookups.", "django.db.models."),
    ("django.db.models.query.", "django.db.models."),
    (
        "django.contrib.postgres.fields.array.",
        "django.contrib.postgres.fields.",
    ),
    (
        "django.contrib.postgres.fields.hstore.",
        "django.contrib.postgres.fields.",
    ),
    (
        "django.contrib.postgres.fields.ranges.",
        "django.contrib.postgres.fields.",
    ),
    (
        "django.contrib.postgres.fields.citext.",
        "django.contrib.postgres.fields.",
    ),
    (
        "django.contrib.gis.db.models.fields.",
        "django.contrib.gis.db.models.",
    ),
    (
        "django.contrib.auth.base_user.",
        "django.contrib.auth.models.",
    ),
];

/// The canonical form of a dotted path to one of Django's objects: the package that
/// re-exports it (`django.db.models.deletion.CASCADE` and `django.db.models.CASCADE` are
/// the same function). Other paths are returned as they are.
pub fn canonical_path(p: &str) -> String {
    if let Some(rest) = p.strip_prefix("django.db.models.functions.") {
        // `functions.text.Lower` and `functions.Lower`.
        let last = rest.rsplit('.').next().unwrap_or(rest);
        return format!("django.db.models.functions.{last}");
    }
    for (long, short) in REEXPORTS {
        if let Some(rest) = p.strip_prefix(long) {
            if !rest.contains('.') {
                return format!("{short}{rest}");
            }
        }
    }
    p.to_owned()
}

/// Callables (functions and classes) whose canonical path is where they are defined, so
/// that two different paths are certainly two different objects. Paths of other
/// libraries may be re-exports (`shortuuid.uuid` is `shortuuid.main.uuid`).
fn is_exact_builtin(path: &str) -> bool {
    const EXACT: &[&str] = &[
        "django.utils.timezone.now",
        "datetime.date.today",
        "datetime.datetime.now",
        "datetime.datetime.utcnow",
        "datetime.datetime.today",
        "uuid.uuid1",
        "uuid.uuid3",
        "uuid.uuid4",
        "uuid.uuid5",
        "django.db.models.CASCADE",
        "django.db.models.PROTECT",
        "django.db.models.RESTRICT",
        "django.db.models.SET_NULL",
        "django.db.models.SET_DEFAULT",
        "django.db.models.DO_NOTHING",
        "django.db.models.SET",
        "builtins.dict",
        "builtins.list",
        "builtins.str",
        "builtins.int",
        "builtins.bool",
        "builtins.float",
        "builtins.set",
        "builtins.tuple",
    ];
    EXACT.contains(&path) || path.starts_with("django.core.validators.")
}

/// Python's `==` between two values: `Some(true)` or `Some(false)` when the source
/// decides it, `None` when it does not (an unknown part, two names that may be one
/// object). `exact` tells whether a path names a definition of the project (its module
/// defines it under that name), so that two different paths are two objects.
pub fn py_eq(a: &PyValue, b: &PyValue, exact: &dyn Fn(&str) -> bool) -> Option<bool> {
    use PyValue as V;
    match (a, b) {
        (V::Unknown, _) | (_, V::Unknown) => None,
        (V::Likely(x), y) | (y, V::Likely(x)) => match py_eq(x, y, exact) {
            Some(true) => Some(true),
            _ => None,
        },
        (V::None, V::None) => Some(true),
        // Numbers compare across types: True == 1 == 1.0, Decimal("1.0") == 1.
        (x, y) if number(x).is_some() && number(y).is_some() => {
            let (Some(p), Some(q)) = (number(x), number(y)) else {
                return None;
            };
            match (p, q) {
                (Num::Exact(p), Num::Exact(q)) => Some(p == q),
                (p, q) => {
                    let (Some(p), Some(q)) = (p.as_f64(), q.as_f64()) else {
                        return None;
                    };
                    Some(p == q)
                }
            }
        }
        (V::Str(x), V::Str(y)) => Some(x == y),
        (V::Bytes(x), V::Bytes(y)) => Some(x == y),
        (V::List(x), V::List(y)) | (V::Tuple(x), V::Tuple(y)) => seq_eq(x, y, exact),
        (V::Set(x), V::Set(y)) => unordered_eq(x, y, exact),
        (V::Dict(x), V::Dict(y)) => dict_eq(x, y, exact),
        (V::Setting(x), V::Setting(y)) if x == y => Some(true),
        (V::Setting(_), _) | (_, V::Setting(_)) => None,
        (V::Ref(x), V::Ref(y)) => ref_eq(x, y, exact),
        (V::Call(x), V::Call(y)) => {
            if x.splat || y.splat {
                return None;
            }
            if x.path != y.path {
                return match ref_eq(&x.path, &y.path, exact) {
                    Some(false) => Some(false),
                    _ => None,
                };
            }
            let args = seq_eq(&x.args, &y.args, exact);
            let kwargs = dict_eq(
                &x.kwargs
                    .iter()
                    .map(|(k, v)| (V::Str(k.clone()), v.clone()))
                    .collect::<Vec<_>>(),
                &y.kwargs
                    .iter()
                    .map(|(k, v)| (V::Str(k.clone()), v.clone()))
                    .collect::<Vec<_>>(),
                exact,
            );
            and(args, kwargs)
        }
        // A call's result may define `__eq__` against anything; a name may be a constant
        // equal to a literal.
        (V::Call(_), _) | (_, V::Call(_)) | (V::Ref(_), _) | (_, V::Ref(_)) => match (a, b) {
            (V::Ref(r), lit) | (lit, V::Ref(r)) if is_literal(lit) && is_callable_ref(r) => {
                Some(false)
            }
            _ => None,
        },
        // Different kinds of literal: a str is never a list, a list never a tuple.
        (x, y) if is_literal(x) && is_literal(y) => Some(false),
        _ => None,
    }
}

/// A reference that certainly names a function or class (never a constant that could
/// equal a literal).
fn is_callable_ref(r: &str) -> bool {
    is_exact_builtin(r)
}

fn is_literal(v: &PyValue) -> bool {
    matches!(
        v,
        PyValue::None
            | PyValue::Bool(_)
            | PyValue::Int(_)
            | PyValue::Float(_)
            | PyValue::Str(_)
            | PyValue::Bytes(_)
            | PyValue::List(_)
            | PyValue::Tuple(_)
            | PyValue::Set(_)
            | PyValue::Dict(_)
    )
}

fn ref_eq(x: &str, y: &str, exact: &dyn Fn(&str) -> bool) -> Option<bool> {
    if x == y {
        return Some(true);
    }
    let known = |p: &str| is_exact_builtin(p) || exact(p);
    if known(x) && known(y) {
        Some(false)
    } else {
        None
    }
}

fn and(a: Option<bool>, b: Option<bool>) -> Option<bool> {
    match (a, b) {
        (Some(false), _) | (_, Some(false)) => Some(false),
        (Some(true), Some(true)) => Some(true),
        _ => None,
    }
}

fn seq_eq(x: &[PyValue], y: &[PyValue], exact: &dyn Fn(&str) -> bool) -> Option<bool> {
    if x.len() != y.len() {
        return Some(false);
    }
    let mut out = Some(true);
    for (a, b) in x.iter().zip(y) {
        out = and(out, py_eq(a, b, exact));
        if out == Some(false) {
            break;
        }
    }
    out
}

/// Equality of two collections compared without order (sets, dict items): each item of
/// one must be equal to a distinct item of the other.
fn unordered_eq(x: &[PyValue], y: &[PyValue], exact: &dyn Fn(&str) -> bool) -> Option<bool> {
    if x.len() != y.len() {
        // A set display may repeat an item; the set does not.
        if x.iter().chain(y).any(PyValue::has_unknown) {
            return None;
        }
        let dx = dedup(x, exact)?;
        let dy = dedup(y, exact)?;
        if dx.len() != dy.len() {
            return Some(false);
        }
        return unordered_eq(&dx, &dy, exact);
    }
    let mut used = vec![false; y.len()];
    let mut decided = true;
    for a in x {
        let mut found = false;
        for (j, b) in y.iter().enumerate() {
            if used[j] {
                continue;
            }
            match py_eq(a, b, exact) {
                Some(true) => {
                    used[j] = true;
                    found = true;
                    break;
                }
                Some(false) => {}
                None => decided = false,
            }
        }
        if !found {
            return if decided { Some(false) } else { None };
        }
    }
    Some(true)
}

fn dedup(x: &[PyValue], exact: &dyn Fn(&str) -> bool) -> Option<Vec<PyValue>> {
    let mut out: Vec<PyValue> = Vec::new();
    for a in x {
        let mut dup = false;
        for b in &out {
            if py_eq(a, b, exact)? {
                dup = true;
                break;
            }
        }
        if !dup {
            out.push(a.clone());
        }
    }
    Some(out)
}

fn dict_eq(
    x: &[(PyValue, PyValue)],
    y: &[(PyValue, PyValue)],
    exact: &dyn Fn(&str) -> bool,
) -> Option<bool> {
    // Keys are literals in practice: the last binding of a key wins.
    let norm = |d: &[(PyValue, PyValue)]| -> Option<Vec<(PyValue, PyValue)>> {
        let mut out: Vec<(PyValue, PyValue)> = Vec::new();
        for (k, v) in d {
            if !is_literal(k) || k.has_unknown() {
                return None;
            }
            out.retain(|(ok, _)| ok != k);
            out.push((k.clone(), v.clone()));
        }
        Some(out)
    };
    let (Some(x), Some(y)) = (norm(x), norm(y)) else {
        return None;
    };
    if x.len() != y.len() {
        return Some(false);
    }
    let mut out = Some(true);
    for (k, v) in &x {
        let Some((_, w)) = y.iter().find(|(k2, _)| py_eq(k, k2, exact) == Some(true)) else {
            return Some(false);
        };
        out = and(out, py_eq(v, w, exact));
    }
    out
}

#[derive(Debug, Clone, Copy)]
enum Num {
    /// Integers and booleans (and decimals with no fraction), exactly.
    Exact(i128),
    Float(f64),
}

impl Num {
    fn as_f64(self) -> Option<f64> {
        match self {
            Num::Exact(i) => Some(i as f64),
            Num::Float(f) => Some(f),
        }
    }
}

fn number(v: &PyValue) -> Option<Num> {
    match v {
        PyValue::Bool(b) => Some(Num::Exact(i128::from(*b))),
        PyValue::Int(i) => Some(Num::Exact(i128::from(*i))),
        PyValue::Float(bits) => Some(Num::Float(f64::from_bits(*bits))),
        PyValue::Call(c) if c.path == "decimal.Decimal" && c.kwargs.is_empty() => {
            match c.args.as_slice() {
                [PyValue::Str(s)] => decimal(s),
                [PyValue::Int(i)] => Some(Num::Exact(i128::from(*i))),
                _ => None,
            }
        }
        _ => None,
    }
}

/// A decimal literal: exact when it has no fractional part, else as a float (only used
/// to compare it with floats; two decimals with fractions compare by their digits).
fn decimal(s: &str) -> Option<Num> {
    let s = s.trim();
    let (int, frac) = s.split_once('.').unwrap_or((s, ""));
    if !frac.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        return int.parse::<i128>().ok().map(Num::Exact);
    }
    // Scale both sides to a common exponent: digits after the point, at most 18.
    if frac.len() > 18 {
        return None;
    }
    let neg = int.starts_with('-');
    let whole: i128 = int.trim_start_matches(['-', '+']).parse().ok()?;
    let f: i128 = frac.parse().ok()?;
    let scale = 10i128.pow(frac.len() as u32);
    // Encode as a float only when exactly representable compares are not needed; here
    // decimals with fractions are compared as floats, which is exact for the values
    // written in models (few digits).
    let v = (whole * scale + f) as f64 / scale as f64;
    Some(Num::Float(if neg { -v } else { v }))
}

impl fmt::Display for PyValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fn seq(
            f: &mut fmt::Formatter<'_>,
            items: &[PyValue],
            open: &str,
            close: &str,
        ) -> fmt::Result {
            f.write_str(open)?;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                write!(f, "{v}")?;
            }
            if open == "(" && items.len() == 1 {
                f.write_str(",")?;
            }
            f.write_str(close)
        }
        match self {
            PyValue::None => f.write_str("None"),
            PyValue::Bool(true) => f.write_str("True"),
            PyValue::Bool(false) => f.write_str("False"),
            PyValue::Int(i) => write!(f, "{i}"),
            PyValue::Float(bits) => {
                let x = f64::from_bits(*bits);
                if x.fract() == 0.0 && x.is_finite() && x.abs() < 1e16 {
                    write!(f, "{x:.1}")
                } else {
                    write!(f, "{x}")
                }
            }
            PyValue::Str(s) => write!(f, "{}", py_repr(s)),
            PyValue::Bytes(b) => write!(f, "b{}", py_repr(&String::from_utf8_lossy(b))),
            PyValue::List(v) => seq(f, v, "[", "]"),
            PyValue::Tuple(v) => seq(f, v, "(", ")"),
            PyValue::Set(v) if v.is_empty() => f.write_str("set()"),
            PyValue::Set(v) => seq(f, v, "{", "}"),
            PyValue::Dict(d) => {
                f.write_str("{")?;
                for (i, (k, v)) in d.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{k}: {v}")?;
                }
                f.write_str("}")
            }
            PyValue::Ref(p) => f.write_str(short_path(p)),
            PyValue::Setting(s) => write!(f, "settings.{s}"),
            PyValue::Likely(v) => write!(f, "{v}"),
            PyValue::Call(c) => {
                write!(f, "{}(", short_path(&c.path))?;
                let mut first = true;
                for a in &c.args {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    write!(f, "{a}")?;
                }
                for (k, v) in &c.kwargs {
                    if !first {
                        f.write_str(", ")?;
                    }
                    first = false;
                    write!(f, "{k}={v}")?;
                }
                f.write_str(")")
            }
            PyValue::Unknown => f.write_str("…"),
        }
    }
}

/// `django.db.models.CASCADE` as a `models.py` would write it: `models.CASCADE`.
pub fn short_path(p: &str) -> &str {
    if let Some(rest) = p.strip_prefix("django.db.") {
        if rest.starts_with("models.") {
            return rest;
        }
    }
    p
}

/// A string as Python's `repr` writes it (single quotes unless the text holds one).
pub fn py_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// The names a module binds by importing: local name to dotted path.
#[derive(Debug, Default, Clone)]
pub struct ImportMap {
    names: BTreeMap<String, String>,
}

impl ImportMap {
    /// The imports at the top level of a module (and under its module-level `if`/`try`).
    pub fn of_module(body: &[Stmt]) -> ImportMap {
        let mut m = ImportMap::default();
        m.scan(body, 0);
        m
    }

    fn scan(&mut self, body: &[Stmt], depth: usize) {
        if depth > 3 {
            return;
        }
        for s in body {
            match s {
                Stmt::Import(i) => {
                    for a in &i.names {
                        let dotted = a.name.id.as_str();
                        match &a.asname {
                            Some(n) => {
                                self.names
                                    .insert(n.id.as_str().to_owned(), dotted.to_owned());
                            }
                            None => {
                                let first = dotted.split('.').next().unwrap_or(dotted);
                                self.names.insert(first.to_owned(), first.to_owned());
                            }
                        }
                    }
                }
                Stmt::ImportFrom(i) if i.level == 0 => {
                    let Some(module) = &i.module else { continue };
                    for a in &i.names {
                        let name = a.name.id.as_str();
                        if name == "*" {
                            continue;
                        }
                        let local = a.asname.as_ref().map_or(name, |n| n.id.as_str());
                        self.names
                            .insert(local.to_owned(), dotted_join(module.id.as_str(), name));
                    }
                }
                Stmt::If(i) => {
                    self.scan(&i.body, depth + 1);
                    for c in &i.elif_else_clauses {
                        self.scan(&c.body, depth + 1);
                    }
                }
                Stmt::Try(t) => {
                    self.scan(&t.body, depth + 1);
                    for h in &t.handlers {
                        let ast::ExceptHandler::ExceptHandler(h) = h;
                        self.scan(&h.body, depth + 1);
                    }
                }
                _ => {}
            }
        }
    }

    /// The dotted path of a dotted name as written (`models.CASCADE` with `from
    /// django.db import models` gives `django.db.models.CASCADE`).
    pub fn resolve(&self, dotted: &str) -> Option<String> {
        let (head, rest) = match dotted.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (dotted, None),
        };
        let base = self.names.get(head)?;
        Some(match rest {
            Some(r) => dotted_join(base, r),
            None => base.clone(),
        })
    }
}

/// `a.b`: what `format!("{a}.{b}")` gives, in one allocation of the right size (this
/// runs for every import and name of every migration).
fn dotted_join(a: &str, b: &str) -> String {
    let mut s = String::with_capacity(a.len() + 1 + b.len());
    s.push_str(a);
    s.push('.');
    s.push_str(b);
    s
}

/// The functions that mark a string for translation: the value is the string itself
/// (`makemigrations` runs with translations deactivated and writes the message).
pub fn is_translation(path: &str) -> Option<usize> {
    let last = path.rsplit('.').next().unwrap_or(path);
    let module_ok = path.starts_with("django.utils.translation.") || !path.contains('.');
    if !module_ok {
        return None;
    }
    match last {
        "gettext" | "gettext_lazy" | "ugettext" | "ugettext_lazy" | "gettext_noop"
        | "ugettext_noop" => Some(0),
        "pgettext" | "pgettext_lazy" => Some(1),
        _ => None,
    }
}

/// Applies what Python does when the call is made to values that `deconstruct()` gives
/// back in another form: translations are their message, `set()`/`frozenset()` are
/// sets, `Q(a=1)` is `Q(("a", 1))`, `CheckConstraint(check=...)` is `condition=`.
pub fn simplify_call(call: CallValue) -> PyValue {
    if let Some(pos) = is_translation(&call.path) {
        if call.kwargs.is_empty() && !call.splat && call.args.len() == pos + 1 {
            if let Some(PyValue::Str(s)) = call.args.get(pos) {
                return PyValue::Str(s.clone());
            }
        }
        return PyValue::Unknown;
    }
    match call.path.as_str() {
        "builtins.set" | "builtins.frozenset" | "set" | "frozenset" => {
            if call.splat || !call.kwargs.is_empty() {
                return PyValue::Unknown;
            }
            return match call.args.as_slice() {
                [] => PyValue::Set(Vec::new()),
                [PyValue::List(v) | PyValue::Tuple(v) | PyValue::Set(v)] => PyValue::Set(v.clone()),
                _ => PyValue::Unknown,
            };
        }
        "builtins.list" | "list" | "builtins.tuple" | "tuple" => {
            if call.splat || !call.kwargs.is_empty() {
                return PyValue::Unknown;
            }
            let tuple = call.path.ends_with("tuple");
            return match call.args.as_slice() {
                [] if tuple => PyValue::Tuple(Vec::new()),
                [] => PyValue::List(Vec::new()),
                [PyValue::List(v) | PyValue::Tuple(v)] if tuple => PyValue::Tuple(v.clone()),
                [PyValue::List(v) | PyValue::Tuple(v)] => PyValue::List(v.clone()),
                _ => PyValue::Unknown,
            };
        }
        "django.db.models.Q" => {
            if call.splat {
                return PyValue::Unknown;
            }
            let mut children = call.args.clone();
            let mut kw: Vec<(String, PyValue)> = Vec::new();
            let mut rest: Vec<(String, PyValue)> = Vec::new();
            for (k, v) in &call.kwargs {
                match k.as_str() {
                    "_connector" => {
                        if !matches!(v, PyValue::None) && *v != PyValue::Str("AND".into()) {
                            rest.push((k.clone(), v.clone()));
                        }
                    }
                    "_negated" => {
                        if *v == PyValue::Bool(true) {
                            rest.push((k.clone(), v.clone()));
                        } else if *v != PyValue::Bool(false) {
                            return PyValue::Unknown;
                        }
                    }
                    _ => kw.push((k.clone(), v.clone())),
                }
            }
            kw.sort_by(|a, b| a.0.cmp(&b.0));
            for (k, v) in kw {
                children.push(PyValue::Tuple(vec![PyValue::Str(k), v]));
            }
            return PyValue::Call(Arc::new(CallValue {
                path: call.path,
                args: children,
                kwargs: rest,
                splat: false,
            }));
        }
        "django.db.models.CheckConstraint" => {
            let mut call = call;
            for (k, _) in call.kwargs.iter_mut() {
                if k == "check" {
                    *k = "condition".to_owned();
                }
            }
            return PyValue::Call(Arc::new(call));
        }
        "django.db.models.F" => {
            return PyValue::Call(Arc::new(call));
        }
        _ => {}
    }
    if !builds_itself(&call.path) {
        // A function's result (`int_list_validator(...)` returns a RegexValidator): not
        // what the call says.
        return PyValue::Unknown;
    }
    PyValue::Call(Arc::new(call))
}

/// Whether calling `path` builds an object that `deconstruct()` gives back as that very
/// call: a class (by Python's naming, a capitalized name), a few lower-case classes of
/// the standard library, and Django's `SET()`.
fn builds_itself(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    if last.chars().next().is_some_and(char::is_uppercase) {
        return true;
    }
    matches!(
        path,
        "datetime.date" | "datetime.datetime" | "datetime.time" | "datetime.timedelta"
    )
}

/// Reads a value from a migration's source, resolving names through the module's
/// imports and module-level constants. Django's own names are canonical
/// ([`canonical_path`]).
pub fn from_migration_expr(e: &Expr, names: &ImportMap, b: &ModuleBindings<'_>) -> PyValue {
    from_expr(e, names, b, 0)
}

fn from_expr(e: &Expr, names: &ImportMap, b: &ModuleBindings<'_>, depth: usize) -> PyValue {
    if depth > 64 {
        return PyValue::Unknown;
    }
    let rec = |x: &Expr| from_expr(x, names, b, depth + 1);
    if let Some(v) = literal(e, &mut |x| rec(x)) {
        return v;
    }
    match e {
        Expr::Name(n) => {
            let id = n.id.as_str();
            if let Some(path) = names.resolve(id) {
                return PyValue::Ref(canonical_path(&path));
            }
            match b.get(id) {
                Some(bound) if !std::ptr::eq(bound, e) => rec(bound),
                Some(_) => PyValue::Unknown,
                None => match id {
                    "dict" | "list" | "tuple" | "set" | "frozenset" | "str" | "int" | "float"
                    | "bool" | "bytes" | "object" => PyValue::Ref(format!("builtins.{id}")),
                    _ => PyValue::Unknown,
                },
            }
        }
        Expr::Attribute(_) => {
            let Some(d) = eval::dotted_name(e) else {
                return PyValue::Unknown;
            };
            if let Some(s) = d.strip_prefix("settings.") {
                if names.resolve("settings").as_deref() == Some("django.conf.settings") {
                    return PyValue::Setting(s.to_owned());
                }
            }
            match names.resolve(&d) {
                Some(path) => PyValue::Ref(canonical_path(&path)),
                None => PyValue::Unknown,
            }
        }
        Expr::Call(c) => {
            let callee = rec(&c.func);
            let PyValue::Ref(path) = callee else {
                return PyValue::Unknown;
            };
            let mut args = Vec::with_capacity(c.arguments.args.len());
            let mut splat = false;
            for a in &c.arguments.args {
                if a.is_starred_expr() {
                    splat = true;
                    continue;
                }
                args.push(rec(a));
            }
            let mut kwargs = Vec::with_capacity(c.arguments.keywords.len());
            for k in &c.arguments.keywords {
                match &k.arg {
                    Some(n) => kwargs.push((n.id.as_str().to_owned(), rec(&k.value))),
                    None => splat = true,
                }
            }
            simplify_call(CallValue {
                path,
                args,
                kwargs,
                splat,
            })
        }
        _ => PyValue::Unknown,
    }
}

/// Literal displays, whatever reads their items: strings, numbers, containers.
pub fn literal(e: &Expr, item: &mut dyn FnMut(&Expr) -> PyValue) -> Option<PyValue> {
    Some(match e {
        Expr::StringLiteral(s) => PyValue::Str(s.value.to_str().to_owned()),
        Expr::BytesLiteral(bl) => PyValue::Bytes(bl.value.bytes().collect()),
        Expr::BooleanLiteral(x) => PyValue::Bool(x.value),
        Expr::NoneLiteral(_) => PyValue::None,
        Expr::NumberLiteral(n) => match &n.value {
            ast::Number::Int(i) => i.as_i64().map_or(PyValue::Unknown, PyValue::Int),
            ast::Number::Float(f) => PyValue::float(*f),
            ast::Number::Complex { .. } => PyValue::Unknown,
        },
        Expr::UnaryOp(u) if matches!(u.op, ast::UnaryOp::USub) => match item(&u.operand) {
            PyValue::Int(i) => i.checked_neg().map_or(PyValue::Unknown, PyValue::Int),
            PyValue::Float(bits) => PyValue::float(-f64::from_bits(bits)),
            _ => PyValue::Unknown,
        },
        Expr::List(l) => PyValue::List(seq(&l.elts, item)?),
        Expr::Tuple(t) => PyValue::Tuple(seq(&t.elts, item)?),
        Expr::Set(s) => PyValue::Set(seq(&s.elts, item)?),
        Expr::Dict(d) => {
            let mut out = Vec::new();
            for it in &d.items {
                let Some(k) = &it.key else {
                    return Some(PyValue::Unknown);
                };
                out.push((item(k), item(&it.value)));
            }
            PyValue::Dict(out)
        }
        _ => return None,
    })
}

fn seq(elts: &[Expr], item: &mut dyn FnMut(&Expr) -> PyValue) -> Option<Vec<PyValue>> {
    let mut out = Vec::with_capacity(elts.len());
    for e in elts {
        if e.is_starred_expr() {
            return Some(vec![PyValue::Unknown]);
        }
        out.push(item(e));
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn val(src: &str) -> PyValue {
        let text = format!(
            "import django.db.models.deletion\nfrom django.db import migrations, models\nfrom django.conf import settings\nimport uuid\nX = {src}\n"
        );
        let p = djcheck_python::parse_module(&text);
        let names = ImportMap::of_module(p.body());
        let b = ModuleBindings::new(p.body());
        from_migration_expr(b.get("X").unwrap(), &names, &b)
    }

    fn eq(a: &str, b: &str) -> Option<bool> {
        py_eq(&val(a), &val(b), &|_| false)
    }

    #[test]
    fn python_equality() {
        assert_eq!(eq("1", "True"), Some(true));
        assert_eq!(eq("1.0", "1"), Some(true));
        assert_eq!(eq("[('a', 'A')]", "[('a', 'A')]"), Some(true));
        assert_eq!(eq("[('a', 'A')]", "[['a', 'A']]"), Some(false));
        assert_eq!(eq("{'a': 1, 'b': 2}", "{'b': 2, 'a': 1}"), Some(true));
        assert_eq!(eq("{1, 2}", "{2, 1, 1}"), Some(true));
        assert_eq!(
            eq("django.db.models.deletion.CASCADE", "models.CASCADE"),
            Some(true)
        );
        assert_eq!(eq("models.CASCADE", "models.PROTECT"), Some(false));
        assert_eq!(eq("uuid.uuid4", "'x'"), Some(false));
        assert_eq!(eq("somelib.f", "somelib.g"), None);
        assert_eq!(
            eq("models.Q(a=1, b=2)", "models.Q(('a', 1), ('b', 2))"),
            Some(true)
        );
        assert_eq!(
            eq("settings.AUTH_USER_MODEL", "settings.AUTH_USER_MODEL"),
            Some(true)
        );
        assert_eq!(eq("'x'", "1"), Some(false));
        assert_eq!(eq("-1", "-1.0"), Some(true));
    }

    #[test]
    fn canonical_paths() {
        assert_eq!(
            canonical_path("django.db.models.fields.related.ForeignKey"),
            "django.db.models.ForeignKey"
        );
        assert_eq!(
            canonical_path("django.db.models.functions.text.Lower"),
            "django.db.models.functions.Lower"
        );
        assert_eq!(canonical_path("myapp.fields.X"), "myapp.fields.X");
    }
}
