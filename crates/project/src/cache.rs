//! The persistent cache of per-file facts (`.djcheck_cache/`).
//!
//! What a migration file gives is a function of its text, its place (app label and
//! migration name), the label of the custom user model's app, the options per-file rules
//! read ([`crate::FileOptions`]), the limits, the per-file rules that run and djcheck
//! itself. The cache keeps, per file, the decoded [`Migration`] (or the problem that kept
//! it from being read) and the per-file rules' diagnostics, so that a run over unchanged
//! files parses nothing. Everything project-wide (settings, apps, graph, model state, URL
//! tree, project rules, suppressions) is recomputed on every run from these facts.
//!
//! Layout: `<cache-dir>/<key>/<shard>.bin`, where `key` hashes everything every entry
//! depends on (djcheck's build, the rules, the options, the limits) and files are spread
//! over [`SHARDS`] shards by path, so that a change rewrites one shard. Each entry also
//! records its file's content hash and its context (app, name, user model app): an entry
//! that does not match is a miss. `<cache-dir>/.gitignore` (`*`) and `CACHEDIR.TAG` are
//! written when the folder is made.
//!
//! Each entry's outcome is stored as its own encoded bytes. Opening a shard reads the
//! paths and hashes only; an outcome is decoded when its file is looked up and hits (on
//! the loader's threads, in parallel), and what is never looked up is never decoded.
//!
//! Trust: a shard is read only when its magic, format, key and checksum match; anything
//! else (a truncated or corrupt file, another version's) is ignored and rewritten. Writes
//! go to a temporary file renamed over the shard, so a concurrent run reads the old shard
//! or the new one, never half of one; two runs writing the same shard both write
//! complete, valid shards (the last rename wins).
//!
//! Long-running use (an editor's language server): open a [`FileCache`] once, call
//! [`crate::load_with_cache()`] with it for every check; an edited buffer
//! (`LoadOptions::overrides`) misses by its content hash while every other file hits.
//! The buffer's entry replaces the file's in its shard (an entry is valid for the text it
//! was made from, whichever that is), so the next run over the saved file misses once.

use crate::migration::Migration;
use crate::ProblemKind;
use djcheck_diagnostics::{
    Applicability, Diagnostic, Edit, FileId, Fix, Label, NewFile, Severity, Span, TextRange,
};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Version of the file format: bump on any change to the cached types.
pub const FORMAT: u32 = 3;
/// Files are spread over this many shards.
pub const SHARDS: usize = 64;
const MAGIC: &[u8; 8] = b"djcheck\0";
/// Cache folders for other keys (other options, rules or builds) kept beside the current
/// one; the least recently written beyond this are removed.
const KEEP_KEYS: usize = 8;
/// A shard larger than this is not read (nothing djcheck writes comes close).
const MAX_SHARD_BYTES: u64 = 1 << 30;

/// What a cached migration file gave.
#[derive(Debug, Clone, Serialize, Deserialize)]
// Entries live in the cache's maps; boxing the migration would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Outcome {
    /// It could not be parsed (syntax errors, nesting too deep).
    Problem(ProblemKind),
    /// Its facts, its per-file diagnostics, and the secrets found by detectors that are
    /// not selected (masked all the same).
    Parsed {
        migration: Migration,
        diagnostics: Vec<CachedDiagnostic>,
        masked: Vec<TextRange>,
    },
}

impl Outcome {
    /// The outcome of a parsed migration `m` of file `file`; `None` when a finding
    /// points into another file (it can't be cached with this file alone).
    pub fn parsed(m: &Migration, findings: &crate::FileFindings, file: FileId) -> Option<Outcome> {
        let diagnostics = findings
            .diagnostics
            .iter()
            .map(|d| CachedDiagnostic::new(d, file))
            .collect::<Option<Vec<_>>>()?;
        let masked = findings
            .masked
            .iter()
            .map(|s| (s.file == file).then_some(s.range))
            .collect::<Option<Vec<_>>>()?;
        Some(Outcome::Parsed {
            migration: m.clone(),
            diagnostics,
            masked,
        })
    }
}

/// A diagnostic as stored on disk, each span written as `S`: a range of the file the
/// entry belongs to ([`CachedDiagnostic`], the per-file cache) or a whole [`Span`] (the
/// run cache).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredDiagnostic<S> {
    code: String,
    severity: Severity,
    message: String,
    primary: Option<S>,
    primary_label: String,
    labels: Vec<(S, String)>,
    notes: Vec<String>,
    help: Option<String>,
    redact: Vec<S>,
    fix: Option<StoredFix<S>>,
}

/// A stored diagnostic's fix.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct StoredFix<S> {
    message: String,
    applicability: Applicability,
    edits: Vec<(S, String)>,
    new_files: Vec<NewFile>,
}

/// A per-file diagnostic, stored without its file (every span is in the file).
pub type CachedDiagnostic = StoredDiagnostic<TextRange>;

impl<S: Copy> StoredDiagnostic<S> {
    /// `d` with each span written by `at`; `None` when `at` refuses one.
    pub fn store(d: &Diagnostic, at: impl Fn(Span) -> Option<S>) -> Option<StoredDiagnostic<S>> {
        Some(StoredDiagnostic {
            code: d.code.to_owned(),
            severity: d.severity,
            message: d.message.clone(),
            primary: match d.primary {
                Some(s) => Some(at(s)?),
                None => None,
            },
            primary_label: d.primary_label.clone(),
            labels: d
                .labels
                .iter()
                .map(|l| Some((at(l.span)?, l.message.clone())))
                .collect::<Option<_>>()?,
            notes: d.notes.clone(),
            help: d.help.clone(),
            redact: d.redact.iter().map(|s| at(*s)).collect::<Option<_>>()?,
            fix: match &d.fix {
                Some(f) => Some(StoredFix {
                    message: f.message.clone(),
                    applicability: f.applicability,
                    edits: f
                        .edits
                        .iter()
                        .map(|e| Some((at(Span::new(e.file, e.range))?, e.content.clone())))
                        .collect::<Option<_>>()?,
                    new_files: f.new_files.clone(),
                }),
                None => None,
            },
        })
    }

    /// The diagnostic, each span read back by `span`; `None` when its rule is not one of
    /// `rules` (code, name).
    pub fn restore_with(
        &self,
        rules: &[(&'static str, &'static str)],
        span: impl Fn(S) -> Span,
    ) -> Option<Diagnostic> {
        let (code, name) = rules.iter().find(|(c, _)| *c == self.code)?;
        Some(Diagnostic {
            code,
            name,
            severity: self.severity,
            message: self.message.clone(),
            primary: self.primary.map(&span),
            primary_label: self.primary_label.clone(),
            labels: self
                .labels
                .iter()
                .map(|(s, m)| Label {
                    span: span(*s),
                    message: m.clone(),
                })
                .collect(),
            notes: self.notes.clone(),
            help: self.help.clone(),
            redact: self.redact.iter().map(|s| span(*s)).collect(),
            fix: self.fix.as_ref().map(|f| Fix {
                message: f.message.clone(),
                applicability: f.applicability,
                edits: f
                    .edits
                    .iter()
                    .map(|(s, c)| {
                        let at = span(*s);
                        Edit::replace(at.file, at.range, c.clone())
                    })
                    .collect(),
                new_files: f.new_files.clone(),
            }),
        })
    }
}

impl CachedDiagnostic {
    /// `None` when a span points into another file (not a per-file finding).
    pub fn new(d: &Diagnostic, file: FileId) -> Option<CachedDiagnostic> {
        StoredDiagnostic::store(d, |s| (s.file == file).then_some(s.range))
    }

    /// The diagnostic in `file`; `None` when its rule is not one of `rules` (code, name).
    pub fn restore(
        &self,
        file: FileId,
        rules: &[(&'static str, &'static str)],
    ) -> Option<Diagnostic> {
        self.restore_with(rules, |r| Span::new(file, r))
    }
}

/// One file's entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// xxh3-128 of the file's text.
    pub hash: u128,
    /// Hash of what the file's facts depend on besides its text (see [`context_hash`]).
    pub context: u64,
    pub outcome: Outcome,
}

/// Where the cache is and what, besides the loader's own options, its entries depend on.
#[derive(Debug, Clone)]
pub struct CacheOptions {
    /// The cache folder (`.djcheck_cache` in the project root by default).
    pub dir: PathBuf,
    /// djcheck's build and the rules that run: part of the key.
    pub salt: String,
    /// Every rule that may have written a cached diagnostic, as (code, name): a cached
    /// diagnostic of another rule makes its entry a miss.
    pub rules: Vec<(&'static str, &'static str)>,
}

/// The hash of a file's text.
pub fn content_hash(text: &str) -> u128 {
    xxhash_rust::xxh3::xxh3_128(text.as_bytes())
}

/// The hash of what a migration's facts depend on besides its text.
pub fn context_hash(app: &str, name: &str, user_app_label: &str) -> u64 {
    let mut s = String::with_capacity(app.len() + name.len() + user_app_label.len() + 2);
    for part in [app, name, user_app_label] {
        s.push_str(part);
        s.push('\0');
    }
    xxhash_rust::xxh3::xxh3_64(s.as_bytes())
}

fn shard_of(rel: &str) -> usize {
    (xxhash_rust::xxh3::xxh3_64(rel.as_bytes()) % SHARDS as u64) as usize
}

/// On-disk form of one shard; read borrowing from the file's bytes.
#[derive(Serialize, Deserialize)]
struct ShardFile<'a> {
    format: u32,
    key: &'a str,
    #[serde(borrow)]
    entries: Vec<StoredRef<'a>>,
}

/// One entry on disk: its outcome stays encoded until looked up.
#[derive(Serialize, Deserialize)]
struct StoredRef<'a> {
    path: &'a str,
    hash: u128,
    context: u64,
    #[serde(borrow)]
    outcome: Bytes<'a>,
}

/// Bytes written as one byte string, read without a copy.
struct Bytes<'a>(&'a [u8]);

impl Serialize for Bytes<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Bytes<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <&'de [u8]>::deserialize(d).map(Bytes)
    }
}

/// An entry in memory: its hashes, and its outcome encoded.
struct Stored {
    hash: u128,
    context: u64,
    outcome: Blob,
}

enum Blob {
    /// In the shard file's bytes ([`Shard::read`]).
    Read(std::ops::Range<usize>),
    /// Stored by this run.
    New(Vec<u8>),
}

#[derive(Default)]
struct Shard {
    /// The shard file as read: entries read from it are ranges of it.
    read: Vec<u8>,
    entries: FxHashMap<String, Stored>,
    /// Paths looked up or stored in this run.
    used: FxHashSet<String>,
    /// Something new was stored, or the file on disk was unusable.
    dirty: bool,
    /// Outcomes already decoded, by path, when the cache keeps them
    /// ([`FileCache::keeping_decoded`]); each is that of the path's entry.
    decoded: FxHashMap<String, Outcome>,
}

impl Shard {
    fn bytes<'s>(&'s self, blob: &'s Blob) -> Option<&'s [u8]> {
        match blob {
            Blob::Read(r) => self.read.get(r.clone()),
            Blob::New(b) => Some(b),
        }
    }
}

/// The cache of one project for one key, shared by the loader's threads.
pub struct FileCache {
    dir: PathBuf,
    key: String,
    rules: Vec<(&'static str, &'static str)>,
    shards: Vec<Mutex<Shard>>,
    /// Keep outcomes once decoded ([`FileCache::keeping_decoded`]).
    keep_decoded: bool,
}

impl FileCache {
    /// Opens the cache for `key` (what every entry depends on), reading its shards in
    /// parallel. A missing, unreadable, corrupt or foreign shard is empty (and rewritten
    /// on save).
    pub fn open(opts: &CacheOptions, key: &str) -> FileCache {
        use rayon::prelude::*;
        let folder = opts.dir.join(key);
        let shards = (0..SHARDS)
            .into_par_iter()
            .map(|i| Mutex::new(read_shard(&folder.join(format!("{i:02}.bin")), key)))
            .collect();
        FileCache {
            dir: opts.dir.clone(),
            key: key.to_owned(),
            rules: opts.rules.clone(),
            shards,
            keep_decoded: false,
        }
    }

    /// The cache, keeping each outcome once decoded: a long-running process that loads
    /// the project again and again (a language server) then copies an unchanged file's
    /// facts instead of decoding them each time, for the memory they take.
    pub fn keeping_decoded(mut self) -> FileCache {
        self.keep_decoded = true;
        self
    }

    /// The rules cached diagnostics may belong to.
    pub fn rules(&self) -> &[(&'static str, &'static str)] {
        &self.rules
    }

    /// The entry of `rel` when it was made from the same text in the same context.
    pub fn get(&self, rel: &str, hash: u128, context: u64) -> Option<Entry> {
        let found = |outcome| Entry {
            hash,
            context,
            outcome,
        };
        let encoded = {
            let mut shard = self.shards[shard_of(rel)].lock().ok()?;
            shard.used.insert(rel.to_owned());
            let e = shard.entries.get(rel)?;
            if e.hash != hash || e.context != context {
                return None;
            }
            if let Some(o) = shard.decoded.get(rel) {
                return Some(found(o.clone()));
            }
            // Copied out, so that the decoding holds no lock.
            shard.bytes(&e.outcome)?.to_vec()
        };
        let outcome: Outcome = postcard::from_bytes(&encoded).ok()?;
        if self.keep_decoded {
            if let Ok(mut shard) = self.shards[shard_of(rel)].lock() {
                // Unless another thread stored another entry meanwhile.
                if shard
                    .entries
                    .get(rel)
                    .is_some_and(|e| e.hash == hash && e.context == context)
                {
                    shard.decoded.insert(rel.to_owned(), outcome.clone());
                }
            }
        }
        Some(found(outcome))
    }

    /// Stores the entry of `rel`.
    pub fn put(&self, rel: &str, entry: Entry) {
        let Ok(encoded) = postcard::to_allocvec(&entry.outcome) else {
            return;
        };
        if let Ok(mut shard) = self.shards[shard_of(rel)].lock() {
            shard.used.insert(rel.to_owned());
            if self.keep_decoded {
                shard.decoded.insert(rel.to_owned(), entry.outcome);
            } else {
                shard.decoded.remove(rel);
            }
            shard.entries.insert(
                rel.to_owned(),
                Stored {
                    hash: entry.hash,
                    context: entry.context,
                    outcome: Blob::New(encoded),
                },
            );
            shard.dirty = true;
        }
    }

    /// Writes the shards that changed, dropping entries of files not looked up since the
    /// last save (deleted or renamed files). Each shard goes to a temporary file renamed over
    /// the old one. Failures (a read-only folder) are ignored: the cache only saves time.
    pub fn save(&self) {
        let folder = self.dir.join(&self.key);
        if std::fs::create_dir_all(&folder).is_err() {
            return;
        }
        write_marker_files(&self.dir);
        // Shards are encoded and written in parallel, each from its entries in place.
        use rayon::prelude::*;
        self.shards.par_iter().enumerate().for_each(|(i, shard)| {
            let Ok(mut shard) = shard.lock() else {
                return;
            };
            let before = shard.entries.len();
            let Shard {
                entries,
                used,
                decoded,
                ..
            } = &mut *shard;
            entries.retain(|k, _| used.contains(k));
            decoded.retain(|k, _| used.contains(k));
            // A cache kept open (a language server) starts each load afresh: what the
            // next load does not look up is dropped at its save.
            used.clear();
            if !shard.dirty && shard.entries.len() == before {
                return;
            }
            let mut entries: Vec<StoredRef<'_>> = shard
                .entries
                .iter()
                .filter_map(|(path, e)| {
                    Some(StoredRef {
                        path,
                        hash: e.hash,
                        context: e.context,
                        outcome: Bytes(shard.bytes(&e.outcome)?),
                    })
                })
                .collect();
            entries.sort_by(|a, b| a.path.cmp(b.path));
            let file = ShardFile {
                format: FORMAT,
                key: &self.key,
                entries,
            };
            if let Ok(bytes) = encode(&file) {
                let _ = write_atomic(&folder.join(format!("{i:02}.bin")), &bytes);
            }
            shard.dirty = false;
        });
        prune(&self.dir, &self.key);
    }
}

fn encode(file: &ShardFile<'_>) -> Result<Vec<u8>, postcard::Error> {
    Ok(frame(MAGIC, FORMAT, &postcard::to_allocvec(file)?))
}

fn decode<'b>(bytes: &'b [u8], key: &str) -> Option<ShardFile<'b>> {
    let file: ShardFile<'b> = postcard::from_bytes(unframe(MAGIC, FORMAT, bytes)?).ok()?;
    (file.format == FORMAT && file.key == key).then_some(file)
}

/// A cache file: `magic`, `format` (little-endian), the payload's xxh3-128 checksum, then
/// the payload.
pub(crate) fn frame(magic: &[u8; 8], format: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 28);
    out.extend_from_slice(magic);
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&xxhash_rust::xxh3::xxh3_128(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a [`frame`]d file, when its magic, format and checksum match.
pub(crate) fn unframe<'b>(magic: &[u8; 8], format: u32, bytes: &'b [u8]) -> Option<&'b [u8]> {
    let rest = bytes.strip_prefix(magic.as_slice())?;
    let (f, rest) = rest.split_at_checked(4)?;
    if u32::from_le_bytes(f.try_into().ok()?) != format {
        return None;
    }
    let (sum, payload) = rest.split_at_checked(16)?;
    (u128::from_le_bytes(sum.try_into().ok()?) == xxhash_rust::xxh3::xxh3_128(payload))
        .then_some(payload)
}

fn read_shard(path: &Path, key: &str) -> Shard {
    let Some(bytes) = crate::fs::read_bytes(path, MAX_SHARD_BYTES) else {
        // Missing: nothing to rewrite unless something is stored.
        return Shard::default();
    };
    let base = bytes.as_ptr() as usize;
    let entries: Option<FxHashMap<String, Stored>> = decode(&bytes, key).map(|file| {
        file.entries
            .into_iter()
            .filter_map(|e| {
                // The outcome borrows from `bytes`: where it lies in them.
                let start = (e.outcome.0.as_ptr() as usize).checked_sub(base)?;
                let stored = Stored {
                    hash: e.hash,
                    context: e.context,
                    outcome: Blob::Read(start..start + e.outcome.0.len()),
                };
                Some((e.path.to_owned(), stored))
            })
            .collect()
    });
    match entries {
        Some(entries) => Shard {
            read: bytes,
            entries,
            ..Shard::default()
        },
        None => Shard {
            dirty: true,
            ..Shard::default()
        },
    }
}

/// Writes `bytes` to a temporary file beside `path` and renames it over `path`.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let tmp = dir.join(format!(".{name}.{}.{nonce}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.flush()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// `.gitignore` (everything) and `CACHEDIR.TAG` (backup tools skip the folder), written
/// once.
pub(crate) fn write_marker_files(dir: &Path) {
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        let _ = write_atomic(&gitignore, b"# Automatically created by djcheck.\n*\n");
    }
    let tag = dir.join("CACHEDIR.TAG");
    if !tag.exists() {
        let _ = write_atomic(
            &tag,
            b"Signature: 8a477f597d28d172789f06886806bc55\n\
# This file is a cache directory tag created by djcheck.\n\
# For information about cache directory tags see https://bford.info/cachedir/\n",
        );
    }
}

/// Removes the folders of other keys beyond the [`KEEP_KEYS`] most recently written.
fn prune(dir: &Path, key: &str) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    let mut others: Vec<(std::time::SystemTime, PathBuf)> = read
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter(|e| {
            let n = e.file_name();
            let n = n.to_string_lossy();
            n != key && n.len() == key.len() && n.bytes().all(|b| b.is_ascii_hexdigit())
        })
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .collect();
    if others.len() < KEEP_KEYS {
        return;
    }
    others.sort();
    let excess = others.len() + 1 - KEEP_KEYS;
    for (_, p) in others.into_iter().take(excess) {
        let _ = std::fs::remove_dir_all(p);
    }
}

/// The key of a cache: a hash of what every entry depends on.
pub fn key(parts: &[&str]) -> String {
    let mut s = String::new();
    s.push_str(&FORMAT.to_string());
    for p in parts {
        s.push('\0');
        s.push_str(p);
    }
    format!("{:016x}", xxhash_rust::xxh3::xxh3_64(s.as_bytes()))
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // reads the shards it corrupts
mod tests {
    use super::*;
    use crate::migration::Migration;

    const RULES: &[(&str, &str)] = &[("SQL001", "create-without-if-not-exists")];

    /// A scratch folder, `<temp>/djcheck-cache-test-<name>-<random>`, removed with what it
    /// holds when the returned guard drops: keep it while the folder is used.
    fn scratch(name: &str) -> tempfile::TempDir {
        tempfile::Builder::new()
            .prefix(&format!("djcheck-cache-test-{name}-"))
            .tempdir()
            .expect("create a scratch folder")
    }

    fn options(dir: &Path) -> CacheOptions {
        CacheOptions {
            dir: dir.to_owned(),
            salt: "test".into(),
            rules: RULES.to_vec(),
        }
    }

    fn entry(text: &str, context: u64) -> Entry {
        let file = FileId(3);
        let d = Diagnostic::new(RULES[0].0, RULES[0].1, Severity::Warning, "m")
            .at(Span::new(file, TextRange::default()), "here");
        Entry {
            hash: content_hash(text),
            context,
            outcome: Outcome::Parsed {
                migration: Migration::opaque(file, "blog", "0001_initial"),
                diagnostics: vec![CachedDiagnostic::new(&d, file).unwrap()],
                masked: vec![TextRange::default()],
            },
        }
    }

    fn shard_files(dir: &Path, key: &str) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join(key))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_cached_finding_keeps_its_fix_and_one_editing_another_file_is_not_cached() {
        use djcheck_diagnostics::TextSize;
        let file = FileId(3);
        let r = TextRange::new(TextSize::new(4), TextSize::new(10));
        let mut d = Diagnostic::new(
            "SQL001",
            "create-without-if-not-exists",
            Severity::Warning,
            "m",
        );
        d.primary = Some(Span::new(file, r));
        d.fix = Some(Fix::safe(
            "add `IF NOT EXISTS`",
            vec![Edit::insert(file, TextSize::new(10), " IF NOT EXISTS")],
        ));
        let cached = CachedDiagnostic::new(&d, file).unwrap_or_else(|| panic!("not cached"));
        let bytes = postcard::to_allocvec(&cached).unwrap_or_default();
        let decoded: CachedDiagnostic =
            postcard::from_bytes(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let back = decoded
            .restore(file, RULES)
            .unwrap_or_else(|| panic!("not restored"));
        assert_eq!(back, d);
        // A fix editing another file cannot be kept with this file alone.
        let mut other = d.clone();
        other.fix = Some(Fix::safe(
            "x",
            vec![Edit::insert(FileId(4), TextSize::new(0), "y")],
        ));
        assert!(CachedDiagnostic::new(&other, file).is_none());
    }

    #[test]
    fn hit_after_save_and_miss_on_change() {
        let tmp = scratch("hit");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        let c = FileCache::open(&options(dir), "k1");
        assert!(c
            .get("blog/migrations/0001_initial.py", content_hash("a"), ctx)
            .is_none());
        c.put("blog/migrations/0001_initial.py", entry("a", ctx));
        c.save();
        assert!(dir.join(".gitignore").is_file());
        assert!(dir.join("CACHEDIR.TAG").is_file());
        let c = FileCache::open(&options(dir), "k1");
        let hit = c
            .get("blog/migrations/0001_initial.py", content_hash("a"), ctx)
            .expect("hit");
        let Outcome::Parsed { diagnostics, .. } = hit.outcome else {
            panic!("parsed")
        };
        let d = diagnostics[0].restore(FileId(9), RULES).unwrap();
        assert_eq!(d.primary.unwrap().file, FileId(9));
        assert_eq!(d.code, "SQL001");
        // Another text, another context (the app was relabelled), another key (other
        // options, rules or version): misses.
        assert!(c
            .get("blog/migrations/0001_initial.py", content_hash("b"), ctx)
            .is_none());
        let other = context_hash("news", "0001_initial", "auth");
        assert!(c
            .get("blog/migrations/0001_initial.py", content_hash("a"), other)
            .is_none());
        let c = FileCache::open(&options(dir), "k2");
        assert!(c
            .get("blog/migrations/0001_initial.py", content_hash("a"), ctx)
            .is_none());
        // A rule that is not one of this run's: the diagnostic can't be restored.
        assert!(diagnostics[0].restore(FileId(1), &[]).is_none());
    }

    #[test]
    fn corrupt_or_foreign_shards_are_ignored_and_rewritten() {
        let tmp = scratch("corrupt");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        let rel = "blog/migrations/0001_initial.py";
        let c = FileCache::open(&options(dir), "k1");
        c.put(rel, entry("a", ctx));
        c.save();
        let shard = shard_files(dir, "k1").pop().unwrap();
        let good = std::fs::read(&shard).unwrap();
        // Truncated, one byte flipped, garbage, another format's header, empty.
        let mut flipped = good.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 0x55;
        let mut other_format = good.clone();
        other_format[8] = other_format[8].wrapping_add(1);
        for bad in [
            good[..good.len() / 2].to_vec(),
            flipped,
            b"not a cache".to_vec(),
            other_format,
            Vec::new(),
        ] {
            std::fs::write(&shard, &bad).unwrap();
            let c = FileCache::open(&options(dir), "k1");
            assert!(c.get(rel, content_hash("a"), ctx).is_none());
            // Saved again (even with nothing new): the shard is whole again.
            c.save();
            let c = FileCache::open(&options(dir), "k1");
            assert!(c.get(rel, content_hash("a"), ctx).is_none());
            c.put(rel, entry("a", ctx));
            c.save();
            let c = FileCache::open(&options(dir), "k1");
            assert!(c.get(rel, content_hash("a"), ctx).is_some());
        }
        // A shard of another key copied in place is not trusted.
        let c = FileCache::open(&options(dir), "k2");
        c.put(rel, entry("a", ctx));
        c.save();
        let foreign = shard_files(dir, "k2").pop().unwrap();
        std::fs::copy(&foreign, &shard).unwrap();
        let c = FileCache::open(&options(dir), "k1");
        assert!(c.get(rel, content_hash("a"), ctx).is_none());
    }

    #[test]
    fn entries_read_from_a_shard_are_written_back_whole() {
        let tmp = scratch("rewrite");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        let c = FileCache::open(&options(dir), "k1");
        c.put("a.py", entry("a", ctx));
        c.save();
        // Every path lands in one of few shards: enough paths share a shard with `a.py`.
        let c = FileCache::open(&options(dir), "k1");
        assert!(c.get("a.py", content_hash("a"), ctx).is_some());
        for i in 0..(2 * SHARDS) {
            c.put(&format!("b{i}.py"), entry("b", ctx));
        }
        c.save();
        let c = FileCache::open(&options(dir), "k1");
        let hit = c.get("a.py", content_hash("a"), ctx).expect("hit");
        assert!(matches!(hit.outcome, Outcome::Parsed { .. }));
        for i in 0..(2 * SHARDS) {
            assert!(c.get(&format!("b{i}.py"), content_hash("b"), ctx).is_some());
        }
    }

    #[test]
    fn a_cache_kept_open_drops_what_a_later_load_does_not_look_up() {
        let tmp = scratch("kept-open");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        let c = FileCache::open(&options(dir), "k1").keeping_decoded();
        c.put("a.py", entry("a", ctx));
        c.put("b.py", entry("b", ctx));
        c.save();
        // The next load looks up `a.py` only (`b.py` was deleted).
        assert!(c.get("a.py", content_hash("a"), ctx).is_some());
        c.save();
        assert!(c.get("b.py", content_hash("b"), ctx).is_none());
        assert!(c.get("a.py", content_hash("a"), ctx).is_some());
    }

    #[test]
    fn a_cache_keeping_decoded_outcomes_gives_the_entry_of_the_text() {
        let tmp = scratch("keep");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        let rel = "blog/migrations/0001_initial.py";
        let c = FileCache::open(&options(dir), "k1");
        c.put(rel, entry("a", ctx));
        c.save();
        let c = FileCache::open(&options(dir), "k1").keeping_decoded();
        let diagnostics = |e: Entry| match e.outcome {
            Outcome::Parsed { diagnostics, .. } => diagnostics.len(),
            Outcome::Problem(_) => usize::MAX,
        };
        // Decoded, then kept: both lookups give the stored entry.
        let first = c.get(rel, content_hash("a"), ctx).expect("hit");
        let again = c.get(rel, content_hash("a"), ctx).expect("hit again");
        assert_eq!(diagnostics(first), diagnostics(again));
        // Another text is still a miss; a new entry replaces the kept outcome.
        assert!(c.get(rel, content_hash("b"), ctx).is_none());
        let mut other = entry("b", ctx);
        if let Outcome::Parsed { diagnostics, .. } = &mut other.outcome {
            diagnostics.clear();
        }
        c.put(rel, other);
        assert!(c.get(rel, content_hash("a"), ctx).is_none());
        let b = c.get(rel, content_hash("b"), ctx).expect("the new entry");
        assert_eq!(diagnostics(b), 0);
    }

    #[test]
    fn entries_of_files_not_looked_up_are_dropped() {
        let tmp = scratch("drop");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        let c = FileCache::open(&options(dir), "k1");
        c.put("a.py", entry("a", ctx));
        c.put("b.py", entry("b", ctx));
        c.save();
        let c = FileCache::open(&options(dir), "k1");
        assert!(c.get("a.py", content_hash("a"), ctx).is_some());
        c.save();
        let c = FileCache::open(&options(dir), "k1");
        assert!(c.get("a.py", content_hash("a"), ctx).is_some());
        assert!(c.get("b.py", content_hash("b"), ctx).is_none());
    }

    #[test]
    fn concurrent_writers_never_leave_a_broken_shard() {
        let tmp = scratch("concurrent");
        let dir = tmp.path();
        let ctx = context_hash("blog", "0001_initial", "auth");
        std::thread::scope(|s| {
            for t in 0..8 {
                s.spawn(move || {
                    for round in 0..6 {
                        let c = FileCache::open(&options(dir), "k1");
                        for f in 0..40 {
                            let rel = format!("app{f}/migrations/0001_initial.py");
                            let _ = c.get(&rel, content_hash("x"), ctx);
                            c.put(&rel, entry(&format!("{t}-{round}"), ctx));
                        }
                        c.save();
                    }
                });
            }
        });
        // Every shard on disk is whole: it opens, and holds what one writer wrote.
        for p in shard_files(dir, "k1") {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.ends_with(".tmp"), "temporary file left: {name}");
            let bytes = std::fs::read(&p).unwrap();
            let file = decode(&bytes, "k1").expect("a whole shard");
            assert!(!file.entries.is_empty());
        }
    }

    #[test]
    fn old_keys_are_pruned() {
        let tmp = scratch("prune");
        let dir = tmp.path();
        for k in 0..(KEEP_KEYS + 3) {
            let c = FileCache::open(&options(dir), &format!("{k:016x}"));
            c.put("a.py", entry("a", 1));
            c.save();
        }
        let n = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().is_dir())
            .count();
        assert!(n <= KEEP_KEYS, "{n} key folders kept");
    }
}
