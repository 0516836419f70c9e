//! `--format github`: GitHub Actions workflow commands, one per diagnostic, which GitHub
//! shows as annotations on the pull request's diff:
//!
//! ```text
//! ::error file=blog/migrations/0003_comment.py,line=8,col=9,endLine=8,endColumn=36,title=MIG001::dependency on missing migration `blog.0002_post_title`
//! ```
//!
//! Errors are `::error`, warnings `::warning`, infos `::notice`. Values are escaped as
//! GitHub's own toolkit does (`@actions/core`): `%`, `\r` and `\n` everywhere, and `:` and
//! `,` too inside properties, so a message can never end the command early or inject
//! another one. Paths are relative to the repository root.

use super::{full_message, range_of, RenderContext};
use crate::{Diagnostic, Severity};
use std::io;

/// Escapes a command's data (the text after `::`).
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            c => out.push(c),
        }
    }
    out
}

/// Escapes a property value (`file=...`, `title=...`).
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            c => out.push(c),
        }
    }
    out
}

fn command(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// Writes one workflow command per diagnostic, and nothing else.
pub fn render(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn io::Write,
) -> io::Result<()> {
    for d in diagnostics {
        let mut props = Vec::new();
        if let Some(p) = d.primary {
            let r = range_of(ctx.db, p);
            props.push(format!("file={}", escape_property(&ctx.repo_path(p))));
            props.push(format!("line={}", r.start.line));
            props.push(format!("col={}", r.start.column));
            props.push(format!("endLine={}", r.end.line));
            props.push(format!("endColumn={}", r.end.column));
        }
        props.push(format!("title={}", escape_property(d.code)));
        // The annotation sits at one place: the other places the diagnostic points at
        // are named in its text.
        let mut message = full_message(d);
        for l in &d.labels {
            let r = range_of(ctx.db, l.span);
            message.push_str(&format!(
                "\n{}:{}:{}: {}",
                ctx.repo_path(l.span),
                r.start.line,
                r.start.column,
                l.message
            ));
        }
        writeln!(
            out,
            "::{} {}::{}",
            command(d.severity),
            props.join(","),
            escape_data(&message)
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escapes_percent_and_line_breaks_only() {
        assert_eq!(
            escape_data("100% done\r\nnext: a, b"),
            "100%25 done%0D%0Anext: a, b"
        );
        // `%` first: an already escaped-looking sequence stays literal.
        assert_eq!(escape_data("%0A"), "%250A");
    }

    #[test]
    fn properties_also_escape_colon_and_comma() {
        assert_eq!(
            escape_property("dir,x/a:b%c\nd\re"),
            "dir%2Cx/a%3Ab%25c%0Ad%0De"
        );
        assert_eq!(
            escape_property("blog/0001_initial.py"),
            "blog/0001_initial.py"
        );
    }

    #[test]
    fn a_message_cannot_inject_a_command() {
        let injected = escape_data("x\n::error file=a.py::boom");
        assert!(!injected.contains('\n'));
        assert_eq!(injected, "x%0A::error file=a.py::boom");
    }

    #[test]
    fn renders_commands() {
        use crate::{Diagnostic, SourceDb, Span, TextRange, TextSize};
        let mut db = SourceDb::new();
        let f = db.add("a, b/m:1.py".to_owned(), "x = 1\ny = \"100%\"\n".to_owned());
        let d = Diagnostic::new("MIG001", "missing-dependency", Severity::Error, "bad: 100%")
            .at(
                Span::new(f, TextRange::new(TextSize::new(10), TextSize::new(16))),
                "",
            )
            .help("fix it,\nnow");
        let info = Diagnostic::new("SUP001", "unused-suppression", Severity::Info, "whole");
        let ctx = RenderContext {
            db: &db,
            files_checked: 1,
            rules: &[],
            repo_prefix: "backend/",
            project: None,
        };
        let mut out = Vec::new();
        render(&ctx, &[d, info], &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "::error file=backend/a%2C b/m%3A1.py,line=2,col=5,endLine=2,endColumn=11,title=MIG001::bad: 100%25%0Ahelp: fix it,%0Anow\n\
             ::notice title=SUP001::whole\n"
        );
    }
}
