//! Small helpers shared by the family's rules.

use djcheck_linter::Span;
use djcheck_project::graph::{EdgeKind, Origin};
use djcheck_project::migration::{Key, Migration};
use djcheck_project::Project;
use djcheck_python::TextRange;
use std::collections::{BTreeMap, BTreeSet};

/// Where to point for a migration as a whole: its `Migration` class name.
pub fn migration_span(m: &Migration) -> Span {
    Span::new(m.file, m.class_range.unwrap_or_default())
}

/// The source range of a dependency or run_before entry.
pub fn edge_range(m: &Migration, kind: EdgeKind) -> TextRange {
    match kind {
        EdgeKind::Dependency(i) => m.dependencies.get(i).map(|d| d.range),
        EdgeKind::RunBefore(i) => m.run_before.get(i).map(|r| r.range),
    }
    .or(m.class_range)
    .unwrap_or_default()
}

/// `app.name`
pub fn dotted(key: &Key) -> String {
    format!("{}.{}", key.0, key.1)
}

/// The project migration of a graph node, if it is one.
pub fn project_migration(project: &Project, node: usize) -> Option<&Migration> {
    match project.graph.nodes.get(node)?.origin? {
        Origin::Project(i) => project.migrations.get(i),
        _ => None,
    }
}

/// Whether a migration of `app` depends on a missing migration of the same app (MIG001):
/// the app's leaves and branches then follow from that mistake, and reporting them too
/// would only repeat it.
pub fn has_broken_internal_dependency(project: &Project, app: &str) -> bool {
    project.graph.unresolved.iter().any(|u| {
        u.target.0 == app
            && project
                .migrations
                .get(u.migration)
                .is_some_and(|m| m.app == app)
    })
}

/// A conflict (two or more leaves in an app) that exists only because dependencies of
/// the app's migrations dangle: fixing them as the hints say (or, without a hint, to any
/// migration of the app) leaves one leaf. One root cause, one error: MIG001 reports the
/// dangling dependencies with a note about the leaves, and MIG002 stays silent.
pub struct FoldedConflict {
    pub app: String,
    /// The leaves, as project migrations, sorted by name.
    pub leaves: Vec<usize>,
    /// Indices into `graph.unresolved` of the dangling references that can remove a leaf.
    pub edges: Vec<usize>,
}

/// The migration a dangling reference most likely means, when its hint says so: the same
/// name in the app a vanished label was renamed to, or the one migration with the same
/// number in the same app.
pub fn hinted_target(project: &Project, target: &Key) -> Option<usize> {
    let (app, name) = target;
    if let Some(r) = project.renames.of(app) {
        let key = (r.new.clone(), name.clone());
        return project.graph.node(&key);
    }
    let num = djcheck_project::migration::migration_number(name)?;
    let same: Vec<&Migration> = project
        .migrations
        .iter()
        .filter(|m| &m.app == app && m.number() == Some(num) && &m.name != name)
        .collect();
    match same.as_slice() {
        [m] => project.graph.node(&m.key()),
        _ => None,
    }
}

/// Conflicts that the dangling references of the app's own migrations explain.
pub fn folded_conflicts(project: &Project) -> Vec<FoldedConflict> {
    let g = &project.graph;
    let mut out = Vec::new();
    let apps: BTreeSet<&str> = project.migrations.iter().map(|m| m.app.as_str()).collect();
    for app in apps {
        if g.uncertain_apps.contains(app) {
            continue;
        }
        let leaves: Vec<usize> = g.leaf_nodes(app);
        if leaves.len() < 2 {
            continue;
        }
        // Per dangling reference of the app's migrations: the leaves fixing it may absorb
        // (a leaf gains a child in the app when the reference is repointed to it).
        let mut options: Vec<(usize, Vec<usize>)> = Vec::new();
        for (ui, u) in g.unresolved.iter().enumerate() {
            let Some(m) = project.migrations.get(u.migration) else {
                continue;
            };
            if m.app != app {
                continue;
            }
            let Some(from) = g.node(&m.key()) else {
                continue;
            };
            let below = g.descendants(from);
            let ok = |t: &usize| *t != from && !below.contains(t);
            let absorbs: Vec<usize> = match hinted_target(project, &u.target) {
                Some(t) if g.nodes[t].key.0 == app => leaves
                    .iter()
                    .copied()
                    .filter(|l| *l == t && ok(l))
                    .collect(),
                Some(_) => Vec::new(),
                None if u.target.0 == app => leaves.iter().copied().filter(ok).collect(),
                None => Vec::new(),
            };
            if !absorbs.is_empty() {
                options.push((ui, absorbs));
            }
        }
        if options.is_empty() {
            continue;
        }
        if leaves.len() - max_matching(&options) > 1 {
            continue;
        }
        let mut ms: Vec<usize> = leaves
            .iter()
            .filter_map(|&n| match g.nodes[n].origin {
                Some(Origin::Project(i)) => Some(i),
                _ => None,
            })
            .collect();
        ms.sort_by(|a, b| {
            project.migrations[*a]
                .name
                .cmp(&project.migrations[*b].name)
        });
        out.push(FoldedConflict {
            app: app.to_owned(),
            leaves: ms,
            edges: options.iter().map(|(u, _)| *u).collect(),
        });
    }
    out
}

/// The size of a maximum matching between references and the leaves each may absorb
/// (Kuhn's augmenting paths; the sets are tiny).
fn max_matching(options: &[(usize, Vec<usize>)]) -> usize {
    fn augment(
        i: usize,
        options: &[(usize, Vec<usize>)],
        owner: &mut BTreeMap<usize, usize>,
        seen: &mut BTreeSet<usize>,
    ) -> bool {
        for &leaf in &options[i].1 {
            if !seen.insert(leaf) {
                continue;
            }
            let free = match owner.get(&leaf) {
                None => true,
                Some(&j) => augment(j, options, owner, seen),
            };
            if free {
                owner.insert(leaf, i);
                return true;
            }
        }
        false
    }
    let mut owner = BTreeMap::new();
    (0..options.len())
        .filter(|&i| augment(i, options, &mut owner, &mut BTreeSet::new()))
        .count()
}
