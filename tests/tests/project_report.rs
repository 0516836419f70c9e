//! Never silent: what djcheck could not analyse is said, in `summary.project` (json), in
//! one line of the text summary, and by `djcheck project`; and the settings shapes real
//! projects use are read.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, workspace_root, TempDir};
use serde_json::Value;
use std::path::Path;

/// A scratch project from `(path, text)` pairs, removed when the returned guard is dropped.
fn project(name: &str, files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new(&format!("report-{name}"));
    for (p, t) in files {
        let path = dir.join(p);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, t).unwrap();
    }
    dir
}

const MANAGE: (&str, &str) = (
    "manage.py",
    "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
);
const PKG: (&str, &str) = ("proj/__init__.py", "");

fn summary(dir: &Path) -> Value {
    let (_, out, err) = djcheck(
        &["check", ".", "--no-config", "--no-base", "--format", "json"],
        dir,
    );
    let v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    v["summary"]["project"].clone()
}

#[test]
fn summary_project_has_the_public_keys() {
    let dir = workspace_root().join("fixtures/project/URL004_optional-local-settings/fires");
    let p = summary(&dir);
    let keys: Vec<&str> = p.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "apps",
            "installed_apps_complete",
            "migrations",
            "models",
            "not_analysed",
            "root_urlconf",
            "settings",
            "settings_source",
            "url_tree"
        ]
    );
    assert_eq!(p["settings"], "proj.settings");
    assert_eq!(p["settings_source"], "manage.py");
    assert_eq!(p["root_urlconf"], "proj.urls");
    assert_eq!(p["url_tree"], "complete");
    assert_eq!(p["installed_apps_complete"], true);
    assert_eq!(p["not_analysed"], Value::Array(Vec::new()));
}

#[test]
fn root_urlconf_from_the_environment_is_named_with_its_line_and_fix() {
    let dir = project(
        "env-root",
        &[
            MANAGE,
            PKG,
            (
                "proj/settings.py",
                "import os\nINSTALLED_APPS = []\n\nROOT_URLCONF = os.environ['ROOT_URLCONF']\n",
            ),
        ],
    );
    let p = summary(&dir);
    assert_eq!(p["url_tree"], "none");
    let n = &p["not_analysed"][0];
    assert_eq!(n["what"], "URL rules");
    assert_eq!(
        n["why"],
        "ROOT_URLCONF is read from the environment (`ROOT_URLCONF`) with no default"
    );
    assert_eq!(n["path"], "proj/settings.py");
    assert_eq!(n["line"], 4);
    assert_eq!(n["fix"], "set `root-urlconf` in [tool.djcheck]");
    // The text summary says it in one line, after "No problems found".
    let (code, text, _) = djcheck(&["check", ".", "--no-config", "--no-base"], &dir);
    assert_eq!(code, 0);
    assert!(
        text.ends_with(
            "No problems found in 2 files\nNot analysed: URL rules: ROOT_URLCONF is read from \
             the environment (`ROOT_URLCONF`) with no default at proj/settings.py:4 (set \
             `root-urlconf` in [tool.djcheck])\n"
        ),
        "{text}"
    );
    // The configuration key is the fix.
    std::fs::write(dir.join("djcheck.toml"), "root-urlconf = \"proj.urls\"\n").unwrap();
    let (_, out, _) = djcheck(&["check", ".", "--no-base", "--format", "json"], &dir);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["project"]["root_urlconf"], "proj.urls");
}

#[test]
fn an_unreadable_urlpatterns_is_named_with_the_line_that_binds_it() {
    let dir = project(
        "unreadable-urlpatterns",
        &[
            MANAGE,
            PKG,
            (
                "proj/settings.py",
                "INSTALLED_APPS = ['blog']\nROOT_URLCONF = 'proj.urls'\n",
            ),
            (
                "proj/urls.py",
                "from django.urls import include, path\n\n\
                 urlpatterns = [path('blog/', include('blog.urls'))]\n",
            ),
            ("blog/__init__.py", ""),
            (
                "blog/urls.py",
                "from thirdparty import make_patterns\n\napp_name = 'blog'\n\
                 urlpatterns = make_patterns()\n",
            ),
        ],
    );
    let p = summary(&dir);
    assert_eq!(p["url_tree"], "partial");
    let n = &p["not_analysed"][0];
    assert_eq!(n["what"], "URL rules (in part)");
    assert_eq!(
        n["why"],
        "`urlpatterns` of `blog.urls` cannot be read statically"
    );
    assert_eq!(n["path"], "blog/urls.py");
    assert_eq!(n["line"], 4);
    assert!(
        n["fix"]
            .as_str()
            .unwrap()
            .contains("not a value returned by third-party code"),
        "{n}"
    );
    // A module that binds no `urlpatterns` at all is named at its first line.
    std::fs::write(dir.join("blog/urls.py"), "app_name = 'blog'\n").unwrap();
    let n = &summary(&dir)["not_analysed"][0];
    assert_eq!(n["path"], "blog/urls.py");
    assert_eq!(n["line"], 1);
}

#[test]
fn an_unreadable_root_urlconf_is_a_parse_error_and_named() {
    let dir = project(
        "bad-root",
        &[
            MANAGE,
            PKG,
            (
                "proj/settings.py",
                "INSTALLED_APPS = []\nROOT_URLCONF = 'proj.urls'\n",
            ),
            ("proj/urls.py", "urlpatterns = [\n"),
        ],
    );
    let (code, out, _) = djcheck(
        &["check", ".", "--no-config", "--no-base", "--format", "json"],
        &dir,
    );
    assert_eq!(code, 1, "{out}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["diagnostics"][0]["code"], "PARSE001");
    assert_eq!(v["diagnostics"][0]["path"], "proj/urls.py");
    let p = &v["summary"]["project"];
    assert_eq!(p["url_tree"], "none");
    assert_eq!(
        p["not_analysed"][0]["why"],
        "root URLconf `proj.urls` can't be read (see its PARSE finding)"
    );
}

#[test]
fn no_settings_module_is_said_with_the_fix() {
    let dir = project(
        "no-settings",
        &[
            ("blog/__init__.py", ""),
            ("blog/migrations/__init__.py", ""),
        ],
    );
    let p = summary(&dir);
    assert_eq!(p["settings"], Value::Null);
    assert_eq!(p["settings_source"], Value::Null);
    let n = &p["not_analysed"][0];
    assert_eq!(n["what"], "settings");
    assert_eq!(
        n["fix"],
        "set `settings` in [tool.djcheck], or pass --settings"
    );
}

#[test]
fn unknown_settings_option_is_a_usage_error() {
    let dir = workspace_root().join("fixtures/project/URL004_optional-local-settings/fires");
    let (code, _, err) = djcheck(
        &["check", ".", "--no-config", "--settings", "no.such.module"],
        &dir,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("settings `no.such.module` not found in the project (tried no/such/module.py, no/such/module/__init__.py"),
        "{err}"
    );
    let (code, _, err) = djcheck(
        &["project", ".", "--no-config", "--settings", "proj/nope.py"],
        &dir,
    );
    assert_eq!(code, 2);
    assert!(err.contains("settings `proj/nope.py` not found"), "{err}");
}

#[test]
fn settings_found_through_tool_configuration_are_reported_as_such() {
    let files = [
        PKG,
        ("proj/settings/__init__.py", ""),
        (
            "proj/settings/test.py",
            "INSTALLED_APPS = ['django.contrib.auth']\n",
        ),
        (
            "pyproject.toml",
            "[tool.pytest.ini_options]\nDJANGO_SETTINGS_MODULE = \"proj.settings.test\"\n",
        ),
        // An app's own options module named settings is never taken for them.
        ("blog/__init__.py", ""),
        ("blog/settings.py", "PAGE_SIZE = 20\n"),
    ];
    let dir = project("pytest-settings", &files);
    let p = summary(&dir);
    assert_eq!(p["settings"], "proj.settings.test");
    assert_eq!(p["settings_source"], "pytest");
}

#[test]
fn evaluation_limits_are_reported() {
    let mut settings = String::from("INSTALLED_APPS = []\nROOT_URLCONF = 'proj.urls'\nX = ['a']\n");
    for _ in 0..40 {
        settings.push_str("X = X + X\n");
    }
    let dir = project(
        "limits",
        &[
            MANAGE,
            PKG,
            ("proj/settings.py", &settings),
            ("proj/urls.py", "urlpatterns = []\n"),
        ],
    );
    let p = summary(&dir);
    let whys: Vec<&str> = p["not_analysed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["why"].as_str().unwrap())
        .collect();
    assert!(
        whys.iter()
            .any(|w| w.starts_with("a list grew past 20,000 items")),
        "{whys:?}"
    );
}

#[test]
fn djcheck_project_prints_what_was_understood() {
    let dir = workspace_root().join("fixtures/project/MIG002_split-settings/fires");
    let (code, text, err) = djcheck(&["project", ".", "--no-config"], &dir);
    assert_eq!(code, 0, "{err}");
    for line in [
        "Settings: proj.settings (DJANGO_SETTINGS_MODULE in manage.py)",
        "  files read: proj/settings/__init__.py, proj/settings/components/base.py, proj/settings/components/apps.py, proj/settings/components/database.py",
        "  MIGRATION_MODULES = {\"blog\": \"blog.db_migrations\"}  (set at proj/settings/components/database.py:4)",
        "  blog                                     label `blog` (project, blog/)",
        "  blog                     blog/db_migrations                       3 migrations, leaf 0002_a, 0002_b",
        "Not analysed: nothing",
    ] {
        assert!(text.contains(line), "missing `{line}` in:\n{text}");
    }
    let (code, out, _) = djcheck(&["project", ".", "--no-config", "--format", "json"], &dir);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["settings"]["source"], "manage.py");
    assert_eq!(
        v["settings"]["values"]["ROOT_URLCONF"]["path"],
        "proj/settings/components/base.py"
    );
    assert_eq!(
        v["apps"][0]["leaves"],
        serde_json::json!(["0002_a", "0002_b"])
    );
    assert_eq!(v["summary"]["settings"], "proj.settings");
}
