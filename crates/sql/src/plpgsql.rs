//! The statements of a PL/pgSQL block (a `DO $$ ... $$` body) and whether each one is
//! guarded.
//!
//! A statement is guarded when it runs only under a condition (`IF ... THEN`, `CASE
//! WHEN`, an exception handler) or inside a block with an `EXCEPTION` section, which
//! turns the failure of a re-run into a handled one. The condition itself is not judged:
//! `IF NOT EXISTS (SELECT ... FROM information_schema.columns ...)` is the usual guard,
//! but any condition is the author's decision to make.

use crate::lex::Tok;
use sqlparser::tokenizer::Token;

/// A statement of the block.
#[derive(Debug, Clone, PartialEq)]
pub struct Inner {
    /// Its significant tokens, without the `;`.
    pub toks: Vec<Tok>,
    pub guarded: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Frame {
    Block(usize),
    If,
    Case,
    Loop,
    Handler,
}

/// Splits the block's significant tokens into its SQL statements.
pub fn statements(t: &[Tok]) -> Vec<Inner> {
    let mut stack: Vec<Frame> = Vec::new();
    let mut has_exception: Vec<bool> = Vec::new();
    // Statement, whether a condition encloses it, and the blocks around it.
    let mut found: Vec<(Vec<Tok>, bool, Vec<usize>)> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        let x = &t[i];
        if matches!(x.token, Token::SemiColon) {
            i += 1;
            continue;
        }
        if matches!(x.token, Token::ShiftLeft) {
            // A label: `<<name>>`.
            i = t[i..]
                .iter()
                .position(|y| matches!(y.token, Token::ShiftRight))
                .map_or(t.len(), |p| i + p + 1);
            continue;
        }
        if x.is("DECLARE") {
            i = t[i..]
                .iter()
                .position(|y| y.is("BEGIN"))
                .map_or(t.len(), |p| i + p);
            continue;
        }
        if x.is("BEGIN") {
            stack.push(Frame::Block(has_exception.len()));
            has_exception.push(false);
            i += 1;
            continue;
        }
        if x.is("IF") {
            stack.push(Frame::If);
            i = after(t, i + 1, "THEN");
            continue;
        }
        if x.is_any(&["ELSIF", "ELSEIF"]) {
            i = after(t, i + 1, "THEN");
            continue;
        }
        if x.is("ELSE") {
            i += 1;
            continue;
        }
        if x.is("CASE") {
            stack.push(Frame::Case);
            i = after(t, i + 1, "THEN");
            continue;
        }
        if x.is("WHEN") {
            i = after(t, i + 1, "THEN");
            continue;
        }
        if x.is("LOOP") {
            stack.push(Frame::Loop);
            i += 1;
            continue;
        }
        if x.is_any(&["WHILE", "FOR", "FOREACH"]) {
            stack.push(Frame::Loop);
            i = after(t, i + 1, "LOOP");
            continue;
        }
        if x.is("EXCEPTION") {
            if let Some(b) = stack.iter().rev().find_map(|f| match f {
                Frame::Block(b) => Some(*b),
                _ => None,
            }) {
                if let Some(h) = has_exception.get_mut(b) {
                    *h = true;
                }
            }
            stack.push(Frame::Handler);
            i += 1;
            continue;
        }
        if x.is("END") {
            if stack.last() == Some(&Frame::Handler) {
                stack.pop();
            }
            stack.pop();
            // `END IF;`, `END LOOP;`, `END CASE;`, `END label;`.
            i = t[i..]
                .iter()
                .position(|y| matches!(y.token, Token::SemiColon))
                .map_or(t.len(), |p| i + p + 1);
            continue;
        }
        // A statement: through the next `;` outside parentheses.
        let mut depth = 0usize;
        let mut k = i;
        while k < t.len() {
            match t[k].token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                Token::SemiColon if depth == 0 => break,
                _ => {}
            }
            k += 1;
        }
        let conditional = stack
            .iter()
            .any(|f| matches!(f, Frame::If | Frame::Case | Frame::Handler));
        let blocks = stack
            .iter()
            .filter_map(|f| match f {
                Frame::Block(b) => Some(*b),
                _ => None,
            })
            .collect();
        found.push((t[i..k].to_vec(), conditional, blocks));
        i = k + 1;
    }
    found
        .into_iter()
        .map(|(toks, conditional, blocks)| Inner {
            toks,
            guarded: conditional
                || blocks
                    .iter()
                    .any(|b: &usize| has_exception.get(*b) == Some(&true)),
        })
        .collect()
}

/// The index after the `word` that ends a condition starting at `i`, skipping
/// parentheses and `CASE ... END` expressions inside the condition.
fn after(t: &[Tok], i: usize, word: &str) -> usize {
    let mut depth = 0usize;
    let mut cases = 0usize;
    let mut k = i;
    while k < t.len() {
        let x = &t[k];
        match x.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 {
            if x.is("CASE") {
                cases += 1;
            } else if x.is("END") {
                cases = cases.saturating_sub(1);
            } else if cases == 0 && x.is(word) {
                return k + 1;
            } else if cases == 0 && matches!(x.token, Token::SemiColon) {
                // A malformed condition: stop at the statement's end.
                return k;
            }
        }
        k += 1;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::{dialect, tokenize};
    use crate::SqlDialect;

    fn inner(body: &str) -> Vec<(String, bool)> {
        let toks: Vec<Tok> = tokenize(body, 0, dialect(SqlDialect::PostgreSql))
            .unwrap()
            .into_iter()
            .filter(|t| !t.is_trivia())
            .collect();
        statements(&toks)
            .into_iter()
            .map(|s| {
                let a = s.toks.first().unwrap().start;
                let b = s.toks.last().unwrap().end;
                (body[a..b].to_owned(), s.guarded)
            })
            .collect()
    }

    #[test]
    fn if_guards_its_statements() {
        let body = "
            DECLARE n int := 0;
            BEGIN
                IF NOT EXISTS (SELECT 1 FROM information_schema.columns
                               WHERE table_name = 't' AND column_name = 'c') THEN
                    ALTER TABLE t ADD COLUMN c int;
                ELSE
                    RAISE NOTICE 'exists';
                END IF;
                ALTER TABLE t ADD COLUMN d int;
            END";
        assert_eq!(
            inner(body),
            vec![
                ("ALTER TABLE t ADD COLUMN c int".to_owned(), true),
                ("RAISE NOTICE 'exists'".to_owned(), true),
                ("ALTER TABLE t ADD COLUMN d int".to_owned(), false),
            ]
        );
    }

    #[test]
    fn exception_sections_guard_the_whole_block() {
        let body = "BEGIN
                ALTER TABLE t ADD CONSTRAINT k UNIQUE (a);
            EXCEPTION WHEN duplicate_object THEN NULL;
            END";
        assert_eq!(
            inner(body),
            vec![
                ("ALTER TABLE t ADD CONSTRAINT k UNIQUE (a)".to_owned(), true),
                ("NULL".to_owned(), true),
            ]
        );
    }

    #[test]
    fn nested_blocks_and_loops() {
        let body = "<<outer>> BEGIN
                FOR r IN SELECT * FROM t LOOP
                    INSERT INTO u VALUES (r.id);
                END LOOP;
                BEGIN
                    CREATE TABLE v (a int);
                EXCEPTION WHEN others THEN NULL;
                END;
                x := CASE WHEN 1 = 1 THEN 2 END;
            END outer";
        let got = inner(body);
        assert_eq!(got[0], ("INSERT INTO u VALUES (r.id)".to_owned(), false));
        assert_eq!(got[1], ("CREATE TABLE v (a int)".to_owned(), true));
        assert_eq!(
            got[3],
            ("x := CASE WHEN 1 = 1 THEN 2 END".to_owned(), false)
        );
    }
}
