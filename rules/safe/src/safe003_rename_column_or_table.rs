use crate::walk::{self, Side};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::{ArgValue, Field, OpKind};
use djcheck_project::state::ModelDef;

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed that renames a column or a table the running
    /// release uses: `RenameField` (unless the field keeps its column through
    /// `db_column`), `RenameModel` (unless `db_table` keeps the table), `AlterModelTable`,
    /// and `AlterField` changing the field's column (`db_column`). This was MIG007.
    ///
    /// Silent for a table created by a migration of the same deploy, and for the state
    /// side of `SeparateDatabaseAndState`.
    ///
    /// ## Why it matters
    /// The rename happens when `migrate` runs (`ALTER TABLE ... RENAME COLUMN`,
    /// `ALTER TABLE ... RENAME TO`; SQLite rebuilds the table), before the new release
    /// serves every request: the previous release's code still queries the old name and
    /// fails ("column ... does not exist") until it is gone. A renamed model also renames
    /// its many-to-many join tables. This matters on every backend.
    ///
    /// ## Example
    /// ```python
    /// migrations.RenameField(model_name="order", old_name="total", new_name="amount")
    /// ```
    ///
    /// ## How to fix
    /// Keep the database name and rename only in Python:
    /// ```python
    /// amount = models.DecimalField(db_column="total", ...)
    /// ```
    /// (for a model: `Meta.db_table = "shop_oldname"`), which makes the migration a
    /// no-op for the database. To really rename, add the new column, write both, backfill,
    /// switch reads, and drop the old one in a later release (see SAFE002).
    pub struct RenameColumnOrTable { code: "SAFE003", name: "rename-column-or-table", severity: Warning }
}

/// The column a field is stored in: `db_column`, else its name (`_id` added for a
/// relation). `None` when `db_column` is not literal or the field has no column.
fn column(name: &str, f: &Field) -> Option<String> {
    if f.is_many_to_many() {
        return None;
    }
    match f.kw("db_column") {
        Some(ArgValue::Str(c)) => Some(c.clone()),
        Some(ArgValue::None) | None if !f.splat => Some(if f.is_foreign_key() {
            format!("{name}_id")
        } else {
            name.to_owned()
        }),
        _ => None,
    }
}

fn table(def: &ModelDef) -> String {
    def.db_table().unwrap_or_else(|| def.name.clone())
}

impl Rule for RenameColumnOrTable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for site in walk::sites(project) {
            walk::for_each_op(&site, |op, side, cursor| {
                if side != Side::Both {
                    return;
                }
                let (message, at, label) = match &op.kind {
                    OpKind::RenameField {
                        model,
                        old: Some(old),
                        new: Some(new),
                    } => {
                        let Some(def) = site.existing(cursor, model) else {
                            return;
                        };
                        let Some(prev) = def.field(&old.value) else {
                            return;
                        };
                        let before = column(&old.value, &prev.field);
                        let after = column(&new.value, &prev.field);
                        match (before, after) {
                            (Some(b), Some(a)) if b != a => (
                                format!("column `{b}` of `{}` renamed to `{a}` while the running release still uses it", table(def)),
                                new.range,
                                "renames the column",
                            ),
                            _ if prev.field.is_many_to_many() => (
                                format!("join table of `{}.{}` renamed while the running release still uses it", def.name, old.value),
                                new.range,
                                "renames the join table",
                            ),
                            _ => return,
                        }
                    }
                    OpKind::RenameModel {
                        old: Some(old),
                        new: Some(new),
                    } => {
                        let Some(def) = site.existing(cursor, &Some(old.clone())) else {
                            return;
                        };
                        if def.option("db_table").is_some() {
                            return;
                        }
                        let after = format!("{}_{}", def.app, new.value.to_ascii_lowercase());
                        (
                            format!("table `{}` renamed to `{after}` while the running release still uses it", table(def)),
                            new.range,
                            "renames the table",
                        )
                    }
                    OpKind::AlterModelTable {
                        name,
                        table: new_table,
                    } => {
                        let Some(def) = site.existing(cursor, name) else {
                            return;
                        };
                        let Some(before) = def.db_table() else { return };
                        let (after, at) = match new_table {
                            Some(t) => (t.value.clone(), t.range),
                            None => (
                                format!("{}_{}", def.app, def.name.to_ascii_lowercase()),
                                op.range,
                            ),
                        };
                        if before == after {
                            return;
                        }
                        (
                            format!("table `{before}` renamed to `{after}` while the running release still uses it"),
                            at,
                            "renames the table",
                        )
                    }
                    OpKind::AlterField {
                        model,
                        field: Some(f),
                    } => {
                        let Some(name) = &f.name else { return };
                        let Some(def) = site.existing(cursor, model) else {
                            return;
                        };
                        let Some(prev) = def.field(&name.value) else {
                            return;
                        };
                        match (column(&name.value, &prev.field), column(&name.value, f)) {
                            (Some(b), Some(a)) if b != a => (
                                format!("column `{b}` of `{}` renamed to `{a}` while the running release still uses it", table(def)),
                                f.kwargs
                                    .iter()
                                    .find(|k| k.name == "db_column")
                                    .map_or(name.range, |k| k.range),
                                "changes the column name",
                            ),
                            _ => return,
                        }
                    }
                    _ => return,
                };
                out.push(
                    Self::META
                        .diagnostic(message)
                        .at(site.span(at), label)
                        .note("the previous release's code queries the old name until the new release has replaced it everywhere")
                        .help("keep the database name (`db_column=` / `Meta.db_table`) and rename in Python only, or add the new column, backfill, switch, and drop the old one in a later release"),
                );
            });
        }
    }
}
