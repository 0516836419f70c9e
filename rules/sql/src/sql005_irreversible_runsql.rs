use crate::lex;
use crate::source::{self, Arg};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};
use sqlparser::tokenizer::Token;

declare_rule! {
    /// ## What it finds
    /// A `RunSQL` with no `reverse_sql` (or `reverse_sql=None`), or with a `reverse_sql`
    /// that is empty or only comments (`"-- no reverse needed"`).
    ///
    /// `reverse_sql=migrations.RunSQL.noop` says "nothing to undo" on purpose and is
    /// accepted, and so is an empty `reverse_sql` for SQL that needs no undoing (`SET`,
    /// `ANALYZE`, `REINDEX`, `REFRESH MATERIALIZED VIEW`...). A `reverse_sql` built at run
    /// time is not judged.
    ///
    /// ## Why it matters
    /// Without `reverse_sql`, `migrate app <earlier>` stops with `IrreversibleError`, so a
    /// bad deploy cannot be rolled back past this migration. An empty or comment-only
    /// `reverse_sql` is worse: the rollback "succeeds", Django records the migration as
    /// unapplied, and the database keeps everything the SQL created. The next `migrate`
    /// then runs the SQL again on a database where it already ran.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "CREATE INDEX IF NOT EXISTS post_title_idx ON blog_post (title)",
    ///     reverse_sql="-- no reverse needed",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Give the SQL that undoes the change (`reverse_sql="DROP INDEX IF EXISTS
    /// post_title_idx"`). When there is truly nothing to undo, say so explicitly with
    /// `reverse_sql=migrations.RunSQL.noop`.
    pub struct IrreversibleRunsql { code: "SQL005", name: "irreversible-runsql", severity: Warning, opt_in: true }
}

impl Rule for IrreversibleRunsql {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        for op in source::run_sql_operations(cx) {
            let call = Span::new(cx.file, op.callee);
            let d = match &op.reverse {
                Arg::Absent => Self::META
                    .diagnostic("`RunSQL` without `reverse_sql` cannot be unapplied")
                    .at(call, "no `reverse_sql`"),
                Arg::NoneLit(r) => Self::META
                    .diagnostic("`RunSQL` without `reverse_sql` cannot be unapplied")
                    .at(call, "")
                    .label(Span::new(cx.file, *r), "`reverse_sql=None`"),
                Arg::Sql {
                    units,
                    complete: true,
                    range,
                } => {
                    if needs_no_undo(&op.sql, cx.options.sql_dialect) {
                        continue;
                    }
                    let what = if units.iter().all(|u| u.text.text.trim().is_empty()) {
                        "empty"
                    } else if units
                        .iter()
                        .all(|u| only_comments(&u.text.text, cx.options.sql_dialect))
                    {
                        "only comments"
                    } else {
                        continue;
                    };
                    Self::META
                        .diagnostic("`reverse_sql` of `RunSQL` does nothing")
                        .at(call, "")
                        .label(Span::new(cx.file, *range), format!("`reverse_sql` is {what}"))
                        .note("unapplying the migration leaves the database as it is while Django records the migration as unapplied; the next `migrate` runs its SQL again")
                        .help("write the SQL that undoes it, or say that nothing needs undoing with `reverse_sql=migrations.RunSQL.noop`")
                }
                Arg::Noop | Arg::Dynamic | Arg::Sql { .. } => continue,
            };
            let d = if matches!(op.reverse, Arg::Absent | Arg::NoneLit(_)) {
                d.note("Django raises `IrreversibleError` when this migration is unapplied")
                    .help("pass the SQL that undoes it as `reverse_sql=`, or `reverse_sql=migrations.RunSQL.noop` when there is nothing to undo")
            } else {
                d
            };
            out.push(d);
        }
    }
}

/// Statements whose effect ends with the session or changes no schema or data: an
/// empty reverse for them is right, not a silent no-op.
const NO_UNDO: &[&str] = &[
    "SET",
    "RESET",
    "SHOW",
    "ANALYZE",
    "VACUUM",
    "REINDEX",
    "LOCK",
    "CHECKPOINT",
    "DISCARD",
    "EXPLAIN",
    "CLUSTER",
    "REFRESH",
    "NOTIFY",
    "LISTEN",
];

/// True when every forward statement is one of [`NO_UNDO`].
fn needs_no_undo(sql: &Arg, d: djcheck_project::SqlDialect) -> bool {
    let Arg::Sql {
        units,
        complete: true,
        ..
    } = sql
    else {
        return false;
    };
    units.iter().all(|u| {
        let text = lex::rewrite_placeholders(&u.text.text, d);
        let Ok(toks) = lex::tokenize(&text, 0, lex::dialect(d)) else {
            return false;
        };
        lex::split(&toks)
            .iter()
            .all(|p| toks.get(p.first).is_some_and(|t| t.is_any(NO_UNDO)))
    })
}

/// True when the SQL is nothing but whitespace, comments and semicolons.
fn only_comments(sql: &str, d: djcheck_project::SqlDialect) -> bool {
    match lex::tokenize(sql, 0, lex::dialect(d)) {
        Ok(toks) => toks
            .iter()
            .all(|t| t.is_trivia() || matches!(t.token, Token::SemiColon)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{migration, snippets, Opts};

    fn labels(op: &str) -> Vec<String> {
        let src = migration(op, None);
        let d = crate::testing::diagnostics(&IrreversibleRunsql, &src, &Opts::default());
        d.iter()
            .map(|d| {
                d.labels
                    .first()
                    .map_or(d.primary_label.clone(), |l| l.message.clone())
            })
            .collect()
    }

    #[test]
    fn fires_without_a_real_reverse() {
        let src = migration("migrations.RunSQL('DROP TABLE IF EXISTS a')", None);
        assert_eq!(
            snippets(&IrreversibleRunsql, &src, &Opts::default()),
            vec!["migrations.RunSQL"]
        );
        // Session-only SQL still needs a reverse to be unapplied at all.
        assert_eq!(
            labels("migrations.RunSQL('SET CONSTRAINTS ALL IMMEDIATE')"),
            vec!["no `reverse_sql`"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', None)"),
            vec!["`reverse_sql=None`"]
        );
        assert_eq!(
            labels(
                "migrations.RunSQL('SELECT 1', reverse_sql='-- no reverse needed (idempotent)')"
            ),
            vec!["`reverse_sql` is only comments"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', reverse_sql='')"),
            vec!["`reverse_sql` is empty"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', reverse_sql=[])"),
            vec!["`reverse_sql` is empty"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', reverse_sql=['/* nothing */', '  '])"),
            vec!["`reverse_sql` is only comments"]
        );
    }

    #[test]
    fn accepts_noop_real_and_run_time_reverses() {
        for op in [
            "migrations.RunSQL('SELECT 1', migrations.RunSQL.noop)",
            "migrations.RunSQL('SELECT 1', reverse_sql=RunSQL.noop)",
            "migrations.RunSQL('SELECT 1', 'SELECT 2 -- undo')",
            "migrations.RunSQL('SELECT 1', reverse_sql=build_reverse())",
            "migrations.RunSQL('SELECT 1', reverse_sql=['-- x', make()])",
            "migrations.RunSQL('SET CONSTRAINTS ALL IMMEDIATE;', reverse_sql='')",
            "migrations.RunSQL(['ANALYZE t', 'REFRESH MATERIALIZED VIEW m'], reverse_sql='-- nothing')",
        ] {
            let src = migration(op, None);
            let got = snippets(&IrreversibleRunsql, &src, &Opts::default());
            assert!(got.is_empty(), "{op}: {got:?}");
        }
    }
}
