//! The SQL front end: what djcheck knows about SQL text, the `sql` and `reverse_sql` of
//! `RunSQL` operations.
//!
//! What it is: tokens with byte offsets, placeholder rewriting and statement splitting
//! ([`lex`], on sqlparser's tokenizer), what a statement does read from its tokens
//! ([`shape`]), the statements of a PL/pgSQL `DO` block ([`plpgsql`]), and one SQL text
//! analysed into statements, each with its tokens, shape and sqlparser's verdict
//! ([`statements::analyse_text`]). The text comes with its map to the Python source
//! (`djcheck_python::literal`), so every statement can be underlined where it is written.
//!
//! What it must never depend on: the project model, the rules. Reading the SQL of a
//! migration's `RunSQL` from its Python source is the project model's per-file facts;
//! the rules that judge the statements are `rules/sql`.
//!
//! Architecture invariant: it never fails on input and is bounded: a text the tokenizer
//! refuses is a [`lex::LexError`], a statement the parser refuses is
//! [`statements::Parse::Failed`], and statements too long or too deep are not parsed.

pub mod lex;
pub mod plpgsql;
pub mod shape;
pub mod statements;

/// SQL dialect RunSQL is parsed as (config `sql-dialect`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum SqlDialect {
    #[default]
    PostgreSql,
    MySql,
    Sqlite,
}
