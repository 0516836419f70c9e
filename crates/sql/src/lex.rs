//! SQL tokens with byte offsets, placeholder rewriting, and statement splitting.
//!
//! sqlparser's tokenizer reads every RunSQL string djcheck has met, even those its parser
//! rejects, so statements are split and located from the token stream: a statement's
//! position never depends on whether it parsed.

use crate::SqlDialect;
use sqlparser::dialect::{Dialect, MySqlDialect, PostgreSqlDialect, SQLiteDialect};
use sqlparser::tokenizer::{Location, Token, TokenWithSpan, Tokenizer};

/// The sqlparser dialect for the configured SQL dialect.
pub fn dialect(d: SqlDialect) -> &'static dyn Dialect {
    static PG: PostgreSqlDialect = PostgreSqlDialect {};
    static MY: MySqlDialect = MySqlDialect {};
    static LITE: SQLiteDialect = SQLiteDialect {};
    match d {
        SqlDialect::PostgreSql => &PG,
        SqlDialect::MySql => &MY,
        SqlDialect::Sqlite => &LITE,
    }
}

/// A token and its byte range in the SQL text.
#[derive(Debug, Clone, PartialEq)]
pub struct Tok {
    pub token: Token,
    /// The span sqlparser gave it (line/column in the text that was tokenized).
    pub span: sqlparser::tokenizer::Span,
    pub start: usize,
    pub end: usize,
}

impl Tok {
    /// The word, if this is an unquoted word (keyword or identifier).
    pub fn word(&self) -> Option<&str> {
        match &self.token {
            Token::Word(w) if w.quote_style.is_none() => Some(&w.value),
            _ => None,
        }
    }

    /// True for the unquoted word `kw` (ASCII case-insensitive).
    pub fn is(&self, kw: &str) -> bool {
        self.word().is_some_and(|w| w.eq_ignore_ascii_case(kw))
    }

    /// True for one of the unquoted words.
    pub fn is_any(&self, kws: &[&str]) -> bool {
        kws.iter().any(|k| self.is(k))
    }

    /// An identifier (quoted or not) as the database sees it: unquoted names fold to
    /// lower case, quoted names are kept as written.
    pub fn ident(&self) -> Option<Ident> {
        match &self.token {
            Token::Word(w) => Some(Ident {
                value: if w.quote_style.is_some() {
                    w.value.clone()
                } else {
                    w.value.to_lowercase()
                },
                quoted: w.quote_style.is_some(),
            }),
            _ => None,
        }
    }

    pub fn is_trivia(&self) -> bool {
        matches!(self.token, Token::Whitespace(_))
    }
}

/// A name as the database sees it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ident {
    pub value: String,
    pub quoted: bool,
}

/// A tokenizer error, located.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub message: String,
    pub at: usize,
}

/// Rewrites psycopg placeholders (`%s`, `%(name)s`, and `%b`/`%t`) to the dialect's own
/// placeholder padded to the same length, so that the text keeps its byte offsets and
/// sqlparser reads a parameter where Python code passes one. `%%` is left alone.
pub fn rewrite_placeholders(text: &str, d: SqlDialect) -> String {
    let placeholder = match d {
        SqlDialect::PostgreSql => "$1",
        SqlDialect::MySql | SqlDialect::Sqlite => "?",
    };
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut last = 0;
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'%' {
            i += 1;
            continue;
        }
        let len = match b.get(i + 1) {
            Some(b'%') => {
                i += 2;
                continue;
            }
            Some(b's' | b'b' | b't') => 2,
            Some(b'(') => {
                let mut j = i + 2;
                while j < b.len() && (b[j].is_ascii_alphanumeric() || b[j] == b'_') {
                    j += 1;
                }
                if j > i + 2
                    && b.get(j) == Some(&b')')
                    && matches!(b.get(j + 1), Some(b's' | b'b' | b't'))
                {
                    j + 2 - i
                } else {
                    0
                }
            }
            _ => 0,
        };
        if len == 0 {
            i += 1;
            continue;
        }
        out.push_str(&text[last..i]);
        out.push_str(placeholder);
        for _ in placeholder.len()..len {
            out.push(' ');
        }
        i += len;
        last = i;
    }
    out.push_str(&text[last..]);
    out
}

/// Converts sqlparser locations (1-based line, 1-based column in characters, lines split
/// on `\n` only) into byte offsets. Lookups that move forward are linear overall.
struct Locator<'a> {
    text: &'a str,
    line_starts: Vec<usize>,
    /// The last answer: `(line, column, byte)`, to continue from.
    cursor: (u64, u64, usize),
}

impl<'a> Locator<'a> {
    fn new(text: &'a str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Locator {
            text,
            line_starts,
            cursor: (1, 1, 0),
        }
    }

    fn offset(&mut self, loc: Location) -> usize {
        let line = loc.line.max(1);
        let col = loc.column.max(1);
        let Some(&line_start) = usize::try_from(line - 1)
            .ok()
            .and_then(|l| self.line_starts.get(l))
        else {
            return self.text.len();
        };
        let (mut c, mut b) = if self.cursor.0 == line && self.cursor.1 <= col {
            (self.cursor.1, self.cursor.2)
        } else {
            (1, line_start)
        };
        let rest = &self.text[b..];
        for ch in rest.chars() {
            if c >= col || ch == '\n' {
                break;
            }
            c += 1;
            b += ch.len_utf8();
        }
        self.cursor = (line, c, b);
        b
    }
}

/// Tokenizes `text` (which must already have its placeholders rewritten). Offsets are
/// shifted by `base`, so tokens of a text embedded in a larger one (a `DO` body) carry
/// the larger text's offsets.
pub fn tokenize(text: &str, base: usize, d: &dyn Dialect) -> Result<Vec<Tok>, LexError> {
    let mut loc = Locator::new(text);
    let mut buf: Vec<TokenWithSpan> = Vec::new();
    let result = Tokenizer::new(d, text).tokenize_with_location_into_buf(&mut buf);
    if let Err(e) = result {
        return Err(LexError {
            message: e.message,
            at: base + loc.offset(e.location),
        });
    }
    let mut out = Vec::with_capacity(buf.len());
    for t in buf {
        let start = loc.offset(t.span.start);
        let end = loc.offset(t.span.end).max(start);
        out.push(Tok {
            token: t.token,
            span: t.span,
            start: base + start,
            end: base + end,
        });
    }
    Ok(out)
}

/// A statement: the indices (into the token list) of its first and last significant
/// tokens, its terminating `;` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    pub first: usize,
    pub last: usize,
}

/// Splits tokens into statements at top-level semicolons. Inside the body of a routine
/// written inline (`CREATE TRIGGER ... BEGIN ...; END`, PostgreSQL's `BEGIN ATOMIC`),
/// semicolons separate the body's statements, not the migration's.
pub fn split(toks: &[Tok]) -> Vec<Piece> {
    let mut out = Vec::new();
    let mut first: Option<usize> = None;
    let mut last = 0;
    let mut words = 0usize;
    let mut head = true;
    let mut routine = false;
    let mut depth = 0usize;
    for (i, t) in toks.iter().enumerate() {
        if t.is_trivia() {
            continue;
        }
        if matches!(t.token, Token::SemiColon) && depth == 0 {
            if let Some(f) = first.take() {
                out.push(Piece { first: f, last });
            }
            words = 0;
            head = true;
            routine = false;
            continue;
        }
        if first.is_none() {
            first = Some(i);
        }
        last = i;
        if matches!(t.token, Token::LParen) || t.is("AS") {
            head = false;
        }
        if head && words < 12 && t.word().is_some() {
            words += 1;
            if t.is_any(&["FUNCTION", "PROCEDURE", "TRIGGER", "EVENT"])
                && toks[first.unwrap_or(i)].is("CREATE")
            {
                routine = true;
            }
        }
        if routine {
            if t.is_any(&["BEGIN", "CASE"]) {
                depth += 1;
            } else if t.is("END") {
                // `END IF`, `END LOOP`... close constructs that did not open a level.
                let closes = !next_word_is(toks, i, &["IF", "LOOP", "WHILE", "REPEAT", "FOR"]);
                if closes {
                    depth = depth.saturating_sub(1);
                }
            }
        }
    }
    if let Some(f) = first {
        out.push(Piece { first: f, last });
    }
    out
}

fn next_word_is(toks: &[Tok], i: usize, kws: &[&str]) -> bool {
    toks[i + 1..]
        .iter()
        .find(|t| !t.is_trivia())
        .is_some_and(|t| t.is_any(kws))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg() -> &'static dyn Dialect {
        dialect(SqlDialect::PostgreSql)
    }

    fn pieces(sql: &str) -> Vec<String> {
        let toks = tokenize(sql, 0, pg()).unwrap();
        split(&toks)
            .into_iter()
            .map(|p| sql[toks[p.first].start..toks[p.last].end].to_owned())
            .collect()
    }

    #[test]
    fn offsets_are_bytes() {
        let sql = "SELECT 'é';\n  DROP TABLE ü";
        let toks = tokenize(sql, 10, pg()).unwrap();
        let drop = toks.iter().find(|t| t.is("DROP")).unwrap();
        assert_eq!(drop.start - 10, sql.find("DROP").unwrap());
        let last = toks.last().unwrap();
        assert_eq!(&sql[last.start - 10..last.end - 10], "ü");
    }

    #[test]
    fn splits_on_top_level_semicolons() {
        assert_eq!(
            pieces("-- lead\nCREATE TABLE a (x int);\n\n;DROP TABLE b -- tail\n"),
            vec!["CREATE TABLE a (x int)", "DROP TABLE b"]
        );
        assert_eq!(
            pieces("DO $$ BEGIN PERFORM 1; END $$; SELECT ';'"),
            vec!["DO $$ BEGIN PERFORM 1; END $$", "SELECT ';'"]
        );
        assert!(pieces("-- only a comment\n/* and another */").is_empty());
    }

    #[test]
    fn inline_routine_bodies_stay_whole() {
        let sql = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE b SET x = CASE WHEN 1 THEN 2 END; END; SELECT 1";
        assert_eq!(pieces(sql).len(), 2, "{:?}", pieces(sql));
    }

    #[test]
    fn placeholders_keep_length() {
        let s = "INSERT INTO t VALUES (%s, %(name)s, '100%%', %d)";
        let r = rewrite_placeholders(s, SqlDialect::PostgreSql);
        assert_eq!(r.len(), s.len());
        assert_eq!(r, "INSERT INTO t VALUES ($1, $1      , '100%%', %d)");
        let r = rewrite_placeholders(s, SqlDialect::MySql);
        assert_eq!(r, "INSERT INTO t VALUES (? , ?       , '100%%', %d)");
    }
}
