//! The fixture harness: every `fixtures/<family>/<CODE>_<name>/{fires,silent}` project is
//! checked against its inline `# expect: CODE` marks and its saved rendered output
//! (`expected.txt`). Set `DJCHECK_BLESS=1` to rewrite the saved output after reviewing it.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{
    copy_tree, djcheck, fixture_projects, is_change_fixture, workspace_root, TempDir,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// `(path relative to the fixture, 1-based line, code)`
type Mark = (String, u64, String);

fn marks(dir: &Path) -> BTreeSet<Mark> {
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
            let bytes = std::fs::read(&p).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            let rel = p
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            // Python line breaks: \n, \r\n and a lone \r.
            let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
            for (i, line) in normalized.split('\n').enumerate() {
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

/// A fixture with `before/` and `after/` trees is about a change: the harness commits
/// `before/` to a fresh git repository, replaces it with `after/` (left uncommitted), and
/// runs djcheck with `--base HEAD`. Returns the folder to run in, the scratch repository
/// when there is one (removed when dropped: keep it while the folder is used) and the
/// extra arguments.
fn prepare(dir: &Path) -> (PathBuf, Option<TempDir>, Vec<&'static str>) {
    if !dir.join("after").is_dir() {
        // Not about a change: never compared with the checkout's own git history.
        return (dir.to_path_buf(), None, vec!["--no-base"]);
    }
    let name = dir
        .strip_prefix(workspace_root().join("fixtures"))
        .unwrap()
        .display()
        .to_string()
        .replace('/', "_");
    let repo = TempDir::new(&format!("fixture-{name}"));
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .arg("-C")
            .arg(&repo)
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
            ok.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&ok.stderr)
        );
    };
    git(&["init", "-q"]);
    copy_tree(&dir.join("before"), &repo);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    for e in std::fs::read_dir(&repo).unwrap().flatten() {
        if e.file_name() != ".git" {
            let p = e.path();
            if p.is_dir() {
                std::fs::remove_dir_all(p).unwrap();
            } else {
                std::fs::remove_file(p).unwrap();
            }
        }
    }
    copy_tree(&dir.join("after"), &repo);
    (repo.to_path_buf(), Some(repo), vec!["--base", "HEAD"])
}

/// `--no-config`, unless the fixture brings its own `djcheck.toml` (a rule that only
/// runs when configured).
fn config_args(dir: &Path) -> Vec<&'static str> {
    if dir.join("djcheck.toml").is_file() {
        Vec::new()
    } else {
        vec!["--no-config"]
    }
}

/// A fixture holding a `djcheck-baseline.json` is run with it (`--baseline`).
fn baseline_args(dir: &Path) -> Vec<&'static str> {
    if dir.join("djcheck-baseline.json").is_file() {
        vec!["--baseline", "djcheck-baseline.json"]
    } else {
        Vec::new()
    }
}

fn emitted(dir: &Path, extra: &[&str]) -> BTreeSet<Mark> {
    let mut args = vec!["check", ".", "--format", "json"];
    args.extend(config_args(dir));
    args.extend_from_slice(extra);
    args.extend(baseline_args(dir));
    let (_, out, err) = djcheck(&args, dir);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad json ({e}): {out}\n{err}"));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["path"].as_str().unwrap_or("").to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap_or(0),
                d["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn fixtures_match_marks_and_snapshots() {
    let bless = std::env::var_os("DJCHECK_BLESS").is_some();
    let projects = fixture_projects();
    assert!(!projects.is_empty(), "no fixtures found");
    let mut failures = Vec::new();
    for dir in &projects {
        let name = dir
            .strip_prefix(workspace_root())
            .unwrap()
            .display()
            .to_string();
        let code = dir
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .split('_')
            .next()
            .unwrap()
            .to_owned();
        let fires = dir.file_name().unwrap() == "fires";
        let (run_dir, _repo, mut extra) = prepare(dir);
        // The fixture's own family runs even when its rules are off by default.
        let family = code.trim_end_matches(|c: char| c.is_ascii_digit());
        extra.extend(["--extend-select", family]);
        let mut expected = marks(&if is_change_fixture(dir) {
            dir.join("after")
        } else {
            dir.clone()
        });
        // Diagnostics with no place (a migration deleted since the base) are listed, one
        // code a line, in `expect-unlocated.txt`.
        if let Ok(t) = std::fs::read_to_string(dir.join("expect-unlocated.txt")) {
            for code in t.split('\n').map(str::trim).filter(|c| !c.is_empty()) {
                expected.insert((String::new(), 0, code.to_owned()));
            }
        }
        let got = emitted(&run_dir, &extra);
        if expected != got {
            failures.push(format!(
                "{name}: marks differ\n  expected only: {:?}\n  emitted only: {:?}",
                expected.difference(&got).collect::<Vec<_>>(),
                got.difference(&expected).collect::<Vec<_>>()
            ));
        }
        if fires && !got.iter().any(|m| m.2 == code) {
            failures.push(format!("{name}: does not fire {code}"));
        }
        if !fires && !got.is_empty() {
            failures.push(format!(
                "{name}: a silent fixture must produce no diagnostics, got {got:?}"
            ));
        }
        // Snapshot of the rendered text output.
        let mut args = vec!["check", "."];
        args.extend(config_args(&run_dir));
        args.extend_from_slice(&extra);
        args.extend(baseline_args(&run_dir));
        let (_, text, err) = djcheck(&args, &run_dir);
        assert!(err.is_empty(), "{name}: stderr: {err}");
        let snap = dir.join("expected.txt");
        if bless {
            std::fs::write(&snap, &text).unwrap();
        } else {
            match std::fs::read_to_string(&snap) {
                Ok(saved) if saved == text => {}
                Ok(saved) => failures.push(format!(
                    "{name}: output differs from expected.txt\n--- saved\n{saved}\n--- now\n{text}"
                )),
                Err(_) => failures.push(format!(
                    "{name}: no expected.txt (run with DJCHECK_BLESS=1 and review it)"
                )),
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} fixture failures:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
