use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::urls::{IncludeTarget, Name, NodeKind};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// `include(..., namespace="...")` where what is included has no app namespace: the
    /// included module sets no `app_name`, or a list of patterns is included without the
    /// `(patterns, app_name)` tuple form. Reported only when the module is certainly
    /// without `app_name` (read completely, no star import that could set it).
    ///
    /// ## Why it matters
    /// Django refuses it when the URLconf is imported: `ImproperlyConfigured: Specifying a
    /// namespace in include() without providing an app_name is not supported`. Every
    /// request and every management command that loads the URLs fails.
    ///
    /// ## Example
    /// ```python
    /// # blog/urls.py has no `app_name`
    /// urlpatterns = [path("blog/", include("blog.urls", namespace="blog"))]
    /// ```
    ///
    /// ## How to fix
    /// Add `app_name = "blog"` to `blog/urls.py`, or pass a tuple:
    /// `include(("blog.urls", "blog"), namespace="blog")`.
    pub struct NamespaceWithoutAppName { code: "URL004", name: "namespace-without-app-name", severity: Error }
}

impl Rule for NamespaceWithoutAppName {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The URL tree and settings only.
    fn reads_migrations(&self) -> bool {
        false
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        let mut seen = BTreeSet::new();
        for node in &tree.nodes {
            let NodeKind::Include(inc) = &node.kind else {
                continue;
            };
            let Some((Name::Known(ns, _), ns_span)) = &inc.namespace_arg else {
                continue;
            };
            if ns.is_empty() {
                continue;
            }
            let no_app_name = match &inc.app_name {
                Name::Absent => true,
                Name::Known(a, _) => a.is_empty(),
                Name::Unknown => false,
            };
            if !no_app_name || !seen.insert(crate::util::key(*ns_span)) {
                continue;
            }
            let (what, help) = match &inc.target {
                IncludeTarget::Module { module, file } => (
                    format!("`{module}`"),
                    format!(
                        "add `app_name = \"{ns}\"` to `{}`, or include `(\"{module}\", \"{ns}\")`",
                        project.path(*file)
                    ),
                ),
                IncludeTarget::External {
                    module: Some(module),
                } => (
                    format!("`{module}`"),
                    format!("include `(\"{module}\", \"{ns}\")` to give it an app name"),
                ),
                IncludeTarget::Inline => (
                    "a list of patterns".to_owned(),
                    format!("include `(patterns, \"{ns}\")` to give the list an app name"),
                ),
                _ => continue,
            };
            let mut d = Self::META
                .diagnostic(format!(
                    "`namespace=\"{ns}\"` given to `include()` of {what}, which has no `app_name`"
                ))
                .at(*ns_span, "a namespace needs an app name");
            if let Some(call) = inc.include_call {
                d = d.label(call, format!("{what} sets no `app_name`"));
            }
            d = d
                .note("Django raises `ImproperlyConfigured: Specifying a namespace in include() without providing an app_name is not supported` when the URLconf is imported")
                .help(help);
            out.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::NamespaceWithoutAppName;
    use crate::testing::{fires, silent};

    #[test]
    fn module_without_app_name() {
        fires(
            &NamespaceWithoutAppName,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", "urlpatterns = []\n"),
                (
                    "proj/urls.py",
                    "from django.urls import include, path\nurlpatterns = [path('b/', include('blog.urls', namespace='blog'))]\n",
                ),
            ],
        );
    }

    #[test]
    fn app_name_in_module_tuple_or_unknown() {
        silent(
            &NamespaceWithoutAppName,
            &[
                ("blog/__init__.py", ""),
                ("blog/urls.py", "app_name = 'blog'\nurlpatterns = []\n"),
                ("shop/__init__.py", ""),
                ("shop/urls.py", "from .base import *\nurlpatterns = []\n"),
                (
                    "proj/urls.py",
                    "from django.urls import include, path\nurlpatterns = [\n    path('b/', include('blog.urls', namespace='b2')),\n    path('c/', include(([], 'c'), namespace='c2')),\n    path('s/', include('shop.urls', namespace='s')),\n    path('x/', include('thirdparty.urls', namespace='x')),\n]\n",
                ),
            ],
        );
    }
}
