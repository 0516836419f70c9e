use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Severity};
use djcheck_project::urls::{IncludeTarget, NodeKind, RootSource};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// An `include("pkg.urls")` (or a ROOT_URLCONF) naming a module of the project's own
    /// packages that does not exist: its top-level package is part of the project, but
    /// no `pkg/urls.py`, `pkg/urls/__init__.py` or `pkg/urls/` folder does. Modules of
    /// third-party packages are never reported. Also reported, as an error: include
    /// cycles, where a URL module includes itself through other modules.
    ///
    /// ## Why it matters
    /// Django imports included modules when it loads the URLconf: a missing one raises
    /// `ModuleNotFoundError` on the first request and in every management command. An
    /// include cycle makes the resolver recurse forever: `manage.py check` fails with
    /// `RecursionError`, and so does resolving any URL no earlier pattern matches.
    ///
    /// ## Example
    /// ```python
    /// urlpatterns = [path("blog/", include("blog.url"))]  # the module is blog/urls.py
    /// ```
    ///
    /// ## How to fix
    /// Fix the module path (or create the module). For a cycle, remove the include that
    /// leads back to a module already being included.
    pub struct UnresolvedInclude { code: "URL005", name: "unresolved-include", severity: Info }
}

impl Rule for UnresolvedInclude {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The URL tree and settings only.
    fn reads_migrations(&self) -> bool {
        false
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        if let Some(root) = &tree.root {
            if let (true, RootSource::Settings(Some(span))) = (root.missing, &root.source) {
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "ROOT_URLCONF names missing module `{}`",
                            root.module
                        ))
                        .at(*span, format!("no module `{}` in the project", root.module))
                        .note("Django raises `ModuleNotFoundError` when it loads the URLconf"),
                );
            }
        }
        let mut seen = BTreeSet::new();
        for node in &tree.nodes {
            let NodeKind::Include(inc) = &node.kind else {
                continue;
            };
            let IncludeTarget::Missing { module, suggestion } = &inc.target else {
                continue;
            };
            let Some(site) = inc.include_call.or(node.call) else {
                continue;
            };
            if !seen.insert(crate::util::key(site)) {
                continue;
            }
            let package = module.split('.').next().unwrap_or(module);
            out.push(
                Self::META
                    .diagnostic(format!("`include()` of missing module `{module}`"))
                    .at(
                        site,
                        format!(
                            "package `{package}` is the project's, but has no module `{module}`"
                        ),
                    )
                    .note("Django raises `ModuleNotFoundError` when it loads the URLconf")
                    .help(match suggestion {
                        Some(s) => format!("did you mean `{s}`?"),
                        None => {
                            "check the module path: `pkg/urls.py` is included as `\"pkg.urls\"`"
                                .to_owned()
                        }
                    }),
            );
        }
        for c in &tree.cycles {
            let mut d = Self::META
                .diagnostic(format!("include cycle: {}", chain(&c.chain)))
                .at(
                    c.site,
                    format!(
                        "includes `{}` again",
                        c.chain.last().map_or("", String::as_str)
                    ),
                )
                .note("Django's resolver recurses forever: `manage.py check` fails with `RecursionError`, as does resolving any URL no earlier pattern matches")
                .help("remove the include that leads back to a module already being included");
            d.severity = Severity::Error;
            out.push(d);
        }
    }
}

fn chain(modules: &[String]) -> String {
    modules
        .iter()
        .map(|m| format!("`{m}`"))
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[cfg(test)]
mod tests {
    use super::UnresolvedInclude;
    use crate::testing::{fires, silent};

    #[test]
    fn missing_module_and_cycle() {
        let d = fires(
            &UnresolvedInclude,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", "from django.urls import include, path\nurlpatterns = [path('x/', include('proj.urls'))]\n"),
                (
                    "proj/urls.py",
                    "from django.urls import include, path\nurlpatterns = [\n    path('a/', include('blog.url')),\n    path('b/', include('blog.urls')),\n]\n",
                ),
            ],
        );
        assert_eq!(d.len(), 2, "{d:#?}");
        assert!(d.iter().any(|x| x.message.contains("cycle")));
    }

    #[test]
    fn third_party_and_namespace_packages() {
        silent(
            &UnresolvedInclude,
            &[
                ("blog/__init__.py", ""),
                ("blog/api/views.py", ""),
                (
                    "proj/urls.py",
                    "from django.urls import include, path\nurlpatterns = [\n    path('a/', include('allauth.urls')),\n    path('b/', include('blog.api')),\n]\n",
                ),
            ],
        );
    }
}
