use crate::util::closest;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::urls::{Name, NodeId, NodeKind, ReferenceKind, UrlTree};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it finds
    /// A literal URL name that the URL tree does not define: the first argument of
    /// `reverse()`, `reverse_lazy()`, `redirect()` and `resolve_url()` (imported from
    /// Django) in the project's Python files, and of `{% url "..." %}` in its templates,
    /// either `"name"` or `"namespace:name"` (namespaces may nest). Only reported when
    /// the part of the tree the name would live in was read completely: every include
    /// followed, no pattern list or discovery loop that cannot be read statically, no
    /// third-party include that could add names there. Calls inside a `try` that handles
    /// `NoReverseMatch`, `{% url ... as var %}` (which never fails), files that switch
    /// URLconfs (`override_settings(ROOT_URLCONF=...)`, `urlconf=`), projects that set
    /// `request.urlconf`, and projects that extend a URL module's patterns at run time
    /// from another module (an `AppConfig.ready()` appending plugin URLs) are skipped.
    ///
    /// ## Why it matters
    /// Django raises `NoReverseMatch` when the code runs: a typo in a name, or a name or
    /// namespace that was renamed, breaks the page (a 500) only when someone visits it,
    /// and tests that never render that template do not notice.
    ///
    /// ## Example
    /// ```python
    /// return redirect("blog:post_detial", pk=post.pk)  # the pattern is named post_detail
    /// ```
    ///
    /// ## How to fix
    /// Use the name the pattern has (the help line suggests the closest one), or add
    /// `name=` to the pattern you mean.
    pub struct UnknownUrlName { code: "URL007", name: "unknown-url-name", severity: Warning }
}

impl Rule for UnknownUrlName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        if tree.per_request_urlconf
            || tree.extended_at_run_time
            || tree.root.is_none()
            || tree.references.is_empty()
        {
            return;
        }
        let scopes = Scopes::build(tree);
        for r in &tree.references {
            let mut parts: Vec<&str> = r.name.split(':').collect();
            let Some(view) = parts.pop() else { continue };
            let mut current: Vec<Option<NodeId>> = vec![None];
            let mut path = String::new();
            let mut failed: Option<Diagnostic> = None;
            let mut unknowable = false;
            for ns in &parts {
                let mut next = Vec::new();
                let mut all_complete = true;
                let mut known = BTreeSet::new();
                for s in &current {
                    let sc = scopes.get(*s);
                    all_complete &= sc.namespaces_complete;
                    for (inst, app, id) in &sc.children {
                        known.insert(inst.as_str());
                        if inst == ns || app.as_deref() == Some(*ns) {
                            next.push(Some(*id));
                        }
                    }
                }
                if next.is_empty() {
                    if all_complete {
                        let place = if path.is_empty() {
                            String::new()
                        } else {
                            format!(" inside `{path}`")
                        };
                        let mut d = Self::META
                            .diagnostic(format!("unknown URL namespace `{ns}` in `{}`", r.name))
                            .at(r.span, format!("no namespace `{ns}` is registered{place}"));
                        if let Some(c) = closest(ns, known.iter().copied()) {
                            d = d.help(format!("did you mean `{c}`?"));
                        }
                        failed = Some(d);
                    } else {
                        unknowable = true;
                    }
                    break;
                }
                if !path.is_empty() {
                    path.push(':');
                }
                path.push_str(ns);
                current = next;
            }
            if let Some(d) = failed {
                out.push(finish(d, r.kind));
                continue;
            }
            if unknowable {
                continue;
            }
            let mut complete = true;
            let mut names: BTreeSet<&str> = BTreeSet::new();
            for s in &current {
                let sc = scopes.get(*s);
                complete &= sc.names_complete;
                names.extend(sc.names.iter().map(String::as_str));
            }
            if names.contains(view) || !complete {
                continue;
            }
            let place = if path.is_empty() {
                "outside any namespace".to_owned()
            } else {
                format!("in namespace `{path}`")
            };
            let mut d = Self::META
                .diagnostic(format!("unknown URL name `{}`", r.name))
                .at(r.span, format!("no URL pattern is named `{view}` {place}"));
            if let Some(c) = closest(view, names.iter().copied()) {
                let full = if path.is_empty() {
                    c.to_owned()
                } else {
                    format!("{path}:{c}")
                };
                d = d.help(format!("did you mean `{full}`?"));
            }
            out.push(finish(d, r.kind));
        }
    }
}

fn finish(d: Diagnostic, kind: ReferenceKind) -> Diagnostic {
    let what = match kind {
        ReferenceKind::Call(f) => format!("`{f}()`"),
        ReferenceKind::TemplateTag => "`{% url %}`".to_owned(),
    };
    d.note(format!("{what} raises `NoReverseMatch` when this runs"))
}

/// What `reverse()` can reach from one namespace (or the root).
#[derive(Default)]
struct Scope {
    names: BTreeSet<String>,
    /// Child namespaces: instance namespace, app namespace, node.
    children: Vec<(String, Option<String>, NodeId)>,
    names_complete: bool,
    namespaces_complete: bool,
}

struct Scopes {
    map: BTreeMap<Option<NodeId>, Scope>,
    empty: Scope,
}

impl Scopes {
    fn build(tree: &UrlTree) -> Scopes {
        let mut map = BTreeMap::new();
        let mut todo: Vec<Option<NodeId>> = vec![None];
        while let Some(s) = todo.pop() {
            let mut scope = Scope {
                names_complete: true,
                namespaces_complete: true,
                ..Scope::default()
            };
            let (children, complete) = tree.children(s);
            if !complete {
                scope.names_complete = false;
                scope.namespaces_complete = false;
            }
            let mut stack: Vec<NodeId> = children.to_vec();
            while let Some(id) = stack.pop() {
                match &tree.node(id).kind {
                    NodeKind::Opaque => {
                        scope.names_complete = false;
                        scope.namespaces_complete = false;
                    }
                    NodeKind::Endpoint(e) => match &e.name {
                        Name::Known(n, _) => {
                            scope.names.insert(n.clone());
                        }
                        Name::Unknown => scope.names_complete = false,
                        Name::Absent => {}
                    },
                    NodeKind::Include(i) => match &i.namespace {
                        Name::Known(ns, _) => {
                            scope.children.push((
                                ns.clone(),
                                i.app_name.known().map(str::to_owned),
                                id,
                            ));
                            todo.push(Some(id));
                        }
                        Name::Unknown => {
                            scope.names_complete = false;
                            scope.namespaces_complete = false;
                        }
                        Name::Absent => {
                            scope
                                .names
                                .extend(i.external_names.iter().map(|n| (*n).to_owned()));
                            if !i.complete {
                                scope.names_complete = false;
                                scope.namespaces_complete = false;
                            }
                            stack.extend(i.children.iter().copied());
                        }
                    },
                }
            }
            map.insert(s, scope);
        }
        Scopes {
            map,
            empty: Scope::default(),
        }
    }

    fn get(&self, s: Option<NodeId>) -> &Scope {
        self.map.get(&s).unwrap_or(&self.empty)
    }
}

#[cfg(test)]
mod tests {
    use super::UnknownUrlName;
    use crate::testing::{fires, silent};

    const URLS: &str = "from django.urls import include, path\nurlpatterns = [\n    path('', lambda r: r, name='home'),\n    path('blog/', include('blog.urls')),\n]\n";
    const BLOG: &str = "from django.urls import path\napp_name = 'blog'\nurlpatterns = [path('<int:pk>/', lambda r: r, name='post_detail')]\n";

    #[test]
    fn typos_in_names_and_namespaces() {
        let d = fires(
            &UnknownUrlName,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", BLOG),
                ("proj/urls.py", URLS),
                (
                    "blog/views.py",
                    "from django.shortcuts import redirect\nfrom django.urls import reverse\ndef f(r):\n    reverse('blog:post_detial')\n    reverse('blgo:post_detail')\n    reverse('blog:post_detail')\n    reverse('home')\n    return redirect('/somewhere/')\n",
                ),
            ],
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert_eq!(
            d[0].help.as_deref(),
            Some("did you mean `blog:post_detail`?")
        );
    }

    #[test]
    fn templates() {
        let d = crate::testing::run_on_disk(
            &UnknownUrlName,
            "templates",
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", BLOG),
                ("proj/urls.py", URLS),
                (
                    "blog/templates/blog/list.html",
                    "{% url 'blog:post_detail' pk=1 %}\n{% url \"blog:post_delete\" pk=1 %}\n{% url 'blog:gone' as u %}\n{# {% url 'x:y' %} #}\n",
                ),
            ],
        );
        assert_eq!(d.len(), 1, "{d:#?}");
        assert!(d[0].message.contains("blog:post_delete"));
        assert!(d[0].notes[0].contains("{% url %}"));
    }

    #[test]
    fn incomplete_scopes_stay_silent() {
        silent(
            &UnknownUrlName,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", BLOG),
                (
                    "proj/urls.py",
                    "from django.urls import include, path\nurlpatterns = [\n    path('blog/', include('blog.urls')),\n    path('accounts/', include('allauth.urls')),\n]\n",
                ),
                (
                    "blog/views.py",
                    "from django.urls import reverse, NoReverseMatch\ndef f(r):\n    reverse('account_login')\n    reverse('blog:post_detail')\n    try:\n        reverse('blog:nope')\n    except NoReverseMatch:\n        pass\n",
                ),
            ],
        );
    }
}
