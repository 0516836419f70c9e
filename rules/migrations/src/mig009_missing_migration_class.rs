use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Span};
use djcheck_python::ast::Stmt;
use djcheck_python::TextRange;

declare_rule! {
    /// ## What it finds
    /// A module in an app's migrations package that defines no `Migration`: a helper left
    /// in `migrations/`, or a migration whose class was renamed. Django imports every
    /// module of the package whose name does not start with `_` or `~`, so those two
    /// prefixes are the way to keep helpers there. A `Migration` bound in any other way
    /// at module level (a class under an `if connection.vendor == ...:`, an import) counts,
    /// and a module with a star import is not judged. A folder named `migrations` holding
    /// no migration at all is not taken for a migrations package.
    ///
    /// ## Why it matters
    /// Django's loader refuses the whole project: every `migrate`, `makemigrations` and
    /// `showmigrations` fails with `BadMigrationError: Migration 0003_helpers in app blog
    /// has no Migration class`.
    ///
    /// ## Example
    /// ```python
    /// # blog/migrations/0003_helpers.py
    /// def slugify_titles(apps, schema_editor):
    ///     ...
    /// ```
    ///
    /// ## How to fix
    /// Move the helper out of the package, or rename it with a leading underscore
    /// (`_helpers.py`), which Django skips; if the class was renamed, name it `Migration`
    /// again.
    pub struct MissingMigrationClass { code: "MIG009", name: "missing-migration-class", severity: Error }
}

impl Rule for MissingMigrationClass {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        // The loader keeps every module of a migrations package that binds no `Migration`
        // at module level in any way (a star import counts as a possible binding).
        for (file, (app, name)) in &project.without_migration_class {
            // A renamed class is the likely mistake: point at the module's first class.
            // Only these rare files are parsed again.
            let parsed = djcheck_python::parse_module(&project.db.file(*file).text);
            let class = parsed.body().iter().find_map(|s| match s {
                Stmt::ClassDef(c) => Some((c.name.id.as_str().to_owned(), c.name.range)),
                _ => None,
            });
            let function = parsed.body().iter().find_map(|s| match s {
                Stmt::FunctionDef(f) => Some(f.name.range),
                _ => None,
            });
            let (range, label) = match (&class, function) {
                (Some((n, r)), _) => (*r, format!("`{n}` is not named `Migration`")),
                (None, Some(r)) => (r, "a helper in the migrations package".to_owned()),
                (None, None) => (
                    TextRange::default(),
                    "no `Migration` defined in this module".to_owned(),
                ),
            };
            out.push(
                Self::META
                    .diagnostic(format!("migration module `{app}.{name}` has no `Migration` class"))
                    .at(Span::new(*file, range), label)
                    .note(format!(
                        "Django's loader imports every module of the migrations package and refuses the project: `BadMigrationError: Migration {name} in app {app} has no Migration class`"
                    ))
                    .help(match &class {
                        Some((n, _)) => format!(
                            "if `{n}` is the migration, name it `Migration`; a helper module belongs outside the package, or in `_{name}.py`, which Django skips"
                        ),
                        None => format!(
                            "move this module out of the migrations package, or rename it `_{name}.py`: Django skips modules whose name starts with `_` or `~`"
                        ),
                    }),
            );
        }
    }
}
