use crate::shadow::{covers_compiled, Compiled};
use crate::util::{condition_labels, key};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::urls::route;
use djcheck_project::urls::{Name, NodeId, NodeKind, RouteKind, UrlTree};
use rustc_hash::FxHashMap;
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// A pattern that can never be reached because an earlier pattern of the same list
    /// matches every path it matches: the same route registered twice, or a route with a
    /// converter before a more specific one, such as `path("<slug:slug>/", ...)` before
    /// `path("new/", ...)` (the slug converter accepts `new`). Both are labelled. Only
    /// `path()` routes with Django's built-in converters, and identical `re_path()`
    /// regexes, are compared; includes never shadow (Django tries the next pattern when
    /// nothing inside an include matches). Not reported: the same route registered again
    /// for the same view under another name, a name kept for `reverse()`.
    ///
    /// ## Why it matters
    /// Django tries patterns in order and stops at the first match: the later view is
    /// dead code, and requests meant for it are handled by the wrong view (often a 404
    /// from a detail view looking up a slug called `new`).
    ///
    /// ## Example
    /// ```python
    /// urlpatterns = [
    ///     path("<slug:slug>/", views.post_detail),
    ///     path("new/", views.post_create),  # never reached
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// Put the more specific pattern first, or remove the duplicate.
    pub struct ShadowedRoute { code: "URL003", name: "shadowed-route", severity: Warning }
}

impl Rule for ShadowedRoute {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The URL tree and settings only.
    fn reads_migrations(&self) -> bool {
        false
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        let mut reported = BTreeSet::new();
        let mut levels: Vec<&[NodeId]> = vec![&tree.top];
        for n in &tree.nodes {
            if let NodeKind::Include(i) = &n.kind {
                levels.push(&i.children);
            }
        }
        for level in levels {
            let endpoints: Vec<NodeId> = level
                .iter()
                .copied()
                .filter(|id| matches!(tree.node(*id).kind, NodeKind::Endpoint(_)))
                .collect();
            let index = Candidates::new(tree, &endpoints);
            let mut earlier = Vec::new();
            for (j, b) in endpoints.iter().enumerate() {
                index.for_route(j, &mut earlier);
                for &i in &earlier {
                    let a = &endpoints[i];
                    if shadows(tree, &index, (i, *a), (j, *b)) && !name_alias(project, *a, *b) {
                        let (na, nb) = (tree.node(*a), tree.node(*b));
                        let (Some(ra), Some(rb)) = (
                            na.route.as_ref().and_then(|r| r.span),
                            nb.route.as_ref().and_then(|r| r.span),
                        ) else {
                            break;
                        };
                        if !reported.insert((key(rb), key(ra))) {
                            break;
                        }
                        let route_b = nb
                            .route
                            .as_ref()
                            .and_then(|r| r.text.clone())
                            .unwrap_or_default();
                        let route_a = na
                            .route
                            .as_ref()
                            .and_then(|r| r.text.clone())
                            .unwrap_or_default();
                        let same = route_a == route_b;
                        let route_a = route::shown(&route_a);
                        let route_b = route::shown(&route_b);
                        let mut d = Self::META
                            .diagnostic(format!(
                                "unreachable route `{route_b}`: an earlier pattern matches every path it matches"
                            ))
                            .at(rb, "never reached")
                            .label(
                                ra,
                                if same {
                                    "the same route, registered earlier".to_owned()
                                } else {
                                    format!("`{route_a}` matches first")
                                },
                            );
                        d = condition_labels(project, d, &[na, nb]);
                        d = d.help(if same {
                            "remove one of the two registrations".to_owned()
                        } else {
                            format!(
                                "put the pattern for `{route_b}` before the one for `{route_a}`"
                            )
                        });
                        out.push(d);
                        break;
                    }
                }
            }
        }
    }
}

/// The same route registered again for the same view under another name: a name kept for
/// `reverse()` (an old name, a second namespace-free one). Resolving never reaches the
/// second registration, but it has nothing else to do.
fn name_alias(project: &Project, a: NodeId, b: NodeId) -> bool {
    let tree = &project.urls;
    let (na, nb) = (tree.node(a), tree.node(b));
    let (NodeKind::Endpoint(ea), NodeKind::Endpoint(eb)) = (&na.kind, &nb.kind) else {
        return false;
    };
    let same_route = match (&na.route, &nb.route) {
        (Some(ra), Some(rb)) => ra.text.is_some() && ra.text == rb.text,
        _ => false,
    };
    if !same_route || ea.has_kwargs || eb.has_kwargs {
        return false;
    }
    let text = |s: djcheck_linter::Span| {
        let t = &project.db.file(s.file).text;
        t.get(usize::from(s.range.start())..usize::from(s.range.end()))
            .map(|v| v.split_whitespace().collect::<String>())
    };
    let same_view = text(ea.view).is_some_and(|v| Some(v) == text(eb.view));
    let other_name = match (&ea.name, &eb.name) {
        (Name::Known(x, _), Name::Known(y, _)) => x != y,
        (Name::Absent, Name::Absent) => false,
        // An unknown name may be the alias; one name and none is an alias too.
        _ => true,
    };
    same_view && other_name
}

/// The routes of one list that may shadow each other, found without comparing every
/// pair: a `path()` route can only be shadowed by an earlier one whose literal prefix is
/// a prefix of its own (see [`Compiled::may_cover`]), a `re_path()` only by the same
/// regex. Comparing 3,000 routes pairwise took half a minute; this looks up each route's
/// prefixes.
struct Candidates<'t> {
    /// Each endpoint's compiled `path()` route, when it has one that can be compared.
    compiled: Vec<Option<Compiled>>,
    /// Literal prefix of a compiled route to the positions of the routes having it.
    by_prefix: FxHashMap<String, Vec<usize>>,
    /// Each endpoint's `re_path()` regex, when it can be compared.
    regex: Vec<Option<&'t str>>,
    /// A `re_path()` regex to the positions of the routes having it.
    by_regex: FxHashMap<&'t str, Vec<usize>>,
}

impl<'t> Candidates<'t> {
    fn new(tree: &'t UrlTree, endpoints: &[NodeId]) -> Self {
        let mut out = Candidates {
            compiled: Vec::with_capacity(endpoints.len()),
            by_prefix: FxHashMap::default(),
            regex: Vec::with_capacity(endpoints.len()),
            by_regex: FxHashMap::default(),
        };
        for (i, id) in endpoints.iter().enumerate() {
            let route = tree
                .node(*id)
                .route
                .as_ref()
                .filter(|r| !r.translated)
                .and_then(|r| Some((r.kind, r.text.as_deref()?)));
            let (c, x) = match route {
                Some((RouteKind::Path, text)) => (Compiled::new(text), None),
                Some((RouteKind::Regex, text)) => (None, Some(text)),
                _ => (None, None),
            };
            if let Some(c) = &c {
                out.by_prefix
                    .entry(c.prefix().to_owned())
                    .or_default()
                    .push(i);
            }
            if let Some(x) = x {
                out.by_regex.entry(x).or_default().push(i);
            }
            out.compiled.push(c);
            out.regex.push(x);
        }
        out
    }

    /// The positions before `j` of the routes that may shadow route `j`, in order.
    fn for_route(&self, j: usize, out: &mut Vec<usize>) {
        out.clear();
        fn before(v: &[usize], j: usize) -> impl Iterator<Item = usize> + '_ {
            v.iter().copied().take_while(move |&i| i < j)
        }
        if let Some(Some(c)) = self.compiled.get(j) {
            let prefix = c.prefix();
            for (k, _) in prefix
                .char_indices()
                .chain(std::iter::once((prefix.len(), ' ')))
            {
                if let Some(v) = self.by_prefix.get(&prefix[..k]) {
                    out.extend(before(v, j));
                }
            }
            out.sort_unstable();
        } else if let Some(Some(x)) = self.regex.get(j) {
            if let Some(v) = self.by_regex.get(x) {
                out.extend(before(v, j));
            }
        }
    }

    fn compiled(&self, i: usize) -> Option<&Compiled> {
        self.compiled.get(i).and_then(Option::as_ref)
    }
}

/// True when endpoint `a` (earlier) matches every path endpoint `b` (later) matches.
fn shadows(tree: &UrlTree, index: &Candidates<'_>, a: (usize, NodeId), b: (usize, NodeId)) -> bool {
    let (na, nb) = (tree.node(a.1), tree.node(b.1));
    let (NodeKind::Endpoint(ea), NodeKind::Endpoint(_)) = (&na.kind, &nb.kind) else {
        return false;
    };
    if !ea.certain || na.cond.excludes(&nb.cond) || na.call == nb.call {
        return false;
    }
    let (Some(ra), Some(rb)) = (&na.route, &nb.route) else {
        return false;
    };
    if ra.translated || rb.translated || ra.kind != rb.kind {
        return false;
    }
    let (Some(ta), Some(tb)) = (&ra.text, &rb.text) else {
        return false;
    };
    match ra.kind {
        RouteKind::Path => match (index.compiled(a.0), index.compiled(b.0)) {
            (Some(ca), Some(cb)) => covers_compiled(ca, cb) == Some(true),
            _ => false,
        },
        RouteKind::Regex => ta == tb,
        RouteKind::Locale => false,
    }
}

#[cfg(test)]
mod tests {
    use super::ShadowedRoute;
    use crate::testing::{fires, silent};

    #[test]
    fn converter_before_literal() {
        let d = fires(
            &ShadowedRoute,
            &[(
                "proj/urls.py",
                "from django.urls import path\nurlpatterns = [\n    path('<slug:slug>/', lambda r: r),\n    path('new/', lambda r: r),\n    path('x/', lambda r: r),\n    path('x/', lambda r: r),\n]\n",
            )],
        );
        assert_eq!(d.len(), 3, "{d:#?}");
    }

    #[test]
    fn specific_first_and_includes() {
        silent(
            &ShadowedRoute,
            &[(
                "proj/urls.py",
                "from django.urls import include, path\nurlpatterns = [\n    path('new/', lambda r: r),\n    path('<slug:slug>/', lambda r: r),\n    path('', include([path('a/', lambda r: r)])),\n    path('a/b/', lambda r: r),\n    path('<int:pk>/edit/', lambda r: r),\n    path('new/edit/', lambda r: r),\n]\n",
            )],
        );
    }
}
