//! Secrets found by the SEC rules never reach any output whole: not the message, not a
//! label, not a source snippet, not a fingerprint, in any output format `djcheck check`
//! offers (read from its `--help`, so a format added later is covered without editing
//! this test).

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, djcheck_stdin, workspace_root, TempDir};
use std::path::{Path, PathBuf};

/// Every secret written in the secret fixtures, as the rules find them. Each one must be
/// in the fixture sources (so this test cannot pass by checking nothing).
const SECRETS: &[(&str, &str)] = &[
    ("SEC001_hardcoded-password", "admin123"),
    ("SEC001_hardcoded-password", "Welcome1!"),
    ("SEC001_hardcoded-password", "hunter2"),
    ("SEC001_hardcoded-password", "0ps-Team!"),
    ("SEC001_hardcoded-password", "support2024"),
    ("SEC001_hardcoded-password", "visitor"),
    ("SEC001_hardcoded-password", "m3trics-2024"),
    (
        "SEC001_hardcoded-password",
        "pbkdf2_sha256$600000$Rk2vX9qL4tW7$Y5dG0sAeUiO2r8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sA=",
    ),
    ("SEC001_hardcoded-password", "tk_9f3a1c7e2b8d4f6a"),
    (
        "SEC001_hardcoded-password",
        "argon2$argon2id$v=19$m=102400,t=2,p=8$Rk2vX9qL4tW7$Y5dG0sAeUiO2r8mK2vX9qL4tW7nZ1c",
    ),
    ("SEC002_hardcoded-token", "ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO2"),
    (
        "SEC002_hardcoded-token",
        "MHcCAQEEIBk2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO2rQ8mR2vL9oAoGCCqGSM49",
    ),
    (
        "SEC002_hardcoded-token",
        "github_pat_11ABCDEFG0Rk2vX9qL4tW7_nZ1cF6hJ3bY5dG0sAeUiO2rQ8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sAeUiO2",
    ),
    ("SEC002_hardcoded-token", "glpat-Rk2vX9qL4tW7nZ1cF6hJ"),
    ("SEC002_hardcoded-token", "xoxb-2918374650-Rk2vX9qL4tW7nZ1c"),
    (
        "SEC002_hardcoded-token",
        "T0QK7RW2H/B08LMXNV3KP/Rk2vX9qL4tW7nZ1cF6hJ3bY5",
    ),
    ("SEC002_hardcoded-token", "AIzaSyR8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeU"),
    ("SEC002_hardcoded-token", "SK3f9a1c7e2b8d4f6a0c5e9b1d7f3a8c2e"),
    (
        "SEC002_hardcoded-token",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJwYXJ0bmVyIiwic2NvcGUiOiJyZWFkIn0.Qm9ndXNTaWduYXR1cmVWYWx1ZTEyMw",
    ),
    ("SEC002_hardcoded-token", "AKIAQ3EGRXM2PLVNHTZW"),
    (
        "SEC002_hardcoded-token",
        "Zq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2r",
    ),
    ("SEC002_hardcoded-token", "sk_live_51Hq8mR2vL9xT4pW7nK1cF6hJ"),
    ("SEC002_hardcoded-token", "Xk9vR2mL4tQ7"),
    (
        "SEC002_hardcoded-token",
        "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",
    ),
];

fn fixture(rule: &str) -> PathBuf {
    workspace_root()
        .join("fixtures/secrets")
        .join(rule)
        .join("fires")
}

/// Every `.py` file under `dir`, relative, `/`-separated.
fn python_files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "py") {
                let rel = p
                    .strip_prefix(dir)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                out.push((rel, std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

/// The output formats `djcheck check --help` lists.
fn formats() -> Vec<String> {
    let (code, help, _) = djcheck(&["check", "--help"], &workspace_root());
    assert_eq!(code, 0);
    let mut out: Vec<String> = Vec::new();
    let section = help
        .split("--format")
        .nth(1)
        .expect("`--format` in `djcheck check --help`");
    // Long help: a `Possible values:` list of `- name: description` lines.
    for line in section.split('\n').skip(1) {
        let t = line.trim();
        if t.starts_with("--") {
            break;
        }
        if let Some(rest) = t.strip_prefix("- ") {
            if let Some((name, _)) = rest.split_once(':') {
                out.push(name.trim().to_owned());
            }
        }
    }
    // Short help: `[possible values: text, json]`.
    if out.is_empty() {
        if let Some(list) = section
            .split("[possible values:")
            .nth(1)
            .and_then(|s| s.split(']').next())
        {
            out.extend(list.split(',').map(|s| s.trim().to_owned()));
        }
    }
    assert!(
        out.iter().any(|f| f == "text") && out.iter().any(|f| f == "json"),
        "formats not found in --help: {out:?}\n{help}"
    );
    out
}

/// The forms a secret may take once written by a renderer: as is, JSON-escaped, and
/// escaped as GitHub workflow commands escape properties and messages.
fn forms(secret: &str) -> Vec<String> {
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_owned();
    let github = secret
        .replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(':', "%3A")
        .replace(',', "%2C");
    let mut out = vec![secret.to_owned(), json, github];
    out.sort();
    out.dedup();
    out
}

/// Fails when any secret, whole, or any 10-character piece of a long secret is in
/// `output`. Pieces are taken past the first third of the secret: its start may be a
/// public format prefix (`pbkdf2_sha256$`, `github_pat_`) that rule docs mention.
fn assert_no_secret(output: &str, what: &str) {
    for (_, secret) in SECRETS {
        for form in forms(secret) {
            assert!(
                !output.contains(&form),
                "{what}: secret `{}…` appears whole in the output:\n{output}",
                &secret[..2]
            );
            let chars: Vec<char> = form.chars().collect();
            if chars.len() >= 14 {
                for start in (chars.len() / 3).max(4)..=chars.len() - 10 {
                    let piece: String = chars[start..start + 10].iter().collect();
                    assert!(
                        !output.contains(&piece),
                        "{what}: a piece of secret `{}…` appears in the output:\n{output}",
                        &secret[..2]
                    );
                }
            }
        }
    }
}

#[test]
fn the_secrets_are_in_the_fixtures_and_found() {
    for (rule, secret) in SECRETS {
        let dir = fixture(rule);
        let (rel, text) = python_files(&dir)
            .into_iter()
            .find(|(_, text)| text.contains(secret))
            .unwrap_or_else(|| panic!("{rule}: no fixture file holds `{}…`", &secret[..2]));
        let line = text[..text.find(secret).unwrap()].matches('\n').count() as u64 + 1;
        // A finding of the rule covers the line that holds it.
        let code = rule.split('_').next().unwrap();
        let (_, out, _) = djcheck(&["check", ".", "--no-config", "--format", "json"], &dir);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let found = v["diagnostics"].as_array().unwrap().iter().any(|d| {
            d["code"] == code
                && d["path"] == rel.as_str()
                && d["range"]["start"]["line"].as_u64().unwrap() <= line
                && line <= d["range"]["end"]["line"].as_u64().unwrap()
        });
        assert!(
            found,
            "{rule}: no {code} finding covers `{}…` ({rel}:{line})",
            &secret[..2]
        );
    }
}

#[test]
fn no_output_format_shows_a_secret() {
    let formats = formats();
    for rule in ["SEC001_hardcoded-password", "SEC002_hardcoded-token"] {
        let dir = fixture(rule);
        for format in &formats {
            for extra in [&[][..], &["--select", "SEC"][..], &["--statistics"][..]] {
                let mut args = vec!["check", ".", "--no-config", "--format", format];
                args.extend_from_slice(extra);
                let (code, out, err) = djcheck(&args, &dir);
                let what = format!("{rule} {args:?}");
                assert_eq!(code, 1, "{what}: findings expected\n{out}\n{err}");
                assert!(out.contains("SEC0"), "{what}: no SEC finding in\n{out}");
                assert_no_secret(&out, &what);
                assert_no_secret(&err, &what);
            }
            // The editor's mode: one file from standard input.
            for (rel, text) in python_files(&dir) {
                if !rel.contains("/migrations/0") {
                    continue;
                }
                let (_, out, err) = djcheck_stdin(
                    &[
                        "check",
                        "--no-config",
                        "--format",
                        format,
                        "--stdin-filename",
                        &rel,
                        "-",
                    ],
                    &dir,
                    &text,
                );
                let what = format!("{rule} {format} stdin {rel}");
                assert_no_secret(&out, &what);
                assert_no_secret(&err, &what);
            }
        }
    }
}

#[test]
fn snippets_show_the_literal_masked() {
    let (_, out, _) = djcheck(
        &["check", ".", "--no-config"],
        &fixture("SEC001_hardcoded-password"),
    );
    assert!(out.contains("password=\"admi****\""), "{out}");
    // A short secret shows fewer characters: `hunter2` (7) shows three.
    assert!(out.contains("\"hun****\""), "{out}");
}

#[test]
#[should_panic(expected = "appears whole")]
fn the_check_catches_a_leak() {
    let dir = fixture("SEC001_hardcoded-password");
    let (_, text) = python_files(&dir)
        .into_iter()
        .find(|(rel, _)| rel.ends_with("0002_create_admin.py"))
        .unwrap();
    assert_no_secret(&text, "the migration's own source");
}

/// A project whose secrets sit where other findings show them: SQL password clauses in
/// RunSQL (SQL005 and SQL007 show those lines), a password sqlparser quotes in its error
/// (SQL007's note), a token on the line of a SQL002 finding, and a secret-named setting
/// on the line of an AUTH005 finding, where no SEC rule looks. Removed when the returned
/// guard is dropped.
fn leaky_project(name: &str) -> TempDir {
    let dir = TempDir::new(&format!("leak-{name}"));
    for (rel, text) in [
        (
            "manage.py",
            "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
        ),
        ("proj/__init__.py", ""),
        (
            "proj/settings.py",
            "INSTALLED_APPS = [\"blog\"]\nAUTH_USER_MODEL = \"blog.Account\"; DB_PASSWORD = \"Db-pa55word-x\"\n",
        ),
        ("blog/__init__.py", ""),
        ("blog/migrations/__init__.py", ""),
        (
            "blog/migrations/0001_initial.py",
            "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    initial = True\n    operations = [\n        migrations.RunSQL(\"CREATE USER report WITH PASSWORD 'R3port-Pw-2024'\"),\n        migrations.RunSQL(\"PREPARE p AS SELECT 1 FROM t PASSWORD 'Un-parsable-Pw9'\", migrations.RunSQL.noop),\n        migrations.RunSQL(\"DROP TABLE legacy_tokens\", reverse_sql=\"SELECT 'ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO3'\"),\n        migrations.RunSQL('DROP TABLE \"ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO4\"', migrations.RunSQL.noop),\n    ]\n",
        ),
        ("blog/migrations/0002_recall.py", RECALL_MIGRATION),
    ] {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    dir
}

/// The recall gaps of issue 18: each value is a secret SEC001 or SEC002 now finds.
const RECALL_MIGRATION: &str = r#"import os

from django.db import migrations

DB = os.environ.get("DB_PASSWORD", "Fallb4ck-Pw-77")
AWS_SECRET_ACCESS_KEY = "Wq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2z"
SLACK = "xoxb-2918374650123-4729103847561-Rk2vX9qL4tW7nZ1cF6hJ3bY5"
DSN = "postgres://deploy:Xk9#mP2q?zz@10.0.4.17:5432/app"
KEY = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBq8mR2vL9xT4pW7\n-----END EC PRIVATE KEY-----"


class Seed:
    password = "Cl4ss-Attr-Pw"


def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.create_user(username="a", password="Conc4t" + "-Pw-99")


class Migration(migrations.Migration):
    dependencies = [("blog", "0001_initial")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
"#;

/// The recall-gap secrets, as written (a concatenation by its pieces).
const RECALLED: &[&str] = &[
    "Fallb4ck-Pw-77",
    "Wq8mR2vL9xT4pW7nK1cF6hJ3bY5dG0sA/eU+iO2z",
    "xoxb-2918374650123-4729103847561-Rk2vX9qL4tW7nZ1cF6hJ3bY5",
    "Xk9#mP2q?zz",
    "MHcCAQEEIBq8mR2vL9xT4pW7",
    "Cl4ss-Attr-Pw",
    "Conc4t",
    "-Pw-99",
];

const LEAKY: &[&str] = &[
    "R3port-Pw-2024",
    "Un-parsable-Pw9",
    "ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO3",
    // A table named with a token: SQL002 names the table in its message and help.
    "ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO4",
    "Db-pa55word-x",
];

#[test]
fn secrets_other_findings_show_are_masked_in_every_format_and_selection() {
    let dir = leaky_project("formats");
    for format in formats() {
        // SQL007 is off by default: each selection turns it on.
        for select in [
            &["--extend-select", "SQL"][..],
            &["--select", "SQL,AUTH"][..],
            &["--extend-select", "SQL", "--ignore", "SEC"][..],
            &["--select", "SQL007"][..],
        ] {
            let mut args = vec!["check", ".", "--no-config", "--format", &format];
            args.extend_from_slice(select);
            let (code, out, err) = djcheck(&args, &dir);
            let what = format!("{args:?}");
            // SQL007 alone is info: no failing exit code.
            let expected = if select.contains(&"SQL007") { 0 } else { 1 };
            assert_eq!(code, expected, "{what}: findings expected\n{out}\n{err}");
            assert!(out.contains("SQL007"), "{what}: no SQL007 in\n{out}");
            for secret in LEAKY.iter().chain(RECALLED) {
                for form in forms(secret) {
                    assert!(
                        !out.contains(&form) && !err.contains(&form),
                        "{what}: `{}…` appears whole:\n{out}\n{err}",
                        &secret[..3]
                    );
                }
            }
            // The findings that show those lines are there (the test checks something).
            let everything = select.len() == 2 && select[1] == "SQL";
            if everything || select[1] == "SQL,AUTH" {
                for code in ["SQL002", "SQL005", "SQL007", "AUTH005"] {
                    assert!(out.contains(code), "{what}: no {code} in\n{out}");
                }
            }
            if everything {
                assert!(
                    out.contains("SEC001") && out.contains("SEC002"),
                    "{what}\n{out}"
                );
                if format == "json" {
                    // Every recall gap is a finding now.
                    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
                    let recalled = v["diagnostics"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|d| {
                            d["path"] == "blog/migrations/0002_recall.py"
                                && d["code"].as_str().unwrap().starts_with("SEC")
                        })
                        .count();
                    assert_eq!(recalled, 7, "{out}");
                }
            } else if format == "sarif" {
                // The driver lists every rule; results name theirs.
                assert!(
                    !out.contains("\"ruleId\": \"SEC"),
                    "{what}: SEC reported\n{out}"
                );
            } else {
                assert!(
                    !out.contains("SEC00"),
                    "{what}: SEC reported unselected\n{out}"
                );
            }
        }
    }
}

#[test]
fn sql_password_clauses_are_sec001_findings() {
    let dir = leaky_project("sec001");
    let (_, out, _) = djcheck(
        &[
            "check",
            ".",
            "--no-config",
            "--format",
            "json",
            "--select",
            "SEC001",
        ],
        &dir,
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let messages: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["message"].as_str().unwrap())
        .collect();
    assert!(
        messages.contains(&"hardcoded password \"R3po…\" (14 characters) in a SQL password clause"),
        "{messages:?}"
    );
    // Text snippets show the masked line.
    let (_, text, _) = djcheck(&["check", ".", "--no-config", "--select", "SQL005"], &dir);
    assert!(text.contains("PASSWORD 'R3po**********'"), "{text}");
}
