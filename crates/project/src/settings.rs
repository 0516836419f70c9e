//! Django settings, read statically with the project's evaluator ([`djcheck_pyeval`]),
//! and how the settings module is found.
//!
//! The settings module runs in the evaluator as Python would run it: star imports of
//! the project's modules (`from .base import *`), optional local settings (a module of
//! the project that is not in the tree, imported under `except ImportError`, under
//! `if os.path.exists(...)` or in `with suppress(ImportError)`, is a no-op),
//! django-split-settings' `include()`, conditionals (both arms; values that differ are
//! alternatives), string formatting, environment reads (the default is the value,
//! remembered as such).
//!
//! A star import of a module that can't be read (outside the project) may rebind any
//! name. The rule: what was bound before it keeps its value, marked as possibly
//! overridden there ([`Setting::overridden_at`]), and rules use it (local settings that
//! override ROOT_URLCONF or AUTH_USER_MODEL are rare); what is bound after it is known;
//! a setting bound nowhere may come from it, so its Django default is not assumed
//! ([`Settings::may_be_set`]).

use djcheck_diagnostics::{FileId, Span};
use djcheck_pyeval::{self as pyeval, EnvRead, Val};
use djcheck_python::ast::{Expr, Stmt};
use djcheck_python::eval;
use std::collections::BTreeMap;

/// A statically known settings value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    /// A path in the project tree (`BASE_DIR`), relative to the root.
    Path(String),
    /// A list or tuple. `complete` is false when it may hold items that cannot be read
    /// statically. Items added under a condition are listed (they may be there).
    List {
        items: Vec<Value>,
        complete: bool,
    },
    Dict(Vec<(Value, Value)>),
    /// One of these, depending on a condition (`if`/`else` arms assigning different
    /// values).
    OneOf(Vec<Value>),
    Unknown,
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The alternatives (the value itself when it has none).
    pub fn alternatives(&self) -> Vec<&Value> {
        match self {
            Value::OneOf(v) => v.iter().collect(),
            other => vec![other],
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
    /// Read from the environment: the variable, and whether the value is its default.
    pub env: Option<EnvRead>,
    /// A star import of a module that can't be read ran after it, and may rebind it.
    pub overridden_at: Option<Span>,
}

/// How the settings module was found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SettingsSource {
    /// `--settings` or the config key `settings`.
    Config,
    /// `DJANGO_SETTINGS_MODULE` set in an entry point (`manage.py`, `wsgi.py`,
    /// `asgi.py`): its path.
    EntryPoint(String),
    /// pytest-django's configuration: the file.
    Pytest(String),
    /// django-stubs' `django_settings_module`: the file.
    DjangoStubs(String),
    /// By file name, nothing naming one.
    FileName,
}

impl SettingsSource {
    /// The short name the project report uses (`summary.project.settings_source`).
    pub fn key(&self) -> String {
        match self {
            SettingsSource::Config => "config".to_owned(),
            SettingsSource::EntryPoint(p) => p.rsplit('/').next().unwrap_or(p).to_owned(),
            SettingsSource::Pytest(_) => "pytest".to_owned(),
            SettingsSource::DjangoStubs(_) => "django-stubs".to_owned(),
            SettingsSource::FileName => "file-name".to_owned(),
        }
    }

    /// For humans: `DJANGO_SETTINGS_MODULE in manage.py`.
    pub fn describe(&self) -> String {
        match self {
            SettingsSource::Config => "named by --settings or the configuration".to_owned(),
            SettingsSource::EntryPoint(p) => format!("DJANGO_SETTINGS_MODULE in {p}"),
            SettingsSource::Pytest(p) => format!("DJANGO_SETTINGS_MODULE of pytest in {p}"),
            SettingsSource::DjangoStubs(p) => format!("django_settings_module in {p}"),
            SettingsSource::FileName => {
                "found by file name (no entry point or tool configuration names one)".to_owned()
            }
        }
    }
}

/// The project's settings as read from its settings module(s).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// The settings module the project runs with, if found.
    pub module: Option<String>,
    pub source: Option<SettingsSource>,
    /// The settings module's file could be read and evaluated.
    pub readable: bool,
    /// Files read (the module, what it imports and includes), in reading order.
    pub files: Vec<FileId>,
    pub values: BTreeMap<String, Setting>,
    /// A star import (or split-settings include) that could not be read: where.
    pub star_unknown: Option<Span>,
}

impl Settings {
    pub fn get(&self, name: &str) -> Option<&Setting> {
        self.values.get(name)
    }

    /// True when `name` is not bound but an unreadable star import may have set it: its
    /// Django default can't be assumed.
    pub fn may_be_set(&self, name: &str) -> bool {
        !self.values.contains_key(name) && self.star_unknown.is_some()
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

    /// The string entries of a list setting and whether the list is completely known
    /// (items added under a condition are listed: they may be there).
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
        str_dict_of(&self.values.get(name)?.value)
    }

    /// Each alternative of a dict setting (one when it has none), as [`Self::str_dict`].
    pub fn str_dict_alternatives(&self, name: &str) -> Vec<(StrDict, bool)> {
        match self.values.get(name) {
            Some(s) => s
                .value
                .alternatives()
                .into_iter()
                .filter_map(str_dict_of)
                .collect(),
            None => Vec::new(),
        }
    }
}

fn str_dict_of(v: &Value) -> Option<(StrDict, bool)> {
    match v {
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

/// Evaluates settings module `module` and reads its settings (the upper-case names, as
/// Django does).
pub fn evaluate(it: &mut pyeval::Interp<'_>, module: &str) -> Settings {
    let mut s = Settings {
        module: Some(module.to_owned()),
        ..Settings::default()
    };
    let Ok(res) = it.module(module) else {
        return s;
    };
    s.readable = true;
    s.files.push(res.file);
    s.files.extend(res.included.iter().copied());
    s.star_unknown = res.star_unknown;
    for (name, v) in &res.env {
        if !is_setting_name(name) {
            continue;
        }
        let origin = res.origins.get(name);
        s.values.insert(
            name.clone(),
            Setting {
                value: convert(&res, v, 0),
                span: origin.map(|o| o.span),
                env: origin.and_then(|o| o.env.clone()),
                overridden_at: origin.and_then(|o| o.overridden_at),
            },
        );
    }
    s
}

/// Django reads the settings module's upper-case names.
fn is_setting_name(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && name
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn convert(res: &pyeval::ModResult, v: &Val, depth: usize) -> Value {
    if depth > 16 {
        return Value::Unknown;
    }
    match v {
        Val::Str(s) | Val::Translated(s) => Value::Str(s.clone()),
        Val::Int(i) => Value::Int(*i),
        Val::Bool(b) => Value::Bool(*b),
        Val::None => Value::None,
        Val::Path(pyeval::FsPath::Known(p)) => Value::Path(p.clone()),
        Val::OneOf(alts) => Value::OneOf(alts.iter().map(|a| convert(res, a, depth + 1)).collect()),
        Val::List(id) => {
            let Some(list) = res.list(*id) else {
                return Value::Unknown;
            };
            let mut items = Vec::new();
            let mut complete = !list.open;
            for it in &list.items {
                match convert(res, &it.val, depth + 1) {
                    Value::Unknown => complete = false,
                    v => items.push(v),
                }
            }
            Value::List { items, complete }
        }
        Val::Dict(d) => Value::Dict(
            d.iter()
                .map(|(k, v)| (convert(res, k, depth + 1), convert(res, v, depth + 1)))
                .collect(),
        ),
        _ => Value::Unknown,
    }
}

/// Finds `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x.settings")` (or an
/// assignment to `os.environ["DJANGO_SETTINGS_MODULE"]`) in an entry point module.
pub fn settings_module_from_entrypoint(body: &[Stmt]) -> Option<String> {
    let mut found = None;
    let mut visit = |e: &Expr, target: Option<&Expr>| {
        if let Some(Expr::Subscript(s)) = target {
            let base = eval::dotted_name(&s.value).unwrap_or_default();
            if base.ends_with("environ")
                && eval::str_value(&s.slice).as_deref() == Some("DJANGO_SETTINGS_MODULE")
            {
                if let Some(v) = eval::str_value(e) {
                    found.get_or_insert(v);
                }
            }
            return;
        }
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

fn walk_exprs(body: &[Stmt], f: &mut dyn FnMut(&Expr, Option<&Expr>)) {
    for s in body {
        match s {
            Stmt::Expr(e) => f(&e.value, None),
            Stmt::Assign(a) => {
                f(&a.value, None);
                for t in &a.targets {
                    f(&a.value, Some(t));
                }
            }
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

/// `DJANGO_SETTINGS_MODULE` in pytest's configuration (`[tool.pytest.ini_options]` of
/// pyproject.toml, `[pytest]` of pytest.ini or tox.ini, `[tool:pytest]` of setup.cfg),
/// also as `--ds=` in `addopts`; or django-stubs' `django_settings_module`
/// (`[tool.django-stubs]`, `[mypy.plugins.django-stubs]`).
pub fn settings_module_from_tool_config(file_name: &str, text: &str) -> Option<(String, bool)> {
    if file_name == "pyproject.toml" {
        let doc: toml::Table = toml::from_str(text).ok()?;
        let tool = doc.get("tool")?.as_table()?;
        if let Some(opts) = tool
            .get("pytest")
            .and_then(|p| p.as_table())
            .and_then(|p| p.get("ini_options"))
            .and_then(|p| p.as_table())
        {
            if let Some(m) = opts.get("DJANGO_SETTINGS_MODULE").and_then(|v| v.as_str()) {
                return Some((m.to_owned(), true));
            }
            let addopts = match opts.get("addopts") {
                Some(toml::Value::String(s)) => s.clone(),
                Some(toml::Value::Array(a)) => a
                    .iter()
                    .filter_map(|v| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" "),
                _ => String::new(),
            };
            if let Some(m) = ds_option(&addopts) {
                return Some((m, true));
            }
        }
        let stubs = tool.get("django-stubs").and_then(|t| t.as_table())?;
        let m = stubs.get("django_settings_module")?.as_str()?;
        return Some((m.to_owned(), false));
    }
    let pytest_section = match file_name {
        "pytest.ini" | "tox.ini" => "pytest",
        "setup.cfg" => "tool:pytest",
        _ => "",
    };
    let mut section = String::new();
    let mut stubs = None;
    for raw in text.split(['\n', '\r']) {
        let line = raw.trim();
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.trim().to_owned();
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim().trim_matches(['"', '\'']));
        if !pytest_section.is_empty() && section == pytest_section {
            if key == "DJANGO_SETTINGS_MODULE" && !value.is_empty() {
                return Some((value.to_owned(), true));
            }
            if key == "addopts" {
                if let Some(m) = ds_option(value) {
                    return Some((m, true));
                }
            }
        }
        if section == "mypy.plugins.django-stubs" && key == "django_settings_module" {
            stubs.get_or_insert(value.to_owned());
        }
    }
    stubs.map(|m| (m, false))
}

/// `--ds=x.settings` / `--ds x.settings` in pytest options.
fn ds_option(opts: &str) -> Option<String> {
    let words: Vec<&str> = opts.split_whitespace().collect();
    for (i, w) in words.iter().enumerate() {
        if let Some(v) = w.strip_prefix("--ds=") {
            return Some(v.to_owned());
        }
        if *w == "--ds" {
            return words.get(i + 1).map(|s| (*s).to_owned());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_python::parse_module;

    #[test]
    fn entrypoint() {
        let m = parse_module("import os\ndef main():\n    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n");
        assert_eq!(
            settings_module_from_entrypoint(m.body()).as_deref(),
            Some("proj.settings")
        );
        let m = parse_module("import os\nos.environ['DJANGO_SETTINGS_MODULE'] = 'proj.prod'\n");
        assert_eq!(
            settings_module_from_entrypoint(m.body()).as_deref(),
            Some("proj.prod")
        );
    }

    #[test]
    fn tool_configs() {
        let t = "[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = \"proj.settings.test\"\n";
        assert_eq!(
            settings_module_from_tool_config("pyproject.toml", t),
            Some(("proj.settings.test".to_owned(), true))
        );
        let t = "[tool.pytest.ini_options]\naddopts = \"--ds=proj.ci -q\"\n";
        assert_eq!(
            settings_module_from_tool_config("pyproject.toml", t),
            Some(("proj.ci".to_owned(), true))
        );
        let t = "[tool.django-stubs]\ndjango_settings_module = \"proj.settings\"\n";
        assert_eq!(
            settings_module_from_tool_config("pyproject.toml", t),
            Some(("proj.settings".to_owned(), false))
        );
        let t = "[metadata]\nname = x\n[tool:pytest]\nDJANGO_SETTINGS_MODULE = tests.settings\n";
        assert_eq!(
            settings_module_from_tool_config("setup.cfg", t),
            Some(("tests.settings".to_owned(), true))
        );
        let t = "[pytest]\naddopts = --ds tests.settings\n";
        assert_eq!(
            settings_module_from_tool_config("pytest.ini", t),
            Some(("tests.settings".to_owned(), true))
        );
        let t = "[mypy.plugins.django-stubs]\ndjango_settings_module = proj.settings\n";
        assert_eq!(
            settings_module_from_tool_config("setup.cfg", t),
            Some(("proj.settings".to_owned(), false))
        );
        assert_eq!(
            settings_module_from_tool_config("tox.ini", "[tox]\nenvlist=py3\n"),
            None
        );
    }
}
