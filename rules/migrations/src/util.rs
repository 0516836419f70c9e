//! Small helpers shared by the family's rules.

use djcheck_linter::Span;
use djcheck_project::graph::{EdgeKind, Origin};
use djcheck_project::migration::{Key, Migration};
use djcheck_project::Project;
use djcheck_python::TextRange;

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
