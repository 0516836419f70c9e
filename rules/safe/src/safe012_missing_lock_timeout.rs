use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::SqlDialect;
use djcheck_rules_sql::facts::FactKind;

declare_rule! {
    /// ## What it finds
    /// With `require-lock-timeout = true` in the configuration: the first statement of a
    /// migration's `RunSQL` that takes a lock on an existing table (`ALTER TABLE`,
    /// `CREATE INDEX` without `CONCURRENTLY`, `DROP TABLE`, `LOCK`, `TRUNCATE`,
    /// `CREATE TRIGGER`, `VACUUM FULL`, `CLUSTER`, `REINDEX`) with no `SET lock_timeout`
    /// (or `SET LOCAL lock_timeout`) before it in the migration's SQL. Off by default;
    /// PostgreSQL only.
    ///
    /// ## Why it matters
    /// A statement that needs a strong lock waits behind every transaction that uses the
    /// table, and while it waits, every new query on the table queues behind it: a
    /// long-running report turns a millisecond `ALTER TABLE` into an outage. With
    /// `lock_timeout` the statement gives up after the timeout instead, the migration
    /// fails cleanly and can be retried.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL("ALTER TABLE shop_order ADD COLUMN note text")
    /// ```
    ///
    /// ## How to fix
    /// Set a timeout first, in the same migration (`SET LOCAL` lasts until the migration's
    /// transaction ends):
    /// ```python
    /// migrations.RunSQL("SET LOCAL lock_timeout = '5s'; ALTER TABLE shop_order ADD COLUMN note text")
    /// ```
    pub struct MissingLockTimeout { code: "SAFE012", name: "missing-lock-timeout", severity: Warning }
}

impl Rule for MissingLockTimeout {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        if !project.options.require_lock_timeout
            || project.options.sql_dialect != SqlDialect::PostgreSql
        {
            return;
        }
        let mut new_tables = None;
        for site in walk::sites(project) {
            let facts = site.sql_facts();
            if facts.is_empty() {
                continue;
            }
            for f in facts {
                let locks = match f.kind {
                    FactKind::SetLockTimeout => break,
                    FactKind::CreateIndex { concurrently } => !concurrently,
                    FactKind::LockTable
                    | FactKind::Truncate
                    | FactKind::AddColumnNotNull { .. }
                    | FactKind::Locks => true,
                    FactKind::TransactionControl(_) | FactKind::CreateTable => false,
                };
                if !locks
                    || walk::all_new(
                        &f,
                        new_tables.get_or_insert_with(|| walk::new_tables(project)),
                    )
                {
                    continue;
                }
                out.push(
                    Self::META
                        .diagnostic("lock-taking statement in `RunSQL` without a `lock_timeout`")
                        .at(site.span(f.range), "waits for its lock as long as it takes, and every query queues behind it")
                        .note("`require-lock-timeout` is set in the configuration")
                        .help("start the migration's SQL with `SET LOCAL lock_timeout = '5s'`"),
                );
                break;
            }
        }
    }
}
