//! Building edits that fit the code around them: the file's line endings, the
//! indentation of the neighbouring lines, trailing commas kept where the code has them.
//!
//! Rules compute fixes on the text they were given (never reading files); these helpers
//! take that text and, where a syntax tree is needed, parse it again (only for a finding
//! that has a fix, which is rare).

use djcheck_diagnostics::{Edit, FileId, TextRange, TextSize};
use djcheck_python::ast::visitor::source_order::{self, SourceOrderVisitor, TraversalSignal};
use djcheck_python::ast::{self, AnyNodeRef, Expr, Stmt};
use djcheck_python::Ranged;

/// The file's line ending: that of its first line break, else `\n`.
pub fn newline(text: &str) -> &'static str {
    match text.find(['\n', '\r']) {
        Some(i) if text[i..].starts_with("\r\n") => "\r\n",
        Some(i) if text[i..].starts_with('\r') => "\r",
        _ => "\n",
    }
}

fn to_size(n: usize) -> Option<TextSize> {
    u32::try_from(n).ok().map(TextSize::new)
}

/// Start of the line holding byte `at`.
pub fn line_start(text: &str, at: usize) -> usize {
    text[..at.min(text.len())]
        .rfind(['\n', '\r'])
        .map_or(0, |i| i + 1)
}

/// The whitespace that starts the line holding `at`.
pub fn indent_at(text: &str, at: usize) -> &str {
    let s = line_start(text, at);
    let rest = &text[s..];
    let n = rest.len() - rest.trim_start_matches([' ', '\t']).len();
    &rest[..n]
}

/// Whether `at` is the first non-blank character of its line.
fn starts_line(text: &str, at: usize) -> bool {
    let s = line_start(text, at);
    text.get(s..at).is_some_and(|t| t.trim().is_empty())
}

/// Skips blanks and comments forward from `at` up to `end`: the offset of the next code
/// character.
fn skip_trivia(text: &str, mut at: usize, end: usize) -> usize {
    let b = text.as_bytes();
    while at < end {
        match b[at] {
            b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'\\' => at += 1,
            b'#' => {
                while at < end && b[at] != b'\n' && b[at] != b'\r' {
                    at += 1;
                }
            }
            _ => break,
        }
    }
    at
}

/// An edit adding `item` after the last of `items`, inside brackets whose opening ends at
/// `open_end` and whose closing starts at `close`: a call's arguments, a list or a tuple.
/// A layout of one item a line gets one more line, with the trailing comma such layouts
/// have; a one-line layout gets `, item`.
pub fn append_item(
    file: FileId,
    text: &str,
    open_end: usize,
    close: usize,
    items: &[TextRange],
    item: &str,
) -> Option<Edit> {
    if open_end > close || close > text.len() {
        return None;
    }
    let nl = newline(text);
    let Some(last) = items.iter().map(|r| usize::from(r.end())).max() else {
        // Empty brackets: `[]` becomes `[item]`; a multi-line `[\n]` gets an indented line.
        let inner = &text[open_end..close];
        if inner.contains(['\n', '\r']) {
            let indent = format!("{}    ", indent_at(text, close));
            let at = line_start(text, close);
            return Some(Edit::insert(
                file,
                to_size(at)?,
                format!("{indent}{item},{nl}"),
            ));
        }
        return Some(Edit::replace(
            file,
            TextRange::new(to_size(open_end)?, to_size(close)?),
            item.to_owned(),
        ));
    };
    let first = items.iter().map(|r| usize::from(r.start())).min()?;
    let next = skip_trivia(text, last, close);
    let trailing_comma = next < close && text.as_bytes()[next] == b',';
    let multiline = text[last..close].contains(['\n', '\r']);
    let last_start = items
        .iter()
        .filter(|r| usize::from(r.end()) == last)
        .map(|r| usize::from(r.start()))
        .next()
        .unwrap_or(first);
    if multiline && trailing_comma && starts_line(text, last_start) {
        let indent = indent_at(text, last_start);
        return Some(Edit::insert(
            file,
            to_size(next + 1)?,
            format!("{nl}{indent}{item},"),
        ));
    }
    if multiline && starts_line(text, last_start) {
        let indent = indent_at(text, last_start);
        return Some(Edit::insert(
            file,
            to_size(last)?,
            format!(",{nl}{indent}{item}"),
        ));
    }
    if trailing_comma {
        return Some(Edit::insert(file, to_size(next + 1)?, format!(" {item}")));
    }
    Some(Edit::insert(file, to_size(last)?, format!(", {item}")))
}

/// An edit adding the keyword argument `kw` (`name=value`) to a call.
pub fn add_keyword(file: FileId, text: &str, call: &ast::ExprCall, kw: &str) -> Option<Edit> {
    let args = &call.arguments;
    let open_end = usize::from(args.range.start()) + 1;
    let close = usize::from(args.range.end()).checked_sub(1)?;
    if text.as_bytes().get(close) != Some(&b')') {
        return None;
    }
    let items: Vec<TextRange> = args
        .args
        .iter()
        .map(Ranged::range)
        .chain(args.keywords.iter().map(Ranged::range))
        .collect();
    append_item(file, text, open_end, close, &items, kw)
}

/// An edit appending `item` to a list or tuple display.
pub fn append_to_sequence(file: FileId, text: &str, seq: &Expr, item: &str) -> Option<Edit> {
    let (elts, range) = match seq {
        Expr::List(l) => (&l.elts, l.range),
        Expr::Tuple(t) if t.parenthesized => (&t.elts, t.range),
        _ => return None,
    };
    let open_end = usize::from(range.start()) + 1;
    let close = usize::from(range.end()).checked_sub(1)?;
    let items: Vec<TextRange> = elts.iter().map(Ranged::range).collect();
    // A one-element tuple keeps its comma: `(a,)` becomes `(a, item)`.
    append_item(file, text, open_end, close, &items, item)
}

/// An edit adding the statement `line` (e.g. `atomic = False`) to a class body: before
/// the first statement assigning one of `before` (in the order `makemigrations` writes a
/// `Migration`), else after the last statement. `None` when the body shares the `class`
/// line.
pub fn add_class_attribute(
    file: FileId,
    text: &str,
    class: &ast::StmtClassDef,
    line: &str,
    before: &[&str],
) -> Option<Edit> {
    let first = class.body.first()?;
    let first_start = usize::from(first.range().start());
    if !starts_line(text, first_start) {
        return None;
    }
    let nl = newline(text);
    let assigns = |s: &Stmt, name: &str| match s {
        Stmt::Assign(a) => a
            .targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if n.id.as_str() == name)),
        Stmt::AnnAssign(a) => matches!(a.target.as_ref(), Expr::Name(n) if n.id.as_str() == name),
        _ => false,
    };
    let anchor = class
        .body
        .iter()
        .find(|s| before.iter().any(|b| assigns(s, b)));
    if let Some(s) = anchor {
        let at = usize::from(s.range().start());
        let indent = indent_at(text, at);
        let ls = line_start(text, at);
        return Some(Edit::insert(
            file,
            to_size(ls)?,
            format!("{indent}{line}{nl}{nl}"),
        ));
    }
    let last = class.body.last()?;
    let indent = indent_at(text, first_start).to_owned();
    let end = usize::from(last.range().end());
    // After the last statement's line (and its comment).
    let rest = &text[end..];
    let eol = rest.find(['\n', '\r']).map_or(text.len(), |i| end + i);
    let (at, prefix, suffix) = if eol == text.len() {
        (eol, nl.to_owned(), String::new())
    } else {
        let after = if text[eol..].starts_with("\r\n") {
            eol + 2
        } else {
            eol + 1
        };
        (after, String::new(), nl.to_owned())
    };
    Some(Edit::insert(
        file,
        to_size(at)?,
        format!("{prefix}{nl}{indent}{line}{suffix}"),
    ))
}

/// The edit making the `Migration` class (named at `class_name`) non-atomic: its
/// `atomic = True` becomes `False`, or `atomic = False` is added where `makemigrations`
/// writes it (before `dependencies`). Parses `text` again.
pub fn atomic_false(file: FileId, text: &str, class_name: TextRange) -> Option<Edit> {
    let parsed = djcheck_python::parse_module(text);
    if !parsed.errors.is_empty() {
        return None;
    }
    let class = find_class(parsed.body(), class_name)?;
    if let Some(v) = class_assignment(class, "atomic") {
        return Some(Edit::replace(file, v.range(), "False"));
    }
    add_class_attribute(
        file,
        text,
        class,
        "atomic = False",
        &["dependencies", "operations"],
    )
}

/// What a module binds `settings` to, at its top level.
enum Binding {
    /// `from django.conf import settings`.
    DjangoSettings,
    Other,
    Unbound,
}

fn settings_binding(body: &[Stmt]) -> Binding {
    match djcheck_python::eval::module_binds(body, "settings") {
        Some(false) => return Binding::Unbound,
        None => return Binding::Other,
        Some(true) => {}
    }
    let only_django = body.iter().all(|s| match s {
        Stmt::ImportFrom(i) => i.names.iter().all(|a| {
            let bound = a.asname.as_ref().unwrap_or(&a.name).id.as_str();
            bound != "settings"
                || (i
                    .module
                    .as_ref()
                    .is_some_and(|m| m.id.as_str() == "django.conf")
                    && a.name.id.as_str() == "settings"
                    && i.level == 0)
        }),
        _ => {
            !djcheck_python::eval::module_binds(std::slice::from_ref(s), "settings").unwrap_or(true)
        }
    });
    if only_django {
        Binding::DjangoSettings
    } else {
        Binding::Other
    }
}

/// The edit importing `settings` from `django.conf` when the module does not, placed as
/// `makemigrations` places it (before `from django.db import ...`). `Some(None)` when the
/// import is already there; `None` when `settings` is bound to something else.
pub fn import_settings(file: FileId, text: &str, body: &[Stmt]) -> Option<Option<Edit>> {
    match settings_binding(body) {
        Binding::DjangoSettings => return Some(None),
        Binding::Other => return None,
        Binding::Unbound => {}
    }
    let nl = newline(text);
    let line = format!("from django.conf import settings{nl}");
    let imports: Vec<&Stmt> = body
        .iter()
        .take_while(|s| {
            matches!(s, Stmt::Import(_) | Stmt::ImportFrom(_))
                || matches!(s, Stmt::Expr(e) if e.value.is_string_literal_expr())
        })
        .filter(|s| matches!(s, Stmt::Import(_) | Stmt::ImportFrom(_)))
        .collect();
    let key = |s: &Stmt| match s {
        Stmt::ImportFrom(i) => i
            .module
            .as_ref()
            .map_or(String::new(), |m| m.id.to_string()),
        Stmt::Import(i) => i
            .names
            .first()
            .map_or(String::new(), |a| a.name.id.to_string()),
        _ => String::new(),
    };
    let at = match imports.iter().find(|s| key(s).as_str() > "django.conf") {
        Some(s) => line_start(text, usize::from(s.range().start())),
        None => match imports.last() {
            Some(s) => {
                let end = usize::from(s.range().end());
                let rest = &text[end..];
                match rest.find(['\n', '\r']) {
                    Some(i) if rest[i..].starts_with("\r\n") => end + i + 2,
                    Some(i) => end + i + 1,
                    None => {
                        return Some(Some(Edit::insert(
                            file,
                            to_size(text.len())?,
                            format!("{nl}from django.conf import settings"),
                        )))
                    }
                }
            }
            // No import: after the leading comments and docstring.
            None => match body.first() {
                Some(Stmt::Expr(e)) if e.value.is_string_literal_expr() => {
                    let end = usize::from(e.range().end());
                    let rest = &text[end..];
                    rest.find(['\n', '\r']).map_or(text.len(), |i| {
                        if rest[i..].starts_with("\r\n") {
                            end + i + 2
                        } else {
                            end + i + 1
                        }
                    })
                }
                Some(s) => line_start(text, usize::from(s.range().start())),
                None => text.len(),
            },
        },
    };
    Some(Some(Edit::insert(file, to_size(at)?, line)))
}

/// Finds the expression with exactly `range` (the outermost one).
pub fn find_expr(body: &[Stmt], range: TextRange) -> Option<&Expr> {
    struct Finder<'a> {
        range: TextRange,
        found: Option<&'a Expr>,
    }
    impl<'a> SourceOrderVisitor<'a> for Finder<'a> {
        fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
            if self.found.is_none() && node.range().contains_range(self.range) {
                TraversalSignal::Traverse
            } else {
                TraversalSignal::Skip
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if expr.range() == self.range && self.found.is_none() {
                self.found = Some(expr);
                return;
            }
            source_order::walk_expr(self, expr);
        }
    }
    let mut f = Finder { range, found: None };
    for s in body {
        f.visit_stmt(s);
    }
    f.found
}

/// Finds the call whose callee has exactly `func` as range.
pub fn find_call(body: &[Stmt], func: TextRange) -> Option<&ast::ExprCall> {
    struct Finder<'a> {
        func: TextRange,
        found: Option<&'a ast::ExprCall>,
    }
    impl<'a> SourceOrderVisitor<'a> for Finder<'a> {
        fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
            if self.found.is_none() && node.range().contains_range(self.func) {
                TraversalSignal::Traverse
            } else {
                TraversalSignal::Skip
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(c) = expr {
                if c.func.range() == self.func && self.found.is_none() {
                    self.found = Some(c);
                    return;
                }
            }
            source_order::walk_expr(self, expr);
        }
    }
    let mut f = Finder { func, found: None };
    for s in body {
        f.visit_stmt(s);
    }
    f.found
}

/// Finds the class statement whose name has `name` as range (anywhere in the module).
pub fn find_class(body: &[Stmt], name: TextRange) -> Option<&ast::StmtClassDef> {
    struct Finder<'a> {
        name: TextRange,
        found: Option<&'a ast::StmtClassDef>,
    }
    impl<'a> SourceOrderVisitor<'a> for Finder<'a> {
        fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
            if self.found.is_none() && node.range().contains_range(self.name) {
                TraversalSignal::Traverse
            } else {
                TraversalSignal::Skip
            }
        }
        fn visit_stmt(&mut self, stmt: &'a Stmt) {
            if let Stmt::ClassDef(c) = stmt {
                if c.name.range == self.name {
                    self.found = Some(c);
                    return;
                }
            }
            source_order::walk_stmt(self, stmt);
        }
    }
    let mut f = Finder { name, found: None };
    for s in body {
        f.visit_stmt(s);
    }
    f.found
}

/// The assignment `name = value` in a class body, by the name assigned.
pub fn class_assignment<'a>(class: &'a ast::StmtClassDef, name: &str) -> Option<&'a Expr> {
    class.body.iter().find_map(|s| match s {
        Stmt::Assign(a)
            if a.targets.len() == 1
                && matches!(&a.targets[0], Expr::Name(n) if n.id.as_str() == name) =>
        {
            Some(a.value.as_ref())
        }
        _ => None,
    })
}

/// A Python string literal of `value` in the quote style of the literal at `like` (the
/// text of an existing literal), or double quotes. `None` for values needing escapes.
pub fn string_literal(value: &str, like: Option<&str>) -> Option<String> {
    if value.contains(['\\', '\n', '\r', '\'', '"']) {
        return None;
    }
    let quote = match like.and_then(|l| l.trim_start_matches(['r', 'R', 'u', 'U']).chars().next()) {
        Some('\'') => '\'',
        _ => '"',
    };
    Some(format!("{quote}{value}{quote}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(text: &str, e: &Edit) -> String {
        let (s, t) = (usize::from(e.range.start()), usize::from(e.range.end()));
        format!("{}{}{}", &text[..s], e.content, &text[t..])
    }

    fn call_of(text: &str) -> String {
        let p = djcheck_python::parse_module(text);
        let Stmt::Expr(e) = &p.body()[0] else {
            panic!()
        };
        let Expr::Call(c) = e.value.as_ref() else {
            panic!()
        };
        let e = add_keyword(FileId(0), text, c, "k=1").unwrap();
        apply(text, &e)
    }

    #[test]
    fn keyword_arguments_follow_the_layout() {
        assert_eq!(call_of("f()"), "f(k=1)");
        assert_eq!(call_of("f(a)"), "f(a, k=1)");
        assert_eq!(call_of("f(a,)"), "f(a, k=1)");
        assert_eq!(call_of("f(\n    a,\n)"), "f(\n    a,\n    k=1,\n)");
        assert_eq!(call_of("f(\n    a\n)"), "f(\n    a,\n    k=1\n)");
        assert_eq!(call_of("f(a,\n  b)"), "f(a,\n  b, k=1)");
        assert_eq!(call_of("f(x(\n  1), y=2)"), "f(x(\n  1), y=2, k=1)");
        assert_eq!(
            call_of("f(\r\n    a,\r\n)"),
            "f(\r\n    a,\r\n    k=1,\r\n)"
        );
    }

    #[test]
    fn class_attributes_go_where_makemigrations_puts_them() {
        let text = "class Migration(migrations.Migration):\n\n    dependencies = []\n\n    operations = []\n";
        let p = djcheck_python::parse_module(text);
        let Stmt::ClassDef(c) = &p.body()[0] else {
            panic!()
        };
        let e = add_class_attribute(
            FileId(0),
            text,
            c,
            "atomic = False",
            &["dependencies", "operations"],
        )
        .unwrap();
        assert_eq!(
            apply(text, &e),
            "class Migration(migrations.Migration):\n\n    atomic = False\n\n    dependencies = []\n\n    operations = []\n"
        );
        let text = "class Migration(migrations.Migration):\n    x = 1";
        let p = djcheck_python::parse_module(text);
        let Stmt::ClassDef(c) = &p.body()[0] else {
            panic!()
        };
        let e =
            add_class_attribute(FileId(0), text, c, "atomic = False", &["dependencies"]).unwrap();
        assert_eq!(
            apply(text, &e),
            "class Migration(migrations.Migration):\n    x = 1\n\n    atomic = False"
        );
    }

    #[test]
    fn settings_import_is_added_once() {
        let text = "from django.db import migrations\n\nX = 1\n";
        let p = djcheck_python::parse_module(text);
        let e = import_settings(FileId(0), text, p.body()).unwrap().unwrap();
        assert_eq!(
            apply(text, &e),
            "from django.conf import settings\nfrom django.db import migrations\n\nX = 1\n"
        );
        let text = "from django.conf import settings\nfrom django.db import migrations\n";
        let p = djcheck_python::parse_module(text);
        assert_eq!(import_settings(FileId(0), text, p.body()), Some(None));
        let text = "import myproj.settings as settings\n";
        let p = djcheck_python::parse_module(text);
        assert_eq!(import_settings(FileId(0), text, p.body()), None);
    }
}
