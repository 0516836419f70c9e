//! PostgreSQL proves the SQL rules' verdicts on the SQL fixtures; a MySQL project checks
//! that `sql-dialect` from the configuration is honoured.
//!
//! A throwaway PostgreSQL server is started on a loopback port in a temporary folder
//! (`initdb`, `pg_ctl`), and for every `fixtures/sql/*/{fires,silent}` project:
//!
//! - the SQL of each `RunSQL` is read with Python's `ast` module (parameters of
//!   `(sql, params)` pairs are substituted), in migration dependency order;
//! - each fixture gets its own database and one psql script; each operation's forward
//!   SQL runs twice (a first run, then a re-run of the whole sequence in a new
//!   connection, statement by statement), then its reverse SQL twice the same way, then
//!   its forward SQL once more (errors ignored) to leave the state the next operation
//!   expects;
//! - in the re-run, a statement djcheck flags with SQL001-SQL004 must fail, and any other
//!   statement must succeed when a real re-run would reach it (no statement before it in
//!   the pass failed); every statement of a first run must succeed (the fixtures are
//!   valid PostgreSQL). Re-running the sequence, not each statement on its own, is what
//!   re-applying a migration does, and what makes `DROP ... IF EXISTS` followed by
//!   `CREATE` re-runnable;
//! - a statement flagged with SQL008 must fail inside `BEGIN ... COMMIT`.
//!
//! Statements are matched to diagnostics by line: a statement is flagged when a
//! diagnostic starts on one of its lines.
//!
//! Skips (printing why) when `initdb` or `python3` is missing, or the server cannot be
//! started; `DJCHECK_REQUIRE_POSTGRES=1` turns a skip into a failure.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stderr)]

use djcheck_tests::postgres::Server;
use djcheck_tests::{djcheck, fixture_projects, run_by_migrate, workspace_root};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Reads every RunSQL of the fixture projects given: `{dir: [{file, forward: [{sql,
/// line}], reverse}]}`, each list in the order Django applies the migrations.
const EXTRACT: &str = r#"
import ast, json, os, sys

def extract(root):
    migs = {}
    for app in sorted(os.listdir(root)):
        d = os.path.join(root, app, "migrations")
        if not os.path.isdir(d):
            continue
        for f in sorted(os.listdir(d)):
            if f.endswith(".py") and not f.startswith("_"):
                migs[(app, f[:-3])] = os.path.join(app, "migrations", f)

    def names_of(tree):
        out = {}
        for s in tree.body:
            if isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Name):
                out[s.targets[0].id] = s.value
        return out

    def resolve(node, names):
        while isinstance(node, ast.Name) and node.id in names:
            node = names[node.id]
        return node

    def quote(v):
        if isinstance(v, str):
            return "'" + v.replace("'", "''") + "'"
        return str(v)

    def render(node, params, names):
        node = resolve(node, names)
        sql = ast.literal_eval(node)
        if params is not None:
            if isinstance(params, dict):
                sql = sql % {k: quote(v) for k, v in params.items()}
            else:
                sql = sql % tuple(quote(v) for v in params)
        return {"sql": sql, "line": node.lineno}

    def units(node, names):
        if node is None:
            return []
        node = resolve(node, names)
        if isinstance(node, ast.Attribute) and node.attr == "noop":
            return []
        if isinstance(node, ast.Constant) and node.value is None:
            return []
        if isinstance(node, (ast.List, ast.Tuple)):
            out = []
            for e in node.elts:
                e = resolve(e, names)
                if isinstance(e, (ast.List, ast.Tuple)) and len(e.elts) == 2:
                    out.append(render(e.elts[0], ast.literal_eval(resolve(e.elts[1], names)), names))
                else:
                    out.append(render(e, None, names))
            return out
        return [render(node, None, names)]

    def arg(call, pos, name):
        for k in call.keywords:
            if k.arg == name:
                return k.value
        return call.args[pos] if len(call.args) > pos else None

    def ops_of(node, names, out, rel):
        for e in node.elts:
            e = resolve(e, names)
            if not isinstance(e, ast.Call) or not isinstance(e.func, ast.Attribute):
                continue
            if e.func.attr == "RunSQL":
                out.append({"file": rel,
                            "forward": units(arg(e, 0, "sql"), names),
                            "reverse": units(arg(e, 1, "reverse_sql"), names)})
            elif e.func.attr == "SeparateDatabaseAndState":
                d = arg(e, 0, "database_operations")
                if d is not None:
                    ops_of(resolve(d, names), names, out, rel)

    parsed = {}
    deps = {}
    for key, rel in migs.items():
        tree = ast.parse(open(os.path.join(root, rel)).read())
        parsed[key] = tree
        deps[key] = []
        for s in tree.body:
            if isinstance(s, ast.ClassDef) and s.name == "Migration":
                for b in s.body:
                    if isinstance(b, ast.Assign) and getattr(b.targets[0], "id", "") == "dependencies":
                        deps[key] = [tuple(ast.literal_eval(x)) for x in b.value.elts]

    order, seen = [], set()
    def visit(k):
        if k in seen or k not in migs:
            return
        seen.add(k)
        for d in deps[k]:
            visit(d)
        order.append(k)
    for k in sorted(migs):
        visit(k)

    out = []
    for key in order:
        tree = parsed[key]
        names = names_of(tree)
        for s in tree.body:
            if isinstance(s, ast.ClassDef) and s.name == "Migration":
                for b in s.body:
                    if isinstance(b, ast.Assign) and getattr(b.targets[0], "id", "") == "operations":
                        ops_of(b.value, names, out, migs[key])
    return out

print(json.dumps({r: extract(r) for r in sys.argv[1:]}))
"#;

/// Runs a psql script in `db`, going on after errors; returns the `R<n> <error>`
/// lines it echoes, as `n -> error`.
fn run_script(server: &Server, db: &str, script: &str) -> BTreeMap<usize, bool> {
    let mut child = server
        .psql()
        .args(["-X", "-q", "-h", "127.0.0.1", "-U", "postgres"])
        .args(["-p", &server.port.to_string(), "-d", db, "-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split('\n')
        .filter_map(|l| {
            let (id, err) = l.strip_prefix('R')?.split_once(' ')?;
            Some((id.parse().ok()?, err.trim() == "true"))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    First,
    Rerun,
    InTransaction,
}

struct Check {
    /// Checks of one pass over one direction of one operation share a group.
    group: usize,
    at: String,
    stmt: String,
    pass: Pass,
    flagged: bool,
}

/// A statement of a SQL string: its text and the lines (relative to the string's first
/// line) it starts and ends on.
fn statements(sql: &str) -> Vec<(String, usize, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut i = 0;
    let line_at = |p: usize| sql[..p].matches('\n').count();
    while i < b.len() {
        let c = b[i];
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            i = sql[i..].find('\n').map_or(b.len(), |n| i + n);
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = sql[i + 2..].find("*/").map_or(b.len(), |n| i + 2 + n + 2);
            continue;
        }
        if c == b';' {
            if let Some(s) = start.take() {
                out.push((sql[s..i].to_owned(), line_at(s), line_at(i)));
            }
            i += 1;
            continue;
        }
        if !c.is_ascii_whitespace() && start.is_none() {
            start = Some(i);
        }
        if c == b'\'' || c == b'"' {
            i = sql[i + 1..]
                .find(c as char)
                .map_or(b.len(), |n| i + 1 + n + 1);
            continue;
        }
        if c == b'$' {
            if let Some(n) = sql[i + 1..].find('$') {
                let tag = &sql[i..i + 1 + n + 1];
                if tag[1..tag.len() - 1]
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == '_')
                {
                    let body = i + tag.len();
                    i = sql[body..]
                        .find(tag)
                        .map_or(b.len(), |m| body + m + tag.len());
                    continue;
                }
            }
        }
        i += 1;
    }
    if let Some(s) = start {
        out.push((
            sql[s..].trim_end().to_owned(),
            line_at(s),
            line_at(sql.len()),
        ));
    }
    out
}

/// `(code, path, line)` of each SQL diagnostic djcheck reports on the fixture.
fn flagged(dir: &Path) -> BTreeSet<(String, String, u64)> {
    let (_, out, err) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--format",
            "json",
            "--select",
            "SQL",
        ],
        dir,
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap().to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap(),
            )
        })
        .collect()
}

fn skip(why: &str) {
    assert!(
        std::env::var_os("DJCHECK_REQUIRE_POSTGRES").is_none(),
        "PostgreSQL test required but: {why}"
    );
    eprintln!("sql_postgres: skipped: {why}");
}

#[test]
fn sql_fixture_verdicts_hold_on_postgresql() {
    djcheck_tests::progress(
        "sql_postgres",
        "running the SQL fixtures twice on a throwaway PostgreSQL server",
    );
    if Command::new("python3").arg("--version").output().is_err() {
        return skip("python3 not found");
    }
    let server = match Server::start("sql") {
        Ok(s) => s,
        Err(e) => return skip(&e),
    };
    let sql_root = workspace_root().join("fixtures").join("sql");
    let dirs: Vec<PathBuf> = fixture_projects()
        .into_iter()
        .filter(|d| d.starts_with(&sql_root) && !run_by_migrate(d))
        .collect();
    let out = Command::new("python3")
        .args(["-c", EXTRACT])
        .args(&dirs)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let extracted: Value = serde_json::from_slice(&out.stdout).unwrap();
    let databases: String = (1..=dirs.len())
        .map(|i| format!("CREATE DATABASE fx{i};\n"))
        .collect();
    run_script(&server, "postgres", &databases);
    let mut failures = Vec::new();
    let mut checked = 0usize;
    for (n, dir) in dirs.iter().enumerate() {
        let name = dir
            .strip_prefix(workspace_root())
            .unwrap()
            .display()
            .to_string();
        let found = flagged(dir);
        let codes = |wanted: &[&str]| -> BTreeSet<(String, u64)> {
            found
                .iter()
                .filter(|(c, _, _)| wanted.contains(&c.as_str()))
                .map(|(_, p, l)| (p.clone(), *l))
                .collect()
        };
        let idempotency = codes(&["SQL001", "SQL002", "SQL003", "SQL004"]);
        let concurrently = codes(&["SQL008"]);
        let db = format!("fx{}", n + 1);
        let ops = &extracted[dir.to_str().unwrap()];
        // One psql session runs the whole fixture, as `migrate` runs in one connection;
        // after each statement, psql's `ERROR` variable says whether it failed.
        let mut script = String::new();
        let mut checks: Vec<Check> = Vec::new();
        let mut group = 0usize;
        for op in ops.as_array().unwrap() {
            let file = op["file"].as_str().unwrap();
            let mut forward = Vec::new();
            for direction in ["forward", "reverse"] {
                let mut run = Vec::new();
                for unit in op[direction].as_array().unwrap() {
                    let sql = unit["sql"].as_str().unwrap();
                    let line = unit["line"].as_u64().unwrap();
                    for (stmt, a, b) in statements(sql) {
                        run.push((stmt, line + a as u64, line + b as u64));
                    }
                }
                for pass in [Pass::First, Pass::Rerun] {
                    group += 1;
                    // A re-run is a new `migrate`: a new connection, where temporary
                    // tables and session settings of the first run are gone.
                    script.push_str("\\connect\n");
                    for (stmt, first, last) in &run {
                        let lines = *first..=*last;
                        let is_flagged = |set: &BTreeSet<(String, u64)>| {
                            set.iter().any(|(p, l)| p == file && lines.contains(l))
                        };
                        let id = checks.len();
                        let _ = writeln!(script, "{stmt};\n\\echo R{id} :ERROR");
                        checks.push(Check {
                            group,
                            at: format!("{name}/{file}:{first}"),
                            stmt: stmt.clone(),
                            pass,
                            flagged: is_flagged(&idempotency),
                        });
                        if pass == Pass::Rerun && is_flagged(&concurrently) {
                            let id = checks.len();
                            let _ =
                                writeln!(script, "BEGIN;\n{stmt};\n\\echo R{id} :ERROR\nROLLBACK;");
                            checks.push(Check {
                                group,
                                at: format!("{name}/{file}:{first}"),
                                stmt: stmt.clone(),
                                pass: Pass::InTransaction,
                                flagged: true,
                            });
                        }
                    }
                }
                if direction == "forward" {
                    forward = run;
                }
            }
            // Apply the operation again for the next one, as `migrate` would leave it.
            script.push_str("\\connect\n");
            for (stmt, _, _) in forward {
                let _ = writeln!(script, "{stmt};");
            }
        }
        let failed = run_script(&server, &db, &script);
        // A group's first failure: statements after it would not be reached by a real
        // re-run, which stops there.
        let mut first_failure: BTreeMap<usize, usize> = BTreeMap::new();
        for (id, c) in checks.iter().enumerate() {
            if c.pass == Pass::Rerun && failed.get(&id) == Some(&true) {
                first_failure.entry(c.group).or_insert(id);
            }
        }
        for (id, c) in checks.iter().enumerate() {
            let Some(&error) = failed.get(&id) else {
                failures.push(format!("{}: no result from psql\n  {}", c.at, c.stmt));
                continue;
            };
            let reached = first_failure.get(&c.group).is_none_or(|&f| f >= id);
            let problem = match (c.pass, c.flagged, error) {
                (Pass::First, _, true) => "the first run failed",
                (Pass::Rerun, true, false) => {
                    "flagged as not re-runnable, but the re-run succeeded"
                }
                (Pass::Rerun, false, true) if reached => "not flagged, but the re-run failed",
                (Pass::InTransaction, _, false) => "flagged SQL008, but ran inside a transaction",
                _ => continue,
            };
            failures.push(format!("{}: {problem}\n  {}", c.at, c.stmt));
        }
        checked += checks.iter().filter(|c| c.pass == Pass::Rerun).count();
    }
    assert!(checked > 50, "only {checked} statements were run");
    assert!(
        failures.is_empty(),
        "{} verdicts do not hold on PostgreSQL:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn statement_splitter() {
    let got = statements(
        "\nCREATE TABLE a (x text DEFAULT ';');\n-- c;\nDO $$ BEGIN PERFORM 1; END $$;\nSELECT 1",
    );
    let texts: Vec<_> = got.iter().map(|s| (s.0.as_str(), s.1)).collect();
    assert_eq!(
        texts,
        vec![
            ("CREATE TABLE a (x text DEFAULT ';')", 1),
            ("DO $$ BEGIN PERFORM 1; END $$", 3),
            ("SELECT 1", 4)
        ]
    );
}

/// `(path, line, code)` of the `# expect: CODE` marks of a project's Python files.
fn marks(dir: &Path) -> BTreeSet<(String, u64, String)> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|x| x != "py") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let rel = p
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            for (i, line) in text.split('\n').enumerate() {
                if let Some(pos) = line.find("# expect:") {
                    for code in line[pos + "# expect:".len()..].split(',') {
                        out.insert((rel.clone(), i as u64 + 1, code.trim().to_owned()));
                    }
                }
            }
        }
    }
    out
}

/// `sql-dialect = "mysql"` in the project's `djcheck.toml` makes djcheck read RunSQL as
/// MySQL: backquoted names, `#` comments, `INSERT IGNORE`, `ON DUPLICATE KEY UPDATE` and
/// `DROP INDEX ... ON` are understood (no SQL007), and the findings are exactly the
/// marked ones. The fixture harness runs with `--no-config`, so this project lives
/// outside its `fires`/`silent` folders.
#[test]
fn mysql_dialect_from_config() {
    let dir = workspace_root().join("fixtures/sql/dialects/mysql");
    let (_, out, err) = djcheck(&["check", ".", "--format", "json"], &dir);
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}{err}"));
    let got: BTreeSet<(String, u64, String)> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap().to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap(),
                d["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expected = marks(&dir);
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}
