use crate::util::{condition_labels, key, loop_note};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::urls::route::{params, Param};
use djcheck_project::urls::{Name, NodeId, NodeKind, RouteKind, UrlTree};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it finds
    /// Two patterns with the same `name` in the same namespace that take the same
    /// parameters (the same names, accepting the same values), counting the parameters of
    /// the includes around them. Names shared by patterns that take different parameters
    /// are a Django idiom (`reverse("post")` and `reverse("post", args=[1])`) and are not
    /// reported; neither is a module included twice without a namespace.
    ///
    /// ## Why it matters
    /// `reverse()` and `{% url %}` try the patterns of a name from the last registered
    /// to the first and return the first that fits the arguments: with the same
    /// parameters, the later pattern always wins and the earlier one can never be
    /// reversed to. Links meant for it silently go to the other URL.
    ///
    /// ## Example
    /// ```python
    /// urlpatterns = [
    ///     path("posts/<int:pk>/", views.post_detail, name="post"),
    ///     path("drafts/<int:pk>/", views.draft_detail, name="post"),  # copy-pasted name
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// Give each pattern its own name, or remove the pattern that is not needed.
    pub struct DuplicateUrlName { code: "URL002", name: "duplicate-url-name", severity: Warning }
}

impl Rule for DuplicateUrlName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The URL tree and settings only.
    fn reads_migrations(&self) -> bool {
        false
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        let mut groups: BTreeMap<(Option<NodeId>, &str), Vec<Signed>> = BTreeMap::new();
        for id in 0..tree.nodes.len() {
            let NodeKind::Endpoint(e) = &tree.node(id).kind else {
                continue;
            };
            let Name::Known(name, _) = &e.name else {
                continue;
            };
            if e.has_kwargs {
                continue;
            }
            let Some(scope) = tree.scope(id) else {
                continue;
            };
            let Some(sig) = signature(tree, id) else {
                continue;
            };
            groups.entry((scope, name)).or_default().push((id, sig));
        }
        let mut reported = BTreeSet::new();
        for ((scope, name), members) in groups {
            for (i, (a, sig_a)) in members.iter().enumerate() {
                let na = tree.node(*a);
                // The last later pattern with the same parameters is what `reverse()`
                // returns.
                let winner = members[i + 1..].iter().rev().find(|(b, sig_b)| {
                    let nb = tree.node(*b);
                    sig_a == sig_b && na.call != nb.call && !na.cond.excludes(&nb.cond)
                });
                let Some((b, _)) = winner else { continue };
                let nb = tree.node(*b);
                let (Some(sa), Some(sb)) = (name_span(tree, *a), name_span(tree, *b)) else {
                    continue;
                };
                if !reported.insert((key(sa), key(sb))) {
                    continue;
                }
                let scope_ns = scope.and_then(|s| tree.namespace_path(s));
                let scope_text = match &scope_ns {
                    Some(ns) => format!(" in namespace `{ns}`"),
                    None => String::new(),
                };
                let full = match &scope_ns {
                    Some(ns) => format!("{ns}:{name}"),
                    None => (*name).to_owned(),
                };
                let mut d = Self::META
                    .diagnostic(format!(
                        "duplicate URL name `{name}`{scope_text}: `reverse()` can never return this pattern"
                    ))
                    .at(
                        sa,
                        format!("`{name}` names this pattern{}", loop_note(na)),
                    )
                    .label(
                        sb,
                        format!(
                            "and this later one, with the same parameters: `reverse(\"{full}\")` always returns it{}",
                            loop_note(nb)
                        ),
                    );
                d = condition_labels(project, d, &[na, nb]);
                d = d.help("give each pattern its own name");
                out.push(d);
            }
        }
    }
}

/// A pattern and the parameters `reverse()` needs for it.
type Signed = (NodeId, Vec<Param>);

fn name_span(tree: &UrlTree, id: NodeId) -> Option<djcheck_linter::Span> {
    match &tree.node(id).kind {
        NodeKind::Endpoint(e) => e.name.span().or(tree.node(id).call),
        _ => None,
    }
}

/// The parameters `reverse()` needs for a pattern: its own and its includes', sorted.
fn signature(tree: &UrlTree, id: NodeId) -> Option<Vec<Param>> {
    let mut all = Vec::new();
    for n in std::iter::once(id).chain(tree.ancestors(id)) {
        let Some(route) = &tree.node(n).route else {
            continue;
        };
        if route.kind == RouteKind::Locale {
            continue;
        }
        all.extend(params(route.kind, route.text.as_deref()?)?);
    }
    all.sort();
    Some(all)
}

#[cfg(test)]
mod tests {
    use super::DuplicateUrlName;
    use crate::testing::{fires, silent};

    #[test]
    fn same_parameters() {
        let d = fires(
            &DuplicateUrlName,
            &[(
                "proj/urls.py",
                "from django.urls import path\nurlpatterns = [\n    path('posts/<int:pk>/', lambda r: r, name='post'),\n    path('drafts/<int:pk>/', lambda r: r, name='post'),\n]\n",
            )],
        );
        assert_eq!(d.len(), 1);
    }

    #[test]
    fn overloaded_by_parameters() {
        silent(
            &DuplicateUrlName,
            &[(
                "proj/urls.py",
                "from django.urls import path, re_path\nurlpatterns = [\n    path('posts/', lambda r: r, name='post'),\n    path('posts/<int:pk>/', lambda r: r, name='post'),\n    path('posts/<slug:pk>/', lambda r: r, name='post'),\n    re_path(r'^p/(?P<x>[0-9]+)/$', lambda r: r, name='p'),\n    re_path(r'^p/(?P<x>\\w+)/$', lambda r: r, name='p'),\n]\n",
            )],
        );
    }
}
