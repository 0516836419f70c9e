//! The Python package, as users get it: the wheel built from `pyproject.toml` (maturin,
//! `bindings = "bin"`), installed into a fresh virtualenv with no Rust toolchain on PATH;
//! the `language: python` pre-commit hook, run by the real pre-commit from PyPI; and the
//! GitHub Action's steps, run with the runner's environment emulated.
//!
//! The wheel is built once per run (`pip wheel .`, a release build of the binary: the
//! slow part, a few minutes on two cores the first time, seconds when nothing changed)
//! into `target/packaging/`, and every test here installs that one wheel. The tools
//! (pre-commit, which brings PyYAML for the Action emulator) are installed from PyPI
//! into `target/packaging/tools`. Set `DJCHECK_SKIP_PACKAGING=1` to skip these tests.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{copy_tree, workspace_root, TempDir};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

/// Progress on the terminal while a slow step runs (written past the test harness's
/// capture, which would only show it after the test ends).
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "packaging: {msg}");
}

fn skipped(test: &str) -> bool {
    if std::env::var_os("DJCHECK_SKIP_PACKAGING").is_some_and(|v| v == "1") {
        say(&format!("{test}: skipped because DJCHECK_SKIP_PACKAGING=1"));
        return true;
    }
    false
}

fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

fn dir() -> PathBuf {
    let d = target_dir().join("packaging");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn run(cmd: &mut Command, what: &str) -> Output {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// An exclusive lock on a file of `target/packaging`, shared with other test processes.
fn lock(name: &str) -> std::fs::File {
    let f = std::fs::File::create(dir().join(name)).unwrap();
    f.lock().unwrap();
    f
}

/// A virtualenv with pre-commit (and PyYAML, its dependency) from PyPI.
fn tools() -> PathBuf {
    static TOOLS: OnceLock<PathBuf> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let _guard = lock(".tools.lock");
            let venv = dir().join("tools");
            let python = venv.join("bin/python");
            if !venv.join("bin/pre-commit").exists() {
                say("installing pre-commit from PyPI into target/packaging/tools");
                let _ = std::fs::remove_dir_all(&venv);
                run(
                    Command::new("python3").args(["-m", "venv"]).arg(&venv),
                    "python3 -m venv",
                );
                run(
                    Command::new(&python).args([
                        "-m",
                        "pip",
                        "install",
                        "--quiet",
                        "--disable-pip-version-check",
                        "pre-commit",
                    ]),
                    "pip install pre-commit",
                );
            }
            venv
        })
        .clone()
}

/// The wheel, built from this checkout once per test run.
fn wheel() -> PathBuf {
    static WHEEL: OnceLock<PathBuf> = OnceLock::new();
    WHEEL
        .get_or_init(|| {
            let python = tools().join("bin/python");
            let _guard = lock(".wheel.lock");
            let out = dir().join("wheels");
            let _ = std::fs::remove_dir_all(&out);
            say("building the wheel with `pip wheel .` (maturin, a release build: minutes the first time)");
            let started = std::time::Instant::now();
            run(
                Command::new(&python)
                    .args([
                        "-m",
                        "pip",
                        "wheel",
                        "--quiet",
                        "--disable-pip-version-check",
                        "--no-deps",
                        "--wheel-dir",
                    ])
                    .arg(&out)
                    .arg(workspace_root()),
                "pip wheel .",
            );
            say(&format!(
                "wheel built in {:.0} s",
                started.elapsed().as_secs_f64()
            ));
            let wheels: Vec<PathBuf> = std::fs::read_dir(&out)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "whl"))
                .collect();
            assert_eq!(wheels.len(), 1, "{wheels:?}");
            wheels[0].clone()
        })
        .clone()
}

/// A fresh virtualenv at `target/packaging/NAME`.
fn fresh_venv(name: &str) -> PathBuf {
    let venv = dir().join(name);
    let _ = std::fs::remove_dir_all(&venv);
    run(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    venv
}

/// PATH without the folders holding cargo, rustc or a djcheck binary: what a user without
/// Rust has.
fn path_without_rust(first: &[&Path]) -> String {
    let mut dirs: Vec<String> = first.iter().map(|p| p.display().to_string()).collect();
    let current = std::env::var("PATH").unwrap_or_default();
    for d in current.split(':').filter(|d| !d.is_empty()) {
        let has = |exe: &str| Path::new(d).join(exe).exists();
        if !(has("cargo") || has("rustc") || has("djcheck")) {
            dirs.push(d.to_owned());
        }
    }
    dirs.join(":")
}

fn which(path: &str, exe: &str) -> Option<PathBuf> {
    path.split(':')
        .map(|d| Path::new(d).join(exe))
        .find(|p| p.exists())
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A scratch folder, removed when the returned guard is dropped.
fn scratch(name: &str) -> TempDir {
    TempDir::new(&format!("pkg-{name}"))
}

/// Runs git in `dir` with a fixed identity and no user or system configuration.
fn git(dir: &Path, args: &[&str], home: &Path) -> String {
    let out = run(
        Command::new("git")
            .args(args)
            .current_dir(dir)
            .env("HOME", home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GIT_AUTHOR_NAME", "djcheck tests")
            .env("GIT_AUTHOR_EMAIL", "tests@example.invalid")
            .env("GIT_COMMITTER_NAME", "djcheck tests")
            .env("GIT_COMMITTER_EMAIL", "tests@example.invalid"),
        &format!("git {args:?}"),
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn migration(deps: &str, operations: &str) -> String {
    format!(
        "from django.db import migrations\n\n\ndef forwards(apps, schema_editor):\n    pass\n\n\nclass Migration(migrations.Migration):\n    dependencies = [\n        {deps}\n    ]\n\n    operations = [{operations}]\n"
    )
}

/// A small Django project: one app, one clean migration.
fn django_project(repo: &Path) {
    write(
        repo,
        "manage.py",
        "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
    );
    write(repo, "proj/__init__.py", "");
    write(
        repo,
        "proj/settings.py",
        "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\"]\n",
    );
    write(repo, "blog/__init__.py", "");
    write(repo, "blog/migrations/__init__.py", "");
    write(repo, "blog/migrations/0001_initial.py", &migration("", ""));
}

#[test]
fn the_wheel_installs_and_runs_without_rust() {
    if skipped("the_wheel_installs_and_runs_without_rust") {
        return;
    }
    let wheel = wheel();
    let venv = fresh_venv("wheel-venv");
    let bin = venv.join("bin");
    let path = path_without_rust(&[&bin]);
    for exe in ["cargo", "rustc"] {
        assert_eq!(which(&path, exe), None, "{exe} is still on PATH: {path}");
    }
    say("installing the wheel into a fresh virtualenv, offline, with no Rust on PATH");
    run(
        Command::new(bin.join("python"))
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-index",
                "--disable-pip-version-check",
            ])
            .arg(&wheel)
            .env("PATH", &path),
        "pip install the wheel",
    );
    let djcheck = which(&path, "djcheck").expect("djcheck on PATH after pip install");
    assert_eq!(djcheck, bin.join("djcheck"));

    // The version, and the commit it was built from.
    let out = run(
        Command::new("djcheck").arg("--version").env("PATH", &path),
        "djcheck --version",
    );
    let version = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    let head = Command::new("git")
        .args(["rev-parse", "--short=9", "HEAD"])
        .current_dir(workspace_root())
        .output()
        .unwrap();
    let expected = format!("djcheck {} (", env!("CARGO_PKG_VERSION"));
    assert!(version.starts_with(&expected), "{version}");
    if head.status.success() {
        let hash = String::from_utf8_lossy(&head.stdout).trim().to_owned();
        assert!(
            version.starts_with(&format!("{expected}{hash} ")),
            "{version} is not built from {hash}"
        );
    }

    // It works: the demo's findings, exit 1.
    let demo = scratch("wheel-demo");
    copy_tree(&workspace_root().join("fixtures/demo"), &demo);
    let out = Command::new("djcheck")
        .args(["check", "."])
        .current_dir(&demo)
        .env("PATH", &path)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[MIG001]"), "{}", text(&out));

    // The package's metadata, as PyPI and pip show it.
    let meta = run(
        Command::new(bin.join("python"))
            .args([
                "-c",
                "import importlib.metadata as m; d = m.metadata('djcheck'); \
                 print('\\n'.join(f'{k}: {v}' for k, v in d.items()))",
            ])
            .env("PATH", &path),
        "read the metadata",
    );
    let meta = String::from_utf8_lossy(&meta.stdout).into_owned();
    for line in [
        "Name: djcheck",
        &format!("Version: {}", env!("CARGO_PKG_VERSION")),
        "Classifier: Framework :: Django",
        "Classifier: Topic :: Software Development :: Quality Assurance",
        "Classifier: Environment :: Console",
        "Description-Content-Type: text/markdown",
        "License-Expression: MIT",
    ] {
        assert!(meta.contains(line), "no `{line}` in the metadata:\n{meta}");
    }
    assert!(meta.contains("Project-URL: Repository, https://"), "{meta}");
}

#[test]
fn pre_commit_installs_and_runs_the_python_hook() {
    if skipped("pre_commit_installs_and_runs_the_python_hook") {
        return;
    }
    let wheel = wheel();
    let tools = tools();
    let base = scratch("precommit");
    let home = base.join("home");
    std::fs::create_dir_all(&home).unwrap();

    // The hook repository: this repository's hook manifest, and a package that installs
    // djcheck from the wheel built above instead of building it again (as a pre-commit
    // mirror of a PyPI package does). pre-commit runs `pip install .` in it.
    let hooks = base.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        workspace_root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    write(
        &hooks,
        "pyproject.toml",
        &format!(
            "[build-system]\nrequires = [\"setuptools>=61\"]\nbuild-backend = \"setuptools.build_meta\"\n\n\
             [project]\nname = \"djcheck-hooks\"\nversion = \"0\"\ndependencies = [\"djcheck @ file://{}\"]\n\n\
             [tool.setuptools]\npy-modules = []\n",
            wheel.display()
        ),
    );
    git(&hooks, &["init", "--quiet"], &home);
    git(&hooks, &["add", "."], &home);
    git(&hooks, &["commit", "--quiet", "-m", "hooks"], &home);
    let rev = git(&hooks, &["rev-parse", "HEAD"], &home);

    let repo = base.join("project");
    django_project(&repo);
    write(
        &repo,
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: djcheck\n",
            hooks.display()
        ),
    );
    git(&repo, &["init", "--quiet"], &home);
    git(&repo, &["add", "."], &home);
    git(&repo, &["commit", "--quiet", "-m", "project"], &home);

    // No djcheck, cargo or rustc on PATH: pre-commit must install djcheck itself.
    let path = path_without_rust(&[&tools.join("bin")]);
    assert!(which(&path, "git").is_some(), "git is needed: {path}");
    let pre_commit = |args: &[&str]| {
        Command::new(tools.join("bin/pre-commit"))
            .args(args)
            .current_dir(&repo)
            .env("PATH", &path)
            .env("HOME", &home)
            .env("PRE_COMMIT_HOME", home.join("cache"))
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("NO_COLOR", "1")
            .output()
            .unwrap()
    };
    say("pre-commit installs the `djcheck` hook (language: python) from the wheel");
    let out = pre_commit(&["install-hooks"]);
    assert!(out.status.success(), "{}", text(&out));
    let hook_djcheck = walk_find(&home.join("cache"), "djcheck");
    assert!(
        hook_djcheck.is_some(),
        "no djcheck in pre-commit's environments"
    );

    // A staged migration with a finding: the hook fails and shows it.
    let new = "blog/migrations/0002_post_title.py";
    write(&repo, new, &migration("(\"blog\", \"0001_inital\"),", ""));
    git(&repo, &["add", new], &home);
    let out = pre_commit(&["run", "--files", new]);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("error[MIG001]")
            && text(&out).contains("blog/migrations/0002_post_title.py:10:9"),
        "{}",
        text(&out)
    );
    // Fixed: the hook passes.
    write(&repo, new, &migration("(\"blog\", \"0001_initial\"),", ""));
    git(&repo, &["add", new], &home);
    let out = pre_commit(&["run", "--files", new]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("Passed"), "{}", text(&out));
}

fn walk_find(dir: &Path, name: &str) -> Option<PathBuf> {
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let p = e.path();
        if p.is_dir() && !p.is_symlink() {
            if let Some(f) = walk_find(&p, name) {
                return Some(f);
            }
        } else if p.file_name().is_some_and(|n| n == name) && p.parent()?.ends_with("bin") {
            return Some(p);
        }
    }
    None
}

/// The Action's steps on a pull request, in a shallow clone as `actions/checkout` makes:
/// the base branch moved on after the branch point, so only the merge-base (not the tip)
/// limits the report to what the pull request changed.
#[test]
fn the_action_runs_on_a_pull_request() {
    if skipped("the_action_runs_on_a_pull_request") {
        return;
    }
    let wheel = wheel();
    let tools = tools();
    let base = scratch("action");
    let home = base.join("home");
    std::fs::create_dir_all(&home).unwrap();

    // origin: main with a clean project; a feature branch adding a migration with a
    // finding; then main moves on with a migration of another app that has a finding too.
    let origin = base.join("origin");
    django_project(&origin);
    write(
        &origin,
        "proj/settings.py",
        "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\", \"shop\"]\n",
    );
    // The team turned on PY001 (off by default).
    write(&origin, "djcheck.toml", "extend-select = [\"PY001\"]\n");
    write(&origin, "shop/__init__.py", "");
    write(&origin, "shop/migrations/__init__.py", "");
    write(
        &origin,
        "shop/migrations/0001_initial.py",
        &migration("", ""),
    );
    git(
        &origin,
        &["init", "--quiet", "--initial-branch=main"],
        &home,
    );
    git(&origin, &["add", "."], &home);
    git(&origin, &["commit", "--quiet", "-m", "project"], &home);
    git(&origin, &["checkout", "--quiet", "-b", "feature"], &home);
    write(
        &origin,
        "blog/migrations/0002_backfill.py",
        &migration(
            "(\"blog\", \"0001_initial\"),",
            "migrations.RunPython(forwards)",
        ),
    );
    git(&origin, &["add", "."], &home);
    git(&origin, &["commit", "--quiet", "-m", "feature"], &home);
    git(&origin, &["checkout", "--quiet", "main"], &home);
    write(
        &origin,
        "shop/migrations/0002_prices.py",
        &migration(
            "(\"shop\", \"0001_initial\"),",
            "migrations.RunPython(forwards)",
        ),
    );
    git(&origin, &["add", "."], &home);
    git(
        &origin,
        &["commit", "--quiet", "-m", "main moves on"],
        &home,
    );

    // The runner's checkout of the pull request: shallow, the feature branch only.
    let workspace = base.join("workspace");
    git(
        &base,
        &[
            "clone",
            "--quiet",
            "--depth=1",
            "--branch=feature",
            &format!("file://{}", origin.display()),
            workspace.to_str().unwrap(),
        ],
        &home,
    );

    // The action: this repository's action.yml.
    let action = base.join("action");
    std::fs::create_dir_all(&action).unwrap();
    std::fs::copy(
        workspace_root().join("action.yml"),
        action.join("action.yml"),
    )
    .unwrap();
    let run_action = |inputs: &str, event: &str| -> serde_json::Value {
        let out_json = base.join("result.json");
        let path = path_without_rust(&[]);
        let out = Command::new(tools.join("bin/python"))
            .arg(workspace_root().join("tests/action/emulate.py"))
            .arg(&action)
            .arg(&workspace)
            .arg(inputs)
            .arg(&out_json)
            .env("PATH", &path)
            .env("HOME", &home)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("GITHUB_EVENT_NAME", event)
            .env("GITHUB_BASE_REF", if event == "push" { "" } else { "main" })
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "emulator: {}", text(&out));
        serde_json::from_str(&std::fs::read_to_string(&out_json).unwrap()).unwrap()
    };
    say("running the Action's steps with an emulated runner environment");
    let inputs = serde_json::json!({
        "package": wheel.display().to_string(),
        "sarif": "true",
    })
    .to_string();
    let r = run_action(&inputs, "pull_request");
    let steps = r["steps"].as_array().unwrap();
    let install = &steps[0];
    assert_eq!(install["outcome"], "success", "{install}");
    let run_step = &steps[1];
    let stdout = run_step["stdout"].as_str().unwrap();
    // Compared with the merge-base: the pull request's own finding, annotated; main's
    // newer migration is not part of the change.
    assert!(stdout.contains("the merge-base with main"), "{run_step}");
    assert!(
        stdout.contains("::warning file=blog/migrations/0002_backfill.py,line=13,"),
        "{run_step}"
    );
    assert!(!stdout.contains("shop/"), "{run_step}");
    // A warning fails the step (fail-on defaults to warning) and the SARIF upload still
    // runs, with the file the run step wrote.
    assert_eq!(run_step["outcome"], "failure", "{run_step}");
    let upload = &steps[2];
    assert_eq!(upload["outcome"], "recorded", "{upload}");
    assert!(upload["uses"]
        .as_str()
        .unwrap()
        .starts_with("github/codeql-action/upload-sarif@"));
    let sarif_file = upload["with"]["sarif_file"].as_str().unwrap();
    let sarif: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(sarif_file).unwrap()).unwrap();
    assert_eq!(sarif["version"], "2.1.0");
    assert_eq!(sarif["runs"][0]["results"].as_array().unwrap().len(), 1);
    assert_eq!(r["outputs"]["sarif-file"], sarif_file);
    // The Markdown report in the job summary.
    let summary = r["summary"].as_str().unwrap();
    assert!(
        summary.starts_with("### djcheck: **1 warning**")
            && summary.contains("#### `blog/migrations/0002_backfill.py`")
            && summary.contains("[`PY001`](https://"),
        "{summary}"
    );

    // fail-on error: the warning no longer fails the step; no SARIF asked, none uploaded.
    let inputs = serde_json::json!({
        "package": wheel.display().to_string(),
        "fail-on": "error",
    })
    .to_string();
    let r = run_action(&inputs, "pull_request");
    let steps = r["steps"].as_array().unwrap();
    assert_eq!(steps[1]["outcome"], "success", "{}", steps[1]);
    assert_eq!(steps[2]["outcome"], "skipped", "{}", steps[2]);

    // On a push, the whole project is checked: main's file is not there, only the branch's.
    let inputs = serde_json::json!({
        "package": wheel.display().to_string(),
        "args": "--select PY --fail-on error",
        "working-directory": "blog",
    })
    .to_string();
    let r = run_action(&inputs, "push");
    let run_step = &r["steps"][1];
    assert_eq!(run_step["outcome"], "success", "{run_step}");
    let stdout = run_step["stdout"].as_str().unwrap();
    assert!(!stdout.contains("merge-base"), "{run_step}");
    assert!(
        stdout.contains("::warning file=blog/migrations/0002_backfill.py,"),
        "{run_step}"
    );
}
