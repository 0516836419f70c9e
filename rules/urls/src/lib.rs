//! djcheck URL configuration rules (URL).
//!
//! They read the URL tree of the project model (`Project::urls`): namespaces, names,
//! routes, includes, and the URL names the code and templates refer to.
//!
//! Depends only on the rule API, the project model and the Python front end.
//! Entry point: [`RULES`], sorted by code.

mod shadow;
mod url001_duplicate_namespace;
mod url002_duplicate_url_name;
mod url003_shadowed_route;
mod url004_namespace_without_app_name;
mod url005_unresolved_include;
mod url006_django_url_check;
mod url007_unknown_url_name;
mod util;

use djcheck_linter::Rule;

/// The family's rules, sorted by code.
pub static RULES: &[&dyn Rule] = &[
    &url001_duplicate_namespace::DuplicateNamespace,
    &url002_duplicate_url_name::DuplicateUrlName,
    &url003_shadowed_route::ShadowedRoute,
    &url004_namespace_without_app_name::NamespaceWithoutAppName,
    &url005_unresolved_include::UnresolvedInclude,
    &url006_django_url_check::DjangoUrlCheck,
    &url007_unknown_url_name::UnknownUrlName,
];

/// Test helpers: a project made of in-memory files, and one rule run over it.
#[cfg(test)]
mod testing {
    use djcheck_linter::{Diagnostic, Rule};
    use djcheck_project::{load, LoadOptions, NoVisitor};
    use std::collections::BTreeMap;

    const MANAGE: &str =
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n";
    const SETTINGS: &str =
        "SECRET_KEY = 'x'\nINSTALLED_APPS = ['django.contrib.auth', 'django.contrib.contenttypes']\nROOT_URLCONF = 'proj.urls'\n";

    /// Runs `rule` over a project of `files` (plus `manage.py`, `proj/__init__.py` and
    /// `proj/settings.py` unless given).
    pub fn run(rule: &dyn Rule, files: &[(&str, &str)]) -> Vec<Diagnostic> {
        let mut overrides: BTreeMap<String, String> = BTreeMap::new();
        for (p, t) in [
            ("manage.py", MANAGE),
            ("proj/__init__.py", ""),
            ("proj/settings.py", SETTINGS),
        ] {
            overrides.insert(p.to_owned(), t.to_owned());
        }
        for (p, t) in files {
            overrides.insert((*p).to_owned(), (*t).to_owned());
        }
        // An empty folder, one per call (a random name: tests run in parallel), removed
        // when `root` drops: every file comes from the overrides.
        let root = scratch("rules-urls-empty-");
        let opts = LoadOptions {
            root: root.path().to_path_buf(),
            overrides,
            ..LoadOptions::default()
        };
        let (project, _) = load(&opts, &NoVisitor).expect("loads");
        let mut out = Vec::new();
        rule.check_project(&project, &mut out);
        djcheck_diagnostics_sort(&project, &mut out);
        out
    }

    /// A scratch folder, `<temp>/djcheck-<prefix><random>`, removed with what it holds
    /// when the returned guard drops: keep it while the folder is used.
    fn scratch(prefix: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("djcheck-{prefix}"))
            .tempdir()
            .expect("create a scratch folder")
    }

    fn djcheck_diagnostics_sort(project: &djcheck_project::Project, out: &mut [Diagnostic]) {
        out.sort_by_key(|d| {
            d.primary
                .map(|s| (project.path(s.file).to_owned(), u32::from(s.range.start())))
        });
    }

    /// Runs `rule` over a project written to a fresh folder (for what only the walk finds,
    /// such as templates).
    pub fn run_on_disk(rule: &dyn Rule, name: &str, files: &[(&str, &str)]) -> Vec<Diagnostic> {
        let root = scratch(&format!("rules-urls-{name}-"));
        let mut all: Vec<(&str, &str)> = vec![
            ("manage.py", MANAGE),
            ("proj/__init__.py", ""),
            ("proj/settings.py", SETTINGS),
        ];
        all.extend_from_slice(files);
        for (p, t) in all {
            let path = root.path().join(p);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).expect("create test folder");
            }
            std::fs::write(&path, t).expect("write test file");
        }
        let opts = LoadOptions {
            root: root.path().to_path_buf(),
            ..LoadOptions::default()
        };
        let (project, _) = load(&opts, &NoVisitor).expect("loads");
        let mut out = Vec::new();
        rule.check_project(&project, &mut out);
        djcheck_diagnostics_sort(&project, &mut out);
        out
    }

    /// Asserts the rule fires, and returns its diagnostics.
    pub fn fires(rule: &dyn Rule, files: &[(&str, &str)]) -> Vec<Diagnostic> {
        let d = run(rule, files);
        assert!(!d.is_empty(), "{} did not fire", rule.meta().code);
        d
    }

    /// Asserts the rule stays silent on a project that has URL patterns to look at.
    pub fn silent(rule: &dyn Rule, files: &[(&str, &str)]) {
        assert!(
            files
                .iter()
                .any(|(p, t)| p.ends_with(".py") && t.contains("urlpatterns")),
            "a silent test needs URL patterns to be silent about"
        );
        let d = run(rule, files);
        assert!(d.is_empty(), "{} fired: {d:#?}", rule.meta().code);
    }
}
