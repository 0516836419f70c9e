//! The project's migrations at a base revision (`--base REF`, or `HEAD` implicitly), so
//! that renames and deletions can be told from real changes, and in diff mode the files
//! changed since.
//!
//! Only what git's trees hold is read (see [`crate::git`]): the base's file list with blob
//! ids, and the contents of the base migrations that no longer exist under their key or
//! whose file changed. The working tree is compared by hashing its files here.

use crate::discover::{rel_path, SKIPPED_DIRS};
use crate::git::{self, BaseKind, BaseRef, TreeFile};
use crate::migration::{self, ExtractContext, Key, Migration};
use crate::{App, LoadOptions};
use djcheck_diagnostics::FileId;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// A migration as it was at the base revision.
#[derive(Debug, Clone)]
pub struct BaseMigration {
    pub app: String,
    pub name: String,
    /// Project-relative path at the base revision.
    pub path: String,
    /// Whether the file was read (only migrations whose key is gone today, or whose file
    /// changed since, are).
    pub read: bool,
    pub fingerprint: Option<u64>,
    /// Number of operations (an empty list matches any other empty list).
    pub operation_count: usize,
    pub replaces: Vec<Key>,
}

impl BaseMigration {
    pub fn key(&self) -> Key {
        (self.app.clone(), self.name.clone())
    }
}

/// What the base revision holds.
#[derive(Debug, Clone)]
pub struct BaseSnapshot {
    pub base: BaseRef,
    /// Sorted by key.
    pub migrations: Vec<BaseMigration>,
    /// Diff mode (`--base REF`): project-relative paths of the analysed files that differ
    /// from the base (new, modified). `None` with the implicit `HEAD` base, which reports
    /// every diagnostic.
    pub changed: Option<BTreeSet<String>>,
    /// Problems reading the base (never fatal).
    pub problems: Vec<String>,
}

/// Largest file hashed for diff mode; a larger one counts as changed.
const MAX_HASHED: u64 = 64 * 1024 * 1024;

/// Reads the base revision. Never fails: what cannot be read is listed in `problems`.
/// `current` are today's migrations; `files` the project-relative paths analysed.
pub fn snapshot(
    opts: &LoadOptions,
    base: &BaseRef,
    apps: &[App],
    current: &[Migration],
    user_app_label: &str,
    files: &[String],
) -> BaseSnapshot {
    let mut snap = BaseSnapshot {
        base: base.clone(),
        migrations: Vec::new(),
        changed: None,
        problems: base.fallback.iter().cloned().collect(),
    };
    let root = opts
        .root
        .canonicalize()
        .unwrap_or_else(|_| opts.root.clone());
    let repo = base
        .repo
        .canonicalize()
        .unwrap_or_else(|_| base.repo.clone());
    let prefix = rel_path(&repo, &root);
    let tree: BTreeMap<String, TreeFile> = match git::list_files(base, &prefix) {
        Ok(t) => t
            .into_iter()
            .filter_map(|(p, f)| {
                let rel = if prefix.is_empty() {
                    Some(p)
                } else {
                    p.strip_prefix(&format!("{prefix}/")).map(str::to_owned)
                }?;
                Some((rel, f))
            })
            .collect(),
        Err(e) => {
            snap.problems
                .push(format!("cannot list files at `{}`: {e}", base.name));
            if base.kind == BaseKind::Explicit {
                // Nothing to compare with: every file counts as changed.
                snap.changed = Some(files.iter().cloned().collect());
            }
            return snap;
        }
    };
    let sha1 = git::uses_sha1(base);
    if base.kind == BaseKind::Explicit {
        snap.changed = Some(changed_files(opts, sha1, &tree, files, &mut snap.problems));
    }

    // Migration packages at the base: `*/migrations/` with an `__init__.py`, and the
    // folders MIGRATION_MODULES points at today.
    let mut dirs: BTreeSet<String> = tree
        .keys()
        .filter_map(|f| {
            f.strip_suffix("/migrations/__init__.py")
                .map(|d| format!("{d}/migrations"))
        })
        .collect();
    dirs.extend(apps.iter().map(|a| a.migrations_dir.clone()));
    let label_now: BTreeMap<&str, &str> = apps
        .iter()
        .map(|a| (a.migrations_dir.as_str(), a.label.as_str()))
        .collect();
    // (path, label, name, blob id)
    let mut jobs: Vec<(String, String, String, String)> = Vec::new();
    for (f, entry) in &tree {
        if f.split('/').any(|c| SKIPPED_DIRS.contains(&c)) {
            continue;
        }
        let Some((dir, file)) = f.rsplit_once('/') else {
            continue;
        };
        if !dirs.contains(dir) || !tree.contains_key(&format!("{dir}/__init__.py")) {
            continue;
        }
        let Some(stem) = file.strip_suffix(".py") else {
            continue;
        };
        // As Django's loader (pkgutil): `_`/`~` prefixes are skipped, and so is a name with a
        // dot (`.util.py`), which is no module name.
        if stem.starts_with('_') || stem.starts_with('~') || stem.contains('.') {
            continue;
        }
        let app_dir = dir.strip_suffix("/migrations").unwrap_or(dir);
        let label = label_now
            .get(dir)
            .map(|l| (*l).to_owned())
            .unwrap_or_else(|| app_dir.rsplit('/').next().unwrap_or(app_dir).to_owned());
        jobs.push((f.clone(), label, stem.to_owned(), entry.oid.clone()));
    }
    // Labels set in an apps.py of a folder that is no longer an app are read from the base.
    let apps_py: Vec<(String, String)> = jobs
        .iter()
        .filter(|(f, ..)| {
            let dir = f.rsplit_once('/').map_or("", |(d, _)| d);
            !label_now.contains_key(dir)
        })
        .filter_map(|(f, ..)| {
            let p = format!("{}/apps.py", f.rsplit_once("/migrations/")?.0);
            tree.get(&p).map(|e| (p, e.oid.clone()))
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let oids: Vec<String> = apps_py.iter().map(|(_, o)| o.clone()).collect();
    match git::read_blobs(base, &oids) {
        Ok(contents) => {
            for ((p, _), c) in apps_py.iter().zip(contents) {
                let Some(text) = c.and_then(|b| String::from_utf8(b).ok()) else {
                    continue;
                };
                let Some(label) = crate::venv::label_in_text(&text) else {
                    continue;
                };
                let dir = format!("{}/migrations/", p.trim_end_matches("/apps.py"));
                for j in &mut jobs {
                    if j.0.starts_with(&dir) {
                        j.1 = label.clone();
                    }
                }
            }
        }
        Err(e) => snap
            .problems
            .push(format!("cannot read files at `{}`: {e}", base.name)),
    }
    // Only migrations whose key is gone today are read: the others are still here.
    let now: BTreeSet<(&str, &str)> = current
        .iter()
        .map(|m| (m.app.as_str(), m.name.as_str()))
        .collect();
    // ...and those still here whose file changed since: a squash whose `replaces` was
    // removed once every database had applied it (Django's documented last step) still
    // accounts at the base for the migrations deleted with it.
    let changed_here = |path: &str, oid: &str| {
        let content = match opts.overrides.get(path) {
            Some(text) => Some(text.clone().into_bytes()),
            None => crate::fs::read_bytes(&opts.root.join(path), MAX_HASHED),
        };
        !(sha1 && content.is_some_and(|c| git::same_blob(&c, oid)))
    };
    let (gone, kept): (Vec<_>, Vec<_>) =
        jobs.into_par_iter().partition(|(path, app, name, oid)| {
            !now.contains(&(app.as_str(), name.as_str())) || changed_here(path, oid)
        });
    let contents =
        match git::read_blobs(base, &gone.iter().map(|j| j.3.clone()).collect::<Vec<_>>()) {
            Ok(c) => c,
            Err(e) => {
                snap.problems
                    .push(format!("cannot read files at `{}`: {e}", base.name));
                vec![None; gone.len()]
            }
        };
    let cx = ExtractContext { user_app_label };
    let decoded: Vec<Option<BaseMigration>> = gone
        .par_iter()
        .zip(contents.into_par_iter())
        .map(|((path, app, name, _), bytes)| {
            let text = djcheck_python::decode(&bytes?).ok()?;
            let parsed = crate::parse_checked(&text, &djcheck_python::Limits::default()).ok()?;
            let m = migration::extract(FileId(0), app, name, parsed.body(), &cx);
            m.class_range?;
            Some(BaseMigration {
                app: app.clone(),
                name: name.clone(),
                path: path.clone(),
                read: true,
                fingerprint: m.operations_fingerprint,
                operation_count: m.operations.len(),
                replaces: m.replaces.iter().map(|r| r.key.clone()).collect(),
            })
        })
        .collect();
    snap.migrations = decoded.into_iter().flatten().collect();
    snap.migrations
        .extend(kept.into_iter().map(|(path, app, name, _)| BaseMigration {
            app,
            name,
            path,
            read: false,
            fingerprint: None,
            operation_count: 0,
            replaces: Vec::new(),
        }));
    snap.migrations.sort_by_key(BaseMigration::key);
    snap
}

/// The analysed files that differ from the base: not in its tree, or with other contents
/// (hashed here as git hashes blobs; an editor's unsaved buffer counts as the file).
fn changed_files(
    opts: &LoadOptions,
    sha1: bool,
    tree: &BTreeMap<String, TreeFile>,
    files: &[String],
    problems: &mut Vec<String>,
) -> BTreeSet<String> {
    if !sha1 {
        problems.push(
            "the repository uses SHA-256 object ids, which djcheck does not hash: every file counts as changed"
                .to_owned(),
        );
        return files.iter().cloned().collect();
    }
    files
        .par_iter()
        .filter(|p| {
            let Some(entry) = tree.get(p.as_str()) else {
                return true;
            };
            let path = opts.root.join(p.as_str());
            let content = match opts.overrides.get(p.as_str()) {
                Some(text) => Some(text.clone().into_bytes()),
                None if entry.mode == "120000" => crate::fs::link_target(&path),
                None => crate::fs::read_bytes(&path, MAX_HASHED),
            };
            !content.is_some_and(|c| git::same_blob(&c, &entry.oid))
        })
        .cloned()
        .collect()
}
