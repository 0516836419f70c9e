//! The entry points of the fuzz targets (`fuzz/`), kept here so that `cargo test` replays
//! every input they ever found (`tests/tests/fuzz_regressions.rs`) through exactly the
//! same code. Each takes arbitrary input and must return: no panic, no hang, no memory
//! blow-up. Where an input breaks an invariant that is not a crash (a secret printed
//! whole), the entry point panics, so the fuzzer reports it as a crash too.

use djcheck_linter::{FileContext, FileId, Rule};
use djcheck_project::migration::{extract, ExtractContext};
use djcheck_project::{AnalysisOptions, FileOptions, FileRole, LoadOptions, NoVisitor, SqlDialect};
use djcheck_python::Limits;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Analysis threads have 256 MiB stacks; so does the thread each input runs on.
const STACK: usize = 256 * 1024 * 1024;

/// Runs `f` on a thread with the stack the analysis threads have, passing a panic on.
fn on_big_stack<T: Send>(f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        let h = std::thread::Builder::new()
            .stack_size(STACK)
            .spawn_scoped(s, f)
            .unwrap_or_else(|e| panic!("cannot start a thread: {e}"));
        match h.join() {
            Ok(v) => v,
            Err(p) => std::panic::resume_unwind(p),
        }
    })
}

/// A scratch folder, removed when its thread ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An empty folder, one per process and thread (tests run in parallel), that the loaders
/// take as the project root.
fn scratch_root(name: &str) -> Scratch {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = base.join(format!("djcheck-fuzz-{name}-{}-{n}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    Scratch(dir)
}

/// Bytes → the Python front end (decoding, parsing, the line index) and the extraction of
/// a migration, of settings and of a URLconf from the same text.
pub fn python_front_end(data: &[u8]) {
    let Ok(text) = djcheck_python::decode(data) else {
        return;
    };
    thread_local! {
        static ROOT: Scratch = scratch_root("python");
    }
    let root = ROOT.with(|r| r.0.clone());
    on_big_stack(move || {
        let limits = Limits::default();
        if let Ok(parsed) = djcheck_project::parse_checked(&text, &limits) {
            let index = djcheck_python::LineIndex::new(&text);
            for e in &parsed.errors {
                let _ = index.line_col(&text, e.range.start());
            }
            if parsed.errors.is_empty() {
                let _ = extract(
                    FileId(0),
                    "blog",
                    "0002_fuzz",
                    parsed.body(),
                    &ExtractContext {
                        user_app_label: "auth",
                    },
                );
            }
        }
        // The same text as a settings module, a URLconf and a migration, through the
        // project loader.
        let mut overrides = BTreeMap::new();
        for (rel, t) in [
            ("manage.py", ""),
            ("proj/__init__.py", ""),
            ("proj/settings.py", text.as_str()),
            ("proj/urls.py", text.as_str()),
            ("blog/__init__.py", ""),
            ("blog/migrations/__init__.py", ""),
            ("blog/migrations/0001_initial.py", text.as_str()),
        ] {
            overrides.insert(rel.to_owned(), t.to_owned());
        }
        let opts = LoadOptions {
            root,
            overrides,
            settings: Some("proj.settings".to_owned()),
            analysis: AnalysisOptions {
                root_urlconf: Some("proj.urls".to_owned()),
                ..AnalysisOptions::default()
            },
            ..LoadOptions::default()
        };
        let _ = djcheck_project::load(&opts, &NoVisitor);
    });
}

/// The rules an SQL string reaches: the SQL family and the secret detectors.
fn sql_and_secret_rules() -> &'static [&'static dyn Rule] {
    static RULES: OnceLock<Vec<&'static dyn Rule>> = OnceLock::new();
    RULES.get_or_init(|| {
        djcheck_cli::registry::all_rules()
            .into_iter()
            .filter(|r| r.meta().code.starts_with("SQL") || r.meta().code.starts_with("SEC"))
            .collect()
    })
}

/// A Python string literal holding `s` exactly.
fn py_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A string → the SQL front end and the SQL and SEC rules, as the `sql` and `reverse_sql`
/// of one `RunSQL` in a three-line migration (so an input costs microseconds, not a
/// project load). The first byte picks the dialect.
pub fn sql_rules(data: &[u8]) {
    let (dialect, rest) = match data.split_first() {
        Some((b, rest)) => (
            match b % 3 {
                0 => SqlDialect::PostgreSql,
                1 => SqlDialect::MySql,
                _ => SqlDialect::Sqlite,
            },
            rest,
        ),
        None => (SqlDialect::PostgreSql, data),
    };
    let Ok(sql) = std::str::from_utf8(rest) else {
        return;
    };
    let lit = py_literal(sql);
    let src = format!(
        "from django.db import migrations\nclass Migration(migrations.Migration):\n    operations = [migrations.RunSQL({lit}, reverse_sql={lit})]\n"
    );
    // The module is three lines deep and sqlparser's recursion is capped: the caller's
    // stack is enough (a thread per input would cost more than the input).
    {
        let parsed = djcheck_python::parse_module(&src);
        if !parsed.errors.is_empty() {
            return;
        }
        let m = extract(
            FileId(0),
            "app",
            "0002_sql",
            parsed.body(),
            &ExtractContext {
                user_app_label: "auth",
            },
        );
        let options = FileOptions {
            sql_dialect: dialect,
            ..FileOptions::default()
        };
        let cx = FileContext::new(
            FileId(0),
            "app/migrations/0002_sql.py",
            &src,
            &parsed,
            FileRole::Migration,
            Some(&m),
            &options,
        );
        let mut out = Vec::new();
        for rule in sql_and_secret_rules() {
            rule.check_file(&cx, &mut out);
        }
        // What the runner does to every diagnostic: no message quotes a masked range.
        let masked: Vec<&str> = out
            .iter()
            .flat_map(|d| d.redact.iter())
            .filter_map(|s| src.get(usize::from(s.range.start())..usize::from(s.range.end())))
            .collect();
        djcheck_linter::scrub_messages(masked.into_iter(), &mut out);
        assert_no_secret_printed(&src, &out);
    }
}

/// No message, label, note or help shows a masked range's text whole.
fn assert_no_secret_printed(src: &str, diags: &[djcheck_linter::Diagnostic]) {
    let secrets: Vec<&str> = diags
        .iter()
        .flat_map(|d| d.redact.iter())
        .filter_map(|s| src.get(usize::from(s.range.start())..usize::from(s.range.end())))
        // Short masked ranges may be a common word; their redaction is tested elsewhere.
        .filter(|s| s.chars().count() >= 10)
        .collect();
    for d in diags {
        let texts = std::iter::once(&d.message)
            .chain(d.notes.iter())
            .chain(d.help.iter())
            .chain(std::iter::once(&d.primary_label))
            .chain(d.labels.iter().map(|l| &l.message));
        for t in texts {
            for s in &secrets {
                assert!(
                    !t.contains(s),
                    "{} prints a secret whole: {t:?} contains {s:?}",
                    d.code
                );
            }
        }
    }
}

/// Splits the input into the files of a small project: a migration, settings, a URLconf
/// and a second migration, separated by `0xFF` bytes (never valid UTF-8, so never
/// needed inside a file). The first byte picks the output format. Returns the exit code
/// and the output.
pub fn pipeline(data: &[u8]) -> (i32, String) {
    let (format, rest) = match data.split_first() {
        Some((b, rest)) => (
            ["text", "json", "sarif", "github", "gitlab"][usize::from(*b) % 5],
            rest,
        ),
        None => ("text", data),
    };
    let mut parts = rest.split(|b| *b == 0xFF);
    thread_local! {
        static ROOT: Scratch = scratch_root("pipeline");
    }
    let root = ROOT.with(|r| r.0.clone());
    let _ = std::fs::remove_dir_all(&root);
    let files: [(&str, &[u8]); 10] = [
        ("manage.py", b"import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"proj.settings\")\n"),
        ("proj/__init__.py", b""),
        ("blog/__init__.py", b""),
        ("blog/migrations/__init__.py", b""),
        ("blog/views.py", b"def index(request):\n    pass\n"),
        ("blog/migrations/0001_initial.py", b"from django.db import migrations\n\nclass Migration(migrations.Migration):\n    initial = True\n    operations = []\n"),
        ("blog/migrations/0002_fuzz.py", parts.next().unwrap_or_default()),
        ("proj/settings.py", parts.next().unwrap_or(b"INSTALLED_APPS = [\"blog\"]\nROOT_URLCONF = \"proj.urls\"\n")),
        ("proj/urls.py", parts.next().unwrap_or_default()),
        ("blog/migrations/0003_fuzz.py", parts.next().unwrap_or_default()),
    ];
    for (rel, bytes) in files {
        let p = root.join(rel);
        if let Some(dir) = p.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = std::fs::write(&p, bytes);
    }
    let (code, out, err) = djcheck_cli::run_captured(
        &[
            "check",
            ".",
            "--no-config",
            "--no-base",
            // Every rule, those off by default too: the fuzzer is after any crash.
            "--select",
            "ALL",
            "--threads",
            "1",
            "--format",
            format,
        ],
        &root,
        "",
    );
    assert!(
        !err.contains("internal error"),
        "internal error (exit {code}): {err}\n{out}"
    );
    assert!(code == 0 || code == 1, "exit {code}: {err}");
    (code, out)
}
