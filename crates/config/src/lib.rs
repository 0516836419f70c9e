//! Configuration: the user-facing options of `[tool.djcheck]` in `pyproject.toml`, or of
//! `djcheck.toml` / `.djcheck.toml` (same keys at top level).
//!
//! What it is: [`Options`], every key optional and documented, and [`find`]/[`load_file`]
//! to read them. Unknown keys and bad values are errors naming the file, key and line.
//!
//! What it must never depend on: the project model, the rules or the CLI. It resolves
//! nothing: the CLI merges these options with its flags (flags win).

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Every configuration key. All optional; absent means "use the default".
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Options {
    /// Rule codes or prefixes to enable (replaces the default set, the rules marked "on").
    pub select: Option<Vec<String>>,
    /// Rule codes or prefixes to disable.
    pub ignore: Option<Vec<String>>,
    /// Rule codes or prefixes to enable on top of `select`.
    pub extend_select: Option<Vec<String>>,
    /// Paths (gitignore-style globs) to skip, replacing the default excludes.
    pub exclude: Option<Vec<String>>,
    /// Paths (gitignore-style globs) to skip, in addition to the default excludes.
    pub extend_exclude: Option<Vec<String>>,
    /// Glob to list of codes ignored in matching files.
    pub per_file_ignores: Option<BTreeMap<String, Vec<String>>>,
    /// Per-code severity overrides (`error`, `warning`, `info`).
    pub severity: Option<BTreeMap<String, String>>,
    /// Lowest severity that makes the run fail: `error`, `warning` (default) or `info`.
    pub fail_on: Option<String>,
    /// Settings module (dotted) or file path.
    pub settings: Option<String>,
    /// Dotted module of the root URLconf.
    pub root_urlconf: Option<String>,
    /// `app_label.ModelName` of the custom user model.
    pub auth_user_model: Option<String>,
    /// SQL dialect for RunSQL: `postgresql` (default), `mysql`, `sqlite`.
    pub sql_dialect: Option<String>,
    /// Schemas SQL may name besides `public`, `pg_catalog`, `information_schema`.
    pub allowed_schemas: Option<Vec<String>>,
    /// Labels of installed third-party apps djcheck cannot see.
    pub third_party_apps: Option<Vec<String>>,
    /// Deploy-safety scope without `--base` or paths: app label (or `*`) to the migration
    /// name, number or `YYYY-MM-DD` date after which migrations are judged.
    pub deploy_safety_since: Option<BTreeMap<String, String>>,
    /// Require a `SET lock_timeout` before lock-taking SQL in RunSQL (SAFE rules).
    pub require_lock_timeout: Option<bool>,
    /// Baseline file (relative to the project root): findings listed there are hidden.
    pub baseline: Option<String>,
    /// The cache folder (relative to the project root), `.djcheck_cache` by default.
    pub cache_dir: Option<String>,
}

/// A configuration problem, ready to print: it names the file, and the key and line when
/// known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl std::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// Where the options came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub path: PathBuf,
    pub options: Options,
    /// The file's text, to point at keys in later error messages.
    text: String,
    /// Where the options table is: `[]` at top level, `["tool", "djcheck"]` in
    /// `pyproject.toml`.
    table: &'static [&'static str],
}

impl Loaded {
    /// `file:line` of an option key (e.g. `["severity", "MIG999"]`), or the file alone
    /// when the key is not written in it. For messages about values the CLI checks
    /// (rule codes, globs).
    pub fn locate(&self, key: &[&str]) -> String {
        let mut full: Vec<&str> = self.table.to_vec();
        full.extend_from_slice(key);
        match key_line(&self.text, &full) {
            Some(line) => format!("{}:{line}", self.path.display()),
            None => self.path.display().to_string(),
        }
    }

    /// How the key is written in the file, e.g. `tool.djcheck.severity.MIG999`.
    pub fn key_name(&self, key: &[&str]) -> String {
        let mut full: Vec<&str> = self.table.to_vec();
        full.extend_from_slice(key);
        full.join(".")
    }
}

const PYPROJECT_TABLE: &[&str] = &["tool", "djcheck"];

/// The config file of a project root, in precedence order: `djcheck.toml`,
/// `.djcheck.toml`, then `pyproject.toml` when it has a `[tool.djcheck]` table.
pub fn find(root: &Path) -> Result<Option<Loaded>, ConfigError> {
    for name in ["djcheck.toml", ".djcheck.toml"] {
        let p = root.join(name);
        if present(&p)? {
            return load_file(&p).map(Some);
        }
    }
    let p = root.join("pyproject.toml");
    if present(&p)? {
        let text = read(&p)?;
        return parse_pyproject(&p, text);
    }
    Ok(None)
}

/// Reads an explicit config file (`--config FILE`): a `pyproject.toml` (its
/// `[tool.djcheck]` table), a file with the keys at top level, or any file written with a
/// `[tool.djcheck]` table (a copy of the `pyproject.toml` section).
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let text = read(path)?;
    let has_tool_table = toml::from_str::<toml::Table>(&text)
        .is_ok_and(|t| t.get("tool").is_some_and(toml::Value::is_table));
    if has_tool_table || path.file_name().is_some_and(|n| n == "pyproject.toml") {
        return parse_pyproject(path, text)?
            .ok_or_else(|| ConfigError(format!("{}: no [tool.djcheck] table", path.display())));
    }
    let options = parse_options(path, &text)?;
    Ok(Loaded {
        path: path.to_owned(),
        options,
        text,
        table: &[],
    })
}

/// Largest config file read: a `pyproject.toml` is a few kilobytes.
const MAX_CONFIG_BYTES: u64 = 8 * 1024 * 1024;

fn read(path: &Path) -> Result<String, ConfigError> {
    use std::io::Read;
    let fail = |e: &dyn std::fmt::Display| {
        ConfigError(format!("{}: cannot read config: {e}", path.display()))
    };
    // A named pipe would block `open` until something writes to it, a device would read
    // without end: only regular files are opened.
    let meta = std::fs::metadata(path).map_err(|e| fail(&e))?;
    if !meta.is_file() {
        return Err(fail(&"not a regular file"));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(fail(&format!(
            "file is {} bytes, larger than the {MAX_CONFIG_BYTES}-byte limit",
            meta.len()
        )));
    }
    let file = std::fs::File::open(path).map_err(|e| fail(&e))?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(&e))?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(fail(&"file grew past the size limit while being read"));
    }
    String::from_utf8(bytes).map_err(|e| {
        fail(&format!(
            "invalid UTF-8 at byte offset {}",
            e.utf8_error().valid_up_to()
        ))
    })
}

/// A config file name that exists but is not a regular file (a folder or a named pipe
/// called `djcheck.toml`) is an error rather than silently skipped.
fn present(p: &Path) -> Result<bool, ConfigError> {
    if p.is_file() {
        return Ok(true);
    }
    match std::fs::metadata(p) {
        Ok(_) => Err(ConfigError(format!(
            "{}: cannot read config: not a regular file",
            p.display()
        ))),
        Err(_) => Ok(false),
    }
}

/// Parses top-level djcheck options.
pub fn parse_options(path: &Path, text: &str) -> Result<Options, ConfigError> {
    let opts: Options = toml::from_str(text).map_err(|e| describe(path, text, &e))?;
    validate(&opts).map_err(|(key, msg)| located(path, text, &[], &key, &msg))?;
    Ok(opts)
}

fn parse_pyproject(path: &Path, text: String) -> Result<Option<Loaded>, ConfigError> {
    // Deserialised in place, from the whole file, so that every error's position is a
    // position in the file. Other tools' tables are ignored.
    #[derive(Deserialize)]
    struct Pyproject {
        tool: Option<Tool>,
    }
    #[derive(Deserialize)]
    struct Tool {
        djcheck: Option<Options>,
    }
    let doc: Pyproject = toml::from_str(&text).map_err(|e| describe(path, &text, &e))?;
    let Some(options) = doc.tool.and_then(|t| t.djcheck) else {
        return Ok(None);
    };
    validate(&options).map_err(|(key, msg)| located(path, &text, PYPROJECT_TABLE, &key, &msg))?;
    Ok(Some(Loaded {
        path: path.to_owned(),
        options,
        text,
        table: PYPROJECT_TABLE,
    }))
}

/// 1-based line of a byte offset.
fn line_of(text: &str, offset: usize) -> Option<usize> {
    text.get(..offset)
        .map(|t| t.bytes().filter(|b| *b == b'\n').count() + 1)
}

/// The line where a dotted key is written (`["tool", "djcheck", "select"]`).
fn key_line(text: &str, key: &[&str]) -> Option<usize> {
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut table = doc.get_ref();
    let mut span = None;
    for (i, k) in key.iter().enumerate() {
        let (kspan, value) = table
            .iter()
            .find(|(name, _)| name.get_ref().as_ref() == *k)
            .map(|(name, v)| (name.span(), v))?;
        span = Some(kspan);
        if i + 1 < key.len() {
            table = value.get_ref().as_table()?;
        }
    }
    line_of(text, span?.start)
}

/// The dotted key whose name or value holds `offset`: the deepest one.
fn key_at(text: &str, offset: usize) -> Option<String> {
    fn walk(
        table: &toml::de::DeTable<'_>,
        offset: usize,
        path: &mut Vec<String>,
        best: &mut Option<Vec<String>>,
    ) {
        for (k, v) in table {
            let inside = k.span().contains(&offset)
                || v.span().contains(&offset)
                || (v.span().end == offset && offset > v.span().start);
            path.push(k.get_ref().to_string());
            if inside && best.as_ref().is_none_or(|b| b.len() < path.len()) {
                *best = Some(path.clone());
            }
            if let Some(t) = v.get_ref().as_table() {
                walk(t, offset, path, best);
            }
            path.pop();
        }
    }
    let doc = toml::de::DeTable::parse(text).ok()?;
    let mut best = None;
    walk(doc.get_ref(), offset, &mut Vec::new(), &mut best);
    best.map(|b| b.join("."))
}

fn describe(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let mut msg = format!("{}", path.display());
    let mut key = None;
    if let Some(span) = e.span() {
        if let Some(line) = line_of(text, span.start) {
            msg.push_str(&format!(":{line}"));
        }
        key = key_at(text, span.start);
    }
    let detail = e.message().trim_end();
    match key {
        Some(k) => msg.push_str(&format!(": `{k}`: {detail}")),
        None => msg.push_str(&format!(": {detail}")),
    }
    ConfigError(msg)
}

/// An error about the value of `key` (relative to the options table).
fn located(path: &Path, text: &str, table: &[&str], key: &[String], msg: &str) -> ConfigError {
    let mut full: Vec<&str> = table.to_vec();
    full.extend(key.iter().map(String::as_str));
    let place = match key_line(text, &full) {
        Some(line) => format!("{}:{line}", path.display()),
        None => path.display().to_string(),
    };
    ConfigError(format!("{place}: `{}`: {msg}", full.join(".")))
}

type Invalid = (Vec<String>, String);

fn validate(o: &Options) -> Result<(), Invalid> {
    let bad = |key: &[&str], value: &str, allowed: &str| -> Invalid {
        (
            key.iter().map(|k| (*k).to_owned()).collect(),
            format!("invalid value `{value}`: expected {allowed}"),
        )
    };
    const SEVERITIES: &str = "`error`, `warning` or `info`";
    if let Some(f) = &o.fail_on {
        if !matches!(f.as_str(), "error" | "warning" | "info") {
            return Err(bad(&["fail-on"], f, SEVERITIES));
        }
    }
    if let Some(d) = &o.sql_dialect {
        if !matches!(d.as_str(), "postgresql" | "mysql" | "sqlite") {
            return Err(bad(
                &["sql-dialect"],
                d,
                "`postgresql`, `mysql` or `sqlite`",
            ));
        }
    }
    if let Some(sev) = &o.severity {
        for (code, s) in sev {
            if !matches!(s.as_str(), "error" | "warning" | "info") {
                return Err(bad(&["severity", code], s, SEVERITIES));
            }
        }
    }
    if let Some(m) = &o.auth_user_model {
        let parts: Vec<&str> = m.split('.').collect();
        if parts.len() != 2 || parts.iter().any(|p| !is_identifier(p)) {
            return Err(bad(&["auth-user-model"], m, "`app_label.ModelName`"));
        }
    }
    if let Some(u) = &o.root_urlconf {
        if !u.split('.').all(is_identifier) {
            return Err(bad(&["root-urlconf"], u, "a dotted module name"));
        }
    }
    if let Some(b) = &o.baseline {
        if b.trim().is_empty() {
            return Err(bad(&["baseline"], b, "a file path"));
        }
    }
    if let Some(s) = &o.settings {
        if s.trim().is_empty() {
            return Err(bad(&["settings"], s, "a dotted module name or a file path"));
        }
    }
    for (app, value) in o.deploy_safety_since.iter().flatten() {
        if app != "*" && !is_identifier(app) {
            return Err((
                vec!["deploy-safety-since".to_owned(), app.clone()],
                format!("invalid app label `{app}`: expected an app label or `*`"),
            ));
        }
        let v = value.trim();
        let date_like = v.len() == 10 && v.as_bytes()[4] == b'-' && v.as_bytes()[7] == b'-';
        let valid = if date_like {
            v.bytes().enumerate().all(|(i, c)| {
                if i == 4 || i == 7 {
                    c == b'-'
                } else {
                    c.is_ascii_digit()
                }
            })
        } else {
            !v.is_empty() && is_identifier_or_name(v)
        };
        if !valid {
            return Err(bad(
                &["deploy-safety-since", app],
                value,
                "a migration name (`0042_add_field`), a number (`0042`) or a date (`2024-06-01`)",
            ));
        }
    }
    let code_lists = [
        ("select", &o.select),
        ("ignore", &o.ignore),
        ("extend-select", &o.extend_select),
    ];
    for (key, list) in code_lists {
        for c in list.iter().flatten() {
            if !is_code_pattern(c) {
                return Err(bad(
                    &[key],
                    c,
                    "a rule code or prefix such as `MIG001` or `MIG`",
                ));
            }
        }
    }
    for (glob, codes) in o.per_file_ignores.iter().flatten() {
        for c in codes {
            if !is_code_pattern(c) {
                return Err(bad(
                    &["per-file-ignores", glob],
                    c,
                    "a rule code or prefix such as `MIG001` or `MIG`",
                ));
            }
        }
    }
    Ok(())
}

/// A migration name or number: letters, digits and `_`.
fn is_identifier_or_name(s: &str) -> bool {
    s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    c.next().is_some_and(|f| f.is_alphabetic() || f == '_')
        && c.all(|ch| ch.is_alphanumeric() || ch == '_')
}

/// `MIG001`, `MIG`, `ALL`: letters then digits.
fn is_code_pattern(s: &str) -> bool {
    let t = s.trim();
    let letters = t.chars().take_while(char::is_ascii_alphabetic).count();
    letters > 0 && t.chars().skip(letters).all(|c| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse_options(Path::new("djcheck.toml"), "select = [\"MIG\"]\nbogus = 1\n")
            .unwrap_err();
        assert!(e.0.starts_with("djcheck.toml:2: "), "{e}");
        assert!(e.0.contains("bogus"), "{e}");
    }

    #[test]
    fn pyproject_table() {
        let text = "[project]\nname = \"x\"\n\n[tool.djcheck]\nignore = [\"MIG008\"]\nfail-on = \"error\"\n";
        let l = parse_pyproject(Path::new("pyproject.toml"), text.to_owned())
            .unwrap()
            .unwrap();
        assert_eq!(l.options.ignore, Some(vec!["MIG008".to_owned()]));
        assert_eq!(l.locate(&["fail-on"]), "pyproject.toml:6");
        assert_eq!(l.key_name(&["fail-on"]), "tool.djcheck.fail-on");
        // Other tools' tables are none of djcheck's business.
        let other = "[tool.ruff]\nline-length = 100\n";
        assert!(
            parse_pyproject(Path::new("pyproject.toml"), other.to_owned())
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn any_file_with_a_tool_djcheck_table() {
        // A scratch folder, removed with what it holds when `dir` drops, pass or fail.
        let dir = tempfile::Builder::new()
            .prefix("djcheck-config-")
            .tempdir()
            .unwrap();
        let p = dir.path().join("ci.toml");
        std::fs::write(
            &p,
            "[tool.djcheck]\nignore = [\"MIG008\"]\nfail-on = \"error\"\n",
        )
        .unwrap();
        let l = load_file(&p).unwrap();
        assert_eq!(l.options.ignore, Some(vec!["MIG008".to_owned()]));
        assert_eq!(l.key_name(&["fail-on"]), "tool.djcheck.fail-on");
        // Unknown keys inside the table are still errors, with their line.
        std::fs::write(&p, "[tool.djcheck]\nnope = 1\n").unwrap();
        let e = load_file(&p).unwrap_err().to_string();
        assert!(e.contains("ci.toml:2") && e.contains("nope"), "{e}");
        // Top-level keys as before.
        std::fs::write(&p, "ignore = [\"MIG008\"]\n").unwrap();
        assert!(load_file(&p).unwrap().options.ignore.is_some());
    }

    #[test]
    fn pyproject_errors_point_at_the_key_line() {
        let bad = "[project]\nname = \"x\"\n\n[tool.djcheck]\nselect = [\"MIG\"]\nnope = 1\n";
        let e = parse_pyproject(Path::new("pyproject.toml"), bad.to_owned()).unwrap_err();
        assert!(e.0.starts_with("pyproject.toml:6: "), "{e}");
        assert!(e.0.contains("nope"), "{e}");
        // A wrong type names the key too.
        let bad = "[tool.djcheck]\n\nselect = \"MIG\"\n";
        let e = parse_pyproject(Path::new("pyproject.toml"), bad.to_owned()).unwrap_err();
        assert!(e.0.starts_with("pyproject.toml:3: "), "{e}");
        assert!(e.0.contains("tool.djcheck.select"), "{e}");
        // Dotted-key and inline-table forms.
        let bad = "[tool]\ndjcheck.fail-on = \"never\"\n";
        let e = parse_pyproject(Path::new("pyproject.toml"), bad.to_owned()).unwrap_err();
        assert!(e.0.starts_with("pyproject.toml:2: "), "{e}");
        assert!(
            e.0.contains("tool.djcheck.fail-on") && e.0.contains("never"),
            "{e}"
        );
    }

    #[test]
    fn bad_values_name_file_key_and_line() {
        let e = parse_options(Path::new("d.toml"), "\nfail-on = \"sometimes\"\n").unwrap_err();
        assert!(e.0.starts_with("d.toml:2: `fail-on`"), "{e}");
        let e = parse_options(
            Path::new("d.toml"),
            "[severity]\nMIG001 = \"warning\"\nMIG008 = \"loud\"\n",
        )
        .unwrap_err();
        assert!(e.0.starts_with("d.toml:3: `severity.MIG008`"), "{e}");
        let e = parse_options(Path::new("d.toml"), "auth-user-model = \"User\"\n").unwrap_err();
        assert!(e.0.contains("`auth-user-model`"), "{e}");
        let e = parse_options(Path::new("d.toml"), "ignore = [\"MIG-1\"]\n").unwrap_err();
        assert!(e.0.starts_with("d.toml:1: `ignore`"), "{e}");
        let e = parse_options(
            Path::new("d.toml"),
            "[per-file-ignores]\n\"a/**\" = [\"MIG\"]\n\"b/*.py\" = [\"8\"]\n",
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("d.toml:3: `per-file-ignores.b/*.py`"),
            "{e}"
        );
        let e = parse_options(
            Path::new("d.toml"),
            "[deploy-safety-since]\nblog = \"2024-13-x1\"\n",
        )
        .unwrap_err();
        assert!(
            e.0.starts_with("d.toml:2: `deploy-safety-since.blog`"),
            "{e}"
        );
        let e = parse_options(Path::new("d.toml"), "select = [1]\n").unwrap_err();
        assert!(e.0.starts_with("d.toml:1: "), "{e}");
    }

    #[test]
    fn every_key_parses() {
        let text = r#"
select = ["MIG", "PARSE"]
ignore = ["MIG008"]
extend-select = ["SUP"]
exclude = ["build/"]
extend-exclude = ["legacy/"]
per-file-ignores = { "vendored/**" = ["MIG"] }
severity = { MIG008 = "warning" }
fail-on = "error"
settings = "proj.settings.production"
root-urlconf = "proj.urls"
auth-user-model = "users.User"
sql-dialect = "postgresql"
allowed-schemas = ["audit"]
third-party-apps = ["allauth"]
deploy-safety-since = { blog = "0042_post_slug", shop = "0007", "*" = "2024-06-01" }
require-lock-timeout = true
"#;
        let o = parse_options(Path::new("djcheck.toml"), text).unwrap();
        assert_eq!(o.third_party_apps, Some(vec!["allauth".to_owned()]));
        assert_eq!(o.require_lock_timeout, Some(true));
        assert_eq!(o.deploy_safety_since.as_ref().map(|m| m.len()), Some(3));
        assert_eq!(o.root_urlconf.as_deref(), Some("proj.urls"));
    }
}
