//! Input that must give a diagnostic, never a crash: deep nesting, huge files, invalid
//! UTF-8, NUL bytes, symbolic link loops, unreadable files. The rest of the project is
//! still analysed.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::djcheck;
use std::path::{Path, PathBuf};

fn temp_project(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("djcheck-bad-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("blog/migrations")).unwrap();
    std::fs::write(dir.join("manage.py"), "").unwrap();
    std::fs::write(dir.join("blog/__init__.py"), "").unwrap();
    std::fs::write(dir.join("blog/migrations/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("blog/migrations/0001_initial.py"),
        "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = []\n    operations = []\n",
    )
    .unwrap();
    // A sound second app with a real finding proves the rest is still analysed.
    std::fs::create_dir_all(dir.join("shop/migrations")).unwrap();
    std::fs::write(dir.join("shop/__init__.py"), "").unwrap();
    std::fs::write(dir.join("shop/migrations/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("shop/migrations/0001_initial.py"),
        "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"shop\", \"0000_gone\")]\n    operations = []\n",
    )
    .unwrap();
    dir
}

fn json(dir: &Path) -> (i32, serde_json::Value) {
    let (code, out, err) = djcheck(&["check", ".", "--no-config", "--format", "json"], dir);
    let v = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out} {err}"));
    (code, v)
}

fn codes(v: &serde_json::Value) -> Vec<(String, String)> {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["code"].as_str().unwrap().to_owned(),
                d["path"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn assert_reported(dir: &Path, code: &str, path: &str) {
    let (exit, v) = json(dir);
    let got = codes(&v);
    assert_eq!(exit, 1, "{got:?}");
    assert!(got.contains(&(code.to_owned(), path.to_owned())), "{got:?}");
    // The rest of the project is still analysed.
    assert!(
        got.contains(&(
            "MIG001".to_owned(),
            "shop/migrations/0001_initial.py".to_owned()
        )),
        "{got:?}"
    );
}

#[test]
fn deeply_nested_expression() {
    let dir = temp_project("deep");
    let depth = 100_000;
    let src = format!("x = {}1{}\n", "(".repeat(depth), ")".repeat(depth));
    std::fs::write(dir.join("blog/migrations/0002_deep.py"), &src).unwrap();
    let list = format!("y = {}{}\n", "[".repeat(depth), "]".repeat(depth));
    std::fs::write(dir.join("blog/migrations/0003_deep_list.py"), &list).unwrap();
    let chain = format!("z = 1{}\n", " + 1".repeat(depth));
    std::fs::write(dir.join("blog/migrations/0004_long_chain.py"), &chain).unwrap();
    let (exit, v) = json(&dir);
    let got = codes(&v);
    assert_eq!(exit, 1);
    for f in ["0002_deep", "0003_deep_list", "0004_long_chain"] {
        let path = format!("blog/migrations/{f}.py");
        assert!(
            got.iter()
                .any(|(c, p)| p == &path && c.starts_with("PARSE")),
            "{f}: {got:?}"
        );
    }
    assert!(got.contains(&(
        "MIG001".to_owned(),
        "shop/migrations/0001_initial.py".to_owned()
    )));
}

#[test]
fn huge_file() {
    let dir = temp_project("huge");
    let line = "# padding padding padding padding padding padding padding padding\n";
    let big = line.repeat(50 * 1024 * 1024 / line.len() + 1);
    std::fs::write(dir.join("blog/migrations/0002_huge.py"), big).unwrap();
    assert_reported(&dir, "PARSE002", "blog/migrations/0002_huge.py");
}

#[test]
fn invalid_utf8_and_nul() {
    let dir = temp_project("utf8");
    std::fs::write(
        dir.join("blog/migrations/0002_latin1.py"),
        b"x = 'caf\xe9'\n",
    )
    .unwrap();
    std::fs::write(dir.join("blog/migrations/0003_nul.py"), b"x = 1\0\n").unwrap();
    assert_reported(&dir, "PARSE002", "blog/migrations/0002_latin1.py");
    assert_reported(&dir, "PARSE002", "blog/migrations/0003_nul.py");
    let (_, v) = json(&dir);
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "blog/migrations/0002_latin1.py")
        .unwrap()
        .clone();
    assert_eq!(d["range"]["start"]["line"], 1);
    assert_eq!(d["range"]["start"]["column"], 9);
}

#[test]
fn syntax_error_keeps_the_rest() {
    let dir = temp_project("syntax");
    std::fs::write(
        dir.join("blog/migrations/0002_broken.py"),
        "class Migration(:\n",
    )
    .unwrap();
    assert_reported(&dir, "PARSE001", "blog/migrations/0002_broken.py");
}

#[cfg(unix)]
#[test]
fn symlink_loop() {
    let dir = temp_project("symlink");
    std::os::unix::fs::symlink(&dir, dir.join("blog/loop")).unwrap();
    let (exit, v) = json(&dir);
    let got = codes(&v);
    assert_eq!(exit, 1);
    assert!(
        got.iter().any(|(c, p)| c == "PARSE002" && p == "blog/loop"),
        "{got:?}"
    );
    assert!(got.contains(&(
        "MIG001".to_owned(),
        "shop/migrations/0001_initial.py".to_owned()
    )));
}

#[cfg(unix)]
#[test]
fn unreadable_file() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_project("perm");
    let f = dir.join("blog/migrations/0002_secret.py");
    std::fs::write(&f, "x = 1\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    if std::fs::read(&f).is_ok() {
        // Running as root: permissions do not stop reads, nothing to test here.
        eprintln!("skipped: this user can read a mode-000 file (root)");
        return;
    }
    assert_reported(&dir, "PARSE002", "blog/migrations/0002_secret.py");
}

#[test]
fn line_endings_and_bom_map_to_right_columns() {
    let dir = temp_project("eol");
    // CR-only line endings, a BOM and a tab: the missing dependency is on line 4, col 18.
    let src = "\u{feff}from django.db import migrations\rclass Migration(migrations.Migration):\r\tx = 1\r\tdependencies = [(\"blog\", \"0000_nope\")]\r\toperations = []\r";
    std::fs::write(dir.join("blog/migrations/0002_cr.py"), src).unwrap();
    let (_, v) = json(&dir);
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "blog/migrations/0002_cr.py")
        .unwrap_or_else(|| panic!("{v}"))
        .clone();
    assert_eq!(d["code"], "MIG001");
    assert_eq!(d["range"]["start"]["line"], 4);
    assert_eq!(d["range"]["start"]["column"], 18);
    let crlf = src.replace('\r', "\r\n");
    std::fs::write(dir.join("blog/migrations/0002_cr.py"), crlf).unwrap();
    let (_, v) = json(&dir);
    let d = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["path"] == "blog/migrations/0002_cr.py")
        .unwrap()
        .clone();
    assert_eq!(
        (
            d["range"]["start"]["line"].clone(),
            d["range"]["start"]["column"].clone()
        ),
        (4.into(), 18.into())
    );
}
