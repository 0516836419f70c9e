//! Walking the project tree: which files exist, which folders are skipped.

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// Folder names never descended into.
pub const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".venv",
    "venv",
    "node_modules",
    "site-packages",
    "build",
    "dist",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".djcheck_cache",
];

/// What the walk found.
#[derive(Debug, Default)]
pub struct Tree {
    /// Python files, relative to the root, `/`-separated, sorted.
    pub py_files: BTreeSet<String>,
    /// Template files (`.html`, `.txt` under a `templates` folder), sorted.
    pub templates: BTreeSet<String>,
    /// Virtualenvs found (folders holding `pyvenv.cfg`), relative paths.
    pub venvs: Vec<PathBuf>,
    /// Problems met while walking (symlink loops, unreadable folders), by relative path.
    pub problems: Vec<(String, String)>,
    /// Files whose path is not valid UTF-8: the real path, by the (lossy) relative path
    /// used everywhere else, so that reading them opens the file that was found.
    pub os_paths: std::collections::BTreeMap<String, PathBuf>,
}

/// Converts a path under `root` to the `/`-separated relative form used everywhere.
pub fn rel_path(root: &Path, path: &Path) -> String {
    // What the walk gives: `root` itself followed by `/` and the rest, which needs no
    // parsing into components.
    #[cfg(unix)]
    {
        let (r, p) = (
            root.as_os_str().as_encoded_bytes(),
            path.as_os_str().as_encoded_bytes(),
        );
        if let Some(rest) = p.strip_prefix(r).and_then(|x| x.strip_prefix(b"/")) {
            if let Ok(text) = std::str::from_utf8(rest) {
                if is_plain(text) && !r.is_empty() && !r.ends_with(b"/") {
                    return text.to_owned();
                }
            }
        }
    }
    let rel = path.strip_prefix(root).unwrap_or(path);
    // The usual case: UTF-8, already `/`-separated, with nothing to normalise.
    #[cfg(unix)]
    if let Some(text) = rel.to_str() {
        if is_plain(text) {
            return text.to_owned();
        }
    }
    by_components(rel)
}

/// A relative path that [`by_components`] would give back unchanged.
#[cfg(unix)]
fn is_plain(text: &str) -> bool {
    !(text.starts_with('/')
        || text.starts_with("./")
        || text.ends_with('/')
        || text.ends_with("/.")
        || text.contains("//")
        || text.contains("/./"))
}

fn by_components(rel: &Path) -> String {
    let mut s = String::new();
    for (i, c) in rel.components().enumerate() {
        if i > 0 {
            s.push('/');
        }
        s.push_str(&c.as_os_str().to_string_lossy());
    }
    s
}

fn gitignore_for(root: &Path) -> Option<Gitignore> {
    let mut b = GitignoreBuilder::new(root);
    let mut any = false;
    for f in [root.join(".gitignore"), root.join(".git/info/exclude")] {
        if f.is_file() {
            // A malformed line is skipped by the builder; the rest still applies.
            let _ = b.add(f);
            any = true;
        }
    }
    if !any {
        return None;
    }
    b.build().ok()
}

/// Version-control folders: skipped even when the config's `exclude` replaces the
/// default list, since they never hold the project's Python.
pub const VCS_DIRS: &[&str] = &[".git", ".hg", ".svn"];

/// Walks `root`, following symlinks (loops are reported, not followed), skipping the
/// default folders ([`SKIPPED_DIRS`]).
pub fn walk(root: &Path, exclude: &dyn Fn(&str, bool) -> bool) -> Tree {
    walk_skipping(root, SKIPPED_DIRS, exclude)
}

/// Like [`walk`], skipping the folders named in `skip` instead of the defaults (the
/// config's `exclude` replaces them). Virtualenvs (folders holding `pyvenv.cfg`) are
/// always skipped, and recorded.
pub fn walk_skipping(root: &Path, skip: &[&str], exclude: &dyn Fn(&str, bool) -> bool) -> Tree {
    let mut tree = Tree::default();
    let gi = gitignore_for(root);
    // In the order the file system lists entries: what is kept is sorted below (sorting
    // every folder's entries by name as they are read took a third of the walk).
    let mut it = WalkDir::new(root).follow_links(true).into_iter();
    loop {
        let entry = match it.next() {
            None => break,
            Some(Ok(e)) => e,
            Some(Err(e)) => {
                let path = e.path().map(|p| rel_path(root, p)).unwrap_or_default();
                let msg = if e.loop_ancestor().is_some() {
                    "symbolic link loop: not followed".to_owned()
                } else {
                    e.io_error()
                        .map_or_else(|| e.to_string(), |io| io.to_string())
                };
                tree.problems.push((path, msg));
                continue;
            }
        };
        if entry.depth() == 0 {
            continue;
        }
        let path = entry.path();
        let is_dir = entry.file_type().is_dir();
        let rel = rel_path(root, path);
        if is_dir {
            let name = entry.file_name().to_string_lossy();
            if path.join("pyvenv.cfg").is_file() {
                tree.venvs.push(PathBuf::from(&rel));
                it.skip_current_dir();
                continue;
            }
            if skip.contains(&name.as_ref())
                || gi
                    .as_ref()
                    .is_some_and(|g| g.matched(path, true).is_ignore())
                || exclude(&rel, true)
            {
                it.skip_current_dir();
            }
            continue;
        }
        if gi
            .as_ref()
            .is_some_and(|g| g.matched(path, false).is_ignore())
            || exclude(&rel, false)
        {
            continue;
        }
        if path.to_str().is_none()
            && (rel.ends_with(".py") || rel.ends_with(".html") || rel.ends_with(".txt"))
        {
            tree.os_paths.insert(rel.clone(), path.to_owned());
        }
        if rel.ends_with(".py") {
            tree.py_files.insert(rel);
        } else if (rel.ends_with(".html") || rel.ends_with(".txt"))
            && rel.split('/').any(|c| c == "templates")
        {
            tree.templates.insert(rel);
        }
    }
    tree.venvs.sort_unstable();
    tree.problems.sort_unstable();
    tree
}

#[cfg(test)]
mod tests {
    #[cfg(unix)]
    #[test]
    fn plain_paths_are_what_their_components_give() {
        assert!(super::is_plain("a/b.py") && !super::is_plain("a//b"));
        use std::path::Path;
        for p in [
            "",
            ".",
            "a",
            "a/b.py",
            "a/./b",
            "./a",
            "a//b",
            "a/",
            "a/.",
            "/a/b",
            "../a",
            "a/..",
            ".hidden/x.py",
            "a/.b",
            "a./b",
        ] {
            // Plain: the text is the answer. Otherwise the components decide.
            assert!(
                !super::is_plain(p) || super::by_components(Path::new(p)) == p,
                "{p:?}"
            );
        }
    }
}
