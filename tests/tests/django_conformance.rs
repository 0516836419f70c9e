//! Django conformance: djcheck's migration-graph rules against Django's own loader.
//!
//! For every project below, djcheck runs in memory with `--select MIG001,MIG002,MIG003,MIG009`
//! and `tests/conformance/django_graph.py` runs Django 5.2's real
//! `MigrationLoader(None, ignore_no_migrations=True)` on the same files (no database), in a
//! virtualenv cached under `target/conformance`. They must agree:
//!
//! - Django `bad_migration` (BadMigrationError) ⇒ MIG009, and MIG009 only then;
//! - Django `node_not_found` / `unknown_app`  ⇒ djcheck reports MIG001;
//! - Django `cycle`                           ⇒ MIG003, and no MIG001 (Django found every node);
//! - Django `ok`                              ⇒ no MIG001, no MIG003, and the apps of the MIG002
//!   diagnostics are exactly the keys of `loader.detect_conflicts()`;
//! - Django `error` (an import error, a bad migration...) cannot be compared.
//!
//! Django stops at the first problem and djcheck reports them all, so presence is compared,
//! never counts, and what Django never got to check is not compared.
//!
//! Projects: every `fixtures/<family>/MIG*_<name>/{fires,silent}` folder, and one temporary
//! project per migrations folder of Django's sdist (`tests/migrations/test_migrations_*`,
//! `tests/migrations2/test_migrations_2*`, `tests/migrations/migrations_test_apps/*`), each
//! installed as an app the way Django's own tests install it (label `migrations`,
//! `migrations2`, `app1`/`app2`, or the test app's name), with the apps it refers to.
//! Each sdist project is also checked once per migration file with that file deleted
//! (`sdist-del/...`: missing nodes, squashes whose replaced files are gone, new leaves).
//! Anything that does not agree must be in [`ALLOWED`] with its reason, or the test fails;
//! the table goes to stdout and `target/conformance/report.txt`.
//!
//! Environment: `DJCHECK_SKIP_CONFORMANCE=1` skips (printing why); without it, a failing
//! setup (no network to PyPI) fails the test. `DJCHECK_CONFORMANCE_QUICK=1` leaves out the
//! deletion variants. `DJCHECK_CONFORMANCE_EXTRA=DIR` adds every subfolder of DIR as a
//! project that must agree (for trying out cases by hand).

#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stdout)]

use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Cases allowed to disagree or to be incomparable, by case name (as in the report), each
/// with its reason, e.g. `("sdist/migrations/test_migrations_x", "needs applied
/// migrations in a database")`. A djcheck bug never goes here: it is fixed instead. An
/// entry whose case agrees fails the test, so the list cannot go stale. Empty: every
/// fixture and every sdist case (Django 5.2.x) agrees.
const ALLOWED: &[(&str, &str)] = &[];

/// The rules compared.
const SELECT: &str = "MIG001,MIG002,MIG003,MIG009";

struct Case {
    /// `fixtures/...`, `sdist/...`, `sdist-del/...` or `extra/...`.
    name: String,
    dir: PathBuf,
}

#[derive(Debug)]
enum Status {
    Agree,
    Disagree(String),
    /// Django could not build a graph for a reason outside these rules.
    Incomparable(String),
}

struct Outcome {
    verdict: String,
    /// Uninstalled third-party apps the harness replaced by stubs.
    stubbed: Vec<String>,
    /// What `migrate`'s stricter loader raises when makemigrations' loader does not.
    migrate_error: Option<String>,
    detail: String,
    codes: BTreeSet<String>,
    status: Status,
}

#[test]
fn django_conformance() {
    djcheck_tests::progress("django_conformance", "comparing djcheck's migration graph verdicts with Django's MigrationLoader (about a minute and a half)");
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        println!("django_conformance: skipped because DJCHECK_SKIP_CONFORMANCE=1");
        return;
    }
    let root = djcheck_tests::workspace_root();
    let conf = target_dir(&root).join("conformance");
    let (python, django_tests) = setup(&root, &conf);

    let mut cases = fixture_cases(&root);
    let n_fixtures = cases.len();
    println!("django_conformance: {n_fixtures} MIG fixture project(s)");
    if let Some(extra) = std::env::var_os("DJCHECK_CONFORMANCE_EXTRA") {
        cases.extend(extra_cases(Path::new(&extra)));
    }
    let sdist = sdist_cases(&django_tests, &conf.join("projects"));
    assert!(
        sdist
            .iter()
            .filter(|c| c.name.contains("test_migrations_"))
            .count()
            >= 20,
        "expected Django's sdist to have at least 20 test_migrations_* folders under {}",
        django_tests.display()
    );
    if std::env::var("DJCHECK_CONFORMANCE_QUICK").is_ok_and(|v| v == "1") {
        println!("django_conformance: deletion variants skipped (DJCHECK_CONFORMANCE_QUICK=1)");
        cases.extend(sdist);
    } else {
        let variants = deletion_variants(&sdist, &conf.join("projects-del"));
        cases.extend(sdist);
        cases.extend(variants);
    }

    let started = std::time::Instant::now();
    let django = run_django(
        &python,
        &root.join("tests/conformance/django_graph.py"),
        &cases,
    );
    let django_time = started.elapsed();
    let started = std::time::Instant::now();
    let outcomes: Vec<Outcome> = cases
        .iter()
        .zip(django)
        .map(|(case, dj)| compare(case, &dj))
        .collect();
    println!(
        "django_conformance: {} projects; Django {:.1}s, djcheck {:.1}s",
        cases.len(),
        django_time.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );

    let allowed: BTreeMap<&str, &str> = ALLOWED.iter().copied().collect();
    // `report` has every row; `shown` (stdout) leaves out the deletion variants that agree.
    let mut report = String::new();
    let mut shown = String::new();
    let mut failures = Vec::new();
    let (mut agree, mut allowed_count) = (0usize, 0usize);
    let mut per_group: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let width = cases
        .iter()
        .filter(|c| !c.name.starts_with("sdist-del/"))
        .map(|c| c.name.len())
        .max()
        .unwrap_or(10)
        .max(10);
    let _ = writeln!(
        report,
        "{:<width$}  {:<15}  {:<22}  result",
        "case", "django", "djcheck"
    );
    shown.push_str(&report);
    let mut notes = String::new();
    for (case, o) in cases.iter().zip(&outcomes) {
        let group = case.name.split('/').next().unwrap_or("");
        let entry = per_group.entry(group).or_default();
        entry.0 += 1;
        let codes = if o.codes.is_empty() {
            "-".to_owned()
        } else {
            o.codes.iter().cloned().collect::<Vec<_>>().join(",")
        };
        let result = match &o.status {
            Status::Agree => {
                agree += 1;
                entry.1 += 1;
                if allowed.contains_key(case.name.as_str()) {
                    failures.push(format!("{}: agrees now, remove it from ALLOWED", case.name));
                }
                "agree".to_owned()
            }
            Status::Disagree(why) | Status::Incomparable(why) => {
                let kind = if matches!(o.status, Status::Disagree(_)) {
                    "DISAGREE"
                } else {
                    "n/a"
                };
                let _ = writeln!(notes, "{}: {kind}: {why} [django: {}]", case.name, o.detail);
                match allowed.get(case.name.as_str()) {
                    Some(reason) => {
                        allowed_count += 1;
                        let _ = writeln!(notes, "    allowed: {reason}");
                        format!("{kind} (allowed)")
                    }
                    None => {
                        failures.push(format!(
                            "{}: {kind}: {why} [django: {}]",
                            case.name, o.detail
                        ));
                        kind.to_owned()
                    }
                }
            }
        };
        if let Some(e) = &o.migrate_error {
            let _ = writeln!(
                notes,
                "{}: note: the loader of `migrate` (ignore_no_migrations=False) fails: {e}",
                case.name
            );
        }
        let mut verdict = o.verdict.clone();
        if !o.stubbed.is_empty() {
            verdict.push('*');
            let _ = writeln!(
                notes,
                "{}: * uninstalled app(s) {} stubbed, references to them ignored (as djcheck does)",
                case.name,
                o.stubbed.join(", ")
            );
        }
        let row = format!(
            "{:<width$}  {:<15}  {:<22}  {result}\n",
            case.name, verdict, codes
        );
        report.push_str(&row);
        if group != "sdist-del" || !matches!(o.status, Status::Agree) {
            shown.push_str(&row);
        }
    }
    if per_group.contains_key("sdist-del") {
        shown.push_str("(sdist-del rows that agree are only in report.txt)\n");
    }
    for name in allowed.keys() {
        if !cases.iter().any(|c| c.name == *name) {
            let _ = writeln!(
                notes,
                "{name}: in ALLOWED but no such case (fixture renamed?)"
            );
        }
    }
    let mut summary = String::from("\n");
    for (group, (n, a)) in &per_group {
        let _ = writeln!(summary, "{group}: {a}/{n} agree");
    }
    let _ = writeln!(
        summary,
        "total: {agree}/{} agree, {allowed_count} allowed, {} failing",
        cases.len(),
        failures.len()
    );
    if !notes.is_empty() {
        let _ = writeln!(summary, "\n{notes}");
    }
    report.push_str(&summary);
    shown.push_str(&summary);
    print!("{shown}");
    let _ = std::fs::write(conf.join("report.txt"), &report);
    assert!(
        failures.is_empty(),
        "djcheck and Django disagree ({} case(s)); see {}:\n{}",
        failures.len(),
        conf.join("report.txt").display(),
        failures.join("\n")
    );
}

/// The workspace's target dir (CARGO_TARGET_DIR when set).
fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(t) if !t.is_empty() => root.join(t),
        _ => root.join("target"),
    }
}

/// Runs `setup_venv.sh`: the virtualenv's python and the sdist's `tests` folder.
fn setup(root: &Path, conf: &Path) -> (PathBuf, PathBuf) {
    let script = root.join("tests/conformance/setup_venv.sh");
    let out = Command::new("bash")
        .arg(&script)
        .arg(conf)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run bash {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let field = |k: &str| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix(k))
            .map(PathBuf::from)
    };
    match (out.status.success(), field("python="), field("tests=")) {
        (true, Some(py), Some(tests)) if py.exists() && tests.is_dir() => (py, tests),
        _ => panic!(
            "Django conformance setup failed (it needs PyPI to install Django 5.2 and download \
             its sdist into {}).\nSet DJCHECK_SKIP_CONFORMANCE=1 to skip this test.\n\
             setup_venv.sh exit status: {}\nstdout:\n{stdout}\nstderr:\n{stderr}",
            conf.display(),
            out.status
        ),
    }
}

/// `fixtures/<family>/MIG*_<name>/{fires,silent}`.
fn fixture_cases(root: &Path) -> Vec<Case> {
    let fixtures = root.join("fixtures");
    djcheck_tests::fixture_projects()
        .into_iter()
        .filter(|p| {
            p.parent()
                .and_then(Path::file_name)
                .is_some_and(|n| n.to_string_lossy().starts_with("MIG"))
        })
        // Fixtures about a change (`before/`/`after/`, run with --base) are not graphs.
        .filter(|p| !djcheck_tests::is_change_fixture(p))
        .inspect(|p| {
            assert!(
                p.join("manage.py").is_file(),
                "fixture {} has no manage.py: djcheck would take a parent folder as the project",
                p.display()
            );
        })
        .map(|p| Case {
            name: format!(
                "fixtures/{}",
                p.strip_prefix(&fixtures).unwrap_or(&p).to_string_lossy()
            ),
            dir: p,
        })
        .collect()
}

fn extra_cases(dir: &Path) -> Vec<Case> {
    subdirs(dir)
        .into_iter()
        .filter(|d| d.join("manage.py").is_file())
        .map(|d| Case {
            name: format!("extra/{}", file_name(&d)),
            dir: d,
        })
        .collect()
}

/// A project to build: case name, the folder name companions are looked up by, and its
/// apps as `(label, migrations folder)`.
type Spec = (String, String, Vec<(String, PathBuf)>);

/// One temporary project per migrations folder of Django's test suite, under `out`.
fn sdist_cases(tests: &Path, out: &Path) -> Vec<Case> {
    let mig = tests.join("migrations");
    let mig2 = tests.join("migrations2");
    // Test apps with a migrations folder, by label; a label found twice (the namespace
    // app spread over two folders) is ambiguous and left out.
    let mut test_apps: BTreeMap<String, Option<PathBuf>> = BTreeMap::new();
    let apps_root = mig.join("migrations_test_apps");
    for d in subdirs(&apps_root) {
        for app in std::iter::once(d.clone()).chain(subdirs(&d)) {
            if app.join("migrations").is_dir() {
                let label = file_name(&app);
                let slot = test_apps.entry(label).or_insert(Some(app.clone()));
                if slot.as_ref() != Some(&app) {
                    *slot = None;
                }
            }
        }
    }
    let test_apps: BTreeMap<String, PathBuf> = test_apps
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();

    // (case name, folder name for companion lookup, apps as (label, migrations folder)).
    let mut specs: Vec<Spec> = Vec::new();
    for d in subdirs(&mig) {
        let name = file_name(&d);
        if !name.starts_with("test_migrations") {
            continue;
        }
        let sub_apps: Vec<PathBuf> = subdirs(&d).into_iter().filter(|s| has_py(s)).collect();
        let top_level_migrations = py_files(&d).iter().any(|f| file_name(f) != "__init__.py");
        let apps = if !top_level_migrations && !sub_apps.is_empty() {
            // A folder of apps (`app1/`, `app2/`), installed under those labels.
            sub_apps.iter().map(|s| (file_name(s), s.clone())).collect()
        } else {
            vec![("migrations".to_owned(), d.clone())]
        };
        specs.push((format!("sdist/migrations/{name}"), name, apps));
    }
    for d in subdirs(&mig2) {
        let name = file_name(&d);
        if name.starts_with("test_migrations") {
            specs.push((
                format!("sdist/migrations2/{name}"),
                name,
                vec![("migrations2".to_owned(), d.clone())],
            ));
        }
    }
    for (label, dir) in &test_apps {
        let rel = dir
            .strip_prefix(&apps_root)
            .unwrap_or(dir)
            .to_string_lossy()
            .into_owned();
        specs.push((
            format!("sdist/migrations_test_apps/{rel}"),
            label.clone(),
            vec![(label.clone(), dir.join("migrations"))],
        ));
    }

    let mut cases = Vec::new();
    let _ = std::fs::remove_dir_all(out);
    for (case_name, folder, mut apps) in specs {
        // Add the apps its migrations name, transitively, when the sdist has them.
        loop {
            let have: BTreeSet<String> = apps.iter().map(|a| a.0.clone()).collect();
            let mut added = false;
            for label in referenced_labels(&apps) {
                if have.contains(&label) {
                    continue;
                }
                if let Some(src) = companion(&label, &folder, &mig, &mig2, &test_apps) {
                    apps.push((label, src));
                    added = true;
                }
            }
            if !added {
                break;
            }
        }
        let dir = out.join(case_name.trim_start_matches("sdist/").replace('/', "__"));
        write_project(&dir, &apps);
        cases.push(Case {
            name: case_name,
            dir,
        });
    }
    cases
}

/// Variants of each sdist project with one migration file deleted: dependencies on missing
/// nodes, squashes whose replaced files are gone, new roots and leaves.
fn deletion_variants(base: &[Case], out: &Path) -> Vec<Case> {
    let _ = std::fs::remove_dir_all(out);
    let mut cases = Vec::new();
    for case in base {
        for app in subdirs(&case.dir) {
            let label = file_name(&app);
            for f in py_files(&app.join("migrations")) {
                let stem = file_name(&f).trim_end_matches(".py").to_owned();
                if stem == "__init__" {
                    continue;
                }
                let dir = out.join(format!("{}__del__{label}.{stem}", file_name(&case.dir)));
                djcheck_tests::copy_tree(&case.dir, &dir);
                std::fs::remove_file(dir.join(&label).join("migrations").join(file_name(&f)))
                    .expect("delete the migration of a variant");
                cases.push(Case {
                    name: format!(
                        "sdist-del/{}/-{label}.{stem}",
                        case.name.trim_start_matches("sdist/")
                    ),
                    dir,
                });
            }
        }
    }
    cases
}

/// The sdist folder Django's tests install as `label` next to the case `folder`.
fn companion(
    label: &str,
    folder: &str,
    mig: &Path,
    mig2: &Path,
    test_apps: &BTreeMap<String, PathBuf>,
) -> Option<PathBuf> {
    match label {
        // `migrations2.test_migrations_2_first` goes with `migrations.test_migrations_first`,
        // and the plain `test_migrations` is the default partner.
        "migrations" => {
            let suffix = folder.strip_prefix("test_migrations_2")?;
            let d = mig.join(format!("test_migrations{suffix}"));
            Some(if d.is_dir() {
                d
            } else {
                mig.join("test_migrations")
            })
        }
        "migrations2" => {
            let suffix = folder.strip_prefix("test_migrations")?;
            let d = mig2.join(format!("test_migrations_2{suffix}"));
            d.is_dir().then_some(d)
        }
        _ => test_apps.get(label).map(|d| d.join("migrations")),
    }
}

/// Quoted identifiers in the apps' Python files that could be app labels.
fn referenced_labels(apps: &[(String, PathBuf)]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (_, dir) in apps {
        for f in py_files(dir) {
            let text = std::fs::read_to_string(&f).unwrap_or_default();
            let mut chars = text.chars();
            while let Some(c) = chars.next() {
                if c != '"' && c != '\'' {
                    continue;
                }
                let s: String = chars
                    .by_ref()
                    .take_while(|&d| d != c && d != '\n')
                    .collect();
                if !s.is_empty() && s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '_') {
                    out.insert(s);
                }
            }
        }
    }
    out
}

/// A project with `manage.py`, `proj/settings.py` and each app at `<label>/migrations`.
fn write_project(dir: &Path, apps: &[(String, PathBuf)]) {
    std::fs::create_dir_all(dir.join("proj")).expect("create project dir");
    std::fs::write(
        dir.join("manage.py"),
        "import os\nimport sys\n\nif __name__ == \"__main__\":\n    \
         os.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n    \
         from django.core.management import execute_from_command_line\n\n    \
         execute_from_command_line(sys.argv)\n",
    )
    .expect("write manage.py");
    std::fs::write(dir.join("proj/__init__.py"), "").expect("write proj/__init__.py");
    let mut installed = vec![
        "django.contrib.auth".to_owned(),
        "django.contrib.contenttypes".to_owned(),
    ];
    installed.extend(apps.iter().map(|a| a.0.clone()));
    let list: Vec<String> = installed.iter().map(|a| format!("    {a:?},\n")).collect();
    std::fs::write(
        dir.join("proj/settings.py"),
        format!(
            "SECRET_KEY = \"conformance\"\nINSTALLED_APPS = [\n{}]\nDATABASES = {{\"default\": \
             {{\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": \":memory:\"}}}}\n",
            list.concat()
        ),
    )
    .expect("write settings.py");
    for (label, src) in apps {
        let app = dir.join(label);
        std::fs::create_dir_all(&app).expect("create app dir");
        std::fs::write(app.join("__init__.py"), "").expect("write app __init__.py");
        djcheck_tests::copy_tree(src, &app.join("migrations"));
    }
}

/// Runs the harness once for all cases: one result per case, in order.
fn run_django(python: &Path, script: &Path, cases: &[Case]) -> Vec<Value> {
    let mut input = String::new();
    for (i, c) in cases.iter().enumerate() {
        input.push_str(&json!({"id": i, "project": c.dir, "stub_missing_apps": true}).to_string());
        input.push('\n');
    }
    let mut child = Command::new(python)
        .arg(script)
        .arg("--batch")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", python.display()));
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child
        .wait_with_output()
        .expect("wait for the Django harness");
    let _ = writer.join();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut by_id: BTreeMap<u64, Value> = BTreeMap::new();
    for line in stdout.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("bad line from django_graph.py ({e}): {line}"));
        if let Some(id) = v["id"].as_u64() {
            by_id.insert(id, v);
        }
    }
    (0..cases.len() as u64)
        .map(|i| {
            by_id.remove(&i).unwrap_or_else(|| {
                panic!(
                    "django_graph.py gave no result for {} (exit {}):\n{}",
                    cases[i as usize].name,
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                )
            })
        })
        .collect()
}

/// Runs djcheck on the case and compares with Django's result.
fn compare(case: &Case, dj: &Value) -> Outcome {
    let dir = case.dir.to_string_lossy();
    let (code, stdout, stderr) = djcheck_tests::djcheck(
        &[
            "check",
            &dir,
            "--format",
            "json",
            "--no-config",
            "--select",
            SELECT,
        ],
        &case.dir,
    );
    assert!(
        code == 0 || code == 1,
        "djcheck exited {code} on {}:\n{stderr}",
        case.name
    );
    let out: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "djcheck's JSON on {} does not parse ({e}):\n{stdout}",
            case.name
        )
    });
    let diags = out["diagnostics"].as_array().cloned().unwrap_or_default();
    let codes: BTreeSet<String> = diags
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect();
    let leaf_apps: BTreeSet<String> = diags
        .iter()
        .filter(|d| d["code"] == "MIG002")
        .map(|d| {
            let msg = d["message"].as_str().unwrap_or_default();
            msg.split_once("app `")
                .and_then(|(_, rest)| rest.split_once('`'))
                .map(|(app, _)| app.to_owned())
                .unwrap_or_else(|| panic!("cannot read the app of MIG002 message {msg:?}"))
        })
        .collect();

    let verdict = dj["verdict"].as_str().unwrap_or("error").to_owned();
    let detail = dj["detail"].as_str().unwrap_or_default().to_owned();
    let conflicts: BTreeSet<String> = dj["conflicts"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let has = |c: &str| codes.contains(c);
    // `migrate`'s loader (ignore_no_migrations=False) also refuses `__first__`/`__latest__`
    // of an app whose migrations package is empty; djcheck reports that as MIG001 too.
    let migrate_fails = dj["migrate_error"]
        .as_str()
        .is_some_and(|e| e.contains("Dependency on app with no migrations"));
    let status = match verdict.as_str() {
        "bad_migration" if has("MIG009") => Status::Agree,
        "bad_migration" => {
            Status::Disagree("Django raises BadMigrationError, djcheck has no MIG009".to_owned())
        }
        // Django imports every migration module before it builds the graph: it found a
        // `Migration` in each.
        "node_not_found" | "unknown_app" | "cycle" | "ok" if has("MIG009") => {
            Status::Disagree("djcheck has MIG009 but Django loaded every module".to_owned())
        }
        "node_not_found" | "unknown_app" if has("MIG001") => Status::Agree,
        "node_not_found" | "unknown_app" => {
            Status::Disagree(format!("Django raises {verdict}, djcheck has no MIG001"))
        }
        "cycle" => {
            let mut why = Vec::new();
            if !has("MIG003") {
                why.push("djcheck has no MIG003");
            }
            if has("MIG001") {
                why.push("djcheck has MIG001 but Django found every node");
            }
            if why.is_empty() {
                Status::Agree
            } else {
                Status::Disagree(format!("Django finds a cycle; {}", why.join("; ")))
            }
        }
        "ok" => {
            let mut why = Vec::new();
            if has("MIG001") && !migrate_fails {
                why.push("djcheck has MIG001".to_owned());
            }
            if migrate_fails && !has("MIG001") {
                why.push(
                    "`migrate` fails on an app without migrations, djcheck has no MIG001"
                        .to_owned(),
                );
            }
            if has("MIG003") {
                why.push("djcheck has MIG003".to_owned());
            }
            if leaf_apps != conflicts {
                why.push(format!(
                    "conflicting apps: Django {conflicts:?}, djcheck {leaf_apps:?}"
                ));
            }
            if why.is_empty() {
                Status::Agree
            } else {
                Status::Disagree(format!("Django builds the graph; {}", why.join("; ")))
            }
        }
        _ => Status::Incomparable("Django could not load the project".to_owned()),
    };
    let stubbed = dj["stubbed"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    Outcome {
        verdict,
        stubbed,
        migrate_error: dj["migrate_error"].as_str().map(str::to_owned),
        detail,
        codes,
        status,
    }
}

fn subdirs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default();
    v.retain(|p| file_name(p) != "__pycache__");
    v.sort();
    v
}

fn py_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.flatten()
                .map(|e| e.path())
                .filter(|p| p.is_file() && p.extension().is_some_and(|e| e == "py"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn has_py(dir: &Path) -> bool {
    !py_files(dir).is_empty()
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
