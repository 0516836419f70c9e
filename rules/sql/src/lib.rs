//! djcheck RunSQL idempotency and safety rules (SQL).
//!
//! What it is: the rules that check the `sql`/`reverse_sql` of every `RunSQL`, as the
//! SQL front end (`djcheck_sql`) reads them (read from the Python source and mapped back
//! to it byte for byte by the per-file facts, `FileContext::sql`; tokenized and split into
//! statements; parsed with sqlparser where it can; `DO` blocks opened and their guards
//! read) and the rules that check it.
//!
//! Depends only on the rule API, the project model, the Python front end and sqlparser.
//! Entry points: [`RULES`], sorted by code; [`facts`], what a migration's SQL does to
//! tables, for the deploy-safety rules.

mod common;
mod confirm;
pub mod facts;
mod sql001_create_without_if_not_exists;
mod sql002_drop_without_if_exists;
mod sql003_alter_without_guard;
mod sql004_insert_without_conflict_handling;
mod sql005_irreversible_runsql;
mod sql006_hardcoded_schema;
mod sql007_unparsable_sql;
mod sql008_concurrently_in_atomic_migration;
#[cfg(test)]
mod testing;

use djcheck_linter::Rule;
use djcheck_sql::{lex, shape};

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &sql001_create_without_if_not_exists::CreateWithoutIfNotExists,
    &sql002_drop_without_if_exists::DropWithoutIfExists,
    &sql003_alter_without_guard::AlterWithoutGuard,
    &sql004_insert_without_conflict_handling::InsertWithoutConflictHandling,
    &sql005_irreversible_runsql::IrreversibleRunsql,
    &sql006_hardcoded_schema::HardcodedSchema,
    &sql007_unparsable_sql::UnparsableSql,
    &sql008_concurrently_in_atomic_migration::ConcurrentlyInAtomicMigration,
];
