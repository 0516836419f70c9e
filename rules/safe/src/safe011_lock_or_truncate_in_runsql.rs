use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_rules_sql::facts::FactKind;

declare_rule! {
    /// ## What it finds
    /// `LOCK TABLE` or `TRUNCATE` in the `sql` of a `RunSQL` of a migration about to be
    /// deployed, on a table that exists before this deploy.
    ///
    /// Silent when every table named was created in the same deploy (by Django's
    /// operations or earlier in the same SQL).
    ///
    /// ## Why it matters
    /// Both take PostgreSQL's strongest lock (`LOCK TABLE` defaults to ACCESS EXCLUSIVE;
    /// `TRUNCATE` always takes it): every read and write of the table waits until the
    /// migration's transaction commits, which in an atomic migration is after every later
    /// operation has run. `TRUNCATE` also empties a table the running release is using.
    /// On MySQL, `LOCK TABLES` commits the migration's transaction implicitly and
    /// `TRUNCATE` is DDL; SQLite has neither.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL("LOCK TABLE shop_order IN ACCESS EXCLUSIVE MODE; UPDATE shop_order SET ...")
    /// ```
    ///
    /// ## How to fix
    /// Avoid the explicit lock: update rows in batches, each in its own short transaction
    /// (`atomic = False`). Instead of `TRUNCATE` on a table still in use, stop using it in
    /// one release and empty or drop it in the next. If a lock is unavoidable, set
    /// `lock_timeout` first so that the migration gives up instead of queueing every query
    /// behind it.
    pub struct LockOrTruncateInRunsql { code: "SAFE011", name: "lock-or-truncate-in-runsql", severity: Warning }
}

impl Rule for LockOrTruncateInRunsql {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let mut new_tables = None;
        for site in walk::sites(project) {
            let facts = site.sql_facts();
            if facts.is_empty() {
                continue;
            }
            for f in facts {
                let what = match f.kind {
                    FactKind::LockTable => "LOCK TABLE",
                    FactKind::Truncate => "TRUNCATE",
                    _ => continue,
                };
                if walk::all_new(
                    &f,
                    new_tables.get_or_insert_with(|| walk::new_tables(project)),
                ) {
                    continue;
                }
                out.push(
                    Self::META
                        .diagnostic(format!("`{what}` of existing table `{}` in `RunSQL`", f.tables.join("`, `")))
                        .at(site.span(f.range), "takes an ACCESS EXCLUSIVE lock until the migration commits")
                        .note("every read and write of the table waits until the migration's transaction commits")
                        .help("update in batches with `atomic = False` instead of locking; empty or drop a table only once no running code uses it"),
                );
            }
        }
    }
}
