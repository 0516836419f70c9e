use crate::user::user;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::state;

declare_rule! {
    /// ## What it finds
    /// `AUTH_USER_MODEL` (or the `auth-user-model` option) names a model of a project app
    /// that none of that app's migrations creates.
    ///
    /// ## Why it matters
    /// Everything that depends on the user model — admin, auth, every foreign key to it —
    /// points at a table no migration creates: `migrate` fails, or the setting has a typo
    /// and Django refuses to start ("AUTH_USER_MODEL refers to model 'users.Usr' that has
    /// not been installed").
    ///
    /// ## Example
    /// ```python
    /// AUTH_USER_MODEL = "users.Account"  # users/migrations only create `User`
    /// ```
    ///
    /// ## How to fix
    /// Fix the setting, or run `makemigrations` for the user app so its first migration
    /// creates the model.
    pub struct UnknownUserModel { code: "AUTH005", name: "unknown-user-model", severity: Warning }
}

impl Rule for UnknownUserModel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let Some(user) = user(project) else { return };
        if !user.custom || user.creation.is_some() {
            return;
        }
        let app = &user.key.0;
        let migs: Vec<_> = project
            .migrations
            .iter()
            .filter(|m| &m.app == app)
            .collect();
        // Only for a project app whose migrations are all known.
        if migs.is_empty() || migs.iter().any(|m| !m.readable || !m.operations_complete) {
            return;
        }
        let mut created: Vec<String> = migs
            .iter()
            .flat_map(|m| {
                state::created_by(m)
                    .into_iter()
                    .map(|(_, lit, _)| lit.value.clone())
            })
            .collect();
        created.sort();
        created.dedup();
        let mut d = Self::META.diagnostic(format!(
            "`AUTH_USER_MODEL` names `{}`, which no migration of app `{app}` creates",
            user.written
        ));
        if let Some(span) = project.user_model.as_ref().and_then(|u| u.span) {
            d = d.at(span, "no migration creates this model");
        }
        d = if created.is_empty() {
            d.help(format!("run `python manage.py makemigrations {app}`"))
        } else {
            d.help(format!(
                "app `{app}` creates {}; fix the setting or run `python manage.py makemigrations {app}`",
                created.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
            ))
        };
        out.push(d);
    }
}
