//! The run cache: a whole run's result, reused while none of its inputs changed.
//!
//! The per-file cache ([`crate::cache`]) spares parsing unchanged files, but the project
//! model (settings, graph, model state, models, URL tree) and the project rules are
//! still rebuilt on every run. When nothing a run read has changed, its result cannot
//! have changed either: this cache keeps the final diagnostics of the last run, with
//! what the report needs (the project report, the texts of the files the diagnostics
//! show), under the per-file cache's key folder (`run.bin`).
//!
//! What a run's result depends on, and how a later run checks it:
//! - the options, rules and build: a key ([`run_key`]) over all of them;
//! - the files of the project tree (which modules exist, templates, virtualenvs): a hash
//!   of the walk's listing, recomputed by walking again;
//! - every file the run read (settings, app configs, models, URL modules, migrations):
//!   its size, modification and status-change times and inode, and the hash of its
//!   text. A file whose times are not older than the run that stored the entry (a file
//!   written during that run, or within the file system's time granularity of it) is
//!   read and hashed instead of trusted by its times, as git does for its index;
//! - files looked for outside the tree walk (tool configuration files), present or not:
//!   their stamps;
//! - the migrations of packages installed in the project's virtualenvs: the scan is
//!   redone and its result compared;
//! - the base revision (`--base`, or `HEAD`): the stored run's, compared once the tree is
//!   walked (git is asked for `HEAD` meanwhile).
//!
//! Anything else (a corrupt, truncated or foreign file, a different key) is a miss, and
//! the run is done in full and stored again (atomically, as the per-file shards).
//! Runs with buffers that are not on disk (`--stdin-filename`), runs that failed
//! somewhere (internal errors) and runs whose diagnostics name a rule that is not
//! registered are never stored.

use crate::discover::Tree;
use crate::report::ProjectReport;
use crate::{LoadOptions, Project};
use djcheck_diagnostics::{Diagnostic, FileId, Span, TextRange};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Version of the file format: bump on any change to the stored types.
const FORMAT: u32 = 2;
const MAGIC: &[u8; 8] = b"djcheckR";
const FILE_NAME: &str = "run.bin";
/// A stored run larger than this is not read.
const MAX_BYTES: u64 = 1 << 30;
/// Times this close to the storing run's start (or later) are not trusted: the file
/// system may not tell two writes within this interval apart.
const RACY_NS: i128 = 2_000_000_000;

/// What a file looked like on disk, from its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    len: u64,
    modified: i128,
    changed: i128,
    inode: u64,
}

impl Stamp {
    /// The stamp of the file at `path` (following symbolic links), `None` when there is
    /// none (missing, unreadable metadata).
    pub fn of(path: &Path) -> Option<Stamp> {
        let m = std::fs::metadata(path).ok()?;
        Some(Stamp::from_metadata(&m))
    }

    #[cfg(unix)]
    fn from_metadata(m: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            len: m.len(),
            modified: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
            changed: i128::from(m.ctime()) * 1_000_000_000 + i128::from(m.ctime_nsec()),
            inode: m.ino(),
        }
    }

    #[cfg(not(unix))]
    fn from_metadata(m: &std::fs::Metadata) -> Stamp {
        let modified = m
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as i128);
        Stamp {
            len: m.len(),
            modified,
            // Without a status-change time, every file is checked by content.
            changed: i128::MAX,
            inode: 0,
        }
    }

    /// Whether the times may not tell a later write apart from the state the run saw.
    fn racy(&self, run_start: i128) -> bool {
        self.modified.max(self.changed) >= run_start - RACY_NS
    }
}

/// Nanoseconds since the Unix epoch, now.
pub fn now_ns() -> i128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as i128)
}

/// What a load read besides its source database, kept in the project for the run cache.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// Hash of the tree walk's listing.
    pub(crate) walk: u128,
    /// Hash of the virtualenv scan's result.
    pub(crate) venvs: u128,
    /// Files read or looked for that are not in the source database, relative to the
    /// root, with what the run saw of them.
    pub(crate) probes: std::collections::BTreeMap<String, Probe>,
    /// The real paths of files whose relative path is not valid UTF-8.
    pub(crate) os_paths: std::collections::BTreeMap<String, PathBuf>,
}

/// What a run saw of a file that is not in its source database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Probe {
    /// Whether it is a regular file (all the run asked).
    Exists(bool),
    /// The hash of its text, `None` when it could not be read.
    Text(Option<u128>),
}

impl Probe {
    /// What reading a file gave.
    pub(crate) fn read(result: &Result<String, crate::fs::ReadProblem>) -> Probe {
        Probe::Text(match result {
            Ok(t) => Some(crate::cache::content_hash(t)),
            Err(crate::fs::ReadProblem::Decode(_, lossy)) => {
                Some(crate::cache::content_hash(lossy))
            }
            Err(_) => None,
        })
    }
}

/// The hash of a walk's listing: every file and folder problem it found.
pub(crate) fn walk_hash(tree: &Tree) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut put = |tag: u8, s: &str| {
        h.update(&[tag]);
        h.update(&(s.len() as u64).to_le_bytes());
        h.update(s.as_bytes());
    };
    for f in &tree.py_files {
        put(1, f);
    }
    for f in &tree.templates {
        put(2, f);
    }
    for v in &tree.venvs {
        put(3, &v.to_string_lossy());
    }
    for (p, m) in &tree.problems {
        put(4, p);
        put(5, m);
    }
    for (p, real) in &tree.os_paths {
        put(6, p);
        put(7, &real.to_string_lossy());
    }
    h.digest128()
}

/// The hash of a virtualenv scan's result.
pub(crate) fn venv_hash(scan: &std::collections::BTreeMap<String, Vec<String>>) -> u128 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for (label, names) in scan {
        h.update(&(label.len() as u64).to_le_bytes());
        h.update(label.as_bytes());
        h.update(&(names.len() as u64).to_le_bytes());
        for n in names {
            h.update(&(n.len() as u64).to_le_bytes());
            h.update(n.as_bytes());
        }
    }
    h.digest128()
}

/// The hash of the migrations of the packages installed in the tree's virtualenvs.
pub(crate) fn venvs_hash(opts: &LoadOptions, tree: &Tree) -> u128 {
    if tree.venvs.is_empty() {
        return venv_hash(&Default::default());
    }
    venv_hash(&crate::venv::scan(&opts.root, &tree.venvs))
}

/// One file the run read.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct FileRecord {
    path: String,
    stamp: Option<Stamp>,
    /// Hash of the text as analysed.
    hash: u128,
    /// Its name is not valid UTF-8: it is read at the real path the walk finds.
    elsewhere: bool,
}

/// The base revision as the report needs it (its migrations are not needed again).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct BaseRecord {
    base: crate::git::BaseRef,
    changed: Option<BTreeSet<String>>,
    problems: Vec<String>,
}

/// A diagnostic with its spans.
type StoredDiagnostic = crate::cache::StoredDiagnostic<Span>;

/// The stored run.
#[derive(Debug, Serialize, Deserialize)]
struct RunFile {
    format: u32,
    key: String,
    /// When the storing run started (nanoseconds since the Unix epoch).
    started: i128,
    walk: u128,
    venvs: u128,
    /// Every file of the source database, in id order.
    files: Vec<FileRecord>,
    probes: Vec<(String, Probe, Option<Stamp>)>,
    /// Text and masked ranges of the files the output may show.
    texts: Vec<(FileId, String, Vec<TextRange>)>,
    files_checked: usize,
    report: ProjectReport,
    base: Option<BaseRecord>,
    diagnostics: Vec<StoredDiagnostic>,
}

/// The key of a run: everything its result depends on besides the files.
pub fn run_key(opts: &LoadOptions, extra: &str) -> String {
    let mut o = opts.clone();
    o.overrides.clear();
    // Not the base revision, which git may still be resolving: [`lookup`] compares it
    // once the tree is walked.
    o.base = crate::git::Base::default();
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&FORMAT.to_le_bytes());
    h.update(format!("{o:?}").as_bytes());
    h.update(&[0]);
    h.update(extra.as_bytes());
    format!("{:032x}", h.digest128())
}

/// Where the run of the cache `opts` asks for is stored; `None` without a cache, or with
/// buffers that are not on disk.
fn location(opts: &LoadOptions) -> Option<PathBuf> {
    let c = opts.cache.as_ref()?;
    if !opts.overrides.is_empty() {
        return None;
    }
    Some(c.dir.join(crate::load::cache_key(opts)).join(FILE_NAME))
}

/// A stored run that still holds: the project as the report needs it (its source
/// database, report, base and counts; no graph or model state) and the diagnostics.
pub struct Hit {
    pub project: Project,
    pub diagnostics: Vec<Diagnostic>,
}

/// Whether file `f` of the stored run, at `real`, is as the run read it: by its stamp, or
/// by its text when the stamp can't tell.
fn unchanged(opts: &LoadOptions, started: i128, f: &FileRecord, real: &Path) -> bool {
    match (Stamp::of(real), f.stamp) {
        (None, None) => true,
        (Some(now), Some(then)) if now == then && !then.racy(started) => true,
        (Some(_), Some(_)) => {
            let text = match crate::fs::read_text(real, &opts.limits) {
                Ok(t) => t,
                Err(crate::fs::ReadProblem::Decode(_, lossy)) => lossy,
                Err(_) => return false,
            };
            crate::cache::content_hash(&text) == f.hash
        }
        _ => false,
    }
}

/// Whether what a run that started at `started` read is still as it read it: the tree
/// lists the same files (walked while the files are stat'ed), the virtualenvs hold the
/// same packages, every file and probe is unchanged.
fn still_as_read(
    opts: &LoadOptions,
    started: i128,
    walk: u128,
    venvs: u128,
    files: &[FileRecord],
    probes: &[(String, Probe, Option<Stamp>)],
) -> bool {
    // The same tree (walked while the files are checked), the same virtualenv packages.
    let (tree, all_unchanged) = rayon::join(
        || {
            let _t = crate::timings::phase("run cache: walk");
            crate::load::walk(opts)
        },
        || {
            use rayon::prelude::*;
            let _t = crate::timings::phase("run cache: stat");
            files
                .par_iter()
                .all(|f| f.elsewhere || unchanged(opts, started, f, &opts.root.join(&f.path)))
        },
    );
    if !all_unchanged || walk_hash(&tree) != walk || venvs_hash(opts, &tree) != venvs {
        return false;
    }
    // Files whose name is not valid UTF-8, at the real path the walk found.
    for f in files.iter().filter(|f| f.elsewhere) {
        let Some(real) = tree.os_paths.get(&f.path) else {
            return false;
        };
        if !unchanged(opts, started, f, real) {
            return false;
        }
    }
    for (rel, probe, stamp) in probes {
        let path = opts.root.join(rel);
        let same = match probe {
            Probe::Exists(b) => path.is_file() == *b,
            Probe::Text(hash) => {
                let now = Stamp::of(&path);
                match (now, stamp) {
                    (None, None) => hash.is_none(),
                    (Some(now), Some(then)) if now == *then && !then.racy(started) => true,
                    (Some(_), _) => {
                        hash.is_some_and(|h| match crate::fs::read_text(&path, &opts.limits) {
                            Ok(t) => crate::cache::content_hash(&t) == h,
                            Err(crate::fs::ReadProblem::Decode(_, lossy)) => {
                                crate::cache::content_hash(&lossy) == h
                            }
                            Err(_) => false,
                        })
                    }
                    (None, Some(_)) => false,
                }
            }
        };
        if !same {
            return false;
        }
    }
    true
}

/// The stored run for `opts` and `key`, when none of its inputs changed. `rules`: every
/// rule a stored diagnostic may belong to, as (code, name).
pub fn lookup(
    opts: &LoadOptions,
    key: &str,
    rules: &[(&'static str, &'static str)],
) -> Option<Hit> {
    let path = location(opts)?;
    let _t = crate::timings::phase("run cache lookup");
    let bytes = crate::fs::read_bytes(&path, MAX_BYTES)?;
    let run = decode(&bytes, key)?;
    if !still_as_read(
        opts,
        run.started,
        run.walk,
        run.venvs,
        &run.files,
        &run.probes,
    ) {
        return None;
    }
    if run.base.as_ref().map(|b| &b.base) != opts.base.get() {
        return None;
    }
    let diagnostics = run
        .diagnostics
        .iter()
        .map(|d| d.restore_with(rules, |s| s))
        .collect::<Option<Vec<_>>>()?;
    let mut db = djcheck_diagnostics::SourceDb::new();
    for f in &run.files {
        db.add(f.path.clone(), String::new());
    }
    for (id, text, masked) in run.texts {
        if (id.0 as usize) >= db.len() {
            return None;
        }
        db.set_text(id, text);
        db.file_mut(id).masked = masked;
    }
    let base = run.base.map(|b| crate::base::BaseSnapshot {
        base: b.base,
        migrations: Vec::new(),
        changed: b.changed,
        problems: b.problems,
    });
    let project = Project {
        root: opts.root.clone(),
        db,
        files_checked: run.files_checked,
        report: run.report,
        base,
        ..Project::default()
    };
    Some(Hit {
        project,
        diagnostics,
    })
}

/// What `project`'s load read from disk, as it is now: its files (not the buffers of
/// `opts.overrides`, which are not on disk) and its probes.
#[allow(clippy::type_complexity)]
fn records(
    opts: &LoadOptions,
    project: &Project,
) -> (Vec<FileRecord>, Vec<(String, Probe, Option<Stamp>)>) {
    use rayon::prelude::*;
    let inputs = &project.inputs;
    let files: Vec<FileRecord> = project
        .db
        .iter()
        .filter(|(_, f)| !opts.overrides.contains_key(&f.path))
        .collect::<Vec<_>>()
        .par_iter()
        .map(|(_, f)| {
            let elsewhere = inputs.os_paths.get(&f.path);
            let real = elsewhere
                .cloned()
                .unwrap_or_else(|| opts.root.join(&f.path));
            FileRecord {
                path: f.path.clone(),
                stamp: Stamp::of(&real),
                hash: crate::cache::content_hash(&f.text),
                elsewhere: elsewhere.is_some(),
            }
        })
        .collect();
    let probes = inputs
        .probes
        .iter()
        .map(|(rel, probe)| (rel.clone(), *probe, Stamp::of(&opts.root.join(rel))))
        .collect();
    (files, probes)
}

/// What a check read from disk, to tell later whether any of it changed: for a language
/// server whose client does not report changes to files, so that a check after an edit
/// can take the last one over instead of reading the project again.
#[derive(Debug, Clone)]
pub struct DiskState {
    started: i128,
    walk: u128,
    venvs: u128,
    files: Vec<FileRecord>,
    probes: Vec<(String, Probe, Option<Stamp>)>,
}

impl DiskState {
    /// What the load of `project` with `opts`, started at `started` ([`now_ns`]), read
    /// from disk. The buffers of `opts.overrides` are left out: whether they changed is
    /// for the caller to compare.
    pub fn capture(opts: &LoadOptions, project: &Project, started: i128) -> DiskState {
        let _t = crate::timings::phase("disk state: capture");
        let (files, probes) = records(opts, project);
        DiskState {
            started,
            walk: project.inputs.walk,
            venvs: project.inputs.venvs,
            files,
            probes,
        }
    }

    /// Whether everything captured is as it was: the same files in the tree, each with
    /// the same text, the same configuration files and virtualenv packages.
    pub fn holds(&self, opts: &LoadOptions) -> bool {
        let _t = crate::timings::phase("disk state: compare");
        still_as_read(
            opts,
            self.started,
            self.walk,
            self.venvs,
            &self.files,
            &self.probes,
        )
    }
}

/// Stores the result of a run that started at `started` (see [`now_ns`]). Failures are
/// ignored: the cache only saves time.
pub fn store(
    opts: &LoadOptions,
    key: &str,
    started: i128,
    project: &Project,
    diagnostics: &[Diagnostic],
    rules: &[(&'static str, &'static str)],
) {
    let Some(path) = location(opts) else {
        return;
    };
    if diagnostics
        .iter()
        .any(|d| !rules.iter().any(|(c, _)| *c == d.code))
    {
        return;
    }
    let _t = crate::timings::phase("run cache store");
    let inputs = &project.inputs;
    let (files, probes) = records(opts, project);
    // The files the output may show: those the diagnostics, their fixes and the report
    // point into, and those with masked ranges.
    let mut shown: BTreeSet<FileId> = BTreeSet::new();
    for d in diagnostics {
        shown.extend(d.primary.iter().map(|s| s.file));
        shown.extend(d.labels.iter().map(|l| l.span.file));
        shown.extend(d.redact.iter().map(|s| s.file));
        if let Some(f) = &d.fix {
            shown.extend(f.edits.iter().map(|e| e.file));
        }
    }
    shown.extend(
        project
            .report
            .not_analysed
            .iter()
            .filter_map(|n| n.span.map(|s| s.file)),
    );
    shown.extend(
        project
            .db
            .iter()
            .filter(|(_, f)| !f.masked.is_empty())
            .map(|(id, _)| id),
    );
    let texts = shown
        .into_iter()
        .filter(|id| (id.0 as usize) < project.db.len())
        .map(|id| {
            let f = project.db.file(id);
            (id, f.text.clone(), f.masked.clone())
        })
        .collect();
    let run = RunFile {
        format: FORMAT,
        key: key.to_owned(),
        started,
        walk: inputs.walk,
        venvs: inputs.venvs,
        files,
        probes,
        texts,
        files_checked: project.files_checked,
        report: project.report.clone(),
        base: project.base.as_ref().map(|b| BaseRecord {
            base: b.base.clone(),
            changed: b.changed.clone(),
            problems: b.problems.clone(),
        }),
        diagnostics: diagnostics
            .iter()
            .filter_map(|d| StoredDiagnostic::store(d, Some))
            .collect(),
    };
    let Ok(payload) = postcard::to_allocvec(&run) else {
        return;
    };
    let out = crate::cache::frame(MAGIC, FORMAT, &payload);
    if let Some(dir) = path.parent() {
        if std::fs::create_dir_all(dir).is_err() {
            return;
        }
        if let Some(c) = &opts.cache {
            crate::cache::write_marker_files(&c.dir);
        }
    }
    let _ = crate::cache::write_atomic(&path, &out);
}

fn decode(bytes: &[u8], key: &str) -> Option<RunFile> {
    let run: RunFile = postcard::from_bytes(crate::cache::unframe(MAGIC, FORMAT, bytes)?).ok()?;
    (run.format == FORMAT && run.key == key).then_some(run)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::{load, LoadOptions, NoVisitor};

    fn copy_tree(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for e in std::fs::read_dir(from).unwrap() {
            let e = e.unwrap();
            let target = to.join(e.file_name());
            if e.file_type().unwrap().is_dir() {
                copy_tree(&e.path(), &target);
            } else {
                std::fs::copy(e.path(), target).unwrap();
            }
        }
    }

    /// Loads the demo project at `dir` and stores the run (no diagnostics) under `key`.
    fn run_and_store(opts: &LoadOptions, key: &str) {
        let started = now_ns();
        let (project, _) = load(opts, &NoVisitor).unwrap();
        assert!(!project.inputs.probes.is_empty() || project.db.len() > 1);
        store(opts, key, started, &project, &[], &[]);
    }

    /// A copy of `fixtures/demo` in a scratch folder (removed with it): the folder and
    /// the project in it.
    fn demo_copy(prefix: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let root = tempfile::Builder::new().prefix(prefix).tempdir().unwrap();
        let dir = root.path().join("demo");
        copy_tree(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/demo"),
            &dir,
        );
        (root, dir)
    }

    #[test]
    fn a_stored_run_holds_until_something_it_read_changes() {
        let (root, dir) = demo_copy("djcheck-runcache-");
        let opts = LoadOptions {
            root: dir.clone(),
            cache: Some(crate::cache::CacheOptions {
                dir: root.path().join("cache"),
                salt: "test".into(),
                rules: Vec::new(),
            }),
            ..LoadOptions::default()
        };
        let hit = |key: &str| lookup(&opts, key, &[]).is_some();
        assert!(!hit("k"), "nothing stored yet");
        run_and_store(&opts, "k");
        // The files were just copied: their times are too recent to be trusted, and their
        // texts are compared instead.
        assert!(hit("k"));
        assert!(!hit("another key"));
        let project = lookup(&opts, "k", &[]).unwrap().project;
        assert!(project.db.len() > 10, "{}", project.db.len());
        assert!(project.report.migrations > 0);

        // A migration's text.
        let mig = dir.join("shop/migrations/0001_initial.py");
        let text = std::fs::read_to_string(&mig).unwrap();
        std::fs::write(&mig, format!("{text}\n# changed\n")).unwrap();
        assert!(!hit("k"));
        std::fs::write(&mig, &text).unwrap();
        assert!(hit("k"), "the same text again");

        // A module read but not kept (scanned for URL lookups): views.py.
        let views = dir.join("cloud_app/views.py");
        let text = std::fs::read_to_string(&views).unwrap();
        std::fs::write(&views, format!("{text}\n# changed\n")).unwrap();
        assert!(!hit("k"));
        std::fs::write(&views, &text).unwrap();
        assert!(hit("k"));

        // A new module (the tree changed), a removed one.
        std::fs::write(dir.join("shop/extra.py"), "X = 1\n").unwrap();
        assert!(!hit("k"));
        std::fs::remove_file(dir.join("shop/extra.py")).unwrap();
        assert!(hit("k"));

        // What the run did not look at is no input: manage.py names the settings, so
        // pytest's configuration is not read.
        std::fs::write(dir.join("pytest.ini"), "[pytest]\n").unwrap();
        assert!(hit("k"));
        std::fs::remove_file(dir.join("pytest.ini")).unwrap();
        // The settings module.
        let settings = dir.join("proj/settings.py");
        let text = std::fs::read_to_string(&settings).unwrap();
        std::fs::write(&settings, text.replace("\"reports\",", "")).unwrap();
        assert!(!hit("k"));
        std::fs::write(&settings, &text).unwrap();
        assert!(hit("k"));

        // A corrupt or truncated file is a miss.
        let stored = dir
            .parent()
            .unwrap()
            .join("cache")
            .join(crate::load::cache_key(&opts))
            .join(FILE_NAME);
        let bytes = std::fs::read(&stored).unwrap();
        std::fs::write(&stored, &bytes[..bytes.len() / 2]).unwrap();
        assert!(!hit("k"));
        let mut flipped = bytes.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        std::fs::write(&stored, &flipped).unwrap();
        assert!(!hit("k"));
        std::fs::write(&stored, &bytes).unwrap();
        assert!(hit("k"));

        // Buffers that are not on disk are never looked up.
        let mut edited = opts.clone();
        edited
            .overrides
            .insert("shop/models.py".into(), "X = 1\n".into());
        assert!(lookup(&edited, "k", &[]).is_none());
    }

    #[test]
    fn a_disk_state_holds_until_something_read_changes_buffers_aside() {
        let (_root, dir) = demo_copy("djcheck-diskstate-");
        // A language server's load: no cache, an open buffer.
        let buffer = "shop/migrations/0001_initial.py";
        let mut opts = LoadOptions {
            root: dir.clone(),
            reusable: true,
            ..LoadOptions::default()
        };
        let text = std::fs::read_to_string(dir.join(buffer)).unwrap();
        opts.overrides
            .insert(buffer.into(), format!("{text}\n# unsaved\n"));
        let started = now_ns();
        let (project, _) = load(&opts, &NoVisitor).unwrap();
        let disk = DiskState::capture(&opts, &project, started);
        assert!(disk.files.len() > 10, "{}", disk.files.len());
        assert!(disk.files.iter().all(|f| f.path != buffer));
        assert!(disk.holds(&opts));

        // The buffer's file on disk is not what was read: not compared.
        std::fs::write(dir.join(buffer), "# saved elsewhere\n").unwrap();
        assert!(disk.holds(&opts));

        // Another migration's text; back as it was.
        let mig = dir.join("blog/migrations/0001_initial.py");
        let before = std::fs::read_to_string(&mig).unwrap();
        std::fs::write(&mig, before.replace("Post", "Pots")).unwrap();
        assert!(!disk.holds(&opts));
        std::fs::write(&mig, &before).unwrap();
        assert!(disk.holds(&opts));

        // A new migration file, then the settings.
        let added = dir.join("blog/migrations/0004_more.py");
        std::fs::write(&added, "X = 1\n").unwrap();
        assert!(!disk.holds(&opts));
        std::fs::remove_file(&added).unwrap();
        assert!(disk.holds(&opts));
        let settings = dir.join("proj/settings.py");
        let before = std::fs::read_to_string(&settings).unwrap();
        std::fs::write(&settings, before.replace("\"reports\",", "")).unwrap();
        assert!(!disk.holds(&opts));
        std::fs::write(&settings, &before).unwrap();
        assert!(disk.holds(&opts));
    }

    #[test]
    fn times_older_than_the_storing_run_are_trusted_and_recent_ones_are_not() {
        let s = Stamp {
            len: 1,
            modified: 10 * 1_000_000_000,
            changed: 10 * 1_000_000_000,
            inode: 1,
        };
        assert!(!s.racy(20 * 1_000_000_000));
        assert!(s.racy(11 * 1_000_000_000));
        assert!(s.racy(10 * 1_000_000_000));
        let later_status = Stamp {
            changed: 19 * 1_000_000_000,
            ..s
        };
        assert!(later_status.racy(20 * 1_000_000_000));
    }
}
