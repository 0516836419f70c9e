//! `djcheck server`: the Language Server Protocol over standard input and output.
//!
//! What it is: a server loop ([`serve`]) that keeps the editor's open buffers, checks the
//! project holding them (the buffers replace the files on disk, as `--stdin-filename`
//! does), publishes every file's diagnostics (code, link to the rule's documentation,
//! severity, related places), offers each finding's fix and an "ignore CODE on this line"
//! edit as code actions, and shows a rule's documentation on hover. When it checks is the
//! client's choice (`run`: `onChange` with a debounce, the default, or `onSave`); files
//! changed outside the editor (`workspace/didChangeWatchedFiles`) and configuration files
//! trigger a check too. The configuration is read again for every check, so an edited
//! `pyproject.toml` applies at once.
//!
//! What it must never depend on: the CLI (which gives it a [`Host`]: how to find a
//! project root, read its configuration, and the rules' documentation).
//!
//! Architecture invariants: nothing the client sends ends the server but `exit` or the
//! end of input: malformed JSON-RPC is answered with an error, unknown methods with
//! `MethodNotFound`, a panic while handling a message with an internal error; it logs to
//! standard error only.

// The server's log is its standard error, which editors show as the server's output.
#![allow(clippy::print_stderr)]

mod convert;
pub mod transport;

use convert::Encoding;
use djcheck_diagnostics::Diagnostic;
use djcheck_linter::{RunOptions, RunResult};
use djcheck_python::LineIndex;
use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types as lsp;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};
use transport::Incoming;

/// Whether `per-file-ignores` silences a code (second) in a project-relative file (first).
pub type Ignored = Box<dyn Fn(&str, &str) -> bool>;

/// How to check a project, as its configuration says.
pub struct Configured {
    pub opts: RunOptions,
    pub ignored: Ignored,
}

/// What the server needs from the command line crate.
pub trait Host {
    /// The project root holding a file or folder.
    fn root_of(&self, path: &Path) -> PathBuf;
    /// How to check the project at `root`, from its configuration files (read again on
    /// each call).
    fn configure(&self, root: &Path) -> Result<Configured, String>;
    /// A rule's name and documentation, by code.
    fn rule_doc(&self, code: &str) -> Option<(&'static str, String)>;
}

/// An open document.
struct Doc {
    text: String,
    version: i32,
    root: PathBuf,
    rel: String,
}

/// The last check of a project.
struct Checked {
    result: RunResult,
    /// The diagnostics reported (per-file-ignores applied), sorted.
    reported: Vec<Diagnostic>,
}

#[derive(Default)]
struct ProjectState {
    last: Option<Checked>,
    /// URIs whose last published diagnostics were not empty.
    published: BTreeSet<lsp::Url>,
    /// When a check is due (a debounced change).
    due: Option<Instant>,
    /// The per-file cache, opened once and kept (with its key: other options reopen it):
    /// an edit parses the edited file again, every other file hits.
    cache: Option<(String, djcheck_project::cache::FileCache)>,
    /// What the last check was made with (its options, and the open buffers), and
    /// whether anything else may have changed since (`stale`): when not, and the buffers
    /// that changed are migrations, the next check re-reads only those
    /// ([`djcheck_linter::recheck`]).
    options: String,
    buffers: BTreeMap<String, String>,
    stale: bool,
    /// For a client that does not report changes to files: what the last whole check
    /// read from disk, compared before the next check to tell whether `stale` can be
    /// trusted ([`djcheck_project::runcache::DiskState`]).
    disk: Option<djcheck_project::runcache::DiskState>,
}

/// What a check's result depends on besides the files: its options (not the open
/// buffers, compared one by one, nor the base revision, read again by every check).
fn options_key(opts: &djcheck_linter::RunOptions) -> String {
    let load = djcheck_project::LoadOptions {
        overrides: BTreeMap::new(),
        base: djcheck_project::git::Base::default(),
        ..opts.load.clone()
    };
    let codes = |rules: &[&'static dyn djcheck_linter::Rule]| -> Vec<&'static str> {
        rules.iter().map(|r| r.meta().code).collect()
    };
    format!(
        "{load:?}\0{:?}\0{:?}\0{:?}\0{:?}\0{:?}",
        codes(&opts.rules),
        codes(&opts.maskers),
        opts.severity,
        opts.known_codes,
        opts.threads
    )
}

/// The paths whose buffer changed, opened or closed between two checks.
fn changed_buffers(
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut out: Vec<String> = now
        .iter()
        .filter(|(rel, text)| before.get(*rel) != Some(*text))
        .map(|(rel, _)| rel.clone())
        .collect();
    out.extend(before.keys().filter(|rel| !now.contains_key(*rel)).cloned());
    out.sort();
    out
}

/// When to check.
#[derive(Debug, Clone, Copy)]
struct Settings {
    on_change: bool,
    debounce: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            on_change: true,
            debounce: Duration::from_millis(300),
        }
    }
}

impl Settings {
    /// Reads `{"run": "onChange"|"onSave", "debounceMs": N}`, at the top level or under
    /// a `djcheck` key (as editors pass their settings).
    fn update(&mut self, v: &Value) {
        let v = v.get("djcheck").unwrap_or(v);
        match v.get("run").and_then(Value::as_str) {
            Some("onSave") => self.on_change = false,
            Some("onChange" | "onType") => self.on_change = true,
            _ => {}
        }
        if let Some(ms) = v.get("debounceMs").and_then(Value::as_u64) {
            self.debounce = Duration::from_millis(ms.min(60_000));
        }
    }
}

/// The server's state.
pub struct Server<'h> {
    host: &'h dyn Host,
    out: Box<dyn Write + 'h>,
    docs: BTreeMap<lsp::Url, Doc>,
    projects: BTreeMap<PathBuf, ProjectState>,
    settings: Settings,
    enc: Encoding,
    initialized: bool,
    shutdown: bool,
    can_create_files: bool,
    watch_dynamically: bool,
    folders: Vec<PathBuf>,
}

/// Serves on standard input and output until `exit` (or the end of input). Returns the
/// process exit code: 0 after `shutdown` then `exit`, 1 otherwise.
pub fn serve(host: &dyn Host) -> i32 {
    let (tx, rx) = std::sync::mpsc::channel();
    if let Err(e) = transport::spawn_stdin_reader(tx) {
        eprintln!("djcheck server: cannot start: {e}");
        return 1;
    }
    let stdout = std::io::stdout();
    Server::new(host, Box::new(stdout)).run(&rx)
}

fn log(msg: &str) {
    eprintln!("djcheck server: {msg}");
}

fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (p.parent().map(Path::canonicalize), p.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => p.to_owned(),
    }
}

fn rel_path(root: &Path, path: &Path) -> Option<String> {
    let rel = path.strip_prefix(root).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    Some(parts.join("/"))
}

fn params<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, String> {
    serde_json::from_value(v).map_err(|e| format!("invalid params: {e}"))
}

impl<'h> Server<'h> {
    pub fn new(host: &'h dyn Host, out: Box<dyn Write + 'h>) -> Self {
        Server {
            host,
            out,
            docs: BTreeMap::new(),
            projects: BTreeMap::new(),
            settings: Settings::default(),
            enc: Encoding::Utf16,
            initialized: false,
            shutdown: false,
            can_create_files: false,
            watch_dynamically: false,
            folders: Vec::new(),
        }
    }

    /// The loop: messages, and checks when they are due.
    pub fn run(mut self, rx: &Receiver<Incoming>) -> i32 {
        loop {
            let now = Instant::now();
            let next = self.projects.values().filter_map(|p| p.due).min();
            let incoming = match next {
                Some(t) => rx.recv_timeout(t.saturating_duration_since(now)),
                None => rx.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match incoming {
                Ok(Incoming::Message(m)) => {
                    let r =
                        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.handle(m)));
                    match r {
                        Ok(Some(code)) => return code,
                        Ok(None) => {}
                        Err(p) => {
                            let msg = p
                                .downcast_ref::<&str>()
                                .map(|s| (*s).to_owned())
                                .or_else(|| p.downcast_ref::<String>().cloned())
                                .unwrap_or_default();
                            log(&format!("internal error: {msg}"));
                        }
                    }
                }
                Ok(Incoming::ParseError(e)) => {
                    log(&format!("message is not JSON: {e}"));
                    self.send_raw(&json!({"jsonrpc": "2.0", "id": null, "error": {"code": ErrorCode::ParseError as i32, "message": format!("parse error: {e}")}}));
                }
                Ok(Incoming::Invalid { id, error }) => {
                    log(&format!("invalid message: {error}"));
                    let id = match id {
                        Some(v @ (Value::Number(_) | Value::String(_))) => v,
                        _ => Value::Null,
                    };
                    self.send_raw(&json!({"jsonrpc": "2.0", "id": id, "error": {"code": ErrorCode::InvalidRequest as i32, "message": format!("invalid request: {error}")}}));
                }
                Ok(Incoming::Skipped(what)) => log(&format!("skipped {what}")),
                Ok(Incoming::Closed) | Err(RecvTimeoutError::Disconnected) => {
                    return if self.shutdown { 0 } else { 1 };
                }
                Err(RecvTimeoutError::Timeout) => {}
            }
            self.run_due();
        }
    }

    fn send(&mut self, m: Message) {
        let r = m.write(&mut self.out).and_then(|()| self.out.flush());
        if let Err(e) = r {
            log(&format!("cannot write to the client: {e}"));
        }
    }

    fn send_raw(&mut self, v: &Value) {
        let r = self
            .out
            .write_all(&transport::frame(v))
            .and_then(|()| self.out.flush());
        if let Err(e) = r {
            log(&format!("cannot write to the client: {e}"));
        }
    }

    fn respond(&mut self, id: RequestId, result: Result<Value, (ErrorCode, String)>) {
        let resp = match result {
            Ok(v) => Response::new_ok(id, v),
            Err((code, msg)) => Response::new_err(id, code as i32, msg),
        };
        self.send(Message::Response(resp));
    }

    fn notify(&mut self, method: &str, params: impl serde::Serialize) {
        self.send(Message::Notification(Notification::new(
            method.to_owned(),
            params,
        )));
    }

    /// Handles one message; `Some(code)` when the server must exit.
    fn handle(&mut self, m: Message) -> Option<i32> {
        match m {
            Message::Request(r) => {
                self.request(r);
                None
            }
            Message::Notification(n) => self.notification(n),
            Message::Response(r) => {
                if let Some(e) = r.error {
                    log(&format!(
                        "the client answered {:?} with an error: {}",
                        r.id, e.message
                    ));
                }
                None
            }
        }
    }

    fn request(&mut self, r: Request) {
        let id = r.id.clone();
        if !self.initialized && r.method != "initialize" {
            return self.respond(
                id,
                Err((
                    ErrorCode::ServerNotInitialized,
                    "not initialized".to_owned(),
                )),
            );
        }
        if self.shutdown {
            return self.respond(
                id,
                Err((
                    ErrorCode::InvalidRequest,
                    "shutdown was requested".to_owned(),
                )),
            );
        }
        let result = match r.method.as_str() {
            "initialize" => self.initialize(r.params),
            "shutdown" => {
                self.shutdown = true;
                Ok(Value::Null)
            }
            "textDocument/codeAction" => params(r.params)
                .map(|p| self.code_actions(&p))
                .map_err(|e| (ErrorCode::InvalidParams, e)),
            "textDocument/hover" => params(r.params)
                .map(|p| self.hover(&p))
                .map_err(|e| (ErrorCode::InvalidParams, e)),
            m => {
                log(&format!("unknown request `{m}`"));
                Err((ErrorCode::MethodNotFound, format!("unknown method `{m}`")))
            }
        };
        self.respond(id, result);
    }

    fn initialize(&mut self, p: Value) -> Result<Value, (ErrorCode, String)> {
        let p: lsp::InitializeParams = params(p).map_err(|e| (ErrorCode::InvalidParams, e))?;
        let offered = p
            .capabilities
            .general
            .as_ref()
            .and_then(|g| g.position_encodings.clone())
            .unwrap_or_default();
        self.enc = offered
            .iter()
            .find_map(|k| match k.as_str() {
                "utf-8" => Some(Encoding::Utf8),
                "utf-16" => Some(Encoding::Utf16),
                "utf-32" => Some(Encoding::Utf32),
                _ => None,
            })
            .unwrap_or(Encoding::Utf16);
        let ws = p.capabilities.workspace.as_ref();
        self.can_create_files = ws
            .and_then(|w| w.workspace_edit.as_ref())
            .and_then(|e| e.resource_operations.as_ref())
            .is_some_and(|ops| ops.contains(&lsp::ResourceOperationKind::Create));
        self.watch_dynamically = ws
            .and_then(|w| w.did_change_watched_files.as_ref())
            .and_then(|d| d.dynamic_registration)
            .unwrap_or(false);
        if let Some(o) = &p.initialization_options {
            self.settings.update(o);
        }
        let mut folders: Vec<PathBuf> = p
            .workspace_folders
            .iter()
            .flatten()
            .filter_map(|f| f.uri.to_file_path().ok())
            .collect();
        #[allow(deprecated)]
        if folders.is_empty() {
            folders.extend(p.root_uri.as_ref().and_then(|u| u.to_file_path().ok()));
        }
        self.folders = folders.iter().map(|f| canonical(f)).collect();
        self.initialized = true;
        let enc = match self.enc {
            Encoding::Utf8 => lsp::PositionEncodingKind::UTF8,
            Encoding::Utf16 => lsp::PositionEncodingKind::UTF16,
            Encoding::Utf32 => lsp::PositionEncodingKind::UTF32,
        };
        let caps = lsp::ServerCapabilities {
            position_encoding: Some(enc),
            text_document_sync: Some(lsp::TextDocumentSyncCapability::Options(
                lsp::TextDocumentSyncOptions {
                    open_close: Some(true),
                    change: Some(lsp::TextDocumentSyncKind::FULL),
                    save: Some(lsp::TextDocumentSyncSaveOptions::SaveOptions(
                        lsp::SaveOptions {
                            include_text: Some(false),
                        },
                    )),
                    ..Default::default()
                },
            )),
            code_action_provider: Some(lsp::CodeActionProviderCapability::Options(
                lsp::CodeActionOptions {
                    code_action_kinds: Some(vec![lsp::CodeActionKind::QUICKFIX]),
                    ..Default::default()
                },
            )),
            hover_provider: Some(lsp::HoverProviderCapability::Simple(true)),
            workspace: Some(lsp::WorkspaceServerCapabilities {
                workspace_folders: Some(lsp::WorkspaceFoldersServerCapabilities {
                    supported: Some(true),
                    change_notifications: Some(lsp::OneOf::Left(true)),
                }),
                file_operations: None,
            }),
            ..Default::default()
        };
        serde_json::to_value(lsp::InitializeResult {
            capabilities: caps,
            server_info: Some(lsp::ServerInfo {
                name: "djcheck".to_owned(),
                version: Some(env!("CARGO_PKG_VERSION").to_owned()),
            }),
        })
        .map_err(|e| (ErrorCode::InternalError, e.to_string()))
    }

    fn notification(&mut self, n: Notification) -> Option<i32> {
        if n.method == "exit" {
            return Some(if self.shutdown { 0 } else { 1 });
        }
        if !self.initialized {
            return None;
        }
        let r = match n.method.as_str() {
            "initialized" => {
                self.initialized_notification();
                Ok(())
            }
            "textDocument/didOpen" => params(n.params).map(|p| self.did_open(p)),
            "textDocument/didChange" => params(n.params).map(|p| self.did_change(p)),
            "textDocument/didSave" => params(n.params).map(|p| self.did_save(&p)),
            "textDocument/didClose" => params(n.params).map(|p| self.did_close(&p)),
            "workspace/didChangeWatchedFiles" => params(n.params).map(|p| self.watched(&p)),
            "workspace/didChangeConfiguration" => {
                params(n.params).map(|p: lsp::DidChangeConfigurationParams| {
                    self.settings.update(&p.settings);
                    let roots: Vec<PathBuf> = self.projects.keys().cloned().collect();
                    for r in roots {
                        self.schedule(&r, Duration::ZERO);
                    }
                })
            }
            "workspace/didChangeWorkspaceFolders" => {
                params(n.params).map(|p| self.folders_changed(&p))
            }
            m if m.starts_with("$/") => Ok(()),
            m => {
                log(&format!("unknown notification `{m}`"));
                Ok(())
            }
        };
        if let Err(e) = r {
            log(&format!("{}: {e}", n.method));
        }
        None
    }

    fn initialized_notification(&mut self) {
        if self.watch_dynamically {
            let watchers: Vec<lsp::FileSystemWatcher> = [
                "**/*.py",
                "**/templates/**",
                "**/pyproject.toml",
                "**/djcheck.toml",
                "**/.djcheck.toml",
            ]
            .iter()
            .map(|g| lsp::FileSystemWatcher {
                glob_pattern: lsp::GlobPattern::String((*g).to_owned()),
                kind: None,
            })
            .collect();
            let reg = lsp::RegistrationParams {
                registrations: vec![lsp::Registration {
                    id: "djcheck-watch".to_owned(),
                    method: "workspace/didChangeWatchedFiles".to_owned(),
                    register_options: serde_json::to_value(
                        lsp::DidChangeWatchedFilesRegistrationOptions { watchers },
                    )
                    .ok(),
                }],
            };
            self.send(Message::Request(Request::new(
                RequestId::from("djcheck-register-watch".to_owned()),
                "client/registerCapability".to_owned(),
                reg,
            )));
        }
        // The projects of the workspace folders are checked at once: their findings show
        // before any file is opened.
        let folders = self.folders.clone();
        for f in folders {
            let root = canonical(&self.host.root_of(&f));
            self.schedule(&root, Duration::ZERO);
        }
    }

    fn folders_changed(&mut self, p: &lsp::DidChangeWorkspaceFoldersParams) {
        for f in &p.event.removed {
            if let Ok(path) = f.uri.to_file_path() {
                let path = canonical(&path);
                self.folders.retain(|x| x != &path);
                let root = canonical(&self.host.root_of(&path));
                if let Some(state) = self.projects.remove(&root) {
                    for uri in state.published {
                        self.publish(uri, Vec::new(), None);
                    }
                }
            }
        }
        for f in &p.event.added {
            if let Ok(path) = f.uri.to_file_path() {
                let path = canonical(&path);
                let root = canonical(&self.host.root_of(&path));
                self.folders.push(path);
                self.schedule(&root, Duration::ZERO);
            }
        }
    }

    /// Something besides the open buffers may have changed: the next check reads the
    /// whole project.
    fn mark_stale(&mut self, root: &Path) {
        self.projects.entry(root.to_owned()).or_default().stale = true;
    }

    fn schedule(&mut self, root: &Path, after: Duration) {
        let at = Instant::now() + after;
        let st = self.projects.entry(root.to_owned()).or_default();
        st.due = Some(match st.due {
            // An earlier deadline stays (a save after a change checks at once).
            Some(d) if d <= at => d,
            _ => at,
        });
    }

    fn locate(&self, uri: &lsp::Url) -> Option<(PathBuf, String)> {
        let path = canonical(&uri.to_file_path().ok()?);
        let root = canonical(&self.host.root_of(&path));
        let rel = rel_path(&root, &path)?;
        Some((root, rel))
    }

    fn did_open(&mut self, p: lsp::DidOpenTextDocumentParams) {
        let uri = p.text_document.uri.clone();
        let Some((root, rel)) = self.locate(&p.text_document.uri) else {
            log(&format!("not a file: {}", p.text_document.uri));
            return;
        };
        self.docs.insert(
            p.text_document.uri,
            Doc {
                text: p.text_document.text,
                version: p.text_document.version,
                root: root.clone(),
                rel,
            },
        );
        if !self.publish_unchanged(&uri) {
            self.schedule(&root, Duration::ZERO);
        }
    }

    /// Publishes an opened document's diagnostics from its project's last check when
    /// that check read the very text opened and no other check is due: opening a file
    /// changes nothing, so it costs no check. Returns whether it did.
    fn publish_unchanged(&mut self, uri: &lsp::Url) -> bool {
        let Some(doc) = self.docs.get(uri) else {
            return false;
        };
        let Some(state) = self.projects.get(&doc.root) else {
            return false;
        };
        let Some(last) = state.last.as_ref().filter(|_| state.due.is_none()) else {
            return false;
        };
        let db = &last.result.project.db;
        let Some(fid) = db.find(&doc.rel).filter(|f| db.file(*f).text == doc.text) else {
            return false;
        };
        let root = doc.root.clone();
        let open: BTreeMap<String, lsp::Url> = self
            .docs
            .iter()
            .filter(|(_, d)| d.root == root)
            .map(|(u, d)| (d.rel.clone(), u.clone()))
            .collect();
        let url = |rel: &str| -> Option<lsp::Url> {
            open.get(rel)
                .cloned()
                .or_else(|| convert::file_url(&root, rel))
        };
        let diags: Vec<lsp::Diagnostic> = last
            .reported
            .iter()
            .filter(|d| d.primary.is_some_and(|p| p.file == fid))
            .filter_map(|d| convert::diagnostic(db, d, self.enc, &url))
            .collect();
        let version = doc.version;
        let state = self.projects.entry(root).or_default();
        if diags.is_empty() {
            state.published.remove(uri);
        } else {
            state.published.insert(uri.clone());
        }
        self.publish(uri.clone(), diags, Some(version));
        true
    }

    fn did_change(&mut self, p: lsp::DidChangeTextDocumentParams) {
        let on_change = self.settings.on_change;
        let debounce = self.settings.debounce;
        let Some(doc) = self.docs.get_mut(&p.text_document.uri) else {
            return;
        };
        for c in p.content_changes {
            match c.range {
                None => doc.text = c.text,
                Some(r) => {
                    // Incremental changes (not asked for, but harmless to accept).
                    let index = LineIndex::new(&doc.text);
                    let a = convert::offset(&doc.text, &index, self.enc, r.start);
                    let b = convert::offset(&doc.text, &index, self.enc, r.end);
                    if a <= b {
                        doc.text.replace_range(a..b, &c.text);
                    }
                }
            }
        }
        doc.version = p.text_document.version;
        let root = doc.root.clone();
        if on_change {
            self.schedule(&root, debounce);
        }
    }

    fn did_save(&mut self, p: &lsp::DidSaveTextDocumentParams) {
        if let Some(doc) = self.docs.get_mut(&p.text_document.uri) {
            if let Some(t) = &p.text {
                doc.text = t.clone();
            }
            let root = doc.root.clone();
            self.schedule(&root, Duration::ZERO);
        } else if let Some((root, _)) = self.locate(&p.text_document.uri) {
            // A file written that is not open here.
            self.mark_stale(&root);
            self.schedule(&root, Duration::ZERO);
        }
    }

    fn did_close(&mut self, p: &lsp::DidCloseTextDocumentParams) {
        if let Some(doc) = self.docs.remove(&p.text_document.uri) {
            // The file on disk counts again: a check is due unless it holds what the
            // buffer held (closing an unchanged file changes nothing).
            let path = doc.root.join(&doc.rel);
            let now = djcheck_project::fs::read_text(&path, &djcheck_python::Limits::default());
            if now.ok().as_deref() != Some(doc.text.as_str()) {
                self.schedule(&doc.root, Duration::ZERO);
            }
        }
    }

    fn watched(&mut self, p: &lsp::DidChangeWatchedFilesParams) {
        let mut roots = BTreeSet::new();
        for c in &p.changes {
            let Ok(path) = c.uri.to_file_path() else {
                continue;
            };
            let path = canonical(&path);
            // An open document saved: its buffer is what the checks read, and the file
            // now holds it. Nothing changed for them.
            let saved_buffer = c.typ == lsp::FileChangeType::CHANGED
                && self.docs.values().any(|d| {
                    d.root.join(&d.rel) == path
                        && djcheck_project::fs::read_text(&path, &djcheck_python::Limits::default())
                            .is_ok_and(|t| t == d.text)
                });
            if saved_buffer {
                continue;
            }
            // Every project that holds the file, and the project around it.
            for root in self.projects.keys() {
                if path.starts_with(root) {
                    roots.insert(root.clone());
                }
            }
            roots.insert(canonical(&self.host.root_of(&path)));
        }
        for r in roots {
            if self.projects.contains_key(&r) || self.docs.values().any(|d| d.root == r) {
                self.mark_stale(&r);
                // Changes come in bursts (a checkout, a formatter): coalesce them.
                self.schedule(&r, Duration::from_millis(50));
            }
        }
    }

    fn run_due(&mut self) {
        let now = Instant::now();
        let due: Vec<PathBuf> = self
            .projects
            .iter()
            .filter(|(_, s)| s.due.is_some_and(|d| d <= now))
            .map(|(r, _)| r.clone())
            .collect();
        for root in due {
            self.check(&root);
        }
    }

    /// Checks a project now and publishes its diagnostics.
    fn check(&mut self, root: &Path) {
        let started = Instant::now();
        let started_ns = djcheck_project::runcache::now_ns();
        let state = self.projects.entry(root.to_owned()).or_default();
        state.due = None;
        let previous = state.last.take();
        let configure = djcheck_project::timings::phase("server: configure");
        let configured = match self.host.configure(root) {
            Ok(c) => c,
            Err(e) => {
                log(&format!("{}: {e}", root.display()));
                self.notify(
                    "window/showMessage",
                    lsp::ShowMessageParams {
                        typ: lsp::MessageType::ERROR,
                        message: format!("djcheck: {e}"),
                    },
                );
                return;
            }
        };
        let mut opts = configured.opts;
        opts.load.overrides.extend(
            self.docs
                .values()
                .filter(|d| d.root == root && d.rel.ends_with(".py"))
                .map(|d| (d.rel.clone(), d.text.clone())),
        );
        let state = self.projects.entry(root.to_owned()).or_default();
        let options = options_key(&opts);
        drop(configure);
        // Only buffers changed since the last check, with the same options: the buffers
        // that changed are read again, and what depends on them (when they are
        // migrations; else the whole project is read).
        // A client that reports changes to files says when something else changed
        // (`stale`); for one that does not, what the last whole check read is looked at
        // again (stamps of its files, the tree's listing).
        let unchanged_on_disk =
            || self.watch_dynamically || state.disk.as_ref().is_some_and(|d| d.holds(&opts.load));
        let changed: Option<Vec<String>> =
            (!state.stale && state.options == options && unchanged_on_disk())
                .then(|| changed_buffers(&state.buffers, &opts.load.overrides));
        state.stale = true;
        state.options = options;
        state.buffers = opts.load.overrides.clone();
        let previous = match (changed, previous) {
            (Some(changed), Some(prev)) => {
                let t = Instant::now();
                let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    djcheck_linter::recheck(&opts, prev.result, &changed)
                }));
                match run {
                    Ok(Ok(result)) => {
                        log(&format!(
                            "re-read {} changed migration(s) in {} ms",
                            changed.len(),
                            t.elapsed().as_millis()
                        ));
                        // A buffer closed since was read from disk, which the state
                        // does not hold: the next check reads everything.
                        if changed.iter().any(|c| !opts.load.overrides.contains_key(c)) {
                            if let Some(s) = self.projects.get_mut(root) {
                                s.disk = None;
                            }
                        }
                        return self.publish_result(root, result, &configured.ignored, started);
                    }
                    Ok(Err(project)) => Some(project),
                    Err(_) => None,
                }
            }
            (_, prev) => prev.map(|p| Box::new(p.result.project)),
        };
        // The previous result is freed before the new one is built, on a thread of its own
        // (freeing a large project takes tens of milliseconds the new check need not
        // wait for): the two are hardly ever held together whole, and peak memory stays
        // near the command line's.
        if let Some(old) = previous {
            let freed = std::thread::Builder::new()
                .name("djcheck-free".into())
                .spawn(move || drop(old));
            // No thread to be had: the value came back with the error and is dropped
            // here.
            drop(freed);
        }
        let state = self.projects.entry(root.to_owned()).or_default();
        let key = opts
            .load
            .cache
            .as_ref()
            .map(|_| djcheck_project::cache_key(&opts.load));
        if state.cache.as_ref().map(|(k, _)| k) != key.as_ref() {
            state.cache = None;
            state.cache = key.and_then(|k| {
                djcheck_project::open_cache(&opts.load).map(|c| (k, c.keeping_decoded()))
            });
        }
        let cache = state.cache.as_ref().map(|(_, c)| c);
        let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cache {
            Some(c) => djcheck_linter::run_with_cache(&opts, c),
            None => djcheck_linter::run(&opts),
        }));
        if run.is_err() {
            // A check that failed half-way leaves nothing in the cache to distrust (entries
            // are stored whole), but start afresh all the same.
            if let Some(s) = self.projects.get_mut(root) {
                s.cache = None;
            }
        }
        let result = match run {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                log(&format!("{}: {e}", root.display()));
                return;
            }
            Err(_) => {
                log(&format!(
                    "{}: internal error while checking",
                    root.display()
                ));
                return;
            }
        };
        // What it read, to be compared before the next check (a client that reports
        // changes to files needs none of it).
        let disk = (!self.watch_dynamically).then(|| {
            djcheck_project::runcache::DiskState::capture(&opts.load, &result.project, started_ns)
        });
        if let Some(s) = self.projects.get_mut(root) {
            s.disk = disk;
        }
        self.publish_result(root, result, &configured.ignored, started);
    }

    /// Publishes a check's diagnostics and keeps it as the project's last.
    fn publish_result(
        &mut self,
        root: &Path,
        result: RunResult,
        ignored: &dyn Fn(&str, &str) -> bool,
        started: Instant,
    ) {
        let _t = djcheck_project::timings::phase("server: publish");
        for e in &result.internal_errors {
            log(&format!("internal error: {e}"));
        }
        let db = &result.project.db;
        let reported: Vec<Diagnostic> = result
            .diagnostics
            .iter()
            .filter(|d| {
                d.primary
                    .is_none_or(|p| !ignored(&db.file(p.file).path, d.code))
            })
            .cloned()
            .collect();
        // Group by file, in the client's URIs for open documents.
        let open: BTreeMap<String, (lsp::Url, i32)> = self
            .docs
            .iter()
            .filter(|(_, d)| d.root == root)
            .map(|(u, d)| (d.rel.clone(), (u.clone(), d.version)))
            .collect();
        let url = |rel: &str| -> Option<lsp::Url> {
            open.get(rel)
                .map(|(u, _)| u.clone())
                .or_else(|| convert::file_url(root, rel))
        };
        let mut by_uri: BTreeMap<lsp::Url, (Vec<lsp::Diagnostic>, Option<i32>)> = BTreeMap::new();
        for (rel, (u, v)) in &open {
            let _ = rel;
            by_uri.insert(u.clone(), (Vec::new(), Some(*v)));
        }
        for d in &reported {
            let Some(p) = d.primary else { continue };
            let rel = &db.file(p.file).path;
            let Some(uri) = url(rel) else { continue };
            if let Some(ld) = convert::diagnostic(db, d, self.enc, &url) {
                by_uri
                    .entry(uri)
                    .or_insert_with(|| (Vec::new(), open.get(rel).map(|o| o.1)))
                    .0
                    .push(ld);
            }
        }
        let previous = self
            .projects
            .get(root)
            .map(|s| s.published.clone())
            .unwrap_or_default();
        let mut published = BTreeSet::new();
        for (uri, (diags, version)) in by_uri {
            if !diags.is_empty() {
                published.insert(uri.clone());
            } else if !previous.contains(&uri) && !open.values().any(|o| o.0 == uri) {
                continue;
            }
            self.publish(uri, diags, version);
        }
        for uri in previous.difference(&published) {
            if !open.values().any(|o| &o.0 == uri) {
                self.publish(uri.clone(), Vec::new(), None);
            }
        }
        log(&format!(
            "checked {} in {} ms: {} findings",
            root.display(),
            started.elapsed().as_millis(),
            reported.len()
        ));
        let state = self.projects.entry(root.to_owned()).or_default();
        state.published = published;
        // A check that completed: what it read is what the next one may take over.
        state.stale = !result.internal_errors.is_empty();
        state.last = Some(Checked { result, reported });
    }

    fn publish(&mut self, uri: lsp::Url, diagnostics: Vec<lsp::Diagnostic>, version: Option<i32>) {
        self.notify(
            "textDocument/publishDiagnostics",
            lsp::PublishDiagnosticsParams {
                uri,
                diagnostics,
                version,
            },
        );
    }

    /// The last check of a document's project, made again first if the document changed
    /// since (a code action must edit the text the editor has).
    fn fresh(&mut self, uri: &lsp::Url) -> Option<(PathBuf, String)> {
        let (root, rel) = match self.docs.get(uri) {
            Some(d) => (d.root.clone(), d.rel.clone()),
            None => self.locate(uri)?,
        };
        let stale = match self.projects.get(&root).and_then(|p| p.last.as_ref()) {
            None => true,
            Some(c) => {
                let db = &c.result.project.db;
                match (self.docs.get(uri), db.find(&rel)) {
                    (Some(d), Some(f)) => db.file(f).text != d.text,
                    (Some(_), None) => false,
                    (None, _) => false,
                }
            }
        };
        if stale {
            self.check(&root);
        }
        Some((root, rel))
    }

    fn code_actions(&mut self, p: &lsp::CodeActionParams) -> Value {
        let uri = &p.text_document.uri;
        let Some((root, rel)) = self.fresh(uri) else {
            return Value::Array(Vec::new());
        };
        let Some(checked) = self.projects.get(&root).and_then(|s| s.last.as_ref()) else {
            return Value::Array(Vec::new());
        };
        let db = &checked.result.project.db;
        let Some(fid) = db.find(&rel) else {
            return Value::Array(Vec::new());
        };
        let file = db.file(fid);
        let a = convert::offset(&file.text, file.line_index(), self.enc, p.range.start);
        let b = convert::offset(&file.text, file.line_index(), self.enc, p.range.end);
        let open: BTreeMap<String, lsp::Url> = self
            .docs
            .iter()
            .filter(|(_, d)| d.root == root)
            .map(|(u, d)| (d.rel.clone(), u.clone()))
            .collect();
        let url = |r: &str| -> Option<lsp::Url> {
            open.get(r).cloned().or_else(|| convert::file_url(&root, r))
        };
        let mut actions: Vec<lsp::CodeAction> = Vec::new();
        for d in &checked.reported {
            let Some(sp) = d.primary.filter(|s| s.file == fid) else {
                continue;
            };
            let (s, e) = (usize::from(sp.range.start()), usize::from(sp.range.end()));
            if s > b || e < a {
                continue;
            }
            let ld = convert::diagnostic(db, d, self.enc, &url);
            let mut push = |title: String, fix: &djcheck_diagnostics::Fix, preferred: bool| {
                let Some(edit) =
                    convert::workspace_edit(db, fix, self.enc, &url, self.can_create_files)
                else {
                    return;
                };
                let action = lsp::CodeAction {
                    title,
                    kind: Some(lsp::CodeActionKind::QUICKFIX),
                    diagnostics: ld.clone().map(|x| vec![x]),
                    edit: Some(edit),
                    is_preferred: preferred.then_some(true),
                    ..Default::default()
                };
                if !actions
                    .iter()
                    .any(|x| x.title == action.title && x.edit == action.edit)
                {
                    actions.push(action);
                }
            };
            if let Some(f) = &d.fix {
                let safe = f.applicability == djcheck_diagnostics::Applicability::Safe;
                let title = if safe {
                    format!("{}: {}", d.code, f.message)
                } else {
                    format!("{}: {} (unsafe)", d.code, f.message)
                };
                push(title, f, safe);
            }
            if let Some(f) = djcheck_fix::ignore_fix(db, d) {
                push(format!("ignore {} on this line", d.code), &f, false);
            }
        }
        serde_json::to_value(actions).unwrap_or(Value::Null)
    }

    fn hover(&mut self, p: &lsp::HoverParams) -> Value {
        let uri = &p.text_document_position_params.text_document.uri;
        let Some((root, rel)) = self.fresh(uri) else {
            return Value::Null;
        };
        let Some(checked) = self.projects.get(&root).and_then(|s| s.last.as_ref()) else {
            return Value::Null;
        };
        let db = &checked.result.project.db;
        let Some(fid) = db.find(&rel) else {
            return Value::Null;
        };
        let file = db.file(fid);
        let at = convert::offset(
            &file.text,
            file.line_index(),
            self.enc,
            p.text_document_position_params.position,
        );
        let mut parts = Vec::new();
        let mut seen = BTreeSet::new();
        for d in &checked.reported {
            let Some(sp) = d.primary.filter(|s| s.file == fid) else {
                continue;
            };
            let (s, e) = (usize::from(sp.range.start()), usize::from(sp.range.end()));
            if at < s || at > e || !seen.insert(d.code) {
                continue;
            }
            let Some((name, doc)) = self.host.rule_doc(d.code) else {
                continue;
            };
            parts.push(format!(
                "### {} ({name})\n\n{}\n\n[{} in docs/rules.md]({})\n\n{doc}",
                d.code,
                d.message,
                d.code,
                djcheck_diagnostics::render::rule_url(d.code)
            ));
        }
        if parts.is_empty() {
            return Value::Null;
        }
        serde_json::to_value(lsp::Hover {
            contents: lsp::HoverContents::Markup(lsp::MarkupContent {
                kind: lsp::MarkupKind::Markdown,
                value: parts.join("\n\n---\n\n"),
            }),
            range: None,
        })
        .unwrap_or(Value::Null)
    }
}
