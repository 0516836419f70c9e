//! The cache of per-file results (`.djcheck_cache/`): a warm run prints exactly what a
//! cold run prints, in every format, on every fixture; and what the cached results
//! depend on (the file's text, the configuration, the settings) invalidates them.

#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{
    copy_tree, djcheck, djcheck_stdin, fixture_projects, is_change_fixture, workspace_root,
};
use std::path::{Path, PathBuf};

const FORMATS: &[&str] = &["text", "json", "sarif", "github", "gitlab", "markdown"];

fn scratch(name: &str) -> PathBuf {
    let d = djcheck_tests::target_dir()
        .join("tmp")
        .join(format!("cache-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn config_args(dir: &Path) -> Vec<&'static str> {
    let mut v = Vec::new();
    if !dir.join("djcheck.toml").is_file() {
        v.push("--no-config");
    }
    if dir.join("djcheck-baseline.json").is_file() {
        v.extend(["--baseline", "djcheck-baseline.json"]);
    }
    v
}

/// `djcheck check .` in `dir` with `cache` (`None`: `--no-cache`).
fn check(dir: &Path, format: &str, cache: Option<&Path>, extra: &[&str]) -> (i32, String) {
    let cache_arg = cache.map(|c| format!("--cache-dir={}", c.display()));
    let mut args = vec!["check", ".", "--format", format, "--no-base"];
    match &cache_arg {
        Some(c) => args.push(c),
        None => args.push("--no-cache"),
    }
    args.extend(config_args(dir));
    args.extend_from_slice(extra);
    let (code, out, _) = djcheck(&args, dir);
    (code, out)
}

#[test]
fn warm_runs_print_what_cold_runs_print_in_every_format() {
    let cache_root = scratch("fixtures");
    let mut projects: Vec<PathBuf> = fixture_projects()
        .into_iter()
        .filter(|p| !is_change_fixture(p))
        .collect();
    projects.push(workspace_root().join("fixtures/demo"));
    let mut warm_hits = 0;
    for (i, dir) in projects.iter().enumerate() {
        let cache = cache_root.join(i.to_string());
        for format in FORMATS {
            let uncached = check(dir, format, None, &[]);
            let cold = check(dir, format, Some(&cache), &[]);
            let warm = check(dir, format, Some(&cache), &[]);
            assert_eq!(cold, uncached, "{} ({format}): cold run", dir.display());
            assert_eq!(warm, uncached, "{} ({format}): warm run", dir.display());
        }
        if cache.join(".gitignore").is_file() {
            warm_hits += 1;
        }
    }
    // The cache was really written (projects with migrations).
    assert!(
        warm_hits > projects.len() / 2,
        "{warm_hits} of {}",
        projects.len()
    );
    let _ = std::fs::remove_dir_all(&cache_root);
}

#[test]
fn a_changed_file_the_configuration_or_the_settings_invalidate() {
    let root = scratch("invalidate");
    let dir = root.join("demo");
    copy_tree(&workspace_root().join("fixtures/demo"), &dir);
    let cache = root.join("cache");
    let same = |extra: &[&str], what: &str| {
        let cold = check(&dir, "json", None, extra);
        let cached = check(&dir, "json", Some(&cache), extra);
        assert_eq!(cached, cold, "{what}");
        cached
    };
    let first = same(&[], "first run");
    assert!(cache.join(".gitignore").is_file());
    // The file's text: a RunSQL that now creates a table without IF NOT EXISTS.
    let mig = dir.join("shop/migrations/0003_auto_20240301_1200.py");
    let mig = if mig.is_file() {
        mig
    } else {
        std::fs::read_dir(dir.join("shop/migrations"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "py") && !p.ends_with("__init__.py"))
            .unwrap()
    };
    let text = std::fs::read_to_string(&mig).unwrap();
    let changed = text.replace(
        "operations = [",
        "operations = [\n        migrations.RunSQL(\"CREATE TABLE t (id int)\"),",
    );
    assert_ne!(changed, text, "{}", mig.display());
    std::fs::write(&mig, &changed).unwrap();
    let after_edit = same(&["--extend-select", "SQL001"], "after an edit");
    assert_ne!(after_edit.1, first.1);
    // The configuration: another SQL dialect, and another set of rules.
    std::fs::write(
        dir.join("mysql.toml"),
        "sql-dialect = \"mysql\"\nextend-select = [\"SQL\", \"PY\"]\n",
    )
    .unwrap();
    same(&["--config", "mysql.toml"], "another dialect");
    same(&["--select", "MIG"], "other rules");
    // The settings: the custom user model's app changes what migrations depend on.
    same(
        &["--auth-user-model", "shop.Customer"],
        "another user model",
    );
    same(&[], "back to the first configuration");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn an_editor_buffer_misses_and_the_rest_hits() {
    let root = scratch("stdin");
    let dir = root.join("demo");
    copy_tree(&workspace_root().join("fixtures/demo"), &dir);
    let cache = root.join("cache");
    let cache_arg = format!("--cache-dir={}", cache.display());
    let mig = std::fs::read_dir(dir.join("shop/migrations"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "py") && !p.ends_with("__init__.py"))
        .min()
        .unwrap();
    let rel = mig
        .strip_prefix(&dir)
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let buffer = std::fs::read_to_string(&mig).unwrap() + "\n# edited\n";
    let run = |cache: &str, buffer: &str| {
        djcheck_stdin(
            &[
                "check",
                "--format",
                "json",
                "--no-base",
                cache,
                "--stdin-filename",
                &rel,
                "-",
            ],
            &dir,
            buffer,
        )
    };
    let cold = run("--no-cache", &buffer);
    let warm1 = run(&cache_arg, &buffer);
    let warm2 = run(&cache_arg, &buffer);
    assert_eq!(warm1, cold);
    assert_eq!(warm2, cold);
    // A buffer with what the file holds (a saved file) is the file: its run is stored,
    // and reused.
    // The run cache lives in the per-file cache's key folder.
    let stored = |cache: &Path| {
        std::fs::read_dir(cache)
            .into_iter()
            .flatten()
            .filter_map(Result::ok)
            .any(|e| e.path().join("run.bin").is_file())
    };
    assert!(
        !stored(&cache),
        "a run with an edited buffer is never stored"
    );
    let saved = std::fs::read_to_string(&mig).unwrap();
    let uncached = run("--no-cache", &saved);
    assert_eq!(run(&cache_arg, &saved), uncached);
    assert!(stored(&cache), "the run of a saved buffer is stored");
    assert_eq!(run(&cache_arg, &saved), uncached);
    // An edited buffer still misses it.
    assert_eq!(run(&cache_arg, &buffer), cold);
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn the_cache_folder_is_ignored_by_git_and_configurable() {
    let root = scratch("config");
    let dir = root.join("demo");
    copy_tree(&workspace_root().join("fixtures/demo"), &dir);
    // The default folder, in the project root.
    let (_, _, err) = djcheck(
        &["check", ".", "--no-base", "--cache-dir=.djcheck_cache"],
        &dir,
    );
    assert!(dir.join(".djcheck_cache/.gitignore").is_file(), "{err}");
    let ignore = std::fs::read_to_string(dir.join(".djcheck_cache/.gitignore")).unwrap();
    assert!(ignore.lines().any(|l| l.trim() == "*"), "{ignore}");
    // `cache-dir` in the configuration.
    let toml = std::fs::read_to_string(dir.join("djcheck.toml")).unwrap_or_default();
    std::fs::write(
        dir.join("djcheck.toml"),
        format!("cache-dir = \"build-cache/djcheck\"\n{toml}"),
    )
    .unwrap();
    let out = djcheck_cli::run_captured(&["check", ".", "--no-base"], &dir, "");
    assert!(
        dir.join("build-cache/djcheck/.gitignore").is_file(),
        "{out:?}"
    );
    // `--no-cache`: nothing written.
    std::fs::remove_dir_all(dir.join("build-cache")).unwrap();
    djcheck_cli::run_captured(&["check", ".", "--no-base", "--no-cache"], &dir, "");
    assert!(!dir.join("build-cache").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_reused_run_is_redone_when_a_module_it_only_scanned_changes() {
    // The whole result is reused while nothing the run read changed; a view module is
    // read for URL lookups without being kept, and is an input all the same.
    let root = scratch("reuse");
    let dir = root.join("demo");
    copy_tree(&workspace_root().join("fixtures/demo"), &dir);
    let cache = root.join("cache");
    let codes = |out: &str| -> Vec<String> {
        let v: serde_json::Value = serde_json::from_str(out).unwrap();
        v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let first = check(&dir, "json", Some(&cache), &[]);
    let again = check(&dir, "json", Some(&cache), &[]);
    assert_eq!(again, first);
    let unknown_before = codes(&first.1).iter().filter(|c| *c == "URL007").count();
    let views = dir.join("cloud_app/views.py");
    let text = std::fs::read_to_string(&views).unwrap();
    std::fs::write(
        &views,
        format!("{text}\nfrom django.urls import reverse\n\n\ndef later(request):\n    return reverse(\"no-such-route\")\n"),
    )
    .unwrap();
    let edited = check(&dir, "json", Some(&cache), &[]);
    assert_eq!(edited, check(&dir, "json", None, &[]));
    let unknown_after = codes(&edited.1).iter().filter(|c| *c == "URL007").count();
    assert_eq!(unknown_after, unknown_before + 1, "{}", edited.1);
    // Back as it was: the first result again.
    std::fs::write(&views, &text).unwrap();
    assert_eq!(check(&dir, "json", Some(&cache), &[]), first);
    let _ = std::fs::remove_dir_all(&root);
}
