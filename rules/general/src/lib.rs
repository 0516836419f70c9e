//! General rules: problems with the input files themselves (PARSE).
//!
//! These rules turn the problems recorded while loading (files that do not parse, files
//! that cannot be read) into diagnostics, so they can be selected and ignored like any
//! other rule. They depend only on the rule API and the project model.

mod parse001_syntax_error;
mod parse002_unreadable_file;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &parse001_syntax_error::SyntaxError,
    &parse002_unreadable_file::UnreadableFile,
];
