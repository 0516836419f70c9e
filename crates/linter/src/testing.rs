//! Test helpers for rule crates: run one rule's `check_file` on a migration snippet, the
//! way the runner does. Shared by every family whose rules read one migration file.

use crate::{Diagnostic, FileId, Rule};
use djcheck_project::migration::{extract, ExtractContext};
use djcheck_project::{FileContext, FileOptions, FileRole};

/// The diagnostics of `rule` on `src`, a migration module (it must parse and define a
/// `Migration` class: a helper that checks nothing would prove nothing).
pub fn check(rule: &dyn Rule, src: &str) -> Vec<Diagnostic> {
    let parsed = djcheck_python::parse_module(src);
    assert!(
        parsed.errors.is_empty(),
        "snippet does not parse: {:?}",
        parsed.errors
    );
    let m = extract(
        FileId(0),
        "app",
        "0002_data",
        parsed.body(),
        &ExtractContext {
            user_app_label: "auth",
        },
    );
    assert!(m.class_range.is_some(), "snippet has no Migration class");
    let options = FileOptions::default();
    let cx = FileContext::new(
        FileId(0),
        "app/migrations/0002_data.py",
        src,
        &parsed,
        FileRole::Migration,
        Some(&m),
        &options,
    );
    let mut out = Vec::new();
    rule.check_file(&cx, &mut out);
    out
}

/// The text each diagnostic's primary range covers, with its message. Refuses to return
/// nothing: a test that expects findings must get some.
pub fn fires(rule: &dyn Rule, src: &str) -> Vec<(String, String)> {
    let out = check(rule, src);
    assert!(!out.is_empty(), "expected findings, got none in:\n{src}");
    out.iter()
        .map(|d| {
            let r = d.primary.expect("a primary span").range;
            (
                src[usize::from(r.start())..usize::from(r.end())].to_owned(),
                d.message.clone(),
            )
        })
        .collect()
}

/// Asserts the rule is silent on `src`.
pub fn silent(rule: &dyn Rule, src: &str) {
    let out = check(rule, src);
    assert!(
        out.is_empty(),
        "expected no findings, got {:?}",
        out.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
}

/// Wraps a module body (functions) and the operations into a migration module.
pub fn migration(functions: &str, operations: &str) -> String {
    format!(
        "import os\nfrom functools import partial\n\nfrom django.conf import settings\nfrom django.db import migrations\n\n{functions}\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"app\", \"0001_initial\")]\n    operations = [\n        {operations}\n    ]\n"
    )
}
