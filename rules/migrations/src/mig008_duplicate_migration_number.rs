use crate::util::migration_span;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::graph::Graph;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it finds
    /// Two migration files with the same number in one app (`0004_add_slug.py` and
    /// `0004_add_tags.py`) on parallel branches of the graph that no merge migration
    /// joins yet. Numbers used on one line of history (one depends on the other) or
    /// already joined by a merge migration are fine.
    ///
    /// ## Why it matters
    /// Two branches each added a migration. Until they are merged, the app has two leaf
    /// nodes (see MIG002) or, with a custom dependency, an order nobody chose. It is worth
    /// a look even when it works: the next `makemigrations` will pick one of them.
    ///
    /// ## Example
    /// `blog/migrations/0004_add_slug.py` and `blog/migrations/0004_add_tags.py` both
    /// depend on `0003_post`, and nothing depends on both.
    ///
    /// ## How to fix
    /// Run `python manage.py makemigrations --merge`, or, if neither has been applied
    /// anywhere, renumber one and make it depend on the other.
    pub struct DuplicateMigrationNumber { code: "MIG008", name: "duplicate-migration-number", severity: Info }
}

impl Rule for DuplicateMigrationNumber {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let g = &project.graph;
        // Grouped by hash (one lookup per migration), then the groups of two or more in
        // key order.
        let mut groups: FxHashMap<(&str, &str), Vec<usize>> = FxHashMap::default();
        for (i, m) in project.migrations.iter().enumerate() {
            if let (Some(num), Some(node)) = (m.number(), g.node_of(i)) {
                groups.entry((m.app.as_str(), num)).or_default().push(node);
            }
        }
        let groups: BTreeMap<(&str, &str), Vec<usize>> = groups
            .into_iter()
            .filter(|(_, nodes)| nodes.len() >= 2)
            .collect();
        let mut marks = Marks::new(g.nodes.len());
        for ((app, num), nodes) in groups {
            if g.uncertain_apps.contains(app)
                || crate::util::has_broken_internal_dependency(project, app)
            {
                continue;
            }
            for (i, &a) in nodes.iter().enumerate() {
                // Through the app's own migrations first (the common case: a merge
                // migration joins them); the whole graph only when that finds no join.
                let local_a = marks.descendants_in_app(g, a, app);
                let mut desc_a = None;
                for &b in &nodes[i + 1..] {
                    if marks.joins_in_app(g, local_a, b, a, app) {
                        continue;
                    }
                    let desc_a = desc_a.get_or_insert_with(|| g.descendants(a));
                    if desc_a.contains(&b) {
                        continue;
                    }
                    let desc_b = g.descendants(b);
                    // A merge migration of the same app joins them; a migration of another
                    // app depending on both does not resolve the app's two branches.
                    let joined = desc_a
                        .intersection(&desc_b)
                        .any(|&n| g.nodes[n].key.0 == app);
                    if desc_b.contains(&a) || joined {
                        continue;
                    }
                    let (Some(ma), Some(mb)) = (
                        project.migration(&g.nodes[a].key),
                        project.migration(&g.nodes[b].key),
                    ) else {
                        continue;
                    };
                    out.push(
                        Self::META
                            .diagnostic(format!(
                                "migration number `{num}` is used twice in app `{app}`: `{}` and `{}`, and no merge migration joins them",
                                ma.name, mb.name
                            ))
                            .at(migration_span(mb), "")
                            .label(migration_span(ma), "same number")
                            .help(format!("python manage.py makemigrations --merge {app}")),
                    );
                }
            }
        }
    }
}

/// Descendants within one app, marked in vectors reused from one group to the next (a
/// project may have hundreds of duplicate numbers, each asking for an app's
/// descendants).
struct Marks {
    /// Per node, the walk that last reached it.
    seen: Vec<u32>,
    /// The same for the second walk of [`Marks::joins_in_app`].
    other: Vec<u32>,
    walk: u32,
    stack: Vec<usize>,
}

impl Marks {
    fn new(n: usize) -> Marks {
        Marks {
            seen: vec![0; n],
            other: vec![0; n],
            walk: 0,
            stack: Vec::new(),
        }
    }

    /// Marks the descendants of `start` through nodes of `app` (not removed) as the
    /// returned walk's.
    fn descendants_in_app(&mut self, g: &Graph, start: usize, app: &str) -> u32 {
        self.walk += 1;
        let walk = self.walk;
        self.stack.clear();
        self.stack.push(start);
        while let Some(i) = self.stack.pop() {
            for &j in &g.nodes[i].children {
                let n = &g.nodes[j];
                if !n.removed && n.key.0 == app && self.seen[j] != walk {
                    self.seen[j] = walk;
                    self.stack.push(j);
                }
            }
        }
        walk
    }

    /// Whether `b` is a descendant of `a` (marked by walk `of_a`), `a` one of `b`, or
    /// both have one in common, through nodes of `app`.
    fn joins_in_app(&mut self, g: &Graph, of_a: u32, b: usize, a: usize, app: &str) -> bool {
        if self.seen[b] == of_a {
            return true;
        }
        self.walk += 1;
        let walk = self.walk;
        self.stack.clear();
        self.stack.push(b);
        while let Some(i) = self.stack.pop() {
            for &j in &g.nodes[i].children {
                let n = &g.nodes[j];
                if n.removed || n.key.0 != app || self.other[j] == walk {
                    continue;
                }
                if j == a || self.seen[j] == of_a {
                    return true;
                }
                self.other[j] = walk;
                self.stack.push(j);
            }
        }
        false
    }
}
