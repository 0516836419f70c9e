//! Reading a base revision from git, for rename detection (`--base REF`).
//!
//! djcheck only reads: `rev-parse`, `ls-tree`, `cat-file --batch`, `diff --name-only` and
//! `ls-files`. It never writes to the repository (no index refresh, no checkout).

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A git problem, ready to print.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitError(pub String);

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resolved base revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseRef {
    /// The repository's top-level folder.
    pub repo: PathBuf,
    /// The commit the user's REF names.
    pub commit: String,
    /// What the user wrote (`origin/main`).
    pub name: String,
}

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        // Never refresh the index or take locks: djcheck only reads.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(GitError(err.trim().to_owned()));
    }
    Ok(out.stdout)
}

/// Resolves `name` to a commit of the repository holding `root`.
pub fn resolve(root: &Path, name: &str) -> Result<BaseRef, GitError> {
    let top = git(root, &["rev-parse", "--show-toplevel"]).map_err(|_| {
        GitError(format!(
            "`{}` is not inside a git repository: --base needs one",
            root.display()
        ))
    })?;
    let repo = PathBuf::from(String::from_utf8_lossy(&top).trim());
    let spec = format!("{name}^{{commit}}");
    let commit = git(&repo, &["rev-parse", "--verify", "--quiet", &spec])
        .map_err(|_| GitError(format!("unknown git revision `{name}`")))?;
    let commit = String::from_utf8_lossy(&commit).trim().to_owned();
    if commit.is_empty() {
        return Err(GitError(format!("unknown git revision `{name}`")));
    }
    Ok(BaseRef {
        repo,
        commit,
        name: name.to_owned(),
    })
}

/// Files (repository-relative paths) of the base commit under `prefix` (a
/// repository-relative folder, `""` for all).
pub fn list_files(base: &BaseRef, prefix: &str) -> Result<Vec<String>, GitError> {
    let mut args = vec!["ls-tree", "-r", "-z", "--name-only", &base.commit];
    if !prefix.is_empty() {
        args.push("--");
        args.push(prefix);
    }
    let out = git(&base.repo, &args)?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect())
}

/// Contents of files at the base commit, in the order asked; `None` for a file that is
/// not a blob there. One `git cat-file --batch` process for all of them.
pub fn read_files(base: &BaseRef, paths: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
    if paths.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(&base.repo)
        .env("GIT_OPTIONAL_LOCKS", "0")
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    let mut input = String::new();
    for p in paths {
        input.push_str(&format!("{}:{p}\n", base.commit));
    }
    // Write from a thread so a large output cannot dead-lock against our writes.
    let mut stdin = child
        .stdin
        .take()
        .ok_or_else(|| GitError("git: no stdin".to_owned()))?;
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .ok_or_else(|| GitError("git: no stdout".to_owned()))?
        .read_to_end(&mut out)
        .map_err(|e| GitError(format!("git cat-file: {e}")))?;
    let _ = writer.join();
    let _ = child.wait();
    // `<sha> blob <size>\n<content>\n` or `<spec> missing\n`.
    let mut results = Vec::with_capacity(paths.len());
    let mut pos = 0usize;
    for _ in paths {
        let Some(nl) = out[pos..].iter().position(|b| *b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&out[pos..pos + nl]).into_owned();
        pos += nl + 1;
        let parts: Vec<&str> = header.split(' ').collect();
        if parts.len() == 3 && parts[1] == "blob" {
            let size: usize = parts[2].parse().unwrap_or(0);
            let end = (pos + size).min(out.len());
            results.push(Some(out[pos..end].to_vec()));
            pos = end + 1;
        } else if parts.len() == 3 {
            // A tree or another object: skip its content.
            let size: usize = parts[2].parse().unwrap_or(0);
            pos = (pos + size + 1).min(out.len());
            results.push(None);
        } else {
            results.push(None);
        }
    }
    while results.len() < paths.len() {
        results.push(None);
    }
    Ok(results)
}

/// Files (repository-relative) that differ between the base commit and the working tree:
/// committed, staged and unstaged changes, and untracked files.
pub fn changed_files(base: &BaseRef) -> Result<BTreeSet<String>, GitError> {
    let mut out = BTreeSet::new();
    let diff = git(
        &base.repo,
        &["diff", "--name-only", "-z", "--no-renames", &base.commit],
    )?;
    let untracked = git(
        &base.repo,
        &["ls-files", "-z", "--others", "--exclude-standard"],
    )?;
    for chunk in diff.split(|b| *b == 0).chain(untracked.split(|b| *b == 0)) {
        if !chunk.is_empty() {
            out.insert(String::from_utf8_lossy(chunk).into_owned());
        }
    }
    Ok(out)
}
