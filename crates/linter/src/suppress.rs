//! Suppression comments, applied after every rule has run.
//!
//! ```python
//! ("blog", "0002_gone"),  # djcheck: ignore[MIG001] -- removed upstream, faked in prod
//! # djcheck: ignore[MIG001, MIG008]
//! dependencies = [...]
//! # djcheck: ignore-file[MIG008]
//! ```
//!
//! A line suppression (`ignore[CODES]`) applies to a diagnostic whose primary range starts
//! on the comment's line, or starts in a statement (or on a line) directly below the
//! comment: the comment sits in the block of comment-only lines right above the flagged
//! line or the first line of a statement holding it (the statement itself, or one that
//! encloses it, such as `class Migration`). A file suppression
//! (`ignore-file[CODES]`) applies anywhere in its file. Codes match exactly or by prefix,
//! as in `--select`. Text after the codes (`-- reason`) is free.
//!
//! A suppression without codes (`# djcheck: ignore`) silences everything it covers and is
//! itself reported ([`BARE_SUPPRESSION`]); a code that suppressed nothing is reported as
//! unused ([`UNUSED_SUPPRESSION`]), but only when its rule ran in this run, as ruff's
//! RUF100 does: a suppression of a rule that was not selected is not known to be unused.
//!
//! Comments are found in the text, not by a regular expression on lines: a `#` inside a
//! string literal (the parser's string ranges) is not a comment. Only files that contain
//! `djcheck:` at all are parsed again.

use crate::RuleMeta;
use djcheck_diagnostics::{Diagnostic, FileId, SourceDb, Span};
use djcheck_python::CommentContext;
use djcheck_python::{Limits, LineIndex, Ranged, TextRange, TextSize};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// The code of the "unused suppression" rule (its doc lives in the `general` family).
pub const UNUSED_SUPPRESSION: &str = "SUP001";
/// The code of the "suppression without rule codes" rule.
pub const BARE_SUPPRESSION: &str = "SUP002";

const MARKER: &str = "djcheck:";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Line,
    File,
}

/// One `# djcheck: ignore...` comment.
#[derive(Debug)]
struct Directive {
    scope: Scope,
    /// From `djcheck:` to the closing `]` (or the end of the keyword when bare).
    range: TextRange,
    /// 0-based line of the comment.
    line: usize,
    /// The comment is alone on its line (so it also covers the statement below).
    own_line: bool,
    /// Uppercased codes or prefixes and where each is written; empty when bare.
    codes: Vec<(String, TextRange)>,
    used: Vec<bool>,
    /// For a bare directive: the codes it silenced.
    silenced: BTreeSet<&'static str>,
}

impl Directive {
    fn is_bare(&self) -> bool {
        self.codes.is_empty()
    }
}

/// What suppression needs to know about one file.
#[derive(Debug)]
struct FileSuppressions {
    directives: Vec<Directive>,
    /// Ranges of every statement, nested ones included.
    statements: Vec<TextRange>,
    /// 0-based lines holding only a comment.
    comment_lines: BTreeSet<usize>,
}

fn text_range(start: usize, end: usize) -> Option<TextRange> {
    Some(TextRange::new(
        TextSize::new(u32::try_from(start).ok()?),
        TextSize::new(u32::try_from(end).ok()?),
    ))
}

/// The byte offset where the comment of `line` starts, if it has one.
fn comment_start(text: &str, index: &LineIndex, cx: &CommentContext, line: usize) -> Option<usize> {
    let range = index.line_range(line)?;
    let body = text.get(range.clone())?;
    body.match_indices('#')
        .map(|(i, _)| range.start + i)
        .find(|&p| !cx.in_string(p))
}

/// Reads the directives of a file. `None` when it has none (most files).
fn scan(text: &str, index: &LineIndex, limits: &Limits) -> Option<FileSuppressions> {
    if !text.contains(MARKER) {
        return None;
    }
    let parsed = djcheck_python::parse_module(text);
    let cx = CommentContext::of(&parsed.module, limits.max_nesting)?;
    drop(parsed);

    let mut directives = Vec::new();
    for (at, _) in text.match_indices(MARKER) {
        let line = index.line_of(TextSize::new(u32::try_from(at).ok()?));
        let Some(comment) = comment_start(text, index, &cx, line) else {
            continue;
        };
        // `#` then optional spaces then the marker, inside the line's comment: also after
        // another comment (`# type: ignore  # djcheck: ignore[X]`).
        let before = text.get(comment..at)?;
        let trimmed = before.trim_end_matches([' ', '\t']);
        if at < comment || !trimmed.ends_with('#') {
            continue;
        }
        let line_end = index.line_range(line).map_or(text.len(), |r| r.end);
        let line_start = index.line_range(line).map_or(0, |r| r.start);
        let own_line = text
            .get(line_start..comment)
            .is_some_and(|t| t.trim().is_empty());
        if let Some(d) = parse_directive(text, at, line_end, line, own_line) {
            directives.push(d);
        }
    }
    if directives.is_empty() {
        return None;
    }
    let comment_lines = (0..index.line_count())
        .filter(|&l| {
            let Some(r) = index.line_range(l) else {
                return false;
            };
            let Some(body) = text.get(r.clone()) else {
                return false;
            };
            let indent = body.len() - body.trim_start().len();
            body.trim_start().starts_with('#') && !cx.in_string(r.start + indent)
        })
        .collect();
    Some(FileSuppressions {
        directives,
        statements: cx.statements,
        comment_lines,
    })
}

/// Parses `djcheck: ignore[A, B] -- reason` starting at `at` (the marker).
fn parse_directive(
    text: &str,
    at: usize,
    line_end: usize,
    line: usize,
    own_line: bool,
) -> Option<Directive> {
    let rest_start = at + MARKER.len();
    let rest = text.get(rest_start..line_end)?;
    let skipped = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    let kw_start = rest_start + skipped;
    let after = text.get(kw_start..line_end)?;
    let (scope, kw_len) = if after.starts_with("ignore-file") {
        (Scope::File, "ignore-file".len())
    } else if after.starts_with("ignore") {
        (Scope::Line, "ignore".len())
    } else {
        return None;
    };
    let kw_end = kw_start + kw_len;
    // `ignored`, `ignore_this`: not the keyword.
    if text[kw_end..line_end]
        .chars()
        .next()
        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '-')
    {
        return None;
    }
    let tail = &text[kw_end..line_end];
    let open = tail.len() - tail.trim_start_matches([' ', '\t']).len();
    let mut codes = Vec::new();
    let mut end = kw_end;
    if tail[open..].starts_with('[') {
        let list_start = kw_end + open + 1;
        if let Some(close) = text[list_start..line_end].find(']') {
            let list_end = list_start + close;
            let mut valid = true;
            let mut pos = list_start;
            for part in text[list_start..list_end].split(',') {
                let lead = part.len() - part.trim_start().len();
                let code = part.trim();
                let s = pos + lead;
                pos += part.len() + 1;
                if code.is_empty() {
                    continue;
                }
                if !code.chars().all(|c| c.is_ascii_alphanumeric())
                    || !code.starts_with(|c: char| c.is_ascii_alphabetic())
                {
                    valid = false;
                    break;
                }
                codes.push((code.to_ascii_uppercase(), text_range(s, s + code.len())?));
            }
            if valid {
                end = list_end + 1;
            } else {
                // A malformed list silences nothing specific: treat it as bare, which is
                // reported with the right form in its help.
                codes.clear();
                end = list_end + 1;
            }
        }
    }
    let used = vec![false; codes.len()];
    Some(Directive {
        scope,
        range: text_range(at, end)?,
        line,
        own_line,
        codes,
        used,
        silenced: BTreeSet::new(),
    })
}

/// The comment-only lines directly above `line`.
fn block_above(comment_lines: &BTreeSet<usize>, line: usize) -> impl Iterator<Item = usize> + '_ {
    (0..line)
        .rev()
        .take_while(move |l| comment_lines.contains(l))
}

fn code_matches(pattern: &str, code: &str) -> bool {
    code.starts_with(pattern)
}

/// Marks and reports whether `d` is silenced by a directive of `fs`.
fn silences(fs: &mut FileSuppressions, index: &LineIndex, d: &Diagnostic, span: Span) -> bool {
    let start = span.range.start();
    let line = index.line_of(start);
    let mut lines: BTreeSet<usize> = block_above(&fs.comment_lines, line).collect();
    lines.insert(line);
    // Every statement the diagnostic starts in: the assignment inside `class Migration`,
    // and the class itself.
    for stmt in fs.statements.iter().filter(|r| r.contains(start)) {
        let first = index.line_of(stmt.start());
        lines.extend(block_above(&fs.comment_lines, first));
    }
    let is_sup = d.code == UNUSED_SUPPRESSION || d.code == BARE_SUPPRESSION;
    let mut silenced = false;
    for dir in &mut fs.directives {
        let applies = match dir.scope {
            Scope::File => true,
            Scope::Line => lines.contains(&dir.line),
        };
        // The suppression reports are silenced only by naming them in `ignore-file`.
        if !applies || (is_sup && (dir.scope == Scope::Line || dir.is_bare())) {
            continue;
        }
        if dir.is_bare() {
            dir.silenced.insert(d.code);
            silenced = true;
            continue;
        }
        for (i, (pattern, _)) in dir.codes.iter().enumerate() {
            if code_matches(pattern, d.code) {
                dir.used[i] = true;
                silenced = true;
            }
        }
    }
    silenced
}

/// What the suppression pass needs to know about the run.
pub struct SuppressOptions<'a> {
    /// Codes of the rules that ran.
    pub enabled: &'a [&'static str],
    /// Every known code; a suppression naming none of them is reported. Empty: unknown
    /// codes are not reported.
    pub known: &'a [&'static str],
    /// The two suppression rules, when enabled.
    pub unused: Option<&'static RuleMeta>,
    pub bare: Option<&'static RuleMeta>,
    pub limits: &'a Limits,
}

/// Drops the diagnostics a comment suppresses and adds the reports about the comments.
pub fn apply(
    db: &SourceDb,
    diagnostics: Vec<Diagnostic>,
    opts: &SuppressOptions<'_>,
) -> Vec<Diagnostic> {
    // Every file's text is searched (tens of megabytes on a large project): in parallel.
    let candidates: Vec<FileId> = (0..u32::try_from(db.len()).unwrap_or(u32::MAX))
        .into_par_iter()
        .map(FileId)
        .filter(|&id| {
            let f = db.file(id);
            f.path.ends_with(".py") && f.text.contains(MARKER)
        })
        .collect();
    if candidates.is_empty() {
        return diagnostics;
    }
    let mut files: BTreeMap<FileId, FileSuppressions> = candidates
        .par_iter()
        .filter_map(|&id| {
            let f = db.file(id);
            scan(&f.text, f.line_index(), opts.limits).map(|s| (id, s))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .collect();
    if files.is_empty() {
        return diagnostics;
    }
    let mut kept = Vec::with_capacity(diagnostics.len());
    for d in diagnostics {
        let silenced = match d.primary {
            Some(span) => match files.get_mut(&span.file) {
                Some(fs) => silences(fs, db.file(span.file).line_index(), &d, span),
                None => false,
            },
            None => false,
        };
        if !silenced {
            kept.push(d);
        }
    }

    let mut reports = Vec::new();
    for (&file, fs) in &files {
        for dir in &fs.directives {
            report(file, dir, opts, &mut reports);
        }
    }
    // The reports themselves may be silenced by `ignore-file[SUP001]`.
    for d in reports {
        let silenced = match d.primary {
            Some(span) => match files.get_mut(&span.file) {
                Some(fs) => silences(fs, db.file(span.file).line_index(), &d, span),
                None => false,
            },
            None => false,
        };
        if !silenced {
            kept.push(d);
        }
    }
    kept
}

fn where_(dir: &Directive) -> &'static str {
    match (dir.scope, dir.own_line) {
        (Scope::File, _) => "in this file",
        (Scope::Line, true) => "in the statement below",
        (Scope::Line, false) => "on this line",
    }
}

fn backticked(codes: &[&str]) -> String {
    codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn report(file: FileId, dir: &Directive, opts: &SuppressOptions<'_>, out: &mut Vec<Diagnostic>) {
    let keyword = match dir.scope {
        Scope::Line => "ignore",
        Scope::File => "ignore-file",
    };
    let span = Span::new(file, dir.range);
    if dir.is_bare() {
        if let Some(meta) = opts.bare {
            let silenced: Vec<&str> = dir.silenced.iter().copied().collect();
            let example = if silenced.is_empty() {
                "MIG001".to_owned()
            } else {
                silenced.join(", ")
            };
            let what = match (dir.scope, dir.own_line) {
                (Scope::File, _) => "every rule in the file",
                (Scope::Line, true) => "every rule in the statement below",
                (Scope::Line, false) => "every rule on its line",
            };
            let help = if silenced.is_empty() {
                format!("name the rules it is meant for, e.g. `# djcheck: {keyword}[{example}]`")
            } else {
                format!("name the rules it silences: `# djcheck: {keyword}[{example}]`")
            };
            out.push(
                meta.diagnostic(format!("suppression without rule codes silences {what}"))
                    .at(span, "no rule codes")
                    .help(help),
            );
        }
        if let Some(meta) = opts.unused {
            if dir.silenced.is_empty() && !opts.enabled.is_empty() {
                out.push(
                    meta.diagnostic("unused suppression: nothing to silence here")
                        .at(span, format!("no diagnostic {}", where_(dir)))
                        .help("remove the comment"),
                );
            }
        }
        return;
    }
    let Some(meta) = opts.unused else { return };
    let is_sup = |c: &str| c == UNUSED_SUPPRESSION || c == BARE_SUPPRESSION;
    let mut unknown = Vec::new();
    let mut unused = Vec::new();
    for ((code, range), used) in dir.codes.iter().zip(&dir.used) {
        if *used {
            continue;
        }
        let known = opts.known.is_empty() || opts.known.iter().any(|k| code_matches(code, k));
        if !known {
            unknown.push((code.as_str(), *range));
            continue;
        }
        // A report about suppressions can only be silenced file-wide, after this pass.
        if dir.scope == Scope::File && is_sup(code) {
            continue;
        }
        if opts.enabled.iter().any(|k| code_matches(code, k)) {
            unused.push((code.as_str(), *range));
        }
    }
    let all_unused = unused.len() + unknown.len() == dir.codes.len();
    if let Some((first, rest)) = unused.split_first() {
        let names: Vec<&str> = unused.iter().map(|u| u.0).collect();
        let mut d = meta
            .diagnostic(format!("unused suppression of {}", backticked(&names)))
            .at(
                Span::new(file, first.1),
                format!("no `{}` diagnostic {}", first.0, where_(dir)),
            );
        for (code, range) in rest {
            d = d.label(
                Span::new(file, *range),
                format!("no `{code}` diagnostic {}", where_(dir)),
            );
        }
        d = d.help(if all_unused && unknown.is_empty() {
            "remove the comment".to_owned()
        } else {
            format!("remove {} from the list", backticked(&names))
        });
        out.push(d);
    }
    if let Some((first, rest)) = unknown.split_first() {
        let names: Vec<&str> = unknown.iter().map(|u| u.0).collect();
        let mut d = meta
            .diagnostic(format!(
                "suppression of unknown rule code {}",
                backticked(&names)
            ))
            .at(Span::new(file, first.1), "not a djcheck rule code");
        for (_, range) in rest {
            d = d.label(Span::new(file, *range), "not a djcheck rule code");
        }
        out.push(d.help("see `djcheck rules` for the codes"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_diagnostics::Severity;

    static UNUSED: RuleMeta = RuleMeta {
        code: UNUSED_SUPPRESSION,
        name: "unused-suppression",
        severity: Severity::Info,
        on_by_default: true,
        doc: "",
    };
    static BARE: RuleMeta = RuleMeta {
        code: BARE_SUPPRESSION,
        name: "bare-suppression",
        severity: Severity::Info,
        on_by_default: true,
        doc: "",
    };

    /// Runs suppression on `src` with one diagnostic of each `(code, needle)`: it starts
    /// where `needle` first occurs. Returns the kept `(code, line)` pairs, 1-based lines.
    fn run(
        src: &str,
        diags: &[(&'static str, &str)],
        enabled: &[&'static str],
    ) -> Vec<(String, usize)> {
        let mut db = SourceDb::new();
        let f = db.add("app/migrations/0001_x.py".to_owned(), src.to_owned());
        let ds = diags
            .iter()
            .map(|(code, needle)| {
                let at = src
                    .find(needle)
                    .unwrap_or_else(|| panic!("`{needle}` not in source"));
                let range = text_range(at, at + needle.len()).unwrap();
                Diagnostic::new(code, "x", Severity::Error, "m").at(Span::new(f, range), "")
            })
            .collect();
        let limits = Limits::default();
        let mut all: Vec<&'static str> = enabled.to_vec();
        all.extend([UNUSED_SUPPRESSION, BARE_SUPPRESSION]);
        let opts = SuppressOptions {
            enabled: &all,
            known: &[
                "MIG001", "MIG002", "MIG008", "SQL001", "SQL005", "SUP001", "SUP002",
            ],
            unused: Some(&UNUSED),
            bare: Some(&BARE),
            limits: &limits,
        };
        let index = LineIndex::new(src);
        let mut kept: Vec<(String, usize)> = apply(&db, ds, &opts)
            .into_iter()
            .map(|d| {
                let line = index.line_of(d.primary.unwrap().range.start()) + 1;
                (d.code.to_owned(), line)
            })
            .collect();
        kept.sort();
        kept
    }

    fn k(pairs: &[(&str, usize)]) -> Vec<(String, usize)> {
        pairs.iter().map(|(c, l)| ((*c).to_owned(), *l)).collect()
    }

    const MIG: &[&str] = &["MIG001", "MIG002", "MIG008", "SQL001", "SQL005"];

    #[test]
    fn trailing_comment_silences_its_line() {
        let src = "deps = [\n    (\"a\", \"0002\"),  # djcheck: ignore[MIG001] -- gone upstream\n    (\"b\", \"0003\"),\n]\n";
        let got = run(src, &[("MIG001", "(\"a\""), ("MIG001", "(\"b\"")], MIG);
        assert_eq!(got, k(&[("MIG001", 3)]));
    }

    #[test]
    fn comment_above_the_statement_or_the_line() {
        let src = "# djcheck: ignore[MIG001]\ndeps = [\n    (\"a\", \"0002\"),\n]\nx = [\n    # djcheck: ignore[MIG008]\n    1,\n    2,\n]\n";
        let got = run(
            src,
            &[("MIG001", "(\"a\""), ("MIG008", "1,"), ("MIG008", "2,")],
            MIG,
        );
        assert_eq!(got, k(&[("MIG008", 8)]));
    }

    #[test]
    fn above_means_directly_above() {
        // A blank line breaks the link; a comment block does not.
        let src =
            "# djcheck: ignore[MIG001]\n\nx = 1\n# djcheck: ignore[MIG002]\n# because\ny = 2\n";
        let got = run(src, &[("MIG001", "x = 1"), ("MIG002", "y = 2")], MIG);
        assert_eq!(got, k(&[("MIG001", 3), ("SUP001", 1)]));
    }

    #[test]
    fn nested_statements() {
        let src = "class Migration:\n    # djcheck: ignore[MIG001]\n    dependencies = [\n        (\"a\", \"1\"),\n    ]\n    operations = [\n        (\"b\", \"2\"),\n    ]\n";
        let got = run(src, &[("MIG001", "(\"a\""), ("MIG001", "(\"b\"")], MIG);
        assert_eq!(got, k(&[("MIG001", 7)]));
        // Above the class: everything that starts inside it.
        let src = "# djcheck: ignore[MIG001]\nclass Migration:\n    dependencies = [\n        (\"a\", \"1\"),\n    ]\n    operations = [\n        (\"b\", \"2\"),\n    ]\nx = 1\n";
        let targets = [
            ("MIG001", "(\"a\""),
            ("MIG001", "(\"b\""),
            ("MIG001", "x = 1"),
        ];
        let got = run(src, &targets, MIG);
        assert_eq!(got, k(&[("MIG001", 9)]));
    }

    #[test]
    fn file_wide_and_prefixes() {
        let src = "x = 1\n# djcheck: ignore-file[MIG]\ny = 2  # djcheck: ignore[sql001]\n";
        let got = run(
            src,
            &[
                ("MIG001", "x = 1"),
                ("MIG008", "y = 2"),
                ("SQL001", "y = 2"),
            ],
            MIG,
        );
        assert_eq!(got, k(&[]));
    }

    #[test]
    fn unused_codes_are_reported_only_for_enabled_rules() {
        let src = "x = 1  # djcheck: ignore[MIG001, SQL005]\ny = 2  # djcheck: ignore[MIG002]\n";
        // SQL005 unused (enabled); MIG002 not enabled: not known to be unused.
        let got = run(src, &[("MIG001", "x = 1")], &["MIG001", "SQL005"]);
        assert_eq!(got, k(&[("SUP001", 1)]));
        let got = run(src, &[("MIG001", "x = 1")], &["MIG001"]);
        assert_eq!(got, k(&[]));
    }

    #[test]
    fn unknown_codes_are_reported() {
        let got = run("x = 1  # djcheck: ignore[NOPE123]\n", &[], MIG);
        assert_eq!(got, k(&[("SUP001", 1)]));
    }

    #[test]
    fn bare_silences_everything_and_is_reported() {
        let src = "x = 1  # djcheck: ignore\ny = 2  # djcheck: ignore -- why\n";
        let got = run(src, &[("MIG001", "x = 1"), ("SQL001", "x = 1")], MIG);
        // Line 1: used bare (SUP002). Line 2: bare and unused (SUP002 and SUP001).
        assert_eq!(got, k(&[("SUP001", 2), ("SUP002", 1), ("SUP002", 2)]));
    }

    #[test]
    fn hash_in_strings_is_not_a_comment() {
        let src = "x = \"# djcheck: ignore[MIG001]\"\ny = '''\n# djcheck: ignore[MIG001]\n'''\nz = f\"{'#'} # djcheck: ignore[MIG001]\"\n";
        let got = run(
            src,
            &[("MIG001", "x ="), ("MIG001", "y ="), ("MIG001", "z =")],
            MIG,
        );
        assert_eq!(got, k(&[("MIG001", 1), ("MIG001", 2), ("MIG001", 5)]));
    }

    #[test]
    fn after_another_comment_and_not_a_lookalike() {
        let src = "x = 1  # noqa  # djcheck: ignore[MIG001]\ny = 2  # djcheck: ignored[MIG001]\nz = 3  # see djcheck: ignore[MIG001]\n";
        let got = run(
            src,
            &[
                ("MIG001", "x = 1"),
                ("MIG001", "y = 2"),
                ("MIG001", "z = 3"),
            ],
            MIG,
        );
        assert_eq!(got, k(&[("MIG001", 2), ("MIG001", 3)]));
    }

    #[test]
    fn reports_can_be_silenced_file_wide() {
        let src = "# djcheck: ignore-file[SUP001, SUP002]\nx = 1  # djcheck: ignore\ny = 2  # djcheck: ignore[MIG001]\n";
        let got = run(src, &[], MIG);
        assert_eq!(got, k(&[]));
    }

    #[test]
    fn crlf_and_lone_cr_lines() {
        let src = "# djcheck: ignore[MIG001]\r\nx = 1\r\ny = 2  # djcheck: ignore[MIG002]\rz = 3\r";
        let got = run(
            src,
            &[
                ("MIG001", "x = 1"),
                ("MIG002", "y = 2"),
                ("MIG002", "z = 3"),
            ],
            MIG,
        );
        assert_eq!(got, k(&[("MIG002", 4)]));
    }
}
