//! djcheck hardcoded secrets in migrations (SEC).
//!
//! SEC001 follows literals into password arguments and secret-named places in the code
//! `RunPython` runs; SEC002 recognises credential formats in every string literal of a
//! migration file. Both redact what they find: messages show at most four characters of
//! a secret, and the literal is masked in every rendered snippet.
//!
//! Depends only on the rule API, the project model and the Python front end.
//! Entry point: [`RULES`], sorted by code.

mod formats;
mod literal;
mod sec001_hardcoded_password;
mod sec002_hardcoded_token;
#[cfg(test)]
use djcheck_linter::testing;

use djcheck_linter::Rule;

pub use sec001_hardcoded_password::SECRET_NAMES;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &sec001_hardcoded_password::HardcodedPassword,
    &sec002_hardcoded_token::HardcodedToken,
];
