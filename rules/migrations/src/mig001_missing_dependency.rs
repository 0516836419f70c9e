use crate::util::{dotted, edge_range, folded_conflicts, migration_span};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::graph::{EdgeKind, Origin, UnresolvedReason};
use djcheck_project::migration::migration_number;
use djcheck_project::renames::Evidence;

declare_rule! {
    /// ## What it finds
    /// A `dependencies` or `run_before` entry naming a migration that exists nowhere: not
    /// in the project, not among Django's contrib apps (djcheck ships their migration
    /// names for Django 4.2 to 6.1), not in a third-party app of the project's
    /// virtualenv; or naming an app that is known to be absent (not in the project, not in
    /// INSTALLED_APPS when that list can be read completely, not installed). A third-party
    /// app that is installed but cannot be inspected is never reported.
    ///
    /// ## Why it matters
    /// Django refuses to build the migration graph: every `migrate`, `makemigrations` and
    /// `showmigrations` fails with `NodeNotFoundError` ("dependencies reference nonexistent
    /// parent node") or `ValueError: Dependency on unknown app`. The usual cause is a
    /// migration file renamed by hand, or an app renamed: Django records applied
    /// migrations by app label and file name, so the renamed migration is also treated as
    /// never applied and runs again.
    ///
    /// ## Example
    /// `blog/migrations/0002_post.py` was renamed to `0002_add_post.py`, and
    /// `0003_comment.py` still says:
    /// ```python
    /// dependencies = [("blog", "0002_post")]
    /// ```
    ///
    /// ## How to fix
    /// Restore the original file name (a migration's name is its identity once applied
    /// anywhere), or point the dependency at the migration that exists. The help line
    /// names the most likely renamed file: one with the same number in the same app, or
    /// the same name in another app. When an app that no longer exists looks renamed
    /// (another app has the migrations the dependencies name, still names its tables
    /// after the old label, creates the models referenced under it, or had them at the
    /// base revision), the help gives the repointed dependency and says why the rename
    /// itself loses the app's history. A conflict that this dangling dependency causes
    /// (its app left with two leaves, where repointing it as hinted leaves one) is a note
    /// here, not a separate MIG002.
    pub struct MissingDependency { code: "MIG001", name: "missing-dependency", severity: Error }
}

impl Rule for MissingDependency {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let folded = folded_conflicts(project);
        for (ui, u) in project.graph.unresolved.iter().enumerate() {
            let Some(m) = project.migrations.get(u.migration) else {
                continue;
            };
            let span = Span::new(m.file, edge_range(m, u.kind));
            let what = match u.kind {
                EdgeKind::Dependency(_) => "dependency on",
                EdgeKind::RunBefore(_) => "`run_before` names",
            };
            let mut d = match u.reason {
                UnresolvedReason::AppWithoutMigrations => Self::META
                    .diagnostic(format!("{what} `{}` of app `{}`, which has no migrations", u.target.1, u.target.0))
                    .at(span, format!("`{}/migrations` holds no migration", u.target.0))
                    .note(format!(
                        "`migrate` raises `ValueError: Dependency on app with no migrations: {}` (`makemigrations` ignores it)",
                        u.target.0
                    ))
                    .help(format!("run `python manage.py makemigrations {}`, or remove this dependency", u.target.0)),
                UnresolvedReason::UnknownApp => Self::META
                    .diagnostic(format!("{what} unknown app `{}`", u.target.0))
                    .at(span, format!("app `{}` is not in the project, INSTALLED_APPS or the virtualenv", u.target.0))
                    .note(if u.target.1 == "__first__" || u.target.1 == "__latest__" {
                        format!("Django raises `ValueError: Dependency on unknown app: {}`", u.target.0)
                    } else {
                        format!(
                            "Django raises `NodeNotFoundError`: migration {}.{} dependencies reference nonexistent parent node ('{}', '{}')",
                            m.app, m.name, u.target.0, u.target.1
                        )
                    }),
                UnresolvedReason::MissingNode => Self::META
                    .diagnostic(format!("{what} missing migration `{}`", dotted(&u.target)))
                    .at(span, format!("no migration `{}` in app `{}`", u.target.1, u.target.0))
                    .note(format!(
                        "Django raises `NodeNotFoundError`: migration {}.{} dependencies reference nonexistent parent node ('{}', '{}')",
                        m.app, m.name, u.target.0, u.target.1
                    )),
            };
            d = add_hint(project, d, &u.target, u.kind);
            let swappable = match u.kind {
                EdgeKind::Dependency(i) => {
                    m.dependencies.get(i).is_some_and(|d| d.swappable.is_some())
                }
                EdgeKind::RunBefore(_) => false,
            };
            if let Some(to) = repoint_target(project, &u.target).filter(|_| !swappable) {
                d = d.with_fix(crate::fixes::repoint(
                    project,
                    m,
                    edge_range(m, u.kind),
                    &to,
                ));
            }
            // The conflict this dangling reference causes is part of this error.
            for f in folded.iter().filter(|f| f.edges.contains(&ui)) {
                let names: Vec<String> = f
                    .leaves
                    .iter()
                    .filter_map(|&i| project.migrations.get(i))
                    .map(|m| format!("`{}`", m.name))
                    .collect();
                d = d.note(format!(
                    "this also leaves `{}` with {} leaf nodes ({}): fixing this reference as the help says removes that conflict, so it is not reported on its own (MIG002)",
                    f.app,
                    names.len(),
                    names.join(", ")
                ));
            }
            out.push(d);
        }
    }
}

/// Where the hint says the reference should point: the same migration under an app's
/// new label, the one migration with the same number in the same app, or the one with
/// the same name in another app.
fn repoint_target(project: &Project, target: &(String, String)) -> Option<(String, String)> {
    let (app, name) = target;
    if let Some(r) = project.renames.of(app) {
        let key = (r.new.clone(), name.clone());
        return project.migration(&key).map(|_| key);
    }
    if let Some(num) = migration_number(name) {
        let same: Vec<_> = project
            .migrations
            .iter()
            .filter(|m| &m.app == app && m.number() == Some(num) && &m.name != name)
            .collect();
        if let [m] = same.as_slice() {
            return Some(m.key());
        }
    }
    let same: Vec<_> = project
        .migrations
        .iter()
        .filter(|m| &m.name == name && &m.app != app)
        .collect();
    match same.as_slice() {
        [m] => Some(m.key()),
        _ => None,
    }
}

/// The rename hint: the app a vanished label was renamed to, a migration with the same
/// number in the same app, or the same name in another app. Also lists what a contrib app
/// really has.
fn add_hint(
    project: &Project,
    mut d: Diagnostic,
    target: &(String, String),
    kind: EdgeKind,
) -> Diagnostic {
    let (app, name) = target;
    if let Some(r) = project.renames.of(app) {
        let field = match kind {
            EdgeKind::Dependency(_) => "dependency",
            EdgeKind::RunBefore(_) => "`run_before` entry",
        };
        let new = &r.new;
        if let Some(m) = project.migration(&(new.clone(), name.clone())) {
            d = d.label(
                migration_span(m),
                format!("`{new}.{name}`: the same migration under the new label"),
            );
        }
        for e in &r.evidence {
            if let Evidence::Tables(t) = e {
                if let Some((i, lit)) = t.first() {
                    if let Some(m) = project.migrations.get(*i) {
                        d = d.label(
                            Span::new(m.file, lit.range),
                            format!("`{new}` still names its table after `{app}`"),
                        );
                    }
                }
            }
        }
        return d
            .note(format!("`{app}` looks renamed to `{new}` ({})", r.reasons()))
            .note(format!(
                "renaming an app loses its history: Django records applied migrations by `(app_label, name)`, so on a database that applied `{app}.*` every `{new}` migration is new and runs again"
            ))
            .help(format!(
                "repoint the {field} to (\"{new}\", \"{name}\"); to keep the history instead, keep the old label with `label = \"{app}\"` in `{new}`'s AppConfig"
            ));
    }
    if let Some(num) = migration_number(name) {
        let same_number: Vec<_> = project
            .migrations
            .iter()
            .filter(|m| &m.app == app && m.number() == Some(num) && &m.name != name)
            .collect();
        if let [m] = same_number.as_slice() {
            d = d
                .label(migration_span(m), format!("`{}` has the same number: renamed from `{name}`?", m.name))
                .help(format!(
                    "if `{app}/{name}` was renamed to `{}`, restore its original name: Django records applied migrations by name and would run `{}.{}` again; otherwise depend on (\"{app}\", \"{}\")",
                    m.name, app, m.name, m.name
                ));
            return d;
        }
    }
    let same_name: Vec<_> = project
        .migrations
        .iter()
        .filter(|m| &m.name == name && &m.app != app)
        .collect();
    if let [m] = same_name.as_slice() {
        d = d
            .label(migration_span(m), format!("`{}.{}` has the same name: app `{app}` renamed to `{}`?", m.app, m.name, m.app))
            .help(format!(
                "if app `{app}` was renamed to `{}`, every applied `{app}.*` migration will be treated as never applied and `{}.*` will run again: keep the old label (`label = \"{app}\"` in the AppConfig) or move the data with a proper migration; otherwise depend on (\"{}\", \"{}\")",
                m.app, m.app, m.app, m.name
            ));
        return d;
    }
    let contrib: Vec<&str> = djcheck_project::contrib::migrations_of(app)
        .map(|m| m.1)
        .collect();
    if let Some(last) = contrib.last() {
        d = d.help(format!(
            "Django {} ships {} migrations for `{app}`, the latest being `{last}`",
            djcheck_project::contrib::SUPPORTED_DJANGO,
            contrib.len()
        ));
    } else if project
        .graph
        .nodes
        .iter()
        .any(|n| n.key.0 == *app && n.origin == Some(Origin::External))
    {
        d = d.help(format!(
            "the installed `{app}` has no migration `{name}`: check the version the project pins"
        ));
    }
    d
}
