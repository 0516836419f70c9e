use crate::common::{self, object_key, History, RERUN_NOTE};
use crate::confirm;
use crate::shape::{Kind, Shape};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Fix, Rule, RuleMeta};
use djcheck_project::SqlDialect;
use djcheck_sql::statements::{Statement, Unit};

declare_rule! {
    /// ## What it finds
    /// A `CREATE` in a `RunSQL` that fails when the migration runs again: `CREATE TABLE`,
    /// `INDEX`, `SEQUENCE`, `SCHEMA`, `EXTENSION` or `MATERIALIZED VIEW` without `IF NOT
    /// EXISTS`; `CREATE VIEW`, `FUNCTION`, `PROCEDURE` or `TRIGGER` without `OR REPLACE`.
    ///
    /// Both `sql` and `reverse_sql` are checked, and the statements of `DO` blocks except
    /// those that run under an `IF` or an exception handler. Not reported: temporary
    /// objects; an object an earlier statement of the migration dropped (the `CREATE` is
    /// reached only once it is gone); an index or trigger on a table the migration itself
    /// just created without `IF NOT EXISTS` (it is new whenever the statement is reached).
    ///
    /// ## Why it matters
    /// A migration's SQL runs again whenever the migration is applied again: after it
    /// failed halfway (a non-atomic migration, or MySQL, which cannot roll DDL back), after
    /// it was faked, or when a database restored from a backup is repaired by migrating.
    /// The second run stops at the first `CREATE` with "relation already exists", and
    /// every environment then needs a manual fix.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "CREATE TABLE user_profile_showcase (id bigint PRIMARY KEY)",
    ///     reverse_sql="DROP TABLE IF EXISTS user_profile_showcase",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Write the idempotent form: `CREATE TABLE IF NOT EXISTS ...`,
    /// `CREATE INDEX IF NOT EXISTS name ON ...` (an index needs a name for that),
    /// `CREATE OR REPLACE VIEW ...`, `CREATE OR REPLACE FUNCTION ...`, and
    /// `CREATE OR REPLACE TRIGGER` (PostgreSQL 14+; before that, and always for a
    /// `CONSTRAINT TRIGGER`, `DROP TRIGGER IF EXISTS` first). On MySQL, which has no `CREATE INDEX IF NOT EXISTS`, let Django's `AddIndex`
    /// manage the index.
    pub struct CreateWithoutIfNotExists { code: "SQL001", name: "create-without-if-not-exists", severity: Warning, opt_in: true }
}

impl Rule for CreateWithoutIfNotExists {
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

/// How a kind of object is made re-runnable.
enum Guard {
    IfNotExists,
    OrReplace,
}

fn guard(kind: Kind, d: SqlDialect) -> Option<Guard> {
    match kind {
        Kind::Table
        | Kind::Index
        | Kind::Sequence
        | Kind::Schema
        | Kind::Extension
        | Kind::MaterializedView => Some(Guard::IfNotExists),
        Kind::View => Some(match d {
            SqlDialect::Sqlite => Guard::IfNotExists,
            _ => Guard::OrReplace,
        }),
        Kind::Function | Kind::Procedure | Kind::Trigger => Some(match d {
            SqlDialect::PostgreSql => Guard::OrReplace,
            _ => Guard::IfNotExists,
        }),
        _ => None,
    }
}

fn check(
    cx: &FileContext<'_>,
    d: SqlDialect,
    u: &Unit,
    st: &Statement,
    history: &History,
) -> Option<Diagnostic> {
    let Shape::Create(c) = &st.shape else {
        return None;
    };
    if st.guarded || c.temporary || c.if_not_exists || c.or_replace {
        return None;
    }
    let g = guard(c.object.kind, d)?;
    if let Some(n) = &c.name {
        if object_key(c.object.kind, n).is_some_and(|k| history.dropped(&k)) {
            return None;
        }
    }
    // An index or trigger on a table this run just created cannot exist yet.
    if history.fresh(c.on.as_ref()) {
        return None;
    }
    if st.ast().and_then(confirm::create) == Some(false) {
        return None;
    }
    let span = common::span(cx, u, st, 0, c.head_last)?;
    let what = c.object.phrase.to_lowercase();
    let diag = match (&g, &c.name) {
        (Guard::IfNotExists, None) if c.object.kind == Kind::Index => {
            let after = c.concurrently.unwrap_or(c.object_last);
            CreateWithoutIfNotExists::META
                .diagnostic("`CREATE INDEX` without a name and `IF NOT EXISTS` is not re-runnable")
                .at(span, "an unnamed index is created again on every run")
                .help(format!(
                    "name the index and make it re-runnable: `{} <name> ON ...`",
                    u.head_text(st, 0, c.head_last, Some((after, "IF NOT EXISTS")))
                ))
        }
        (Guard::IfNotExists, _) => {
            let label = match &c.name {
                Some(n) => format!("fails when {what} `{}` exists", common::name_text(u, st, n)),
                None => format!("fails when the {what} exists"),
            };
            let mut diag = CreateWithoutIfNotExists::META
                .diagnostic(format!(
                    "`CREATE {}` without `IF NOT EXISTS` is not re-runnable",
                    c.object.phrase
                ))
                .at(span, label);
            diag = if d == SqlDialect::MySql && c.object.kind == Kind::Index {
                diag.help("MySQL has no `CREATE INDEX IF NOT EXISTS`: check `information_schema.statistics` first, or let Django's `AddIndex` manage the index")
            } else {
                let after = c.concurrently.unwrap_or(c.object_last);
                // Safe: the statement behaves the same wherever it succeeded before.
                let fix = common::insert_after(cx, u, st, after, "IF NOT EXISTS")
                    .map(|e| Fix::safe("add `IF NOT EXISTS`", vec![e]));
                diag.help(format!(
                    "make it re-runnable: `{} ...`",
                    u.head_text(st, 0, c.head_last, Some((after, "IF NOT EXISTS")))
                ))
                .with_fix(fix)
            };
            diag
        }
        (Guard::OrReplace, _) => {
            let label = match &c.name {
                Some(n) => format!("fails when {what} `{}` exists", common::name_text(u, st, n)),
                None => format!("fails when the {what} exists"),
            };
            // PostgreSQL refuses `CREATE OR REPLACE CONSTRAINT TRIGGER` ("is not
            // supported"): a constraint trigger is made re-runnable by dropping it first.
            let constraint_trigger = c.object.kind == Kind::Trigger
                && st
                    .toks
                    .iter()
                    .take(c.object_last)
                    .any(|t| t.is("CONSTRAINT"));
            let mut help = if constraint_trigger {
                "make it re-runnable: drop it first with `DROP TRIGGER IF EXISTS <name> ON <table>` (PostgreSQL has no `CREATE OR REPLACE CONSTRAINT TRIGGER`)".to_owned()
            } else {
                format!(
                    "make it re-runnable: `{} ...`",
                    u.head_text(st, 0, c.head_last, Some((0, "OR REPLACE")))
                )
            };
            if c.object.kind == Kind::Trigger && !constraint_trigger {
                help.push_str(
                    " (PostgreSQL 14+; before that, drop it first with `DROP TRIGGER IF EXISTS`)",
                );
            }
            // Safe: `OR REPLACE` only changes what happens where the statement failed.
            let fix = common::insert_after(cx, u, st, 0, "OR REPLACE")
                .filter(|_| !constraint_trigger)
                .map(|e| Fix::safe("add `OR REPLACE`", vec![e]));
            let message = if constraint_trigger {
                "`CREATE CONSTRAINT TRIGGER` without a `DROP TRIGGER IF EXISTS` before it is not re-runnable".to_owned()
            } else {
                format!(
                    "`CREATE {}` without `OR REPLACE` is not re-runnable",
                    c.object.phrase
                )
            };
            CreateWithoutIfNotExists::META
                .diagnostic(message)
                .at(span, label)
                .help(help)
                .with_fix(fix)
        }
    };
    Some(common::reverse_note(diag.note(RERUN_NOTE), u))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{lint_errors, lint_errors_with, lint_ok, lint_ok_with, Opts};

    const R: CreateWithoutIfNotExists = CreateWithoutIfNotExists;

    #[test]
    fn fires_on_unguarded_creates() {
        assert_eq!(
            lint_errors(
                &R,
                "CREATE TABLE user_profile_showcase (id bigint PRIMARY KEY);"
            ),
            vec!["CREATE TABLE user_profile_showcase"]
        );
        assert_eq!(
            lint_errors(&R, "create unique index concurrently idx on t (a)"),
            vec!["create unique index concurrently idx"]
        );
        assert_eq!(
            lint_errors(&R, "CREATE INDEX ON t (a)"),
            vec!["CREATE INDEX"]
        );
        assert_eq!(
            lint_errors(
                &R,
                "CREATE EXTENSION hstore; CREATE SCHEMA s; CREATE SEQUENCE q"
            ),
            vec![
                "CREATE EXTENSION hstore",
                "CREATE SCHEMA s",
                "CREATE SEQUENCE q"
            ]
        );
        assert_eq!(
            lint_errors(
                &R,
                "CREATE VIEW v AS SELECT 1; CREATE MATERIALIZED VIEW m AS SELECT 1"
            ),
            vec!["CREATE VIEW v", "CREATE MATERIALIZED VIEW m"]
        );
        assert_eq!(
            lint_errors(
                &R,
                "CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql;\n\
                 CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE FUNCTION f('x')"
            ),
            vec!["CREATE FUNCTION f", "CREATE TRIGGER t"]
        );
    }

    #[test]
    fn constraint_triggers_get_no_or_replace() {
        // PostgreSQL: "CREATE OR REPLACE CONSTRAINT TRIGGER is not supported".
        let src = crate::testing::migration_with_sql(
            "CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f();\n\
             CREATE CONSTRAINT TRIGGER c AFTER INSERT ON a DEFERRABLE INITIALLY DEFERRED \
             FOR EACH ROW EXECUTE FUNCTION f()",
        );
        let ds = crate::testing::diagnostics(&R, &src, &Opts::default());
        assert_eq!(ds.len(), 2);
        assert!(ds[0].fix.is_some());
        assert!(ds[1].fix.is_none());
        assert!(ds[1]
            .message
            .starts_with("`CREATE CONSTRAINT TRIGGER` without a `DROP TRIGGER IF EXISTS`"));
        let help = ds[1].help.as_deref().unwrap_or("");
        assert!(help.contains("DROP TRIGGER IF EXISTS"), "{help}");
        assert!(
            !help.contains("CREATE OR REPLACE CONSTRAINT TRIGGER ..."),
            "{help}"
        );
    }

    #[test]
    fn accepts_idempotent_forms() {
        lint_ok(
            &R,
            "CREATE TABLE IF NOT EXISTS a (id int);
             CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON a (id);
             CREATE OR REPLACE VIEW v AS SELECT 1;
             CREATE OR REPLACE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql;
             CREATE OR REPLACE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f();
             CREATE TEMP TABLE scratch (x int);
             CREATE EXTENSION IF NOT EXISTS hstore;
             CREATE MATERIALIZED VIEW IF NOT EXISTS m AS SELECT 1;
             CREATE TYPE mood AS ENUM ('a')",
        );
    }

    #[test]
    fn drop_if_exists_first_makes_create_re_runnable() {
        lint_ok(
            &R,
            "DROP TRIGGER IF EXISTS t ON a; CREATE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE PROCEDURE f();
             DROP VIEW IF EXISTS v; CREATE VIEW v AS SELECT 1;
             DROP INDEX IF EXISTS i; CREATE INDEX i ON a (b)",
        );
        // A plain DROP before it works too: the CREATE is reached only once the object is
        // gone (the DROP itself is SQL002's business).
        lint_ok(
            &R,
            "DROP MATERIALIZED VIEW mv; CREATE MATERIALIZED VIEW mv AS SELECT 1",
        );
        // ...but not when the object was created again in between.
        assert_eq!(
            lint_errors(
                &R,
                "DROP VIEW v; CREATE VIEW v AS SELECT 1; CREATE VIEW v AS SELECT 2"
            ),
            vec!["CREATE VIEW v"]
        );
        // Indexes and triggers on a table the run just created (unguarded) are new.
        lint_ok(
            &R,
            "DROP MATERIALIZED VIEW IF EXISTS mv; CREATE MATERIALIZED VIEW mv AS SELECT 1 AS g;
             CREATE INDEX mv_g ON mv (g);
             DROP TABLE IF EXISTS t; CREATE TABLE t (a int);
             CREATE TRIGGER t_trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f()",
        );
        assert_eq!(
            lint_errors(
                &R,
                "CREATE TABLE IF NOT EXISTS t (a int); CREATE INDEX t_a ON t (a)"
            ),
            vec!["CREATE INDEX t_a"]
        );
        // A different object is still reported.
        assert_eq!(
            lint_errors(&R, "DROP VIEW IF EXISTS v; CREATE VIEW w AS SELECT 1"),
            vec!["CREATE VIEW w"]
        );
    }

    #[test]
    fn do_blocks() {
        lint_ok(
            &R,
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'a') THEN CREATE TABLE a (id int); END IF; END $$",
        );
        assert_eq!(
            lint_errors(&R, "DO $$ BEGIN CREATE TABLE a (id int); END $$"),
            vec!["CREATE TABLE a"]
        );
    }

    #[test]
    fn reverse_sql_is_checked() {
        let src = crate::testing::migration(
            "migrations.RunSQL('DROP TABLE IF EXISTS a', reverse_sql='CREATE TABLE a (id int)')",
            None,
        );
        assert_eq!(
            crate::testing::snippets(&R, &src, &Opts::default()),
            vec!["CREATE TABLE a"]
        );
    }

    #[test]
    fn spans_survive_escapes_and_crlf() {
        // A non-raw literal with escapes before the statement, in a CRLF file.
        let src = crate::testing::migration(
            "migrations.RunSQL(\"SELECT '\\t\\u00e9';\\n  CREATE TABLE a (id int)\", migrations.RunSQL.noop)",
            None,
        )
        .replace('\n', "\r\n");
        let d = crate::testing::diagnostics(&R, &src, &Opts::default());
        let r = d[0].primary.unwrap().range;
        assert_eq!(&src[r], "CREATE TABLE a");
        let line = src[..r.start().to_usize()].matches("\r\n").count() + 1;
        assert_eq!(line, 8);
        // Implicit concatenation across lines: the statement starts in the second part.
        let src = crate::testing::migration(
            "migrations.RunSQL(\n            'SELECT 1; '\n            r'CREATE TABLE b (x text)',\n            migrations.RunSQL.noop)",
            None,
        );
        assert_eq!(
            crate::testing::snippets(&R, &src, &Opts::default()),
            vec!["CREATE TABLE b"]
        );
    }

    #[test]
    fn dialects() {
        let my = Opts {
            dialect: SqlDialect::MySql,
            ..Opts::default()
        };
        assert_eq!(
            lint_errors_with(
                &R,
                "CREATE TABLE `t` (id INT AUTO_INCREMENT PRIMARY KEY) ENGINE=InnoDB",
                &my
            ),
            vec!["CREATE TABLE `t`"]
        );
        lint_ok_with(
            &R,
            "CREATE TABLE IF NOT EXISTS `t` (id INT) ENGINE=InnoDB",
            &my,
        );
        let lite = Opts {
            dialect: SqlDialect::Sqlite,
            ..Opts::default()
        };
        lint_ok_with(&R, "CREATE VIEW IF NOT EXISTS v AS SELECT 1", &lite);
        lint_ok_with(
            &R,
            "CREATE TRIGGER IF NOT EXISTS t AFTER INSERT ON a BEGIN SELECT 1; END",
            &lite,
        );
    }

    #[test]
    fn help_shows_the_idempotent_form() {
        let d = crate::testing::diagnostics(
            &R,
            &crate::testing::migration_with_sql("CREATE UNIQUE INDEX CONCURRENTLY \"i\" ON t (a)"),
            &Opts::default(),
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some("make it re-runnable: `CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS \"i\" ...`")
        );
        let d = crate::testing::diagnostics(
            &R,
            &crate::testing::migration_with_sql("create view v as select 1"),
            &Opts::default(),
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some("make it re-runnable: `create OR REPLACE view v ...`")
        );
    }
}
