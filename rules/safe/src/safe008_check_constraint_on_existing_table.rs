use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::{OpKind, OptionArg};
use djcheck_project::SqlDialect;

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed that adds a `CheckConstraint` to an existing table
    /// with `AddConstraint` (or django-pg-migration-tools' `SaferAddCheckConstraint`
    /// aside), instead of the validate-later path.
    ///
    /// Silent for a table created by a migration of the same deploy, for
    /// `AddConstraintNotValid` (`django.contrib.postgres.operations`), and when
    /// `sql-dialect` is not `postgresql`.
    ///
    /// ## Why it matters
    /// Django writes `ALTER TABLE ... ADD CONSTRAINT ... CHECK (...)`: PostgreSQL takes an
    /// ACCESS EXCLUSIVE lock and checks every row before releasing it, so no read or write
    /// of the table goes through for the whole scan. MySQL 8.0.16+ checks the rows while
    /// copying the table; SQLite rebuilds the table.
    ///
    /// ## Example
    /// ```python
    /// migrations.AddConstraint(
    ///     model_name="order",
    ///     constraint=models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_gte_0"),
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Add it `NOT VALID` (checked for new rows only, a brief lock), and validate it in a
    /// later migration (`VALIDATE CONSTRAINT` scans under a SHARE UPDATE EXCLUSIVE lock,
    /// which lets reads and writes through):
    /// ```python
    /// from django.contrib.postgres.operations import AddConstraintNotValid, ValidateConstraint
    ///
    /// operations = [AddConstraintNotValid(model_name="order", constraint=...)]
    /// # next migration:
    /// operations = [ValidateConstraint(model_name="order", name="order_total_gte_0")]
    /// ```
    pub struct CheckConstraintOnExistingTable { code: "SAFE008", name: "check-constraint-on-existing-table", severity: Warning }
}

impl Rule for CheckConstraintOnExistingTable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        if project.options.sql_dialect != SqlDialect::PostgreSql {
            return;
        }
        for site in walk::sites(project) {
            walk::for_each_op(&site, |op, _, cursor| {
                let OpKind::ModelOption {
                    model,
                    arg: OptionArg::Part(p),
                    ..
                } = &op.kind
                else {
                    return;
                };
                if op.call != "AddConstraint" || !p.is_check() {
                    return;
                }
                let Some(def) = site.existing(cursor, model) else {
                    return;
                };
                let table = def.db_table().unwrap_or_else(|| def.name.clone());
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "check constraint `{}` validated on existing table `{table}` under an exclusive lock",
                            p.name.clone().unwrap_or_default()
                        ))
                        .at(site.span(p.range), "checks every row while holding the lock")
                        .note("PostgreSQL holds an ACCESS EXCLUSIVE lock while it checks every row: no read or write of the table goes through")
                        .help("use `AddConstraintNotValid` now and `ValidateConstraint` in a later migration (`django.contrib.postgres.operations`)"),
                );
            });
        }
    }
}
