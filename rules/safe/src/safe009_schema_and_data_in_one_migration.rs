use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::OpKind;
use djcheck_project::SqlDialect;

declare_rule! {
    /// ## What it finds
    /// An atomic migration about to be deployed that changes the schema of an existing
    /// table (adds, alters, removes or renames a field, adds an index or a constraint,
    /// renames or deletes a model) and then runs `RunPython`.
    ///
    /// Silent when the schema changes only touch tables created in the same deploy, when
    /// the migration has `atomic = False`, and when `sql-dialect` is not `postgresql`.
    ///
    /// ## Why it matters
    /// PostgreSQL's DDL is transactional: the lock a schema change takes (ACCESS EXCLUSIVE
    /// for most of them) is held until the migration's transaction commits, so every query
    /// on the table waits for the whole data migration, not just the schema change. A
    /// backfill that takes minutes is minutes of downtime. MySQL commits DDL at once (no
    /// such lock), SQLite locks the whole database for any write anyway.
    ///
    /// ## Example
    /// ```python
    /// operations = [
    ///     migrations.AddField(model_name="order", name="total_cents", field=models.IntegerField(null=True)),
    ///     migrations.RunPython(fill_total_cents, migrations.RunPython.noop),
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// Put the data migration in a migration of its own, after the schema change (and
    /// backfill in batches, or with `atomic = False`, so no long transaction holds locks).
    pub struct SchemaAndDataInOneMigration { code: "SAFE009", name: "schema-and-data-in-one-migration", severity: Warning }
}

impl Rule for SchemaAndDataInOneMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        if project.options.sql_dialect != SqlDialect::PostgreSql {
            return;
        }
        for site in walk::sites(project) {
            if site.atomic() != Some(true) {
                continue;
            }
            let mut schema = None;
            let mut data = None;
            walk::for_each_op(&site, |op, _, cursor| match &op.kind {
                // A data migration after a schema change runs while its lock is held.
                OpKind::RunPython { .. } if data.is_none() && schema.is_some() => {
                    data = Some(op.range);
                }
                OpKind::AddField { .. }
                | OpKind::AlterField { .. }
                | OpKind::RemoveField { .. }
                | OpKind::RenameField { .. }
                | OpKind::RenameModel { .. }
                | OpKind::DeleteModel { .. }
                | OpKind::AlterModelTable { .. }
                | OpKind::ModelOption { .. } => {
                    if schema.is_some()
                        || matches!(
                            op.call.as_str(),
                            "AlterModelManagers"
                                | "AlterOrderWithRespectTo"
                                | "AlterModelTableComment"
                        )
                    {
                        return;
                    }
                    if let Some(def) = site.existing(cursor, &walk::model_of(op).cloned()) {
                        schema = Some((
                            walk::head(&site, op.range),
                            op.call.clone(),
                            def.db_table().unwrap_or_default(),
                        ));
                    }
                }
                _ => {}
            });
            let (Some(data), Some((schema, call, table))) = (data, schema) else {
                continue;
            };
            let data = walk::head(&site, data);
            out.push(
                Self::META
                    .diagnostic(format!(
                        "data migration in the same transaction as a schema change of `{table}`"
                    ))
                    .at(site.span(data), "runs while the schema change's lock is held")
                    .label(site.span(schema), format!("`{call}` locks `{table}` until the migration commits"))
                    .note("PostgreSQL keeps the lock of a schema change until the transaction commits: queries on the table wait for the whole data migration")
                    .help("move the `RunPython` into a migration of its own, after this one"),
            );
        }
    }
}
