//! The command line contract: exit codes, selection, output determinism, path scoping,
//! the editor's stdin mode.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, djcheck_stdin, fixture_projects, workspace_root, TempDir};
use std::path::PathBuf;

fn fixture(rel: &str) -> PathBuf {
    workspace_root().join("fixtures").join(rel)
}

/// A project with many apps and migrations, some with findings, for determinism; removed
/// when the returned guard is dropped.
fn generated_project() -> TempDir {
    let dir = TempDir::new("gen");
    std::fs::write(dir.join("manage.py"), "").unwrap();
    for a in 0..30 {
        let app = dir.join(format!("app{a}"));
        std::fs::create_dir_all(app.join("migrations")).unwrap();
        std::fs::write(app.join("__init__.py"), "").unwrap();
        std::fs::write(app.join("migrations/__init__.py"), "").unwrap();
        for m in 1..=20 {
            let mut deps = Vec::new();
            if m > 1 {
                deps.push(format!("(\"app{a}\", \"{:04}_step\")", m - 1));
            }
            if a > 0 && m == 1 {
                deps.push(format!("(\"app{}\", \"0003_step\")", a - 1));
            }
            if m == 7 && a % 5 == 0 {
                deps.push(format!("(\"app{a}\", \"0099_missing\")"));
            }
            let extra = if m == 20 && a % 7 == 0 {
                format!("{:04}_branch", m)
            } else {
                String::new()
            };
            let src = format!(
                "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [{}]\n    operations = []\n",
                deps.join(", ")
            );
            std::fs::write(app.join(format!("migrations/{:04}_step.py", m)), &src).unwrap();
            if !extra.is_empty() {
                std::fs::write(app.join(format!("migrations/{extra}.py")), &src).unwrap();
            }
        }
    }
    dir
}

#[test]
fn output_is_identical_across_thread_counts() {
    let mut dirs: Vec<PathBuf> = fixture_projects()
        .into_iter()
        .filter(|d| !djcheck_tests::is_change_fixture(d))
        .collect();
    let generated = generated_project();
    dirs.push(generated.to_path_buf());
    for dir in dirs {
        // The other formats render the same sorted diagnostics: the large project is
        // enough for them.
        let formats: &[&str] = if dir.as_path() == generated.path() {
            &["text", "json", "sarif", "github", "gitlab"]
        } else {
            &["text", "json"]
        };
        for &format in formats {
            let one = djcheck(
                &[
                    "check",
                    ".",
                    "--no-config",
                    "--threads",
                    "1",
                    "--format",
                    format,
                ],
                &dir,
            );
            for n in ["2", "8"] {
                let many = djcheck(
                    &[
                        "check",
                        ".",
                        "--no-config",
                        "--threads",
                        n,
                        "--format",
                        format,
                    ],
                    &dir,
                );
                assert_eq!(
                    one,
                    many,
                    "{} differs with {n} threads ({format})",
                    dir.display()
                );
            }
            let again = djcheck(&["check", ".", "--no-config", "--format", format], &dir);
            assert_eq!(one, again);
        }
    }
}

#[test]
fn exit_codes() {
    let clean = fixture("migrations/MIG002_conflicting-leaves/silent");
    let dirty = fixture("migrations/MIG002_conflicting-leaves/fires");
    assert_eq!(djcheck(&["check", ".", "--no-config"], &clean).0, 0);
    assert_eq!(djcheck(&["check", ".", "--no-config"], &dirty).0, 1);
    assert_eq!(
        djcheck(&["check", ".", "--no-config", "--exit-zero"], &dirty).0,
        0
    );
    // Only an info finding left: below the default --fail-on warning.
    assert_eq!(
        djcheck(&["check", ".", "--no-config", "--ignore", "MIG002"], &dirty).0,
        0
    );
    assert_eq!(
        djcheck(
            &[
                "check",
                ".",
                "--no-config",
                "--ignore",
                "MIG002",
                "--fail-on",
                "info"
            ],
            &dirty
        )
        .0,
        1
    );
    // Usage errors.
    let (code, _, err) = djcheck(&["check", ".", "--no-such-flag"], &clean);
    assert_eq!(code, 2, "{err}");
    let (code, _, err) = djcheck(&["check", ".", "--select", "NOPE"], &clean);
    assert_eq!(code, 2);
    assert!(err.contains("NOPE"), "{err}");
    let (code, _, err) = djcheck(&["check", "does/not/exist"], &clean);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    let (code, _, _) = djcheck(&["rule", "XYZ999"], &clean);
    assert_eq!(code, 2);
}

#[test]
fn select_and_ignore_by_prefix() {
    let dirty = fixture("migrations/MIG008_duplicate-migration-number/fires");
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--select", "MIG008"], &dirty);
    assert!(
        out.contains("[MIG008]") && !out.contains("[MIG002]"),
        "{out}"
    );
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--ignore", "MIG"], &dirty);
    assert!(!out.contains("[MIG0"), "{out}");
}

#[test]
fn config_errors_exit_2() {
    let dir = TempDir::new("cfg");
    std::fs::write(
        dir.join("djcheck.toml"),
        "select = [\"MIG\"]\nunknown-key = true\n",
    )
    .unwrap();
    let (code, _, err) = djcheck(&["check", "."], &dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("unknown-key") && err.contains("djcheck.toml:2"),
        "{err}"
    );
    let (code, _, _) = djcheck(&["check", ".", "--no-config"], &dir);
    assert_eq!(code, 0);
}

#[test]
fn reports_only_on_paths_given_but_analyses_everything() {
    let dir = fixture("migrations/MIG001_missing-dependency/fires");
    let (_, out, _) = djcheck(
        &[
            "check",
            "shop/migrations/0002_order_total.py",
            "--no-config",
            "--format",
            "json",
        ],
        &dir,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let paths: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["path"].as_str().unwrap())
        .collect();
    assert_eq!(paths, vec!["shop/migrations/0002_order_total.py"]);
}

#[test]
fn stdin_buffer_replaces_the_file() {
    let dir = fixture("migrations/MIG001_missing-dependency/silent");
    let path = "shop/migrations/0002_auto.py";
    let buffer = "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"shop\", \"0001_nope\")]\n    operations = []\n";
    let (code, out, err) = djcheck_stdin(
        &[
            "check",
            "--no-config",
            "--format",
            "json",
            "--stdin-filename",
            path,
            "-",
        ],
        &dir,
        buffer,
    );
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let d = &v["diagnostics"][0];
    assert_eq!(d["code"], "MIG001");
    assert_eq!(d["path"], path);
    assert_eq!(d["range"]["start"]["line"], 4);
}

#[test]
fn rules_listing() {
    let (code, out, _) = djcheck(&["rules", "--format", "json"], &workspace_root());
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v.as_array().unwrap().iter().any(|r| r["code"] == "MIG001"));
}

/// A scratch project: `files` are `(relative path, text)`. Removed when the returned
/// guard is dropped.
fn project(name: &str, files: &[(&str, &str)]) -> TempDir {
    let dir = TempDir::new(&format!("cli-{name}"));
    for (rel, text) in files {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

const MANAGE: &str =
    "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n";
const SETTINGS: &str =
    "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\"]\n";

fn migration(deps: &str) -> String {
    format!(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [\n{deps}    ]\n\n    operations = []\n"
    )
}

/// `manage.py`, settings and app `blog` with `0001_initial` and the given `0002`.
fn blog_project(name: &str, second: &str, extra: &[(&str, &str)]) -> TempDir {
    let first = migration("");
    let mut files = vec![
        ("manage.py", MANAGE),
        ("proj/__init__.py", ""),
        ("proj/settings.py", SETTINGS),
        ("blog/__init__.py", ""),
        ("blog/migrations/__init__.py", ""),
        ("blog/migrations/0001_initial.py", first.as_str()),
        ("blog/migrations/0002_second.py", second),
    ];
    files.extend_from_slice(extra);
    project(name, &files)
}

fn diags(out: &str) -> Vec<(String, String, u64)> {
    let v: serde_json::Value = serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: {out}"));
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap_or("").to_owned(),
                d["range"]["start"]["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

fn codes_of(out: &str) -> Vec<String> {
    diags(out).into_iter().map(|d| d.0).collect()
}

const MISSING: &str = "        (\"blog\", \"0001_initial\"),\n        (\"blog\", \"0000_gone\"),\n";

#[test]
fn config_flags_win_over_the_file() {
    let second = migration(MISSING);
    let dir = blog_project(
        "precedence",
        &second,
        &[(
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.djcheck]\nignore = [\"MIG001\"]\nfail-on = \"error\"\n",
        )],
    );
    // The file ignores MIG001.
    let (code, out, _) = djcheck(&["check", ".", "--format", "json"], &dir);
    assert_eq!((code, codes_of(&out)), (0, vec![]));
    // --select on the command line replaces `select`, but `ignore` still applies, as in
    // ruff; --no-config drops the file.
    let (code, out, _) = djcheck(&["check", ".", "--no-config", "--format", "json"], &dir);
    assert_eq!((code, codes_of(&out)), (1, vec!["MIG001".to_owned()]));
    // --fail-on beats `fail-on`.
    std::fs::write(
        dir.join("djcheck.toml"),
        "severity = { MIG001 = \"warning\" }\nfail-on = \"error\"\n",
    )
    .unwrap();
    // djcheck.toml takes precedence over pyproject.toml.
    let (code, out, _) = djcheck(&["check", ".", "--format", "json"], &dir);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("\"severity\": \"warning\""), "{out}");
    let (code, _, _) = djcheck(&["check", ".", "--fail-on", "warning"], &dir);
    assert_eq!(code, 1);
    // --config names another file.
    std::fs::write(
        dir.join("strict.toml"),
        "fail-on = \"info\"\nselect = [\"MIG\"]\n",
    )
    .unwrap();
    let (code, _, err) = djcheck(&["check", ".", "--config", "strict.toml"], &dir);
    assert_eq!(code, 1, "{err}");
    // ...also written as a copy of the pyproject.toml section.
    std::fs::write(
        dir.join("ci.toml"),
        "[tool.djcheck]\nfail-on = \"info\"\nselect = [\"MIG\"]\n",
    )
    .unwrap();
    let (code, _, err) = djcheck(&["check", ".", "--config", "ci.toml"], &dir);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = djcheck(&["check", ".", "--config", "nope.toml"], &dir);
    assert_eq!(code, 2);
    assert!(
        err.contains("nope.toml") && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn config_errors_name_file_key_and_line() {
    let second = migration(MISSING);
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "pyproject.toml",
            "[project]\nname = \"x\"\n\n[tool.djcheck]\nselect = [\"MIG\"]\nbogus = 1\n",
            &["pyproject.toml:6", "bogus"],
        ),
        (
            "pyproject.toml",
            "[tool.djcheck]\nfail-on = \"warning\"\nsql-dialect = \"oracle\"\n",
            &["pyproject.toml:3", "tool.djcheck.sql-dialect", "oracle"],
        ),
        (
            "pyproject.toml",
            "[tool.djcheck]\nignore = [\"MIG001\"]\n\n[tool.djcheck.severity]\nNOPE001 = \"info\"\n",
            &["pyproject.toml:5", "tool.djcheck.severity.NOPE001", "unknown rule code"],
        ),
        (
            "djcheck.toml",
            "select = [\"MIG\"]\nignore = [\"ZZZ\"]\n",
            &["djcheck.toml:2", "`ignore`", "ZZZ"],
        ),
        (
            "djcheck.toml",
            "[per-file-ignores]\n\"a/[\" = [\"MIG\"]\n",
            &["djcheck.toml:2", "per-file-ignores", "invalid glob"],
        ),
        (
            ".djcheck.toml",
            "exclude = \"legacy\"\n",
            &[".djcheck.toml:1", "`exclude`", "expected a sequence"],
        ),
    ];
    for (i, (file, text, want)) in cases.iter().enumerate() {
        let dir = blog_project(&format!("cfgerr{i}"), &second, &[(file, text)]);
        let (code, out, err) = djcheck(&["check", "."], &dir);
        assert_eq!(code, 2, "{file}: {out}{err}");
        for w in *want {
            assert!(err.contains(w), "{file}: `{w}` not in: {err}");
        }
        assert!(out.is_empty(), "{out}");
    }
}

#[test]
fn exclude_replaces_the_defaults_and_extend_exclude_adds() {
    let broken = "class Migration(:\n";
    let second = migration("        (\"blog\", \"0001_initial\"),\n");
    let extra = [
        // An app named `build`: skipped by the default excludes.
        ("build/__init__.py", ""),
        ("build/migrations/__init__.py", ""),
        ("build/migrations/0001_initial.py", broken),
        ("legacy/__init__.py", ""),
        ("legacy/migrations/__init__.py", ""),
        ("legacy/migrations/0001_initial.py", broken),
        (
            "proj/settings.py",
            "INSTALLED_APPS = [\"django.contrib.auth\", \"django.contrib.contenttypes\", \"blog\", \"build\", \"legacy\"]\n",
        ),
    ];
    let dir = blog_project("exclude", &second, &extra);
    let paths = |cfg: &str| {
        std::fs::write(dir.join("djcheck.toml"), cfg).unwrap();
        let (_, out, err) = djcheck(&["check", ".", "--format", "json"], &dir);
        assert!(err.is_empty(), "{err}");
        diags(&out).into_iter().map(|d| d.1).collect::<Vec<_>>()
    };
    assert_eq!(paths(""), vec!["legacy/migrations/0001_initial.py"]);
    assert_eq!(
        paths("extend-exclude = [\"legacy/\"]\n"),
        Vec::<String>::new()
    );
    // `exclude` replaces the defaults: `build/` is analysed now.
    assert_eq!(
        paths("exclude = [\"legacy/\"]\n"),
        vec!["build/migrations/0001_initial.py"]
    );
}

#[test]
fn suppression_comments() {
    let second = migration(
        "        (\"blog\", \"0001_initial\"),  # djcheck: ignore[MIG001] -- nothing to silence\n        (\"blog\", \"0000_gone\"),  # djcheck: ignore[MIG001] -- faked in production\n        (\"blog\", \"0000_also_gone\"),  # djcheck: ignore\n",
    );
    let dir = blog_project("suppress", &second, &[]);
    let (code, out, _) = djcheck(&["check", ".", "--no-config", "--format", "json"], &dir);
    let path = "blog/migrations/0002_second.py".to_owned();
    // Used with a reason: silent. Unused: SUP001. Bare: honoured and reported (SUP002).
    assert_eq!(
        diags(&out),
        vec![
            ("SUP001".to_owned(), path.clone(), 6),
            ("SUP002".to_owned(), path.clone(), 8),
        ]
    );
    // Infos only: below the default --fail-on.
    assert_eq!(code, 0);
    // Without SUP001 selected, unused suppressions are not reported; without MIG001
    // running, a suppression of MIG001 is not known to be unused.
    let (_, out, _) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--format",
            "json",
            "--ignore",
            "SUP001",
        ],
        &dir,
    );
    assert_eq!(codes_of(&out), vec!["SUP002".to_owned()]);
    // The bare comment silenced nothing then: it is unused too.
    let (_, out, _) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--format",
            "json",
            "--ignore",
            "MIG001",
        ],
        &dir,
    );
    assert_eq!(
        diags(&out),
        vec![
            ("SUP001".to_owned(), path.clone(), 8),
            ("SUP002".to_owned(), path.clone(), 8),
        ]
    );
    // The suppression rules obey severity overrides like any other.
    std::fs::write(
        dir.join("djcheck.toml"),
        "severity = { SUP001 = \"warning\" }\n",
    )
    .unwrap();
    let (code, _, _) = djcheck(&["check", "."], &dir);
    assert_eq!(code, 1);
}

#[test]
fn stdin_reports_only_on_the_buffer_but_keeps_graph_findings_about_it() {
    // Two leaves: the buffer adds a second `0002`, which conflicts with the one on disk.
    let second = migration("        (\"blog\", \"0001_initial\"),\n");
    let other = migration(
        "        (\"blog\", \"0002_second\"),\n        (\"payments\", \"0001_initial\"),\n",
    );
    let dir = blog_project(
        "stdin-graph",
        &second,
        &[("blog/migrations/0003_other.py", other.as_str())],
    );
    let buffer = migration("        (\"blog\", \"0001_initial\"),\n");
    let (code, out, err) = djcheck_stdin(
        &[
            "check",
            "--no-config",
            "--format",
            "json",
            "--stdin-filename",
            "blog/migrations/0002_second_b.py",
            "-",
        ],
        &dir,
        &buffer,
    );
    assert_eq!(code, 1, "{err}");
    let got = diags(&out);
    // 0003_other's MIG001 is about another file: not reported. The leaf conflict involves
    // the buffer: reported wherever its primary range is.
    assert!(got.iter().all(|d| d.0 != "MIG001"), "{got:?}");
    assert!(got.iter().any(|d| d.0 == "MIG002"), "{got:?}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    for d in v["diagnostics"].as_array().unwrap() {
        let involves = d["path"] == "blog/migrations/0002_second_b.py"
            || d["labels"]
                .as_array()
                .unwrap()
                .iter()
                .any(|l| l["path"] == "blog/migrations/0002_second_b.py");
        assert!(involves, "{d}");
    }
}

#[test]
fn stdin_buffer_wins_over_the_file_on_disk() {
    let on_disk = migration(MISSING);
    let dir = blog_project("stdin-wins", &on_disk, &[]);
    let path = "blog/migrations/0002_second.py";
    let args = [
        "check",
        "--no-config",
        "--format",
        "json",
        "--stdin-filename",
        path,
        "-",
    ];
    // The file on disk has a finding; the buffer fixed it.
    let fixed = migration("        (\"blog\", \"0001_initial\"),\n");
    let (code, out, _) = djcheck_stdin(&args, &dir, &fixed);
    assert_eq!((code, codes_of(&out)), (0, vec![]));
    // And the other way round, with a suppression comment read from the buffer.
    let (code, out, _) = djcheck_stdin(&args, &dir, &on_disk);
    assert_eq!((code, codes_of(&out)), (1, vec!["MIG001".to_owned()]));
    let suppressed = on_disk.replace(
        "\"0000_gone\"),",
        "\"0000_gone\"),  # djcheck: ignore[MIG001]",
    );
    let (code, out, _) = djcheck_stdin(&args, &dir, &suppressed);
    assert_eq!((code, codes_of(&out)), (0, vec![]));
    // `-` without --stdin-filename is a usage error.
    let (code, _, err) = djcheck_stdin(&["check", "-"], &dir, &fixed);
    assert_eq!(code, 2);
    assert!(err.contains("--stdin-filename"), "{err}");
}

#[test]
fn usage_errors_exit_2_with_a_message() {
    let dir = workspace_root();
    for args in [
        &["check", "--format", "xml"][..],
        &["check", "--fail-on", "sometimes"][..],
        &["check", "--threads", "many"][..],
        &["frobnicate"][..],
        &[][..],
    ] {
        let (code, out, err) = djcheck(args, &dir);
        assert_eq!(code, 2, "{args:?}: {out}{err}");
        // clap's message: what is wrong and where to look, or the usage itself.
        assert!(
            (err.starts_with("error:") && err.contains("--help")) || err.contains("Usage:"),
            "{args:?}: {err}"
        );
    }
    let (code, out, _) = djcheck(&["--help"], &dir);
    assert_eq!(code, 0);
    assert!(out.contains("check"), "{out}");
    let (code, out, _) = djcheck(&["check", "--help"], &dir);
    assert_eq!(code, 0);
    for f in ["sarif", "github", "gitlab"] {
        assert!(out.contains(f), "{out}");
    }
}

#[test]
fn quiet_drops_the_summary() {
    let dir = fixture("migrations/MIG002_conflicting-leaves/silent");
    let (_, out, _) = djcheck(&["check", ".", "--no-config"], &dir);
    assert!(out.starts_with("No problems found"), "{out}");
    let (_, out, _) = djcheck(&["check", ".", "--no-config", "--quiet"], &dir);
    assert_eq!(out, "");
}

/// `--output-file`: every format's report goes to the file, byte for byte what standard
/// output would have had (less the text summary), and the summary line to standard error.
#[test]
fn output_file_for_every_format() {
    let dir = fixture("migrations/MIG001_missing-dependency/fires");
    let out_dir = TempDir::new("outfile");
    for format in ["text", "json", "sarif", "github", "gitlab", "markdown"] {
        let file = out_dir.join(format!("report.{format}"));
        let file_arg = file.to_str().unwrap();
        let (code_stdout, stdout, _) = djcheck(
            &["check", ".", "--no-config", "--format", format, "--quiet"],
            &dir,
        );
        let (code, out, err) = djcheck(
            &[
                "check",
                ".",
                "--no-config",
                "--format",
                format,
                "--output-file",
                file_arg,
            ],
            &dir,
        );
        assert_eq!(code, code_stdout, "{format}: the exit code does not change");
        assert_eq!(out, "", "{format}: nothing on standard output");
        assert!(
            err.starts_with("Found "),
            "{format}: summary on stderr: {err}"
        );
        let written = std::fs::read_to_string(&file).unwrap();
        assert_eq!(written, stdout, "{format}: the file holds the report");
        // --quiet drops the summary line.
        let (_, _, err) = djcheck(
            &[
                "check",
                ".",
                "--no-config",
                "--format",
                format,
                "--quiet",
                "--output-file",
                file_arg,
            ],
            &dir,
        );
        assert_eq!(err, "", "{format}");
    }
    // A file that cannot be written is an error, exit 2.
    let (code, _, err) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--output-file",
            "/nonexistent-dir/x.txt",
        ],
        &dir,
    );
    assert_eq!(code, 2);
    assert!(
        err.contains("cannot write `/nonexistent-dir/x.txt`"),
        "{err}"
    );
}

/// The example configuration in the README names every key and is accepted as written.
#[test]
fn readme_example_config_is_complete_and_valid() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let after = readme
        .split_once("<!-- example-config -->")
        .expect("README has the example-config marker")
        .1;
    let block = after
        .split_once("```toml\n")
        .unwrap()
        .1
        .split_once("```")
        .unwrap()
        .0;
    // The keys, as the config parser lists them for an unknown one.
    let dir = project("readme-keys", &[("djcheck.toml", "no-such-key = 1\n")]);
    let (_, _, err) = djcheck(&["check", "."], &dir);
    let listed = err.split_once("expected one of").unwrap().1;
    let keys: Vec<&str> = listed.split('`').skip(1).step_by(2).collect();
    assert!(keys.len() >= 14, "{err}");
    for key in keys {
        let documented = block.split('\n').any(|l| {
            let l = l.trim_start_matches("# ");
            l.starts_with(&format!("{key} ="))
        });
        assert!(documented, "README example config lacks `{key}`");
    }
    let second = migration("        (\"blog\", \"0001_initial\"),\n");
    let dir = blog_project("readme-config", &second, &[("pyproject.toml", block)]);
    let (code, out, err) = djcheck(&["check", "."], &dir);
    assert!(code == 0 || code == 1, "{out}{err}");
    assert!(err.is_empty(), "{err}");
}

/// An editor's new buffer (not on disk yet), opened through a symbolic link to the
/// project, given by absolute path.
#[test]
fn stdin_new_file_through_a_symlink() {
    let second = migration("        (\"blog\", \"0001_initial\"),\n");
    let dir = blog_project("stdin-link", &second, &[]);
    // The link, outside the project, in a scratch folder of its own (removed with it).
    let links = TempDir::new("cli-stdin-link-links");
    let link = links.join("project");
    std::os::unix::fs::symlink(&dir, &link).unwrap();
    let new = link.join("blog/migrations/0003_new.py");
    let buffer = migration("        (\"blog\", \"0002_nope\"),\n");
    let (code, out, err) = djcheck_stdin(
        &[
            "check",
            "--no-config",
            "--format",
            "json",
            "--stdin-filename",
            new.to_str().unwrap(),
            "-",
        ],
        &workspace_root(),
        &buffer,
    );
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(
        diags(&out),
        vec![(
            "MIG001".to_owned(),
            "blog/migrations/0003_new.py".to_owned(),
            6
        )]
    );
}

/// With `--base`, a graph finding whose primary range is in an unchanged file but which
/// involves a changed one (a new migration that conflicts with an old one) is reported.
#[test]
fn base_mode_keeps_graph_findings_involving_changed_files() {
    let second = migration("        (\"blog\", \"0001_initial\"),\n");
    let dir = blog_project("base-graph", &second, &[]);
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.invalid")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.invalid")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    git(&["init", "--quiet"]);
    git(&["add", "."]);
    git(&["commit", "--quiet", "-m", "base"]);
    // A second leaf, named after the first so that the conflict's primary range stays in
    // the unchanged `0002_second`.
    std::fs::write(dir.join("blog/migrations/0002_third.py"), &second).unwrap();
    git(&["add", "."]);
    let (code, out, err) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--format",
            "json",
            "--base",
            "HEAD",
        ],
        &dir,
    );
    assert_eq!(code, 1, "{out}{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let conflict = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == "MIG002")
        .unwrap_or_else(|| panic!("{out}"));
    assert_eq!(conflict["path"], "blog/migrations/0002_second.py");
}

/// A suppressed secret is still masked when its line is shown by another diagnostic (the
/// report about a bare suppression comment on that line).
#[test]
fn suppressed_secrets_stay_masked() {
    let second = "from django.db import migrations\n\n\ndef create_admin(apps, schema_editor):\n    User = apps.get_model(\"auth\", \"User\")\n    User.objects.create_user(username=\"admin\", password=\"s3cretpass\")  # djcheck: ignore\n\n\nclass Migration(migrations.Migration):\n    dependencies = [\n        (\"blog\", \"0001_initial\"),\n        (\"auth\", \"0012_alter_user_first_name_max_length\"),\n    ]\n\n    operations = [migrations.RunPython(create_admin, migrations.RunPython.noop)]\n";
    let unsuppressed = second.replace("  # djcheck: ignore", "");
    let dir = blog_project("secret-masked", &unsuppressed, &[]);
    let (_, plain, _) = djcheck(&["check", ".", "--no-config", "--select", "SEC"], &dir);
    assert!(
        plain.contains("s3cr") && !plain.contains("s3cretpass"),
        "the secret rule must fire here: {plain}"
    );
    std::fs::write(dir.join("blog/migrations/0002_second.py"), second).unwrap();
    for format in ["text", "json", "sarif", "github", "gitlab"] {
        let (_, out, err) = djcheck(&["check", ".", "--no-config", "--format", format], &dir);
        assert!(out.contains("SUP002"), "{format}: {out}{err}");
        assert!(!out.contains("s3cretpass"), "{format}: {out}");
    }
}
