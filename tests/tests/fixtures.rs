//! The fixture harness: every `fixtures/<family>/<CODE>_<name>/{fires,silent}` project is
//! checked against its inline `# expect: CODE` marks and its saved rendered output
//! (`expected.txt`). Set `DJCHECK_BLESS=1` to rewrite the saved output after reviewing it.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, fixture_projects, workspace_root};
use std::collections::BTreeSet;
use std::path::Path;

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

fn emitted(dir: &Path) -> BTreeSet<Mark> {
    let (_, out, err) = djcheck(&["check", ".", "--no-config", "--format", "json"], dir);
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
        let expected = marks(dir);
        let got = emitted(dir);
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
        let (_, text, err) = djcheck(&["check", ".", "--no-config"], dir);
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
