//! Migration graph rules (MIG): missing dependencies, conflicting leaves, cycles,
//! duplicate numbers. They read the project model's graph, built as Django builds it.
//!
//! Depends only on the rule API and the project model. Entry point: [`RULES`].

mod fixes;
mod mig001_missing_dependency;
mod mig002_conflicting_leaves;
mod mig003_dependency_cycle;
mod mig004_renamed_migration;
mod mig005_foreign_table_name;
mod mig006_unresolved_model_reference;
mod mig008_duplicate_migration_number;
mod mig009_missing_migration_class;
mod mig010_model_changes_without_migration;
mod util;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &mig001_missing_dependency::MissingDependency,
    &mig002_conflicting_leaves::ConflictingLeaves,
    &mig003_dependency_cycle::DependencyCycle,
    &mig004_renamed_migration::RenamedMigration,
    &mig005_foreign_table_name::ForeignTableName,
    &mig006_unresolved_model_reference::UnresolvedModelReference,
    &mig008_duplicate_migration_number::DuplicateMigrationNumber,
    &mig009_missing_migration_class::MissingMigrationClass,
    &mig010_model_changes_without_migration::ModelChangesWithoutMigration,
];
