//! Test helpers: a migration around some SQL, a rule run on it, and what it reported.
//! `lint_errors` refuses to assert on nothing, and `lint_ok` refuses SQL that produced no
//! statement, so a test can never pass by checking an empty result.

use djcheck_linter::{Diagnostic, FileContext, FileId, Rule};
use djcheck_project::migration::{extract, ExtractContext};
use djcheck_project::{FileOptions, FileRole, SqlDialect};
use djcheck_python::parse_module;

#[derive(Debug, Clone, Default)]
pub struct Opts {
    pub dialect: SqlDialect,
    pub atomic: Option<bool>,
    pub allowed_schemas: Vec<String>,
}

/// A Python triple-quoted literal holding `sql`.
pub fn py_str(sql: &str) -> String {
    format!(
        "\"\"\"{}\"\"\"",
        sql.replace('\\', "\\\\").replace('"', "\\\"")
    )
}

/// A migration module with the given operations (Python source, comma-separated).
pub fn migration(operations: &str, atomic: Option<bool>) -> String {
    let atomic = match atomic {
        Some(a) => format!("    atomic = {}\n", if a { "True" } else { "False" }),
        None => String::new(),
    };
    format!(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n{atomic}    dependencies = [(\"app\", \"0001_initial\")]\n\n    operations = [\n        {operations},\n    ]\n"
    )
}

/// A migration running `sql` with a no-op reverse.
pub fn migration_with_sql(sql: &str) -> String {
    migration(
        &format!(
            "migrations.RunSQL({}, reverse_sql=migrations.RunSQL.noop)",
            py_str(sql)
        ),
        None,
    )
}

pub fn with_context<T>(src: &str, opts: &Opts, f: impl FnOnce(&FileContext<'_>) -> T) -> T {
    let parsed = parse_module(src);
    assert!(parsed.errors.is_empty(), "{:?}\n{src}", parsed.errors);
    let mut m = extract(
        FileId(0),
        "app",
        "0002_sql",
        parsed.body(),
        &ExtractContext {
            user_app_label: "auth",
        },
    );
    if opts.atomic.is_some() {
        m.atomic = opts.atomic;
    }
    let options = FileOptions {
        sql_dialect: opts.dialect,
        allowed_schemas: opts.allowed_schemas.clone(),
    };
    let cx = FileContext::new(
        FileId(0),
        "app/migrations/0002_sql.py",
        src,
        &parsed,
        FileRole::Migration,
        Some(&m),
        &options,
    );
    f(&cx)
}

/// What `rule` reports on the migration `src`.
pub fn diagnostics(rule: &dyn Rule, src: &str, opts: &Opts) -> Vec<Diagnostic> {
    with_context(src, opts, |cx| {
        let mut out = Vec::new();
        rule.check_file(cx, &mut out);
        out
    })
}

/// The source text under each reported primary span.
pub fn snippets(rule: &dyn Rule, src: &str, opts: &Opts) -> Vec<String> {
    diagnostics(rule, src, opts)
        .iter()
        .map(|d| {
            let r = d.primary.expect("a primary span").range;
            src[r].to_owned()
        })
        .collect()
}

/// The snippets `rule` reports on `sql`; fails when it reports nothing.
pub fn lint_errors_with(rule: &dyn Rule, sql: &str, opts: &Opts) -> Vec<String> {
    let got = snippets(rule, &migration_with_sql(sql), opts);
    assert!(
        !got.is_empty(),
        "{} reported nothing on:\n{sql}",
        rule.meta().code
    );
    got
}

pub fn lint_errors(rule: &dyn Rule, sql: &str) -> Vec<String> {
    lint_errors_with(rule, sql, &Opts::default())
}

/// Asserts `rule` reports nothing on `sql`, which must contain at least one statement.
pub fn lint_ok_with(rule: &dyn Rule, sql: &str, opts: &Opts) {
    let src = migration_with_sql(sql);
    let statements = with_context(&src, opts, |cx| {
        cx.sql()
            .iter()
            .map(|op| op.forward.iter().map(|u| u.statements.len()).sum::<usize>())
            .sum::<usize>()
    });
    assert!(statements > 0, "no statement was read from:\n{sql}");
    let got = snippets(rule, &src, opts);
    assert!(
        got.is_empty(),
        "{} reported {got:?} on:\n{sql}",
        rule.meta().code
    );
}

pub fn lint_ok(rule: &dyn Rule, sql: &str) {
    lint_ok_with(rule, sql, &Opts::default());
}
