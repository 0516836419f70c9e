use crate::user::{needs_user, user};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};

declare_rule! {
    /// ## What it finds
    /// The custom user model created by a migration other than its app's first one (the
    /// migration `swappable_dependency(settings.AUTH_USER_MODEL)` resolves to: the app's
    /// root node, `__first__`).
    ///
    /// ## Why it matters
    /// Every migration that depends on the user model through `swappable_dependency` —
    /// `admin.0001_initial` included — is ordered after the user app's *first* migration
    /// only, so it can run before the table exists: "relation users_user does not exist",
    /// or on an existing database `InconsistentMigrationHistory: Migration
    /// admin.0001_initial is applied before its dependency users.0001_initial`. It happens
    /// when a model added to an app later becomes `AUTH_USER_MODEL`.
    ///
    /// ## Example
    /// `users/migrations/0001_initial.py` creates `Profile`, and
    /// `users/migrations/0002_user.py` creates `User`, with `AUTH_USER_MODEL =
    /// "users.User"`.
    ///
    /// ## How to fix
    /// Create the user model in the app's first migration. On a project that is not yet
    /// deployed, recreate the app's migrations. On a deployed one, follow Django's
    /// documented procedure for changing to a custom user model mid-project (move the
    /// `CreateModel` into `0001_initial` and fix the recorded history with `--fake`).
    pub struct UserModelNotInFirstMigration { code: "AUTH003", name: "user-model-not-in-first-migration", severity: Error }
}

impl Rule for UserModelNotInFirstMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let Some(user) = user(project) else { return };
        let (true, Some(c)) = (user.custom, user.creation) else {
            return;
        };
        let g = &project.graph;
        let Some(cm) = project.migrations.get(c.migration) else {
            return;
        };
        if g.uncertain_apps.contains(&cm.app) {
            return;
        }
        let mut roots: Vec<_> = g
            .root_nodes(&user.key.0)
            .into_iter()
            .map(|i| &g.nodes[i].key)
            .collect();
        roots.sort();
        let Some(first) = roots.first() else { return };
        if **first == cm.key() {
            return;
        }
        let dependents: Vec<String> = project
            .migrations
            .iter()
            .enumerate()
            .filter(|(i, m)| {
                m.dependencies.iter().any(|d| d.swappable.is_some())
                    && needs_user(m, project.references_of(*i), &user)
            })
            .map(|(_, m)| format!("`{}.{}`", m.app, m.name))
            .chain(
                g.nodes
                    .iter()
                    .filter(|n| {
                        !n.removed && n.origin == Some(djcheck_project::graph::Origin::Contrib)
                    })
                    .filter(|n| crate::user::contrib_needs_user(&n.key.0, &n.key.1))
                    .map(|n| format!("`{}.{}`", n.key.0, n.key.1)),
            )
            .collect();
        let mut d = Self::META
            .diagnostic(format!(
                "user model `{}` is created in `{}.{}`, not in the app's first migration `{}.{}`",
                user.written, cm.app, cm.name, first.0, first.1
            ))
            .at(Span::new(cm.file, c.name_range), "user model created here");
        if let Some(fm) = project.migration(first) {
            d = d.label(
                Span::new(fm.file, fm.class_range.unwrap_or_default()),
                "`swappable_dependency(settings.AUTH_USER_MODEL)` resolves to this migration",
            );
        }
        if !dependents.is_empty() {
            let shown: Vec<_> = dependents.iter().take(5).cloned().collect();
            let more = dependents.len().saturating_sub(5);
            d = d.note(format!(
                "{} can run before the user table exists{}",
                shown.join(", "),
                if more > 0 {
                    format!(" (and {more} more)")
                } else {
                    String::new()
                }
            ));
        }
        d = d.help(format!(
            "create `{}` in `{}.{}`: on a fresh database `migrate` fails (\"Related model cannot be resolved\"); where the user app was added after admin was migrated, Django raises InconsistentMigrationHistory",
            user.written, first.0, first.1
        ));
        out.push(d);
    }
}
