use crate::walk::{self, Side};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::OpKind;
use djcheck_rules_sql::facts::FactKind;

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed that adds a `NOT NULL` column without a database
    /// default to a table that already exists: `AddField` of a field without `null=True`
    /// and without `db_default`, or a `RunSQL` with `ALTER TABLE ... ADD COLUMN ... NOT
    /// NULL` and no `DEFAULT`.
    ///
    /// Silent for a table created by a migration of the same deploy, for many-to-many
    /// fields (no column), auto and generated fields (the database fills them).
    ///
    /// ## Why it matters
    /// Django adds the column with the field's `default` only to fill the existing rows,
    /// then drops that default in the same migration (PostgreSQL and MySQL:
    /// `ADD COLUMN "c" integer DEFAULT 0 NOT NULL; ALTER COLUMN "c" DROP DEFAULT`; SQLite
    /// rebuilds the table without it). Until the new release is everywhere, the previous
    /// release's code inserts rows without the column, and every such `INSERT` fails
    /// with a NOT NULL violation. Without any default, `ADD COLUMN ... NOT NULL` fails
    /// outright on a table with rows. This matters on every backend.
    ///
    /// ## Example
    /// ```python
    /// migrations.AddField(
    ///     model_name="order",
    ///     name="channel",
    ///     field=models.CharField(default="web", max_length=20),
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Give the column a default the database keeps: `db_default` (Django 5.0+):
    /// ```python
    /// field=models.CharField(default="web", db_default="web", max_length=20)
    /// ```
    /// Or in two deploys: add the field with `null=True` and deploy; backfill it (in
    /// batches, outside the schema migration); then make it NOT NULL in a later release
    /// (see SAFE004 for doing that without a long lock).
    pub struct NotNullColumnWithoutDefault { code: "SAFE001", name: "not-null-column-without-default", severity: Warning }
}

impl Rule for NotNullColumnWithoutDefault {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let mut new_tables = None;
        for site in walk::sites(project) {
            walk::for_each_op(&site, |op, side, cursor| {
                let OpKind::AddField {
                    model,
                    field: Some(f),
                } = &op.kind
                else {
                    return;
                };
                if side != Side::Both && side != Side::DatabaseOnly {
                    return;
                }
                let Some(def) = site.existing(cursor, model) else {
                    return;
                };
                if f.is_many_to_many()
                    || f.splat
                    || f.nullable() != Some(false)
                    || f.kw("db_default").is_some()
                    || f.class.ends_with("AutoField")
                    || f.class == "GeneratedField"
                    || f.flag("primary_key", false) != Some(false)
                {
                    return;
                }
                let Some(name) = &f.name else { return };
                let table = def.db_table().unwrap_or_else(|| def.name.clone());
                let mut d = Self::META
                    .diagnostic(format!(
                        "NOT NULL column `{}` added to existing table `{table}` without a database default",
                        name.value
                    ))
                    .at(site.span(name.range), "no `null=True`, no `db_default`");
                d = if f.kw("default").is_some() {
                    d.note("Django fills the existing rows with `default`, then drops the column's default: the running release's inserts, which do not know the column, fail with a NOT NULL violation")
                } else {
                    d.note("with no default at all, the running release's inserts fail with a NOT NULL violation (and the migration itself fails on a table with rows)")
                };
                out.push(d.help(
                    "add `db_default=...` (Django 5.0+) so the database keeps a default, or add the field with `null=True`, backfill, and make it NOT NULL in a later release",
                ));
            });
            let facts = site.sql_facts();
            if facts.is_empty() {
                continue;
            }
            for f in facts {
                let FactKind::AddColumnNotNull { column } = &f.kind else {
                    continue;
                };
                if walk::all_new(
                    &f,
                    new_tables.get_or_insert_with(|| walk::new_tables(project)),
                ) {
                    continue;
                }
                let table = f.tables.first().cloned().unwrap_or_default();
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "NOT NULL column `{column}` added to table `{table}` without a default"
                        ))
                        .at(site.span(f.range), "`NOT NULL` and no `DEFAULT`")
                        .note("the running release's inserts, which do not know the column, fail with a NOT NULL violation, and the statement fails on a table with rows")
                        .help("add the column with a `DEFAULT`, or nullable first; backfill, then `SET NOT NULL` in a later release"),
                );
            }
        }
    }
}
