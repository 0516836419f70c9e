//! Settings conformance: what djcheck reads from a project's settings is what Django
//! reads.
//!
//! For every fixture project (`fixtures/*/*/{fires,silent}` with a `manage.py`),
//! `djcheck project --format json` says which settings module it picked and the values
//! of INSTALLED_APPS, MIGRATION_MODULES, ROOT_URLCONF and AUTH_USER_MODEL; then
//! `tests/conformance/settings_values.py` imports that settings module with Django 5.2
//! (the conformance virtualenv, with django-split-settings, django-environ and
//! python-decouple installed) in an environment with no variables of the project set, so
//! defaults apply as djcheck assumes. Every value djcheck claims to know must be Django's;
//! a value djcheck calls unknown or one of several is not compared (djcheck stays silent
//! there). The table goes to stdout and `target/conformance/settings_report.txt`.
//!
//! Environment: `DJCHECK_SKIP_CONFORMANCE=1` skips (printing why); without it, a failing
//! setup (no network to PyPI) fails the test.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr
)]

use serde_json::{json, Value};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

#[test]
fn settings_agree_with_django() {
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        println!("settings_conformance: skipped because DJCHECK_SKIP_CONFORMANCE=1");
        return;
    }
    let root = djcheck_tests::workspace_root();
    let conf = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("conformance");
    std::fs::create_dir_all(&conf).unwrap();
    println!(
        "settings_conformance: setting up the Django virtualenv under {}",
        conf.display()
    );
    let python = setup_venv(&root, &conf);
    let script = root.join("tests/conformance/settings_values.py");
    let projects: Vec<PathBuf> = djcheck_tests::fixture_projects()
        .into_iter()
        .filter(|p| p.join("manage.py").is_file())
        .collect();
    assert!(projects.len() >= 40, "expected the fixture projects");
    println!(
        "settings_conformance: comparing {} fixture projects with Django",
        projects.len()
    );
    let results: Vec<(String, Result<usize, String>)> = std::thread::scope(|s| {
        let chunks: Vec<&[PathBuf]> = projects.chunks(projects.len().div_ceil(2)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (python, script, root) = (&python, &script, &root);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|p| {
                            let name = p.strip_prefix(root).unwrap().display().to_string();
                            (name, compare(p, python, script))
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, r) in &results {
        match r {
            Ok(n) => {
                compared += n;
                let _ = writeln!(report, "{name:<70} agree ({n} values)");
            }
            Err(e) => {
                failures.push(format!("{name}: {e}"));
                let _ = writeln!(report, "{name:<70} DISAGREE: {e}");
            }
        }
    }
    let _ = writeln!(
        report,
        "\n{} projects, {compared} values compared, {} disagreements",
        results.len(),
        failures.len()
    );
    println!("{report}");
    let _ = std::fs::write(conf.join("settings_report.txt"), &report);
    assert!(
        failures.is_empty(),
        "djcheck's settings differ from Django's:\n{}",
        failures.join("\n")
    );
}

/// Compares one project; the number of values compared.
fn compare(dir: &Path, python: &Path, script: &Path) -> Result<usize, String> {
    let (code, out, err) =
        djcheck_tests::djcheck(&["project", ".", "--no-config", "--format", "json"], dir);
    if code != 0 {
        return Err(format!("djcheck project exited {code}: {err}"));
    }
    let ours: Value = serde_json::from_str(&out).map_err(|e| format!("bad json: {e}"))?;
    let Some(module) = ours["settings"]["module"].as_str() else {
        return Err("djcheck found no settings module".to_owned());
    };
    let run = Command::new(python)
        .arg(script)
        .arg(dir)
        .arg(module)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run python: {e}"))?;
    let theirs: Value = serde_json::from_slice(&run.stdout).map_err(|e| {
        format!(
            "Django could not read `{module}`: {e}\n{}",
            String::from_utf8_lossy(&run.stderr)
        )
    })?;
    if let Some(e) = theirs.get("error") {
        return Err(format!("Django could not read `{module}`: {e}"));
    }
    let values = &ours["settings"]["values"];
    let mut n = 0;
    for (name, default) in [
        ("INSTALLED_APPS", json!([])),
        ("MIGRATION_MODULES", json!({})),
        ("ROOT_URLCONF", Value::Null),
        ("AUTH_USER_MODEL", json!("auth.User")),
    ] {
        let django = &theirs[name];
        let mine = match values.get(name) {
            // Not set: Django's default (djcheck knows it is not set).
            None => default,
            Some(v) => match known(&v["value"]) {
                Some(v) => v,
                None => continue,
            },
        };
        if &mine != django {
            return Err(format!("{name}: djcheck {mine}, Django {django}"));
        }
        n += 1;
    }
    Ok(n)
}

/// The plain JSON of a value djcheck knows; `None` for unknown values and alternatives.
fn known(v: &Value) -> Option<Value> {
    match v {
        Value::String(_) | Value::Bool(_) | Value::Number(_) | Value::Null => Some(v.clone()),
        Value::Object(o) if o.contains_key("items") => {
            if o["complete"] != Value::Bool(true) {
                return None;
            }
            o["items"]
                .as_array()?
                .iter()
                .map(known)
                .collect::<Option<Vec<_>>>()
                .map(Value::Array)
        }
        // A dict: `[[key, value], ...]`.
        Value::Array(pairs) => {
            let mut m = serde_json::Map::new();
            for p in pairs {
                let k = p.get(0)?.as_str()?.to_owned();
                m.insert(k, known(p.get(1)?)?);
            }
            Some(Value::Object(m))
        }
        _ => None,
    }
}

/// The conformance virtualenv (`setup_venv.sh`, shared with the other conformance
/// tests, which takes their locks): its python.
fn setup_venv(root: &Path, conf: &Path) -> PathBuf {
    let script = root.join("tests/conformance/setup_venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(conf)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout
        .lines()
        .find_map(|l| l.strip_prefix("python="))
        .map(PathBuf::from)
    {
        Some(py) if out.status.success() && py.exists() => py,
        _ => panic!(
            "conformance setup failed (it needs PyPI).\nSet DJCHECK_SKIP_CONFORMANCE=1 to skip \
             this test.\nstatus: {}\nstdout:\n{stdout}\nstderr:\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}
