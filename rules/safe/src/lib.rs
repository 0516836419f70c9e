//! Deploy-safety rules (SAFE): what breaks a zero-downtime deploy, decided from the model
//! state without importing Django.
//!
//! While a deploy runs, the previous release's code keeps serving requests against the
//! schema the new migrations produce, and the migrations run against tables that are
//! being written to. These rules judge only the migrations about to be deployed (the
//! project model's deploy scope: added since `--base`, the files given, those after
//! `deploy-safety-since`, else each app's leaf) and never an operation on a table that a
//! migration of the same deploy created: nobody else uses it yet.
//!
//! Depends only on the rule API, the project model (its deploy scope and field-level
//! model state), the Python front end and the SQL family's facts about RunSQL. Entry
//! point: [`RULES`], sorted by code.

mod safe001_not_null_column_without_default;
mod safe002_remove_field_or_model;
mod safe003_rename_column_or_table;
mod safe004_alter_field_rewrites_table;
mod safe005_index_without_concurrently;
mod safe006_concurrent_operation_in_atomic_migration;
mod safe007_foreign_key_on_existing_table;
mod safe008_check_constraint_on_existing_table;
mod safe009_schema_and_data_in_one_migration;
mod safe010_transaction_control_in_runsql;
mod safe011_lock_or_truncate_in_runsql;
mod safe012_missing_lock_timeout;
mod walk;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &safe001_not_null_column_without_default::NotNullColumnWithoutDefault,
    &safe002_remove_field_or_model::RemoveFieldOrModel,
    &safe003_rename_column_or_table::RenameColumnOrTable,
    &safe004_alter_field_rewrites_table::AlterFieldRewritesTable,
    &safe005_index_without_concurrently::IndexWithoutConcurrently,
    &safe006_concurrent_operation_in_atomic_migration::ConcurrentOperationInAtomicMigration,
    &safe007_foreign_key_on_existing_table::ForeignKeyOnExistingTable,
    &safe008_check_constraint_on_existing_table::CheckConstraintOnExistingTable,
    &safe009_schema_and_data_in_one_migration::SchemaAndDataInOneMigration,
    &safe010_transaction_control_in_runsql::TransactionControlInRunsql,
    &safe011_lock_or_truncate_in_runsql::LockOrTruncateInRunsql,
    &safe012_missing_lock_timeout::MissingLockTimeout,
];
