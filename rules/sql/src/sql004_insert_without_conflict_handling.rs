use crate::common::{self, History, RERUN_NOTE};
use crate::confirm;
use crate::shape::{Name, Shape};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta};
use djcheck_project::SqlDialect;
use djcheck_sql::statements::{Statement, Unit};

declare_rule! {
    /// ## What it finds
    /// An `INSERT` in a `RunSQL` with no conflict handling: no `ON CONFLICT` (PostgreSQL,
    /// SQLite), `ON DUPLICATE KEY UPDATE` or `INSERT IGNORE` (MySQL), `INSERT OR
    /// IGNORE`/`OR REPLACE` (SQLite), and no `WHERE NOT EXISTS (...)`, `NOT IN (SELECT
    /// ...)` or `EXCEPT` filter in an `INSERT ... SELECT`.
    ///
    /// Both `sql` and `reverse_sql` are checked. Not reported: an `INSERT ... SELECT` whose
    /// source reads the target table (usually an anti-join); an `INSERT` into a temporary
    /// table, or into a table the migration itself just created without `IF NOT EXISTS` (it
    /// is empty whenever the `INSERT` is reached): by SQL, or by its own operations, a
    /// model's table or the table of a `ManyToManyField` without `through=`
    /// (`<model table>_<field>`, or its `db_table=`); one under an `IF` in a `DO` block.
    ///
    /// ## Why it matters
    /// Run a second time, the `INSERT` either fails on a unique key (and the migration
    /// stops) or silently duplicates the rows: seeded groups, permissions or settings
    /// appear twice, and code that expects one row gets `MultipleObjectsReturned`.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "INSERT INTO shop_currency (code, name) VALUES ('EUR', 'Euro')",
    ///     reverse_sql="DELETE FROM shop_currency WHERE code = 'EUR'",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// `INSERT ... ON CONFLICT DO NOTHING` (or `ON CONFLICT (code) DO UPDATE SET ...`) on
    /// PostgreSQL and SQLite, `INSERT IGNORE` or `ON DUPLICATE KEY UPDATE` on MySQL, or
    /// `INSERT INTO t (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM t WHERE ...)`
    /// anywhere. A data migration in `RunPython` with `get_or_create` is another way.
    pub struct InsertWithoutConflictHandling { code: "SQL004", name: "insert-without-conflict-handling", severity: Warning, opt_in: true }
}

impl Rule for InsertWithoutConflictHandling {
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
    let Shape::Insert(ins) = &st.shape else {
        return None;
    };
    if st.guarded || ins.guarded {
        return None;
    }
    let target = ins.target.as_ref()?;
    if target
        .object()
        .is_some_and(|o| history.temporary.contains(&o.value))
    {
        return None;
    }
    // A table this run just created (unguarded) is empty whenever the INSERT is reached.
    if history.fresh(Some(target)) {
        return None;
    }
    if st.ast().and_then(confirm::insert) == Some(false) {
        return None;
    }
    let span = common::span(cx, u, st, ins.first, ins.head_last)?;
    let table = name(u, st, target);
    let help = match d {
        SqlDialect::PostgreSql => format!(
            "make it re-runnable: `INSERT INTO {table} ... ON CONFLICT DO NOTHING` (or `ON CONFLICT (...) DO UPDATE SET ...`), or `INSERT INTO {table} (...) SELECT ... WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE ...)`"
        ),
        SqlDialect::MySql => format!(
            "make it re-runnable: `INSERT IGNORE INTO {table} ...` or `INSERT INTO {table} ... ON DUPLICATE KEY UPDATE ...`"
        ),
        SqlDialect::Sqlite => format!(
            "make it re-runnable: `INSERT OR IGNORE INTO {table} ...` or `INSERT INTO {table} ... ON CONFLICT DO NOTHING`"
        ),
    };
    let diag = InsertWithoutConflictHandling::META
        .diagnostic("`INSERT` without conflict handling is not re-runnable")
        .at(
            span,
            format!("inserts the rows into `{table}` again, or fails on a unique key, when re-run"),
        )
        .note(RERUN_NOTE)
        .help(help);
    Some(common::reverse_note(diag, u))
}

fn name(u: &Unit, st: &Statement, n: &Name) -> String {
    common::name_text(u, st, n)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{
        lint_errors, lint_errors_with, lint_ok, lint_ok_with, migration, snippets, Opts,
    };

    const R: InsertWithoutConflictHandling = InsertWithoutConflictHandling;

    #[test]
    fn fires_on_plain_inserts() {
        assert_eq!(
            lint_errors(
                &R,
                "INSERT INTO shop_currency (code) VALUES ('EUR');
                 insert into auth_group (name) select 'editors';
                 INSERT INTO t (a) VALUES (%s)"
            ),
            vec![
                "INSERT INTO shop_currency",
                "insert into auth_group",
                "INSERT INTO t"
            ]
        );
    }

    #[test]
    fn accepts_conflict_handling_and_guards() {
        lint_ok(
            &R,
            "INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING;
             INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET a = EXCLUDED.a;
             INSERT INTO t (a) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t WHERE a = 1);
             INSERT INTO t (a) SELECT x FROM s WHERE x NOT IN (SELECT a FROM t);
             INSERT INTO t (a) SELECT x FROM s EXCEPT SELECT a FROM t;
             CREATE TEMP TABLE scratch (x int);
             INSERT INTO scratch VALUES (1);
             CREATE TABLE fresh (x int PRIMARY KEY);
             INSERT INTO fresh VALUES (1);
             DO $$ BEGIN IF NOT EXISTS (SELECT 1 FROM t) THEN INSERT INTO t VALUES (1); END IF; END $$",
        );
    }

    #[test]
    fn many_to_many_tables_created_by_the_migration_are_new() {
        let ops = |ops: &str| snippets(&R, &migration(ops, None), &Opts::default());
        // CreateModel and AddField with a ManyToManyField create `<model table>_<field>`.
        assert!(ops("migrations.CreateModel('Color', [('id', models.AutoField(primary_key=True)), ('tags', models.ManyToManyField(to='app.tag'))], options={'db_table': 'colors'}), migrations.AddField('color', 'shades', models.ManyToManyField(to='app.shade')), migrations.AddField(model_name='tag', name='links', field=models.ManyToManyField(to='app.link', db_table='tag_links')), migrations.RunSQL(\"INSERT INTO colors_tags (color_id, tag_id) VALUES (1, 1); INSERT INTO colors_shades VALUES (1, 1, 1); INSERT INTO tag_links VALUES (1, 1, 1)\", migrations.RunSQL.noop)").is_empty());
        // Not with `through=` (the through model's own table is created by its CreateModel),
        // nor for a table of another migration.
        assert_eq!(
            ops("migrations.CreateModel('Color', [('id', models.AutoField(primary_key=True)), ('tags', models.ManyToManyField(to='app.tag', through='app.ColorTag'))]), migrations.RunSQL(\"INSERT INTO app_color_tags VALUES (1); INSERT INTO app_color_other VALUES (1)\", migrations.RunSQL.noop)"),
            vec!["INSERT INTO app_color_tags", "INSERT INTO app_color_other"]
        );
    }

    #[test]
    fn other_dialects() {
        let my = Opts {
            dialect: SqlDialect::MySql,
            ..Opts::default()
        };
        lint_ok_with(
            &R,
            "INSERT IGNORE INTO t (a) VALUES (1); INSERT INTO t (a) VALUES (1) ON DUPLICATE KEY UPDATE a = a",
            &my,
        );
        assert_eq!(
            lint_errors_with(&R, "INSERT INTO `t` (`a`) VALUES (1)", &my),
            vec!["INSERT INTO `t`"]
        );
        let lite = Opts {
            dialect: SqlDialect::Sqlite,
            ..Opts::default()
        };
        lint_ok_with(&R, "INSERT OR IGNORE INTO t (a) VALUES (1)", &lite);
    }
}
