//! Shared helpers for djcheck's integration tests. The tests call the CLI in memory
//! through [`djcheck`], the one function that touches its API.

pub mod fuzzing;

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Runs `djcheck ARGS` with `cwd` as working directory: `(exit code, stdout, stderr)`.
pub fn djcheck(args: &[&str], cwd: &Path) -> (i32, String, String) {
    djcheck_cli::run_captured(args, cwd, "")
}

/// Like [`djcheck`] with text on standard input.
pub fn djcheck_stdin(args: &[&str], cwd: &Path, stdin: &str) -> (i32, String, String) {
    djcheck_cli::run_captured(args, cwd, stdin)
}

/// Every fixture project: `fixtures/<family>/<CODE>_<name>/{fires,silent}`, sorted.
pub fn fixture_projects() -> Vec<PathBuf> {
    let mut out = Vec::new();
    let root = workspace_root().join("fixtures");
    let Ok(families) = std::fs::read_dir(&root) else {
        return out;
    };
    for fam in families.flatten() {
        let Ok(rules) = std::fs::read_dir(fam.path()) else {
            continue;
        };
        for rule in rules.flatten() {
            for kind in ["fires", "silent"] {
                let p = rule.path().join(kind);
                if p.is_dir() {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// A fixture about a change (`before/` and `after/` trees, run with `--base`): it is not
/// a project by itself.
pub fn is_change_fixture(dir: &Path) -> bool {
    dir.join("after").is_dir()
}
