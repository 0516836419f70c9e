//! The "ignore this finding" edit: a `# djcheck: ignore[CODE]` comment where the
//! suppression pass will find it.

use crate::edits::{indent_at, line_start, newline};
use djcheck_diagnostics::{Applicability, Diagnostic, Edit, Fix, SourceDb, TextRange, TextSize};
use djcheck_python::ast::visitor::source_order::{walk_expr, walk_stmt, SourceOrderVisitor};
use djcheck_python::ast::{Expr, Stmt};
use djcheck_python::Ranged;

/// The reason written after the codes, for the person to replace.
pub const IGNORE_REASON_PLACEHOLDER: &str = "TODO: say why";

#[derive(Default)]
struct Ranges {
    strings: Vec<TextRange>,
    statements: Vec<TextRange>,
}

impl<'a> SourceOrderVisitor<'a> for Ranges {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        self.statements.push(stmt.range());
        walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::StringLiteral(_)
            | Expr::BytesLiteral(_)
            | Expr::FString(_)
            | Expr::TString(_) => self.strings.push(expr.range()),
            _ => walk_expr(self, expr),
        }
    }
}

fn inside(ranges: &[TextRange], at: usize) -> bool {
    let Ok(at) = u32::try_from(at) else {
        return false;
    };
    let at = TextSize::new(at);
    ranges.iter().any(|r| r.start() < at && at < r.end())
}

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
    let mut ranges = Ranges::default();
    for s in parsed.body() {
        ranges.visit_stmt(s);
    }
    drop(parsed);
    let start = usize::from(span.range.start());
    let line = file.line_index.line_of(span.range.start());
    let lr = file.line_index.line_range(line)?;
    let body = &text[lr.clone()];
    let content_end = lr.start + body.trim_end_matches(['\n', '\r']).len();
    let message = format!("ignore {} on this line", d.code);
    let comment = format!("djcheck: ignore[{}] -- {IGNORE_REASON_PLACEHOLDER}", d.code);
    if !inside(&ranges.strings, content_end) && !inside(&ranges.strings, lr.start) {
        // The line's own comment, if any (a `#` outside strings).
        let hash = text[lr.start..content_end]
            .match_indices('#')
            .map(|(i, _)| lr.start + i)
            .find(|&p| {
                !inside(&ranges.strings, p)
                    && !ranges.strings.iter().any(|r| usize::from(r.start()) == p)
            });
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
    use djcheck_diagnostics::{Severity, Span};

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
    }
}
