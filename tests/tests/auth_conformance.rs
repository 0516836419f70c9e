//! Auth conformance: the verdicts of AUTH001-AUTH004 and MIG006 against Django's real
//! `migrate`.
//!
//! For every `fixtures/auth/*/{fires,silent}` and `fixtures/migrations/{MIG005,MIG006}_*`
//! project (and the SQL fixtures whose SQL needs Django's own tables,
//! `djcheck_tests::SQL_FIXTURES_RUN_BY_MIGRATE`, with one more way: migrate, unapply
//! every app, migrate again), djcheck runs in memory (`check . --no-config --format json`) and
//! `tests/conformance/migrate_check.py` runs Django 5.2's `migrate` on the same files in
//! several ways, each on a fresh database: the full `migrate`, `migrate <app>` for each app
//! of the project, `migrate <app> <name>` for each of their non-leaf migrations, and, when
//! the user model is created by a later migration of its app, two upgrades that apply an
//! older project first (that is how InconsistentMigrationHistory is reproduced; the
//! harness's docstring says how the older projects are made). Every way runs on SQLite
//! (a temporary file) and on PostgreSQL, started here in a temporary folder.
//!
//! Assertions:
//! - a fixture where djcheck reports nothing migrates cleanly in every way, on every
//!   database;
//! - a fixture where djcheck reports an AUTH001-AUTH004 or MIG006 error fails in at least
//!   one way on at least one database. Django is often luckier than the project deserves:
//!   a missing swappable dependency passes the full `migrate` (admin's migrations sort
//!   first and create the user table) and fails `migrate <app>`; a relation to the
//!   swapped-out `auth.User` passes on SQLite, which does not check foreign keys, and
//!   fails on PostgreSQL. One failing way is enough;
//! - a fixture with AUTH003 raises InconsistentMigrationHistory in an upgrade way (the
//!   incident: the user app and its model added to a project whose admin is applied);
//! - AUTH005 and MIG005 are warnings: what Django does is reported, not asserted.
//!
//! The table (fixture, djcheck's codes, each way's result per database) is printed and
//! written to `target/conformance/auth_report.txt`.
//!
//! Environment: `DJCHECK_SKIP_CONFORMANCE=1` skips (printing why); without it, a failing
//! Django setup (no network to PyPI) fails the test. PostgreSQL is skipped with a message
//! when `initdb` is missing, the server does not start, or psycopg2 cannot be installed;
//! `DJCHECK_REQUIRE_POSTGRES=1` turns that skip into a failure.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr
)]

use djcheck_tests::postgres::{self, Server};
use djcheck_tests::{
    conformance_python, djcheck, fixture_projects, run_by_migrate, target_dir, workspace_root,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Errors that Django must confirm: each makes `migrate` fail in some way.
const ERRORS: &[&str] = &["AUTH001", "AUTH002", "AUTH003", "AUTH004", "MIG006"];

/// Warnings whose Django behaviour is only reported.
const WARNINGS: &[&str] = &["AUTH005", "MIG005"];

/// Harness processes at once (the machine has 2 cores).
const JOBS: usize = 2;

struct Case {
    /// `auth/AUTH001_.../fires`.
    name: String,
    dir: PathBuf,
}

struct Outcome {
    codes: BTreeSet<String>,
    harness: Value,
}

#[test]
fn auth_fixtures_agree_with_django_migrate() {
    djcheck_tests::progress(
        "auth_conformance",
        "running `migrate` on the AUTH fixtures with Django",
    );
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        println!("auth_conformance: skipped because DJCHECK_SKIP_CONFORMANCE=1");
        return;
    }
    let root = workspace_root();
    let conf = target_dir().join("conformance");
    let python = conformance_python()
        .unwrap_or_else(|e| panic!("{e}\nSet DJCHECK_SKIP_CONFORMANCE=1 to skip this test."));
    let server = match postgres::ensure_psycopg2(&python).and_then(|()| Server::start("auth")) {
        Ok(s) => Some(s),
        Err(why) => {
            assert!(
                std::env::var_os("DJCHECK_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL required (DJCHECK_REQUIRE_POSTGRES) but: {why}"
            );
            println!("auth_conformance: PostgreSQL part skipped: {why}");
            None
        }
    };
    let dsn = server.as_ref().map(Server::dsn);

    let cases = cases(&root);
    assert!(
        cases.len() >= 12,
        "expected the AUTH, MIG005 and MIG006 fixtures, found {}",
        cases.len()
    );
    let script = root.join("tests/conformance/migrate_check.py");
    let started = std::time::Instant::now();
    let outcomes = run_all(&cases, &python, &script, dsn.as_deref());
    let elapsed = started.elapsed();
    drop(server);

    let mut report = String::new();
    let mut failures = Vec::new();
    let mut notes = String::new();
    let (mut agree, mut reported) = (0usize, 0usize);
    for (case, o) in cases.iter().zip(&outcomes) {
        let ways = o.harness["ways"].as_array().cloned().unwrap_or_default();
        let errors: Vec<&str> = o
            .codes
            .iter()
            .map(String::as_str)
            .filter(|c| ERRORS.contains(c))
            .collect();
        let failed: Vec<&Value> = ways.iter().filter(|w| w["result"] == "error").collect();
        let loader = o.harness["loader"].as_str().unwrap_or("no result");
        let verdict = if ways.is_empty() {
            failures.push(format!(
                "{}: the harness ran no way (loader: {loader})",
                case.name
            ));
            "NO RESULT".to_owned()
        } else if o.codes.is_empty() {
            if failed.is_empty() {
                agree += 1;
                "agree: silent, migrates in every way".to_owned()
            } else {
                let which: Vec<String> = failed.iter().map(|w| way_label(w)).collect();
                failures.push(format!(
                    "{}: djcheck is silent but Django fails: {}",
                    case.name,
                    which.join("; ")
                ));
                "DISAGREE: silent, Django fails".to_owned()
            }
        } else if !errors.is_empty() {
            if failed.is_empty() {
                failures.push(format!(
                    "{}: djcheck reports {} but Django migrates in every way ({} ways); \
                     the fixture or the rule is wrong",
                    case.name,
                    errors.join(", "),
                    ways.len()
                ));
                "DISAGREE: error, Django migrates".to_owned()
            } else {
                agree += 1;
                format!("agree: fails in {} of {} ways", failed.len(), ways.len())
            }
        } else {
            reported += 1;
            let warned: Vec<&str> = o
                .codes
                .iter()
                .map(String::as_str)
                .filter(|c| WARNINGS.contains(c))
                .collect();
            format!(
                "reported ({}): Django fails in {} of {} ways",
                warned.join(", "),
                failed.len(),
                ways.len()
            )
        };
        // AUTH003 is the incident of the issue: on a database that already has a
        // history, Django refuses to go on with InconsistentMigrationHistory.
        if o.codes.contains("AUTH003")
            && !ways.iter().any(|w| {
                w["way"].as_str().is_some_and(|n| n.starts_with("upgrade"))
                    && w["exception"] == "InconsistentMigrationHistory"
            })
        {
            failures.push(format!(
                "{}: djcheck reports AUTH003 but no upgrade way raises InconsistentMigrationHistory",
                case.name
            ));
        }
        write_rows(&mut report, &mut notes, case, o, &ways, &verdict);
    }
    let dbs = if dsn.is_some() {
        "SQLite and PostgreSQL"
    } else {
        "SQLite only (PostgreSQL skipped)"
    };
    let _ = writeln!(
        report,
        "\n{} fixtures on {dbs}: {agree} agree, {reported} warning-only reported, {} failing; \
         Django {:.1}s",
        cases.len(),
        failures.len(),
        elapsed.as_secs_f64()
    );
    if !notes.is_empty() {
        let _ = write!(report, "\nDjango's messages:\n{notes}");
    }
    print!("{report}");
    let _ = std::fs::write(conf.join("auth_report.txt"), &report);
    assert!(
        failures.is_empty(),
        "djcheck and Django's migrate disagree on {} fixture(s); see {}:\n{}",
        failures.len(),
        conf.join("auth_report.txt").display(),
        failures.join("\n")
    );
}

/// `fixtures/auth/*`, `fixtures/migrations/{MIG005,MIG006}_*` and the SQL fixtures run
/// by `migrate` (with the extra way `migrate, unapply, migrate again`), fires and silent. A
/// fixture made of `before/` and `after/` trees is taken as its `after/` project.
fn cases(root: &Path) -> Vec<Case> {
    let fixtures = root.join("fixtures");
    fixture_projects()
        .into_iter()
        .filter(|p| {
            let rule = p
                .parent()
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let family = p
                .parent()
                .and_then(Path::parent)
                .and_then(Path::file_name)
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            family == "auth"
                || rule.starts_with("MIG005_")
                || rule.starts_with("MIG006_")
                || run_by_migrate(p)
        })
        .map(|p| {
            let name = p
                .strip_prefix(&fixtures)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let dir = if p.join("after/manage.py").is_file() {
                p.join("after")
            } else {
                p
            };
            assert!(
                dir.join("manage.py").is_file(),
                "fixture {} has no manage.py",
                dir.display()
            );
            Case { name, dir }
        })
        .collect()
}

/// djcheck and the harness on every case, [`JOBS`] at a time; outcomes in case order.
fn run_all(cases: &[Case], python: &Path, script: &Path, dsn: Option<&str>) -> Vec<Outcome> {
    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<usize, Outcome>> = Mutex::new(BTreeMap::new());
    std::thread::scope(|s| {
        for _ in 0..JOBS {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let outcome = Outcome {
                    codes: djcheck_codes(case),
                    harness: run_harness(case, python, script, dsn),
                };
                results.lock().unwrap().insert(i, outcome);
            });
        }
    });
    results.into_inner().unwrap().into_values().collect()
}

fn djcheck_codes(case: &Case) -> BTreeSet<String> {
    let (code, out, err) = djcheck(
        &["check", ".", "--no-config", "--format", "json"],
        &case.dir,
    );
    assert!(
        code == 0 || code == 1,
        "djcheck exited {code} on {}:\n{err}",
        case.name
    );
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("djcheck's JSON on {} ({e}):\n{out}", case.name));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|d| d["code"].as_str().map(str::to_owned))
        .collect()
}

fn run_harness(case: &Case, python: &Path, script: &Path, dsn: Option<&str>) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(script)
        .arg(&case.dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTHONPATH")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .stdin(Stdio::null());
    if run_by_migrate(&case.dir) {
        cmd.arg("--reapply");
    }
    if let Some(dsn) = dsn {
        cmd.args(["--db", "sqlite,postgres", "--pg-dsn", dsn]);
    } else {
        cmd.args(["--db", "sqlite"]);
    }
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "migrate_check.py on {} gave no JSON ({e}; exit {}):\n{stdout}\n{}",
            case.name,
            out.status,
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// `migrate blog` on postgres: `ValueError`.
fn way_label(w: &Value) -> String {
    format!(
        "`{}` on {}: {}: {}",
        w["way"].as_str().unwrap_or("?"),
        w["db"].as_str().unwrap_or("?"),
        w["exception"].as_str().unwrap_or("?"),
        first_line(w["message"].as_str().unwrap_or(""))
    )
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("").trim()
}

/// One block per fixture: its verdict and codes, then each way with its result per
/// database. Each distinct message goes to `notes` once, numbered.
fn write_rows(
    report: &mut String,
    notes: &mut String,
    case: &Case,
    o: &Outcome,
    ways: &[Value],
    verdict: &str,
) {
    let codes = if o.codes.is_empty() {
        "-".to_owned()
    } else {
        o.codes.iter().cloned().collect::<Vec<_>>().join(",")
    };
    let _ = writeln!(report, "{}\n  djcheck: {codes}\n  {verdict}", case.name);
    let loader = o.harness["loader"].as_str().unwrap_or("no result");
    if loader != "ok" {
        let _ = writeln!(report, "  loader: {}", first_line(loader));
    }
    // way -> db -> result
    let mut table: BTreeMap<(usize, String), BTreeMap<String, String>> = BTreeMap::new();
    let mut order: BTreeMap<String, usize> = BTreeMap::new();
    let mut dbs: BTreeSet<String> = BTreeSet::new();
    for w in ways {
        let way = w["way"].as_str().unwrap_or("?").to_owned();
        let db = w["db"].as_str().unwrap_or("?").to_owned();
        let n = order.len();
        let pos = *order.entry(way.clone()).or_insert(n);
        let result = match w["result"].as_str().unwrap_or("?") {
            "ok" => "ok".to_owned(),
            r => {
                let msg = format!(
                    "{}: {}",
                    w["exception"].as_str().unwrap_or("?"),
                    first_line(w["message"].as_str().unwrap_or(""))
                );
                let id = note_id(notes, &msg);
                let exc = w["exception"].as_str().unwrap_or("?");
                if r == "error" {
                    format!("{exc} [{id}]")
                } else {
                    format!("n/a {exc} [{id}]")
                }
            }
        };
        dbs.insert(db.clone());
        table.entry((pos, way)).or_default().insert(db, result);
    }
    let dbs: Vec<String> = dbs.into_iter().rev().collect(); // sqlite, then postgres
    let width = table.keys().map(|(_, w)| w.len()).max().unwrap_or(3).max(3);
    let mut header = format!("    {:<width$}", "way");
    for db in &dbs {
        let _ = write!(header, "  {db:<34}");
    }
    let _ = writeln!(report, "{}", header.trim_end());
    for ((_, way), per_db) in &table {
        let mut row = format!("    {way:<width$}");
        for db in &dbs {
            let r = per_db.get(db).map_or("-", String::as_str);
            let _ = write!(row, "  {r:<34}");
        }
        let _ = writeln!(report, "{}", row.trim_end());
    }
    report.push('\n');
}

/// The number of `msg` in `notes` (`[n] msg` lines), adding it when new.
fn note_id(notes: &mut String, msg: &str) -> usize {
    for line in notes.lines() {
        if let Some((id, text)) = line.strip_prefix('[').and_then(|l| l.split_once("] ")) {
            if text == msg {
                return id.parse().unwrap_or(0);
            }
        }
    }
    let id = notes.lines().count() + 1;
    let _ = writeln!(notes, "[{id}] {msg}");
    id
}
