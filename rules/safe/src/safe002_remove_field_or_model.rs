use crate::walk::{self, Side};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::OpKind;

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed that drops a column or a table the running
    /// release still reads: `RemoveField` or `DeleteModel` on a table that exists before
    /// this deploy, outside `SeparateDatabaseAndState`.
    ///
    /// Silent for a table created by a migration of the same deploy, for unmanaged and
    /// proxy models (Django drops nothing), and for the state side of
    /// `SeparateDatabaseAndState` (the first step of the safe recipe).
    ///
    /// ## Why it matters
    /// Django names every column of a model in its queries. Once `migrate` has dropped
    /// the column (`ALTER TABLE ... DROP COLUMN`) or the table (`DROP TABLE`), every
    /// query of the previous release's code on that model fails ("column ... does not
    /// exist", "relation ... does not exist") until the new release has replaced it
    /// everywhere. This matters on every backend.
    ///
    /// ## Example
    /// ```python
    /// migrations.RemoveField(model_name="order", name="legacy_code")
    /// ```
    ///
    /// ## How to fix
    /// Two releases. First remove the field from the model and from the state only:
    /// ```python
    /// migrations.SeparateDatabaseAndState(
    ///     state_operations=[migrations.RemoveField(model_name="order", name="legacy_code")],
    /// )
    /// ```
    /// (make the column nullable or give it a `db_default` in the same release, so new
    /// inserts succeed). Once no running code reads it, drop it in a later release with
    /// `RunSQL("ALTER TABLE shop_order DROP COLUMN legacy_code", ...)`.
    pub struct RemoveFieldOrModel { code: "SAFE002", name: "remove-field-or-model", severity: Warning }
}

impl Rule for RemoveFieldOrModel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for site in walk::sites(project) {
            // `makemigrations` removes a model's relations before deleting it: the table
            // going is the one finding, not each of its columns.
            let deleted: Vec<String> = site
                .m
                .operations
                .iter()
                .filter_map(|op| match &op.kind {
                    OpKind::DeleteModel { name: Some(n) } => Some(n.value.to_ascii_lowercase()),
                    _ => None,
                })
                .collect();
            walk::for_each_op(&site, |op, side, cursor| {
                if side != Side::Both {
                    return;
                }
                let (model, what, label) = match &op.kind {
                    OpKind::RemoveField {
                        model,
                        name: Some(n),
                    } => {
                        if model
                            .as_ref()
                            .is_some_and(|m| deleted.contains(&m.value.to_ascii_lowercase()))
                        {
                            return;
                        }
                        let Some(def) = site.existing(cursor, model) else {
                            return;
                        };
                        let Some(field) = def.field(&n.value) else {
                            return;
                        };
                        let table = def.db_table().unwrap_or_else(|| def.name.clone());
                        let what = if field.field.is_many_to_many() {
                            format!("join table of `{}.{}` dropped while the running release still reads it", def.name, n.value)
                        } else {
                            format!(
                                "column `{}` dropped from `{table}` while the running release still reads it",
                                n.value
                            )
                        };
                        (model, what, n.range)
                    }
                    OpKind::DeleteModel { name: Some(n) } => {
                        let Some(def) = site.existing(cursor, &Some(n.clone())) else {
                            return;
                        };
                        let table = def.db_table().unwrap_or_else(|| def.name.clone());
                        (
                            &None,
                            format!(
                                "table `{table}` dropped while the running release still reads it"
                            ),
                            n.range,
                        )
                    }
                    _ => return,
                };
                let _ = model;
                out.push(
                    Self::META
                        .diagnostic(what)
                        .at(site.span(label), format!("`{}` outside `SeparateDatabaseAndState`", op.call))
                        .note("Django names every column in its queries: the previous release's code fails on this model until the new release has replaced it everywhere")
                        .help("remove it from the state only first (`SeparateDatabaseAndState(state_operations=[...])`), and drop it with `RunSQL` in a later release"),
                );
            });
        }
    }
}
