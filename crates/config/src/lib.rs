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
    /// Rule codes or prefixes to enable (replaces the default: all rules).
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
}

/// The config file of a project root, in precedence order: `djcheck.toml`,
/// `.djcheck.toml`, then `pyproject.toml` when it has a `[tool.djcheck]` table.
pub fn find(root: &Path) -> Result<Option<Loaded>, ConfigError> {
    for name in ["djcheck.toml", ".djcheck.toml"] {
        let p = root.join(name);
        if p.is_file() {
            return load_file(&p).map(Some);
        }
    }
    let p = root.join("pyproject.toml");
    if p.is_file() {
        let text = read(&p)?;
        return parse_pyproject(&p, &text);
    }
    Ok(None)
}

/// Reads an explicit config file (`--config FILE`).
pub fn load_file(path: &Path) -> Result<Loaded, ConfigError> {
    let text = read(path)?;
    if path.file_name().is_some_and(|n| n == "pyproject.toml") {
        return parse_pyproject(path, &text)?
            .ok_or_else(|| ConfigError(format!("{}: no [tool.djcheck] table", path.display())));
    }
    let options = parse_options(path, &text)?;
    Ok(Loaded {
        path: path.to_owned(),
        options,
    })
}

fn read(path: &Path) -> Result<String, ConfigError> {
    #[allow(clippy::disallowed_methods)] // Config is read by the CLI before analysis starts.
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError(format!("{}: cannot read config: {e}", path.display())))
}

/// Parses top-level djcheck options.
pub fn parse_options(path: &Path, text: &str) -> Result<Options, ConfigError> {
    let opts: Options = toml::from_str(text).map_err(|e| describe(path, text, &e))?;
    validate(path, &opts)?;
    Ok(opts)
}

fn parse_pyproject(path: &Path, text: &str) -> Result<Option<Loaded>, ConfigError> {
    #[derive(Deserialize)]
    struct Pyproject {
        tool: Option<Tool>,
    }
    #[derive(Deserialize)]
    struct Tool {
        djcheck: Option<toml::Spanned<toml::Value>>,
    }
    let doc: Pyproject = toml::from_str(text).map_err(|e| describe(path, text, &e))?;
    let Some(tool) = doc.tool.and_then(|t| t.djcheck) else {
        return Ok(None);
    };
    // Re-parse the table from its own text so error positions stay exact.
    let span = tool.span();
    let table_text = text.get(span.clone()).unwrap_or("");
    let _ = table_text;
    let options: Options = toml::Value::into_inner_options(tool.into_inner()).map_err(|e| {
        let mut msg = format!("{}: [tool.djcheck]: {}", path.display(), e.message());
        if let Some(line) = line_of(text, span.start) {
            msg.push_str(&format!(" (table at line {line})"));
        }
        ConfigError(msg)
    })?;
    validate(path, &options)?;
    Ok(Some(Loaded {
        path: path.to_owned(),
        options,
    }))
}

trait IntoOptions {
    fn into_inner_options(self) -> Result<Options, toml::de::Error>;
}

impl IntoOptions for toml::Value {
    fn into_inner_options(self) -> Result<Options, toml::de::Error> {
        self.try_into()
    }
}

fn line_of(text: &str, offset: usize) -> Option<usize> {
    text.get(..offset)
        .map(|t| t.bytes().filter(|b| *b == b'\n').count() + 1)
}

fn describe(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
    let mut msg = format!("{}", path.display());
    if let Some(span) = e.span() {
        if let Some(line) = line_of(text, span.start) {
            msg.push_str(&format!(":{line}"));
        }
    }
    msg.push_str(&format!(": {}", e.message()));
    ConfigError(msg)
}

fn validate(path: &Path, o: &Options) -> Result<(), ConfigError> {
    let bad = |key: &str, value: &str, allowed: &str| {
        ConfigError(format!(
            "{}: invalid value `{value}` for `{key}`: expected {allowed}",
            path.display()
        ))
    };
    if let Some(f) = &o.fail_on {
        if !matches!(f.as_str(), "error" | "warning" | "info") {
            return Err(bad("fail-on", f, "error, warning or info"));
        }
    }
    if let Some(d) = &o.sql_dialect {
        if !matches!(d.as_str(), "postgresql" | "mysql" | "sqlite") {
            return Err(bad("sql-dialect", d, "postgresql, mysql or sqlite"));
        }
    }
    if let Some(sev) = &o.severity {
        for (code, s) in sev {
            if !matches!(s.as_str(), "error" | "warning" | "info") {
                return Err(bad(
                    &format!("severity.{code}"),
                    s,
                    "error, warning or info",
                ));
            }
        }
    }
    if let Some(m) = &o.auth_user_model {
        if m.split('.').count() != 2 {
            return Err(bad("auth-user-model", m, "`app_label.ModelName`"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_key_and_line() {
        let e = parse_options(Path::new("djcheck.toml"), "select = [\"MIG\"]\nbogus = 1\n")
            .unwrap_err();
        assert!(e.0.contains("djcheck.toml:2"), "{e}");
        assert!(e.0.contains("bogus"), "{e}");
    }

    #[test]
    fn pyproject_table() {
        let text = "[project]\nname = \"x\"\n\n[tool.djcheck]\nignore = [\"MIG008\"]\nfail-on = \"error\"\n";
        let l = parse_pyproject(Path::new("pyproject.toml"), text)
            .unwrap()
            .unwrap();
        assert_eq!(l.options.ignore, Some(vec!["MIG008".to_owned()]));
        let bad = "[tool.djcheck]\nnope = 1\n";
        let e = parse_pyproject(Path::new("pyproject.toml"), bad).unwrap_err();
        assert!(e.0.contains("nope"), "{e}");
    }

    #[test]
    fn bad_value() {
        let e = parse_options(Path::new("d.toml"), "fail-on = \"sometimes\"\n").unwrap_err();
        assert!(e.0.contains("fail-on"), "{e}");
    }
}
