use crate::common;
use crate::confirm;
use crate::shape::{ActionKind, Kind, Shape};
use djcheck_linter::{
    declare_rule, Applicability, Diagnostic, FileContext, Fix, Rule, RuleMeta, Span,
};
use djcheck_project::SqlDialect;
use djcheck_python::ast::Stmt;
use djcheck_python::eval;
use djcheck_sql::statements::Statement;

declare_rule! {
    /// ## What it finds
    /// `CREATE INDEX CONCURRENTLY`, `DROP INDEX CONCURRENTLY`, `REINDEX ... CONCURRENTLY`
    /// or `DETACH PARTITION ... CONCURRENTLY` in a `RunSQL` of an atomic migration, or
    /// inside a `DO` block (PostgreSQL only).
    ///
    /// A migration is atomic when its class says `atomic = True`, or says nothing and
    /// derives from Django's `migrations.Migration` (a project's own base class may set
    /// `atomic = False`). Both `sql` and `reverse_sql` are checked.
    ///
    /// ## Why it matters
    /// Django runs an atomic migration inside one transaction, and PostgreSQL refuses these
    /// statements there: `migrate` fails with "CREATE INDEX CONCURRENTLY cannot run inside
    /// a transaction block". A `DO` block is a function call, where they are refused too.
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     operations = [
    ///         migrations.RunSQL(
    ///             "CREATE INDEX CONCURRENTLY IF NOT EXISTS post_title_idx ON blog_post (title)",
    ///             reverse_sql="DROP INDEX CONCURRENTLY IF EXISTS post_title_idx",
    ///         ),
    ///     ]
    /// ```
    ///
    /// ## How to fix
    /// Set `atomic = False` on the `Migration` class (keep such a migration small, and its
    /// statements re-runnable with `IF NOT EXISTS`/`IF EXISTS`, since a failure no longer
    /// rolls anything back), or use Django's `AddIndexConcurrently` /
    /// `RemoveIndexConcurrently` operations, which need `atomic = False` too.
    pub struct ConcurrentlyInAtomicMigration { code: "SQL008", name: "concurrently-in-atomic-migration", severity: Error }
}

impl Rule for ConcurrentlyInAtomicMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        if cx.options.sql_dialect != SqlDialect::PostgreSql {
            return;
        }
        let Some(m) = cx.migration else { return };
        // `atomic` unset means Django's default (atomic) only when the class derives from
        // Django's `Migration` itself: a project's own base class may set it (Sentry's
        // `CheckedMigration` sets `atomic = False`).
        let atomic = match m.atomic {
            Some(a) => a,
            None => derives_from_django_migration(cx),
        };
        // `atomic = False` is a safe fix only when the migration does nothing else: each
        // of its statements then commits alone, and there is nothing else to roll back.
        let mut only_concurrent = m.operations.len() == 1;
        common::for_each_statement(cx, |_, st, _| {
            only_concurrent &= !st.in_do && concurrently(st).is_some();
        });
        // Built once, on the first finding (it parses the file again).
        let mut fix: Option<Option<Fix>> = None;
        let make_fix = || {
            m.class_range
                .filter(|_| atomic)
                .and_then(|c| djcheck_fix::edits::atomic_false(cx.file, cx.text, c))
                .map(|e| Fix {
                    message: "make the migration non-atomic: `atomic = False`".to_owned(),
                    applicability: if only_concurrent {
                        Applicability::Safe
                    } else {
                        Applicability::Unsafe
                    },
                    edits: vec![e],
                    new_files: Vec::new(),
                })
        };
        common::for_each_statement(cx, |u, st, _| {
            if !(atomic || st.in_do) {
                return;
            }
            let Some((what, last)) = concurrently(st) else {
                return;
            };
            let Some(span) = common::span(cx, u, st, 0, last) else {
                return;
            };
            let mut d = if st.in_do {
                Self::META
                    .diagnostic(format!("`{what}` inside a `DO` block"))
                    .at(span, "PostgreSQL refuses this inside a function")
                    .help("move the statement out of the `DO` block, into a `RunSQL` of a migration with `atomic = False`")
            } else {
                let mut d = Self::META
                    .diagnostic(format!("`{what}` in an atomic migration"))
                    .at(span, "PostgreSQL refuses this inside a transaction block")
                    .note("Django runs an atomic migration (the default) in one transaction")
                    .help("set `atomic = False` on the `Migration` class, and keep its statements re-runnable (`IF NOT EXISTS`), since a failure no longer rolls anything back");
                if let Some(class) = m.class_range {
                    let label = if m.atomic == Some(true) {
                        "declares `atomic = True`"
                    } else {
                        "atomic by default"
                    };
                    d = d.label(Span::new(cx.file, class), label);
                }
                d.with_fix(fix.get_or_insert_with(make_fix).clone())
            };
            d = common::reverse_note(d, u);
            out.push(d);
        });
    }
}

/// True when the `Migration` class's only base is `migrations.Migration` (or
/// `Migration`, `django.db.migrations.Migration`).
fn derives_from_django_migration(cx: &FileContext<'_>) -> bool {
    let Some(name) = cx.migration.and_then(|m| m.class_range) else {
        return false;
    };
    cx.parsed.body().iter().any(|s| match s {
        Stmt::ClassDef(c) if c.name.range == name => c.arguments.as_ref().is_some_and(|a| {
            a.keywords.is_empty()
                && matches!(
                    a.args.iter().map(eval::dotted_name).collect::<Vec<_>>().as_slice(),
                    [Some(b)] if b == "migrations.Migration" || b == "Migration" || b == "django.db.migrations.Migration"
                )
        }),
        _ => false,
    })
}

/// The statement's `... CONCURRENTLY` phrase and the index of its last token.
fn concurrently(st: &Statement) -> Option<(String, usize)> {
    match &st.shape {
        Shape::Create(c) if c.object.kind == Kind::Index => {
            let k = c.concurrently?;
            if st.ast().and_then(confirm::concurrently) == Some(false) {
                return None;
            }
            Some(("CREATE INDEX CONCURRENTLY".to_owned(), k))
        }
        Shape::Drop(d) if d.object.kind == Kind::Index => {
            Some(("DROP INDEX CONCURRENTLY".to_owned(), d.concurrently?))
        }
        Shape::Reindex { concurrently } => {
            Some(("REINDEX CONCURRENTLY".to_owned(), (*concurrently)?))
        }
        Shape::Alter(a) => a
            .actions
            .iter()
            .find(|x| x.kind == ActionKind::DetachConcurrently)
            .and_then(|x| x.concurrently)
            .map(|k| ("DETACH PARTITION CONCURRENTLY".to_owned(), k)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{lint_errors_with, lint_ok_with, Opts};

    const R: ConcurrentlyInAtomicMigration = ConcurrentlyInAtomicMigration;

    #[test]
    fn fires_in_atomic_migrations() {
        let atomic = Opts::default();
        assert_eq!(
            lint_errors_with(
                &R,
                "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a);
                 DROP INDEX CONCURRENTLY IF EXISTS j;
                 REINDEX INDEX CONCURRENTLY k;
                 ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY",
                &atomic
            ),
            vec![
                "CREATE UNIQUE INDEX CONCURRENTLY",
                "DROP INDEX CONCURRENTLY",
                "REINDEX INDEX CONCURRENTLY",
                "ALTER TABLE p DETACH PARTITION p1 CONCURRENTLY"
            ]
        );
        let explicit = Opts {
            atomic: Some(true),
            ..Opts::default()
        };
        lint_errors_with(&R, "CREATE INDEX CONCURRENTLY i ON t (a)", &explicit);
    }

    #[test]
    fn silent_when_not_atomic_or_not_postgres() {
        let off = Opts {
            atomic: Some(false),
            ..Opts::default()
        };
        lint_ok_with(
            &R,
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a); DROP INDEX CONCURRENTLY IF EXISTS j",
            &off,
        );
        lint_ok_with(
            &R,
            "CREATE INDEX IF NOT EXISTS i ON t (a)",
            &Opts::default(),
        );
        let lite = Opts {
            dialect: SqlDialect::Sqlite,
            ..Opts::default()
        };
        lint_ok_with(&R, "CREATE INDEX IF NOT EXISTS i ON t (a)", &lite);
    }

    #[test]
    fn a_project_base_class_may_set_atomic() {
        let op = "migrations.RunSQL('CREATE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)', migrations.RunSQL.noop)";
        let custom = crate::testing::migration(op, None).replace(
            "class Migration(migrations.Migration):",
            "class Migration(CheckedMigration):",
        );
        assert!(crate::testing::snippets(&R, &custom, &Opts::default()).is_empty());
        let explicit = crate::testing::migration(op, Some(true)).replace(
            "class Migration(migrations.Migration):",
            "class Migration(CheckedMigration):",
        );
        assert_eq!(
            crate::testing::snippets(&R, &explicit, &Opts::default()).len(),
            1
        );
    }

    #[test]
    fn always_fires_inside_do_blocks() {
        let off = Opts {
            atomic: Some(false),
            ..Opts::default()
        };
        assert_eq!(
            lint_errors_with(
                &R,
                "DO $$ BEGIN CREATE INDEX CONCURRENTLY i ON t (a); END $$",
                &off
            ),
            vec!["CREATE INDEX CONCURRENTLY"]
        );
    }
}
