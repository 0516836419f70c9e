use crate::common;
use crate::shape::Shape;
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};
use djcheck_sql::statements::{self, Parse};

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
    /// guards itself. A SQL string longer than 1 MiB (a data load) is not read at all,
    /// and reported so.
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
                    .note(format!(
                        "sqlparser: {}",
                        lowercase_first(&redact_input(message.trim(), &u.map.text, &st.toks))
                    ))
                    .note("no SQL rule could tell what this statement does"),
            );
        });
        for op in ops.iter() {
            for (range, len) in &op.too_long {
                // Its first character: the string itself spans thousands of lines.
                let range = djcheck_python::TextRange::at(range.start(), 1.into());
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "SQL string of {len} bytes not analysed: longer than the {}-byte limit",
                            statements::MAX_SQL_LEN
                        ))
                        .at(Span::new(cx.file, range), "too long to analyse")
                        .note("no SQL rule checked this string: strings this long are data loads, and reading them costs about a second and a hundred megabytes per megabyte")
                        .help("check its DDL by hand, or move the data load out of the migration (a fixture, or a management command)"),
                );
            }
            for u in op.forward.iter().chain(&op.backward) {
                let Some(e) = &u.lex_error else { continue };
                let Some(range) = u.source(e.at, e.at + 1) else {
                    continue;
                };
                out.push(
                    Self::META
                        .diagnostic("the SQL tokenizer cannot read this string")
                        .at(Span::new(cx.file, range), "the tokenizer stops here")
                        .note(format!(
                            "sqlparser: {}",
                            lowercase_first(&redact_quoted(&e.message))
                        ))
                        .note("no SQL rule checked this string"),
                );
            }
        }
    }
}

/// sqlparser's messages quote the input where it stopped (`found: 'hunter2'`, `found:
/// sk_live_...` when quotes are unbalanced, `No infix parser for token Word(...)`): it
/// may be a secret. Every piece of the statement's text that is not a keyword (words,
/// literals, numbers of four characters or more) is replaced by `…`, then the contents
/// of every quoted part. The snippet shows where the parser stopped, masked.
fn redact_input(message: &str, sql: &str, toks: &[crate::lex::Tok]) -> String {
    use sqlparser::keywords::Keyword;
    use sqlparser::tokenizer::Token;
    let mut pieces: Vec<&str> = Vec::new();
    for t in toks {
        if let Token::Word(w) = &t.token {
            if w.quote_style.is_none() && w.keyword != Keyword::NoKeyword {
                continue;
            }
            pieces.push(&w.value);
        }
        if let Some(text) = sql.get(t.start..t.end) {
            pieces.push(text);
        }
        match &t.token {
            Token::SingleQuotedString(v)
            | Token::DoubleQuotedString(v)
            | Token::NationalStringLiteral(v)
            | Token::EscapedStringLiteral(v)
            | Token::Number(v, _) => pieces.push(v),
            Token::DollarQuotedString(d) => pieces.push(&d.value),
            _ => {}
        }
    }
    // Longest first, so a piece inside a longer one does not split it.
    pieces.retain(|p| p.chars().count() >= 4);
    pieces.sort_by_key(|p| std::cmp::Reverse(p.len()));
    let mut out = message.to_owned();
    for p in pieces {
        if out.contains(p) {
            out = out.replace(p, "…");
        }
    }
    redact_quoted(&out)
}

/// The contents of every quoted part of a message, dropped.
fn redact_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '\'' || c == '"' {
            let mut closed = false;
            for d in chars.by_ref() {
                if d == c {
                    closed = true;
                    break;
                }
            }
            out.push('…');
            if closed {
                out.push(c);
            }
        }
    }
    out
}

/// Statements whose kind the keyword reading knows, so that the SQL rules checked them
/// fully without sqlparser's tree: what djcheck reads the shape of (`CREATE`, `DROP`,
/// `ALTER`, `INSERT`, `REINDEX`, `DO`...), and statements no SQL rule needs more than the
/// first keyword of (queries, `UPDATE`, `DELETE`, session and maintenance commands).
/// PostgreSQL that sqlparser does not know (`trim(BOTH FROM x)`, `EXECUTE FUNCTION
/// f('!')` in a trigger) is then no finding at all.
fn recognised(st: &djcheck_sql::statements::Statement) -> bool {
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
    fn quoted_literals_are_dropped_from_parser_messages() {
        assert_eq!(
            redact_quoted("Expected: end of statement, found: 'S3cr3t-pw'"),
            "Expected: end of statement, found: '…'"
        );
        assert_eq!(redact_quoted("found: \"x"), "found: \"…");
        // sqlparser stops at the password and quotes it.
        let src =
            crate::testing::migration_with_sql("PREPARE p AS SELECT 1 'S3cr3t-pw' 'S3cr3t-pw'");
        let out = djcheck_linter::testing::check(&R, &src);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].notes[0].ends_with("found: …"), "{:?}", out[0].notes);
        assert!(!out[0].notes.iter().any(|n| n.contains("S3cr3t")));
    }

    #[test]
    fn unbalanced_quotes_never_put_a_secret_in_the_note() {
        // Found by fuzzing: the quotes pair up differently, and the token sqlparser
        // quotes is the bare secret.
        let src = crate::testing::migration_with_sql(
            "UPDATE i SET token = 'skE i SET token = 'sk_live_51Hq8mR2vL9xT4pW7nK1cF6hJ' WHERE n = 'x'",
        );
        let out = djcheck_linter::testing::check(&R, &src);
        assert!(!out.is_empty());
        for d in &out {
            assert!(
                !d.notes.iter().any(|n| n.contains("sk_live")),
                "{:?}",
                d.notes
            );
        }
    }

    #[test]
    fn sql_over_the_size_limit_is_reported_not_skipped() {
        let sql = "CREATE TABLE t (id int);\n".repeat(djcheck_sql::statements::MAX_SQL_LEN / 20);
        let src = crate::testing::migration_with_sql(&sql);
        let out = djcheck_linter::testing::check(&R, &src);
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(
            out[0].message.starts_with("SQL string of "),
            "{}",
            out[0].message
        );
        assert!(out[0].message.contains("not analysed"));
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
