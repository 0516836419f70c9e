//! Input that must give a diagnostic, never a crash: deep nesting, huge files, invalid
//! UTF-8, NUL bytes, symbolic link loops, unreadable files. The rest of the project is
//! still analysed.

// Test code: a failed unwrap is a failed test, and reading fixtures is the point.
#![allow(clippy::unwrap_used, clippy::disallowed_methods)]

use djcheck_tests::{djcheck, TempDir};
use std::path::Path;

/// A scratch project, removed when the returned guard is dropped.
fn temp_project(name: &str) -> TempDir {
    let dir = TempDir::new(&format!("bad-{name}"));
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

/// Runs `djcheck check` on `dir` on another thread: a run that does not end within
/// `secs` seconds fails the test instead of hanging it.
fn json_within(dir: &Path, secs: u64, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let (tx, rx) = std::sync::mpsc::channel();
    let dir = dir.to_owned();
    let extra: Vec<String> = extra.iter().map(|s| (*s).to_owned()).collect();
    std::thread::spawn(move || {
        let mut args = vec!["check", ".", "--format", "json"];
        args.extend(extra.iter().map(String::as_str));
        let _ = tx.send(djcheck(&args, &dir));
    });
    let (code, out, err) = rx
        .recv_timeout(std::time::Duration::from_secs(secs))
        .unwrap_or_else(|_| panic!("djcheck did not finish within {secs} s"));
    let v = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    (code, v, err)
}

fn find<'a>(v: &'a serde_json::Value, code: &str, path: &str) -> &'a serde_json::Value {
    v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["code"] == code && d["path"] == path)
        .unwrap_or_else(|| panic!("no {code} on {path}: {v}"))
}

#[cfg(unix)]
fn mkfifo(p: &Path) {
    let ok = std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .unwrap()
        .success();
    assert!(ok, "mkfifo {}", p.display());
}

/// Issue 18, item 1: a named pipe where djcheck opens a file blocked `open()` forever.
#[cfg(unix)]
#[test]
fn named_pipes_are_refused_without_blocking() {
    let dir = temp_project("fifo");
    std::fs::create_dir_all(dir.join("proj")).unwrap();
    std::fs::create_dir_all(dir.join("blog/templates/blog")).unwrap();
    std::fs::write(dir.join("proj/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("manage.py"),
        "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
    )
    .unwrap();
    mkfifo(&dir.join("blog/migrations/0002_pipe.py"));
    mkfifo(&dir.join("proj/settings.py"));
    mkfifo(&dir.join("blog/apps.py"));
    mkfifo(&dir.join("blog/templates/blog/index.html"));
    mkfifo(&dir.join("blog/views.py"));
    let (exit, v, err) = json_within(&dir, 60, &["--no-config"]);
    assert_eq!(exit, 1, "{v} {err}");
    for path in [
        "blog/migrations/0002_pipe.py",
        "proj/settings.py",
        "blog/apps.py",
        "blog/templates/blog/index.html",
        "blog/views.py",
    ] {
        let d = find(&v, "PARSE002", path);
        assert!(
            d["message"]
                .as_str()
                .unwrap()
                .contains("not a regular file (a named pipe)"),
            "{d}"
        );
    }
    find(&v, "MIG001", "shop/migrations/0001_initial.py");
    // The configuration: found by name, or named with --config.
    mkfifo(&dir.join("djcheck.toml"));
    let (exit, _, err) = json_within(&dir, 60, &[]);
    assert_eq!(exit, 2);
    assert!(
        err.contains("djcheck.toml: cannot read config: not a regular file"),
        "{err}"
    );
    let (exit, _, err) = json_within(&dir, 60, &["--config", "djcheck.toml"]);
    assert_eq!(exit, 2);
    assert!(err.contains("not a regular file"), "{err}");
}

/// Issue 18, item 4: a 100,000-deep nested f-string took minutes in the parser; it is
/// refused by the bracket pre-scan at once, as PARSE001.
#[test]
fn deep_nested_fstring_is_refused_at_once() {
    let dir = temp_project("fstring");
    let n = 100_000;
    let src = format!("x = {}1{}\n", "f\"{".repeat(n), "}\"".repeat(n));
    std::fs::write(dir.join("blog/migrations/0002_deep.py"), src).unwrap();
    let t = std::time::Instant::now();
    let (exit, v, _) = json_within(&dir, 120, &["--no-config"]);
    assert_eq!(exit, 1);
    let d = find(&v, "PARSE001", "blog/migrations/0002_deep.py");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("too many nested parentheses"));
    // At the 201st `{`.
    assert_eq!(d["range"]["start"]["column"], 4 + 3 * 200 + 3);
    assert!(t.elapsed().as_secs() < 30, "{:?}", t.elapsed());
}

/// Issue 18, item 8: every bracket shape nested past Python's limit is the same
/// PARSE001 with the same message, at the first bracket past it; a tree too deep
/// without brackets is PARSE002 at the node past the limit, never 1:1.
#[test]
fn nesting_refusals_are_consistent() {
    let dir = temp_project("refusals");
    let n = 100_000;
    let shapes = [
        // (name, source, width of one level, offset of its bracket in it)
        (
            "0002_paren",
            format!("x = {}1{}\n", "(".repeat(n), ")".repeat(n)),
            1,
            0,
        ),
        (
            "0003_list",
            format!("x = {}{}\n", "[".repeat(n), "]".repeat(n)),
            1,
            0,
        ),
        (
            "0004_call",
            format!("x = {}{}\n", "f(".repeat(n), ")".repeat(n)),
            2,
            1,
        ),
        (
            "0005_dict",
            format!("x = {}1{}\n", "{1: ".repeat(n), "}".repeat(n)),
            4,
            0,
        ),
    ];
    for (name, src, _, _) in &shapes {
        std::fs::write(dir.join(format!("blog/migrations/{name}.py")), src).unwrap();
    }
    let chain = format!("z = 1{}\n", " + 1".repeat(n));
    std::fs::write(dir.join("blog/migrations/0006_chain.py"), chain).unwrap();
    let (_, v, _) = json_within(&dir, 120, &["--no-config"]);
    let mut messages = std::collections::BTreeSet::new();
    for (name, _, width, offset) in &shapes {
        let d = find(&v, "PARSE001", &format!("blog/migrations/{name}.py"));
        messages.insert(d["message"].as_str().unwrap().to_owned());
        // 1-based column of the 201st bracket.
        assert_eq!(
            d["range"]["start"]["column"],
            4 + width * 200 + offset + 1,
            "{name}: {d}"
        );
    }
    assert_eq!(messages.len(), 1, "{messages:?}");
    let d = find(&v, "PARSE002", "blog/migrations/0006_chain.py");
    assert!(d["message"]
        .as_str()
        .unwrap()
        .contains("nests deeper than 2000 levels"));
    assert_eq!(d["range"]["start"]["line"], 1);
    assert_ne!(d["range"]["start"]["column"], 1, "{d}");
}

/// Issue 18, item 3: nested regex groups cost quadratic memory, a `path()` route of
/// `<` quadratic time, and URL006 repeated a 100 KB route in its message.
#[test]
fn long_and_nested_routes() {
    let dir = temp_project("routes");
    std::fs::create_dir_all(dir.join("proj")).unwrap();
    std::fs::write(dir.join("proj/__init__.py"), "").unwrap();
    std::fs::write(
        dir.join("proj/settings.py"),
        "INSTALLED_APPS = [\"blog\", \"shop\"]\nROOT_URLCONF = \"proj.urls\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("blog/views.py"), "def index(request):\n    pass\n").unwrap();
    let nested = format!("^{}a{}$", "(".repeat(50_000), ")".repeat(50_000));
    let urls = format!(
        "from django.urls import path, re_path\nfrom blog import views\n\nurlpatterns = [\n    re_path(r'{nested}', views.index),\n    path('{}', views.index, name='a'),\n    path('/{}', views.index, name='b'),\n]\n",
        "<".repeat(100_000),
        "b".repeat(100_000)
    );
    std::fs::write(dir.join("proj/urls.py"), urls).unwrap();
    std::fs::write(
        dir.join("manage.py"),
        "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n",
    )
    .unwrap();
    let t = std::time::Instant::now();
    let (_, v, _) = json_within(&dir, 120, &["--no-config"]);
    assert!(t.elapsed().as_secs() < 60, "{:?}", t.elapsed());
    let diags = v["diagnostics"].as_array().unwrap();
    let url006: Vec<&serde_json::Value> = diags.iter().filter(|d| d["code"] == "URL006").collect();
    assert!(
        url006
            .iter()
            .any(|d| d["message"].as_str().unwrap().contains("begins with a `/`")),
        "{v}"
    );
    for d in diags {
        let m = d["message"].as_str().unwrap();
        assert!(m.len() < 400, "{} message of {} bytes", d["code"], m.len());
    }
}

/// Issue 18, item 5: a RunSQL over the 1 MiB limit was skipped without a word.
#[test]
fn runsql_over_the_size_limit_is_reported() {
    let dir = temp_project("bigsql");
    // About 7 MB: under the 8 MiB file limit, over the 1 MiB SQL limit.
    let sql: String = (0..230_000)
        .map(|i| format!("CREATE TABLE t{i} (id int);\n"))
        .collect();
    std::fs::write(
        dir.join("blog/migrations/0002_load.py"),
        format!("from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"blog\", \"0001_initial\")]\n    operations = [migrations.RunSQL(\"\"\"{sql}\"\"\", migrations.RunSQL.noop)]\n"),
    )
    .unwrap();
    let (_, v, _) = json_within(&dir, 300, &["--no-config", "--extend-select", "SQL007"]);
    let d = find(&v, "SQL007", "blog/migrations/0002_load.py");
    assert!(
        d["message"]
            .as_str()
            .unwrap()
            .contains("not analysed: longer than the 1048576-byte limit"),
        "{d}"
    );
    assert_eq!(d["range"]["start"]["line"], 5);
}

/// Issue 18, item 7: a file whose name is not UTF-8 was reopened under its lossy name
/// and reported as "No such file or directory".
#[cfg(target_os = "linux")]
#[test]
fn file_names_that_are_not_utf8_are_read() {
    use std::os::unix::ffi::OsStrExt;
    let dir = temp_project("nonutf8");
    let name = std::ffi::OsStr::from_bytes(b"0002_caf\xe9.py");
    std::fs::write(
        dir.join("blog/migrations").join(name),
        "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"blog\", \"0000_gone\")]\n    operations = []\n",
    )
    .unwrap();
    let (_, v, _) = json_within(&dir, 60, &["--no-config"]);
    let d = find(&v, "MIG001", "blog/migrations/0002_caf\u{fffd}.py");
    assert!(d["message"].as_str().unwrap().contains("0000_gone"), "{d}");
    assert!(
        !v["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["code"] == "PARSE002"),
        "{v}"
    );
}
