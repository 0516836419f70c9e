//! The command line contract: exit codes, selection, output determinism, path scoping,
//! the editor's stdin mode.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, djcheck_stdin, fixture_projects, workspace_root};
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    workspace_root().join("fixtures").join(rel)
}

/// A project with many apps and migrations, some with findings, for determinism.
fn generated_project() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("djcheck-gen-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("manage.py"), "").unwrap();
    for a in 0..30 {
        let app = dir.join(format!("app{a}"));
        std::fs::create_dir_all(app.join("migrations")).unwrap();
        std::fs::write(app.join("__init__.py"), "").unwrap();
        std::fs::write(app.join("migrations/__init__.py"), "").unwrap();
        for m in 1..=20 {
            let mut deps = Vec::new();
            if m > 1 {
                deps.push(format!("(\"app{a}\", \"{:04}_step\")", m - 1));
            }
            if a > 0 && m == 1 {
                deps.push(format!("(\"app{}\", \"0003_step\")", a - 1));
            }
            if m == 7 && a % 5 == 0 {
                deps.push(format!("(\"app{a}\", \"0099_missing\")"));
            }
            let extra = if m == 20 && a % 7 == 0 {
                format!("{:04}_branch", m)
            } else {
                String::new()
            };
            let src = format!(
                "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [{}]\n    operations = []\n",
                deps.join(", ")
            );
            std::fs::write(app.join(format!("migrations/{:04}_step.py", m)), &src).unwrap();
            if !extra.is_empty() {
                std::fs::write(app.join(format!("migrations/{extra}.py")), &src).unwrap();
            }
        }
    }
    dir
}

#[test]
fn output_is_identical_across_thread_counts() {
    let mut dirs: Vec<PathBuf> = fixture_projects()
        .into_iter()
        .filter(|d| !djcheck_tests::is_change_fixture(d))
        .collect();
    dirs.push(generated_project());
    for dir in dirs {
        for format in ["text", "json"] {
            let one = djcheck(
                &[
                    "check",
                    ".",
                    "--no-config",
                    "--threads",
                    "1",
                    "--format",
                    format,
                ],
                &dir,
            );
            for n in ["2", "8"] {
                let many = djcheck(
                    &[
                        "check",
                        ".",
                        "--no-config",
                        "--threads",
                        n,
                        "--format",
                        format,
                    ],
                    &dir,
                );
                assert_eq!(
                    one,
                    many,
                    "{} differs with {n} threads ({format})",
                    dir.display()
                );
            }
            let again = djcheck(&["check", ".", "--no-config", "--format", format], &dir);
            assert_eq!(one, again);
        }
    }
}

#[test]
fn exit_codes() {
    let clean = fixture("migrations/MIG002_conflicting-leaves/silent");
    let dirty = fixture("migrations/MIG002_conflicting-leaves/fires");
    assert_eq!(djcheck(&["check", ".", "--no-config"], &clean).0, 0);
    assert_eq!(djcheck(&["check", ".", "--no-config"], &dirty).0, 1);
    assert_eq!(
        djcheck(&["check", ".", "--no-config", "--exit-zero"], &dirty).0,
        0
    );
    // Only an info finding left: below the default --fail-on warning.
    assert_eq!(
        djcheck(&["check", ".", "--no-config", "--ignore", "MIG002"], &dirty).0,
        0
    );
    assert_eq!(
        djcheck(
            &[
                "check",
                ".",
                "--no-config",
                "--ignore",
                "MIG002",
                "--fail-on",
                "info"
            ],
            &dirty
        )
        .0,
        1
    );
    // Usage errors.
    let (code, _, err) = djcheck(&["check", ".", "--no-such-flag"], &clean);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = djcheck(&["check", ".", "--select", "NOPE"], &clean);
    assert_eq!(code, 2);
    assert!(err.contains("NOPE"), "{err}");
    let (code, _, err) = djcheck(&["check", "does/not/exist"], &clean);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, _) = djcheck(&["rule", "XYZ999"], &clean);
    assert_eq!(code, 2);
}

#[test]
fn select_and_ignore_by_prefix() {
    let dirty = fixture("migrations/MIG008_duplicate-migration-number/fires");
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--select", "MIG008"], &dirty);
    assert!(
        out.contains("[MIG008]") && !out.contains("[MIG002]"),
        "{out}"
    );
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--ignore", "MIG"], &dirty);
    assert!(!out.contains("[MIG0"), "{out}");
}

#[test]
fn config_errors_exit_2() {
    let dir = std::env::temp_dir().join(format!("djcheck-cfg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("djcheck.toml"),
        "select = [\"MIG\"]\nunknown-key = true\n",
    )
    .unwrap();
    let (code, _, err) = djcheck(&["check", "."], &dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown-key") && err.contains("djcheck.toml:2"),
        "{err}"
    );
    let (code, _, _) = djcheck(&["check", ".", "--no-config"], &dir);
    assert_eq!(code, 0);
}

#[test]
fn reports_only_on_paths_given_but_analyses_everything() {
    let dir = fixture("migrations/MIG001_missing-dependency/fires");
    let (_, out, _) = djcheck(
        &[
            "check",
            "shop/migrations/0002_order_total.py",
            "--no-config",
            "--format",
            "json",
        ],
        &dir,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["shop/migrations/0002_order_total.py"]);
}

#[test]
fn stdin_buffer_replaces_the_file() {
    let dir = fixture("migrations/MIG001_missing-dependency/silent");
    let path = "shop/migrations/0002_auto.py";
    let buffer = "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"shop\", \"0001_nope\")]\n    operations = []\n";
    let (code, out, err) = djcheck_stdin(
        &[
            "check",
            "--no-config",
            "--format",
            "json",
            "--stdin-filename",
            path,
            "-",
        ],
        &dir,
        buffer,
    );
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "MIG001");
    assert_eq!(d["path"], path);
    assert_eq!(d["range"]["start"]["line"], 4);
}

#[test]
fn rules_listing() {
    let (code, out, _) = djcheck(&["rules", "--format", "json"], &workspace_root());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.as_array().unwrap().iter().any(|r| r["code"] == "MIG001"));
}
