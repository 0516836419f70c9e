use crate::util::{dotted, migration_span};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::base::BaseMigration;
use djcheck_project::migration::{migration_number, Key, Migration, OpKind};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it finds
    /// A migration that existed at the base revision — by app label and name — and no
    /// longer does: its file was renamed, moved to another app, or deleted, and no
    /// `replaces` accounts for it (in the working tree, or at the base in a squashed
    /// migration still here: removing the replaced migrations and the `replaces` list
    /// together is the last step of Django's squashing workflow). The base is `HEAD` in a git
    /// repository (renames and deletions staged or in the working tree: what a commit is
    /// about to record), or with `--base REF` the merge-base of REF and `HEAD` (what a
    /// pull request changes); `--no-base` turns the comparison off. A renamed or
    /// moved file is matched by its operations (compared as code, not bytes), then by
    /// name, then by number, and reported as old -> new. When a whole app's migrations
    /// moved to another label, one diagnostic reports the app rename.
    ///
    /// ## Why it matters
    /// Django records applied migrations by `(app_label, name)`. A renamed migration is
    /// applied again as new (duplicated rows, "table already exists"), and the old name is
    /// forgotten; after an app rename every migration of the app runs again. This is how
    /// hand-renamed migrations end up duplicating users in production.
    ///
    /// ## Example
    /// `git mv workspace_app profile_app`, then a search-and-replace of the label in the
    /// migration files: `profile_app.0001_initial` is new to every database that applied
    /// `workspace_app.0001_initial`.
    ///
    /// ## How to fix
    /// Keep the old file name (and the old app label: `label = "workspace_app"` in the
    /// AppConfig). For a deliberate squash, add `replaces = [("app", "old_name")]` to the
    /// new migration. To really move models between apps, keep the old migrations and use
    /// `SeparateDatabaseAndState` in new ones.
    pub struct RenamedMigration { code: "MIG004", name: "renamed-migration", severity: Error }
}

fn uses_separate_state(m: &Migration) -> bool {
    m.operations
        .iter()
        .any(|o| matches!(o.kind, OpKind::SeparateDatabaseAndState { .. }))
}

impl Rule for RenamedMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let Some(snap) = &project.base else { return };
        // Keys borrowed from the migrations: the sets hold every migration of both sides.
        fn key<'a>(app: &'a str, name: &'a str) -> (&'a str, &'a str) {
            (app, name)
        }
        let current: BTreeSet<(&str, &str)> = project
            .migrations
            .iter()
            .map(|m| key(&m.app, &m.name))
            .collect();
        let base_keys: BTreeSet<(&str, &str)> = snap
            .migrations
            .iter()
            .map(|b| key(&b.app, &b.name))
            .collect();
        // Replaced now, or at the base by a migration that is still here: a squash whose
        // `replaces` is removed together with the migrations it replaced, the last step of
        // Django's squashing workflow once every database has applied the squash.
        let replaced: BTreeSet<(&str, &str)> = project
            .migrations
            .iter()
            .flat_map(|m| m.replaces.iter().map(|r| key(&r.key.0, &r.key.1)))
            .chain(
                snap.migrations
                    .iter()
                    .filter(|b| current.contains(&key(&b.app, &b.name)))
                    .flat_map(|b| b.replaces.iter().map(|r| key(&r.0, &r.1))),
            )
            .collect();
        let missing: Vec<&BaseMigration> = snap
            .migrations
            .iter()
            .filter(|o| {
                let k = key(&o.app, &o.name);
                !current.contains(&k) && !replaced.contains(&k)
            })
            .collect();
        if missing.is_empty() {
            return;
        }
        let new: Vec<&Migration> = project
            .migrations
            .iter()
            .filter(|m| !base_keys.contains(&key(&m.app, &m.name)))
            .collect();
        // Match each missing migration to at most one new one, strongest evidence first:
        // the same name in another app when the old app is gone (an app rename), the same
        // non-empty operations in the same app, then anywhere, then the same number in the
        // same app.
        let current_apps: BTreeSet<&str> =
            project.migrations.iter().map(|m| m.app.as_str()).collect();
        let mut taken: BTreeSet<Key> = BTreeSet::new();
        let mut found: Vec<Option<&Migration>> = vec![None; missing.len()];
        type Pass = fn(&BaseMigration, &Migration, &BTreeSet<&str>) -> bool;
        let passes: [Pass; 4] = [
            |o, m, apps| m.name == o.name && m.app != o.app && !apps.contains(o.app.as_str()),
            |o, m, _| {
                m.app == o.app
                    && o.operation_count > 0
                    && o.fingerprint.is_some()
                    && m.operations_fingerprint == o.fingerprint
            },
            |o, m, _| {
                o.operation_count > 0
                    && o.fingerprint.is_some()
                    && m.operations_fingerprint == o.fingerprint
            },
            |o, m, _| {
                m.app == o.app
                    && migration_number(&o.name).is_some()
                    && m.number() == migration_number(&o.name)
            },
        ];
        for pass in passes {
            for (i, o) in missing.iter().enumerate() {
                if found[i].is_some() {
                    continue;
                }
                if let Some(m) = new
                    .iter()
                    .find(|m| !taken.contains(&m.key()) && pass(o, m, &current_apps))
                {
                    taken.insert(m.key());
                    found[i] = Some(m);
                }
            }
        }
        let matches: Vec<(&BaseMigration, Option<&Migration>)> =
            missing.iter().copied().zip(found).collect();
        // App renames: every base migration of an app that is gone moved to one new label.
        let mut by_app: BTreeMap<&str, Vec<(&BaseMigration, Option<&Migration>)>> = BTreeMap::new();
        for (o, m) in &matches {
            by_app.entry(o.app.as_str()).or_default().push((o, *m));
        }
        let when = format!("`{}`", snap.base.name);
        for (app, list) in by_app {
            let all_of_app = snap.migrations.iter().filter(|o| o.app == app).count() == list.len();
            let targets: BTreeSet<&str> = list
                .iter()
                .filter_map(|(_, m)| m.map(|m| m.app.as_str()))
                .collect();
            if all_of_app
                && !current_apps.contains(app)
                && list.len() > 1
                && targets.len() == 1
                && list.iter().all(|(_, m)| m.is_some())
            {
                let Some(to) = targets.into_iter().next() else {
                    continue;
                };
                if list.iter().any(|(_, m)| m.is_some_and(uses_separate_state)) {
                    continue;
                }
                let Some(first) = list
                    .iter()
                    .filter_map(|(_, m)| *m)
                    .min_by(|a, b| a.name.cmp(&b.name))
                else {
                    continue;
                };
                let pairs: Vec<String> = list
                    .iter()
                    .filter_map(|(o, m)| {
                        m.map(|m| format!("{} -> {}", dotted(&o.key()), dotted(&m.key())))
                    })
                    .collect();
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "app `{app}` was renamed to `{to}`: its {} migrations will be applied again as new",
                            list.len()
                        ))
                        .at(migration_span(first), format!("was `{app}.{}` at {when}", list.iter().find(|(_, m)| m.is_some_and(|m| m.key() == first.key())).map_or(String::new(), |(o, _)| o.name.clone())))
                        .note(format!(
                            "Django records applied migrations by app label and name: every `{to}.*` migration is new to databases that applied `{app}.*`, which will be treated as never applied"
                        ))
                        .note(format!("moved: {}", pairs.join(", ")))
                        .help(format!(
                            "keep the label: set `label = \"{app}\"` in `{to}`'s AppConfig; or keep app `{app}` with its migrations and move the models with SeparateDatabaseAndState"
                        )),
                );
                continue;
            }
            for (o, m) in list {
                match m {
                    Some(m) if uses_separate_state(m) => {}
                    Some(m) => out.push(
                        Self::META
                            .diagnostic(format!("migration `{}` was renamed to `{}`", dotted(&o.key()), dotted(&m.key())))
                            .at(migration_span(m), format!("was `{}` at {when}", o.path))
                            .note(format!(
                                "Django records applied migrations by app label and name: `{}` will be applied as new; `{}` will be treated as never applied",
                                dotted(&m.key()),
                                dotted(&o.key())
                            ))
                            .help(format!(
                                "keep the old name `{}`; or, for a deliberate squash, add `replaces = [(\"{}\", \"{}\")]`; or move data with a proper migration",
                                o.name, o.app, o.name
                            ))
                            .with_fix(
                                (o.app == m.app)
                                    .then(|| crate::fixes::replaces(project, m, &o.key()))
                                    .flatten(),
                            ),
                    ),
                    None => out.push(
                        Self::META
                            .diagnostic(format!(
                                "migration `{}` (`{}` at {when}) was deleted and no `replaces` accounts for it",
                                dotted(&o.key()),
                                o.path
                            ))
                            .note("databases that applied it keep its changes and its row in django_migrations; migrations that depended on it now fail or run against a different schema")
                            .help(format!(
                                "restore `{}`; or, if it was squashed, list it in the squashed migration's `replaces`",
                                o.path
                            )),
                    ),
                }
            }
        }
    }
}
