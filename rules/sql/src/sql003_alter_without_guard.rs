use crate::common::{self, History, Key, RERUN_NOTE};
use crate::confirm;
use crate::shape::{Action, ActionKind, Alter, Kind, Name, Shape};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta};
use djcheck_project::SqlDialect;
use djcheck_sql::statements::{Statement, Unit};

declare_rule! {
    /// ## What it finds
    /// An `ALTER` in a `RunSQL` that fails when the migration runs again: `ADD COLUMN`
    /// without `IF NOT EXISTS`; `DROP COLUMN` or `DROP CONSTRAINT` without `IF EXISTS`;
    /// `ADD CONSTRAINT` (`ADD PRIMARY KEY`, `ADD UNIQUE`...); a `RENAME` of a column,
    /// constraint or index; `RENAME TO` or `SET SCHEMA` without `ALTER ... IF EXISTS`;
    /// `ALTER TYPE ... ADD VALUE` without `IF NOT EXISTS`; MySQL's `RENAME TABLE`.
    ///
    /// Both `sql` and `reverse_sql` are checked. Not reported: statements of a `DO` block
    /// that run under an `IF` (the usual `IF NOT EXISTS (SELECT ... FROM
    /// information_schema.columns ...)`) or an exception handler; an `ADD` of a column or
    /// constraint an earlier statement of the migration dropped (`ALTER TABLE t DROP
    /// CONSTRAINT IF EXISTS k, ADD CONSTRAINT k ...`), and a `DROP` of one it added;
    /// changes to a table the migration itself just created without `IF NOT EXISTS`
    /// (Django's `sqlmigrate` output: the table is new whenever they are reached), Django's
    /// own `CreateModel` included.
    ///
    /// ## Why it matters
    /// On the second run the column, constraint or new name already exists (or the old
    /// one is gone) and the migration stops: "column already exists", "constraint already
    /// exists", "column does not exist". Repair migrations that must be re-runnable on
    /// every environment are where this hurts most.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "ALTER TABLE user_profile_privacysettings ADD COLUMN is_private_account boolean DEFAULT false NOT NULL",
    ///     reverse_sql="ALTER TABLE user_profile_privacysettings DROP COLUMN IF EXISTS is_private_account",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// `ADD COLUMN IF NOT EXISTS`, `DROP COLUMN IF EXISTS`, `DROP CONSTRAINT IF EXISTS`;
    /// for a constraint, `ALTER TABLE t DROP CONSTRAINT IF EXISTS k, ADD CONSTRAINT k ...`;
    /// `ALTER TABLE IF EXISTS old RENAME TO new`; for a column rename (or on MySQL, which
    /// lacks these forms), a `DO` block (or a check of `information_schema`) that runs the
    /// statement only when it is needed:
    /// ```sql
    /// DO $$ BEGIN
    ///   IF NOT EXISTS (SELECT 1 FROM information_schema.columns
    ///                  WHERE table_name = 't' AND column_name = 'c') THEN
    ///     ALTER TABLE t ADD COLUMN c int;
    ///   END IF;
    /// END $$;
    /// ```
    pub struct AlterWithoutGuard { code: "SQL003", name: "alter-without-guard", severity: Warning, opt_in: true }
}

impl Rule for AlterWithoutGuard {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let d = cx.options.sql_dialect;
        common::for_each_statement(cx, |u, st, history| {
            if st.guarded {
                return;
            }
            match &st.shape {
                Shape::Alter(a) => check_alter(cx, d, u, st, a, history, out),
                Shape::RenameTable => {
                    let Some(span) = common::span(cx, u, st, 0, 1) else {
                        return;
                    };
                    out.push(common::reverse_note(
                        Self::META
                            .diagnostic("`RENAME TABLE` is not re-runnable")
                            .at(span, "fails once the table has been renamed")
                            .note(RERUN_NOTE)
                            .help("check `information_schema.tables` first, or let Django's `AlterModelTable` rename the table"),
                        u,
                    ));
                }
                _ => {}
            }
        });
    }
}

fn check_alter(
    cx: &FileContext<'_>,
    d: SqlDialect,
    u: &Unit,
    st: &Statement,
    a: &Alter,
    history: &History,
    out: &mut Vec<Diagnostic>,
) {
    let table = a
        .name
        .as_ref()
        .and_then(Name::object)
        .map(|o| o.value.clone())
        .unwrap_or_default();
    // Earlier actions of the same statement count: `DROP CONSTRAINT IF EXISTS k, ADD
    // CONSTRAINT k ...` is the idiomatic re-runnable form.
    let mut local = history.clone();
    for (index, act) in a.actions.iter().enumerate() {
        let target = act.target.as_ref().map(|t| t.value.clone());
        if let Some(diag) = check_action(cx, d, u, st, a, &table, act, index, &local) {
            out.push(common::reverse_note(diag.note(RERUN_NOTE), u));
        }
        local.record_action(&table, act.kind, target);
    }
}

#[allow(clippy::too_many_arguments)]
fn check_action(
    cx: &FileContext<'_>,
    d: SqlDialect,
    u: &Unit,
    st: &Statement,
    a: &Alter,
    table: &str,
    act: &Action,
    index: usize,
    history: &History,
) -> Option<Diagnostic> {
    let whole_object = matches!(act.kind, ActionKind::RenameObject | ActionKind::SetSchema);
    if act.guarded || (whole_object && a.if_exists) {
        return None;
    }
    // Changes to a table this run just created (unguarded) are reached only while the
    // table is new; renaming or moving it can still collide with a previous run's table.
    if !whole_object && a.object.kind == Kind::Table && history.fresh(a.name.as_ref()) {
        return None;
    }
    if matches!(act.kind, ActionKind::Other | ActionKind::DetachConcurrently) {
        return None;
    }
    let target = act.target.as_ref().map(|t| t.value.clone());
    // An action whose column or constraint an earlier statement of the run dropped
    // (for an ADD) or created (for a DROP) succeeds whenever it is reached.
    let settled = match (act.kind, &target) {
        (ActionKind::AddColumn, Some(c)) => {
            history.dropped(&Key::Column(table.to_owned(), c.clone()))
        }
        (ActionKind::DropColumn, Some(c)) => {
            history.created(&Key::Column(table.to_owned(), c.clone()))
        }
        (ActionKind::AddConstraint, Some(c)) => history.dropped(&Key::Constraint(c.clone())),
        (ActionKind::DropConstraint, Some(c)) => history.created(&Key::Constraint(c.clone())),
        _ => false,
    };
    if settled {
        return None;
    }
    if let Some(ast) = st.ast() {
        if confirm::alter_action(ast, index, a.actions.len(), act.kind) == Some(false) {
            return None;
        }
    }
    let span = common::span(cx, u, st, act.first, act.last)?;
    let object = a.object.phrase;
    let name = a
        .name
        .as_ref()
        .map(|n| common::name_text(u, st, n))
        .unwrap_or_default();
    let target_text = act
        .target
        .as_ref()
        .map(|_| u.head_text(st, act.last, act.last, None))
        .unwrap_or_default();
    let action_text = |edit: Option<(usize, &str)>| u.head_text(st, act.first, act.last, edit);
    let alter_head = format!("ALTER {object} {name}");
    let pg = d == SqlDialect::PostgreSql;
    let diag = match act.kind {
        ActionKind::AddColumn => {
            let diag = AlterWithoutGuard::META
                .diagnostic("`ADD COLUMN` without `IF NOT EXISTS` is not re-runnable")
                .at(span, format!("fails when column `{target_text}` exists"));
            if pg {
                let edit = if st.toks.get(act.first + 1).is_some_and(|t| t.is("COLUMN")) {
                    Some((act.first + 1, "IF NOT EXISTS"))
                } else {
                    Some((act.first, "COLUMN IF NOT EXISTS"))
                };
                diag.help(format!(
                    "make it re-runnable: `{alter_head} {} ...`",
                    action_text(edit)
                ))
            } else {
                diag.help("this database has no `ADD COLUMN IF NOT EXISTS`: check `information_schema.columns` first, or let Django's `AddField` add the column")
            }
        }
        ActionKind::DropColumn => {
            let diag = AlterWithoutGuard::META
                .diagnostic("`DROP COLUMN` without `IF EXISTS` is not re-runnable")
                .at(
                    span,
                    format!("fails when column `{target_text}` does not exist"),
                );
            if pg {
                let edit = if st.toks.get(act.first + 1).is_some_and(|t| t.is("COLUMN")) {
                    Some((act.first + 1, "IF EXISTS"))
                } else {
                    Some((act.first, "COLUMN IF EXISTS"))
                };
                diag.help(format!(
                    "make it re-runnable: `{alter_head} {}`",
                    action_text(edit)
                ))
            } else {
                diag.help("this database has no `DROP COLUMN IF EXISTS`: check `information_schema.columns` first, or let Django's `RemoveField` drop the column")
            }
        }
        ActionKind::AddConstraint => {
            let named = st
                .toks
                .get(act.first + 1)
                .is_some_and(|t| t.is("CONSTRAINT"));
            let label = if named {
                format!("fails when constraint `{target_text}` exists")
            } else if st.toks.get(act.first + 1).is_some_and(|t| t.is("PRIMARY")) {
                "fails when the table has a primary key".to_owned()
            } else {
                "fails, or adds the same constraint again, on every run".to_owned()
            };
            let mut keywords = vec!["ADD".to_owned()];
            for t in st.toks.iter().skip(act.first + 1).take(2) {
                match t.word() {
                    Some(w)
                        if t.is_any(&[
                            "CONSTRAINT",
                            "PRIMARY",
                            "KEY",
                            "UNIQUE",
                            "FOREIGN",
                            "CHECK",
                            "EXCLUDE",
                            "INDEX",
                            "FULLTEXT",
                            "SPATIAL",
                        ]) =>
                    {
                        keywords.push(w.to_uppercase());
                        if t.is_any(&["CONSTRAINT", "UNIQUE", "CHECK", "EXCLUDE"]) {
                            break;
                        }
                    }
                    _ => break,
                }
            }
            let diag = AlterWithoutGuard::META
                .diagnostic(format!("`{}` is not re-runnable", keywords.join(" ")))
                .at(span, label);
            if pg && named {
                diag.help(format!(
                    "drop it first in the same statement: `{alter_head} DROP CONSTRAINT IF EXISTS {target_text}, {} ...`, or guard it in a `DO` block that checks `pg_constraint`",
                    action_text(None)
                ))
            } else if pg {
                diag.help(format!("name the constraint, then drop it first in the same statement: `{alter_head} DROP CONSTRAINT IF EXISTS <name>, ADD CONSTRAINT <name> ...`"))
            } else {
                diag.help("check `information_schema.table_constraints` (or `statistics`, for an index) first, or let Django's `AddConstraint`/`AddIndex` manage it")
            }
        }
        ActionKind::DropConstraint => {
            let diag = AlterWithoutGuard::META
                .diagnostic("`DROP CONSTRAINT` without `IF EXISTS` is not re-runnable")
                .at(
                    span,
                    if target_text.is_empty() {
                        "fails when it does not exist".to_owned()
                    } else {
                        format!("fails when `{target_text}` does not exist")
                    },
                );
            if pg
                && st
                    .toks
                    .get(act.first + 1)
                    .is_some_and(|t| t.is("CONSTRAINT"))
            {
                diag.help(format!(
                    "make it re-runnable: `{alter_head} {}`",
                    action_text(Some((act.first + 1, "IF EXISTS")))
                ))
            } else {
                diag.help("check `information_schema.table_constraints` (or `statistics`, for an index) first, or let Django's `RemoveConstraint`/`RemoveIndex` manage it")
            }
        }
        ActionKind::RenamePart => {
            let old = act
                .target
                .as_ref()
                .map(|t| t.value.clone())
                .unwrap_or_default();
            let check = if st
                .toks
                .get(act.first + 1)
                .is_some_and(|t| t.is("CONSTRAINT"))
            {
                format!("SELECT 1 FROM pg_constraint WHERE conname = '{old}'")
            } else {
                format!("SELECT 1 FROM information_schema.columns WHERE table_name = '{table}' AND column_name = '{old}'")
            };
            let what = match st.toks.get(act.first + 1).and_then(|t| t.word()) {
                Some(w)
                    if st.toks[act.first + 1].is_any(&[
                        "COLUMN",
                        "CONSTRAINT",
                        "INDEX",
                        "KEY",
                        "VALUE",
                        "ATTRIBUTE",
                    ]) =>
                {
                    format!("RENAME {}", w.to_uppercase())
                }
                _ => "RENAME".to_owned(),
            };
            let diag = AlterWithoutGuard::META
                .diagnostic(format!("`{what}` is not re-runnable"))
                .at(span, format!("fails once `{old}` has been renamed"));
            if pg && a.object.kind == Kind::Table {
                diag.help(format!(
                    "run it only while the old name exists: `DO $$ BEGIN IF EXISTS ({check}) THEN {alter_head} {}; END IF; END $$`",
                    action_text(None)
                ))
            } else {
                diag.help("run it only while the old name exists (check `information_schema` first), or let Django's `RenameField` rename the column")
            }
        }
        ActionKind::RenameObject | ActionKind::SetSchema => {
            let verb = if act.kind == ActionKind::SetSchema {
                "moved"
            } else {
                "renamed"
            };
            let diag = AlterWithoutGuard::META
                .diagnostic(format!(
                    "`ALTER {object} ... {}` without `IF EXISTS` is not re-runnable",
                    if act.kind == ActionKind::SetSchema {
                        "SET SCHEMA"
                    } else {
                        "RENAME TO"
                    }
                ))
                .at(span, format!("fails once `{name}` has been {verb}"));
            let supports_if_exists = matches!(
                a.object.kind,
                Kind::Table | Kind::Index | Kind::Sequence | Kind::View | Kind::MaterializedView
            );
            if pg && supports_if_exists {
                diag.help(format!(
                    "make it re-runnable: `ALTER {object} IF EXISTS {name} {}`",
                    action_text(None)
                ))
            } else {
                diag.help("run it only while the old name exists (check `information_schema` or the catalog first)")
            }
        }
        ActionKind::AddValue => AlterWithoutGuard::META
            .diagnostic("`ADD VALUE` without `IF NOT EXISTS` is not re-runnable")
            .at(span, "fails when the value exists")
            .help(format!(
                "make it re-runnable: `{alter_head} {} ...`",
                action_text(Some((act.first + 1, "IF NOT EXISTS")))
            )),
        ActionKind::Other | ActionKind::DetachConcurrently => return None,
    };
    Some(diag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{self, lint_errors, lint_errors_with, lint_ok, Opts};

    const R: AlterWithoutGuard = AlterWithoutGuard;

    #[test]
    fn fires_on_unguarded_actions() {
        assert_eq!(
            lint_errors(
                &R,
                "ALTER TABLE t ADD COLUMN c int, ADD d text;
                 ALTER TABLE t DROP COLUMN e, DROP CONSTRAINT k;
                 ALTER TABLE t ADD CONSTRAINT u UNIQUE (c), ADD PRIMARY KEY (id);
                 ALTER TABLE t RENAME COLUMN a TO b;
                 ALTER TABLE t RENAME TO u;
                 ALTER TABLE test_schema.t SET SCHEMA public;
                 ALTER INDEX i RENAME TO j;
                 ALTER TYPE mood ADD VALUE 'happy'"
            ),
            vec![
                "ADD COLUMN c",
                "ADD d",
                "DROP COLUMN e",
                "DROP CONSTRAINT k",
                "ADD CONSTRAINT u",
                "ADD PRIMARY KEY",
                "RENAME COLUMN a TO b",
                "RENAME TO u",
                "SET SCHEMA public",
                "RENAME TO j",
                "ADD VALUE 'happy'"
            ]
        );
    }

    #[test]
    fn accepts_guarded_actions() {
        lint_ok(
            &R,
            "ALTER TABLE t ADD COLUMN IF NOT EXISTS c int, DROP COLUMN IF EXISTS e;
             ALTER TABLE t DROP CONSTRAINT IF EXISTS k, ADD CONSTRAINT k CHECK (c > 0);
             ALTER TABLE IF EXISTS t RENAME TO u;
             ALTER INDEX IF EXISTS i RENAME TO j;
             ALTER TABLE IF EXISTS test_schema.t SET SCHEMA public;
             ALTER TABLE t ALTER COLUMN c SET DEFAULT 1, ALTER COLUMN c DROP NOT NULL;
             ALTER TYPE mood ADD VALUE IF NOT EXISTS 'happy';
             ALTER TABLE t DROP CONSTRAINT IF EXISTS k2;
             ALTER TABLE t ADD CONSTRAINT k2 UNIQUE (c)",
        );
    }

    #[test]
    fn guarded_do_blocks_are_silent_unguarded_ones_are_not() {
        lint_ok(
            &R,
            "DO $$
             BEGIN
                 IF NOT EXISTS (
                     SELECT 1 FROM information_schema.columns
                     WHERE table_name='user_profile_privacysettings'
                     AND column_name='is_private_account'
                 ) THEN
                     ALTER TABLE user_profile_privacysettings
                     ADD COLUMN is_private_account boolean DEFAULT false NOT NULL;
                 END IF;
             END $$;
             DO $$ BEGIN
                 ALTER TABLE t ADD CONSTRAINT k UNIQUE (a);
             EXCEPTION WHEN duplicate_object THEN NULL;
             END $$;",
        );
        assert_eq!(
            lint_errors(&R, "DO $$ BEGIN ALTER TABLE t ADD COLUMN c int; END $$"),
            vec!["ADD COLUMN c"]
        );
    }

    #[test]
    fn changes_to_a_table_the_run_created() {
        // The Django `sqlmigrate` shape: the ALTERs are reached only right after the
        // CREATE, which SQL001 reports.
        lint_ok(
            &R,
            "CREATE TABLE t (id int, u int);
             ALTER TABLE t ADD CONSTRAINT t_u_fk FOREIGN KEY (u) REFERENCES u (id);
             ALTER TABLE t ADD COLUMN c int",
        );
        assert_eq!(
            lint_errors(
                &R,
                "CREATE TABLE IF NOT EXISTS t (id int); ALTER TABLE t ADD COLUMN c int"
            ),
            vec!["ADD COLUMN c"]
        );
        assert_eq!(
            lint_errors(&R, "CREATE TABLE t (id int); ALTER TABLE t RENAME TO u"),
            vec!["RENAME TO u"]
        );
        // A table Django's CreateModel made earlier in the same migration.
        let src = testing::migration(
            "migrations.CreateModel(name='Nodes', fields=[], options={'db_table': 'nodes'}),\n        \
             migrations.RunSQL('ALTER TABLE nodes ADD CONSTRAINT nodes_fk FOREIGN KEY (d) REFERENCES d (id)', migrations.RunSQL.noop)",
            None,
        );
        assert!(testing::snippets(&R, &src, &Opts::default()).is_empty());
        let unmanaged = src.replace(
            "'db_table': 'nodes'",
            "'db_table': 'nodes', 'managed': False",
        );
        assert_eq!(
            testing::snippets(&R, &unmanaged, &Opts::default()),
            vec!["ADD CONSTRAINT nodes_fk"]
        );
    }

    #[test]
    fn help_lines() {
        let d = testing::diagnostics(
            &R,
            &testing::migration_with_sql("ALTER TABLE t ADD COLUMN c int DEFAULT 0"),
            &Opts::default(),
        );
        assert_eq!(
            d[0].help.as_deref(),
            Some("make it re-runnable: `ALTER TABLE t ADD COLUMN IF NOT EXISTS c ...`")
        );
        let d = testing::diagnostics(
            &R,
            &testing::migration_with_sql("ALTER TABLE t ADD CONSTRAINT k UNIQUE (c)"),
            &Opts::default(),
        );
        assert_eq!(d[0].message, "`ADD CONSTRAINT` is not re-runnable");
        assert_eq!(
            d[0].help.as_deref(),
            Some("drop it first in the same statement: `ALTER TABLE t DROP CONSTRAINT IF EXISTS k, ADD CONSTRAINT k ...`, or guard it in a `DO` block that checks `pg_constraint`")
        );
    }

    #[test]
    fn mysql() {
        let my = Opts {
            dialect: SqlDialect::MySql,
            ..Opts::default()
        };
        assert_eq!(
            lint_errors_with(
                &R,
                "ALTER TABLE `t` ADD COLUMN `c` INT NOT NULL DEFAULT 0, ADD INDEX `i` (`c`); RENAME TABLE a TO b",
                &my
            ),
            vec!["ADD COLUMN `c`", "ADD INDEX `i`", "RENAME TABLE"]
        );
    }
}
