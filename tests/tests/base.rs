//! Rename detection against git (`--base REF`) and diff mode, on real repositories built
//! in a temp folder.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, TempDir};
use std::collections::BTreeMap;
use std::path::Path;

/// A git repository in a scratch folder, removed on drop.
struct Repo {
    dir: TempDir,
}

impl Repo {
    fn new(name: &str) -> Repo {
        let r = Repo {
            dir: TempDir::new(&format!("base-{name}")),
        };
        r.git(&["init", "-q"]);
        r.write(
            "manage.py",
            "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
        );
        r.write("proj/__init__.py", "");
        r.write("proj/settings.py", "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\", \"workspace_app\"]\n");
        for app in ["blog", "workspace_app"] {
            r.write(&format!("{app}/__init__.py"), "");
            r.write(&format!("{app}/migrations/__init__.py"), "");
        }
        r.migration("blog", "0001_initial", &[], "Post");
        r.migration(
            "blog",
            "0002_post_title",
            &[("blog", "0001_initial")],
            "Tag",
        );
        r.migration("workspace_app", "0001_initial", &[], "UserProfile");
        r.migration(
            "workspace_app",
            "0002_avatar",
            &[("workspace_app", "0001_initial")],
            "Avatar",
        );
        r.commit("base");
        r
    }

    /// The same project in a repository with no commit yet.
    fn bare_project(name: &str) -> Repo {
        let r = Repo {
            dir: TempDir::new(&format!("base-{name}")),
        };
        r.git(&["init", "-q"]);
        r.write(
            "manage.py",
            "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
        );
        r.write("proj/__init__.py", "");
        r.write("proj/settings.py", "INSTALLED_APPS = [\"blog\"]\n");
        r.write("blog/__init__.py", "");
        r.write("blog/migrations/__init__.py", "");
        r.migration("blog", "0001_initial", &[], "Post");
        r
    }

    fn git(&self, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args([
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.invalid",
                "-c",
                "commit.gpgsign=false",
            ])
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    fn migration(&self, app: &str, name: &str, deps: &[(&str, &str)], model: &str) {
        let deps: Vec<String> = deps
            .iter()
            .map(|(a, n)| format!("(\"{a}\", \"{n}\")"))
            .collect();
        self.write(
            &format!("{app}/migrations/{name}.py"),
            &format!(
                "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    dependencies = [{}]\n\n    operations = [\n        migrations.CreateModel(\n            name=\"{model}\",\n            fields=[(\"id\", models.AutoField(primary_key=True))],\n        ),\n    ]\n",
                deps.join(", ")
            ),
        );
    }

    fn mv(&self, from: &str, to: &str) {
        std::fs::create_dir_all(self.dir.join(to).parent().unwrap()).unwrap();
        std::fs::rename(self.dir.join(from), self.dir.join(to)).unwrap();
    }

    fn commit(&self, msg: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", msg]);
    }

    fn check(&self, extra: &[&str]) -> (i32, Vec<(String, String, String)>, String) {
        let mut args = vec!["check", ".", "--no-config", "--format", "json"];
        args.extend_from_slice(extra);
        let (code, out, err) = djcheck(&args, &self.dir);
        if code == 2 {
            return (code, Vec::new(), err);
        }
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
        let diags = v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["code"].as_str().unwrap().to_owned(),
                    d["path"].as_str().unwrap_or("").to_owned(),
                    d["message"].as_str().unwrap().to_owned(),
                )
            })
            .collect();
        (code, diags, err)
    }
}

fn codes(d: &[(String, String, String)], code: &str) -> Vec<(String, String)> {
    d.iter()
        .filter(|x| x.0 == code)
        .map(|x| (x.1.clone(), x.2.clone()))
        .collect()
}

#[test]
fn renamed_file_is_reported_old_to_new() {
    let r = Repo::new("rename");
    r.mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    let (code, d, _) = r.check(&["--base", "HEAD"]);
    assert_eq!(code, 1);
    let m = codes(&d, "MIG004");
    assert_eq!(m.len(), 1, "{d:?}");
    assert_eq!(m[0].0, "blog/migrations/0002_add_title.py");
    assert!(
        m[0].1
            .contains("`blog.0002_post_title` was renamed to `blog.0002_add_title`"),
        "{}",
        m[0].1
    );
    // Without --base, in a git repository, the working tree is compared with HEAD.
    let (code, d, _) = r.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(codes(&d, "MIG004"), m, "{d:?}");
    // --no-base turns that off.
    let (_, d, _) = r.check(&["--no-base"]);
    assert!(codes(&d, "MIG004").is_empty(), "{d:?}");
    let (code, _, err) = r.check(&["--no-base", "--base", "HEAD"]);
    assert_eq!(code, 2, "{err}");
}

#[test]
fn staged_renames_and_deletions_are_reported_without_flags() {
    let r = Repo::new("staged");
    r.git(&[
        "mv",
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    ]);
    r.git(&["rm", "-q", "workspace_app/migrations/0002_avatar.py"]);
    let (code, d, err) = r.check(&[]);
    assert_eq!(code, 1, "{err}");
    let m = codes(&d, "MIG004");
    assert_eq!(m.len(), 2, "{d:?}");
    assert!(
        m.iter()
            .any(|x| x.1.contains("was renamed to `blog.0002_add_title`")),
        "{m:?}"
    );
    assert!(
        m.iter()
            .any(|x| x.1.contains("`workspace_app.0002_avatar`") && x.1.contains("was deleted")),
        "{m:?}"
    );
    // Once committed, HEAD has the new names: nothing to report without --base.
    r.commit("rename");
    let (_, d, _) = r.check(&[]);
    assert!(codes(&d, "MIG004").is_empty(), "{d:?}");
    // Outside a repository, or before the first commit, nothing is compared.
    let fresh = Repo::bare_project("unborn");
    let (code, d, err) = fresh.check(&[]);
    assert_eq!(code, 0, "{d:?} {err}");
}

#[test]
fn a_branch_behind_its_base_is_compared_from_the_merge_base() {
    let r = Repo::new("behind");
    let main = r
        .git(&["rev-parse", "--abbrev-ref", "HEAD"])
        .trim()
        .to_owned();
    r.git(&["checkout", "-q", "-b", "feature"]);
    // Main moves on: a migration merged there after the branch forked.
    r.git(&["checkout", "-q", &main]);
    r.migration(
        "blog",
        "0003_from_main",
        &[("blog", "0002_post_title")],
        "FromMain",
    );
    r.commit("on main");
    r.git(&["checkout", "-q", "feature"]);
    // The branch adds its own migration, with a problem, and renames one.
    r.migration(
        "workspace_app",
        "0003_feature",
        &[("workspace_app", "0099_missing")],
        "Feature",
    );
    r.commit("on feature");
    let (code, d, err) = r.check(&["--base", &main]);
    assert_eq!(code, 1, "{err}");
    // Not "blog.0003_from_main was deleted": the branch never had it.
    assert!(codes(&d, "MIG004").is_empty(), "{d:?}");
    assert_eq!(
        codes(&d, "MIG001"),
        vec![(
            "workspace_app/migrations/0003_feature.py".to_owned(),
            "dependency on missing migration `workspace_app.0099_missing`".to_owned()
        )],
        "{d:?}"
    );
    // A rename on the branch is still reported against the merge-base.
    r.mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    r.commit("rename on feature");
    let (_, d, _) = r.check(&["--base", &main]);
    let m = codes(&d, "MIG004");
    assert_eq!(m.len(), 1, "{d:?}");
    assert!(
        m[0].1.contains("`blog.0002_post_title` was renamed"),
        "{m:?}"
    );
}

#[test]
fn renamed_and_committed_is_still_reported_against_an_older_base() {
    let r = Repo::new("committed");
    let base = r.git(&["rev-parse", "HEAD"]).trim().to_owned();
    r.mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    r.commit("rename");
    let (_, d, _) = r.check(&["--base", &base]);
    assert_eq!(codes(&d, "MIG004").len(), 1, "{d:?}");
}

#[test]
fn app_rename_is_one_finding() {
    let r = Repo::new("app");
    r.mv("workspace_app", "profile_app");
    for f in ["0001_initial", "0002_avatar"] {
        let p = r.dir.join(format!("profile_app/migrations/{f}.py"));
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("workspace_app", "profile_app");
        std::fs::write(p, t).unwrap();
    }
    r.write("proj/settings.py", "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\", \"profile_app\"]\n");
    let (_, d, _) = r.check(&["--base", "HEAD"]);
    let m = codes(&d, "MIG004");
    assert_eq!(m.len(), 1, "{d:?}");
    assert!(
        m[0].1
            .contains("app `workspace_app` was renamed to `profile_app`"),
        "{}",
        m[0].1
    );
}

#[test]
fn deleted_migration_is_reported() {
    let r = Repo::new("deleted");
    std::fs::remove_file(r.dir.join("blog/migrations/0002_post_title.py")).unwrap();
    let (_, d, _) = r.check(&["--base", "HEAD"]);
    let m = codes(&d, "MIG004");
    assert_eq!(m.len(), 1, "{d:?}");
    assert!(m[0].1.contains("was deleted"), "{}", m[0].1);
    // What pre-commit runs when a commit only deletes files: `--files-only` and no file
    // reports the deletion, and nothing else of the project.
    r.migration(
        "workspace_app",
        "0003_bad",
        &[("workspace_app", "0099_missing")],
        "Bad",
    );
    let (code, out, err) = djcheck(
        &["check", "--files-only", "--no-config", "--format", "json"],
        &r.dir,
    );
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let got: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["code"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["MIG004"], "{out}");
    let (code, _, _) = djcheck(
        &["check", "--files-only", "--no-config", "--no-base"],
        &r.dir,
    );
    assert_eq!(code, 0);
}

#[test]
fn squash_new_and_modified_migrations_are_silent() {
    let r = Repo::new("silent");
    // A squash replacing both blog migrations.
    std::fs::remove_file(r.dir.join("blog/migrations/0001_initial.py")).unwrap();
    std::fs::remove_file(r.dir.join("blog/migrations/0002_post_title.py")).unwrap();
    r.write(
        "blog/migrations/0001_squashed_0002_post_title.py",
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    replaces = [(\"blog\", \"0001_initial\"), (\"blog\", \"0002_post_title\")]\n    dependencies = []\n    operations = []\n",
    );
    // A new migration, and a modified existing one.
    r.migration(
        "workspace_app",
        "0003_extra",
        &[("workspace_app", "0002_avatar")],
        "Extra",
    );
    r.migration(
        "workspace_app",
        "0002_avatar",
        &[("workspace_app", "0001_initial")],
        "AvatarRenamed",
    );
    let (code, d, err) = r.check(&["--base", "HEAD"]);
    assert!(codes(&d, "MIG004").is_empty(), "{d:?} {err}");
    assert_eq!(code, 0, "{d:?}");
}

#[test]
fn the_last_step_of_squashing_is_silent() {
    // The squash, committed with the migrations it replaces...
    let r = Repo::new("squash-done");
    r.write(
        "blog/migrations/0001_squashed_0002_post_title.py",
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    replaces = [(\"blog\", \"0001_initial\"), (\"blog\", \"0002_post_title\")]\n    dependencies = []\n    operations = []\n",
    );
    r.commit("squash");
    // ...then, once every database applied it, the old files and `replaces` removed.
    std::fs::remove_file(r.dir.join("blog/migrations/0001_initial.py")).unwrap();
    std::fs::remove_file(r.dir.join("blog/migrations/0002_post_title.py")).unwrap();
    r.write(
        "blog/migrations/0001_squashed_0002_post_title.py",
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = []\n    operations = []\n",
    );
    let (code, d, err) = r.check(&[]);
    assert!(codes(&d, "MIG004").is_empty(), "{d:?} {err}");
    assert_eq!(code, 0, "{d:?}");
    // Deleting a migration no squash replaced is still reported.
    std::fs::remove_file(r.dir.join("workspace_app/migrations/0002_avatar.py")).unwrap();
    let (_, d, _) = r.check(&[]);
    assert_eq!(codes(&d, "MIG004").len(), 1, "{d:?}");
}

#[test]
fn diff_mode_reports_only_changed_files() {
    let r = Repo::new("diff");
    // An old problem in an unchanged file, and a new one in a changed file.
    r.migration("blog", "0003_bad", &[("blog", "0099_missing")], "Bad");
    r.commit("old problem");
    let base = r.git(&["rev-parse", "HEAD"]).trim().to_owned();
    r.migration(
        "workspace_app",
        "0003_bad",
        &[("workspace_app", "0098_missing")],
        "Bad2",
    );
    let (_, all, _) = r.check(&[]);
    assert_eq!(codes(&all, "MIG001").len(), 2, "{all:?}");
    let (_, diff, _) = r.check(&["--base", &base]);
    let m = codes(&diff, "MIG001");
    assert_eq!(m.len(), 1, "{diff:?}");
    assert_eq!(m[0].0, "workspace_app/migrations/0003_bad.py");
    for format in ["text", "sarif", "github", "gitlab"] {
        let (code, out, err) = djcheck(
            &[
                "check",
                ".",
                "--no-config",
                "--base",
                &base,
                "--format",
                format,
            ],
            &r.dir,
        );
        assert_eq!(code, 1, "{format}: {err}");
        assert!(
            out.contains("workspace_app/migrations/0003_bad.py"),
            "{format}: {out}"
        );
        assert!(
            !out.contains("blog/migrations/0003_bad.py"),
            "{format}: {out}"
        );
    }
}

#[test]
fn errors_exit_2() {
    let r = Repo::new("errors");
    let (code, _, err) = r.check(&["--base", "no-such-ref"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown git revision `no-such-ref`"), "{err}");
    let plain = TempDir::new("base-norepo");
    std::fs::write(plain.join("manage.py"), "").unwrap();
    let (code, _, err) = djcheck(&["check", ".", "--no-config", "--base", "HEAD"], &plain);
    assert_eq!(code, 2);
    assert!(err.contains("not inside a git repository"), "{err}");
}

/// Every file under `dir`: relative path to (length, modification time, contents).
fn tree_state(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime, Vec<u8>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            let meta = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(dir).unwrap().display().to_string();
            if meta.is_dir() {
                stack.push(p);
                out.insert(format!("{rel}/"), (0, meta.modified().unwrap(), Vec::new()));
            } else {
                let bytes = std::fs::read(&p).unwrap_or_default();
                out.insert(rel, (meta.len(), meta.modified().unwrap(), bytes));
            }
        }
    }
    out
}

#[test]
fn git_runs_nothing_the_repository_configures_and_writes_nothing() {
    use std::os::unix::fs::PermissionsExt;
    let r = Repo::new("safety");
    let outside = TempDir::new("base-traps");
    let marks = outside.join("marks");
    let hooks = outside.join("hooks");
    std::fs::create_dir_all(&marks).unwrap();
    std::fs::create_dir_all(&hooks).unwrap();
    let script = |path: &Path, body: &str| {
        std::fs::write(path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    let mark = |name: &str| format!("touch '{}'", marks.join(name).display());
    for hook in [
        "pre-commit",
        "post-index-change",
        "post-checkout",
        "reference-transaction",
        "pre-auto-gc",
        "post-merge",
    ] {
        script(&hooks.join(hook), &mark(&format!("hook-{hook}")));
    }
    script(&outside.join("fsmonitor"), &mark("fsmonitor"));
    script(&outside.join("extdiff"), &mark("diff-external"));
    script(
        &outside.join("textconv"),
        &format!("{}\ncat \"$1\"", mark("textconv")),
    );
    script(
        &outside.join("clean"),
        &format!("{}\ncat", mark("filter-clean")),
    );
    script(
        &outside.join("smudge"),
        &format!("{}\ncat", mark("filter-smudge")),
    );
    let path = |n: &str| outside.join(n).display().to_string();
    for (k, v) in [
        ("core.fsmonitor", path("fsmonitor")),
        ("core.hooksPath", hooks.display().to_string()),
        ("diff.external", path("extdiff")),
        ("diff.mark.textconv", path("textconv")),
        ("filter.mark.clean", path("clean")),
        ("filter.mark.smudge", path("smudge")),
    ] {
        r.git(&["config", k, &v]);
    }
    r.write(".git/info/attributes", "*.py filter=mark diff=mark\n");
    // A rename to find, a modified file, and a file that is only stat-dirty (same
    // contents, new mtime): what made `git diff` refresh and rewrite the index.
    r.mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    r.migration(
        "workspace_app",
        "0002_avatar",
        &[("workspace_app", "0001_initial")],
        "AvatarRenamed",
    );
    let init = r.dir.join("blog/migrations/0001_initial.py");
    let text = std::fs::read(&init).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    std::fs::write(&init, text).unwrap();
    let before = tree_state(&r.dir.join(".git"));

    for args in [vec![], vec!["--base", "HEAD"], vec!["--base", "HEAD~0"]] {
        let (code, d, err) = r.check(&args);
        assert_eq!(code, 1, "{args:?}: {d:?} {err}");
        assert_eq!(codes(&d, "MIG004").len(), 1, "{args:?}: {d:?}");
        let left: Vec<_> = std::fs::read_dir(&marks)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(
            left.is_empty(),
            "{args:?}: git ran repository code: {left:?}"
        );
    }
    let after = tree_state(&r.dir.join(".git"));
    let changed: Vec<&String> = before
        .keys()
        .chain(after.keys())
        .filter(|k| before.get(*k) != after.get(*k))
        .collect();
    assert!(changed.is_empty(), ".git changed: {changed:?}");

    // The traps are armed: git's own porcelain falls into them.
    let _ = std::process::Command::new("git")
        .arg("-C")
        .arg(&r.dir)
        .args(["diff", "HEAD"])
        .output()
        .unwrap();
    assert!(marks.join("fsmonitor").exists() || marks.join("diff-external").exists());
    assert!(marks.join("filter-clean").exists());
}

/// The three renames a new user makes by hand, caught by `djcheck check` with no flag in
/// the repository, before they are committed.
#[test]
fn hand_renames_are_caught_with_no_flags() {
    // A migration renamed, with the migration depending on it fixed.
    let r = Repo::new("hand-middle");
    r.migration(
        "blog",
        "0003_published_flag",
        &[("blog", "0002_post_title")],
        "Flag",
    );
    r.commit("third");
    r.mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    r.migration(
        "blog",
        "0003_published_flag",
        &[("blog", "0002_add_title")],
        "Flag",
    );
    let (code, d, err) = r.check(&[]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(
        codes(&d, "MIG004"),
        vec![(
            "blog/migrations/0002_add_title.py".to_owned(),
            "migration `blog.0002_post_title` was renamed to `blog.0002_add_title`".to_owned()
        )],
        "{d:?}"
    );
    assert!(codes(&d, "MIG001").is_empty(), "{d:?}");
    // The leaf renamed: nothing else in the files shows it.
    let r = Repo::new("hand-leaf");
    r.mv(
        "workspace_app/migrations/0002_avatar.py",
        "workspace_app/migrations/0002_user_avatar.py",
    );
    let (code, d, _) = r.check(&[]);
    assert_eq!(code, 1);
    assert_eq!(codes(&d, "MIG004").len(), 1, "{d:?}");
    assert_eq!(d.len(), 1, "{d:?}");
    // The app renamed, its label replaced in its migrations.
    let r = Repo::new("hand-app");
    r.mv("workspace_app", "profile_app");
    for f in ["0001_initial", "0002_avatar"] {
        let p = r.dir.join(format!("profile_app/migrations/{f}.py"));
        let t = std::fs::read_to_string(&p)
            .unwrap()
            .replace("workspace_app", "profile_app");
        std::fs::write(p, t).unwrap();
    }
    r.write("proj/settings.py", "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\", \"profile_app\"]\n");
    let (code, d, _) = r.check(&[]);
    assert_eq!(code, 1);
    let m = codes(&d, "MIG004");
    assert_eq!(m.len(), 1, "{d:?}");
    assert!(
        m[0].1
            .contains("app `workspace_app` was renamed to `profile_app`"),
        "{m:?}"
    );
}

#[test]
fn a_commit_since_the_stored_run_is_not_hidden_by_the_run_cache() {
    // HEAD is asked of git while the project is read; a stored run holds only for the
    // HEAD it was made against, whatever the files' stamps say.
    let r = Repo::new("cached-head");
    r.mv(
        "blog/migrations/0002_post_title.py",
        "blog/migrations/0002_add_title.py",
    );
    let cache = format!("--cache-dir={}", r.dir.join(".djcheck_cache").display());
    let (_, first, _) = r.check(&[&cache]);
    assert_eq!(codes(&first, "MIG004").len(), 1, "{first:?}");
    let (_, again, _) = r.check(&[&cache]);
    assert_eq!(again, first);
    // Committed: HEAD holds the new name, and nothing is renamed since HEAD.
    r.commit("rename");
    let (_, after, err) = r.check(&[&cache]);
    assert!(codes(&after, "MIG004").is_empty(), "{after:?} {err}");
    assert!(r.dir.join(".djcheck_cache").is_dir());
}
