use crate::user::{is_user_ref, user};
use djcheck_fix::edits;
use djcheck_linter::{declare_rule, Diagnostic, Fix, Project, Rule, RuleMeta, Span};
use djcheck_project::migration::Migration;

declare_rule! {
    /// ## What it finds
    /// A migration with a relation to the user model (`to=settings.AUTH_USER_MODEL`, or
    /// the custom user model by name) that does not depend, directly or through its
    /// dependencies, on the migration creating the user model — usually because it lacks
    /// `migrations.swappable_dependency(settings.AUTH_USER_MODEL)`.
    ///
    /// ## Why it matters
    /// Nothing orders the user table before this migration. A full `migrate` often passes
    /// by luck (admin or auth happen to sort first), while `migrate <app>` on a fresh
    /// database, a test database, or a new environment fails with "Related model
    /// 'users.user' cannot be resolved", or creates a foreign key to a table that does not
    /// exist yet.
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     dependencies = [("blog", "0001_initial")]
    ///     operations = [
    ///         migrations.AddField("post", "author",
    ///             models.ForeignKey(on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL)),
    ///     ]
    /// ```
    ///
    /// ## How to fix
    /// Add `migrations.swappable_dependency(settings.AUTH_USER_MODEL)` to `dependencies`
    /// (with `from django.conf import settings`), as `makemigrations` writes it.
    pub struct MissingSwappableDependency { code: "AUTH001", name: "missing-swappable-dependency", severity: Error }
}

impl Rule for MissingSwappableDependency {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let Some(user) = user(project) else { return };
        let g = &project.graph;
        // The node creating the user model: the project's, or contrib auth's first.
        let creator = match (user.custom, user.creation) {
            (true, Some(c)) => project
                .migrations
                .get(c.migration)
                .and_then(|m| g.node(&m.key())),
            (true, None) => return,
            (false, _) => g.node(&("auth".to_owned(), "0001_initial".to_owned())),
        };
        let Some(creator) = creator else { return };
        // The migrations that depend on the creator, found once: asked for each
        // migration referring to the user model.
        let after_creator = std::cell::OnceCell::new();
        for (i, m) in project.migrations.iter().enumerate() {
            if !m.readable || !m.dependencies_complete {
                continue;
            }
            // The first relation to the user model (most migrations have none).
            let Some(first) = project
                .references_of(i)
                .iter()
                .find(|r| is_user_ref(r, &user))
            else {
                continue;
            };
            // With a swappable dependency the order is declared; if it still resolves to
            // the wrong migration, AUTH003 reports the cause once.
            if m.dependencies.iter().any(|d| d.swappable.is_some()) {
                continue;
            }
            let Some(node) = g.node_of(i) else {
                continue;
            };
            if node == creator
                || project.state.created_before(node, &user.key).is_none() && user.custom
            {
                continue;
            }
            if after_creator
                .get_or_init(|| g.descendants(creator))
                .contains(&node)
            {
                continue;
            }
            let creator_key = &g.nodes[creator].key;
            let mut d = Self::META
                .diagnostic(format!(
                    "relation to the user model without a dependency on it: `{}.{}` does not depend on `{}.{}`",
                    m.app, m.name, creator_key.0, creator_key.1
                ))
                .at(Span::new(m.file, first.range), format!("`{}` is `{}`", first.written, user.written));
            if let Some(r) = m.dependencies_range {
                d = d.label(Span::new(m.file, r), "no swappable dependency here");
            }
            if let (Some(c), true) = (user.creation, user.custom) {
                if let Some(cm) = project.migrations.get(c.migration) {
                    d = d.label(
                        Span::new(cm.file, c.name_range),
                        format!("user model created by `{}.{}`", cm.app, cm.name),
                    );
                }
            }
            d = d
                .note("`migrate` works only while something else happens to order the user table first; `migrate` of this app alone on a fresh database fails")
                .help("add `migrations.swappable_dependency(settings.AUTH_USER_MODEL)` to `dependencies` (and `from django.conf import settings`)");
            // `swappable_dependency` is the app's `__first__`: right only when that is the
            // migration creating the user model (else AUTH003 says what is wrong).
            let first = g.root_nodes(&creator_key.0).first() == Some(&creator);
            out.push(d.with_fix(if first {
                swappable_fix(project, m)
            } else {
                None
            }));
        }
    }
}

/// Adds `migrations.swappable_dependency(settings.AUTH_USER_MODEL)` to `dependencies`, and
/// the `settings` import when the module lacks it, as `makemigrations` writes them. Safe:
/// it only orders the migration after the user model's, which it needs.
fn swappable_fix(project: &Project, m: &Migration) -> Option<Fix> {
    let text = &project.db.file(m.file).text;
    let parsed = djcheck_python::parse_module(text);
    if !parsed.errors.is_empty()
        || djcheck_python::eval::module_binds(parsed.body(), "migrations") != Some(true)
    {
        return None;
    }
    let class = edits::find_class(parsed.body(), m.class_range?)?;
    let deps = edits::class_assignment(class, "dependencies")?;
    let mut out = vec![edits::append_to_sequence(
        m.file,
        text,
        deps,
        "migrations.swappable_dependency(settings.AUTH_USER_MODEL)",
    )?];
    out.extend(edits::import_settings(m.file, text, parsed.body())?);
    Some(Fix::safe(
        "add `migrations.swappable_dependency(settings.AUTH_USER_MODEL)` to `dependencies`",
        out,
    ))
}
