use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::{Field, OpKind};
use djcheck_project::SqlDialect;

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed that adds a foreign key constraint to an existing
    /// table: `AddField` of a `ForeignKey`/`OneToOneField`, or `AlterField` turning a
    /// field into one (or setting `db_constraint=True` again), judged against the field's
    /// previous definition.
    ///
    /// Silent for a table created by a migration of the same deploy, for
    /// `db_constraint=False`, for django-pg-migration-tools' `SaferAddFieldForeignKey`,
    /// and when `sql-dialect` is not `postgresql`.
    ///
    /// ## Why it matters
    /// On PostgreSQL, Django adds the column with its constraint and then builds the
    /// column's index, in the migration's transaction (`ALTER TABLE ... ADD COLUMN ...
    /// REFERENCES ...`, then `CREATE INDEX`). The table stays under the ACCESS EXCLUSIVE
    /// lock of `ADD COLUMN` until the migration commits, through the validation of every
    /// row and the index build: its reads and writes wait. The referenced table (often a
    /// hot one such as the users table) is held under a SHARE ROW EXCLUSIVE lock: its
    /// writes wait. An `AlterField` adding the constraint to an existing column validates
    /// every row the same way. On MySQL the table is copied for a new foreign key unless
    /// `foreign_key_checks` is off; SQLite rebuilds the table.
    ///
    /// ## Example
    /// ```python
    /// migrations.AddField(
    ///     model_name="order",
    ///     name="coupon",
    ///     field=models.ForeignKey(null=True, on_delete=models.SET_NULL, to="shop.coupon"),
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Add the column without the constraint and index, then build them without long
    /// locks: `db_constraint=False, db_index=False` first; then `AddIndexConcurrently` in
    /// a migration with `atomic = False`; then `ALTER TABLE ... ADD CONSTRAINT ...
    /// FOREIGN KEY ... NOT VALID` and, in a later migration, `VALIDATE CONSTRAINT` (a
    /// `RunSQL` inside `SeparateDatabaseAndState` whose state side sets
    /// `db_constraint=True`). django-pg-migration-tools' `SaferAddFieldForeignKey` does
    /// all of this in one operation.
    pub struct ForeignKeyOnExistingTable { code: "SAFE007", name: "foreign-key-on-existing-table", severity: Warning }
}

/// Whether the field has a foreign key constraint in the database.
fn constrained(f: &Field) -> Option<bool> {
    if !f.is_foreign_key() || f.is_many_to_many() {
        return Some(false);
    }
    f.flag("db_constraint", true)
}

impl Rule for ForeignKeyOnExistingTable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        if project.options.sql_dialect != SqlDialect::PostgreSql {
            return;
        }
        for site in walk::sites(project) {
            walk::for_each_op(&site, |op, _, cursor| {
                if op.call.starts_with("Safer") {
                    return;
                }
                let (model, f, prev_constrained) = match &op.kind {
                    OpKind::AddField {
                        model,
                        field: Some(f),
                    } => (model, f, Some(false)),
                    OpKind::AlterField {
                        model,
                        field: Some(f),
                    } => {
                        let Some(n) = &f.name else { return };
                        let Some(def) = site.existing(cursor, model) else {
                            return;
                        };
                        let Some(prev) = def.field(&n.value) else {
                            return;
                        };
                        (model, f, constrained(&prev.field))
                    }
                    _ => return,
                };
                if prev_constrained != Some(false) || constrained(f) != Some(true) {
                    return;
                }
                let Some(def) = site.existing(cursor, model) else {
                    return;
                };
                let Some(name) = &f.name else { return };
                let table = def.db_table().unwrap_or_else(|| def.name.clone());
                let target = f
                    .relation
                    .as_ref()
                    .map(|r| match &r.target {
                        djcheck_project::migration::ModelRef::Named { app, model } => {
                            format!(
                                " to `{}{model}`",
                                app.as_ref().map(|a| format!("{a}.")).unwrap_or_default()
                            )
                        }
                        djcheck_project::migration::ModelRef::Setting(s) => {
                            format!(" to `settings.{s}`")
                        }
                        djcheck_project::migration::ModelRef::Unknown => String::new(),
                    })
                    .unwrap_or_default();
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "foreign key `{}`{target} added to existing table `{table}`",
                            name.value
                        ))
                        .at(site.span(name.range), "constraint validated and index built under lock")
                        .note("PostgreSQL validates every row and builds the index while the table is locked (reads and writes wait) and the referenced table's writes wait")
                        .help("add it with `db_constraint=False, db_index=False`, then `AddIndexConcurrently` and `ADD CONSTRAINT ... NOT VALID` + `VALIDATE CONSTRAINT` in later migrations (django-pg-migration-tools: `SaferAddFieldForeignKey`)"),
                );
            });
        }
    }
}
