//! The repairs the graph rules offer: a dependency repointed, a `replaces` entry, a merge
//! migration as `makemigrations --merge` writes it.

use djcheck_fix::edits;
use djcheck_linter::{Edit, Fix, NewFile, Project};
use djcheck_project::migration::{Key, Migration};
use djcheck_python::ast::Expr;
use djcheck_python::{Ranged, TextRange};

/// The quote character the file uses for its dependencies (`'` as `makemigrations`
/// writes them without a formatter, `"` after black), double quotes by default.
fn quote_of(text: &str, m: &Migration) -> Option<&'static str> {
    let r = m.dependencies_range?;
    let t = text.get(r.start().to_usize()..r.end().to_usize())?;
    match t.find(['\'', '"']).map(|i| &t[i..=i]) {
        Some("'") => Some("'"),
        _ => Some("\""),
    }
}

/// Repoints the `(app, name)` entry at `range` to `to`, replacing only the literals that
/// change and keeping their quotes.
pub fn repoint(project: &Project, m: &Migration, range: TextRange, to: &Key) -> Option<Fix> {
    let text = &project.db.file(m.file).text;
    let parsed = djcheck_python::parse_module(text);
    if !parsed.errors.is_empty() {
        return None;
    }
    let entry = edits::find_expr(parsed.body(), range)?;
    let elts = match entry {
        Expr::Tuple(t) => &t.elts,
        Expr::List(l) => &l.elts,
        _ => return None,
    };
    let [app, name] = elts.as_slice() else {
        return None;
    };
    let mut out = Vec::new();
    for (e, want) in [(app, &to.0), (name, &to.1)] {
        let Expr::StringLiteral(s) = e else {
            return None;
        };
        if s.value.is_implicit_concatenated() {
            return None;
        }
        if s.value.to_str() == want.as_str() {
            continue;
        }
        let written = text.get(e.range().start().to_usize()..e.range().end().to_usize());
        out.push(Edit::replace(
            m.file,
            e.range(),
            edits::string_literal(want, written)?,
        ));
    }
    if out.is_empty() {
        return None;
    }
    Some(Fix::unsafe_edit(
        format!("repoint the dependency to `{}.{}`", to.0, to.1),
        out,
    ))
}

/// Adds `(app, old)` to the `replaces` of `m` (the migration a file was renamed to), so
/// that databases that applied the old name count the new one as applied.
pub fn replaces(project: &Project, m: &Migration, old: &Key) -> Option<Fix> {
    let text = &project.db.file(m.file).text;
    let parsed = djcheck_python::parse_module(text);
    if !parsed.errors.is_empty() {
        return None;
    }
    let class = edits::find_class(parsed.body(), m.class_range?)?;
    let q = quote_of(text, m).unwrap_or("\"");
    let entry = format!("({q}{}{q}, {q}{}{q})", old.0, old.1);
    if [&old.0, &old.1]
        .iter()
        .any(|s| s.contains(['\'', '"', '\\']))
    {
        return None;
    }
    let edit = match edits::class_assignment(class, "replaces") {
        Some(list) => edits::append_to_sequence(m.file, text, list, &entry)?,
        None => edits::add_class_attribute(
            m.file,
            text,
            class,
            &format!("replaces = [{entry}]"),
            &["initial", "atomic", "dependencies", "operations"],
        )?,
    };
    Some(Fix::unsafe_edit(
        format!("record the old name: `replaces = [{entry}]`"),
        vec![edit],
    ))
}

/// Django's `MigrationAutodetector.parse_number`: the number after `_squashed_`, else the
/// leading digits.
fn parse_number(name: &str) -> Option<u64> {
    if let Some(i) = name.rfind("_squashed_") {
        let digits: String = name[i + "_squashed_".len()..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if !digits.is_empty() {
            return digits.parse().ok();
        }
    }
    let digits: String = name.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The merge migration `makemigrations --merge --no-header` writes for `app`'s leaves,
/// byte for byte. The only difference: where Django would name it after the current time
/// (the leaves' names joined are longer than 47 characters), it is named `NNNN_merge`, so
/// that the same project always gets the same fix.
pub fn merge(project: &Project, app: &str, leaves: &[&Migration]) -> Option<Fix> {
    let g = &project.graph;
    // Django refuses to merge branches with no common ancestor in the app.
    if g.root_nodes(app).len() != 1 || g.leaf_nodes(app).len() != leaves.len() {
        return None;
    }
    let dir = &project.app(app)?.migrations_dir;
    let mut names: Vec<&str> = leaves.iter().map(|m| m.name.as_str()).collect();
    names.sort_unstable();
    let biggest = names
        .iter()
        .filter_map(|n| parse_number(n))
        .max()
        .unwrap_or(1);
    let joined = names.join("_");
    let name = if joined.len() > 47 {
        format!("{:04}_merge", biggest + 1)
    } else {
        format!("{:04}_merge_{joined}", biggest + 1)
    };
    if project.migration(&(app.to_owned(), name.clone())).is_some()
        || [app, &joined].iter().any(|s| s.contains(['\'', '\\']))
    {
        return None;
    }
    let mut deps: Vec<String> = names
        .iter()
        .map(|n| format!("        ('{app}', '{n}'),\n"))
        .collect();
    deps.sort();
    let content = format!(
        "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n\n    dependencies = [\n{}    ]\n\n    operations = [\n    ]\n",
        deps.concat()
    );
    let path = if dir.is_empty() {
        format!("{name}.py")
    } else {
        format!("{dir}/{name}.py")
    };
    Some(Fix {
        message: format!("add the merge migration `{path}`"),
        applicability: djcheck_linter::Applicability::Unsafe,
        edits: Vec::new(),
        new_files: vec![NewFile { path, content }],
    })
}

#[cfg(test)]
mod tests {
    use super::parse_number;

    #[test]
    fn numbers_as_django_parses_them() {
        assert_eq!(parse_number("0003_a"), Some(3));
        assert_eq!(parse_number("0001_squashed_0004_x"), Some(4));
        assert_eq!(parse_number("initial"), None);
    }
}
