//! Diagnostics: what a rule reports, the files it points into, and how it is printed.
//!
//! What it is: the [`Diagnostic`] value (code, severity, message, primary span, labels,
//! notes, help), the [`SourceDb`] of files it refers to by [`FileId`] and byte range, and
//! one renderer per output format under [`render`].
//!
//! What it must never depend on: the project model, the rules or the CLI. Renderers write
//! to a `Write` they are given; they never print.
//!
//! Architecture invariants: a diagnostic holds byte ranges only, line and column are
//! computed when rendering; [`sort`] gives the one order every renderer prints in.

pub mod baseline;
mod db;
pub mod render;

pub use db::{FileId, SourceDb, SourceFile};
pub use djcheck_python::{TextRange, TextSize};

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Info < Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        match s {
            "info" => Some(Severity::Info),
            "warning" => Some(Severity::Warning),
            "error" => Some(Severity::Error),
            _ => None,
        }
    }
}

/// A place in a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Span {
    pub file: FileId,
    pub range: TextRange,
}

impl Span {
    pub fn new(file: FileId, range: TextRange) -> Self {
        Span { file, range }
    }
}

/// A secondary place with its message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    pub span: Span,
    pub message: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    pub message: String,
    /// Where the finding is. `None` only for findings about the project as a whole.
    pub primary: Option<Span>,
    /// The message under the primary span (may be empty).
    pub primary_label: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub help: Option<String>,
    /// Source ranges holding a secret: no output may show them whole (the text renderer
    /// masks them in snippets). Messages must already be redacted by the rule.
    pub redact: Vec<Span>,
    /// A repair, when the rule knows one (see [`Fix`]).
    pub fix: Option<Fix>,
}

/// Whether a fix may be applied without a person looking at it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Applicability {
    /// It keeps what the code means wherever the code worked before: `--fix` applies it.
    Safe,
    /// It changes what the code means (it declares a change irreversible, renames what
    /// databases recorded, adds a migration): applied only with `--unsafe-fixes`.
    Unsafe,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
        }
    }
}

/// One replacement of a byte range of a file (an insertion when the range is empty).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Edit {
    pub file: FileId,
    pub range: TextRange,
    pub content: String,
}

impl Edit {
    pub fn insert(file: FileId, at: TextSize, content: impl Into<String>) -> Edit {
        Edit {
            file,
            range: TextRange::empty(at),
            content: content.into(),
        }
    }

    pub fn replace(file: FileId, range: TextRange, content: impl Into<String>) -> Edit {
        Edit {
            file,
            range,
            content: content.into(),
        }
    }
}

/// A file a fix creates (a merge migration), by path relative to the project root.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NewFile {
    pub path: String,
    pub content: String,
}

/// A repair: text edits (never overlapping one another) and new files, with what it does
/// and whether it may be applied unattended. Edits hold byte ranges into the text the
/// diagnostic was computed on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fix {
    /// What applying it does, e.g. "add `IF NOT EXISTS`": lowercase, no trailing period.
    pub message: String,
    pub applicability: Applicability,
    pub edits: Vec<Edit>,
    pub new_files: Vec<NewFile>,
}

impl Fix {
    pub fn safe(message: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix {
            message: message.into(),
            applicability: Applicability::Safe,
            edits,
            new_files: Vec::new(),
        }
    }

    pub fn unsafe_edit(message: impl Into<String>, edits: Vec<Edit>) -> Fix {
        Fix {
            message: message.into(),
            applicability: Applicability::Unsafe,
            edits,
            new_files: Vec::new(),
        }
    }
}

impl Diagnostic {
    pub fn new(
        code: &'static str,
        name: &'static str,
        severity: Severity,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            code,
            name,
            severity,
            message: message.into(),
            primary: None,
            primary_label: String::new(),
            labels: Vec::new(),
            notes: Vec::new(),
            help: None,
            redact: Vec::new(),
            fix: None,
        }
    }

    /// Attaches a repair.
    pub fn with_fix(mut self, fix: Option<Fix>) -> Self {
        self.fix = fix;
        self
    }

    /// Marks a source range as secret: renderers will never show it whole.
    pub fn redact(mut self, span: Span) -> Self {
        self.redact.push(span);
        self
    }

    pub fn at(mut self, span: Span, label: impl Into<String>) -> Self {
        self.primary = Some(span);
        self.primary_label = label.into();
        self
    }

    pub fn label(mut self, span: Span, message: impl Into<String>) -> Self {
        self.labels.push(Label {
            span,
            message: message.into(),
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

/// Sorts diagnostics into the one order every format prints: by path, position, code,
/// then message. The sort key uses paths, never `FileId`s, so it does not depend on the
/// order files were discovered or parsed in.
pub fn sort(db: &SourceDb, diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| key(db, a).cmp(&key(db, b)));
    fn key<'a>(
        db: &'a SourceDb,
        d: &'a Diagnostic,
    ) -> (Option<&'a str>, u32, u32, &'a str, &'a str, usize) {
        let (path, start, end) = match d.primary {
            Some(s) => (
                Some(db.file(s.file).path.as_str()),
                u32::from(s.range.start()),
                u32::from(s.range.end()),
            ),
            None => (None, 0, 0),
        };
        (path, start, end, d.code, d.message.as_str(), d.labels.len())
    }
}

/// Counts per severity, for summaries.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of(diagnostics: &[Diagnostic]) -> Counts {
        let mut c = Counts::default();
        for d in diagnostics {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}
