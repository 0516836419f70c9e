//! Reading a base revision from git, for rename detection and diff mode.
//!
//! djcheck only reads, and runs nothing the analysed repository configures. Every call
//! gets `-c core.fsmonitor=false -c core.hooksPath=/dev/null` (no fsmonitor command, no
//! hook) and only tree-level plumbing is used: `rev-parse`, `merge-base`, `ls-tree` and
//! `cat-file --batch`, none of which reads the index, runs a filter or a diff driver, or
//! writes to `.git`. The working tree is compared with the base by hashing files here, in
//! process, against the blob ids `ls-tree` lists, never with `git diff` (which refreshes
//! the index, runs the fsmonitor and clean filters, and may rewrite `.git/index`).

use std::collections::BTreeMap;
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

/// How the base revision was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum BaseKind {
    /// `--base REF`: the merge-base of REF and `HEAD`; diagnostics are limited to files
    /// changed since (diff mode).
    Explicit,
    /// No `--base` in a git repository: `HEAD`, for renames and deletions of migrations
    /// that are staged or in the working tree. Every diagnostic is still reported.
    Head,
}

/// A resolved base revision.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BaseRef {
    /// The repository's top-level folder.
    pub repo: PathBuf,
    /// The commit compared with: the merge-base of REF and `HEAD` (or `HEAD`).
    pub commit: String,
    /// What the user wrote (`origin/main`), or `HEAD`.
    pub name: String,
    pub kind: BaseKind,
    /// Why REF's own tip is compared with instead of a merge-base (no common history,
    /// e.g. a shallow clone), to tell the user.
    pub fallback: Option<String>,
}

/// Settings that keep git from running anything the repository configures.
const SAFE_CONFIG: &[&str] = &[
    "-c",
    "core.fsmonitor=false",
    "-c",
    "core.hooksPath=/dev/null",
];

fn command(repo: &Path) -> Command {
    let mut c = Command::new("git");
    c.arg("-C")
        .arg(repo)
        .args(SAFE_CONFIG)
        // Never refresh the index or take locks, never ask for credentials.
        .env("GIT_OPTIONAL_LOCKS", "0")
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(Stdio::null());
    c
}

fn git(repo: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = command(repo)
        .args(args)
        .output()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(GitError(err.trim().to_owned()));
    }
    Ok(out.stdout)
}

fn trimmed(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).trim().to_owned()
}

fn toplevel(root: &Path) -> Result<PathBuf, GitError> {
    let top = git(root, &["rev-parse", "--show-toplevel"])?;
    let top = trimmed(&top);
    if top.is_empty() {
        return Err(GitError("no work tree".to_owned()));
    }
    Ok(PathBuf::from(top))
}

fn commit_of(repo: &Path, name: &str) -> Option<String> {
    let spec = format!("{name}^{{commit}}");
    let out = git(repo, &["rev-parse", "--verify", "--quiet", &spec]).ok()?;
    let c = trimmed(&out);
    (!c.is_empty()).then_some(c)
}

/// Resolves `--base REF` for the repository holding `root`: the merge-base of REF and
/// `HEAD`, which is what a pull request changes (REF's tip when they share no history).
pub fn resolve(root: &Path, name: &str) -> Result<BaseRef, GitError> {
    let repo = toplevel(root).map_err(|_| {
        GitError(format!(
            "`{}` is not inside a git repository: --base needs one",
            root.display()
        ))
    })?;
    if name.starts_with('-') {
        return Err(GitError(format!("unknown git revision `{name}`")));
    }
    let tip =
        commit_of(&repo, name).ok_or_else(|| GitError(format!("unknown git revision `{name}`")))?;
    let (commit, fallback) = match commit_of(&repo, "HEAD") {
        None => (tip, None),
        Some(head) => match git(&repo, &["merge-base", &tip, &head]) {
            Ok(out) if !trimmed(&out).is_empty() => (trimmed(&out), None),
            _ => (
                tip,
                Some(format!(
                    "`{name}` and `HEAD` have no common history here (a shallow clone?): comparing with `{name}` itself"
                )),
            ),
        },
    };
    Ok(BaseRef {
        repo,
        commit,
        name: name.to_owned(),
        kind: BaseKind::Explicit,
        fallback,
    })
}

/// `HEAD` of the repository holding `root`, when there is one with a commit: the implicit
/// base. `None` outside a repository, before the first commit, or when git is missing;
/// nothing is reported then.
pub fn head(root: &Path) -> Option<BaseRef> {
    // No `.git` above the root: not a repository, and no process is started.
    root.ancestors().find(|d| d.join(".git").exists())?;
    let repo = toplevel(root).ok()?;
    let commit = commit_of(&repo, "HEAD")?;
    Some(BaseRef {
        repo,
        commit,
        name: "HEAD".to_owned(),
        kind: BaseKind::Head,
        fallback: None,
    })
}

/// What `HEAD` of the repository above `root` resolves to, read from the files git keeps
/// it in: the repository's `.git` (a folder, or a worktree's file naming its folder), its
/// `HEAD`, the loose ref `HEAD` names, and otherwise the size and time of `packed-refs`.
/// Any commit, checkout, reset or branch update changes one of them. `None` when there
/// is no `.git` above `root`.
fn head_fingerprint(root: &Path) -> Option<Vec<u8>> {
    // git's own files are small; anything else is not what git wrote.
    let small = |p: &Path| crate::fs::read_bytes(p, 1 << 16).ok_or(());
    let dot_git = root
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|g| g.exists())?;
    let mut out = dot_git.as_os_str().as_encoded_bytes().to_vec();
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        let link = small(&dot_git).ok()?;
        out.push(0);
        out.extend_from_slice(&link);
        let path = trimmed(link.strip_prefix(b"gitdir:")?);
        let dir = PathBuf::from(path);
        if dir.is_absolute() {
            dir
        } else {
            dot_git.parent()?.join(dir)
        }
    };
    let head = small(&git_dir.join("HEAD")).ok()?;
    out.push(0);
    out.extend_from_slice(&head);
    // Refs live in the common folder of a worktree's repository.
    let common = match small(&git_dir.join("commondir")) {
        Ok(c) => git_dir.join(trimmed(&c)),
        Err(_) => git_dir.clone(),
    };
    if let Some(name) = head.strip_prefix(b"ref:") {
        let name = trimmed(name);
        for dir in [&git_dir, &common] {
            out.push(0);
            if let Ok(r) = small(&dir.join(&name)) {
                out.extend_from_slice(&r);
            }
        }
        out.push(0);
        if let Ok(meta) = std::fs::metadata(common.join("packed-refs")) {
            out.extend_from_slice(&meta.len().to_le_bytes());
            if let Ok(t) = meta.modified() {
                out.extend_from_slice(format!("{t:?}").as_bytes());
            }
        }
    }
    Some(out)
}

/// The base revision of a load: known, or still being asked of git on a thread of its own
/// ([`Base::head_in_background`]). The implicit base (`HEAD`) is only needed by rename
/// detection, after the tree is walked and parsed, so the two git processes it takes run
/// meanwhile instead of before. Clones share the answer.
#[derive(Clone, Default)]
pub struct Base(std::sync::Arc<BaseCell>);

#[derive(Default)]
struct BaseCell {
    value: std::sync::OnceLock<Option<BaseRef>>,
    pending: std::sync::Mutex<Option<std::thread::JoinHandle<Option<BaseRef>>>>,
}

impl Base {
    /// A base already resolved (or none).
    pub fn known(base: Option<BaseRef>) -> Base {
        let cell = BaseCell::default();
        let _ = cell.value.set(base);
        Base(std::sync::Arc::new(cell))
    }

    /// [`head`] of `root`, asked on another thread from now on; [`Base::get`] waits
    /// for it. Asked here when no thread can be started.
    pub fn head_in_background(root: &Path) -> Base {
        let owned = root.to_owned();
        let spawned = std::thread::Builder::new()
            .name("djcheck-git-head".to_owned())
            .spawn(move || head(&owned));
        match spawned {
            Ok(handle) => Base(std::sync::Arc::new(BaseCell {
                value: std::sync::OnceLock::new(),
                pending: std::sync::Mutex::new(Some(handle)),
            })),
            Err(_) => Base::known(head(root)),
        }
    }

    /// The base revision, once resolved; `None` when there is none (no repository, no
    /// commit, git missing or failing).
    pub fn get(&self) -> Option<&BaseRef> {
        self.0
            .value
            .get_or_init(|| {
                let handle = self.0.pending.lock().ok().and_then(|mut p| p.take());
                handle.and_then(|h| h.join().ok()).flatten()
            })
            .as_ref()
    }
}

impl std::fmt::Debug for Base {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.get().fmt(f)
    }
}

/// [`head`], asked of git again only when what HEAD resolves to may have changed since
/// the last call for the same root ([`head_fingerprint`]): a language server asks before
/// every check, and two git processes take milliseconds.
pub fn head_memo(root: &Path) -> Option<BaseRef> {
    type Memo = BTreeMap<PathBuf, (Vec<u8>, Option<BaseRef>)>;
    static MEMO: std::sync::Mutex<Memo> = std::sync::Mutex::new(BTreeMap::new());
    let Some(print) = head_fingerprint(root) else {
        return head(root);
    };
    if let Ok(memo) = MEMO.lock() {
        if let Some((p, found)) = memo.get(root) {
            if *p == print {
                return found.clone();
            }
        }
    }
    let found = head(root);
    if let Ok(mut memo) = MEMO.lock() {
        memo.insert(root.to_owned(), (print, found.clone()));
    }
    found
}

/// A file of the base commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TreeFile {
    /// `100644`, `100755` or `120000` (a symbolic link).
    pub mode: String,
    /// The blob id.
    pub oid: String,
}

/// Files (repository-relative paths) of the base commit under `prefix` (a
/// repository-relative folder, `""` for all), with their blob ids.
pub fn list_files(base: &BaseRef, prefix: &str) -> Result<BTreeMap<String, TreeFile>, GitError> {
    let mut args = vec!["ls-tree", "-r", "-z", "--full-tree", &base.commit];
    let spec = format!("{prefix}/");
    if !prefix.is_empty() {
        args.push("--");
        args.push(&spec);
    }
    let out = git(&base.repo, &args)?;
    let mut files = BTreeMap::new();
    // `<mode> SP <type> SP <object> TAB <path>` NUL
    for entry in out.split(|b| *b == 0).filter(|e| !e.is_empty()) {
        let Some(tab) = entry.iter().position(|b| *b == b'\t') else {
            continue;
        };
        let head = String::from_utf8_lossy(&entry[..tab]);
        let mut parts = head.split(' ');
        let (Some(mode), Some(kind), Some(oid)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        if kind != "blob" {
            continue;
        }
        files.insert(
            String::from_utf8_lossy(&entry[tab + 1..]).into_owned(),
            TreeFile {
                mode: mode.to_owned(),
                oid: oid.to_owned(),
            },
        );
    }
    Ok(files)
}

/// Contents of blobs, in the order asked; `None` for an id that is not a blob. One
/// `git cat-file --batch` process for all of them (no filters, no text conversion).
pub fn read_blobs(base: &BaseRef, oids: &[String]) -> Result<Vec<Option<Vec<u8>>>, GitError> {
    if oids.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = command(&base.repo)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| GitError(format!("cannot run git: {e}")))?;
    let mut input = String::new();
    for oid in oids {
        // Object ids only: a path could hold a newline and break the protocol.
        if oid.bytes().all(|b| b.is_ascii_hexdigit()) {
            input.push_str(oid);
        }
        input.push('\n');
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
    let read = child
        .stdout
        .take()
        .ok_or_else(|| GitError("git: no stdout".to_owned()))?
        .read_to_end(&mut out);
    let _ = writer.join();
    let _ = child.wait();
    read.map_err(|e| GitError(format!("git cat-file: {e}")))?;
    Ok(parse_batch(&out, oids.len()))
}

/// `<oid> <type> <size>\n<content>\n`, or `<input> missing\n` (also for an empty line).
fn parse_batch(out: &[u8], n: usize) -> Vec<Option<Vec<u8>>> {
    let mut results = Vec::with_capacity(n);
    let mut pos = 0usize;
    while results.len() < n && pos < out.len() {
        let Some(nl) = out[pos..].iter().position(|b| *b == b'\n') else {
            break;
        };
        let header = String::from_utf8_lossy(&out[pos..pos + nl]).into_owned();
        pos += nl + 1;
        let parts: Vec<&str> = header.split(' ').collect();
        match parts.as_slice() {
            [_, kind, size] => {
                let size: usize = size.parse().unwrap_or(0);
                let end = pos.saturating_add(size).min(out.len());
                results.push((*kind == "blob").then(|| out[pos..end].to_vec()));
                pos = end.saturating_add(1);
            }
            _ => results.push(None),
        }
    }
    results.resize(n, None);
    results
}

/// The repository's object format: git's blob ids are SHA-1 unless it says `sha256`.
pub fn uses_sha1(base: &BaseRef) -> bool {
    match git(&base.repo, &["rev-parse", "--show-object-format"]) {
        Ok(out) => trimmed(&out) != "sha256",
        Err(_) => true,
    }
}

/// Git's SHA-1 blob id of `content`.
pub fn blob_id(content: &[u8]) -> String {
    let mut h = sha1_smol::Sha1::new();
    h.update(format!("blob {}\0", content.len()).as_bytes());
    h.update(content);
    h.digest().to_string()
}

/// Whether a working-tree file holds what the base's blob `oid` holds. Line endings are
/// compared as git's `core.autocrlf`/`text` attributes store them (CRLF as LF) when the
/// bytes differ; other clean filters are not run, so a file they would change counts as
/// changed (it is then reported rather than hidden).
pub fn same_blob(content: &[u8], oid: &str) -> bool {
    if blob_id(content) == oid {
        return true;
    }
    if !content.windows(2).any(|w| w == b"\r\n") {
        return false;
    }
    let mut lf = Vec::with_capacity(content.len());
    let mut i = 0;
    while i < content.len() {
        if content[i] == b'\r' && content.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        lf.push(content[i]);
        i += 1;
    }
    blob_id(&lf) == oid
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_ids_are_gits() {
        // `git hash-object` of an empty file and of "hello\n".
        assert_eq!(blob_id(b""), "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391");
        assert_eq!(
            blob_id(b"hello\n"),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
        assert!(same_blob(
            b"hello\r\n",
            "ce013625030ba8dba906f756967f9e9ca394464a"
        ));
        assert!(!same_blob(
            b"hello\r\n!",
            "ce013625030ba8dba906f756967f9e9ca394464a"
        ));
    }

    #[test]
    fn head_memo_follows_what_head_resolves_to() {
        let tmp = tempfile::Builder::new()
            .prefix("djcheck-head-memo-")
            .tempdir()
            .unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(&root).unwrap();
        let git = |dir: &Path, args: &[&str]| {
            let ok = Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
                .args([
                    "-c",
                    "commit.gpgsign=false",
                    "-c",
                    "init.defaultBranch=main",
                ])
                .args(args)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .unwrap()
                .success();
            assert!(ok, "git {args:?}");
        };
        let commit = |dir: &Path, text: &str| {
            std::fs::write(dir.join("f.txt"), text).unwrap();
            git(dir, &["add", "f.txt"]);
            git(dir, &["commit", "-q", "-m", text]);
        };
        let same = |dir: &Path| {
            let memo = head_memo(dir);
            assert_eq!(memo, head(dir));
            memo.map(|b| b.commit)
        };
        git(&root, &["init", "-q"]);
        // An unborn branch: no commit yet.
        assert_eq!(same(&root), None);
        commit(&root, "one");
        let one = same(&root);
        assert!(one.is_some());
        assert_eq!(same(&root), one);
        commit(&root, "two");
        let two = same(&root);
        assert_ne!(two, one);
        git(&root, &["checkout", "-q", "--detach", "HEAD~1"]);
        assert_eq!(same(&root), one);
        git(&root, &["checkout", "-q", "main"]);
        assert_eq!(same(&root), two);
        // Packed refs: the loose one goes, then comes back with the next commit.
        git(&root, &["pack-refs", "--all"]);
        assert_eq!(same(&root), two);
        commit(&root, "three");
        let three = same(&root);
        assert_ne!(three, two);
        // A worktree: a `.git` file naming its folder, refs in the common one.
        let wt = tmp.path().join("wt");
        git(
            &root,
            &["worktree", "add", "-q", "-b", "side", wt.to_str().unwrap()],
        );
        assert_eq!(same(&wt), three);
        commit(&wt, "four");
        let four = same(&wt);
        assert_ne!(four, three);
        assert_eq!(same(&root), three);
        // Outside any repository.
        assert_eq!(head_memo(tmp.path()), None);
    }

    #[test]
    fn batch_output() {
        let out = b"aa blob 3\nabc\nbb missing\ncc tree 2\nxy\ndd blob 0\n\n";
        assert_eq!(
            parse_batch(out, 4),
            vec![Some(b"abc".to_vec()), None, None, Some(Vec::new())]
        );
        assert_eq!(
            parse_batch(b"aa blob 9\nab", 2),
            vec![Some(b"ab".to_vec()), None]
        );
    }
}
