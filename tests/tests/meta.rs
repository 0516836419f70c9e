//! Keeps the rule set honest: every rule has a complete doc, a firing fixture and a silent
//! one, in the folder its code and name say.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_cli::registry::all_rules;
use djcheck_linter::DOC_SECTIONS;
use djcheck_tests::workspace_root;

#[test]
fn every_rule_has_doc_sections_in_order() {
    for r in all_rules() {
        let m = r.meta();
        let doc = m.doc_text();
        let mut last = 0;
        for s in DOC_SECTIONS {
            let pos = doc
                .find(s)
                .unwrap_or_else(|| panic!("{}: doc lacks `{s}`", m.code));
            assert!(pos >= last, "{}: `{s}` out of order", m.code);
            last = pos;
        }
        assert!(!m.summary().is_empty(), "{}: empty summary", m.code);
        assert!(
            m.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
            "{}: name not kebab-case",
            m.code
        );
    }
}

/// SAFE rules whose finding does not depend on a table: Django refuses a concurrent
/// operation in a transaction, and transaction control is wrong whatever the table.
const TABLELESS_SAFE_RULES: &[&str] = &["SAFE006", "SAFE010"];

#[test]
fn every_rule_has_fixtures() {
    let root = workspace_root().join("fixtures");
    for r in all_rules() {
        let m = r.meta();
        let folder = format!("{}_{}", m.code, m.name);
        let found: Vec<_> = std::fs::read_dir(&root)
            .unwrap()
            .flatten()
            .map(|f| f.path().join(&folder))
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(
            found.len(),
            1,
            "{}: expected exactly one fixtures/<family>/{folder}",
            m.code
        );
        for kind in ["fires", "silent"] {
            assert!(
                found[0].join(kind).is_dir(),
                "{}: missing {kind} fixture",
                m.code
            );
        }
        // A deploy-safety rule about a table also shows that a table created in the same
        // deploy is never reported.
        if m.code.starts_with("SAFE") && !TABLELESS_SAFE_RULES.contains(&m.code) {
            assert!(
                found[0].join("silent-new-table").is_dir(),
                "{}: missing silent-new-table fixture",
                m.code
            );
        }
    }
}

#[test]
fn codes_are_unique_and_sorted() {
    let codes: Vec<_> = all_rules().iter().map(|r| r.meta().code).collect();
    let mut sorted = codes.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(codes, sorted);
}

#[test]
fn rule_command_prints_the_doc() {
    for r in all_rules() {
        let (code, out, _) = djcheck_tests::djcheck(&["rule", r.meta().code], &workspace_root());
        assert_eq!(code, 0);
        assert!(out.contains("## What it finds"), "{out}");
    }
}

/// `docs/rules.md`, where the markdown report links each code to, is the output of
/// `djcheck rules --format markdown`: a rule added or changed must be written there too
/// (`DJCHECK_BLESS=1 cargo test -p djcheck_tests --test meta` rewrites it).
#[test]
fn docs_rules_page_is_up_to_date() {
    let (code, page, _) =
        djcheck_tests::djcheck(&["rules", "--format", "markdown"], &workspace_root());
    assert_eq!(code, 0);
    for r in all_rules() {
        let m = r.meta();
        assert!(
            page.contains(&format!("\n## {}\n", m.code)),
            "no anchor for {}",
            m.code
        );
    }
    let path = workspace_root().join("docs/rules.md");
    if std::env::var_os("DJCHECK_BLESS").is_some() {
        std::fs::write(&path, &page).unwrap();
        return;
    }
    let saved = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        saved == page,
        "docs/rules.md is out of date: run `DJCHECK_BLESS=1 cargo test -p djcheck_tests --test meta` (or `djcheck rules --format markdown > docs/rules.md`) and review it"
    );
}

/// The README's rule table names every rule with its severity and whether it is on by
/// default.
#[test]
fn readme_rule_table_is_complete() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    for r in all_rules() {
        let m = r.meta();
        let row = format!(
            "| {} | {} | {} | {} |",
            m.code,
            m.name,
            m.severity.as_str(),
            if m.on_by_default { "on" } else { "off" }
        );
        assert!(readme.contains(&row), "README lacks the row `{row}`");
    }
}
