//! Rename detection against git (`--base REF`) and diff mode, on real repositories built
//! in a temp folder.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::djcheck;
use std::path::{Path, PathBuf};

struct Repo {
    dir: PathBuf,
}

impl Repo {
    fn new(name: &str) -> Repo {
        let dir = std::env::temp_dir().join(format!("djcheck-base-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let r = Repo { dir };
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
    // Without --base, MIG004 does not run.
    let (_, d, _) = r.check(&[]);
    assert!(codes(&d, "MIG004").is_empty());
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
    let plain = std::env::temp_dir().join(format!("djcheck-base-norepo-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&plain);
    std::fs::create_dir_all(&plain).unwrap();
    std::fs::write(plain.join("manage.py"), "").unwrap();
    let (code, _, err) = djcheck(
        &["check", ".", "--no-config", "--base", "HEAD"],
        Path::new(&plain),
    );
    assert_eq!(code, 2);
    assert!(err.contains("not inside a git repository"), "{err}");
}
