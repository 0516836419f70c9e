//! Checking a finding of the keyword reading against sqlparser's syntax tree.
//!
//! Each function answers for one kind of finding: `Some(true)` when the tree agrees the
//! statement is unguarded, `Some(false)` when the tree says otherwise (the finding is then
//! dropped: the parser has read more of the statement than the keyword reading), `None`
//! when the tree has no answer (the keyword reading stands).

use crate::shape::ActionKind;
use sqlparser::ast::{
    AlterTableOperation as Op, AlterTypeOperation, SetExpr, SqliteOnConflict, Statement as S,
};

/// An unguarded `CREATE`.
pub fn create(ast: &S) -> Option<bool> {
    Some(match ast {
        S::CreateTable(c) => !(c.if_not_exists || c.or_replace || c.temporary),
        S::CreateIndex(c) => !c.if_not_exists,
        S::CreateView(c) => !(c.or_replace || c.or_alter || c.if_not_exists || c.temporary),
        S::CreateFunction(c) => !(c.or_replace || c.or_alter || c.if_not_exists || c.temporary),
        S::CreateProcedure { or_alter, .. } => !or_alter,
        S::CreateTrigger(c) => !(c.or_replace || c.or_alter || c.temporary),
        S::CreateSequence {
            if_not_exists,
            temporary,
            ..
        } => !(*if_not_exists || *temporary),
        S::CreateSchema {
            if_not_exists,
            or_replace,
            ..
        } => !(*if_not_exists || *or_replace),
        S::CreateExtension(c) => !c.if_not_exists,
        _ => return None,
    })
}

/// An unguarded `DROP`.
pub fn drop(ast: &S) -> Option<bool> {
    Some(match ast {
        S::Drop {
            if_exists,
            temporary,
            ..
        } => !(*if_exists || *temporary),
        S::DropFunction(d) => !d.if_exists,
        S::DropProcedure { if_exists, .. } => !if_exists,
        S::DropTrigger(d) => !d.if_exists,
        S::DropExtension(d) => !d.if_exists,
        S::DropDomain(d) => !d.if_exists,
        S::DropPolicy(d) => !d.if_exists,
        _ => return None,
    })
}

/// Action `index` (of `count` read from the tokens) of an `ALTER`, of the given kind,
/// unguarded.
pub fn alter_action(ast: &S, index: usize, count: usize, kind: ActionKind) -> Option<bool> {
    match ast {
        S::AlterTable(a) => {
            if a.operations.len() != count {
                return None;
            }
            let op = a.operations.get(index)?;
            Some(match (kind, op) {
                (ActionKind::AddColumn, Op::AddColumn { if_not_exists, .. }) => !if_not_exists,
                (ActionKind::DropColumn, Op::DropColumn { if_exists, .. }) => !if_exists,
                (ActionKind::AddConstraint, Op::AddConstraint { .. }) => true,
                (ActionKind::DropConstraint, Op::DropConstraint { if_exists, .. }) => !if_exists,
                (
                    ActionKind::DropConstraint,
                    Op::DropPrimaryKey { .. } | Op::DropForeignKey { .. } | Op::DropIndex { .. },
                ) => true,
                (ActionKind::RenamePart, Op::RenameColumn { .. } | Op::RenameConstraint { .. }) => {
                    true
                }
                (ActionKind::RenameObject, Op::RenameTable { .. }) => !a.if_exists,
                _ => false,
            })
        }
        S::AlterType(t) => Some(match (&t.operation, kind) {
            (AlterTypeOperation::AddValue(v), ActionKind::AddValue) => !v.if_not_exists,
            (AlterTypeOperation::Rename(_), ActionKind::RenameObject) => true,
            (AlterTypeOperation::RenameValue(_), ActionKind::RenamePart) => true,
            _ => false,
        }),
        _ => None,
    }
}

/// An `INSERT` without conflict handling. The tree answers for `VALUES` sources and for
/// the conflict clauses; a `SELECT` source is left to the keyword reading, which knows
/// the `NOT EXISTS` idioms.
pub fn insert(ast: &S) -> Option<bool> {
    let S::Insert(i) = ast else { return None };
    if i.on.is_some()
        || i.ignore
        || i.replace_into
        || matches!(
            i.or,
            Some(SqliteOnConflict::Ignore | SqliteOnConflict::Replace)
        )
    {
        return Some(false);
    }
    match i.source.as_deref().map(|q| q.body.as_ref()) {
        Some(SetExpr::Values(_)) => Some(true),
        _ => None,
    }
}

/// `CREATE INDEX CONCURRENTLY`.
pub fn concurrently(ast: &S) -> Option<bool> {
    match ast {
        S::CreateIndex(c) => Some(c.concurrently),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shape::Shape;
    use djcheck_project::SqlDialect;
    use djcheck_python::literal::Mapped;
    use djcheck_python::TextRange;
    use djcheck_sql::statements::{analyse_text, Statement};

    /// Statements of the unit tests and fixtures, guarded and not.
    const CORPUS: &[&str] = &[
        "CREATE TABLE a (id int)",
        "CREATE TABLE IF NOT EXISTS a (id int)",
        "CREATE TEMP TABLE a (id int)",
        "CREATE UNLOGGED TABLE a (id int)",
        "CREATE TABLE a AS SELECT 1",
        "CREATE INDEX i ON a (id)",
        "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON a USING gin (b gin_trgm_ops) WHERE b IS NOT NULL",
        "CREATE INDEX ON a (id)",
        "CREATE VIEW v AS SELECT 1",
        "CREATE OR REPLACE VIEW v AS SELECT 1",
        "CREATE MATERIALIZED VIEW m AS SELECT 1",
        "CREATE MATERIALIZED VIEW IF NOT EXISTS m AS SELECT 1",
        "CREATE FUNCTION f() RETURNS int AS $$ SELECT 1 $$ LANGUAGE sql",
        "CREATE OR REPLACE FUNCTION f() RETURNS trigger AS $$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER t BEFORE UPDATE ON a FOR EACH ROW EXECUTE PROCEDURE f()",
        "CREATE OR REPLACE TRIGGER t AFTER INSERT ON a FOR EACH ROW EXECUTE FUNCTION f()",
        "CREATE SEQUENCE s",
        "CREATE SEQUENCE IF NOT EXISTS s START 10",
        "CREATE SCHEMA s",
        "CREATE SCHEMA IF NOT EXISTS s",
        "CREATE EXTENSION hstore",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "DROP TABLE a",
        "DROP TABLE IF EXISTS a, b CASCADE",
        "DROP VIEW v",
        "DROP MATERIALIZED VIEW IF EXISTS m",
        "DROP FUNCTION f(int)",
        "DROP FUNCTION IF EXISTS f(int)",
        "DROP TRIGGER t ON a",
        "DROP TRIGGER IF EXISTS t ON a",
        "DROP EXTENSION hstore",
        "DROP EXTENSION IF EXISTS hstore",
        "DROP SEQUENCE s",
        "DROP SCHEMA IF EXISTS s CASCADE",
        "DROP TYPE mood",
        "DROP INDEX i",
        "ALTER TABLE a ADD COLUMN c int",
        "ALTER TABLE a ADD COLUMN IF NOT EXISTS c int DEFAULT 0",
        "ALTER TABLE a ADD c int",
        "ALTER TABLE a DROP COLUMN c",
        "ALTER TABLE a DROP COLUMN IF EXISTS c",
        "ALTER TABLE a ADD CONSTRAINT k UNIQUE (c)",
        "ALTER TABLE a DROP CONSTRAINT IF EXISTS k, ADD CONSTRAINT k CHECK (c > 0)",
        "ALTER TABLE a DROP CONSTRAINT k",
        "ALTER TABLE a ADD PRIMARY KEY (id)",
        "ALTER TABLE a RENAME COLUMN b TO c",
        "ALTER TABLE a RENAME TO b",
        "ALTER TABLE IF EXISTS a RENAME TO b",
        "ALTER TABLE a ALTER COLUMN c SET DEFAULT 1",
        "ALTER TABLE a RENAME CONSTRAINT k TO l",
        "ALTER TYPE mood ADD VALUE 'x'",
        "ALTER TYPE mood ADD VALUE IF NOT EXISTS 'x'",
        "ALTER TYPE mood RENAME VALUE 'x' TO 'y'",
        "INSERT INTO a (id) VALUES (1)",
        "INSERT INTO a (id) VALUES ($1) ON CONFLICT DO NOTHING",
        "INSERT INTO a (id) VALUES (1) ON CONFLICT (id) DO UPDATE SET id = EXCLUDED.id",
        "INSERT INTO a (id) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM a WHERE id = 1)",
        "INSERT INTO a (id) SELECT id FROM b",
        "INSERT INTO a SELECT id FROM b WHERE id NOT IN (SELECT id FROM a)",
    ];

    fn statement(sql: &str) -> Statement {
        let mut u = analyse_text(
            Mapped::coarse(sql.to_owned(), TextRange::default()),
            false,
            SqlDialect::PostgreSql,
        );
        assert_eq!(u.statements.len(), 1, "{sql}");
        u.statements.remove(0)
    }

    /// The keyword reading and the syntax tree agree on every statement of the corpus
    /// that sqlparser reads, so the tree's veto never hides a finding the reading makes
    /// for good reason, and the reading is right where no tree exists.
    #[test]
    fn keyword_reading_agrees_with_the_syntax_tree() {
        let mut compared = 0;
        for sql in CORPUS {
            let st = statement(sql);
            let ast = st.ast().unwrap_or_else(|| panic!("not parsed: {sql}"));
            let pairs: Vec<(bool, Option<bool>)> = match &st.shape {
                Shape::Create(c) => vec![(
                    !(c.if_not_exists || c.or_replace || c.temporary),
                    create(ast),
                )],
                Shape::Drop(d) => vec![(!(d.if_exists || d.temporary), drop(ast))],
                Shape::Alter(a) => a
                    .actions
                    .iter()
                    .enumerate()
                    .filter(|(_, x)| x.kind != ActionKind::Other)
                    .map(|(i, x)| {
                        let whole =
                            matches!(x.kind, ActionKind::RenameObject | ActionKind::SetSchema);
                        (
                            !(x.guarded || (whole && a.if_exists)),
                            alter_action(ast, i, a.actions.len(), x.kind),
                        )
                    })
                    .collect(),
                Shape::Insert(i) => vec![(!i.guarded, insert(ast))],
                other => panic!("{sql}: {other:?}"),
            };
            for (tokens, tree) in pairs {
                if let Some(tree) = tree {
                    assert_eq!(tokens, tree, "{sql}");
                    compared += 1;
                }
            }
        }
        assert!(compared >= 50, "only {compared} comparisons");
    }
}
