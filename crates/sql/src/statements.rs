//! SQL texts analysed: every SQL string split into statements, each statement with its
//! tokens, its shape, sqlparser's verdict, and where it runs (a `DO` block, under a
//! guard).

use crate::lex::{self, LexError, Tok};
use crate::plpgsql;
use crate::shape::{self, Kind, Shape};
use crate::SqlDialect;
use djcheck_python::literal::Mapped;
use djcheck_python::TextRange;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan};

/// Statements longer than this (in bytes) are not given to the parser: a long enough
/// expression makes its recursive syntax tree a risk to the stack, and the keyword
/// reading is enough for the checks. Real migrations' statements are far shorter, except
/// bulk `INSERT ... VALUES`, which the keyword reading handles.
pub const MAX_PARSE_LEN: usize = 64 * 1024;

/// SQL strings longer than this are not analysed at all: such strings are data loads
/// (a dump's `INSERT`s), and reading one costs about a second and a hundred megabytes per
/// megabyte of SQL.
pub const MAX_SQL_LEN: usize = 1024 * 1024;

/// How deep sqlparser may recurse (its own default is 50).
const RECURSION_LIMIT: usize = 64;

/// What sqlparser made of a statement.
#[derive(Debug)]
pub enum Parse {
    Parsed(Box<sqlparser::ast::Statement>),
    /// Rejected: the parser's message (without its location) and the byte offset where
    /// it stopped.
    Failed {
        message: String,
        at: usize,
    },
    /// Not given to the parser: a `DO` block, a statement inside one, or one too long.
    NotTried,
}

/// One SQL statement.
#[derive(Debug)]
pub struct Statement {
    /// Significant tokens (no whitespace or comments), without the final `;`.
    pub toks: Vec<Tok>,
    pub shape: Shape,
    pub parse: Parse,
    /// Runs inside a `DO` block.
    pub in_do: bool,
    /// Inside a `DO` block, runs under a condition or an exception handler.
    pub guarded: bool,
}

impl Statement {
    /// The syntax tree, when the parser read the statement.
    pub fn ast(&self) -> Option<&sqlparser::ast::Statement> {
        match &self.parse {
            Parse::Parsed(s) => Some(s),
            _ => None,
        }
    }
}

/// One SQL string of a RunSQL argument, analysed.
#[derive(Debug)]
pub struct Unit {
    /// The SQL text (as written: placeholders are rewritten only for the tokenizer) and
    /// its map to the Python source.
    pub map: Mapped,
    /// True for `reverse_sql`.
    pub reverse: bool,
    pub statements: Vec<Statement>,
    /// The tokenizer gave up (an unterminated quote, say): no statements.
    pub lex_error: Option<LexError>,
}

impl Unit {
    /// The source range of SQL bytes `start..end`.
    pub fn source(&self, start: usize, end: usize) -> Option<TextRange> {
        self.map.source_range(start, end)
    }

    /// The source range of tokens `first..=last` of a statement.
    pub fn tokens_range(&self, st: &Statement, first: usize, last: usize) -> Option<TextRange> {
        let a = st.toks.get(first)?.start;
        let b = st.toks.get(last.max(first))?.end;
        self.source(a, b)
    }

    /// The SQL text of tokens `first..=last`, on one line: tokens separated by a single
    /// space where the source separates them, with `insert` after token `after`.
    pub fn head_text(
        &self,
        st: &Statement,
        first: usize,
        last: usize,
        edit: Option<(usize, &str)>,
    ) -> String {
        let mut out = String::new();
        let mut prev_end: Option<usize> = None;
        for (k, t) in st.toks.iter().enumerate().take(last + 1).skip(first) {
            if prev_end.is_some_and(|e| e < t.start) {
                out.push(' ');
            }
            let text = self.map.text.get(t.start..t.end).unwrap_or("");
            // A password clause's value is a secret: never quoted in a message.
            let secret = k > 0
                && matches!(
                    t.token,
                    Token::SingleQuotedString(_)
                        | Token::DoubleQuotedString(_)
                        | Token::EscapedStringLiteral(_)
                        | Token::NationalStringLiteral(_)
                        | Token::DollarQuotedString(_)
                )
                && st
                    .toks
                    .get(k - 1)
                    .is_some_and(|p| p.is_any(&["PASSWORD", "BY"]));
            out.push_str(if secret { "'…'" } else { text });
            prev_end = Some(t.end);
            if let Some((after, insert)) = edit {
                if after == k {
                    out.push(' ');
                    out.push_str(insert);
                    // Whatever follows the insertion is separated from it.
                    prev_end = Some(0);
                }
            }
        }
        out
    }
}

/// Analyses one SQL text.
pub fn analyse_text(map: Mapped, reverse: bool, d: SqlDialect) -> Unit {
    let dialect = lex::dialect(d);
    let prepared = lex::rewrite_placeholders(&map.text, d);
    // Whitespace and comments matter to nothing downstream (sqlparser's parser skips
    // them too): dropping them here halves the memory a long statement takes.
    let toks: Vec<Tok> = match lex::tokenize(&prepared, 0, dialect) {
        Ok(t) => t.into_iter().filter(|t| !t.is_trivia()).collect(),
        Err(e) => {
            return Unit {
                map,
                reverse,
                statements: Vec::new(),
                lex_error: Some(e),
            }
        }
    };
    let pieces = lex::split(&toks);
    let mut rest = toks.into_iter().enumerate().peekable();
    let mut statements = Vec::new();
    for piece in pieces {
        // The pieces are in order: move their tokens out instead of copying them.
        let mut sig: Vec<Tok> = Vec::with_capacity(piece.last + 1 - piece.first);
        while let Some((i, t)) = rest.next_if(|(i, _)| *i <= piece.last) {
            if i >= piece.first {
                sig.push(t);
            }
        }
        let shape = shape::shape(&sig);
        let len = sig.last().map_or(0, |t| t.end) - sig.first().map_or(0, |t| t.start);
        let parse = if matches!(shape, Shape::Do(_)) || len > MAX_PARSE_LEN {
            Parse::NotTried
        } else {
            let skip = unsupported_keywords(&shape, &sig);
            if skip.is_empty() {
                parse(&sig, dialect)
            } else {
                let toks: Vec<Tok> = sig
                    .iter()
                    .filter(|t| !skip.contains(&t.start))
                    .cloned()
                    .collect();
                parse(&toks, dialect)
            }
        };
        let body = match &shape {
            Shape::Do(b) if b.plpgsql && d == SqlDialect::PostgreSql => b
                .body
                .and_then(|i| sig.get(i))
                .and_then(|t| do_body(t, &prepared)),
            _ => None,
        };
        statements.push(Statement {
            toks: sig,
            shape,
            parse,
            in_do: false,
            guarded: false,
        });
        if let Some((start, text)) = body {
            inner_statements(text, start, dialect, &mut statements);
        }
    }
    Unit {
        map,
        reverse,
        statements,
        lex_error: None,
    }
}

/// Offsets of keywords sqlparser does not accept in an otherwise ordinary statement:
/// `CONCURRENTLY` in `DROP INDEX CONCURRENTLY` and `IF EXISTS` in `ALTER INDEX IF EXISTS`,
/// two of the most common statements of real migrations. The statement is parsed without
/// them; the rules read these keywords from the tokens, which keep them.
fn unsupported_keywords(shape: &Shape, sig: &[Tok]) -> Vec<usize> {
    let mut out = Vec::new();
    match shape {
        Shape::Drop(d) if d.object.kind == Kind::Index => {
            out.extend(d.concurrently.and_then(|k| sig.get(k)).map(|t| t.start));
        }
        Shape::Alter(a) if a.object.kind == Kind::Index && a.if_exists => {
            for k in [2, 3] {
                out.extend(
                    sig.get(k)
                        .filter(|t| t.is_any(&["IF", "EXISTS"]))
                        .map(|t| t.start),
                );
            }
        }
        _ => {}
    }
    out
}

/// The body of a `DO` block: its byte offset and text, for a dollar-quoted body.
fn do_body<'a>(t: &Tok, text: &'a str) -> Option<(usize, &'a str)> {
    let Token::DollarQuotedString(q) = &t.token else {
        return None;
    };
    let delim = format!("${}$", q.tag.as_deref().unwrap_or(""));
    let src = text.get(t.start..t.end)?;
    if !src.starts_with(&delim) || !src.ends_with(&delim) || src.len() < 2 * delim.len() {
        return None;
    }
    let start = t.start + delim.len();
    let end = t.end - delim.len();
    Some((start, text.get(start..end)?))
}

fn inner_statements(
    body: &str,
    base: usize,
    dialect: &dyn sqlparser::dialect::Dialect,
    out: &mut Vec<Statement>,
) {
    let Ok(toks) = lex::tokenize(body, base, dialect) else {
        return;
    };
    let sig: Vec<Tok> = toks.into_iter().filter(|t| !t.is_trivia()).collect();
    for inner in plpgsql::statements(&sig) {
        if inner.toks.is_empty() {
            continue;
        }
        let shape = shape::shape(&inner.toks);
        let len =
            inner.toks.last().map_or(0, |t| t.end) - inner.toks.first().map_or(0, |t| t.start);
        let parse = if matches!(shape, Shape::Other | Shape::Do(_)) || len > MAX_PARSE_LEN {
            Parse::NotTried
        } else {
            parse(&inner.toks, dialect)
        };
        out.push(Statement {
            toks: inner.toks,
            shape,
            parse,
            in_do: true,
            guarded: inner.guarded,
        });
    }
}

fn parse(toks: &[Tok], dialect: &dyn sqlparser::dialect::Dialect) -> Parse {
    let with_spans: Vec<TokenWithSpan> = toks
        .iter()
        .map(|t| TokenWithSpan {
            token: t.token.clone(),
            span: t.span,
        })
        .collect();
    let start = toks.first().map_or(0, |t| t.start);
    let result = Parser::new(dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .with_tokens_with_locations(with_spans)
        .parse_statements();
    match result {
        Ok(mut v) if v.len() == 1 => Parse::Parsed(Box::new(v.remove(0))),
        Ok(v) if v.is_empty() => Parse::NotTried,
        // More than one statement where the splitter saw one: read, but the tree is not
        // matched to the tokens.
        Ok(_) => Parse::NotTried,
        Err(ParserError::RecursionLimitExceeded) => Parse::Failed {
            message: "the statement nests too deeply".to_owned(),
            at: start,
        },
        Err(ParserError::ParserError(m) | ParserError::TokenizerError(m)) => {
            let (message, at) = locate(&m, toks).unwrap_or((m.clone(), start));
            Parse::Failed { message, at }
        }
    }
}

/// Splits sqlparser's `... at Line: L, Column: C` into the message and the offset of the
/// token there.
fn locate(m: &str, toks: &[Tok]) -> Option<(String, usize)> {
    let pos = m.rfind(" at Line: ")?;
    let (msg, loc) = m.split_at(pos);
    let loc = loc.strip_prefix(" at Line: ")?;
    let (line, col) = loc.split_once(", Column: ")?;
    let line: u64 = line.trim().parse().ok()?;
    let col: u64 = col.trim().parse().ok()?;
    let at = toks
        .iter()
        .find(|t| t.span.start.line == line && t.span.start.column == col)
        .map(|t| t.start)?;
    Some((msg.to_owned(), at))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn unit(sql: &str, d: SqlDialect) -> Unit {
        analyse_text(
            Mapped::coarse(sql.to_owned(), TextRange::default()),
            false,
            d,
        )
    }

    #[test]
    fn do_blocks_expand_into_their_statements() {
        let u = unit(
            "DO $body$ BEGIN IF NOT EXISTS (SELECT 1) THEN ALTER TABLE t ADD COLUMN c int; END IF; DROP TABLE x; END $body$; SELECT 1",
            SqlDialect::PostgreSql,
        );
        let shapes: Vec<(bool, bool)> = u.statements.iter().map(|s| (s.in_do, s.guarded)).collect();
        assert_eq!(
            shapes,
            vec![(false, false), (true, true), (true, false), (false, false)]
        );
        assert!(matches!(u.statements[0].parse, Parse::NotTried));
        let drop = &u.statements[2];
        assert_eq!(
            &u.map.text[drop.toks[0].start..drop.toks[2].end],
            "DROP TABLE x"
        );
        assert!(matches!(u.statements[3].parse, Parse::Parsed(_)));
    }

    #[test]
    fn parse_failures_are_located() {
        let sql = "SELECT 1;\nREINDEX INDEX foo";
        let u = unit(sql, SqlDialect::PostgreSql);
        let Parse::Failed { message, at } = &u.statements[1].parse else {
            panic!("{:?}", u.statements[1].parse)
        };
        assert_eq!(&sql[*at..], "REINDEX INDEX foo");
        assert!(message.contains("Expected"), "{message}");
    }

    #[test]
    fn common_unsupported_keywords_are_parsed_around() {
        for sql in [
            "DROP INDEX CONCURRENTLY IF EXISTS foo",
            "DROP INDEX CONCURRENTLY foo",
            "ALTER INDEX IF EXISTS a RENAME TO b",
        ] {
            let u = unit(sql, SqlDialect::PostgreSql);
            assert!(matches!(u.statements[0].parse, Parse::Parsed(_)), "{sql}");
        }
    }

    #[test]
    fn placeholders_parse() {
        let u = unit(
            "INSERT INTO t (a, b) VALUES (%s, %(name)s) ON CONFLICT DO NOTHING",
            SqlDialect::PostgreSql,
        );
        assert!(matches!(u.statements[0].parse, Parse::Parsed(_)));
        let u = unit("INSERT INTO t (a) VALUES (%s)", SqlDialect::MySql);
        assert!(matches!(u.statements[0].parse, Parse::Parsed(_)));
    }

    #[test]
    fn long_expressions_are_not_parsed() {
        let sql = format!("SELECT 1{}", " + 1".repeat(MAX_PARSE_LEN / 4));
        let u = unit(&sql, SqlDialect::PostgreSql);
        assert!(matches!(u.statements[0].parse, Parse::NotTried));
    }
}
