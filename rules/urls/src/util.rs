//! Helpers shared by the URL rules: where a registration is, how to describe it.

use djcheck_linter::{Diagnostic, Project, Span};
use djcheck_project::urls::{NodeId, NodeKind, UrlNode, UrlTree};

/// Where a pattern is registered: its `include()` call, else its `path()` call.
pub fn site(node: &UrlNode) -> Option<Span> {
    match &node.kind {
        NodeKind::Include(i) => i.include_call.or(node.call),
        _ => node.call,
    }
}

/// The sites of a node and its ancestors, deepest first.
pub fn chain(tree: &UrlTree, id: NodeId) -> Vec<Span> {
    std::iter::once(id)
        .chain(tree.ancestors(id))
        .filter_map(|n| site(tree.node(n)))
        .collect()
}

/// The place that tells registration `id` apart from the `others`: its own site, or,
/// when a module included twice makes the sites the same, the nearest ancestor's site
/// that differs.
pub fn distinguishing_site(tree: &UrlTree, id: NodeId, others: &[NodeId]) -> Option<Span> {
    let mine = chain(tree, id);
    let theirs: Vec<Vec<Span>> = others
        .iter()
        .filter(|o| **o != id)
        .map(|o| chain(tree, *o))
        .collect();
    mine.iter()
        .copied()
        .find(|s| !theirs.iter().any(|c| c.contains(s)))
        .or_else(|| mine.first().copied())
}

/// ` by the loop, for `apps/blog``, when a loop registered the node.
pub fn loop_note(node: &UrlNode) -> String {
    match &node.via {
        Some(v) => format!(" by the loop, for `{}`", v.item),
        None => String::new(),
    }
}

/// Adds a label at the condition a registration depends on, if any.
pub fn condition_labels(project: &Project, mut d: Diagnostic, nodes: &[&UrlNode]) -> Diagnostic {
    let tree = &project.urls;
    let mut seen = Vec::new();
    for n in nodes {
        for b in n.cond.branches() {
            if seen.contains(&b) {
                continue;
            }
            seen.push(b);
            if let Some(br) = tree.branch(b) {
                d = d.label(br.span, "registered only when this condition allows it");
            }
        }
    }
    d
}

/// Edit distance counting a swap of two neighbouring characters as one edit (optimal
/// string alignment), for suggestions: `blgo` is one edit from `blog`.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
}

/// The closest candidate, when close enough to be a typo.
pub fn closest<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .map(|c| (distance(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min()
        .map(|(_, c)| c)
}

/// A sortable key for a span (spans themselves are not ordered).
pub fn key(s: Span) -> (u32, u32, u32) {
    (
        s.file.0,
        u32::from(s.range.start()),
        u32::from(s.range.end()),
    )
}
