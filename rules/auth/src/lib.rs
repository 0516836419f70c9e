//! djcheck custom user model ordering rules (AUTH).
//!
//! Depends only on the rule API, the project model and the Python front end.
//! Entry point: [`RULES`], sorted by code.

mod auth001_missing_swappable_dependency;
mod auth002_hardcoded_user_model;
mod auth003_user_model_not_in_first_migration;
mod auth004_user_app_depends_on_dependent;
mod auth005_unknown_user_model;
mod user;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &auth001_missing_swappable_dependency::MissingSwappableDependency,
    &auth002_hardcoded_user_model::HardcodedUserModel,
    &auth003_user_model_not_in_first_migration::UserModelNotInFirstMigration,
    &auth004_user_app_depends_on_dependent::UserAppDependsOnDependent,
    &auth005_unknown_user_model::UnknownUserModel,
];
