//! URL conformance: djcheck's URL rules against Django's own system checks.
//!
//! For every project below, djcheck runs in memory with `--select URL`, and
//! `tests/conformance/url_checks.py` runs Django 5.2's `run_checks(tags=["urls"])` on the
//! same files (settings configured in-process from the project's settings module, or
//! minimal settings with a given ROOT_URLCONF), in the virtualenv cached under
//! `target/conformance`. They must agree:
//!
//! - every `urls.W005` Django reports is a URL001 of djcheck for the same namespace, and
//!   every `urls.W001`/`W002`/`W003`/`E009`/`W010`/`2_0.W001` a URL006 with that id for the
//!   same route; and the other way round, except for the checks of an include's own route
//!   that Django skips because a pattern inside the include already has a message;
//! - when Django cannot load the URLconf: `ImproperlyConfigured` about a namespace without
//!   an app name is a URL004, `ModuleNotFoundError` for a project module a URL005 naming
//!   it, `RecursionError` a URL005 include cycle; other failures cannot be compared;
//! - djcheck reports no URL004 or URL005 when Django loads the URLconf;
//! - every name URL007 calls unknown makes Django's `reverse()` say that the name (or a
//!   namespace) does not exist.
//!
//! For fixtures, the line each URL006 points at must hold the route it names.
//!
//! Projects: every `fixtures/urls/*/{fires,silent}` folder, and one project per URL module
//! of Django's sdist (`tests/check_framework/urls/`, `tests/urlpatterns_reverse/`), made of
//! a copy of the package and a `djcheck.toml` with `root-urlconf`. Anything that does not
//! agree must be in [`ALLOWED`] with its reason; the table goes to stdout and
//! `target/conformance/url_report.txt`.
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

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Django check ids compared.
const IDS: &[&str] = &[
    "urls.W005",
    "urls.W001",
    "urls.W002",
    "urls.W003",
    "urls.E009",
    "urls.W010",
    "2_0.W001",
];

/// Cases allowed to disagree, by case name, each with its reason. A djcheck bug never goes
/// here: it is fixed instead.
const ALLOWED: &[(&str, &str)] = &[];

struct Case {
    /// `fixtures/...` or `sdist/...`.
    name: String,
    dir: PathBuf,
    settings: String,
    root_urlconf: Option<String>,
    fixture: bool,
}

/// A check result: Django's id and what it is about (the route, or the namespace).
type Finding = (String, String);

#[derive(Debug)]
enum Status {
    Agree,
    Disagree(String),
    Incomparable(String),
}

#[test]
fn url_conformance() {
    djcheck_tests::progress(
        "url_conformance",
        "comparing the URL rules with Django's own URL checks",
    );
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        println!("url_conformance: skipped because DJCHECK_SKIP_CONFORMANCE=1");
        return;
    }
    let root = djcheck_tests::workspace_root();
    let conf = target_dir(&root).join("conformance");
    std::fs::create_dir_all(&conf).unwrap();
    let python = ensure_venv(&conf);
    let tests = ensure_sdist_tests(&python, &conf);

    let mut cases = fixture_cases(&root);
    let n_fixtures = cases.len();
    assert!(
        n_fixtures >= 14,
        "expected the URL fixtures under fixtures/urls"
    );
    cases.extend(sdist_cases(&tests, &conf.join("url-projects")));
    assert!(
        cases.len() - n_fixtures >= 20,
        "expected at least 20 URL modules in Django's sdist under {}",
        tests.display()
    );

    let harness = root.join("tests/conformance/url_checks.py");
    let results: Vec<(Status, String)> = std::thread::scope(|s| {
        let chunks: Vec<&[Case]> = cases.chunks(cases.len().div_ceil(4).max(1)).collect();
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|chunk| {
                let (python, harness) = (&python, &harness);
                s.spawn(move || {
                    chunk
                        .iter()
                        .map(|c| compare(c, python, harness))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });

    let allowed: BTreeMap<&str, &str> = ALLOWED.iter().copied().collect();
    let mut report = String::new();
    let mut failures = Vec::new();
    let mut counts: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    let width = cases.iter().map(|c| c.name.len()).max().unwrap_or(10);
    for (case, (status, detail)) in cases.iter().zip(&results) {
        let group = if case.fixture { "fixtures" } else { "sdist" };
        let (word, text) = match status {
            Status::Agree => ("agree", detail.clone()),
            Status::Incomparable(why) => ("incomparable", why.clone()),
            Status::Disagree(why) => match allowed.get(case.name.as_str()) {
                Some(reason) => ("allowed", format!("{why} (allowed: {reason})")),
                None => {
                    failures.push(format!("{}: {why}", case.name));
                    ("DISAGREE", why.clone())
                }
            },
        };
        *counts.entry((group, word)).or_default() += 1;
        let _ = writeln!(report, "{:<width$}  {word:<12}  {text}", case.name);
    }
    let _ = writeln!(report);
    for ((group, word), n) in &counts {
        let _ = writeln!(report, "{group}: {n} {word}");
    }
    println!("{report}");
    let _ = std::fs::write(conf.join("url_report.txt"), &report);
    for (name, _) in ALLOWED {
        assert!(
            cases.iter().any(|c| c.name == *name),
            "ALLOWED names unknown case {name}"
        );
    }
    assert!(
        failures.is_empty(),
        "{} URL case(s) disagree with Django:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The fixtures must all be comparable: they are real Django projects.
    assert_eq!(
        counts
            .get(&("fixtures", "incomparable"))
            .copied()
            .unwrap_or(0),
        0,
        "a URL fixture could not be compared with Django:\n{report}"
    );
}

fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn run(cmd: &mut Command) -> (bool, String, String) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The conformance virtualenv's Python, with Django 5.2: reused when it imports Django,
/// created otherwise (under a lock, as other tests may want it at the same time).
fn ensure_venv(conf: &Path) -> PathBuf {
    let venv = conf.join("venv");
    let python = venv.join("bin/python");
    let ok = |p: &Path| {
        p.exists()
            && run(Command::new(p).args([
                "-c",
                "import django, sys; sys.exit(django.VERSION[:2] != (5, 2))",
            ]))
            .0
    };
    if ok(&python) {
        return python;
    }
    let lock = std::fs::File::create(conf.join(".venv.lock")).unwrap();
    lock.lock().unwrap();
    if !ok(&python) {
        let _ = std::fs::remove_dir_all(&venv);
        let py = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
        let (made, _, err) = run(Command::new(&py).arg("-m").arg("venv").arg(&venv));
        assert!(made, "url_conformance: `{py} -m venv` failed: {err}");
        let (installed, _, err) = run(Command::new(&python).args([
            "-m",
            "pip",
            "install",
            "--disable-pip-version-check",
            "--quiet",
            "django>=5.2,<5.3",
        ]));
        assert!(
            installed,
            "url_conformance: `pip install django>=5.2,<5.3` failed (is PyPI reachable?): {err}"
        );
    }
    python
}

/// Django's sdist test folders `check_framework` and `urlpatterns_reverse`, extracted once
/// (the sdist is downloaded when the conformance suite has not already).
fn ensure_sdist_tests(python: &Path, conf: &Path) -> PathBuf {
    let (_, version, _) =
        run(Command::new(python).args(["-c", "import django; print(django.__version__)"]));
    let version = version.trim().to_owned();
    let out = conf.join(format!("django-{version}-url-tests"));
    if out.join(".complete").exists() {
        return out.join("tests");
    }
    let lock = std::fs::File::create(conf.join(".sdist.lock")).unwrap();
    lock.lock().unwrap();
    if out.join(".complete").exists() {
        return out.join("tests");
    }
    let sdist = conf.join("sdist");
    std::fs::create_dir_all(&sdist).unwrap();
    let find = || {
        std::fs::read_dir(&sdist).ok().and_then(|rd| {
            rd.flatten().map(|e| e.path()).find(|p| {
                p.file_name().is_some_and(|n| {
                    n.to_string_lossy().to_lowercase() == format!("django-{version}.tar.gz")
                })
            })
        })
    };
    let tarball = match find() {
        Some(t) => t,
        None => {
            let (ok, _, err) = run(Command::new(python)
                .args([
                    "-m",
                    "pip",
                    "download",
                    "--disable-pip-version-check",
                    "--quiet",
                    "--no-binary",
                    ":all:",
                    "--no-deps",
                    &format!("django=={version}"),
                    "-d",
                ])
                .arg(&sdist));
            assert!(
                ok,
                "url_conformance: downloading Django's sdist failed (is PyPI reachable?): {err}"
            );
            find().expect("the sdist after download")
        }
    };
    let _ = std::fs::remove_dir_all(&out);
    let script = r#"
import sys, tarfile
tarball, out = sys.argv[1], sys.argv[2]
wanted = ("tests/check_framework/", "tests/urlpatterns_reverse/")
with tarfile.open(tarball) as tar:
    members = []
    for m in tar.getmembers():
        parts = m.name.split("/", 1)
        if len(parts) == 2 and parts[1].startswith(wanted) and (m.isfile() or m.isdir()):
            m.name = parts[1]
            members.append(m)
    kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    tar.extractall(out, members=members, **kw)
"#;
    let (ok, _, err) = run(Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(&tarball)
        .arg(&out));
    assert!(
        ok,
        "url_conformance: extracting {} failed: {err}",
        tarball.display()
    );
    std::fs::write(out.join(".complete"), "").unwrap();
    out.join("tests")
}

fn fixture_cases(root: &Path) -> Vec<Case> {
    let mut out = Vec::new();
    // The URL fixtures, and the project fixtures about URL rules (settings shapes that
    // decide the root URLconf).
    let mut rules: Vec<PathBuf> = Vec::new();
    for family in ["urls", "project"] {
        let base = root.join("fixtures").join(family);
        rules.extend(
            std::fs::read_dir(&base)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| {
                    family == "urls"
                        || p.file_name()
                            .is_some_and(|n| n.to_string_lossy().starts_with("URL"))
                }),
        );
    }
    rules.sort();
    for r in rules {
        for kind in ["fires", "silent"] {
            let dir = r.join(kind);
            if !dir.is_dir() {
                continue;
            }
            let manage = std::fs::read_to_string(dir.join("manage.py")).unwrap();
            let settings = manage
                .split("\"DJANGO_SETTINGS_MODULE\", \"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .expect("manage.py sets DJANGO_SETTINGS_MODULE")
                .to_owned();
            out.push(Case {
                name: format!(
                    "fixtures/{}/{}/{kind}",
                    r.parent().unwrap().file_name().unwrap().to_string_lossy(),
                    r.file_name().unwrap().to_string_lossy()
                ),
                dir,
                settings,
                root_urlconf: None,
                fixture: true,
            });
        }
    }
    out
}

/// One project per URL module of the sdist's test packages.
fn sdist_cases(tests: &Path, projects: &Path) -> Vec<Case> {
    let _ = std::fs::remove_dir_all(projects);
    let mut out = Vec::new();
    let mut modules: Vec<(String, String)> = Vec::new();
    for sub in [
        "check_framework/urls",
        "check_framework/urls/path_compatibility",
    ] {
        let Ok(rd) = std::fs::read_dir(tests.join(sub)) else {
            continue;
        };
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            if f.extension().is_some_and(|x| x == "py") && stem != "__init__" {
                modules.push((
                    "check_framework".into(),
                    format!("{}.{stem}", sub.replace('/', ".")),
                ));
            }
        }
    }
    if let Ok(rd) = std::fs::read_dir(tests.join("urlpatterns_reverse")) {
        let mut files: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        files.sort();
        for f in files {
            if f.extension().is_none_or(|x| x != "py") {
                continue;
            }
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            if !text.contains("urlpatterns") || text.contains("class URLObject") {
                continue;
            }
            let stem = f.file_stem().unwrap().to_string_lossy().into_owned();
            if stem == "tests" || stem.starts_with("test_") {
                continue;
            }
            modules.push((
                "urlpatterns_reverse".into(),
                format!("urlpatterns_reverse.{stem}"),
            ));
        }
    }
    for (package, module) in modules {
        let dir = projects.join(module.replace('.', "_"));
        if package == "check_framework" {
            djcheck_tests::copy_tree(
                &tests.join("check_framework/urls"),
                &dir.join("check_framework/urls"),
            );
            std::fs::write(dir.join("check_framework/__init__.py"), "").unwrap();
        } else {
            djcheck_tests::copy_tree(&tests.join(&package), &dir.join(&package));
        }
        std::fs::write(
            dir.join("djcheck.toml"),
            format!("root-urlconf = \"{module}\"\n"),
        )
        .unwrap();
        out.push(Case {
            name: format!("sdist/{module}"),
            dir,
            settings: "-".to_owned(),
            root_urlconf: Some(module),
            fixture: false,
        });
    }
    out
}

/// What djcheck says: its diagnostics as JSON values.
fn djcheck_diagnostics(case: &Case) -> Vec<Value> {
    let (_, out, err) = djcheck_tests::djcheck(
        &["check", ".", "--format", "json", "--select", "URL"],
        &case.dir,
    );
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{}: bad json ({e}): {out}\n{err}", case.name));
    v["diagnostics"].as_array().cloned().unwrap_or_default()
}

/// The text between the first pair of backticks after `after`.
fn quoted<'a>(msg: &'a str, after: &str) -> Option<&'a str> {
    let start = msg.find(after)? + after.len();
    let rest = msg[start..].strip_prefix('`')?;
    Some(&rest[..rest.find('`')?])
}

/// djcheck's findings in Django's terms.
fn djcheck_findings(diags: &[Value]) -> BTreeSet<Finding> {
    let mut out = BTreeSet::new();
    for d in diags {
        let msg = d["message"].as_str().unwrap_or("");
        match d["code"].as_str() {
            Some("URL001") => {
                if let Some(ns) = quoted(msg, "duplicate namespace ") {
                    out.insert(("urls.W005".to_owned(), ns.to_owned()));
                }
            }
            Some("URL006") => {
                if let (Some(id), Some(route)) = (quoted(msg, "(Django's "), quoted(msg, "route "))
                {
                    out.insert((id.to_owned(), route.to_owned()));
                }
            }
            _ => {}
        }
    }
    out
}

fn django_findings(list: &Value) -> BTreeSet<Finding> {
    let mut out = BTreeSet::new();
    for m in list.as_array().into_iter().flatten() {
        let id = m["id"].as_str().unwrap_or("");
        if !IDS.contains(&id) {
            continue;
        }
        let key = if id == "urls.W005" {
            m["namespace"].as_str()
        } else {
            m["route"].as_str()
        };
        out.insert((id.to_owned(), key.unwrap_or("").to_owned()));
    }
    out
}

/// The full names URL007 calls unknown.
fn unknown_names(diags: &[Value]) -> Vec<String> {
    diags
        .iter()
        .filter(|d| d["code"] == "URL007")
        .filter_map(|d| {
            let msg = d["message"].as_str()?;
            quoted(msg, "unknown URL name ")
                .or_else(|| {
                    msg.find("` in ")
                        .and_then(|i| quoted(&msg[i + 1..], " in "))
                })
                .map(str::to_owned)
        })
        .collect()
}

fn compare(case: &Case, python: &Path, harness: &Path) -> (Status, String) {
    let diags = djcheck_diagnostics(case);
    let codes: BTreeSet<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
    let names = unknown_names(&diags);
    let mut cmd = Command::new(python);
    cmd.arg(harness)
        .arg(&case.dir)
        .arg(&case.settings)
        .arg(case.root_urlconf.as_deref().unwrap_or("-"))
        .args(&names)
        .env("PYTHONDONTWRITEBYTECODE", "1");
    let (_, out, err) = run(&mut cmd);
    let Ok(dj) = serde_json::from_str::<Value>(out.trim()) else {
        return (
            Status::Incomparable(format!("the harness failed: {}", err.trim())),
            String::new(),
        );
    };
    let mine = djcheck_findings(&diags);
    let shown = |s: &BTreeSet<Finding>| {
        s.iter()
            .map(|(id, k)| format!("{id} {k:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if dj["status"] == "error" {
        let ty = dj["type"].as_str().unwrap_or("");
        let message = dj["message"].as_str().unwrap_or("");
        let expected = if ty == "ImproperlyConfigured"
            && message.contains("Specifying a namespace in include() without providing an app_name")
        {
            Some(("URL004", String::new()))
        } else if ty == "ModuleNotFoundError" {
            let module = message.split('\'').nth(1).unwrap_or("").to_owned();
            Some(("URL005", module))
        } else if ty == "RecursionError" {
            Some(("URL005", "include cycle".to_owned()))
        } else {
            None
        };
        let Some((code, needle)) = expected else {
            return (
                Status::Incomparable(format!("Django: {ty}: {message}")),
                String::new(),
            );
        };
        let found = diags.iter().any(|d| {
            d["code"] == code && d["message"].as_str().is_some_and(|m| m.contains(&needle))
        });
        if found {
            return (Status::Agree, format!("Django: {ty}; djcheck: {code}"));
        }
        // A module outside the project (a test helper Django's suite installs) is not
        // djcheck's to report.
        if code == "URL005" && needle != "include cycle" && !module_is_projects(case, &needle) {
            return (
                Status::Incomparable(format!("Django: {ty}: {message}")),
                String::new(),
            );
        }
        return (
            Status::Disagree(format!("Django: {ty}: {message}; djcheck has no {code}")),
            String::new(),
        );
    }
    if codes.contains("URL004") || diags.iter().any(|d| d["code"] == "URL005") {
        return (
            Status::Disagree("Django loads the URLconf, djcheck reports URL004/URL005".to_owned()),
            String::new(),
        );
    }
    let theirs = django_findings(&dj["messages"]);
    let masked = django_findings(&dj["masked"]);
    let missing: BTreeSet<Finding> = theirs.difference(&mine).cloned().collect();
    let extra: BTreeSet<Finding> = mine
        .iter()
        .filter(|f| !theirs.contains(*f) && !masked.contains(*f))
        .cloned()
        .collect();
    if !missing.is_empty() || !extra.is_empty() {
        return (
            Status::Disagree(format!(
                "Django only: [{}]; djcheck only: [{}]",
                shown(&missing),
                shown(&extra)
            )),
            String::new(),
        );
    }
    for n in &names {
        if dj["names"][n] != "unknown" {
            return (
                Status::Disagree(format!(
                    "djcheck calls URL name `{n}` unknown, Django's reverse() finds it"
                )),
                String::new(),
            );
        }
    }
    if case.fixture {
        if let Some(why) = misplaced(case, &diags) {
            return (Status::Disagree(why), String::new());
        }
    }
    let masked_used = mine.iter().filter(|f| masked.contains(*f)).count();
    let mut detail = if theirs.is_empty() {
        "no URL warnings".to_owned()
    } else {
        format!("{} finding(s): {}", theirs.len(), shown(&theirs))
    };
    if masked_used > 0 {
        let _ = write!(
            detail,
            "; {masked_used} Django skips inside a faulty include"
        );
    }
    if !names.is_empty() {
        let _ = write!(
            detail,
            "; {} unknown name(s) confirmed by reverse()",
            names.len()
        );
    }
    (Status::Agree, detail)
}

fn module_is_projects(case: &Case, module: &str) -> bool {
    let first = module.split('.').next().unwrap_or(module);
    case.dir.join(first).join("__init__.py").exists()
        || case.dir.join(format!("{first}.py")).exists()
}

/// For fixtures: each URL006 must point at a line holding the route it names, each URL001
/// at an `include(`.
fn misplaced(case: &Case, diags: &[Value]) -> Option<String> {
    for d in diags {
        let code = d["code"].as_str().unwrap_or("");
        if code != "URL006" && code != "URL001" {
            continue;
        }
        let path = d["path"].as_str().unwrap_or("");
        let line = d["range"]["start"]["line"].as_u64().unwrap_or(0);
        let text = std::fs::read_to_string(case.dir.join(path)).unwrap_or_default();
        let src = text
            .split('\n')
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or("");
        let msg = d["message"].as_str().unwrap_or("");
        let want = if code == "URL006" {
            quoted(msg, "route ").map(str::to_owned)
        } else {
            Some("include(".to_owned())
        };
        if let Some(w) = want {
            if !src.contains(&w) {
                return Some(format!(
                    "{code} at {path}:{line} does not point at `{w}`: {src}"
                ));
            }
        }
    }
    None
}
