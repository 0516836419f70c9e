//! Records the git commit the binary is built from, for `djcheck --version`.
//!
//! Outside a git checkout (a source archive) or without git, the commit is taken from
//! `DJCHECK_COMMIT` when set, and otherwise left out.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// Reruns the script when this git file changes. Only files that exist: Cargo reruns a
/// script on every build when a watched path is missing.
fn watch(dir: &Path, rel: Option<String>) {
    if let Some(p) = rel.map(|r| dir.join(r)).filter(|p| p.exists()) {
        println!("cargo:rerun-if-changed={}", p.display());
    }
}

fn main() {
    println!("cargo:rerun-if-env-changed=DJCHECK_COMMIT");
    let dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".to_owned());
    let dir = Path::new(&dir);
    let commit = std::env::var("DJCHECK_COMMIT")
        .ok()
        .filter(|c| !c.trim().is_empty())
        .or_else(|| {
            // Only this repository's own history: a source archive unpacked inside some
            // other repository must not report that repository's commit.
            let top = git(dir, &["rev-parse", "--show-toplevel"])?;
            let ours = Path::new(&top).join("crates/cli").canonicalize().ok()?;
            if dir.canonicalize().ok()? != ours {
                return None;
            }
            let hash = git(dir, &["rev-parse", "--short=9", "HEAD"])?;
            let date = git(dir, &["log", "-1", "--format=%cs", "HEAD"]).unwrap_or_default();
            // Rebuild when HEAD moves: HEAD itself (a branch switch) and the branch it
            // names (a commit). In a worktree these live in different folders.
            for path in ["HEAD", "packed-refs"] {
                watch(dir, git(dir, &["rev-parse", "--git-path", path]));
            }
            if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
                watch(dir, git(dir, &["rev-parse", "--git-path", &branch]));
            }
            Some(if date.is_empty() {
                hash
            } else {
                format!("{hash} {date}")
            })
        });
    let version = std::env::var("CARGO_PKG_VERSION").unwrap_or_default();
    match commit {
        Some(c) => println!("cargo:rustc-env=DJCHECK_VERSION={version} ({c})"),
        None => println!("cargo:rustc-env=DJCHECK_VERSION={version}"),
    }
}
