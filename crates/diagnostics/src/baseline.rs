//! Baselines: a file listing the findings a project already had, so that a legacy project
//! can start from "no new findings" (`--write-baseline`, `--baseline`).
//!
//! A finding is identified by its fingerprint: the rule code, the file's path, the source
//! text of the line(s) it points at (whitespace-normalised, never line numbers) and a
//! counter telling identical ones apart. So a finding keeps its identity when lines are
//! added or removed above it, and becomes new when its own line is edited or its file is
//! moved. Secrets are replaced by a fixed token before hashing, and the file holds only
//! codes, paths and hashes: no message, no source text, no fragment of a secret.

use crate::render::gitlab::fnv1a_128;
use crate::{Diagnostic, SourceDb};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The baseline file's schema version.
pub const VERSION: u32 = 1;

/// One known finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The path relative to the project root (empty for findings about the whole project).
    pub path: String,
    pub code: String,
    pub fingerprint: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    findings: Vec<Entry>,
}

/// The entries of a baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Baseline {
    pub entries: Vec<Entry>,
}

/// What did not match when a baseline was applied.
#[derive(Debug, Default)]
pub struct Applied {
    /// The findings the baseline does not list: these are reported.
    pub new: Vec<Diagnostic>,
    /// How many findings the baseline hid.
    pub hidden: usize,
    /// Entries that matched no finding (fixed since, or changed beyond recognition).
    pub stale: Vec<Entry>,
}

impl Baseline {
    /// The baseline of these findings.
    pub fn of(db: &SourceDb, diagnostics: &[Diagnostic]) -> Baseline {
        let mut entries: Vec<Entry> = diagnostics
            .iter()
            .zip(fingerprints(db, diagnostics))
            .map(|(d, fingerprint)| Entry {
                path: d
                    .primary
                    .map(|p| db.file(p.file).path.clone())
                    .unwrap_or_default(),
                code: d.code.to_owned(),
                fingerprint,
            })
            .collect();
        entries.sort();
        Baseline { entries }
    }

    /// Reads a baseline file's text.
    pub fn parse(text: &str) -> Result<Baseline, String> {
        let f: File = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if f.version != VERSION {
            return Err(format!(
                "unsupported baseline version {} (this djcheck reads version {VERSION})",
                f.version
            ));
        }
        Ok(Baseline {
            entries: f.findings,
        })
    }

    /// The file's text: sorted, one entry per line, so that changes review well.
    pub fn to_json(&self) -> String {
        let mut out = format!("{{\n  \"version\": {VERSION},\n  \"findings\": [");
        for (i, e) in self.entries.iter().enumerate() {
            out.push_str(if i == 0 { "\n    " } else { ",\n    " });
            out.push_str(&serde_json::to_string(e).unwrap_or_default());
        }
        out.push_str(if self.entries.is_empty() {
            "]\n}\n"
        } else {
            "\n  ]\n}\n"
        });
        out
    }

    /// Hides the findings this baseline lists. `judged` says which entries could have
    /// matched in this run (their rule ran and their file is reported on); only those can
    /// be stale.
    pub fn apply(
        &self,
        db: &SourceDb,
        diagnostics: Vec<Diagnostic>,
        judged: &dyn Fn(&Entry) -> bool,
    ) -> Applied {
        let mut left: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &self.entries {
            *left.entry(e.fingerprint.as_str()).or_insert(0) += 1;
        }
        let fps = fingerprints(db, &diagnostics);
        let mut applied = Applied::default();
        for (d, fp) in diagnostics.into_iter().zip(fps) {
            match left.get_mut(fp.as_str()) {
                Some(n) if *n > 0 => {
                    *n -= 1;
                    applied.hidden += 1;
                }
                _ => applied.new.push(d),
            }
        }
        for e in &self.entries {
            if let Some(n) = left.get_mut(e.fingerprint.as_str()) {
                if *n > 0 {
                    *n -= 1;
                    if judged(e) {
                        applied.stale.push(e.clone());
                    }
                }
            }
        }
        applied
    }
}

/// What stands in for a secret in the hashed text.
const SECRET: &str = "<secret>";

/// The text a finding is identified by: the whole lines its primary span covers, secrets
/// replaced, whitespace collapsed. A finding about the whole project uses its message
/// (rules redact secrets from messages).
fn identity_text(db: &SourceDb, d: &Diagnostic) -> String {
    let Some(p) = d.primary else {
        return normalize(&d.message);
    };
    let f = db.file(p.file);
    let first = f.line_index().line_of(p.range.start());
    let last = f.line_index().line_of(p.range.end());
    let start = db.line_range(p.file, first).map_or(0, |r| r.start);
    let end = db
        .line_range(p.file, last)
        .map_or(f.text.len(), |r| r.end)
        .min(f.text.len());
    let mut secrets: Vec<(usize, usize)> = f
        .masked
        .iter()
        .chain(
            d.redact
                .iter()
                .filter(|s| s.file == p.file)
                .map(|s| &s.range),
        )
        .map(|r| (usize::from(r.start()), usize::from(r.end())))
        .filter(|(s, e)| *s < end && *e > start)
        .collect();
    secrets.sort_unstable();
    let mut text = String::new();
    let mut at = start;
    for (s, e) in secrets {
        let (s, e) = (s.max(at), e.min(end));
        if s < e {
            text.push_str(f.text.get(at..s).unwrap_or(""));
            text.push_str(SECRET);
            at = e;
        }
    }
    text.push_str(f.text.get(at..end).unwrap_or(""));
    normalize(&text)
}

fn normalize(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// One fingerprint per diagnostic, in order: a hash of the code, the path, the identity
/// text and the number of identical findings before it.
pub fn fingerprints(db: &SourceDb, diagnostics: &[Diagnostic]) -> Vec<String> {
    let mut seen: BTreeMap<(&str, String, String), usize> = BTreeMap::new();
    diagnostics
        .iter()
        .map(|d| {
            let path = d
                .primary
                .map(|p| db.file(p.file).path.clone())
                .unwrap_or_default();
            let text = identity_text(db, d);
            let n = seen
                .entry((d.code, path.clone(), text.clone()))
                .or_insert(0);
            let occurrence = n.to_string();
            *n += 1;
            let h = fnv1a_128(&[
                b"djcheck-baseline-1",
                d.code.as_bytes(),
                path.as_bytes(),
                text.as_bytes(),
                occurrence.as_bytes(),
            ]);
            format!("{h:032x}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Severity, Span, TextRange, TextSize};

    fn finding(db: &SourceDb, path: &str, needle: &str) -> Diagnostic {
        let f = db.find(path).unwrap();
        let at = db.file(f).text.find(needle).unwrap();
        Diagnostic::new("PY001", "irreversible-runpython", Severity::Warning, "m").at(
            Span::new(
                f,
                TextRange::at(TextSize::new(at as u32), TextSize::new(needle.len() as u32)),
            ),
            "",
        )
    }

    fn fp(path: &str, text: &str, needle: &str) -> String {
        let mut db = SourceDb::new();
        db.add(path.to_owned(), text.to_owned());
        let d = finding(&db, path, needle);
        fingerprints(&db, &[d]).remove(0)
    }

    #[test]
    fn survives_lines_above_and_reindenting_but_not_edits_or_moves() {
        let a = fp("m.py", "x = 1\nRunPython(f)\n", "RunPython");
        assert_eq!(a, fp("m.py", "# new\n\nx = 1\nRunPython(f)\n", "RunPython"));
        assert_eq!(a, fp("m.py", "x = 1\n    RunPython(f)  \n", "RunPython"));
        assert_ne!(a, fp("m.py", "x = 1\nRunPython(g)\n", "RunPython"));
        assert_ne!(a, fp("n.py", "x = 1\nRunPython(f)\n", "RunPython"));
    }

    #[test]
    fn identical_findings_are_counted_and_matched_one_for_one() {
        let mut db = SourceDb::new();
        let f = db.add("m.py".to_owned(), "RunPython(f)\nRunPython(f)\n".to_owned());
        let at = |o: u32| {
            Diagnostic::new("PY001", "irreversible-runpython", Severity::Warning, "m")
                .at(Span::new(f, TextRange::at(TextSize::new(o), 9.into())), "")
        };
        let both = [at(0), at(13)];
        let fps = fingerprints(&db, &both);
        assert_ne!(fps[0], fps[1]);
        // A baseline of one of them hides one and reports the other.
        let one = Baseline::of(&db, &both[..1]);
        let applied = one.apply(&db, both.to_vec(), &|_| true);
        assert_eq!(
            (applied.new.len(), applied.hidden, applied.stale.len()),
            (1, 1, 0)
        );
        // A baseline of both against one finding: one stale entry.
        let two = Baseline::of(&db, &both);
        let applied = two.apply(&db, both[..1].to_vec(), &|_| true);
        assert_eq!(
            (applied.new.len(), applied.hidden, applied.stale.len()),
            (0, 1, 1)
        );
        // Entries that could not have matched in this run are not stale.
        let applied = two.apply(&db, Vec::new(), &|_| false);
        assert!(applied.stale.is_empty());
    }

    #[test]
    fn secrets_are_hashed_as_a_token() {
        let text = "create_user(password=\"hunter2hunter2\")\n";
        let mut db = SourceDb::new();
        let f = db.add("m.py".to_owned(), text.to_owned());
        let s = text.find("hunter").unwrap() as u32;
        db.file_mut(f)
            .masked
            .push(TextRange::at(TextSize::new(s), TextSize::new(14)));
        let d = finding(&db, "m.py", "create_user");
        assert_eq!(identity_text(&db, &d), "create_user(password=\"<secret>\")");
        let json = Baseline::of(&db, &[d]).to_json();
        assert!(!json.contains("hunt"), "{json}");
    }

    #[test]
    fn file_round_trips_and_rejects_other_versions() {
        let b = Baseline {
            entries: vec![Entry {
                path: "a.py".into(),
                code: "PY001".into(),
                fingerprint: "0f".into(),
            }],
        };
        let text = b.to_json();
        assert_eq!(
            text,
            "{\n  \"version\": 1,\n  \"findings\": [\n    {\"path\":\"a.py\",\"code\":\"PY001\",\"fingerprint\":\"0f\"}\n  ]\n}\n"
        );
        assert_eq!(Baseline::parse(&text).unwrap(), b);
        assert_eq!(
            Baseline::parse(&Baseline::default().to_json()).unwrap(),
            Baseline::default()
        );
        assert!(Baseline::parse("{\"version\": 2, \"findings\": []}")
            .unwrap_err()
            .contains("version 2"));
        assert!(Baseline::parse("[]").is_err());
    }
}
