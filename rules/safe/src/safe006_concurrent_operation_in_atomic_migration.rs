use crate::walk;
use djcheck_linter::{declare_rule, Applicability, Diagnostic, Fix, Project, Rule, RuleMeta, Span};

declare_rule! {
    /// ## What it finds
    /// `AddIndexConcurrently` or `RemoveIndexConcurrently` (from
    /// `django.contrib.postgres.operations`), or one of django-pg-migration-tools'
    /// operations that refuse a transaction (`SaferAddIndexConcurrently`,
    /// `SaferRemoveIndexConcurrently`, `SaferAddUniqueConstraint`,
    /// `SaferRemoveUniqueConstraint`, `SaferAlterFieldSetNotNull`), in a migration about
    /// to be deployed that is atomic: `atomic = True`, or nothing said and the class
    /// derives from Django's `Migration`.
    ///
    /// `CONCURRENTLY` written in a `RunSQL` is SQL008's.
    ///
    /// ## Why it matters
    /// Django refuses before touching the database: `migrate` (and `sqlmigrate`) stop with
    /// "NotSupportedError: The AddIndexConcurrently operation cannot be executed inside a
    /// transaction (set atomic = False on the migration)." PostgreSQL cannot build an
    /// index concurrently inside a transaction block. The operations are PostgreSQL-only.
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     operations = [
    ///         AddIndexConcurrently(
    ///             model_name="order",
    ///             index=models.Index(fields=["created"], name="order_created_idx"),
    ///         ),
    ///     ]
    /// ```
    ///
    /// ## How to fix
    /// Set `atomic = False` on the `Migration` class, and keep such a migration to its
    /// concurrent operations (a failure no longer rolls the others back).
    pub struct ConcurrentOperationInAtomicMigration { code: "SAFE006", name: "concurrent-operation-in-atomic-migration", severity: Error }
}

const NON_TRANSACTIONAL: &[&str] = &[
    "AddIndexConcurrently",
    "RemoveIndexConcurrently",
    "SaferAddIndexConcurrently",
    "SaferRemoveIndexConcurrently",
    "SaferAddUniqueConstraint",
    "SaferRemoveUniqueConstraint",
    "SaferAlterFieldSetNotNull",
];

impl Rule for ConcurrentOperationInAtomicMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for site in walk::sites(project) {
            if site.atomic() != Some(true) {
                continue;
            }
            let ops = walk::flatten_database(site.m);
            // Safe only when the migration holds nothing but such operations: nothing
            // else loses its transaction.
            let only_these = site
                .m
                .operations
                .iter()
                .all(|o| NON_TRANSACTIONAL.contains(&o.call.as_str()));
            let mut fix: Option<Option<Fix>> = None;
            let make_fix = || {
                site.m
                    .class_range
                    .and_then(|c| {
                        djcheck_fix::edits::atomic_false(
                            site.m.file,
                            &project.db.file(site.m.file).text,
                            c,
                        )
                    })
                    .map(|e| Fix {
                        message: "make the migration non-atomic: `atomic = False`".to_owned(),
                        applicability: if only_these {
                            Applicability::Safe
                        } else {
                            Applicability::Unsafe
                        },
                        edits: vec![e],
                        new_files: Vec::new(),
                    })
            };
            for op in ops {
                if !NON_TRANSACTIONAL.contains(&op.call.as_str()) {
                    continue;
                }
                let mut d = Self::META
                    .diagnostic(format!("`{}` in an atomic migration", op.call))
                    .at(
                        site.span(walk::head(&site, op.range)),
                        "Django refuses to run this inside a transaction",
                    )
                    .note(if op.call.starts_with("Safer") {
                        "django-pg-migration-tools checks for a transaction first: `migrate` fails with \"NotSupportedError: ... cannot be executed inside a transaction (set atomic = False on the migration).\"".to_owned()
                    } else {
                        format!(
                            "`migrate` fails with \"NotSupportedError: The {} operation cannot be executed inside a transaction (set atomic = False on the migration).\"",
                            op.call
                        )
                    })
                    .help("set `atomic = False` on the `Migration` class");
                if let Some(class) = site.m.class_range {
                    let label = if site.m.atomic == Some(true) {
                        "declares `atomic = True`"
                    } else {
                        "atomic by default"
                    };
                    d = d.label(Span::new(site.m.file, class), label);
                }
                out.push(d.with_fix(fix.get_or_insert_with(make_fix).clone()));
            }
        }
    }
}
