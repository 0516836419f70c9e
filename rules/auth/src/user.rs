//! The configured user model and who needs it.

use djcheck_linter::Project;
use djcheck_project::migration::Migration;
use djcheck_project::state::{Creation, ModelKey, ModelReference, RefKind, RefTarget};

/// The user model as configured, with where the project creates it.
pub struct User<'p> {
    pub key: ModelKey,
    /// As written in the setting, e.g. `users.User`.
    pub written: String,
    /// False for Django's default `auth.User`.
    pub custom: bool,
    /// The first migration creating it, for a custom model of the project.
    pub creation: Option<&'p Creation>,
}

pub fn user(project: &Project) -> Option<User<'_>> {
    let u = project.user_model.as_ref()?;
    let key = (u.app.clone(), u.model.to_ascii_lowercase());
    let custom = key != ("auth".to_owned(), "user".to_owned());
    let creation = project.state.creators(&key).first();
    Some(User {
        written: format!("{}.{}", u.app, u.model),
        key,
        custom,
        creation,
    })
}

/// Whether a reference designates the user model.
pub fn is_user_ref(r: &ModelReference, user: &User<'_>) -> bool {
    r.kind == RefKind::Relation
        && match &r.target {
            RefTarget::Setting(s) => s == "AUTH_USER_MODEL",
            RefTarget::Model(k) => *k == user.key,
        }
}

/// Whether a migration needs the user model to exist: it depends on
/// `swappable_dependency(settings.AUTH_USER_MODEL)` or has a relation to it.
/// `refs` are the migration's model references ([`Project::references_of`]).
pub fn needs_user(m: &Migration, refs: &[ModelReference], user: &User<'_>) -> bool {
    m.dependencies
        .iter()
        .any(|d| d.swappable.as_deref() == Some("AUTH_USER_MODEL"))
        || refs.iter().any(|r| is_user_ref(r, user))
}

/// Contrib migrations that depend on the user model (`admin.0001_initial`).
pub fn contrib_needs_user(app: &str, name: &str) -> bool {
    djcheck_project::contrib::CONTRIB_MIGRATIONS
        .iter()
        .any(|c| c.0 == app && c.1 == name && c.3.iter().any(|d| d.0 == "__setting__"))
}
