use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::migration::{walk, Lit, OpKind, Operation};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it finds
    /// A model's `db_table` (in CreateModel options, AlterModelTable or
    /// AlterModelOptions) that belongs to another app: it equals the table of another
    /// app's model, it is another app's default table name for this very model
    /// (`workspace_app_userprofile` for `UserProfile` in `profile_app`, when
    /// `workspace_app` is an app of the project, of Django, or of the base revision), or
    /// it starts with another app's label and `_`. An app that no longer exists while
    /// migrations still depend on it or refer to its models counts: a table named after
    /// it is the residue of an app renamed by hand, reported with the rename. Not reported: unmanaged
    /// (`managed=False`) and proxy models, which map existing tables on purpose; both sides
    /// of a model moved between apps with `SeparateDatabaseAndState` (Django's documented
    /// recipe): models created on its state side, and in the app the model leaves (deleted
    /// from the state only), the `AlterModelTable` that hands its table over; a custom
    /// user model keeping `auth_user`.
    ///
    /// ## Why it matters
    /// It is what an app renamed by hand leaves behind: migrations copied into the new app
    /// keep the old app's table names. Django then has two apps claiming one table, or a
    /// new app writing into a table the old migrations still create and drop; data ends up
    /// duplicated or lost when either app's migrations run.
    ///
    /// ## Example
    /// ```python
    /// # profile_app/migrations/0001_initial.py
    /// migrations.CreateModel(
    ///     name="UserProfile",
    ///     fields=[...],
    ///     options={"db_table": "workspace_app_userprofile"},
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Rename the table with `migrations.AlterModelTable("userprofile",
    /// "profile_app_userprofile")` (or drop `db_table`) once the data is where it should
    /// be. If the table really is shared on purpose, make the model unmanaged or suppress
    /// the finding with a reason: `# djcheck: ignore[MIG005] -- shared with the billing
    /// service`.
    pub struct ForeignTableName { code: "MIG005", name: "foreign-table-name", severity: Warning }
}

struct TableUse<'a> {
    app: &'a str,
    model: String,
    table: &'a Lit,
    file: djcheck_linter::FileId,
}

/// Operations that create or rename tables in the database. The state side of
/// SeparateDatabaseAndState is skipped: that is Django's documented way to move a model
/// between apps while keeping its table.
fn visit<'a>(ops: &'a [Operation], f: &mut dyn FnMut(&'a Operation)) {
    for w in walk(ops) {
        if w.database
            && !matches!(
                w.op.kind,
                OpKind::SeparateDatabaseAndState { .. } | OpKind::RunSql { .. }
            )
        {
            f(w.op);
        }
    }
}

/// Models deleted from the state only (`SeparateDatabaseAndState` whose state side
/// deletes a model its database side does not), lowercased: those at the top level or on
/// the state side of another, not inside a RunSQL's `state_operations`.
fn state_only_deletes(ops: &[Operation], f: &mut dyn FnMut(String)) {
    for w in walk(ops) {
        if !w.state || w.in_run_sql {
            continue;
        }
        if let OpKind::SeparateDatabaseAndState { database, state } = &w.op.kind {
            let mut dropped = BTreeSet::new();
            visit(database, &mut |o| {
                if let OpKind::DeleteModel { name: Some(n) } = &o.kind {
                    dropped.insert(n.value.to_ascii_lowercase());
                }
            });
            for s in state {
                if let OpKind::DeleteModel { name: Some(n) } = &s.kind {
                    let model = n.value.to_ascii_lowercase();
                    if !dropped.contains(&model) {
                        f(model);
                    }
                }
            }
        }
    }
}

impl Rule for ForeignTableName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        // Every explicit db_table, and which models are unmanaged or proxies.
        let mut uses: Vec<TableUse<'_>> = Vec::new();
        // Every model created: app, name, and whether it is unmanaged or a proxy.
        let mut created: Vec<(&str, &str, bool)> = Vec::new();
        for m in &project.migrations {
            visit(&m.operations, &mut |op| match &op.kind {
                OpKind::CreateModel {
                    name: Some(n),
                    db_table,
                    managed,
                    proxy,
                    ..
                } => {
                    let unmanaged = *managed == Some(false) || *proxy == Some(true);
                    created.push((m.app.as_str(), n.value.as_str(), unmanaged));
                    if let Some(t) = db_table {
                        uses.push(TableUse {
                            app: &m.app,
                            model: n.value.to_ascii_lowercase(),
                            table: t,
                            file: m.file,
                        });
                    }
                }
                OpKind::AlterModelTable {
                    name: Some(n),
                    table: Some(t),
                }
                | OpKind::AlterModelOptions {
                    name: Some(n),
                    db_table: Some(t),
                    ..
                } => {
                    uses.push(TableUse {
                        app: &m.app,
                        model: n.value.to_ascii_lowercase(),
                        table: t,
                        file: m.file,
                    });
                }
                _ => {}
            });
        }
        if uses.is_empty() {
            return;
        }
        let mut exempt: BTreeSet<(&str, String)> = BTreeSet::new();
        // Default table names of every model: `label_modelname`.
        let mut owned: BTreeMap<String, (&str, String)> = BTreeMap::new();
        for (app, name, unmanaged) in created {
            let model = name.to_ascii_lowercase();
            if unmanaged {
                exempt.insert((app, model.clone()));
            }
            owned
                .entry(format!("{app}_{model}"))
                .or_insert((app, name.to_owned()));
        }
        // Models moved out of their app, Django's documented recipe: the state forgets the
        // model (a state-only DeleteModel) while the database keeps its table, usually
        // renamed first for the app that takes it over (AlterModelTable to the new app's
        // name). Both sides of such a move are exempt.
        for m in &project.migrations {
            state_only_deletes(&m.operations, &mut |model| {
                exempt.insert((m.app.as_str(), model));
            });
        }
        // Explicit tables are owned too: a second app using one is the same conflict.
        for u in &uses {
            owned
                .entry(u.table.value.clone())
                .or_insert((u.app, u.model.clone()));
        }
        let labels: BTreeSet<&str> = project
            .apps
            .iter()
            .map(|a| a.label.as_str())
            .chain(
                djcheck_project::contrib::CONTRIB_MIGRATIONS
                    .iter()
                    .map(|c| c.0),
            )
            .collect();
        let user = project
            .user_model
            .as_ref()
            .map(|m| (m.app.clone(), m.model.to_ascii_lowercase()));
        // Labels that existed at the base revision (an app renamed since is gone today).
        let history: BTreeSet<&str> = project
            .base
            .iter()
            .flat_map(|b| b.migrations.iter().map(|m| m.app.as_str()))
            .collect();
        let mut reported = BTreeSet::new();
        for u in &uses {
            if exempt.contains(&(u.app, u.model.clone()))
                || !reported.insert((u.file, u.table.range.start()))
            {
                continue;
            }
            let t = u.table.value.as_str();
            if t.starts_with(&format!("{}_", u.app)) || t == u.app {
                continue;
            }
            // A custom user model keeping `auth_user`: the recipe for switching to a custom
            // user model mid-project (the swapped-out auth.User never creates it).
            if t == "auth_user"
                && user
                    .as_ref()
                    .is_some_and(|(a, m)| a == u.app && *m == u.model)
            {
                continue;
            }
            let span = Span::new(u.file, u.table.range);
            // 1. Another app's model owns this table by default.
            if let Some((app, model)) = owned.get(t) {
                if *app != u.app {
                    out.push(
                        Self::META
                            .diagnostic(format!("`db_table` `{t}` is the table of `{app}.{model}`"))
                            .at(span, format!("table of app `{app}`"))
                            .note(format!("two apps now claim `{t}`: the residue of an app rename or a copied migration"))
                            .help(help(u)),
                    );
                    continue;
                }
            }
            // 2. Another app's default name for this very model: `oldapp_modelname`. An app
            // that no longer exists while dependencies still name it counts: that is what
            // renaming an app by hand leaves behind.
            if let Some(prefix) = t.strip_suffix(&format!("_{}", u.model)) {
                if !prefix.is_empty() && prefix != u.app && project.renames.is_absent(prefix) {
                    out.push(residue(project, u, span, t, prefix));
                    continue;
                }
                if !prefix.is_empty()
                    && prefix != u.app
                    && (labels.contains(prefix) || history.contains(prefix))
                {
                    out.push(
                        Self::META
                            .diagnostic(format!("`db_table` `{t}` is the default table name of model `{}` in app `{prefix}`", u.model))
                            .at(span, format!("named after app `{prefix}`, not `{}`", u.app))
                            .note(format!("a model of `{}` keeping `{prefix}`'s table name is what renaming an app by hand leaves behind", u.app))
                            .help(help(u)),
                    );
                    continue;
                }
            }
            // 3. Starts with another app's label (or a vanished one's).
            let other = labels
                .iter()
                .copied()
                .chain(project.renames.absent.iter().map(String::as_str))
                .filter(|l| *l != u.app && t.starts_with(&format!("{l}_")))
                .max_by_key(|l| l.len());
            if let Some(l) = other.filter(|l| project.renames.is_absent(l)) {
                out.push(residue(project, u, span, t, l));
                continue;
            }
            if let Some(l) = other {
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "`db_table` `{t}` starts with the label of app `{l}`"
                        ))
                        .at(span, format!("`{l}_` prefix in app `{}`", u.app))
                        .help(help(u)),
                );
            }
        }
    }
}

/// A table named after an app that no longer exists, while migrations still name it.
fn residue(project: &Project, u: &TableUse<'_>, span: Span, t: &str, old: &str) -> Diagnostic {
    let mut d = ForeignTableName::META
        .diagnostic(format!(
            "`db_table` `{t}` is named after app `{old}`, which no longer exists"
        ))
        .at(span, format!("named after `{old}`, not `{}`", u.app))
        .note(format!(
            "migrations still refer to app `{old}`: a table keeping its name is the residue of an app renamed by hand"
        ));
    match project.renames.of(old).filter(|r| r.new == u.app) {
        Some(r) => {
            d = d.note(format!("`{old}` looks renamed to `{}` ({})", r.new, r.reasons())).help(format!(
                "keep the old label (`label = \"{old}\"` in `{}`'s AppConfig) so that the table and the migration history stay the app's; if the rename is deliberate, rename the table in a new migration: migrations.AlterModelTable(\"{}\", \"{}_{}\")",
                u.app, u.model, u.app, u.model
            ));
        }
        None => d = d.help(help(u)),
    }
    d
}

fn help(u: &TableUse<'_>) -> String {
    format!(
        "rename it with migrations.AlterModelTable(\"{}\", \"{}_{}\") once the data is in place, or make the model unmanaged if the table is shared on purpose",
        u.model, u.app, u.model
    )
}
