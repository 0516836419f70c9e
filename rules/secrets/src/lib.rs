//! djcheck hardcoded secrets in migrations (SEC).
//!
//! Depends only on the rule API, the project model and the Python front end.
//! Entry point: [`RULES`], sorted by code.

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[];
