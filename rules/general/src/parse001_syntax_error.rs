use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_project::{FileRole, ProblemKind};

declare_rule! {
    /// ## What it finds
    /// A file djcheck analyses (a migration, a settings module, an app's `apps.py`, an
    /// entry point such as `manage.py`) that is not valid Python.
    ///
    /// ## Why it matters
    /// Django imports these files: a syntax error stops `migrate`, `runserver` and every
    /// management command. djcheck still analyses every other file; a migration that does
    /// not parse is kept in the graph as present with unknown contents, and the graph
    /// rules skip what depends on it (the diagnostic says what).
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     dependencies = [("blog", "0001_initial")
    ///     operations = []
    /// ```
    ///
    /// ## How to fix
    /// Fix the syntax error at the position shown. If the file was hand-edited after
    /// `makemigrations`, compare it with the version in version control.
    pub struct SyntaxError { code: "PARSE001", name: "syntax-error", severity: Error }
}

impl Rule for SyntaxError {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for p in &project.problems {
            let ProblemKind::Syntax(errors) = &p.kind else {
                continue;
            };
            let Some(first) = errors.first() else {
                continue;
            };
            let mut d = Self::META
                .diagnostic(format!(
                    "syntax error in {}: {}",
                    p.role.describe(),
                    lowercase_first(&first.message)
                ))
                .at(Span::new(p.file, first.range), "");
            if errors.len() > 1 {
                d = d.note(format!(
                    "{} more syntax errors in this file",
                    errors.len() - 1
                ));
            }
            if p.role == FileRole::Migration {
                if let Some(m) = project.migrations.iter().find(|m| m.file == p.file) {
                    d = d.note(format!(
                        "migration `{}.{}` is treated as present with unknown dependencies and operations: leaf, cycle and model checks of app `{}` are skipped",
                        m.app, m.name, m.app
                    ));
                }
            }
            if p.role == FileRole::Settings {
                d = d.note(
                    "settings defined in this file are unknown: checks that need them stay silent",
                );
            }
            out.push(d);
        }
    }
}

fn lowercase_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) if !s.chars().nth(1).is_some_and(char::is_uppercase) => {
            f.to_lowercase().chain(c).collect()
        }
        _ => s.to_owned(),
    }
}
