use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_rules_sql::facts::FactKind;

declare_rule! {
    /// ## What it finds
    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK` or `ABORT` in the `sql` of
    /// a `RunSQL` of an atomic migration about to be deployed. (Statements inside a `DO`
    /// block are not transaction control; `ROLLBACK TO SAVEPOINT` is allowed.)
    ///
    /// ## Why it matters
    /// Django runs an atomic migration in one transaction and records it as applied in
    /// that same transaction. A `COMMIT` in its SQL ends that transaction early: the
    /// statements after it run outside any transaction, and a failure later leaves the
    /// migration half applied and not recorded, so the next `migrate` runs it again over
    /// a changed schema. A `BEGIN` only earns a warning from PostgreSQL ("there is already
    /// a transaction in progress") but says the author expected a transaction of their
    /// own. On MySQL, DDL commits implicitly anyway; SQLite refuses a nested `BEGIN`.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL("BEGIN; UPDATE shop_order SET total = 0 WHERE total IS NULL; COMMIT;")
    /// ```
    ///
    /// ## How to fix
    /// Remove the transaction control: the migration is already one transaction. If the
    /// SQL must commit in steps (a batched backfill), give the migration `atomic = False`.
    pub struct TransactionControlInRunsql { code: "SAFE010", name: "transaction-control-in-runsql", severity: Warning }
}

impl Rule for TransactionControlInRunsql {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for site in walk::sites(project) {
            if site.atomic() != Some(true) {
                continue;
            }
            for f in site.sql_facts() {
                let FactKind::TransactionControl(word) = &f.kind else {
                    continue;
                };
                let mut d = Self::META
                    .diagnostic(format!("`{word}` in `RunSQL` of an atomic migration"))
                    .at(site.span(f.range), "Django already runs this migration in a transaction")
                    .note("a `COMMIT` ends the migration's transaction early: what follows runs outside it, and a failure leaves the migration half applied and unrecorded")
                    .help("remove it, or set `atomic = False` on the `Migration` class if the SQL must commit in steps");
                if let Some(class) = site.m.class_range {
                    d = d.label(Span::new(site.m.file, class), "atomic");
                }
                out.push(d);
            }
        }
    }
}
