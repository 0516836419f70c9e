//! General rules: problems with the input files themselves (PARSE) and with suppression
//! comments and baselines (SUP).
//!
//! The PARSE rules turn the problems recorded while loading (files that do not parse,
//! files that cannot be read) into diagnostics, so they can be selected and ignored like
//! any other rule. The SUP rules are reported by the runner's suppression step
//! (`djcheck_linter::suppress`), SUP003 by the command line when it applies a baseline;
//! their files hold their documentation. They depend only on
//! the rule API and the project model.

mod parse001_syntax_error;
mod parse002_unreadable_file;
mod sup001_unused_suppression;
mod sup002_bare_suppression;
mod sup003_stale_baseline_entry;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &parse001_syntax_error::SyntaxError,
    &parse002_unreadable_file::UnreadableFile,
    &sup001_unused_suppression::UnusedSuppression,
    &sup002_bare_suppression::BareSuppression,
    &sup003_stale_baseline_entry::StaleBaselineEntry,
];
