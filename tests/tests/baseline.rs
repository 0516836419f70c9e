//! Baselines, end to end: `--write-baseline`, `--baseline` and the config key `baseline`,
//! on a project edited the way a team edits one after adopting djcheck.

// Test code: a failed unwrap is a failed test, and reading what djcheck wrote is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, TempDir};
use std::path::Path;

const BACKFILL: &str = "from django.db import migrations


def fill(apps, schema_editor):
    Post = apps.get_model(\"blog\", \"Post\")
    Post.objects.filter(slug=\"\").update(slug=\"x\")


def admin(apps, schema_editor):
    User = apps.get_model(\"auth\", \"User\")
    User.objects.create_user(\"admin\", password=\"Tr0ub4dor-and-3-horses\")


class Migration(migrations.Migration):
    dependencies = [
        (\"blog\", \"0001_initial\"),
    ]

    operations = [
        migrations.RunPython(fill),
        migrations.RunPython(fill),
        migrations.RunPython(admin, migrations.RunPython.noop),
    ]
";

const SECRET: &str = "Tr0ub4dor-and-3-horses";

fn project(name: &str) -> TempDir {
    let dir = TempDir::new(&format!("baseline-{name}"));
    let files = [
        (
            "manage.py",
            "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
        ),
        ("proj/__init__.py", ""),
        (
            "proj/settings.py",
            "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\"]\n",
        ),
        // PY001 is off by default: this project turns it on.
        ("djcheck.toml", "extend-select = [\"PY001\"]\n"),
        ("blog/__init__.py", ""),
        ("blog/migrations/__init__.py", ""),
        (
            "blog/migrations/0001_initial.py",
            "from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    dependencies = []\n    operations = [\n        migrations.CreateModel(\"Post\", [(\"id\", models.AutoField(primary_key=True)), (\"slug\", models.SlugField())]),\n    ]\n",
        ),
        ("blog/migrations/0002_backfill.py", BACKFILL),
    ];
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

fn edit(dir: &Path, rel: &str, f: impl Fn(&str) -> String) {
    let p = dir.join(rel);
    let text = std::fs::read_to_string(&p).unwrap();
    std::fs::write(&p, f(&text)).unwrap();
}

/// `(code, line)` of each finding, in the json output.
fn findings(dir: &Path, extra: &[&str]) -> Vec<(String, u64)> {
    let mut args = vec!["check", ".", "--format", "json"];
    args.extend_from_slice(extra);
    let (_, out, err) = djcheck(&args, dir);
    let v: serde_json::Value =
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

const MIGRATION: &str = "blog/migrations/0002_backfill.py";

#[test]
fn a_baseline_hides_known_findings_through_unrelated_edits() {
    let dir = project("flow");
    let before = findings(&dir, &[]);
    assert_eq!(
        before,
        [
            ("SEC001".to_owned(), 11),
            ("PY001".to_owned(), 20),
            ("PY001".to_owned(), 21)
        ],
        "the project's findings"
    );

    // Write: every finding, exit 0, the default file in the project root.
    let (code, out, err) = djcheck(&["check", ".", "--write-baseline"], &dir);
    assert_eq!(code, 0, "{out}{err}");
    assert!(err.contains("wrote 3 findings"), "{err}");
    let file = dir.join("djcheck-baseline.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["version"], 1);
    assert_eq!(v["findings"].as_array().unwrap().len(), 3);

    // No fragment of the secret in the file: no message, no source text, and the
    // fingerprint hashes the line with the secret replaced.
    for i in 0..SECRET.len() - 3 {
        let fragment = &SECRET[i..i + 4];
        assert!(
            !text.contains(fragment),
            "`{fragment}` in the baseline:\n{text}"
        );
    }

    // Re-run: clean, exit 0, and the summary says what the baseline hid.
    let (code, out, _) = djcheck(&["check", ".", "--baseline", "djcheck-baseline.json"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("No problems found") && out.contains("3 findings hidden by the baseline"),
        "{out}"
    );

    // Lines inserted above the findings, and the file re-indented around them: still clean.
    edit(&dir, MIGRATION, |t| {
        format!(
            "# Backfill the slugs.\n\n{}",
            t.replace("    Post = ", "    # one query\n    Post = ")
        )
    });
    assert_eq!(findings(&dir, &["--baseline", "djcheck-baseline.json"]), []);
    // The same through the config key.
    std::fs::write(
        dir.join("djcheck.toml"),
        "extend-select = [\"PY001\"]\nbaseline = \"djcheck-baseline.json\"\n",
    )
    .unwrap();
    assert_eq!(findings(&dir, &[]), []);

    // The flagged statement edited: its finding is new, the old entry stale (at info).
    edit(&dir, MIGRATION, |t| {
        t.replacen(
            "migrations.RunPython(fill),",
            "migrations.RunPython(fill, elidable=True),",
            1,
        )
    });
    let got = findings(&dir, &[]);
    assert_eq!(
        got,
        [("SUP003".to_owned(), 0), ("PY001".to_owned(), 23)],
        "the edited RunPython is reported, its old entry is stale"
    );
    let (code, out, _) = djcheck(&["check", "."], &dir);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("note[SUP003]: baseline entry matches no finding: `PY001` in `blog/migrations/0002_backfill.py`"), "{out}");

    // A finding fixed: only the stale entry is reported, at info, which does not fail.
    edit(&dir, MIGRATION, |t| {
        t.replace("migrations.RunPython(fill, elidable=True),\n", "")
    });
    assert_eq!(findings(&dir, &[]), [("SUP003".to_owned(), 0)]);
    let (code, out, _) = djcheck(&["check", "."], &dir);
    assert_eq!(code, 0, "{out}");
    // Stale entries are judged only when their rule ran.
    assert_eq!(findings(&dir, &["--ignore", "PY001"]), []);

    // Re-written, the baseline shrinks and the run is clean again.
    let (code, _, err) = djcheck(&["check", ".", "--write-baseline"], &dir);
    assert_eq!(code, 0);
    assert!(
        err.contains("wrote 2 findings") && err.contains("djcheck-baseline.json"),
        "{err}"
    );
    assert_eq!(findings(&dir, &[]), []);

    // The file renamed: its findings are new, its entries stale.
    std::fs::rename(
        dir.join(MIGRATION),
        dir.join("blog/migrations/0002_backfill_moved.py"),
    )
    .unwrap();
    let got = findings(&dir, &[]);
    assert_eq!(
        got.iter().filter(|(c, _)| c == "SUP003").count(),
        2,
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|(c, _)| c != "SUP003").count(),
        2,
        "{got:?}"
    );
}

#[test]
fn baseline_usage_errors() {
    let dir = project("errors");
    let (code, _, err) = djcheck(&["check", ".", "--baseline", "nope.json"], &dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("`")
            && err.contains("nope.json` does not exist")
            && err.contains("--write-baseline"),
        "{err}"
    );
    std::fs::write(dir.join("bad.json"), "{\"findings\": 3}").unwrap();
    let (code, _, err) = djcheck(&["check", ".", "--baseline", "bad.json"], &dir);
    assert_eq!(code, 2);
    assert!(err.contains("is not a djcheck baseline"), "{err}");
    // An explicit path, written where asked.
    let (code, _, err) = djcheck(&["check", ".", "--write-baseline=sub.json"], &dir);
    assert_eq!(code, 0, "{err}");
    assert!(dir.join("sub.json").is_file());
    let (code, _, err) = djcheck(&["check", ".", "--write-baseline", "--base", "HEAD"], &dir);
    assert_eq!(code, 2, "{err}");
}
