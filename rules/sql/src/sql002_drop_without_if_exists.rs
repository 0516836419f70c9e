use crate::common::{self, object_key, History, RERUN_NOTE};
use crate::confirm;
use crate::shape::{Kind, Shape};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Fix, Rule, RuleMeta};
use djcheck_project::SqlDialect;
use djcheck_sql::statements::{Statement, Unit};

declare_rule! {
    /// ## What it finds
    /// A `DROP` in a `RunSQL` without `IF EXISTS`: of a table, index, view, function,
    /// trigger, type, schema, extension or any other object.
    ///
    /// Both `sql` and `reverse_sql` are checked, and the statements of `DO` blocks except
    /// those that run under an `IF` or an exception handler. Not reported: a `DROP` of an
    /// object an earlier statement of the migration created (it exists whenever the `DROP`
    /// is reached), and `DROP OWNED BY`, which has no `IF EXISTS` form and is idempotent.
    ///
    /// ## Why it matters
    /// The second run of the migration stops with "does not exist": after a partial
    /// apply, a faked migration, or a rollback that failed halfway and is retried (a
    /// `reverse_sql` full of plain `DROP TABLE` is the usual case).
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "CREATE TABLE IF NOT EXISTS report (id int)",
    ///     reverse_sql="DROP TABLE report",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// `DROP TABLE IF EXISTS report`, `DROP INDEX CONCURRENTLY IF EXISTS ...`,
    /// `DROP FUNCTION IF EXISTS f(int)`. MySQL has no `DROP INDEX IF EXISTS`: let Django's
    /// `RemoveIndex` manage the index, or check `information_schema.statistics` first.
    pub struct DropWithoutIfExists { code: "SQL002", name: "drop-without-if-exists", severity: Warning, opt_in: true }
}

impl Rule for DropWithoutIfExists {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let d = cx.options.sql_dialect;
        common::for_each_statement(cx, |u, st, history| {
            if let Some(diag) = check(cx, d, u, st, history) {
                out.push(diag);
            }
        });
    }
}

fn check(
    cx: &FileContext<'_>,
    d: SqlDialect,
    u: &Unit,
    st: &Statement,
    history: &History,
) -> Option<Diagnostic> {
    let Shape::Drop(drop) = &st.shape else {
        return None;
    };
    if st.guarded || drop.if_exists || drop.temporary || drop.object.kind == Kind::Owned {
        return None;
    }
    let first = drop.names.first()?;
    let created_here = drop.names.iter().all(|n| {
        object_key(drop.object.kind, n).is_some_and(|k| history.created(&k))
            || history
                .temporary
                .contains(n.object().map_or("", |o| o.value.as_str()))
    });
    if created_here {
        return None;
    }
    if st.ast().and_then(confirm::drop) == Some(false) {
        return None;
    }
    let span = common::span(cx, u, st, 0, drop.head_last)?;
    let what = drop.object.phrase.to_lowercase();
    let names: Vec<String> = drop
        .names
        .iter()
        .map(|n| format!("`{}`", common::name_text(u, st, n)))
        .collect();
    let label = if names.len() == 1 {
        format!("fails when {what} {} does not exist", names.join(""))
    } else {
        format!("fails when any of {} does not exist", names.join(", "))
    };
    let mut diag = DropWithoutIfExists::META
        .diagnostic(format!(
            "`DROP {}` without `IF EXISTS` is not re-runnable",
            drop.object.phrase
        ))
        .at(span, label)
        .note(RERUN_NOTE);
    diag = if d == SqlDialect::MySql && drop.object.kind == Kind::Index {
        diag.help("MySQL has no `DROP INDEX IF EXISTS`: check `information_schema.statistics` first, or let Django's `RemoveIndex` manage the index")
    } else {
        // Safe: the statement behaves the same wherever it succeeded before.
        let fix = common::insert_after(cx, u, st, drop.guard_after, "IF EXISTS")
            .map(|e| Fix::safe("add `IF EXISTS`", vec![e]));
        diag.help(format!(
            "make it re-runnable: `{} ...`",
            u.head_text(st, 0, first.last, Some((drop.guard_after, "IF EXISTS")))
        ))
        .with_fix(fix)
    };
    Some(common::reverse_note(diag, u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, lint_errors, lint_errors_with, lint_ok, Opts};

    const R: DropWithoutIfExists = DropWithoutIfExists;

    #[test]
    fn fires_on_unguarded_drops() {
        assert_eq!(
            lint_errors(
                &R,
                "DROP TABLE a; DROP INDEX CONCURRENTLY i; DROP FUNCTION f(int); DROP TRIGGER t ON a;
                 DROP TYPE mood; DROP EXTENSION hstore; DROP MATERIALIZED VIEW m; DROP SCHEMA s CASCADE"
            ),
            vec![
                "DROP TABLE a",
                "DROP INDEX CONCURRENTLY i",
                "DROP FUNCTION f",
                "DROP TRIGGER t",
                "DROP TYPE mood",
                "DROP EXTENSION hstore",
                "DROP MATERIALIZED VIEW m",
                "DROP SCHEMA s"
            ]
        );
    }

    #[test]
    fn accepts_if_exists_and_drops_of_what_the_run_created() {
        lint_ok(
            &R,
            "DROP TABLE IF EXISTS a, b CASCADE; DROP INDEX CONCURRENTLY IF EXISTS i;
             DROP FUNCTION IF EXISTS f(int); DROP OWNED BY bob;
             CREATE TABLE IF NOT EXISTS scratch (x int); DROP TABLE scratch;
             CREATE TEMP TABLE t2 (x int); DROP TABLE t2",
        );
        lint_ok(
            &R,
            "DO $$ BEGIN IF EXISTS (SELECT 1 FROM pg_type WHERE typname = 'mood') THEN DROP TYPE mood; END IF; END $$",
        );
    }

    #[test]
    fn drop_before_create_is_still_reported() {
        // The DROP fails on a database where the view does not exist (the CREATE after
        // it is fine: SQL001 does not report it).
        assert_eq!(
            lint_errors(
                &R,
                "DROP MATERIALIZED VIEW mv; CREATE MATERIALIZED VIEW mv AS SELECT 1"
            ),
            vec!["DROP MATERIALIZED VIEW mv"]
        );
        assert_eq!(
            lint_errors(
                &R,
                "CREATE TABLE IF NOT EXISTS t (x int); DROP TABLE t; DROP TABLE t"
            ),
            vec!["DROP TABLE t"]
        );
    }

    #[test]
    fn help_and_several_names() {
        let src = testing::migration_with_sql("DROP INDEX CONCURRENTLY public.i, j");
        let d = testing::diagnostics(&R, &src, &Opts::default());
        assert_eq!(
            d[0].help.as_deref(),
            Some("make it re-runnable: `DROP INDEX CONCURRENTLY IF EXISTS public.i ...`")
        );
        assert_eq!(
            d[0].primary_label,
            "fails when any of `public.i`, `j` does not exist"
        );
    }

    #[test]
    fn reverse_sql_is_checked_and_said_so() {
        let src = testing::migration(
            "migrations.RunSQL('CREATE TABLE IF NOT EXISTS a (id int)', 'DROP TABLE a')",
            None,
        );
        let d = testing::diagnostics(&R, &src, &Opts::default());
        assert_eq!(d.len(), 1);
        assert!(d[0].notes.iter().any(|n| n.contains("reverse_sql")));
    }

    #[test]
    fn mysql_index() {
        let my = Opts {
            dialect: SqlDialect::MySql,
            ..Opts::default()
        };
        assert_eq!(
            lint_errors_with(&R, "DROP INDEX idx ON t", &my),
            vec!["DROP INDEX idx"]
        );
    }
}
