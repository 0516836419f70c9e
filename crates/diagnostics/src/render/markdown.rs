//! `--format markdown`: one report for a pull request comment or a CI step summary
//! (`$GITHUB_STEP_SUMMARY`).
//!
//! A headline with the counts per severity, then a table per file: severity, rule code
//! (linked to its documentation), line and message. Secondary places, notes and help are
//! collapsed in a `<details>` element inside the message cell. Paths are relative to the
//! repository root, as in the other formats read against a repository.
//!
//! The report never exceeds [`MAX_CHARS`] characters (GitHub's limit for a comment): the
//! findings that do not fit are counted in a last line ("and N more"). Text from the
//! project (names, paths) is escaped so that it can neither break the table nor turn into
//! links, HTML or mentions; code spans keep their text as written. Messages are the
//! rules' redacted messages and no source text is shown, so no secret appears.

use super::{range_of, rule_url, RenderContext};
use crate::{Diagnostic, Severity};
use std::io;

/// GitHub's limit on the body of a comment, in characters.
pub const MAX_CHARS: usize = 65_536;

/// Room kept for the "and N more" line.
const FOOTER_ROOM: usize = 400;

pub fn render(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn io::Write,
) -> io::Result<()> {
    render_with_limit(ctx, diagnostics, out, MAX_CHARS)
}

/// Like [`render`], with the size limit given (in characters).
pub fn render_with_limit(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn io::Write,
    limit: usize,
) -> io::Result<()> {
    let mut doc = String::new();
    doc.push_str(&headline(ctx, diagnostics));
    let mut len = doc.chars().count();
    let mut current: Option<Option<String>> = None;
    let mut shown = 0;
    for d in diagnostics {
        let path = d.primary.map(|p| ctx.repo_path(p));
        let mut piece = String::new();
        if current.as_ref() != Some(&path) {
            piece.push_str(&section(path.as_deref()));
        }
        piece.push_str(&row(ctx, d));
        let n = piece.chars().count();
        if len + n + FOOTER_ROOM > limit {
            break;
        }
        doc.push_str(&piece);
        len += n;
        current = Some(path);
        shown += 1;
    }
    let hidden = diagnostics.len() - shown;
    if hidden > 0 {
        doc.push_str(&format!(
            "\n_… and {hidden} more {}, not shown: this report is limited to {limit} \
             characters. Run `djcheck check` to see them all._\n",
            if hidden == 1 { "finding" } else { "findings" }
        ));
    }
    out.write_all(doc.as_bytes())
}

fn headline(ctx: &RenderContext<'_>, diagnostics: &[Diagnostic]) -> String {
    let mut out = counts_line(ctx, diagnostics);
    // What could not be analysed: "no problems found" must not read as "safe".
    if let Some(p) = ctx.project.filter(|p| !p.not_analysed.is_empty()) {
        out.push_str("\n<details><summary>Not analysed: ");
        out.push_str(&count(p.not_analysed.len(), "part", "parts"));
        out.push_str(" of the project</summary>\n\n");
        for n in &p.not_analysed {
            out.push_str("- ");
            out.push_str(&escape_text(&n.one_line()));
            out.push('\n');
        }
        out.push_str("\n</details>\n");
    }
    out
}

fn counts_line(ctx: &RenderContext<'_>, diagnostics: &[Diagnostic]) -> String {
    let c = ctx.counts(diagnostics);
    let files = count(ctx.files_checked, "file", "files");
    if diagnostics.is_empty() {
        return format!("### djcheck: no problems found in {files}\n");
    }
    let mut parts = Vec::new();
    for (n, one, many) in [
        (c.errors, "error", "errors"),
        (c.warnings, "warning", "warnings"),
        (c.infos, "info", "infos"),
    ] {
        if n > 0 {
            parts.push(format!("**{}**", count(n, one, many)));
        }
    }
    format!("### djcheck: {} in {files}\n", parts.join(", "))
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The heading and table header of a file's findings (`None`: the project as a whole).
fn section(path: Option<&str>) -> String {
    let title = match path {
        Some(p) => code_span(p),
        None => "The project".to_owned(),
    };
    format!("\n#### {title}\n\n| | rule | line | message |\n|---|---|--:|---|\n")
}

fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Error => ":x: error",
        Severity::Warning => ":warning: warning",
        Severity::Info => ":information_source: info",
    }
}

fn row(ctx: &RenderContext<'_>, d: &Diagnostic) -> String {
    let line = d
        .primary
        .map(|p| range_of(ctx.db, p).start.line.to_string())
        .unwrap_or_default();
    let mut more: Vec<String> = Vec::new();
    if let Some(p) = d.primary {
        if !d.primary_label.is_empty() {
            let r = range_of(ctx.db, p);
            more.push(format!(
                "{}: {}",
                code_span(&format!(
                    "{}:{}:{}",
                    ctx.repo_path(p),
                    r.start.line,
                    r.start.column
                )),
                inline(&d.primary_label)
            ));
        }
    }
    for l in &d.labels {
        let r = range_of(ctx.db, l.span);
        more.push(format!(
            "{}: {}",
            code_span(&format!(
                "{}:{}:{}",
                ctx.repo_path(l.span),
                r.start.line,
                r.start.column
            )),
            inline(&l.message)
        ));
    }
    for n in &d.notes {
        more.push(format!("note: {}", inline(n)));
    }
    if let Some(h) = &d.help {
        more.push(format!("help: {}", inline(h)));
    }
    let mut message = inline(&d.message);
    if !more.is_empty() {
        message.push_str("<details><summary>details</summary>");
        message.push_str(&more.join("<br>"));
        message.push_str("</details>");
    }
    format!(
        "| {} | [`{}`]({}) {} | {line} | {message} |\n",
        severity(d.severity),
        d.code,
        rule_url(d.code),
        d.name
    )
}

/// Text with `code spans` (the message convention) as Markdown for a table cell: the
/// spans are kept, everything else is escaped.
pub fn inline(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    if parts.len().is_multiple_of(2) {
        // An unmatched backtick: no code span, all text.
        return escape_text(s);
    }
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            if i % 2 == 0 {
                escape_text(p)
            } else {
                code_span(p)
            }
        })
        .collect()
}

/// Plain text that Markdown, HTML and GitHub must take literally, on one line.
fn escape_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\n' => out.push_str("<br>"),
            '\r' => {}
            // A zero-width space keeps `@name` from notifying anyone.
            '@' => out.push_str("@\u{200b}"),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A code span holding `s` literally, on one line, safe in a table cell.
fn code_span(s: &str) -> String {
    let body: String = s
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    // A span needs a fence longer than any run of backticks inside it.
    let longest = body.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    if body.starts_with('`') || body.ends_with('`') || body.is_empty() {
        format!("{fence} {body} {fence}")
    } else {
        format!("{fence}{body}{fence}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{SourceDb, Span, TextRange, TextSize};

    #[test]
    fn text_is_escaped_and_code_spans_kept() {
        assert_eq!(
            inline("missing `blog.0002_x` in <b>|a|</b> @team"),
            "missing `blog.0002_x` in &lt;b&gt;\\|a\\|&lt;/b&gt; @\u{200b}team"
        );
        assert_eq!(inline("route `a|b`"), "route `a\\|b`");
        assert_eq!(inline("[x](http://e.test)"), "\\[x\\](http://e.test)");
        assert_eq!(inline("odd ` tick"), "odd \\` tick");
        assert_eq!(inline("two\nlines"), "two<br>lines");
        assert_eq!(code_span("a`b"), "``a`b``");
    }

    fn ctx_db(n: usize) -> (SourceDb, Vec<Diagnostic>) {
        let mut db = SourceDb::new();
        let f = db.add("app/m.py".to_owned(), "x = 1\n".repeat(n));
        let ds = (0..n)
            .map(|i| {
                Diagnostic::new(
                    "PY001",
                    "irreversible-runpython",
                    Severity::Warning,
                    "`RunPython` without `reverse_code`",
                )
                .at(
                    Span::new(f, TextRange::at(TextSize::new(6 * i as u32), 5.into())),
                    "",
                )
                .help("pass `reverse_code`")
            })
            .collect();
        (db, ds)
    }

    #[test]
    fn the_report_is_capped_with_a_count_of_the_rest() {
        let (db, ds) = ctx_db(2000);
        let ctx = RenderContext {
            db: &db,
            files_checked: 1,
            rules: &[],
            repo_prefix: "",
            project: None,
        };
        let mut out = Vec::new();
        render(&ctx, &ds, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.chars().count() <= MAX_CHARS, "{}", text.len());
        let rows = text.matches("| :warning: warning |").count();
        assert!(rows > 100 && rows < 2000, "{rows}");
        assert!(
            text.contains(&format!("_… and {} more findings, not shown", 2000 - rows)),
            "{}",
            &text[text.len() - 300..]
        );
        // Everything fits: no footer.
        let mut out = Vec::new();
        render(&ctx, &ds[..3], &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(!text.contains("more finding"));
        assert_eq!(text.matches("| :warning: warning |").count(), 3);
    }
}
