use crate::common;
use crate::model::Parse;
use crate::shape::Shape;
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};

declare_rule! {
    /// ## What it finds
    /// A statement in a `RunSQL` that sqlparser cannot read for the configured
    /// `sql-dialect` (PostgreSQL by default), and SQL its tokenizer cannot read at all
    /// (an unterminated quote).
    ///
    /// Only statements whose kind djcheck does not know either are reported: where the
    /// keyword reading recognises the statement (`CREATE TABLE`, `CREATE TRIGGER`,
    /// `ALTER TABLE`, `INSERT`, `REINDEX`, a query, an `UPDATE`, a session command...), the
    /// SQL rules check it that way and PostgreSQL sqlparser does not know (such as
    /// `trim(BOTH FROM x)`) is no finding. `DO` blocks and the bodies of functions and
    /// procedures, written in other languages, are not reported: djcheck reads their
    /// guards itself.
    ///
    /// ## Why it matters
    /// It is information, not an error: the statement may well be valid for the
    /// database (sqlparser does not know every statement PostgreSQL accepts, such as
    /// `ALTER DEFAULT PRIVILEGES`), but no SQL rule could read what it does; this rule
    /// says where that happened. A string the tokenizer rejects is
    /// usually broken SQL and is not checked at all.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT ON TABLES TO reporting",
    ///     migrations.RunSQL.noop,
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Nothing, when the statement is valid: the finding is informational (select the
    /// rule away with `ignore = ["SQL007"]`). When it is a typo, fix the SQL. Check that
    /// `sql-dialect` names the database the project uses.
    pub struct UnparsableSql { code: "SQL007", name: "unparsable-sql", severity: Info, opt_in: true }
}

impl Rule for UnparsableSql {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let ops = common::for_each_statement(cx, |u, st, _| {
            let Parse::Failed { message, at } = &st.parse else {
                return;
            };
            if st.in_do || recognised(st) {
                return;
            }
            let end = st
                .toks
                .iter()
                .find(|t| t.start == *at)
                .map_or(*at, |t| t.end);
            let Some(range) = u.source(*at, end) else {
                return;
            };
            out.push(
                Self::META
                    .diagnostic("the SQL parser cannot read this statement")
                    .at(Span::new(cx.file, range), "the parser stops here")
                    .note(format!("sqlparser: {}", lowercase_first(message.trim())))
                    .note("the other SQL rules checked this statement by its keywords"),
            );
        });
        for op in ops.iter() {
            for u in op.forward.iter().chain(&op.backward) {
                let Some(e) = &u.lex_error else { continue };
                let Some(range) = u.source(e.at, e.at + 1) else {
                    continue;
                };
                out.push(
                    Self::META
                        .diagnostic("the SQL tokenizer cannot read this string")
                        .at(Span::new(cx.file, range), "the tokenizer stops here")
                        .note(format!("sqlparser: {}", lowercase_first(&e.message)))
                        .note("no SQL rule checked this string"),
                );
            }
        }
    }
}

/// Statements whose kind the keyword reading knows, so that the SQL rules checked them
/// fully without sqlparser's tree: what djcheck reads the shape of (`CREATE`, `DROP`,
/// `ALTER`, `INSERT`, `REINDEX`, `DO`...), and statements no SQL rule needs more than the
/// first keyword of (queries, `UPDATE`, `DELETE`, session and maintenance commands).
/// PostgreSQL that sqlparser does not know (`trim(BOTH FROM x)`, `EXECUTE FUNCTION
/// f('!')` in a trigger) is then no finding at all.
fn recognised(st: &crate::model::Statement) -> bool {
    const KINDS: &[&str] = &[
        "SELECT",
        "WITH",
        "VALUES",
        "TABLE",
        "UPDATE",
        "DELETE",
        "MERGE",
        "SET",
        "RESET",
        "SHOW",
        "ANALYZE",
        "ANALYSE",
        "VACUUM",
        "CLUSTER",
        "REFRESH",
        "LOCK",
        "COMMENT",
        "GRANT",
        "REVOKE",
        "TRUNCATE",
        "NOTIFY",
        "LISTEN",
        "UNLISTEN",
        "CHECKPOINT",
        "DISCARD",
        "EXPLAIN",
        "CALL",
        "COPY",
        "PRAGMA",
        "OPTIMIZE",
        "REPLACE",
    ];
    match &st.shape {
        Shape::Other => st.toks.first().is_some_and(|t| t.is_any(KINDS)),
        _ => true,
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{lint_errors, lint_ok};

    const R: UnparsableSql = UnparsableSql;

    #[test]
    fn reports_where_the_parser_stopped() {
        assert_eq!(
            lint_errors(
                &R,
                "SELCT 1;\nALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC"
            ),
            vec!["SELCT", "DEFAULT"]
        );
        assert_eq!(lint_errors(&R, "SELECT 'unterminated"), vec!["'"]);
    }

    #[test]
    fn statements_of_a_known_kind_fall_back_quietly() {
        lint_ok(
            &R,
            "ALTER TABLE t SET SCHEMA public;
             REINDEX INDEX CONCURRENTLY foo;
             DROP INDEX CONCURRENTLY IF EXISTS foo;
             UPDATE t SET x = trim(BOTH FROM x);
             SELECT trim(BOTH FROM x) FROM t;
             CREATE OR REPLACE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION f('!')",
        );
    }

    #[test]
    fn do_blocks_and_routine_bodies_are_not_reported() {
        lint_ok(
            &R,
            "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN PERFORM 1; END IF; END $$;
             CREATE OR REPLACE PROCEDURE p() LANGUAGE plpgsql AS $$ BEGIN END $$;
             SELECT 1",
        );
    }
}
