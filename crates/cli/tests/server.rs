//! `djcheck server`, the language server.
//!
//! - With a real LSP client: `tests/lsp/` drives the built binary with pytest-lsp
//!   (pygls's client, from PyPI, installed by `tests/lsp/setup_venv.sh` under
//!   `target/lsp`): a fixture project opened as the workspace folder, a migration edited
//!   to introduce and then fix a problem, diagnostics asserted each time, code actions
//!   requested and applied, hover, files changed outside the editor, the configuration
//!   reloaded, a file deleted, a syntax error, check-on-save only. `DJCHECK_SKIP_LSP=1`
//!   skips it (saying so); without it a failing setup (no PyPI) fails the test.
//! - By hand, byte for byte: malformed JSON-RPC, unknown methods, requests before
//!   `initialize`, and a clean `shutdown`/`exit`.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::disallowed_methods, clippy::print_stdout)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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

fn target_dir() -> PathBuf {
    binary().ancestors().nth(2).unwrap().to_owned()
}

#[test]
fn real_lsp_client() {
    if std::env::var("DJCHECK_SKIP_LSP").is_ok_and(|v| v == "1") {
        println!("real_lsp_client: skipped because DJCHECK_SKIP_LSP=1");
        return;
    }
    let _ = writeln!(
        std::io::stderr(),
        "real_lsp_client: driving `djcheck server` with pytest-lsp (installed into target/lsp the first time)"
    );
    let root = workspace_root();
    let setup = Command::new("bash")
        .arg(root.join("tests/lsp/setup_venv.sh"))
        .arg(target_dir().join("lsp"))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&setup.stdout);
    let python = stdout
        .split('\n')
        .find_map(|l| l.strip_prefix("python="))
        .unwrap_or_else(|| {
            panic!(
                "tests/lsp/setup_venv.sh failed (it needs PyPI for pytest-lsp): {}",
                String::from_utf8_lossy(&setup.stderr)
            )
        })
        .to_owned();
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(root.join("tests/lsp"))
        .env("DJCHECK_BIN", binary())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest-lsp failed:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(report.contains("4 passed"), "{report}");
}

/// Frames a message.
fn frame(body: &str) -> Vec<u8> {
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend_from_slice(body.as_bytes());
    out
}

/// Reads the next framed message (`None` at the end of the output).
fn read_message(r: &mut impl BufRead) -> Option<Value> {
    let mut len = None;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap() == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(v) = line.strip_prefix("Content-Length: ") {
            len = Some(v.parse::<usize>().unwrap());
        }
    }
    let mut body = vec![0u8; len.unwrap()];
    r.read_exact(&mut body).unwrap();
    Some(serde_json::from_slice(&body).unwrap())
}

/// Reads every framed message until the end of the output.
fn read_messages(out: impl Read) -> Vec<Value> {
    let mut r = BufReader::new(out);
    std::iter::from_fn(|| read_message(&mut r)).collect()
}

fn run_server(input: &[u8]) -> (i32, Vec<Value>, String) {
    // One folder per call (a random name: tests run in parallel), removed when `dir` drops.
    let dir = tempfile::Builder::new()
        .prefix("djcheck-lsp-raw-")
        .tempdir()
        .unwrap();
    let mut child = Command::new(binary())
        .arg("server")
        .current_dir(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let stdout = child.stdout.take().unwrap();
    let msgs = read_messages(stdout);
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        msgs,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn response(msgs: &[Value], id: Value) -> &Value {
    msgs.iter()
        .find(|m| m.get("id") == Some(&id) && m.get("method").is_none())
        .unwrap_or_else(|| panic!("no response to {id}: {msgs:?}"))
}

#[test]
fn malformed_messages_and_unknown_methods_never_end_the_server() {
    let mut input = Vec::new();
    // Before initialize: refused.
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":1,"method":"textDocument/hover","params":{}}"#,
    ));
    // Not JSON; JSON that is no message; a header without a length; an absurd length.
    input.extend(frame("{not json"));
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":99,"result_or_what":true,"method":7}"#,
    ));
    input.extend(b"X-Garbage\r\n\r\n");
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"capabilities":{}}}"#,
    ));
    input.extend(frame(
        r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#,
    ));
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":3,"method":"djcheck/unknown","params":{}}"#,
    ));
    input.extend(frame(
        r#"{"jsonrpc":"2.0","method":"djcheck/unknownNotification"}"#,
    ));
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":4,"method":"textDocument/hover","params":{"nonsense":1}}"#,
    ));
    // A document that is not a file, and one in a folder that does not exist.
    input.extend(frame(r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"untitled:1","languageId":"python","version":1,"text":"x"}}}"#));
    input.extend(frame(r#"{"jsonrpc":"2.0","method":"textDocument/didOpen","params":{"textDocument":{"uri":"file:///nonexistent/djcheck/m.py","languageId":"python","version":1,"text":"def f(:"}}}"#));
    input.extend(frame(r#"{"jsonrpc":"2.0","id":5,"method":"textDocument/hover","params":{"textDocument":{"uri":"file:///nonexistent/djcheck/m.py"},"position":{"line":0,"character":3}}}"#));
    input.extend(frame(r#"{"jsonrpc":"2.0","id":6,"method":"shutdown"}"#));
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":7,"method":"textDocument/hover","params":{}}"#,
    ));
    input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
    let (code, msgs, stderr) = run_server(&input);
    assert_eq!(code, 0, "exit after shutdown is clean: {stderr}");
    assert_eq!(response(&msgs, json!(1))["error"]["code"], json!(-32002));
    let parse_error = msgs
        .iter()
        .find(|m| m["error"]["code"] == json!(-32700))
        .unwrap_or_else(|| panic!("{msgs:?}"));
    assert_eq!(parse_error["id"], Value::Null);
    assert_eq!(response(&msgs, json!(99))["error"]["code"], json!(-32600));
    let init = response(&msgs, json!(2));
    assert_eq!(init["result"]["serverInfo"]["name"], "djcheck");
    let caps = &init["result"]["capabilities"];
    assert_eq!(caps["hoverProvider"], true);
    assert_eq!(
        caps["codeActionProvider"]["codeActionKinds"],
        json!(["quickfix"])
    );
    assert_eq!(caps["textDocumentSync"]["openClose"], true);
    assert_eq!(response(&msgs, json!(3))["error"]["code"], json!(-32601));
    assert_eq!(response(&msgs, json!(4))["error"]["code"], json!(-32602));
    // The folder does not exist: the document is reported unreadable, and hover on it
    // explains the rule.
    let hover = response(&msgs, json!(5))["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_else(|| panic!("{msgs:?} {stderr}"));
    assert!(
        hover.starts_with("### PARSE002 (unreadable-file)"),
        "{hover}"
    );
    assert_eq!(response(&msgs, json!(6))["result"], Value::Null);
    assert_eq!(response(&msgs, json!(7))["error"]["code"], json!(-32600));
    assert!(stderr.contains("skipped"), "{stderr}");
}

#[test]
fn exit_without_shutdown_and_end_of_input() {
    let mut input = Vec::new();
    input.extend(frame(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
    ));
    input.extend(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#));
    let (code, _, _) = run_server(&input);
    assert_eq!(code, 1, "exit without shutdown");
    let (code, msgs, _) = run_server(&frame(
        r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#,
    ));
    assert_eq!(code, 1, "end of input without exit");
    assert_eq!(msgs.len(), 1);
}

/// A server session driven message by message: each answer is awaited before the next
/// message goes.
struct Session {
    child: std::process::Child,
    stdin: std::process::ChildStdin,
    rx: std::sync::mpsc::Receiver<Value>,
}

impl Session {
    fn start(cwd: &Path) -> Session {
        let mut child = Command::new(binary())
            .arg("server")
            .current_dir(cwd)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            while let Some(m) = read_message(&mut r) {
                if tx.send(m).is_err() {
                    return;
                }
            }
        });
        Session { child, stdin, rx }
    }

    fn send(&mut self, v: &Value) {
        self.stdin.write_all(&frame(&v.to_string())).unwrap();
        self.stdin.flush().unwrap();
    }

    /// The next message for which `pred` holds (others are dropped).
    fn wait(&self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) if pred(&m) => return m,
                Ok(_) => {}
                Err(_) => panic!("no {what}"),
            }
        }
    }

    /// Ends the session cleanly; returns the server's log.
    fn finish(mut self) -> String {
        self.send(&json!({"jsonrpc": "2.0", "id": 900, "method": "shutdown"}));
        self.wait("shutdown answer", |m| m["id"] == json!(900));
        self.send(&json!({"jsonrpc": "2.0", "method": "exit"}));
        drop(self.stdin);
        let out = self.child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}

#[test]
fn opening_and_closing_an_unchanged_file_costs_no_check() {
    let dir = tempfile::Builder::new()
        .prefix("djcheck-lsp-open-")
        .tempdir()
        .unwrap();
    let project = dir.path().join("project");
    for rel in [
        "manage.py",
        "djcheck.toml",
        "proj/__init__.py",
        "proj/settings.py",
        "blog/__init__.py",
        "blog/migrations/__init__.py",
        "blog/migrations/0001_initial.py",
    ] {
        let to = project.join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(workspace_root().join("tests/lsp/project").join(rel), &to).unwrap();
    }
    let bad = "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"blog\", \"0001_initial\")]\n\n    operations = [\n        migrations.RunSQL(\"CREATE TABLE t (id int)\", reverse_sql=\"DROP TABLE IF EXISTS t\"),\n    ]\n";
    let mig = project.join("blog/migrations/0002_t.py");
    std::fs::write(&mig, bad).unwrap();
    let project = project.canonicalize().unwrap();
    let uri = format!(
        "file://{}",
        project.join("blog/migrations/0002_t.py").display()
    );
    let codes = |m: &Value| -> Vec<String> {
        m["params"]["diagnostics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| d["code"].as_str().unwrap().to_owned())
            .collect()
    };
    let published = |version: Option<i64>| {
        let uri = uri.clone();
        move |m: &Value| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == json!(uri)
                && version.is_none_or(|v| m["params"]["version"] == json!(v))
        }
    };

    let mut s = Session::start(dir.path());
    s.send(
        &json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "capabilities": {},
        "workspaceFolders": [{"uri": format!("file://{}", project.display()), "name": "p"}],
        "initializationOptions": {"run": "onChange", "debounceMs": 0}}}),
    );
    s.wait("initialize answer", |m| m["id"] == json!(1));
    s.send(&json!({"jsonrpc": "2.0", "method": "initialized", "params": {}}));
    let first = s.wait("the workspace check", published(None));
    assert_eq!(codes(&first), ["SQL001"], "{first}");

    // Open, close, open again: answered from the last check.
    let open = |version: i64| {
        json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
            "uri": uri, "languageId": "python", "version": version, "text": bad}}})
    };
    s.send(&open(1));
    let m = s.wait("diagnostics on open", published(Some(1)));
    assert_eq!(codes(&m), ["SQL001"], "{m}");
    assert_eq!(m["params"]["diagnostics"], first["params"]["diagnostics"]);
    s.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {
        "textDocument": {"uri": uri}}}),
    );
    s.send(&open(2));
    let m = s.wait("diagnostics on the second open", published(Some(2)));
    assert_eq!(codes(&m), ["SQL001"], "{m}");

    // An edit is checked.
    let fixed = bad.replace("CREATE TABLE t", "CREATE TABLE IF NOT EXISTS t");
    s.send(
        &json!({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
        "textDocument": {"uri": uri, "version": 3}, "contentChanges": [{"text": fixed}]}}),
    );
    let m = s.wait("diagnostics after the edit", published(Some(3)));
    assert!(codes(&m).is_empty(), "{m}");
    let log = s.finish();
    let checks = log.lines().filter(|l| l.contains(": checked ")).count();
    assert_eq!(checks, 2, "the workspace check and the edit's only:\n{log}");
}
