//! `--format gitlab`: GitLab Code Quality JSON (the `codequality` report of a CI job),
//! which GitLab shows in merge requests.
//!
//! Each finding has a `fingerprint` GitLab uses to tell new findings from old ones across
//! pipelines. It must survive unrelated edits, so it hashes the rule code, the path and
//! the message (whitespace-normalised), never the line numbers: a line added above a
//! finding does not make it new. Identical findings in one file are told apart by their
//! order. Only the message is hashed, never source text: rules redact secrets from their
//! messages, so no secret can be recovered from a fingerprint.

use super::{range_of, RenderContext};
use crate::{Diagnostic, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io;

#[derive(Serialize)]
struct Issue<'a> {
    description: String,
    check_name: &'a str,
    fingerprint: String,
    severity: &'static str,
    location: Location,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: u32,
    end: u32,
}

/// GitLab's severities are `info`, `minor`, `major`, `critical` and `blocker`. An error
/// breaks `migrate` or startup; it is not a reason to block a merge by itself, which is
/// the pipeline's job (djcheck's exit code).
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => "critical",
        Severity::Warning => "major",
        Severity::Info => "info",
    }
}

/// FNV-1a, 128 bits: small, fixed and the same on every platform and Rust version, which
/// `std`'s hasher does not promise.
pub(crate) fn fnv1a_128(parts: &[&[u8]]) -> u128 {
    const OFFSET: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    const PRIME: u128 = 0x0000_0000_0100_0000_0000_0000_0000_013b;
    let mut h = OFFSET;
    for p in parts {
        for b in p.iter().chain(&[0u8]) {
            h ^= u128::from(*b);
            h = h.wrapping_mul(PRIME);
        }
    }
    h
}

fn normalize(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The fingerprint of the `occurrence`-th finding with this code, path and message.
pub fn fingerprint(code: &str, path: &str, message: &str, occurrence: usize) -> String {
    let n = occurrence.to_string();
    let h = fnv1a_128(&[
        code.as_bytes(),
        path.as_bytes(),
        normalize(message).as_bytes(),
        n.as_bytes(),
    ]);
    format!("{h:032x}")
}

pub fn render(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let mut seen: BTreeMap<(&str, String, String), usize> = BTreeMap::new();
    let issues: Vec<Issue<'_>> = diagnostics
        .iter()
        .map(|d| {
            // A finding about the project as a whole is placed on the project folder.
            let (path, lines) = match d.primary {
                Some(p) => {
                    let r = range_of(ctx.db, p);
                    (
                        ctx.repo_path(p),
                        Lines {
                            begin: r.start.line,
                            end: r.end.line,
                        },
                    )
                }
                None => (
                    match ctx.repo_prefix.trim_end_matches('/') {
                        "" => ".".to_owned(),
                        dir => dir.to_owned(),
                    },
                    Lines { begin: 1, end: 1 },
                ),
            };
            let occurrence = seen
                .entry((d.code, path.clone(), normalize(&d.message)))
                .or_insert(0);
            let fp = fingerprint(d.code, &path, &d.message, *occurrence);
            *occurrence += 1;
            Issue {
                description: format!("{}: {}", d.code, d.message),
                check_name: d.code,
                fingerprint: fp,
                severity: severity(d.severity),
                location: Location { path, lines },
            }
        })
        .collect();
    serde_json::to_writer_pretty(&mut *out, &issues).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SourceDb, Span, TextRange, TextSize};

    #[test]
    fn fingerprint_ignores_lines_and_whitespace_but_not_identity() {
        let a = fingerprint("MIG001", "a.py", "missing `x`", 0);
        assert_eq!(a.len(), 32);
        assert_eq!(a, fingerprint("MIG001", "a.py", "missing  `x`", 0));
        assert_ne!(a, fingerprint("MIG002", "a.py", "missing `x`", 0));
        assert_ne!(a, fingerprint("MIG001", "b.py", "missing `x`", 0));
        assert_ne!(a, fingerprint("MIG001", "a.py", "missing `y`", 0));
        assert_ne!(a, fingerprint("MIG001", "a.py", "missing `x`", 1));
        // Fixed forever: GitLab compares fingerprints across pipelines and versions.
        assert_eq!(
            fingerprint("MIG001", "blog/migrations/0003_comment.py", "m", 0),
            format!(
                "{:032x}",
                fnv1a_128(&[b"MIG001", b"blog/migrations/0003_comment.py", b"m", b"0"])
            )
        );
    }

    #[test]
    fn moved_findings_keep_their_fingerprint_and_duplicates_differ() {
        let render_at = |text: &str, offsets: &[u32]| {
            let mut db = SourceDb::new();
            let f = db.add("app/m.py".to_owned(), text.to_owned());
            let ds: Vec<Diagnostic> = offsets
                .iter()
                .map(|o| {
                    Diagnostic::new("MIG001", "missing-dependency", Severity::Error, "same")
                        .at(Span::new(f, TextRange::at(TextSize::new(*o), 1.into())), "")
                })
                .collect();
            let ctx = RenderContext {
                db: &db,
                files_checked: 1,
                rules: &[],
                project: None,
                repo_prefix: "",
            };
            let mut out = Vec::new();
            render(&ctx, &ds, &mut out).unwrap();
            let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
            v.as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["fingerprint"].as_str().unwrap().to_owned(),
                        i["location"]["lines"]["begin"].as_u64().unwrap(),
                    )
                })
                .collect::<Vec<_>>()
        };
        let before = render_at("a\nb\n", &[0, 2]);
        let after = render_at("\n\na\nb\n", &[2, 4]);
        assert_ne!(before[0].0, before[1].0);
        assert_eq!(before[0].0, after[0].0);
        assert_eq!(before[1].0, after[1].0);
        assert_eq!((before[0].1, after[0].1), (1, 3));
    }
}
