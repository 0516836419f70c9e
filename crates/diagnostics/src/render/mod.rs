//! One renderer per output format. Each takes diagnostics already sorted by
//! [`crate::sort`] and writes them to the writer it is given.

pub mod json;
pub mod text;

use crate::{Counts, Diagnostic, SourceDb};

/// What every renderer gets besides the diagnostics.
pub struct RenderContext<'a> {
    pub db: &'a SourceDb,
    /// Number of files analysed, for summaries.
    pub files_checked: usize,
}

impl RenderContext<'_> {
    pub fn counts(&self, diagnostics: &[Diagnostic]) -> Counts {
        Counts::of(diagnostics)
    }
}

/// A position for machine formats: 1-based line, 1-based column in characters.
#[derive(Debug, Clone, Copy, serde::Serialize, PartialEq, Eq)]
pub struct Position {
    pub line: u32,
    pub column: u32,
}

/// A start/end pair of [`Position`]s.
#[derive(Debug, Clone, Copy, serde::Serialize, PartialEq, Eq)]
pub struct Range {
    pub start: Position,
    pub end: Position,
}

/// The line/column range of a span.
pub fn range_of(db: &SourceDb, span: crate::Span) -> Range {
    let f = db.file(span.file);
    let s = f.line_col(span.range.start());
    let e = f.line_col(span.range.end());
    Range {
        start: Position {
            line: s.line,
            column: s.column,
        },
        end: Position {
            line: e.line,
            column: e.column,
        },
    }
}
