//! djcheck RunPython rules (PY).
//!
//! The code a `RunPython` runs is found once per file, in the per-file facts
//! (`FileContext::run_python`, on [`djcheck_python::functions`]): its forward and
//! reverse functions and every function of the migration module they call. PY001
//! looks at the operation itself, PY002 and PY003 at that code.
//!
//! Depends only on the rule API, the project model and the Python front end.
//! Entry point: [`RULES`], sorted by code.

mod py001_irreversible_runpython;
mod py002_current_model_in_runpython;
mod py003_non_idempotent_data_migration;
#[cfg(test)]
use djcheck_linter::testing;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &py001_irreversible_runpython::IrreversibleRunPython,
    &py002_current_model_in_runpython::CurrentModelInRunPython,
    &py003_non_idempotent_data_migration::NonIdempotentDataMigration,
];
