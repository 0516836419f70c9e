use crate::util::{dotted, migration_span, project_migration};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::migration::{Key, Migration};

declare_rule! {
    /// ## What it finds
    /// A cycle in the migration graph: migrations that depend on each other, directly or
    /// through others (including `run_before`, squashed migrations and the contrib apps'
    /// own dependencies). The whole cycle is printed as `app.name -> app.name -> ...`,
    /// where `a -> b` means `a` depends on `b`.
    ///
    /// ## Why it matters
    /// Django cannot order the migrations: `migrate` fails with `CircularDependencyError`.
    /// A common cause is two apps whose initial migrations point at each other's models;
    /// another is a custom user app whose first migration depends on `admin`, which itself
    /// depends on the user model.
    ///
    /// ## Example
    /// `shop.0001_initial` depends on `("orders", "0001_initial")`, which depends on
    /// `("shop", "0001_initial")`.
    ///
    /// ## How to fix
    /// Break the cycle: move the foreign key that closes it into a second migration of one
    /// app (`makemigrations` does this itself when it creates both at once), and make only
    /// that second migration depend on the other app.
    pub struct DependencyCycle { code: "MIG003", name: "dependency-cycle", severity: Error }
}

impl Rule for DependencyCycle {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let g = &project.graph;
        for cycle in &g.cycles {
            if cycle.is_empty() {
                continue;
            }
            let keys: Vec<&Key> = cycle.iter().map(|&i| &g.nodes[i].key).collect();
            let mut path: Vec<String> = keys.iter().map(|k| dotted(k)).collect();
            path.push(dotted(keys[0]));
            // Point at the dependency entries that close each edge of the cycle.
            let mut spans: Vec<(Span, String)> = Vec::new();
            for (pos, &node) in cycle.iter().enumerate() {
                let next = cycle[(pos + 1) % cycle.len()];
                let Some(m) = project_migration(project, node) else {
                    continue;
                };
                let next_key = &g.nodes[next].key;
                let span = edge_span(project, m, next_key).unwrap_or_else(|| migration_span(m));
                spans.push((
                    span,
                    format!("`{}` depends on `{}`", dotted(&m.key()), dotted(next_key)),
                ));
            }
            let Some((first, first_msg)) = spans.first().cloned() else {
                continue;
            };
            let mut d = Self::META
                .diagnostic(format!("dependency cycle: {}", path.join(" -> ")))
                .at(first, first_msg);
            for (s, msg) in spans.into_iter().skip(1) {
                d = d.label(s, msg);
            }
            d = d
                .note("Django raises `CircularDependencyError` and cannot order these migrations")
                .help("move the dependency that closes the cycle into a later migration of one of the apps");
            out.push(d);
        }
    }
}

/// The `dependencies` entry of `m` that leads to `target` (directly, through a squash,
/// or via `__first__`/`__latest__`), or the `run_before` entry of `target` naming `m`.
fn edge_span(project: &Project, m: &Migration, target: &Key) -> Option<Span> {
    let g = &project.graph;
    for d in &m.dependencies {
        let resolved = g.replacement_of(&d.key);
        if resolved == target
            || (d.key.0 == target.0 && (d.key.1 == "__first__" || d.key.1 == "__latest__"))
        {
            return Some(Span::new(m.file, d.range));
        }
    }
    // `target` may list `m` in its own run_before.
    let t = project.migration(target)?;
    t.run_before
        .iter()
        .find(|r| g.replacement_of(&r.key) == &m.key())
        .map(|r| Span::new(t.file, r.range))
}
