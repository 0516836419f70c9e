//! The "ignore this finding" edit: a `# djcheck: ignore[CODE]` comment where the
//! suppression pass will find it.

use crate::edits::{indent_at, line_start, newline};
use djcheck_diagnostics::{Applicability, Diagnostic, Edit, Fix, SourceDb, TextSize};
use djcheck_python::{CommentContext, Limits};

/// The reason written after the codes, for the person to replace.
pub const IGNORE_REASON_PLACEHOLDER: &str = "TODO: say why";

/// The edit silencing `d` with a suppression comment, with a reason to fill in: at the end
/// of the flagged line, added to the list of a `djcheck: ignore[...]` comment already
/// there, or, when the line ends inside a string (a statement of a multi-line SQL
/// string), on its own line above the statement that holds the finding. `None` for a
/// finding with no place, or in a file that does not parse.
pub fn ignore_fix(db: &SourceDb, d: &Diagnostic) -> Option<Fix> {
    let span = d.primary?;
    let file = db.file(span.file);
    let text = file.text.as_str();
    let parsed = djcheck_python::parse_module(text);
    if !parsed.errors.is_empty() {
        return None;
    }
    // A file nested too deep to walk gets no edit (its finding says so already).
    let ranges = CommentContext::of(&parsed.module, Limits::default().max_nesting)?;
    drop(parsed);
    let start = usize::from(span.range.start());
    let line = file.line_index().line_of(span.range.start());
    let lr = file.line_index().line_range(line)?;
    let body = &text[lr.clone()];
    let content_end = lr.start + body.trim_end_matches(['\n', '\r']).len();
    let message = format!("ignore {} on this line", d.code);
    let comment = format!("djcheck: ignore[{}] -- {IGNORE_REASON_PLACEHOLDER}", d.code);
    if !ranges.within_string(content_end) && !ranges.within_string(lr.start) {
        // The line's own comment, if any (a `#` outside strings).
        let hash = text[lr.start..content_end]
            .match_indices('#')
            .map(|(i, _)| lr.start + i)
            .find(|&p| !ranges.in_string(p));
        if let Some(h) = hash {
            let c = &text[h..content_end];
            if let Some(m) = c.find("djcheck: ignore[") {
                let list = h + m + "djcheck: ignore[".len();
                let close = text[list..content_end].find(']')? + list;
                let at = u32::try_from(close).ok()?;
                return Some(Fix {
                    message,
                    applicability: Applicability::Unsafe,
                    edits: vec![Edit::insert(
                        span.file,
                        TextSize::new(at),
                        format!(", {}", d.code),
                    )],
                    new_files: Vec::new(),
                });
            }
        }
        let at = u32::try_from(content_end).ok()?;
        return Some(Fix {
            message,
            applicability: Applicability::Unsafe,
            edits: vec![Edit::insert(
                span.file,
                TextSize::new(at),
                format!("  # {comment}"),
            )],
            new_files: Vec::new(),
        });
    }
    // Above the innermost statement holding the finding.
    let stmt = ranges
        .statements
        .iter()
        .filter(|r| r.start() <= span.range.start() && span.range.start() < r.end())
        .min_by_key(|r| r.len())?;
    let s = usize::from(stmt.start());
    let indent = indent_at(text, s);
    let ls = line_start(text, s);
    let _ = start;
    Some(Fix {
        message,
        applicability: Applicability::Unsafe,
        edits: vec![Edit::insert(
            span.file,
            TextSize::new(u32::try_from(ls).ok()?),
            format!("{indent}# {comment}{}", newline(text)),
        )],
        new_files: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_diagnostics::{Severity, Span, TextRange};

    fn fixed(text: &str, at: &str) -> String {
        let mut db = SourceDb::new();
        let f = db.add("m.py".into(), text.into());
        let s = text.find(at).unwrap() as u32;
        let d = Diagnostic::new("SQL001", "x", Severity::Warning, "m").at(
            Span::new(
                f,
                TextRange::new(TextSize::new(s), TextSize::new(s + at.len() as u32)),
            ),
            "",
        );
        let fix = ignore_fix(&db, &d).unwrap();
        let e = &fix.edits[0];
        let (a, b) = (usize::from(e.range.start()), usize::from(e.range.end()));
        format!("{}{}{}", &text[..a], e.content, &text[b..])
    }

    #[test]
    fn comment_goes_where_suppression_reads_it() {
        assert_eq!(
            fixed("x = f('a')\ny = 2\n", "f("),
            "x = f('a')  # djcheck: ignore[SQL001] -- TODO: say why\ny = 2\n"
        );
        assert_eq!(
            fixed("x = 1  # djcheck: ignore[MIG001] -- old\n", "1"),
            "x = 1  # djcheck: ignore[MIG001, SQL001] -- old\n"
        );
        assert_eq!(
            fixed("ops = [\n    RunSQL('''\n    CREATE TABLE t ();\n    '''),\n]\n", "CREATE"),
            "# djcheck: ignore[SQL001] -- TODO: say why\nops = [\n    RunSQL('''\n    CREATE TABLE t ();\n    '''),\n]\n"
        );
        // A `#` in a string is no comment.
        assert_eq!(
            fixed("x = f('#a')\n", "f("),
            "x = f('#a')  # djcheck: ignore[SQL001] -- TODO: say why\n"
        );
        // A line that starts with a string does not continue one.
        assert_eq!(
            fixed("'a'.join(x)\n", "join"),
            "'a'.join(x)  # djcheck: ignore[SQL001] -- TODO: say why\n"
        );
    }

    #[test]
    fn a_module_nested_too_deep_to_walk_gets_no_edit() {
        // Callers run on threads with a large stack (parsing and dropping such a tree
        // recurses); the edit itself must not walk past the nesting limit.
        let deep = std::thread::Builder::new()
            .stack_size(256 * 1024 * 1024)
            .spawn(|| {
                let text = format!("x = {}a\n", "a + ".repeat(100_000));
                let mut db = SourceDb::new();
                let f = db.add("m.py".into(), text);
                let d = Diagnostic::new("PARSE001", "x", Severity::Error, "m").at(
                    Span::new(f, TextRange::new(TextSize::new(0), TextSize::new(1))),
                    "",
                );
                ignore_fix(&db, &d).is_none()
            })
            .unwrap()
            .join()
            .unwrap();
        assert!(deep);
    }
}
