//! The project's migrations at a base revision (`--base REF`), decoded like the working
//! tree's, so that renames and deletions can be told from real changes.

use crate::discover::{rel_path, SKIPPED_DIRS};
use crate::git::{self, BaseRef};
use crate::migration::{self, ExtractContext, Key};
use crate::App;
use djcheck_diagnostics::FileId;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A migration as it was at the base revision.
#[derive(Debug, Clone)]
pub struct BaseMigration {
    pub app: String,
    pub name: String,
    /// Project-relative path at the base revision.
    pub path: String,
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
    /// Project-relative paths changed since the base (diff mode).
    pub changed: BTreeSet<String>,
    /// Problems reading the base (reported as notes, never fatal).
    pub problems: Vec<String>,
}

/// Reads the base revision's migrations. Never fails: what cannot be read is listed in
/// `problems`.
pub fn snapshot(root: &Path, base: &BaseRef, apps: &[App], user_app_label: &str) -> BaseSnapshot {
    let mut snap = BaseSnapshot {
        base: base.clone(),
        migrations: Vec::new(),
        changed: BTreeSet::new(),
        problems: Vec::new(),
    };
    let root = root.canonicalize().unwrap_or_else(|_| root.to_owned());
    let repo = base
        .repo
        .canonicalize()
        .unwrap_or_else(|_| base.repo.clone());
    let prefix = rel_path(&repo, &root);
    let strip = |p: &str| -> Option<String> {
        if prefix.is_empty() {
            Some(p.to_owned())
        } else {
            p.strip_prefix(&format!("{prefix}/")).map(str::to_owned)
        }
    };
    match git::changed_files(base) {
        Ok(c) => snap.changed = c.iter().filter_map(|p| strip(p)).collect(),
        Err(e) => snap
            .problems
            .push(format!("cannot list changed files: {e}")),
    }
    let files: BTreeSet<String> = match git::list_files(base, &prefix) {
        Ok(f) => f.iter().filter_map(|p| strip(p)).collect(),
        Err(e) => {
            snap.problems
                .push(format!("cannot list files at `{}`: {e}", base.name));
            return snap;
        }
    };
    // Migration packages at the base: `*/migrations/` with an `__init__.py`, and the
    // folders MIGRATION_MODULES points at today.
    let mut dirs: BTreeSet<String> = files
        .iter()
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
    let mut jobs: Vec<(String, String, String)> = Vec::new();
    for f in &files {
        if f.split('/').any(|c| SKIPPED_DIRS.contains(&c)) {
            continue;
        }
        let Some((dir, file)) = f.rsplit_once('/') else {
            continue;
        };
        if !dirs.contains(dir) || !files.contains(&format!("{dir}/__init__.py")) {
            continue;
        }
        let Some(stem) = file.strip_suffix(".py") else {
            continue;
        };
        if stem.starts_with('_') || stem.starts_with('~') {
            continue;
        }
        let app_dir = dir.strip_suffix("/migrations").unwrap_or(dir);
        let label = label_now
            .get(dir)
            .map(|l| (*l).to_owned())
            .unwrap_or_else(|| app_dir.rsplit('/').next().unwrap_or(app_dir).to_owned());
        jobs.push((f.clone(), label, stem.to_owned()));
    }
    // Labels set in an apps.py that no longer exists are read from the base too.
    let apps_py: Vec<String> = jobs
        .iter()
        .filter(|(f, _, _)| {
            let dir = f.rsplit_once('/').map_or("", |(d, _)| d);
            !label_now.contains_key(dir)
        })
        .filter_map(|(f, _, _)| {
            f.rsplit_once("/migrations/")
                .map(|(d, _)| format!("{d}/apps.py"))
        })
        .filter(|p| files.contains(p))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let full = |p: &str| {
        if prefix.is_empty() {
            p.to_owned()
        } else {
            format!("{prefix}/{p}")
        }
    };
    if let Ok(contents) =
        git::read_files(base, &apps_py.iter().map(|p| full(p)).collect::<Vec<_>>())
    {
        for (p, c) in apps_py.iter().zip(contents) {
            let Some(text) = c.and_then(|b| String::from_utf8(b).ok()) else {
                continue;
            };
            let Some(label) = crate::venv::label_in_text(&text) else {
                continue;
            };
            let dir = p.trim_end_matches("/apps.py");
            for j in &mut jobs {
                if j.0.starts_with(&format!("{dir}/migrations/")) {
                    j.1 = label.clone();
                }
            }
        }
    }
    let contents = match git::read_files(
        base,
        &jobs.iter().map(|(f, _, _)| full(f)).collect::<Vec<_>>(),
    ) {
        Ok(c) => c,
        Err(e) => {
            snap.problems
                .push(format!("cannot read files at `{}`: {e}", base.name));
            return snap;
        }
    };
    let cx = ExtractContext { user_app_label };
    let decoded: Vec<Option<BaseMigration>> = jobs
        .par_iter()
        .zip(contents.into_par_iter())
        .map(|((path, app, name), bytes)| {
            let text = djcheck_python::decode(&bytes?).ok()?;
            let parsed = crate::parse_checked(&text, &djcheck_python::Limits::default()).ok()?;
            let m = migration::extract(FileId(0), app, name, parsed.body(), &cx);
            m.class_range?;
            Some(BaseMigration {
                app: app.clone(),
                name: name.clone(),
                path: path.clone(),
                fingerprint: m.operations_fingerprint,
                operation_count: m.operations.len(),
                replaces: m.replaces.iter().map(|r| r.key.clone()).collect(),
            })
        })
        .collect();
    snap.migrations = decoded.into_iter().flatten().collect();
    snap.migrations.sort_by_key(BaseMigration::key);
    snap
}
