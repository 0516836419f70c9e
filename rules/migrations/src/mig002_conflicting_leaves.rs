use crate::util::{folded_conflicts, migration_span, project_migration};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// An app whose migration graph has more than one leaf node: two or more migrations
    /// that no later migration of the same app depends on. Every leaf is labelled. When a
    /// second leaf exists only because a dependency of the app's own migrations dangles
    /// (MIG001), and fixing it as its hint says (or, without a hint, to any migration of
    /// the app) leaves one leaf, the conflict is a note on that MIG001 instead: one root
    /// cause, one error. A conflict that stays however the dangling dependency is fixed is
    /// reported here.
    ///
    /// ## Why it matters
    /// `makemigrations` and `migrate` refuse to run: "Conflicting migrations detected;
    /// multiple leaf nodes in the migration graph". It happens when two branches each add
    /// a migration to the same app and are merged without a merge migration.
    ///
    /// ## Example
    /// `blog/migrations/0003_add_tags.py` and `blog/migrations/0003_add_slug.py` both
    /// depend on `("blog", "0002_post")`.
    ///
    /// ## How to fix
    /// Run `python manage.py makemigrations --merge` to add a merge migration that depends
    /// on every leaf, or renumber one branch onto the other if neither has been applied
    /// anywhere yet.
    pub struct ConflictingLeaves { code: "MIG002", name: "conflicting-leaves", severity: Error }
}

impl Rule for ConflictingLeaves {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let apps: BTreeSet<&str> = project.migrations.iter().map(|m| m.app.as_str()).collect();
        // Conflicts that dangling references explain are notes on their MIG001.
        let folded: BTreeSet<String> = folded_conflicts(project)
            .into_iter()
            .map(|f| f.app)
            .collect();
        for app in apps {
            if project.graph.uncertain_apps.contains(app) || folded.contains(app) {
                continue;
            }
            let mut leaves: Vec<_> = project
                .graph
                .leaf_nodes(app)
                .into_iter()
                .filter_map(|n| project_migration(project, n))
                .collect();
            if leaves.len() < 2 {
                continue;
            }
            leaves.sort_by(|a, b| a.name.cmp(&b.name));
            let names: Vec<String> = leaves.iter().map(|m| format!("`{}`", m.name)).collect();
            let mut d = Self::META
                .diagnostic(format!(
                    "conflicting migrations in app `{app}`: {} leaf nodes ({})",
                    leaves.len(),
                    names.join(", ")
                ))
                .at(migration_span(leaves[0]), "leaf node");
            for m in &leaves[1..] {
                d = d.label(migration_span(m), "leaf node");
            }
            d = d
                .note("Django refuses to migrate: \"Conflicting migrations detected; multiple leaf nodes in the migration graph\"")
                .help(format!("python manage.py makemigrations --merge {app}"))
                .with_fix(crate::fixes::merge(project, app, &leaves));
            out.push(d);
        }
    }
}
