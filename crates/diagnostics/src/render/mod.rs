//! One renderer per output format. Each takes diagnostics already sorted by
//! [`crate::sort`] and writes them to the writer it is given.
//!
//! - `text`: rustc-style, for people ([`text`]).
//! - `json`: djcheck's own schema ([`json`]).
//! - `sarif`: SARIF 2.1.0, for code scanning ([`sarif`]).
//! - `github`: GitHub Actions workflow commands, which annotate a pull request ([`github`]).
//! - `gitlab`: GitLab Code Quality JSON ([`gitlab`]).
//! - `markdown`: one report for a pull request comment or a CI step summary ([`markdown`]).

pub mod github;
pub mod gitlab;
pub mod json;
pub mod markdown;
pub mod sarif;
pub mod text;

use crate::{Counts, Diagnostic, Severity, SourceDb, Span};

/// What a renderer may say about a rule: SARIF lists every rule with its documentation.
///
/// The rule API lives in the linter, which this crate must not depend on; the CLI fills
/// this from each rule's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleInfo {
    /// Stable public code, e.g. `MIG001`.
    pub code: &'static str,
    /// Kebab-case name, e.g. `missing-dependency`.
    pub name: &'static str,
    /// The severity the rule reports at in this run (its default, or the configured one).
    pub severity: Severity,
    /// One line: the first paragraph of the doc's `## What it finds`.
    pub summary: String,
    /// The whole doc (Markdown): What it finds / Why it matters / Example / How to fix.
    pub doc: String,
}

/// What was analysed, for `summary.project` (json) and the text summary: filled by the
/// CLI from the project model, which this crate must not depend on. The keys are public:
/// tools build on them.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct ProjectSummary {
    /// The settings module, or null.
    pub settings: Option<String>,
    /// How it was found: `config`, `manage.py`, `wsgi.py`, `asgi.py`, `pytest`,
    /// `django-stubs`, `file-name`; null when none was.
    pub settings_source: Option<String>,
    pub installed_apps_complete: bool,
    /// Project apps with migrations.
    pub apps: usize,
    /// Migration files analysed.
    pub migrations: usize,
    pub root_urlconf: Option<String>,
    /// `complete`, `partial` or `none`.
    pub url_tree: String,
    pub not_analysed: Vec<NotAnalysedEntry>,
    /// The models of models.py compared with the migrations (MIG010).
    pub models: ModelsSummary,
}

/// How many models of models.py were compared with what their migrations build.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct ModelsSummary {
    /// Whether the comparison ran (MIG010 selected).
    pub compared: bool,
    /// Models whose comparison is decided: the same, or changed.
    pub decided: usize,
    /// Models with a part that can't be compared statically (why: `not_analysed`).
    pub undecidable: usize,
}

/// One thing not analysed: what, why, and where (path relative to the project root,
/// 1-based line), when the cause is in a file.
#[derive(Debug, Clone, Default, serde::Serialize, PartialEq, Eq)]
pub struct NotAnalysedEntry {
    pub what: String,
    pub why: String,
    pub path: Option<String>,
    pub line: Option<u32>,
    /// What the user can do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl NotAnalysedEntry {
    /// `what: why at path:line (fix)`, for one-line summaries.
    pub fn one_line(&self) -> String {
        let mut out = format!("{}: {}", self.what, self.why);
        if let (Some(p), Some(l)) = (&self.path, self.line) {
            out.push_str(&format!(" at {p}:{l}"));
        } else if let Some(p) = &self.path {
            out.push_str(&format!(" in {p}"));
        }
        if let Some(f) = &self.fix {
            out.push_str(&format!(" ({f})"));
        }
        out
    }
}

/// The documentation of a rule, on the web: its section in `docs/rules.md` (written by
/// `djcheck rules --format markdown`).
pub fn rule_url(code: &str) -> String {
    format!(
        "{}/blob/main/docs/rules.md#{}",
        env!("CARGO_PKG_REPOSITORY"),
        code.to_ascii_lowercase()
    )
}

/// What every renderer gets besides the diagnostics.
pub struct RenderContext<'a> {
    pub db: &'a SourceDb,
    /// Number of files analysed, for summaries.
    pub files_checked: usize,
    /// Every rule, sorted by code (SARIF's rule table).
    pub rules: &'a [RuleInfo],
    /// The project root's folder relative to the repository root, `/`-terminated, or
    /// empty. The formats read against a repository (github, gitlab, sarif) put it in
    /// front of every path so annotations land on the right file when the Django project
    /// lives in a subfolder; `text` and `json` keep paths relative to the project root.
    pub repo_prefix: &'a str,
    /// What was analysed (`summary.project`), when the run loaded a project.
    pub project: Option<&'a ProjectSummary>,
}

impl RenderContext<'_> {
    pub fn counts(&self, diagnostics: &[Diagnostic]) -> Counts {
        Counts::of(diagnostics)
    }

    /// A file's path as the repository-facing formats print it.
    pub fn repo_path(&self, span: Span) -> String {
        format!("{}{}", self.repo_prefix, self.db.file(span.file).path)
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
pub fn range_of(db: &SourceDb, span: Span) -> Range {
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

/// The message, then the notes and help, one per line: what formats with a single text
/// field (github, sarif) show.
pub(crate) fn full_message(d: &Diagnostic) -> String {
    let mut out = d.message.clone();
    for n in &d.notes {
        out.push_str("\nnote: ");
        out.push_str(n);
    }
    if let Some(h) = &d.help {
        out.push_str("\nhelp: ");
        out.push_str(h);
    }
    out
}
