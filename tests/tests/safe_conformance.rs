//! Deploy-safety conformance: what each SAFE rule's documentation claims about a fixture,
//! checked with Django 5.2's `sqlmigrate` and on a real PostgreSQL.
//!
//! Every `fixtures/safe/*/{fires,silent}` project with a `safe.txt` is run through
//! `tests/conformance/safe_check.py` (in the conformance virtualenv, one process per
//! fixture, four at a time) against a throwaway PostgreSQL server started here. `safe.txt`
//! says, one claim a line (`#` starts a comment):
//!
//! - `sql: TEXT`: `sqlmigrate` of the app's leaf migration prints TEXT (whitespace runs
//!   compared as one space);
//! - `no-sql: TEXT`: it does not;
//! - `refused: TEXT`: `sqlmigrate` fails, and the exception's message contains TEXT;
//! - `locks TABLE: reads writes` / `locks TABLE: writes` / `locks TABLE: none`: while the
//!   leaf's SQL is applied in an open transaction (as `migrate` applies an atomic
//!   migration), a second connection with a short `lock_timeout` waits for the lock a read
//!   of TABLE takes, a write takes, or neither;
//! - `then-fails: SQL` / `then-ok: SQL`: once the leaf is migrated, SQL (what the
//!   previous release's code sends) fails or succeeds.
//!
//! The database before the leaf is the one `migrate APP PREVIOUS` builds. Each claim is a
//! sentence of a rule's doc (Django writes `ADD COLUMN ... NOT NULL` then drops the
//! default; `CREATE INDEX` holds a lock writes wait for; a unique constraint or a check
//! constraint holds one reads wait for too...), so the docs are measured, not assumed.
//!
//! The results table is printed and written to `target/conformance/safe_report.txt`.
//! Environment: `DJCHECK_SKIP_CONFORMANCE=1` skips; PostgreSQL missing is a skip (printed)
//! unless `DJCHECK_REQUIRE_POSTGRES=1`.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(
    clippy::unwrap_used,
    clippy::disallowed_methods,
    clippy::print_stdout,
    clippy::print_stderr
)]

use djcheck_tests::postgres::{self, Server};
use djcheck_tests::{conformance_python, fixture_projects, target_dir, workspace_root};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Claim {
    Sql(String),
    NoSql(String),
    Refused(String),
    Locks {
        table: String,
        reads: bool,
        writes: bool,
    },
    Then {
        sql: String,
        ok: bool,
    },
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn claims(path: &Path) -> Vec<Claim> {
    let text = std::fs::read_to_string(path).unwrap();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line
            .split_once(':')
            .unwrap_or_else(|| panic!("{}: bad line {line:?}", path.display()));
        let value = value.trim().to_owned();
        let claim = match key.trim() {
            "sql" => Claim::Sql(normalize(&value)),
            "no-sql" => Claim::NoSql(normalize(&value)),
            "refused" => Claim::Refused(value),
            "then-fails" => Claim::Then {
                sql: value,
                ok: false,
            },
            "then-ok" => Claim::Then {
                sql: value,
                ok: true,
            },
            k if k.starts_with("locks ") => {
                let words: Vec<&str> = value.split_whitespace().collect();
                Claim::Locks {
                    table: k["locks ".len()..].trim().to_owned(),
                    reads: words.contains(&"reads"),
                    writes: words.contains(&"writes"),
                }
            }
            k => panic!("{}: unknown claim {k:?}", path.display()),
        };
        out.push(claim);
    }
    out
}

struct Case {
    name: String,
    dir: PathBuf,
    claims: Vec<Claim>,
}

fn run_case(case: &Case, python: &Path, script: &Path, dsn: &str) -> Value {
    let mut cmd = Command::new(python);
    cmd.arg(script).arg(&case.dir).args(["--pg-dsn", dsn]);
    let tables: Vec<&str> = case
        .claims
        .iter()
        .filter_map(|c| match c {
            Claim::Locks { table, .. } => Some(table.as_str()),
            _ => None,
        })
        .collect();
    if !tables.is_empty() {
        cmd.args(["--locks", &tables.join(",")]);
    }
    for c in &case.claims {
        if let Claim::Then { sql, .. } = c {
            cmd.args(["--then", sql]);
        }
    }
    let out = cmd
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{}: bad harness output ({e}):\n{}\n{}",
            case.name,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The claims that do not hold, each with what was seen.
fn verdicts(case: &Case, r: &Value) -> Vec<String> {
    let mut bad = Vec::new();
    if let Some(e) = r["error"].as_str() {
        bad.push(format!("harness error: {e}"));
        return bad;
    }
    let sql = r["sql"].as_str().map(normalize);
    let sql_error = r["sql_error"].as_str().unwrap_or("");
    for c in &case.claims {
        match c {
            Claim::Sql(t) => {
                if !sql.as_deref().is_some_and(|s| s.contains(t.as_str())) {
                    bad.push(format!("sqlmigrate lacks {t:?}"));
                }
            }
            Claim::NoSql(t) => {
                if sql.as_deref().is_some_and(|s| s.contains(t.as_str())) {
                    bad.push(format!("sqlmigrate has {t:?}"));
                }
            }
            Claim::Refused(t) => {
                if !sql_error.contains(t.as_str()) {
                    bad.push(format!(
                        "sqlmigrate was not refused with {t:?} (error: {sql_error:?})"
                    ));
                }
            }
            Claim::Locks {
                table,
                reads,
                writes,
            } => {
                let got = &r["locks"][table];
                let seen = |k: &str| got[k].as_str() == Some("blocked");
                if got.get("error").is_some()
                    || seen("reads") != *reads
                    || seen("writes") != *writes
                {
                    bad.push(format!(
                        "locks on {table}: claimed reads blocked={reads}, writes blocked={writes}; saw {got}"
                    ));
                }
            }
            Claim::Then { sql: q, ok } => {
                let got = r["then"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| x["sql"].as_str() == Some(q.as_str())));
                let seen = got.and_then(|x| x["ok"].as_bool());
                if seen != Some(*ok) {
                    bad.push(format!(
                        "after migrate, {q:?} should {}; saw {}",
                        if *ok { "succeed" } else { "fail" },
                        got.map_or("nothing".to_owned(), ToString::to_string)
                    ));
                }
            }
        }
    }
    bad
}

#[test]
fn safe_rule_docs_hold_on_django_and_postgresql() {
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        println!("safe_conformance: skipped because DJCHECK_SKIP_CONFORMANCE=1");
        return;
    }
    let python = conformance_python()
        .unwrap_or_else(|e| panic!("{e}\nSet DJCHECK_SKIP_CONFORMANCE=1 to skip this test."));
    let server = match postgres::ensure_psycopg2(&python).and_then(|()| Server::start("safe")) {
        Ok(s) => s,
        Err(why) => {
            assert!(
                std::env::var_os("DJCHECK_REQUIRE_POSTGRES").is_none(),
                "PostgreSQL required (DJCHECK_REQUIRE_POSTGRES) but: {why}"
            );
            println!("safe_conformance: skipped: {why}");
            return;
        }
    };
    let root = workspace_root();
    let cases: Vec<Case> = fixture_projects()
        .into_iter()
        .filter(|d| d.starts_with(root.join("fixtures/safe")) && d.join("safe.txt").is_file())
        .map(|dir| Case {
            name: dir
                .strip_prefix(root.join("fixtures"))
                .unwrap()
                .display()
                .to_string(),
            claims: claims(&dir.join("safe.txt")),
            dir,
        })
        .collect();
    assert!(
        cases.len() >= 20,
        "expected a safe.txt in most SAFE fixtures, found {}",
        cases.len()
    );
    let script = root.join("tests/conformance/safe_check.py");
    let dsn = server.dsn();
    // Four harness processes at once: each mostly waits (lock timeouts, database
    // creation), so this halves the wall time on 2 cores.
    let results: Mutex<Vec<(usize, Value)>> = Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                let Some(case) = cases.get(i) else { break };
                let r = run_case(case, &python, &script, &dsn);
                results.lock().unwrap().push((i, r));
            });
        }
    });
    let mut results = results.into_inner().unwrap();
    results.sort_by_key(|r| r.0);

    let mut report = String::new();
    let mut failures = Vec::new();
    for (i, r) in &results {
        let case = &cases[*i];
        let bad = verdicts(case, r);
        let status = if bad.is_empty() { "ok" } else { "FAILED" };
        let _ = writeln!(
            report,
            "{:<70} {:>2} claims  {status}",
            case.name,
            case.claims.len()
        );
        for (table, l) in r["locks"].as_object().into_iter().flatten() {
            let _ = writeln!(report, "    locks held on {table}: {l}");
        }
        if let Some(e) = r["sql_error"].as_str() {
            let _ = writeln!(report, "    sqlmigrate: {e}");
        }
        for b in &bad {
            let _ = writeln!(report, "    {b}");
        }
        if !bad.is_empty() {
            failures.push(format!(
                "{}:\n  {}\n  sqlmigrate output:\n{}",
                case.name,
                bad.join("\n  "),
                r["sql"].as_str().unwrap_or("")
            ));
        }
    }
    println!("{report}");
    let conf = target_dir().join("conformance");
    let _ = std::fs::create_dir_all(&conf);
    let _ = std::fs::write(conf.join("safe_report.txt"), &report);
    assert!(
        failures.is_empty(),
        "{} fixtures whose claims do not hold:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
