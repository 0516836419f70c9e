use crate::util::{condition_labels, distinguishing_site, loop_note, site};
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::urls::NodeId;
use std::collections::BTreeMap;

declare_rule! {
    /// ## What it finds
    /// The same URL namespace registered twice: two includes whose instance namespace
    /// (`namespace=`, or else the included module's `app_name`), with the namespaces of
    /// the includes around them, is the same, as Django's check `urls.W005` computes it.
    /// Every registration is labelled, including one made by a loop that includes the
    /// URLs of every app folder. Registrations in mutually exclusive branches (`if
    /// settings.DEBUG: ... else: ...`) never collide.
    ///
    /// ## Why it matters
    /// `reverse("shop:cart")` and `{% url "shop:cart" %}` can only reach one of the two
    /// registrations: the other app's links silently point to the wrong place. Django
    /// only says `?: (urls.W005) URL namespace 'shop' isn't unique`, with no file or line,
    /// and only once the whole project imports.
    ///
    /// ## Example
    /// ```python
    /// def discover_app_urls():
    ///     for app_dir in sorted(apps_dir.iterdir()):
    ///         if (app_dir / "urls.py").exists():
    ///             name = app_dir.name
    ///             urlpatterns.append(path(f"{name}/", include(f"apps.{name}.urls", namespace=name)))
    ///
    /// urlpatterns = [path("", include("apps.cloud_app.urls", namespace="cloud_app"))]
    /// discover_app_urls()  # registers `cloud_app` a second time
    /// ```
    ///
    /// ## How to fix
    /// Register each app once: skip the apps included by hand in the discovery loop
    /// (`if app_name in skip_apps: continue`), or give the second include its own
    /// `namespace=`.
    pub struct DuplicateNamespace { code: "URL001", name: "duplicate-namespace", severity: Warning }
}

impl Rule for DuplicateNamespace {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The URL tree and settings only.
    fn reads_migrations(&self) -> bool {
        false
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        let mut groups: BTreeMap<String, Vec<NodeId>> = BTreeMap::new();
        for id in 0..tree.nodes.len() {
            if let Some(path) = tree.namespace_path(id) {
                groups.entry(path).or_default().push(id);
            }
        }
        for (ns, ids) in groups {
            // Registrations that can happen together with another one.
            let involved: Vec<NodeId> = ids
                .iter()
                .copied()
                .filter(|a| {
                    ids.iter()
                        .any(|b| b != a && !tree.node(*a).cond.excludes(&tree.node(*b).cond))
                })
                .collect();
            let [first, second, ..] = involved.as_slice() else {
                continue;
            };
            let Some(primary) = distinguishing_site(tree, *second, &involved) else {
                continue;
            };
            let mut d = Self::META
                .diagnostic(format!(
                    "duplicate namespace `{ns}`: registered {}",
                    match involved.len() {
                        2 => "twice".to_owned(),
                        n => format!("{n} times"),
                    }
                ))
                .at(
                    primary,
                    format!(
                        "`{ns}` registered again here{}",
                        loop_note(tree.node(*second))
                    ),
                );
            let mut labelled = vec![primary];
            for id in &involved {
                if id == second {
                    continue;
                }
                let Some(s) = distinguishing_site(tree, *id, &involved) else {
                    continue;
                };
                if labelled.contains(&s) {
                    continue;
                }
                labelled.push(s);
                let what = if id == first {
                    "first registered here"
                } else {
                    "registered again here"
                };
                d = d.label(s, format!("{what}{}", loop_note(tree.node(*id))));
            }
            let nodes: Vec<_> = involved.iter().map(|i| tree.node(*i)).collect();
            d = condition_labels(project, d, &nodes);
            if site(tree.node(*first)) == site(tree.node(*second)) {
                d = d.note("the same `include()` runs twice: its module is included twice");
            }
            let by_loop = involved.iter().any(|i| tree.node(*i).via.is_some());
            d = d
                .note(format!(
                    "Django warns `urls.W005`: URL namespace '{ns}' isn't unique; `reverse()` and `{{% url %}}` reach only one of these"
                ))
                .help(if by_loop {
                    "skip the apps included by hand in the discovery loop (`if app_name in skip_apps: continue`), or give the other include its own `namespace=`"
                } else {
                    "include the module once, or give each include its own `namespace=`"
                });
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DuplicateNamespace;
    use crate::testing::{fires, silent};

    const APP: &str = "from django.urls import path\napp_name = 'blog'\nurlpatterns = [path('', lambda r: r, name='index')]\n";

    #[test]
    fn same_module_twice() {
        let d = fires(
            &DuplicateNamespace,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", APP),
                (
                    "proj/urls.py",
                    "from django.urls import include, path\nurlpatterns = [\n    path('a/', include('blog.urls')),\n    path('b/', include('blog.urls')),\n]\n",
                ),
            ],
        );
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("`blog`"));
        assert_eq!(d[0].labels.len(), 1);
    }

    #[test]
    fn exclusive_branches_and_distinct_namespaces() {
        silent(
            &DuplicateNamespace,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", APP),
                (
                    "proj/urls.py",
                    "from django.conf import settings\nfrom django.urls import include, path\nurlpatterns = [path('a/', include('blog.urls', namespace='one'))]\nif settings.DEBUG:\n    urlpatterns += [path('b/', include('blog.urls'))]\nelse:\n    urlpatterns += [path('c/', include('blog.urls'))]\n",
                ),
            ],
        );
    }

    #[test]
    fn discovery_loop_and_manual_include() {
        let files = [
            ("apps/__init__.py", ""),
            ("apps/shop/__init__.py", ""),
            ("apps/shop/urls.py", "app_name = 'shop'\nurlpatterns = []\n"),
            ("apps/blog/__init__.py", ""),
            ("apps/blog/urls.py", "app_name = 'blog'\nurlpatterns = []\n"),
            ("apps/nourls/__init__.py", ""),
            (
                "proj/urls.py",
                "from pathlib import Path\nfrom django.urls import include, path\nAPPS = Path(__file__).resolve().parent.parent / 'apps'\nurlpatterns = [path('', include('apps.shop.urls', namespace='shop'))]\nfor d in sorted(APPS.iterdir()):\n    if not (d / 'urls.py').exists():\n        continue\n    urlpatterns.append(path(f'{d.name}/', include(f'apps.{d.name}.urls', namespace=d.name)))\n",
            ),
        ];
        let d = fires(&DuplicateNamespace, &files);
        assert_eq!(d.len(), 1);
        assert!(d[0].message.contains("`shop`"), "{:?}", d[0]);
        assert!(d[0].primary_label.contains("apps/shop"), "{:?}", d[0]);
    }
}
