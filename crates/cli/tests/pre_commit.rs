//! The pre-commit hook, run by the real `pre-commit` from PyPI: a temporary git repository
//! holding a Django project uses the repository's `.pre-commit-hooks.yaml` (through a
//! local clone, as users reference it by URL and rev), with the built `djcheck` on PATH.
//!
//! `pre-commit` is installed into `target/packaging/tools` the first time (the packaging
//! tests use the same environment); when Python or PyPI is not available the test says so
//! and is skipped.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_djcheck"))
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .to_owned()
}

/// `target/`, from the built binary's place (`target/<profile>/djcheck`).
fn target_dir() -> PathBuf {
    binary().ancestors().nth(2).unwrap().to_owned()
}

fn pre_commit() -> Result<PathBuf, String> {
    let dir = target_dir().join("packaging");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    // The packaging tests may install the same environment at the same time.
    let lock = std::fs::File::create(dir.join(".tools.lock")).map_err(|e| e.to_string())?;
    lock.lock().map_err(|e| e.to_string())?;
    let venv = dir.join("tools");
    let exe = venv.join("bin/pre-commit");
    if exe.exists() {
        return Ok(exe);
    }
    {
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr(),
            "pre_commit: installing pre-commit from PyPI into target/packaging/tools"
        );
    }
    let ok = |mut c: Command, what: &str| -> Result<(), String> {
        let out = c.output().map_err(|e| format!("{what}: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{what} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let mut venv_cmd = Command::new("python3");
    venv_cmd.args(["-m", "venv"]).arg(&venv);
    ok(venv_cmd, "python3 -m venv")?;
    let mut pip = Command::new(venv.join("bin/pip"));
    pip.args(["install", "--quiet", "pre-commit"]);
    ok(pip, "pip install pre-commit")?;
    if exe.exists() {
        Ok(exe)
    } else {
        Err("pre-commit was not installed".to_owned())
    }
}

/// Runs a command in `dir` with a fixed identity and the built djcheck first on PATH.
fn run(dir: &Path, program: &Path, args: &[&str], home: &Path) -> Output {
    let path = format!(
        "{}:{}",
        binary().parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home.join("cache"))
        .env("GIT_AUTHOR_NAME", "djcheck tests")
        .env("GIT_AUTHOR_EMAIL", "tests@example.invalid")
        .env("GIT_COMMITTER_NAME", "djcheck tests")
        .env("GIT_COMMITTER_EMAIL", "tests@example.invalid")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn git(dir: &Path, args: &[&str], home: &Path) -> String {
    let out = run(dir, Path::new("git"), args, home);
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn write(dir: &Path, rel: &str, text: &str) {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn migration(deps: &str) -> String {
    format!(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [\n        {deps}\n    ]\n\n    operations = []\n"
    )
}

#[test]
fn pre_commit_runs_the_hook_on_staged_files() {
    let pre_commit = match pre_commit() {
        Ok(p) => p,
        Err(e) => {
            println!("SKIPPED pre_commit_runs_the_hook_on_staged_files: {e}");
            return;
        }
    };
    let base = tempfile::Builder::new()
        .prefix("djcheck-precommit-")
        .tempdir()
        .unwrap();
    let home = base.path().join("home");
    std::fs::create_dir_all(&home).unwrap();

    // The hook repository: this repository's manifest, committed.
    let hooks = base.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        workspace_root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks, &["init", "--quiet"], &home);
    git(&hooks, &["add", "."], &home);
    git(&hooks, &["commit", "--quiet", "-m", "hooks"], &home);
    let rev = git(&hooks, &["rev-parse", "HEAD"], &home);

    // The Django project, committed clean.
    let repo = base.path().join("project");
    write(
        &repo,
        "manage.py",
        "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
    );
    write(&repo, "proj/__init__.py", "");
    write(
        &repo,
        "proj/settings.py",
        "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\"]\n",
    );
    write(&repo, "blog/__init__.py", "");
    write(&repo, "blog/migrations/__init__.py", "");
    write(&repo, "blog/migrations/0001_initial.py", &migration(""));
    write(
        &repo,
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: djcheck-system\n",
            hooks.display()
        ),
    );
    git(&repo, &["init", "--quiet"], &home);
    git(&repo, &["add", "."], &home);
    git(&repo, &["commit", "--quiet", "-m", "project"], &home);

    // A new migration depending on one that does not exist, staged.
    let new = "blog/migrations/0002_post_title.py";
    write(&repo, new, &migration("(\"blog\", \"0001_inital\"),"));
    git(&repo, &["add", new], &home);
    let out = run(&repo, &pre_commit, &["run", "--files", new], &home);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !out.status.success(),
        "the hook passed on a finding:\n{text}"
    );
    assert!(
        text.contains("error[MIG001]") && text.contains("blog/migrations/0002_post_title.py:6:9"),
        "{text}"
    );

    // Fixed and staged: the hook passes, with the file names pre-commit passes itself.
    write(&repo, new, &migration("(\"blog\", \"0001_initial\"),"));
    git(&repo, &["add", new], &home);
    let out = run(&repo, &pre_commit, &["run", "--files", new], &home);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("djcheck") && text.contains("Passed"),
        "{text}"
    );
    let out = run(&repo, &pre_commit, &["run"], &home);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A migration creating `model`, depending on `deps` (`("app", "name"),` entries).
fn model_migration(deps: &str, model: &str) -> String {
    format!(
        "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [\n        {deps}\n    ]\n\n    operations = [\n        migrations.CreateModel(\n            name=\"{model}\",\n            fields=[(\"id\", models.AutoField(primary_key=True))],\n        ),\n    ]\n"
    )
}

/// The renames a new user makes by hand, and a deletion alone, each staged and committed
/// with the hook installed: every commit is refused.
#[test]
fn commits_renaming_or_deleting_migrations_are_refused() {
    let pre_commit = match pre_commit() {
        Ok(p) => p,
        Err(e) => {
            println!("SKIPPED commits_renaming_or_deleting_migrations_are_refused: {e}");
            return;
        }
    };
    let base = tempfile::Builder::new()
        .prefix("djcheck-precommit-renames-")
        .tempdir()
        .unwrap();
    let home = base.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let hooks = base.path().join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    std::fs::copy(
        workspace_root().join(".pre-commit-hooks.yaml"),
        hooks.join(".pre-commit-hooks.yaml"),
    )
    .unwrap();
    git(&hooks, &["init", "--quiet"], &home);
    git(&hooks, &["add", "."], &home);
    git(&hooks, &["commit", "--quiet", "-m", "hooks"], &home);
    let rev = git(&hooks, &["rev-parse", "HEAD"], &home);

    let repo = base.path().join("project");
    write(
        &repo,
        "manage.py",
        "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
    );
    write(&repo, "proj/__init__.py", "");
    let settings = |app: &str| {
        format!("INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\", \"{app}\"]\n")
    };
    write(&repo, "proj/settings.py", &settings("workspace_app"));
    for app in ["blog", "workspace_app"] {
        write(&repo, &format!("{app}/__init__.py"), "");
        write(&repo, &format!("{app}/migrations/__init__.py"), "");
    }
    let blog = |name: &str, deps: &str, model: &str| {
        write(
            &repo,
            &format!("blog/migrations/{name}.py"),
            &model_migration(deps, model),
        )
    };
    blog("0001_initial", "", "Post");
    blog("0002_post_title", "(\"blog\", \"0001_initial\"),", "Tag");
    blog(
        "0003_published_flag",
        "(\"blog\", \"0002_post_title\"),",
        "Flag",
    );
    write(
        &repo,
        "workspace_app/migrations/0001_initial.py",
        &model_migration("", "UserProfile"),
    );
    write(
        &repo,
        "workspace_app/migrations/0002_avatar.py",
        &model_migration("(\"workspace_app\", \"0001_initial\"),", "Avatar"),
    );
    write(
        &repo,
        ".pre-commit-config.yaml",
        &format!(
            "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: djcheck-system\n",
            hooks.display()
        ),
    );
    git(&repo, &["init", "--quiet"], &home);
    git(&repo, &["add", "."], &home);
    git(&repo, &["commit", "--quiet", "-m", "project"], &home);
    let out = run(&repo, &pre_commit, &["install"], &home);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let commit = |what: &str, expect: &str| {
        git(&repo, &["add", "-A"], &home);
        let out = run(&repo, Path::new("git"), &["commit", "-m", what], &home);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !out.status.success(),
            "{what}: the commit went through:\n{text}"
        );
        assert!(
            text.contains("error[MIG004]") && text.contains(expect),
            "{what}:\n{text}"
        );
        git(&repo, &["reset", "--quiet", "--hard", "HEAD"], &home);
        git(&repo, &["clean", "--quiet", "-fd"], &home);
    };
    let mv = |from: &str, to: &str| {
        std::fs::create_dir_all(repo.join(to).parent().unwrap()).unwrap();
        std::fs::rename(repo.join(from), repo.join(to)).unwrap();
    };

    // A migration renamed by hand, with the migration depending on it fixed.
    mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    blog(
        "0003_published_flag",
        "(\"blog\", \"0002_add_title\"),",
        "Flag",
    );
    commit(
        "rename a migration",
        "`blog.0002_post_title` was renamed to `blog.0002_add_title`",
    );
    // The leaf migration renamed: Django would apply it a second time.
    mv(
        "blog/migrations/0003_published_flag.py",
        "blog/migrations/0003_published.py",
    );
    commit(
        "rename the leaf",
        "`blog.0003_published_flag` was renamed to `blog.0003_published`",
    );
    // The app renamed by hand: folder, settings, and the label in its migrations.
    mv("workspace_app", "profile_app");
    write(
        &repo,
        "profile_app/migrations/0002_avatar.py",
        &model_migration("(\"profile_app\", \"0001_initial\"),", "Avatar"),
    );
    write(&repo, "proj/settings.py", &settings("profile_app"));
    commit(
        "rename the app",
        "app `workspace_app` was renamed to `profile_app`",
    );
    // A migration deleted, and nothing else: no Python file is staged.
    std::fs::remove_file(repo.join("blog/migrations/0003_published_flag.py")).unwrap();
    commit("delete a migration", "was deleted");

    // A commit of other files only runs the hook on nothing: it passes.
    write(&repo, "README.md", "# project\n");
    git(&repo, &["add", "-A"], &home);
    let out = run(&repo, Path::new("git"), &["commit", "-m", "docs"], &home);
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
