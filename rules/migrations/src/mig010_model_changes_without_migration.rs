use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::models::{Change, ChangeKind, ModelKind, ModelOutcome};
use djcheck_project::pyvalue::{short_path, PyValue};

declare_rule! {
    /// ## What it finds
    /// A model in `models.py` that differs from what the app's migrations build — what
    /// `python manage.py makemigrations --check` reports, found without importing the
    /// project: a model no migration creates, or one the migrations create that
    /// `models.py` no longer declares; a field added, removed or renamed; a field whose
    /// class or arguments changed (`max_length`, `null`, `default`, `choices`,
    /// `on_delete`, `related_name`, ...), compared the way Django's autodetector compares
    /// them (by the field's `deconstruct()`, so `null=False` and no `null` are the same,
    /// and `_("Title")` is `"Title"`); a `Meta` option that migrations record
    /// (`ordering`, `verbose_name`, `db_table`, `permissions`, `managed`, ...),
    /// `unique_together`, `indexes`, `constraints`, and managers used in migrations. The
    /// finding points at the model, field or option in `models.py`, with the migration
    /// that last set it.
    ///
    /// Where a part of a model can't be read statically — a value computed at run time,
    /// a base class or a field class from a library whose construction djcheck does not
    /// know, a class body with conditions — that part is not compared and nothing is
    /// reported about it; the project report (`summary.project.models`, `djcheck
    /// project`) counts the models compared completely and says why the others are not.
    /// Nothing is reported removed where the project adds fields at run time
    /// (`add_to_class` on a class not resolved, django-modeltranslation, django-parler,
    /// django-simple-history, django-mptt registrations); apps of a test suite that
    /// INSTALLED_APPS does not list, and projects with their own `makemigrations`
    /// command, are not compared.
    ///
    /// ## Why it matters
    /// A model change without its migration ships code that expects a schema the
    /// database does not have: a new field's column does not exist (`ProgrammingError:
    /// column "x" does not exist` on the first query), a removed field's `NOT NULL`
    /// column makes every insert fail, a changed `max_length` truncates or rejects
    /// data. The next developer to run `makemigrations` gets an unrelated migration in
    /// their change, or two developers create conflicting ones. Teams run `makemigrations
    /// --check` in CI for this; it needs the whole environment and takes seconds to
    /// minutes on a large project, where this check takes milliseconds and runs in a
    /// pre-commit hook or an editor.
    ///
    /// ## Example
    /// ```python
    /// # blog/models.py
    /// class Post(models.Model):
    ///     title = models.CharField(max_length=120)  # 0001_initial has max_length=100
    ///     slug = models.SlugField(unique=True)      # no migration adds it
    /// ```
    ///
    /// ## How to fix
    /// Run `python manage.py makemigrations <app>` and commit the migration with the
    /// model change (review it: a renamed field should be a `RenameField`, not a removal
    /// and an addition). If the change in `models.py` was not intended, revert it.
    pub struct ModelChangesWithoutMigration { code: "MIG010", name: "model-changes-without-migration", severity: Error }
}

impl Rule for ModelChangesWithoutMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for o in &project.models.outcomes {
            for c in &o.changes {
                out.push(diagnostic(project, o, c));
            }
        }
    }
}

/// A value as a message shows it: Python's notation, cut when long.
fn show(v: &PyValue) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        let cut: String = s.chars().take(57).collect();
        format!("{cut}…")
    } else {
        s
    }
}

fn show_opt(v: &Option<PyValue>) -> String {
    match v {
        Some(v) => show(v),
        None => "not set".to_owned(),
    }
}

/// `path:line` of a span, for messages.
fn place(project: &Project, s: Span) -> String {
    let f = project.db.file(s.file);
    format!("{}:{}", f.path, f.line_col(s.range.start()).line)
}

fn migration_name(project: &Project, i: usize) -> String {
    project
        .migrations
        .get(i)
        .map_or_else(String::new, |m| format!("{}.{}", m.app, m.name))
}

fn kind_name(k: ModelKind) -> &'static str {
    match k {
        ModelKind::Concrete => "a concrete model",
        ModelKind::Proxy => "a proxy model",
        ModelKind::Unmanaged => "an unmanaged model",
    }
}

fn diagnostic(project: &Project, o: &ModelOutcome, c: &Change) -> Diagnostic {
    let model = format!("{}.{}", o.app, o.model);
    let field = |f: &str| format!("{}.{f}", o.model);
    let since = c
        .migration
        .map(|(_, s)| format!(" ({})", place(project, s)))
        .unwrap_or_default();
    let (message, label) = match &c.kind {
        ChangeKind::ModelAdded => (
            format!("model `{model}` has no migration"),
            format!("no migration of app `{}` creates `{}`", o.app, o.model),
        ),
        ChangeKind::ModelRemoved => (
            format!("model `{model}` was removed from models.py without a migration"),
            format!("created here; models.py no longer declares `{}`", o.model),
        ),
        ChangeKind::ModelKind { old, new } => (
            format!(
                "model `{model}` is {} in models.py, {} in the migrations{since}",
                kind_name(*new),
                kind_name(*old)
            ),
            format!("now {}", kind_name(*new)),
        ),
        ChangeKind::FieldAdded(f) => (
            format!("field `{}` has no migration", field(f)),
            format!("no migration adds `{f}` to `{model}`"),
        ),
        ChangeKind::FieldRemoved(f) => (
            format!(
                "field `{}` was removed from models.py without a migration{since}",
                field(f)
            ),
            format!("`{f}` is no longer declared here"),
        ),
        ChangeKind::FieldRenamed { old, new } => (
            format!(
                "field `{}` looks renamed to `{new}` without a migration{since}",
                field(old)
            ),
            format!("declared as `{old}` in the migrations"),
        ),
        ChangeKind::FieldClass {
            field: f,
            old,
            new,
        } => (
            format!(
                "field `{}` is a `{}` in models.py, a `{}` in the migrations{since}",
                field(f),
                short_path(new),
                short_path(old)
            ),
            format!("class changed from `{}`", short_path(old)),
        ),
        ChangeKind::FieldArgs { field: f, diffs } => {
            let parts: Vec<String> = diffs
                .iter()
                .map(|(k, new, old)| {
                    format!(
                        "`{k}` is {} in models.py, {} in the migrations",
                        show_opt(new),
                        show_opt(old)
                    )
                })
                .collect();
            let message = match parts.as_slice() {
                [one] => format!("field `{}`: {one}{since}", field(f)),
                _ => format!(
                    "field `{}` differs from its migrations: {}{since}",
                    field(f),
                    parts.join("; ")
                ),
            };
            let keys: Vec<String> = diffs.iter().map(|(k, _, _)| format!("`{k}`")).collect();
            (message, format!("{} changed without a migration", keys.join(", ")))
        }
        ChangeKind::Option { name, new, old } => (
            format!(
                "`Meta.{name}` of `{model}` is {} in models.py, {} in the migrations{since}",
                show_opt(new),
                show_opt(old)
            ),
            format!("`{name}` changed without a migration"),
        ),
        ChangeKind::UniqueTogether { new, old } => {
            let fmt = |g: &Vec<Vec<String>>| {
                let groups: Vec<String> = g
                    .iter()
                    .map(|x| {
                        let names: Vec<String> = x.iter().map(|n| format!("'{n}'")).collect();
                        format!("({})", names.join(", "))
                    })
                    .collect();
                format!("{{{}}}", groups.join(", "))
            };
            (
                format!(
                    "`Meta.unique_together` of `{model}` is {} in models.py, {} in the migrations{since}",
                    fmt(new),
                    fmt(old)
                ),
                "`unique_together` changed without a migration".to_owned(),
            )
        }
        ChangeKind::Parts {
            constraints,
            added,
            removed,
        } => {
            let what = if *constraints { "constraint" } else { "index" };
            let list = |v: &Vec<PyValue>| {
                v.iter()
                    .map(|p| format!("`{}`", show(p)))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            let message = match (added.is_empty(), removed.is_empty()) {
                (false, true) => format!(
                    "{} of `{model}` {} no migration: {}",
                    plural(what, added.len()),
                    if added.len() == 1 { "has" } else { "have" },
                    list(added)
                ),
                (true, false) => format!(
                    "{} of the migrations of `{model}` {} no longer in models.py: {}{since}",
                    plural(what, removed.len()),
                    if removed.len() == 1 { "is" } else { "are" },
                    list(removed)
                ),
                _ => format!(
                    "the {} of `{model}` differ from the migrations: {} in models.py, {} in the migrations{since}",
                    if *constraints { "constraints" } else { "indexes" },
                    list(added),
                    list(removed)
                ),
            };
            let option = if *constraints { "constraints" } else { "indexes" };
            (message, format!("`Meta.{option}` changed without a migration"))
        }
        ChangeKind::Managers { new, old } => (
            format!(
                "the managers of `{model}` used in migrations are {} in models.py, {} in the migrations{since}",
                show(new),
                show(old)
            ),
            "managers changed without a migration".to_owned(),
        ),
    };
    let mut d = ModelChangesWithoutMigration::META
        .diagnostic(message)
        .at(c.at, label);
    if let Some((i, span)) = c.migration {
        let what = match c.kind {
            ChangeKind::ModelRemoved => None,
            _ => Some(format!("last set by `{}`", migration_name(project, i))),
        };
        if let Some(w) = what {
            if span != c.at {
                d = d.label(span, w);
            }
        }
    }
    if let ChangeKind::FieldRenamed { .. } = c.kind {
        d = d.note("`makemigrations` asks whether the field was renamed; answered no (or with --noinput), it removes the column and adds a new one, losing its data");
    }
    d.help(format!("python manage.py makemigrations {}", o.app))
}

fn plural(what: &str, n: usize) -> String {
    match (what, n) {
        ("index", 1) => "an index".to_owned(),
        ("index", _) => "indexes".to_owned(),
        (_, 1) => format!("a {what}"),
        _ => format!("{what}s"),
    }
}
