//! The Python front end: everything djcheck knows about Python source text.
//!
//! What it is: turning bytes into checked text ([`decode`]), text into a syntax tree
//! ([`parse_module`]), byte offsets into line/column ([`LineIndex`]), and small static
//! evaluations of expressions ([`eval`]).
//!
//! What it must never depend on: any other djcheck crate. Rules and the project model
//! reach the parser only through this crate (the AST types are re-exported as [`ast`]),
//! so the parser can be swapped here without touching them.
//!
//! Architecture invariant: parsing never fails. [`parse_module`] always returns a tree
//! (possibly partial) plus the list of syntax errors.

pub mod eval;
pub mod functions;
mod line_index;
mod nesting;
mod source;

pub use line_index::{LineCol, LineIndex};
pub use ruff_python_ast as ast;
pub use ruff_text_size::{Ranged, TextLen, TextRange, TextSize};
pub use source::{decode, DecodeProblem, Limits};

use ruff_python_ast::visitor::source_order::{self, SourceOrderVisitor, TraversalSignal};
use ruff_python_ast::{AnyNodeRef, ModModule};

/// A syntax error found by the parser.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyntaxError {
    pub message: String,
    pub range: TextRange,
}

/// A parsed module: the (possibly partial) tree and its syntax errors.
#[derive(Debug)]
pub struct ParsedModule {
    pub module: ModModule,
    pub errors: Vec<SyntaxError>,
}

impl ParsedModule {
    pub fn body(&self) -> &[ast::Stmt] {
        &self.module.body
    }
}

/// Parses Python source. Never fails: errors are returned beside a recovered tree.
///
/// Deeply nested input produces a deeply nested tree; callers must run this (and drop
/// the result) on a thread with a large stack, and check [`nesting_depth_exceeds`].
pub fn parse_module(text: &str) -> ParsedModule {
    // Brackets nested past Python's limit are refused before parsing: the parser's cost
    // on some deep shapes (nested f-strings) grows with the square of the depth.
    if let Some(at) = nesting::first_too_deep(text, MAX_BRACKET_NESTING) {
        let empty = ruff_python_parser::parse_unchecked_source("", ast::PySourceType::Python);
        let start = TextSize::try_from(at).unwrap_or_default();
        return ParsedModule {
            module: empty.into_syntax(),
            errors: vec![too_many_brackets(TextRange::at(start, TextSize::from(1)))],
        };
    }
    let parsed = ruff_python_parser::parse_unchecked_source(text, ast::PySourceType::Python);
    let mut errors: Vec<SyntaxError> = parsed
        .errors()
        .iter()
        .map(|e| SyntaxError {
            message: e.error.to_string(),
            range: e.location,
        })
        .collect();
    if let Some(e) = bracket_depth_error(parsed.tokens()) {
        errors.insert(0, e);
    }
    ParsedModule {
        module: parsed.into_syntax(),
        errors,
    }
}

/// CPython's tokenizer refuses more than this many nested brackets (`MAXLEVEL`).
pub const MAX_BRACKET_NESTING: usize = 200;

/// CPython's "too many nested parentheses": the parser we use accepts deeper nesting,
/// Python (and so Django) does not.
fn bracket_depth_error(tokens: &ast::token::Tokens) -> Option<SyntaxError> {
    use ast::token::TokenKind;
    let mut depth = 0usize;
    for t in tokens.iter() {
        match t.kind() {
            TokenKind::Lpar | TokenKind::Lsqb | TokenKind::Lbrace => {
                depth += 1;
                if depth > MAX_BRACKET_NESTING {
                    return Some(too_many_brackets(t.range()));
                }
            }
            TokenKind::Rpar | TokenKind::Rsqb | TokenKind::Rbrace => {
                depth = depth.saturating_sub(1)
            }
            _ => {}
        }
    }
    None
}

fn too_many_brackets(range: TextRange) -> SyntaxError {
    SyntaxError {
        message: format!("too many nested parentheses (Python allows {MAX_BRACKET_NESTING})"),
        range,
    }
}

/// Returns true when the tree nests deeper than `limit` nodes.
pub fn nesting_depth_exceeds(module: &ModModule, limit: usize) -> bool {
    too_deep_at(module, limit).is_some()
}

/// The first node (in source order) nested deeper than `limit` nodes, if any.
///
/// The walk stops descending at the limit, so its own recursion is bounded by `limit`.
pub fn too_deep_at(module: &ModModule, limit: usize) -> Option<TextRange> {
    struct Depth {
        depth: usize,
        limit: usize,
        found: Option<TextRange>,
    }
    impl<'a> SourceOrderVisitor<'a> for Depth {
        fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
            // `leave_node` runs for skipped nodes too, so always count the entry.
            self.depth += 1;
            if self.found.is_some() {
                return TraversalSignal::Skip;
            }
            if self.depth > self.limit {
                self.found = Some(node.range());
                return TraversalSignal::Skip;
            }
            TraversalSignal::Traverse
        }
        fn leave_node(&mut self, _node: AnyNodeRef<'a>) {
            self.depth = self.depth.saturating_sub(1);
        }
    }
    let mut v = Depth {
        depth: 0,
        limit,
        found: None,
    };
    for stmt in &module.body {
        source_order::walk_stmt(&mut v, stmt);
        if v.found.is_some() {
            break;
        }
    }
    v.found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_modern_syntax() {
        let p = parse_module("d = {}\nx = f\"{d[\"key\"]}\"\n");
        assert!(p.errors.is_empty(), "{:?}", p.errors);
    }

    #[test]
    fn reports_syntax_errors_with_recovery() {
        let p = parse_module("x = (\ny = 2\n");
        assert!(!p.errors.is_empty());
    }

    #[test]
    fn depth_limit() {
        let src = format!("x = {}1{}\n", "(".repeat(50), ")".repeat(50));
        let p = parse_module(&src);
        assert!(!nesting_depth_exceeds(&p.module, 1000));
        let src = format!("x = {}1{}\n", "[".repeat(2000), "]".repeat(2000));
        let p = parse_module(&src);
        // Refused before parsing, at the 201st bracket.
        assert!(p.module.body.is_empty());
        assert!(p.errors[0].message.contains("too many nested parentheses"));
        assert_eq!(usize::from(p.errors[0].range.start()), 4 + 200);
        let src = format!("x = 1{}\n", " + 1".repeat(3000));
        let p = parse_module(&src);
        assert!(p.errors.is_empty());
        assert!(nesting_depth_exceeds(&p.module, 2000));
    }
}
