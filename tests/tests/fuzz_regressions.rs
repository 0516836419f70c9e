//! Replays every input under `fuzz/regressions/TARGET/` (what the fuzz targets found, and
//! the reproducers of issue 18) and every seed under `fuzz/seeds/TARGET/` through the
//! fuzz targets' own entry points (`djcheck_tests::fuzzing`): none may panic, and each
//! must finish in bounded time.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{fuzzing, workspace_root};
use std::time::{Duration, Instant};

fn inputs(kind: &str, target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = workspace_root().join("fuzz").join(kind).join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    out.sort();
    out
}

fn replay(target: &str, run: fn(&[u8])) {
    let regressions = inputs("regressions", target);
    assert!(!regressions.is_empty(), "no regression inputs for {target}");
    for (kind, list) in [
        ("regressions", regressions),
        ("seeds", inputs("seeds", target)),
    ] {
        for (name, data) in list {
            let t = Instant::now();
            let r = std::panic::catch_unwind(|| run(&data));
            assert!(r.is_ok(), "{target}: {kind}/{name} panicked");
            // Generous for a debug build on a busy machine; libFuzzer's limit is 10 s.
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "{target}: {kind}/{name} took {:?}",
                t.elapsed()
            );
        }
    }
}

#[test]
fn python_front_end() {
    replay("python", fuzzing::python_front_end);
}

#[test]
fn sql_rules() {
    replay("sql", fuzzing::sql_rules);
}

#[test]
fn pipeline() {
    replay("pipeline", |d| {
        let _ = fuzzing::pipeline(d);
    });
}

/// The pipeline target really analyses the project it writes: a password in a RunSQL
/// is found, and masked, in every format.
#[test]
fn pipeline_analyses_its_input() {
    for (name, data) in inputs("regressions", "pipeline") {
        if !name.starts_with("issue18-sql-password") {
            continue;
        }
        let (code, out) = fuzzing::pipeline(&data);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains("SEC001") && out.contains("SQL005"),
            "{name}: {out}"
        );
        assert!(!out.contains("R3port-Pw-2024"), "{name}: {out}");
    }
}
