use crate::user::user;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::state::{RefKind, RefTarget};

declare_rule! {
    /// ## What it finds
    /// While a custom user model is configured (`AUTH_USER_MODEL`, or the
    /// `auth-user-model` option): a relation to `auth.User` (`"auth.user"`,
    /// `"auth.User"`), the swapped-out model. A relation to the custom user model by its
    /// literal name (`"users.User"`) is not reported here: it works whenever the
    /// migration depends on the one creating the user model, and when it does not,
    /// AUTH001 reports the missing dependency (one finding for one cause).
    ///
    /// ## Why it matters
    /// `auth.User` is swapped out: its table `auth_user` is never created, so the foreign
    /// key points at nothing (PostgreSQL: `relation "auth_user" does not exist`; fields.E301
    /// at startup). SQLite, which does not enforce the foreign key, lets tests pass and
    /// production on PostgreSQL fail.
    ///
    /// ## Example
    /// ```python
    /// # settings.py: AUTH_USER_MODEL = "users.User"
    /// migrations.AddField("post", "author",
    ///     models.ForeignKey(on_delete=models.CASCADE, to="auth.User"))
    /// ```
    ///
    /// ## How to fix
    /// Use `to=settings.AUTH_USER_MODEL` and add
    /// `migrations.swappable_dependency(settings.AUTH_USER_MODEL)` to `dependencies`.
    pub struct HardcodedUserModel { code: "AUTH002", name: "hardcoded-user-model", severity: Error }
}

impl Rule for HardcodedUserModel {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let Some(user) = user(project) else { return };
        if !user.custom {
            return;
        }
        let auth_user = ("auth".to_owned(), "user".to_owned());
        for (i, m) in project.migrations.iter().enumerate() {
            for r in project.references_of(i) {
                if r.kind != RefKind::Relation {
                    continue;
                }
                let RefTarget::Model(k) = &r.target else {
                    continue;
                };
                let span = Span::new(m.file, r.range);
                if *k == auth_user {
                    out.push(
                        Self::META
                            .diagnostic(format!("relation to `{}`, which is swapped out by `AUTH_USER_MODEL = \"{}\"`", r.written, user.written))
                            .at(span, "swapped-out model")
                            .note("`auth_user` is never created once `auth.User` is swapped out: PostgreSQL fails with `relation \"auth_user\" does not exist`; SQLite, which does not enforce the foreign key, may not notice")
                            .help("use `to=settings.AUTH_USER_MODEL` with `migrations.swappable_dependency(settings.AUTH_USER_MODEL)`"),
                    );
                }
            }
        }
    }
}
