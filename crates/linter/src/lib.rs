//! The rule API and the runner.
//!
//! What it is: the [`Rule`] trait and [`declare_rule!`] (a rule's doc comment is its
//! documentation, printed by `djcheck rule CODE`), rule [`Selection`] by code or prefix,
//! and [`run`]: load the project on large-stack threads, run per-file rules while each
//! file's tree is alive and project rules after, in parallel, each inside `catch_unwind`,
//! then apply suppression comments ([`suppress`]) and sort.
//!
//! What it must never depend on: any rule crate (rule families depend on this crate and
//! the CLI assembles them), the config file format, or the CLI.
//!
//! Architecture invariants: rules are pure (they read the model and push diagnostics:
//! no I/O, no `Result`, no panics); a panicking rule becomes an internal error, never a
//! crash; output order never depends on thread scheduling.

mod runner;
mod selection;
pub mod suppress;
pub mod testing;

pub use djcheck_diagnostics::{
    Applicability, Diagnostic, Edit, FileId, Fix, Label, NewFile, Severity, Span,
};
pub use djcheck_project::{FileContext, Project};
pub use runner::{
    load_project, recheck, run, run_with_cache, scrub_messages, RunOptions, RunResult, STACK_SIZE,
};
pub use selection::Selection;

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct RuleMeta {
    /// Stable public code, e.g. `MIG001`.
    pub code: &'static str,
    /// Kebab-case name, e.g. `missing-dependency`.
    pub name: &'static str,
    pub severity: Severity,
    /// Whether the rule runs when the selection does not name it. Rules off by default
    /// (`opt_in: true` in [`declare_rule!`]) run only when `select` or `extend-select`
    /// names them (or `ALL`).
    pub on_by_default: bool,
    /// The rule's doc comment: What it finds / Why it matters / Example / How to fix.
    pub doc: &'static str,
}

impl RuleMeta {
    /// A new diagnostic of this rule with its default severity.
    pub fn diagnostic(&self, message: impl Into<String>) -> Diagnostic {
        Diagnostic::new(self.code, self.name, self.severity, message)
    }

    /// The doc text with the one leading space of each doc-comment line removed.
    pub fn doc_text(&self) -> String {
        let mut out = String::new();
        for line in self.doc.split('\n') {
            out.push_str(line.strip_prefix(' ').unwrap_or(line));
            out.push('\n');
        }
        while out.ends_with("\n\n") {
            out.pop();
        }
        out
    }

    /// The first paragraph under `## What it finds`, as one line.
    pub fn summary(&self) -> String {
        let doc = self.doc_text();
        let mut lines = doc
            .split('\n')
            .skip_while(|l| !l.starts_with("## What it finds"))
            .skip(1);
        let mut out = Vec::new();
        for l in lines.by_ref() {
            if l.trim().is_empty() {
                if out.is_empty() {
                    continue;
                }
                break;
            }
            out.push(l.trim());
        }
        out.join(" ")
    }
}

/// A check. Implement `check_file` for rules that look at one file's syntax, or
/// `check_project` for rules over the project model (graph, settings, URL tree).
pub trait Rule: Sync + Send {
    fn meta(&self) -> &'static RuleMeta;

    /// Runs on every parsed file while its syntax tree is alive.
    fn check_file(&self, _cx: &FileContext<'_>, _out: &mut Vec<Diagnostic>) {}

    /// Runs once on the whole project.
    fn check_project(&self, _project: &Project, _out: &mut Vec<Diagnostic>) {}

    /// Whether [`Rule::check_project`] may read the migrations or anything built from
    /// them (the graph, the model state, the models comparison, renames, the deploy
    /// scope, the base snapshot). False for a rule that reads only the settings, the URL
    /// tree and the texts of other modules: a re-check after edits to migrations only
    /// ([`crate::recheck`]) keeps what it found.
    fn reads_migrations(&self) -> bool {
        true
    }

    /// True for the secret detectors: they run even when not selected, and what their
    /// findings mask ([`Diagnostic::redact`]) is masked in every snippet; their findings
    /// are reported only when they are selected.
    fn finds_secrets(&self) -> bool {
        false
    }

    /// Source ranges of a Python file a snippet shows that hold something this rule takes
    /// for a credential, found or not by its own checks (any literal that looks like one,
    /// by name or format, on any line): rendered snippets mask them. Called only for
    /// rules whose [`Rule::finds_secrets`] is true, selected or not, on the files some
    /// diagnostic points into. `parsed` may hold syntax errors (its tree is partial).
    fn secret_ranges(
        &self,
        _text: &str,
        _parsed: &djcheck_python::ParsedModule,
        _out: &mut Vec<djcheck_diagnostics::TextRange>,
    ) {
    }
}

/// Declares a rule type whose doc comment becomes its documentation.
///
/// ```ignore
/// declare_rule! {
///     /// ## What it finds
///     /// ...
///     pub struct MissingDependency { code: "MIG001", name: "missing-dependency", severity: Error }
/// }
/// ```
#[macro_export]
macro_rules! declare_rule {
    (
        $(#[doc = $doc:literal])*
        $vis:vis struct $ty:ident { code: $code:literal, name: $name:literal, severity: $sev:ident $(, opt_in: $opt_in:literal)? $(,)? }
    ) => {
        $(#[doc = $doc])*
        #[derive(Debug, Clone, Copy, Default)]
        $vis struct $ty;

        impl $ty {
            pub const META: $crate::RuleMeta = $crate::RuleMeta {
                code: $code,
                name: $name,
                severity: $crate::Severity::$sev,
                on_by_default: {
                    #[allow(unused_mut)]
                    let mut on = true;
                    $(on = !$opt_in;)?
                    on
                },
                doc: concat!($($doc, "\n"),*),
            };
        }
    };
}

/// The sections every rule doc must have, in order.
pub const DOC_SECTIONS: &[&str] = &[
    "## What it finds",
    "## Why it matters",
    "## Example",
    "## How to fix",
];
