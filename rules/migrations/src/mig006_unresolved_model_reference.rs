use crate::util::dotted;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::state::{self, RefKind, RefTarget};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// An operation that refers to a model of the project — the `to=` of a ForeignKey,
    /// OneToOneField or ManyToManyField, the `model_name` of AddField, AlterField,
    /// RemoveField, RenameField, the `name` of DeleteModel, AlterModelOptions,
    /// AlterModelTable, a CreateModel base — when the migration that creates that model is
    /// not among the migrations this one depends on, directly or transitively. The
    /// reference is labelled with the migration that creates the model. Also a reference
    /// to a model of an app that is not installed at all (not in the project, not in
    /// INSTALLED_APPS read completely, not in the virtualenv): what an app renamed by hand
    /// leaves in other apps' migrations, reported with the rename hint when the app looks
    /// renamed.
    ///
    /// ## Why it matters
    /// Django renders the state a migration runs against from its dependencies only. When
    /// the model is not in that state, `migrate` fails with "Related model 'app.model'
    /// cannot be resolved" or a lazy reference error — or it works today by luck of
    /// ordering and fails on a fresh database, or for the first `migrate <app>` of a new
    /// environment. For an app that is not installed, it always fails: "Related model
    /// 'workspace_app.userprofile' cannot be resolved", or, where the state is rendered,
    /// "The field teams.Team.owner was declared with a lazy reference to
    /// 'workspace_app.userprofile', but app 'workspace_app' isn't installed".
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     dependencies = [("orders", "0001_initial")]  # no dependency on catalog
    ///     operations = [
    ///         migrations.AddField("order", "product",
    ///             models.ForeignKey("catalog.product", on_delete=models.CASCADE)),
    ///     ]
    /// ```
    ///
    /// ## How to fix
    /// Add the migration that creates the model to `dependencies` (the help line names
    /// it, e.g. `("catalog", "0001_initial")`). If that migration runs after this one in
    /// the same app, move the reference into a later migration.
    pub struct UnresolvedModelReference { code: "MIG006", name: "unresolved-model-reference", severity: Error }
}

impl Rule for UnresolvedModelReference {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let g = &project.graph;
        let user = project
            .user_model
            .as_ref()
            .map(|u| (u.app.clone(), u.model.to_ascii_lowercase()));
        for (i, m) in project.migrations.iter().enumerate() {
            let Some(node) = g.node_of(i) else {
                continue;
            };
            if !m.readable {
                continue;
            }
            // The models the migration creates, read when a reference may need them.
            let mut here: Option<BTreeSet<_>> = None;
            let mut seen = BTreeSet::new();
            for r in project.references_of(i) {
                let RefTarget::Model(k) = &r.target else {
                    continue;
                };
                // Most references are to models created before: nothing to say (the checks
                // below would all pass over them).
                let absent = k.0 != m.app && project.renames.is_absent(&k.0);
                if !absent && project.state.created_before(node, k) != Some(false) {
                    continue;
                }
                let here = here.get_or_insert_with(|| {
                    state::created_by(m)
                        .into_iter()
                        .map(|(k, _, _)| k)
                        .collect()
                });
                // The user model's ordering is AUTH001's concern.
                if here.contains(k)
                    || user.as_ref() == Some(k)
                    || !seen.insert((k, r.range.start()))
                {
                    continue;
                }
                if absent {
                    out.push(absent_app(project, m.file, r, k));
                    continue;
                }
                let creators = project.state.creators(k);
                let Some(first) = creators.first() else {
                    continue;
                };
                if project.state.created_before(node, k) != Some(false) {
                    continue;
                }
                let Some(cm) = project.migrations.get(first.migration) else {
                    continue;
                };
                let what = match r.kind {
                    RefKind::Relation => "relation to",
                    RefKind::ModelName => "operation on",
                    RefKind::Base => "base class",
                };
                let runs_after = g
                    .node(&cm.key())
                    .is_some_and(|c| g.ancestors(c).contains(&node));
                let help = if runs_after {
                    format!(
                        "`{}` runs after this migration: move this operation into a migration that depends on it",
                        dotted(&cm.key())
                    )
                } else {
                    format!("add (\"{}\", \"{}\") to `dependencies`", cm.app, cm.name)
                };
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "{what} model `{}.{}`, which no migration this one depends on creates",
                            k.0, first.name
                        ))
                        .at(Span::new(m.file, r.range), format!("`{}.{}` is not in the state this migration runs against", k.0, first.name))
                        .label(Span::new(cm.file, first.name_range), format!("created by `{}`", dotted(&cm.key())))
                        .note("Django fails with \"Related model cannot be resolved\" or a lazy reference error when the model is not created first")
                        .help(help),
                );
            }
        }
    }
}

/// A reference to a model of an app that is not installed at all (an app renamed by hand
/// leaves them): Django cannot resolve the lazy reference when it renders the state.
fn absent_app(
    project: &Project,
    file: djcheck_linter::FileId,
    r: &state::ModelReference,
    k: &state::ModelKey,
) -> Diagnostic {
    let what = match r.kind {
        RefKind::Base => "base class",
        _ => "relation to",
    };
    let (app, model) = k;
    let mut d = UnresolvedModelReference::META
        .diagnostic(format!(
            "{what} model `{app}.{model}` of app `{app}`, which is not installed"
        ))
        .at(Span::new(file, r.range), format!("app `{app}` is not in the project, INSTALLED_APPS or the virtualenv"))
        .note(format!(
            "`migrate` fails with `ValueError: Related model '{app}.{model}' cannot be resolved`, and rendering the state with \"... declared with a lazy reference to '{app}.{model}', but app '{app}' isn't installed\""
        ));
    match project.renames.of(app) {
        Some(rename) => {
            let new = &rename.new;
            let target = (new.clone(), model.clone());
            if let Some(c) = project.state.creators(&target).first() {
                if let Some(cm) = project.migrations.get(c.migration) {
                    d = d.label(
                        Span::new(cm.file, c.name_range),
                        format!("`{new}` creates `{}`", c.name),
                    );
                }
            }
            d = d
                .note(format!("`{app}` looks renamed to `{new}` ({})", rename.reasons()))
                .help(format!(
                    "point it at `{new}.{model}`, with a dependency on the migration that creates it; or keep the old label with `label = \"{app}\"` in `{new}`'s AppConfig"
                ));
        }
        None => {
            d = d.help(format!(
                "point it at the app that defines the model now, or install app `{app}`"
            ))
        }
    }
    d
}
