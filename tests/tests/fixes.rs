//! Fixes, end to end: every `fixtures/fixes/<CODES>_<name>/` holds a `project/` (with a
//! `before/` tree committed as `HEAD` first when the finding is about a change), the files
//! the fixes must produce under `fixed/` (same paths; files not there must stay as they
//! were), and `expected.txt`, the output of `djcheck check --fix --unsafe-fixes
//! --show-fixes`. For each one:
//!
//! - `--diff` changes nothing and prints a diff (exit 1);
//! - `--fix` without `--unsafe-fixes` applies no unsafe fix;
//! - `--fix --unsafe-fixes` writes exactly the files of `fixed/`, and its output matches
//!   `expected.txt`; checking again reports none of the findings fixed;
//! - Django still loads the fixed project: `tests/conformance/django_graph.py` (Django 5.2's
//!   `MigrationLoader`, in the conformance virtualenv) builds its graph with no conflict;
//! - a merge migration is byte for byte what `makemigrations --merge --no-header` writes.
//!
//! `DJCHECK_BLESS=1` rewrites `fixed/` and `expected.txt` (review them). The Django part
//! is skipped with `DJCHECK_SKIP_CONFORMANCE=1`.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{copy_tree, djcheck, workspace_root, TempDir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if e.file_name() == ".git" || e.file_name() == "__pycache__" {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

fn git(repo: &Path, args: &[&str]) {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "-c",
            "user.name=djcheck",
            "-c",
            "user.email=djcheck@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A fresh copy of the fixture's project (after `before/` was committed, when there is
/// one): its scratch folder (removed when dropped: keep it alive while the copy is used),
/// the folder's canonical path, and the arguments it is checked with.
fn prepare(fixture: &Path, tag: &str) -> (TempDir, PathBuf, Vec<&'static str>) {
    let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
    let scratch = TempDir::new(&format!("fix-{name}-{tag}"));
    let dir = scratch.canonicalize().unwrap();
    if fixture.join("before").is_dir() {
        git(&dir, &["init", "-q"]);
        copy_tree(&fixture.join("before"), &dir);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "base"]);
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            if e.file_name() != ".git" {
                if e.path().is_dir() {
                    std::fs::remove_dir_all(e.path()).unwrap();
                } else {
                    std::fs::remove_file(e.path()).unwrap();
                }
            }
        }
        copy_tree(&fixture.join("project"), &dir);
        (scratch, dir, vec![])
    } else {
        copy_tree(&fixture.join("project"), &dir);
        (scratch, dir, vec!["--no-base"])
    }
}

fn config_args(dir: &Path) -> Vec<&'static str> {
    if dir.join("djcheck.toml").is_file() {
        vec![]
    } else {
        vec!["--no-config"]
    }
}

fn run(dir: &Path, base: &[&str], extra: &[&str]) -> (i32, String, String) {
    let mut args = vec!["check", "."];
    args.extend(config_args(dir));
    args.extend_from_slice(base);
    args.extend_from_slice(extra);
    djcheck(&args, dir)
}

fn fixtures() -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(workspace_root().join("fixtures/fixes"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.join("project").is_dir())
        .collect();
    out.sort();
    out
}

/// The codes a fixture's name says it fixes (`SQL001-SQL002_idempotent-sql`).
fn codes(fixture: &Path) -> Vec<String> {
    let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
    name.split('_')
        .next()
        .unwrap()
        .split('-')
        .map(str::to_owned)
        .collect()
}

#[test]
fn fixes_match_their_snapshots() {
    let bless = std::env::var_os("DJCHECK_BLESS").is_some();
    let all = fixtures();
    assert!(all.len() >= 8, "expected the fix fixtures, found {all:?}");
    let mut failures = Vec::new();
    for fx in &all {
        let name = fx.file_name().unwrap().to_string_lossy().into_owned();
        let original = files(&fx.join("project"));

        // --diff: a diff, nothing written.
        let (_scratch, dir, base) = prepare(fx, "diff");
        let (code, diff, err) = run(&dir, &base, &["--diff", "--unsafe-fixes"]);
        if code != 1 || !diff.contains("+++ b/") {
            failures.push(format!("{name}: --diff gave exit {code}:\n{diff}\n{err}"));
        }
        if files(&dir) != original {
            failures.push(format!("{name}: --diff changed files"));
        }

        // --fix alone: no unsafe fix.
        let (_scratch, dir, base) = prepare(fx, "safe");
        let (_, _, err) = run(&dir, &base, &["--fix", "--show-fixes"]);
        if err.contains("(unsafe)") {
            failures.push(format!("{name}: --fix applied an unsafe fix:\n{err}"));
        }

        // --fix --unsafe-fixes: the snapshot.
        let (_scratch, dir, base) = prepare(fx, "fix");
        let (code, out, err) = run(&dir, &base, &["--fix", "--unsafe-fixes", "--show-fixes"]);
        let shown = format!("exit: {code}\n--- stdout\n{out}--- stderr\n{err}");
        let after = files(&dir);
        let changed: BTreeMap<&String, &Vec<u8>> = after
            .iter()
            .filter(|(p, b)| original.get(*p) != Some(*b))
            .collect();
        if original.keys().any(|p| !after.contains_key(p)) {
            failures.push(format!("{name}: a file was removed"));
        }
        if bless {
            let _ = std::fs::remove_dir_all(fx.join("fixed"));
            for (p, b) in &changed {
                let t = fx.join("fixed").join(p);
                std::fs::create_dir_all(t.parent().unwrap()).unwrap();
                std::fs::write(t, b).unwrap();
            }
            std::fs::write(fx.join("expected.txt"), &shown).unwrap();
        } else {
            let want = if fx.join("fixed").is_dir() {
                files(&fx.join("fixed"))
            } else {
                BTreeMap::new()
            };
            let got: BTreeMap<String, Vec<u8>> = changed
                .iter()
                .map(|(p, b)| ((*p).clone(), (*b).clone()))
                .collect();
            if want != got {
                let show = |m: &BTreeMap<String, Vec<u8>>| {
                    m.iter()
                        .map(|(p, b)| format!("== {p}\n{}", String::from_utf8_lossy(b)))
                        .collect::<String>()
                };
                failures.push(format!(
                    "{name}: fixed files differ\n--- expected\n{}\n--- got\n{}",
                    show(&want),
                    show(&got)
                ));
            }
            match std::fs::read_to_string(fx.join("expected.txt")) {
                Ok(saved) if saved == shown => {}
                Ok(saved) => failures.push(format!("{name}: output differs from expected.txt\n--- saved\n{saved}\n--- now\n{shown}")),
                Err(_) => failures.push(format!("{name}: no expected.txt (run with DJCHECK_BLESS=1)")),
            }
        }
        if changed.is_empty() {
            failures.push(format!("{name}: nothing was fixed"));
        }
        // Checked again: none of the findings fixed is left.
        let (_, json, _) = run(&dir, &base, &["--format", "json"]);
        let v: serde_json::Value = serde_json::from_str(&json).unwrap();
        let fixed_codes = codes(fx);
        for d in v["diagnostics"].as_array().unwrap() {
            let code = d["code"].as_str().unwrap();
            if fixed_codes.iter().any(|c| c == code) {
                failures.push(format!(
                    "{name}: `{code}` still reported after --fix: {}",
                    d["message"]
                ));
            }
        }
        if err.contains("not applied") {
            failures.push(format!("{name}: a fix was rolled back:\n{err}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn django_loads_the_fixed_projects() {
    djcheck_tests::progress(
        "fixes",
        "loading every fixed project with Django's MigrationLoader",
    );
    if std::env::var("DJCHECK_SKIP_CONFORMANCE").is_ok_and(|v| v == "1") {
        return;
    }
    let python = djcheck_tests::conformance_python().unwrap_or_else(|e| panic!("{e}"));
    // `django.contrib.postgres.operations` imports psycopg2.
    djcheck_tests::postgres::ensure_psycopg2(&python).unwrap_or_else(|e| panic!("{e}"));
    let script = workspace_root().join("tests/conformance/django_graph.py");
    let mut failures = Vec::new();
    for fx in fixtures() {
        let name = fx.file_name().unwrap().to_string_lossy().into_owned();
        let (_scratch, dir, base) = prepare(&fx, "django");
        let (_, _, err) = run(&dir, &base, &["--fix", "--unsafe-fixes", "--quiet"]);
        let out = Command::new(&python)
            .arg(&script)
            .arg(&dir)
            .arg("--stub-missing-apps")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("DJANGO_SETTINGS_MODULE")
            .output()
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "{name}: django_graph.py ({e}): {}",
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let ok = v["verdict"] == "ok"
            && v["conflicts"].as_object().is_none_or(|c| c.is_empty())
            && v.get("migrate_error")
                .is_none_or(serde_json::Value::is_null);
        if !ok {
            failures.push(format!(
                "{name}: Django does not load the fixed project: {v}\n{err}"
            ));
        }
        // The merge migration is what Django writes.
        if codes(&fx).iter().any(|c| c == "MIG002") {
            let (_orig_scratch, orig, _) = prepare(&fx, "django-merge");
            let made = Command::new(&python)
                .args([
                    "manage.py",
                    "makemigrations",
                    "--merge",
                    "--noinput",
                    "--no-header",
                ])
                .current_dir(&orig)
                .env("PYTHONDONTWRITEBYTECODE", "1")
                .env_remove("DJANGO_SETTINGS_MODULE")
                .output()
                .unwrap();
            assert!(
                made.status.success(),
                "{name}: makemigrations --merge: {}",
                String::from_utf8_lossy(&made.stderr)
            );
            // The same tree, byte for byte: the merge migration is the only change.
            let theirs = files(&orig);
            let ours = files(&dir);
            if theirs != ours {
                let diff: Vec<&String> = theirs
                    .keys()
                    .chain(ours.keys())
                    .filter(|p| theirs.get(*p) != ours.get(*p))
                    .collect();
                failures.push(format!(
                    "{name}: djcheck's merge migration is not Django's; files that differ: {diff:?}\n{}",
                    diff.iter()
                        .map(|p| format!(
                            "== {p}\n-- django\n{}\n-- djcheck\n{}",
                            theirs.get(*p).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default(),
                            ours.get(*p).map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
                        ))
                        .collect::<String>()
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
