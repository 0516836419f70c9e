//! Every output format on the demo project, compared with the saved snapshots in
//! `tests/snapshots/`, and the SARIF output validated with Microsoft's SARIF multitool.
//!
//! After a deliberate change to the output (or to the demo), review and re-record with
//! `DJCHECK_BLESS=1 cargo test -p djcheck_tests --test formats`.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{copy_tree, djcheck, workspace_root, TempDir};
use std::path::PathBuf;
use std::process::Command;

/// A copy of a fixture outside any git repository, so that the paths the repository
/// formats print do not depend on where the checkout is.
fn outside_repo(rel: &str, name: &str) -> TempDir {
    let dir = TempDir::new(&format!("fmt-{name}"));
    copy_tree(&workspace_root().join(rel), &dir);
    dir
}

fn snapshot(name: &str, got: &str) -> Option<String> {
    let path = workspace_root().join("tests/snapshots").join(name);
    if std::env::var_os("DJCHECK_BLESS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, got).unwrap();
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(saved) if saved == got => None,
        Ok(saved) => Some(format!(
            "{name} differs from the snapshot (review, then DJCHECK_BLESS=1 cargo test -p djcheck_tests --test formats)\n--- saved\n{saved}\n--- now\n{got}"
        )),
        Err(_) => Some(format!(
            "no snapshot tests/snapshots/{name} (run with DJCHECK_BLESS=1 and review it)"
        )),
    }
}

/// The SARIF log with the rule table reduced to the codes: the table carries every
/// rule's whole documentation, which the rule meta-tests already check.
fn sarif_for_snapshot(out: &str) -> String {
    let mut v: serde_json::Value = serde_json::from_str(out).unwrap();
    let driver = &mut v["runs"][0]["tool"]["driver"];
    driver["version"] = "<version>".into();
    driver["semanticVersion"] = "<version>".into();
    let rules = driver["rules"].as_array_mut().unwrap();
    for r in rules.iter_mut() {
        for key in ["fullDescription", "help"] {
            assert!(
                r[key]["text"]
                    .as_str()
                    .unwrap()
                    .contains("## What it finds"),
                "{r}"
            );
            r[key] = "<doc>".into();
        }
    }
    // The rule table grows with every rule: keep the ones the results use.
    let used: Vec<String> = v["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["ruleId"].as_str().unwrap().to_owned())
        .collect();
    let rules = v["runs"][0]["tool"]["driver"]["rules"]
        .as_array_mut()
        .unwrap();
    rules.retain(|r| used.iter().any(|u| r["id"] == u.as_str()));
    for r in v["runs"][0]["results"].as_array_mut().unwrap() {
        r["ruleIndex"] = "<index>".into();
    }
    serde_json::to_string_pretty(&v).unwrap() + "\n"
}

#[test]
fn every_format_on_the_demo_matches_its_snapshot() {
    let dir = outside_repo("fixtures/demo", "demo");
    let mut failures = Vec::new();
    for (format, file) in [
        ("text", "demo.txt"),
        ("json", "demo.json"),
        ("sarif", "demo.sarif"),
        ("github", "demo.github.txt"),
        ("gitlab", "demo.gitlab.json"),
        ("markdown", "demo.md"),
    ] {
        // The demo's own configuration (`djcheck.toml`) is part of it.
        let (code, out, err) = djcheck(&["check", ".", "--format", format], &dir);
        assert_eq!(code, 1, "{format}: {err}");
        assert!(err.is_empty(), "{format}: {err}");
        let shown = if format == "sarif" {
            sarif_for_snapshot(&out)
        } else {
            out
        };
        failures.extend(snapshot(file, &shown));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn sarif_lists_every_rule_and_points_at_ranges() {
    let dir = outside_repo("fixtures/demo", "sarif");
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--format", "sarif"], &dir);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let all = djcheck_cli::registry::all_rules();
    assert_eq!(rules.len(), all.len());
    for (r, rule) in rules.iter().zip(&all) {
        let m = rule.meta();
        assert_eq!(r["id"], m.code);
        let short = r["shortDescription"]["text"].as_str().unwrap();
        assert_eq!(
            short.trim_end_matches('.'),
            m.summary().trim_end_matches('.')
        );
        assert_eq!(r["fullDescription"]["markdown"], m.doc_text());
        assert!(r["help"]["text"]
            .as_str()
            .unwrap()
            .contains("## How to fix"));
        assert!(["error", "warning", "note"]
            .contains(&r["defaultConfiguration"]["level"].as_str().unwrap()));
    }
    let results = run["results"].as_array().unwrap();
    assert!(!results.is_empty());
    for res in results {
        let idx = res["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[idx]["id"], res["ruleId"]);
        let loc = &res["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(!loc["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with('/'));
        for k in ["startLine", "startColumn", "endLine", "endColumn"] {
            assert!(loc["region"][k].as_u64().unwrap() >= 1, "{k}: {res}");
        }
    }
    assert!(
        results
            .iter()
            .any(|r| !r["relatedLocations"].as_array().is_none_or(Vec::is_empty)),
        "the demo has secondary labels"
    );
}

/// Paths are relative to the repository root in the formats a repository host reads, and
/// relative to the project root in `json`.
#[test]
fn repository_formats_use_repository_paths() {
    let repo = TempDir::new("fmt-mono");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    copy_tree(
        &workspace_root().join("fixtures/migrations/MIG001_missing-dependency/fires"),
        &repo.join("backend"),
    );
    let backend = repo.join("backend");
    let (_, json, _) = djcheck(&["check", ".", "--no-config", "--format", "json"], &backend);
    assert!(
        json.contains("\"path\": \"blog/migrations/0003_comment.py\""),
        "{json}"
    );
    let (_, gh, _) = djcheck(
        &["check", "backend", "--no-config", "--format", "github"],
        &repo,
    );
    assert!(
        gh.contains("file=backend/blog/migrations/0003_comment.py,line=8,col=9,"),
        "{gh}"
    );
    let (_, gl, _) = djcheck(
        &["check", ".", "--no-config", "--format", "gitlab"],
        &backend,
    );
    assert!(
        gl.contains("\"path\": \"backend/blog/migrations/0003_comment.py\""),
        "{gl}"
    );
    let (_, sarif, _) = djcheck(
        &["check", ".", "--no-config", "--format", "sarif"],
        &backend,
    );
    assert!(
        sarif.contains("\"uri\": \"backend/blog/migrations/0003_comment.py\""),
        "{sarif}"
    );
}

#[test]
fn github_commands_per_severity() {
    let dir = workspace_root().join("fixtures/migrations/MIG008_duplicate-migration-number/fires");
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--format", "github"], &dir);
    let lines: Vec<&str> = out.split('\n').filter(|l| !l.is_empty()).collect();
    assert!(lines.iter().all(|l| l.starts_with("::")), "{out}");
    assert!(
        lines.iter().any(|l| l.starts_with("::error file=")),
        "{out}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("::notice file=")),
        "{out}"
    );
    assert!(lines.iter().any(|l| l.contains(",title=MIG008::")), "{out}");
}

#[test]
fn statistics_count_per_rule() {
    let dir = workspace_root().join("fixtures/migrations/MIG001_missing-dependency/fires");
    let (_, out, _) = djcheck(
        &["check", ".", "--no-config", "--statistics", "--quiet"],
        &dir,
    );
    let last = out.trim_end().rsplit('\n').next().unwrap();
    assert_eq!(last, "    4  MIG001    missing-dependency", "{out}");
    // Machine formats keep stdout clean: the counts go to stderr.
    let (_, out, err) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--statistics",
            "--format",
            "json",
        ],
        &dir,
    );
    assert!(serde_json::from_str::<serde_json::Value>(&out).is_ok());
    assert!(err.contains("MIG001"), "{err}");
}

/// Installs Microsoft's SARIF multitool from npm into `target/sarif-multitool` once.
fn multitool() -> Result<PathBuf, String> {
    let dir = workspace_root().join("target/sarif-multitool");
    let bin = dir.join("node_modules/.bin/sarif-multitool");
    if !bin.exists() {
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let out = Command::new("npm")
            .args([
                "install",
                "--no-audit",
                "--no-fund",
                "--prefix",
                ".",
                "@microsoft/sarif-multitool@5",
            ])
            .current_dir(&dir)
            .output()
            .map_err(|e| format!("cannot run npm: {e}"))?;
        if !out.status.success() || !bin.exists() {
            return Err(format!(
                "npm install @microsoft/sarif-multitool failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    // npm may skip the package's install script, which only marks the binary executable.
    for platform in ["linux", "darwin"] {
        let native = dir.join(format!(
            "node_modules/@microsoft/sarif-multitool-{platform}/Sarif.Multitool"
        ));
        if native.exists() {
            let _ = Command::new("chmod").arg("u+x").arg(&native).status();
        }
    }
    Ok(bin)
}

#[test]
fn sarif_passes_the_multitool_validator() {
    djcheck_tests::progress(
        "formats",
        "validating the SARIF output with Microsoft's SARIF multitool (npm)",
    );
    let tool = match multitool() {
        Ok(t) => t,
        Err(e) => {
            println!("SKIPPED sarif_passes_the_multitool_validator: {e}");
            return;
        }
    };
    let work = TempDir::new("sarif");
    let projects = [
        outside_repo("fixtures/demo", "validate-demo"),
        outside_repo(
            "fixtures/general/SUP001_unused-suppression/fires",
            "validate-sup",
        ),
    ];
    for (i, dir) in projects.iter().enumerate() {
        let (_, out, _) = djcheck(&["check", ".", "--no-config", "--format", "sarif"], dir);
        let log = work.join(format!("run{i}.sarif"));
        let result = work.join(format!("run{i}.result.sarif"));
        std::fs::write(&log, &out).unwrap();
        let run = Command::new(&tool)
            .arg("validate")
            .arg(&log)
            .arg("-o")
            .arg(&result)
            .env("DOTNET_SYSTEM_GLOBALIZATION_INVARIANT", "1")
            .output()
            .unwrap();
        let console = format!(
            "{}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
        let Ok(text) = std::fs::read_to_string(&result) else {
            panic!(
                "the validator wrote no result for {}:\n{console}",
                dir.display()
            );
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let findings = v["runs"][0]["results"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        // A result without `level` is a warning (SARIF's default).
        let errors: Vec<String> = findings
            .iter()
            .filter(|r| r["level"] == "error")
            .map(|r| format!("{}: {}", r["ruleId"], r["message"]))
            .collect();
        assert!(
            errors.is_empty(),
            "SARIF validation errors for {}:\n{}\n{console}",
            dir.display(),
            errors.join("\n")
        );
        println!(
            "{}: {} validator findings, none at error level\n{console}",
            dir.display(),
            findings.len()
        );
    }
}
