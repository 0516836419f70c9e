//! Django's contrib apps and their migrations, for every supported Django version.
//!
//! djcheck never imports Django, so it ships the list. A dependency on
//! `("auth", "0012_alter_user_first_name_max_length")` is valid; one on
//! `("auth", "0099_nope")` is not.

// Generated data: kept exactly as the generator writes it.
#[rustfmt::skip]
#[path = "contrib_data.rs"]
mod data;

pub use data::CONTRIB_MIGRATIONS;

/// `(app label, migration name, first Django version shipping it, dependencies)`.
pub type ContribMigration = (
    &'static str,
    &'static str,
    &'static str,
    &'static [(&'static str, &'static str)],
);

/// The Django versions the catalogue was generated from (oldest to newest).
pub const SUPPORTED_DJANGO: &str = "4.2 to 6.1";

/// Contrib app labels (including those without migrations, like `messages`).
pub const CONTRIB_LABELS: &[&str] = &[
    "admin",
    "admindocs",
    "auth",
    "contenttypes",
    "flatpages",
    "gis",
    "humanize",
    "messages",
    "postgres",
    "redirects",
    "sessions",
    "sitemaps",
    "sites",
    "staticfiles",
    "syndication",
];

/// Whether `label` is a contrib app label.
pub fn is_contrib_label(label: &str) -> bool {
    CONTRIB_LABELS.contains(&label)
}

/// The migrations of a contrib app, in name order.
pub fn migrations_of(
    label: &str,
) -> impl Iterator<
    Item = &'static (
        &'static str,
        &'static str,
        &'static str,
        &'static [(&'static str, &'static str)],
    ),
> + '_ {
    CONTRIB_MIGRATIONS.iter().filter(move |m| m.0 == label)
}

/// Maps a dotted module path in INSTALLED_APPS to a contrib label, e.g.
/// `django.contrib.auth` or `django.contrib.auth.apps.AuthConfig` to `auth`.
pub fn contrib_label_of_module(path: &str) -> Option<&'static str> {
    let rest = path.strip_prefix("django.contrib.")?;
    let first = rest.split('.').next()?;
    CONTRIB_LABELS.iter().copied().find(|l| *l == first)
}
