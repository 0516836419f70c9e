//! The fix loop: apply what can be applied, check the result again, keep what worked,
//! roll back what did not, and go on until nothing is left to fix.

use crate::apply::apply;
use djcheck_diagnostics::{Applicability, Diagnostic, Fix, Severity, SourceDb};
use std::collections::{BTreeMap, BTreeSet};

/// What to fix.
#[derive(Debug, Clone, Copy)]
pub struct FixOptions {
    /// Unsafe fixes too (`--unsafe-fixes`).
    pub unsafe_fixes: bool,
    /// Rounds of apply-and-check at most (each is a full check).
    pub max_rounds: usize,
}

impl Default for FixOptions {
    fn default() -> Self {
        FixOptions {
            unsafe_fixes: false,
            max_rounds: 25,
        }
    }
}

/// A fix kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Done {
    pub code: &'static str,
    pub name: &'static str,
    /// Where the finding was (project-relative).
    pub path: String,
    pub message: String,
    pub applicability: Applicability,
}

/// A fix rolled back or never applied, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RolledBack {
    pub code: &'static str,
    pub path: String,
    pub message: String,
    pub why: String,
}

/// What the loop did.
#[derive(Debug, Default)]
pub struct FixReport {
    /// The text of every file changed or created, by project-relative path.
    pub texts: BTreeMap<String, String>,
    /// The text each of them had before (`None`: the fix creates it).
    pub originals: BTreeMap<String, Option<String>>,
    pub applied: Vec<Done>,
    pub rolled_back: Vec<RolledBack>,
    /// Fixes left because the round limit was reached.
    pub unfinished: usize,
}

impl FixReport {
    /// The files whose text differs from what they had.
    pub fn changed(&self) -> impl Iterator<Item = (&str, Option<&str>, &str)> {
        self.texts.iter().filter_map(|(p, t)| {
            let old = self.originals.get(p).and_then(|o| o.as_deref());
            (old != Some(t.as_str())).then_some((p.as_str(), old, t.as_str()))
        })
    }
}

/// A finding's identity across checks: its code, file and message. Line numbers move
/// when a fix adds lines, so they are not part of it.
type Key = (&'static str, String, String);

fn key(db: &SourceDb, d: &Diagnostic) -> Key {
    let path = d
        .primary
        .map(|s| db.file(s.file).path.clone())
        .unwrap_or_default();
    (d.code, path, d.message.clone())
}

fn counts(db: &SourceDb, ds: &[Diagnostic]) -> BTreeMap<Key, usize> {
    let mut m = BTreeMap::new();
    for d in ds {
        *m.entry(key(db, d)).or_insert(0) += 1;
    }
    m
}

/// A fix's identity: its finding and what it does.
type FixKey = (Key, String);

fn touched(db: &SourceDb, f: &Fix) -> BTreeSet<String> {
    f.edits
        .iter()
        .map(|e| db.file(e.file).path.clone())
        .chain(f.new_files.iter().map(|n| n.path.clone()))
        .collect()
}

fn involves(db: &SourceDb, d: &Diagnostic, paths: &BTreeSet<String>) -> bool {
    d.primary
        .iter()
        .map(|s| s.file)
        .chain(d.labels.iter().map(|l| l.span.file))
        .any(|f| paths.contains(&db.file(f).path))
}

/// Runs the fix loop from the result of a first check.
///
/// - `view` gives a result's files and every diagnostic of the run (before any filtering
///   by the paths reported on: a syntax error a fix causes anywhere must be seen);
/// - `eligible` says which diagnostics may be fixed (those reported);
/// - `exists` says whether a project-relative path is a file (new files never overwrite);
/// - `recheck` checks the project again with the given texts in place of the files'.
///
/// Each round applies every eligible fix that does not overlap another, checks again, and
/// keeps the round only if each fix's file still parses, its finding is gone, and no new
/// error appears in what it touched. A fix that fails alone is rolled back for good and
/// reported; a round where several fixes failed is replayed with those fixes one at a
/// time. Returns the last result (the fixed project's) and the report.
pub fn fix_loop<R>(
    first: R,
    opts: FixOptions,
    view: impl Fn(&R) -> (&SourceDb, &[Diagnostic]),
    eligible: impl Fn(&R, &Diagnostic) -> bool,
    exists: impl Fn(&str) -> bool,
    mut recheck: impl FnMut(&BTreeMap<String, String>) -> Result<R, String>,
) -> Result<(R, FixReport), String> {
    let mut report = FixReport::default();
    let mut current = first;
    let mut blocked: BTreeSet<FixKey> = BTreeSet::new();
    let mut solo: BTreeSet<FixKey> = BTreeSet::new();
    let mut last_pending = 0;
    for round in 0..opts.max_rounds {
        let (db, all) = view(&current);
        // Candidates, in a deterministic order: by path, then position.
        let mut cands: Vec<(usize, &Diagnostic, &Fix, FixKey)> = all
            .iter()
            .enumerate()
            .filter_map(|(i, d)| {
                let f = d.fix.as_ref()?;
                if f.applicability == Applicability::Unsafe && !opts.unsafe_fixes {
                    return None;
                }
                if !eligible(&current, d) {
                    return None;
                }
                let k = (key(db, d), f.message.clone());
                (!blocked.contains(&k)).then_some((i, d, f, k))
            })
            .collect();
        cands.sort_by(|a, b| {
            let pa =
                a.2.edits
                    .first()
                    .map(|e| (db.file(e.file).path.as_str(), e.range.start()));
            let pb =
                b.2.edits
                    .first()
                    .map(|e| (db.file(e.file).path.as_str(), e.range.start()));
            pa.cmp(&pb).then(a.0.cmp(&b.0))
        });
        last_pending = cands.len();
        if cands.is_empty() {
            return Ok((current, report));
        }
        // A fix that must be tried alone goes first, by itself.
        let chosen: Vec<&(usize, &Diagnostic, &Fix, FixKey)> =
            match cands.iter().find(|c| solo.contains(&c.3)) {
                Some(c) => vec![c],
                None => cands.iter().collect(),
            };
        let list: Vec<(usize, &Fix)> = chosen.iter().map(|c| (c.0, c.2)).collect();
        let plan = apply(db, &list, &exists);
        for &id in &plan.invalid {
            if let Some(c) = chosen.iter().find(|c| c.0 == id) {
                blocked.insert(c.3.clone());
                report.rolled_back.push(RolledBack {
                    code: c.1.code,
                    path: c.3 .0 .1.clone(),
                    message: c.2.message.clone(),
                    why: "its edits do not fit the file (or the file it creates exists)".to_owned(),
                });
            }
        }
        if plan.applied.is_empty() {
            if plan.deferred.is_empty() {
                continue;
            }
            // Cannot happen (the first fix never overlaps anything); stop rather than spin.
            break;
        }
        let mut texts = report.texts.clone();
        for (file, t) in &plan.texts {
            let path = db.file(*file).path.clone();
            report
                .originals
                .entry(path.clone())
                .or_insert_with(|| Some(db.file(*file).text.clone()));
            texts.insert(path, t.clone());
        }
        for n in &plan.new_files {
            report.originals.entry(n.path.clone()).or_insert(None);
            texts.insert(n.path.clone(), n.content.clone());
        }
        let next = recheck(&texts)?;
        let (ndb, nall) = view(&next);
        let before = counts(db, all);
        let after = counts(ndb, nall);
        let applied: Vec<&&(usize, &Diagnostic, &Fix, FixKey)> = chosen
            .iter()
            .filter(|c| plan.applied.contains(&c.0))
            .collect();
        let mut per_key: BTreeMap<&Key, usize> = BTreeMap::new();
        for c in &applied {
            *per_key.entry(&c.3 .0).or_insert(0) += 1;
        }
        let mut failed: Vec<(&FixKey, &'static str, String, String)> = Vec::new();
        for c in &applied {
            let paths = touched(db, c.2);
            let parse_error = nall.iter().any(|d| {
                d.code.starts_with("PARSE")
                    && involves(ndb, d, &paths)
                    && after.get(&key(ndb, d)) > before.get(&key(ndb, d))
            });
            let k = &c.3 .0;
            let left = after.get(k).copied().unwrap_or(0);
            let had = before.get(k).copied().unwrap_or(0);
            let remains = left + per_key.get(k).copied().unwrap_or(0) > had;
            let new_error = nall.iter().find(|d| {
                d.severity == Severity::Error
                    && !d.code.starts_with("PARSE")
                    && involves(ndb, d, &paths)
                    && after.get(&key(ndb, d)).copied().unwrap_or(0)
                        > before.get(&key(ndb, d)).copied().unwrap_or(0)
            });
            let why = if parse_error {
                Some("it leaves a syntax error".to_owned())
            } else if remains {
                Some("the finding is still there after it".to_owned())
            } else {
                new_error.map(|d| format!("it causes a new error: {} {}", d.code, d.message))
            };
            if let Some(why) = why {
                failed.push((&c.3, c.1.code, c.2.message.clone(), why));
            }
        }
        if failed.is_empty() {
            for c in &applied {
                report.applied.push(Done {
                    code: c.1.code,
                    name: c.1.name,
                    path: c.3 .0 .1.clone(),
                    message: c.2.message.clone(),
                    applicability: c.2.applicability,
                });
            }
            report.texts = texts;
            current = next;
            continue;
        }
        // Roll the round back. Alone, a failure is final; with others, it is tried alone.
        let alone = applied.len() == 1;
        let mut newly_blocked = Vec::new();
        for (k, code, message, why) in failed {
            if alone || solo.contains(k) {
                newly_blocked.push(k.clone());
                report.rolled_back.push(RolledBack {
                    code,
                    path: k.0 .1.clone(),
                    message,
                    why,
                });
            } else {
                solo.insert(k.clone());
            }
        }
        blocked.extend(newly_blocked);
        // Originals of files only this round touched are no longer changed.
        report.originals.retain(|p, _| report.texts.contains_key(p));
        let _ = round;
    }
    report.unfinished = last_pending;
    Ok((current, report))
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_diagnostics::{Edit, Span, TextRange, TextSize};

    /// A toy checker over one file `a.py`: a line holding `SYNTAX` is a parse error; each
    /// `BAD<n>` is an X001 error whose fix replaces it by what `repair(n)` says; an
    /// `UNSAFE` is an X002 warning whose (unsafe) fix removes it.
    fn check(text: &str, repair: &dyn Fn(char) -> &'static str) -> (SourceDb, Vec<Diagnostic>) {
        let mut db = SourceDb::new();
        let f = db.add("a.py".into(), text.to_owned());
        let span = |at: usize, len: usize| {
            let s = TextSize::new(u32::try_from(at).unwrap_or(0));
            TextRange::at(s, TextSize::new(u32::try_from(len).unwrap_or(0)))
        };
        let mut ds = Vec::new();
        let mut at = 0;
        for line in text.split_inclusive('\n') {
            if let Some(i) = line.find("SYNTAX") {
                let mut d = Diagnostic::new("PARSE001", "syntax-error", Severity::Error, "bad");
                d.primary = Some(Span::new(f, span(at + i, 6)));
                ds.push(d);
            }
            if let Some(i) = line.find("BAD") {
                let n = line[i + 3..].chars().next().unwrap_or('0');
                let r = span(at + i, 4);
                let mut d =
                    Diagnostic::new("X001", "bad", Severity::Error, format!("bad number {n}"));
                d.primary = Some(Span::new(f, r));
                ds.push(d.with_fix(Some(Fix::safe(
                    format!("repair {n}"),
                    vec![Edit::replace(f, r, repair(n))],
                ))));
            }
            if let Some(i) = line.find("UNSAFE") {
                let r = span(at + i, 6);
                let mut d = Diagnostic::new("X002", "risky", Severity::Warning, "risky");
                d.primary = Some(Span::new(f, r));
                ds.push(d.with_fix(Some(Fix::unsafe_edit(
                    "remove it",
                    vec![Edit::replace(f, r, "")],
                ))));
            }
            at += line.len();
        }
        (db, ds)
    }

    fn run(text: &str, unsafe_fixes: bool) -> FixReport {
        let repair = |n: char| match n {
            '1' => "ok",
            '2' => "SYNTAX",
            _ => "BAD3 ",
        };
        let first = check(text, &repair);
        let opts = FixOptions {
            unsafe_fixes,
            ..FixOptions::default()
        };
        let (_, report) = fix_loop(
            first,
            opts,
            |r| (&r.0, r.1.as_slice()),
            |_, _| true,
            |_| false,
            |texts| Ok(check(&texts["a.py"], &repair)),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        report
    }

    #[test]
    fn a_fix_leaving_a_syntax_error_or_its_finding_is_rolled_back() {
        let report = run("x = BAD1\ny = BAD2\nz = BAD3\n", false);
        let applied: Vec<_> = report.applied.iter().map(|d| d.message.as_str()).collect();
        assert_eq!(applied, ["repair 1"]);
        let rolled: Vec<_> = report
            .rolled_back
            .iter()
            .map(|r| (r.message.as_str(), r.why.as_str()))
            .collect();
        assert_eq!(
            rolled,
            [
                ("repair 2", "it leaves a syntax error"),
                ("repair 3", "the finding is still there after it"),
            ]
        );
        // Only the fix that worked is in the result; the others' edits are gone.
        assert_eq!(report.texts["a.py"], "x = ok\ny = BAD2\nz = BAD3\n");
        assert_eq!(report.unfinished, 0);
    }

    #[test]
    fn unsafe_fixes_only_when_asked() {
        let report = run("a = UNSAFE\nb = BAD1\n", false);
        assert_eq!(report.applied.len(), 1);
        assert_eq!(report.texts["a.py"], "a = UNSAFE\nb = ok\n");
        let report = run("a = UNSAFE\nb = BAD1\n", true);
        assert_eq!(report.applied.len(), 2);
        assert_eq!(report.texts["a.py"], "a = \nb = ok\n");
        assert!(report.rolled_back.is_empty());
    }
}
