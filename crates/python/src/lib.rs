//! The Python front end: everything djcheck knows about Python source text.
//!
//! What it is: turning bytes into checked text ([`decode`]), text into a syntax tree
//! ([`parse_module`]), byte offsets into line/column ([`LineIndex`]), and small static
//! evaluations of expressions ([`eval`]), string literals mapped back to their source
//! ([`literal`]).
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
pub mod literal;
mod nesting;
mod source;

pub use line_index::{LineCol, LineIndex};
pub use ruff_python_ast as ast;
pub use ruff_text_size::{Ranged, TextLen, TextRange, TextSize};
pub use source::{decode, decode_owned, DecodeProblem, Limits};

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

/// Where comments can't be: every string literal (f- and t-strings whole, replacement
/// fields included: no `#` inside one starts a comment), and every statement, nested ones
/// included. Both sorted by start. What suppression comments and the edits adding them
/// need to know of a module.
#[derive(Debug, Default)]
pub struct CommentContext {
    pub strings: Vec<TextRange>,
    pub statements: Vec<TextRange>,
}

impl CommentContext {
    /// `None` when the module nests deeper than `max_nesting` nodes (the walk would
    /// recurse that deep).
    pub fn of(module: &ModModule, max_nesting: usize) -> Option<CommentContext> {
        if too_deep_at(module, max_nesting).is_some() {
            return None;
        }
        let mut cx = CommentContext::default();
        for stmt in &module.body {
            cx.visit_stmt(stmt);
        }
        cx.strings.sort_by_key(|r| (r.start(), r.end()));
        Some(cx)
    }

    /// The string literal holding `offset` (its first byte included), if any. Literals
    /// never overlap: the walk does not enter them.
    fn string_at(&self, offset: usize) -> Option<TextRange> {
        let off = TextSize::new(u32::try_from(offset).ok()?);
        let i = self.strings.partition_point(|r| r.start() <= off);
        let r = *self.strings.get(i.checked_sub(1)?)?;
        r.contains(off).then_some(r)
    }

    /// Whether `offset` is in a string literal, its opening byte included (a `#` there
    /// starts no comment).
    pub fn in_string(&self, offset: usize) -> bool {
        self.string_at(offset).is_some()
    }

    /// Whether `offset` is inside a string literal past its first byte (a line starting
    /// there continues a string begun on an earlier line).
    pub fn within_string(&self, offset: usize) -> bool {
        self.string_at(offset)
            .is_some_and(|r| usize::from(r.start()) < offset)
    }
}

impl<'a> SourceOrderVisitor<'a> for CommentContext {
    fn visit_stmt(&mut self, stmt: &'a ast::Stmt) {
        self.statements.push(stmt.range());
        source_order::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a ast::Expr) {
        match expr {
            ast::Expr::StringLiteral(_)
            | ast::Expr::BytesLiteral(_)
            | ast::Expr::FString(_)
            | ast::Expr::TString(_) => self.strings.push(expr.range()),
            _ => source_order::walk_expr(self, expr),
        }
    }
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
