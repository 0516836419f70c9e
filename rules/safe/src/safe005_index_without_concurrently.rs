use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::{Field, OpKind, OptionArg};
use djcheck_project::SqlDialect;
use djcheck_rules_sql::facts::FactKind;

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed that builds an index on an existing table without
    /// `CONCURRENTLY`: `AddIndex`; `AddConstraint` with a `UniqueConstraint` (or another
    /// index-backed constraint); `AlterUniqueTogether`/`AlterIndexTogether` adding a
    /// group; `AddField` of an indexed field (`unique=True`, `db_index=True`, a
    /// `SlugField`); `AlterField` making a field unique or indexed (judged against its
    /// previous definition); `RunSQL` with `CREATE INDEX` without `CONCURRENTLY`.
    ///
    /// Silent for a table created by a migration of the same deploy, for
    /// `AddIndexConcurrently` and django-pg-migration-tools' `SaferAddIndexConcurrently`
    /// and `SaferAddUniqueConstraint`, and when `sql-dialect` is not `postgresql`.
    /// Foreign keys are SAFE007's.
    ///
    /// ## Why it matters
    /// On PostgreSQL, `CREATE INDEX` holds a SHARE lock on the table for the whole build:
    /// reads go on, but every `INSERT`, `UPDATE` and `DELETE` waits until the index is
    /// built, minutes on a large table. A unique constraint is worse: Django writes
    /// `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE`, which holds an ACCESS EXCLUSIVE lock
    /// (reads wait too) while it builds the index, and so does an index on a column added
    /// by the same `AddField` (`ADD COLUMN` holds that lock until the migration commits).
    /// MySQL's InnoDB builds secondary indexes
    /// online (concurrent reads and writes), and SQLite has a single writer anyway.
    ///
    /// ## Example
    /// ```python
    /// migrations.AddIndex(
    ///     model_name="order",
    ///     index=models.Index(fields=["created"], name="order_created_idx"),
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Build it concurrently, in a migration of its own that is not atomic:
    /// ```python
    /// from django.contrib.postgres.operations import AddIndexConcurrently
    ///
    /// class Migration(migrations.Migration):
    ///     atomic = False
    ///     operations = [
    ///         AddIndexConcurrently(
    ///             model_name="order",
    ///             index=models.Index(fields=["created"], name="order_created_idx"),
    ///         ),
    ///     ]
    /// ```
    /// For a unique constraint: `CREATE UNIQUE INDEX CONCURRENTLY`, then
    /// `ALTER TABLE ... ADD CONSTRAINT ... UNIQUE USING INDEX` (a `RunSQL` inside
    /// `SeparateDatabaseAndState`), or django-pg-migration-tools' `SaferAddUniqueConstraint`
    /// and `SaferAddIndexConcurrently`, which also set `lock_timeout` and retry safely.
    pub struct IndexWithoutConcurrently { code: "SAFE005", name: "index-without-concurrently", severity: Warning }
}

/// Whether a field has an index of its own (primary keys and relations aside).
fn indexed(f: &Field) -> Option<bool> {
    if f.is_many_to_many() || f.is_foreign_key() {
        return Some(false);
    }
    if f.flag("primary_key", false)? {
        return Some(false);
    }
    let unique = f.flag("unique", false)?;
    let db_index = f.flag("db_index", f.class == "SlugField")?;
    Some(unique || db_index)
}

fn unique(f: &Field) -> Option<bool> {
    f.flag("unique", false)
}

impl Rule for IndexWithoutConcurrently {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        if project.options.sql_dialect != SqlDialect::PostgreSql {
            return;
        }
        let mut new_tables = None;
        for site in walk::sites(project) {
            walk::for_each_op(&site, |op, _, cursor| {
                let Some(def) = site.existing(cursor, &walk::model_of(op).cloned()) else {
                    return;
                };
                let table = def.db_table().unwrap_or_else(|| def.name.clone());
                let (what, at, exclusive) = match (&op.kind, op.call.as_str()) {
                    (
                        OpKind::ModelOption {
                            arg: OptionArg::Part(p),
                            ..
                        },
                        "AddIndex",
                    ) => (
                        format!(
                            "index `{}` built on `{table}` without `CONCURRENTLY`",
                            p.name.clone().unwrap_or_default()
                        ),
                        p.range,
                        false,
                    ),
                    (
                        OpKind::ModelOption {
                            arg: OptionArg::Part(p),
                            ..
                        },
                        "AddConstraint",
                    ) if !p.is_check() => (
                        format!(
                            "unique constraint `{}` built on `{table}` under an exclusive lock",
                            p.name.clone().unwrap_or_default()
                        ),
                        p.range,
                        !p.condition && !p.expressions,
                    ),
                    (
                        OpKind::ModelOption {
                            arg: OptionArg::Together(Some(groups)),
                            ..
                        },
                        "AlterUniqueTogether" | "AlterIndexTogether",
                    ) => {
                        let before = if op.call == "AlterUniqueTogether" {
                            &def.unique_together
                        } else {
                            &def.index_together
                        };
                        let Some(added) = groups.iter().find(|g| !before.contains(g)) else {
                            return;
                        };
                        let unique = op.call == "AlterUniqueTogether";
                        (
                            format!(
                                "{} on ({}) built on `{table}` without `CONCURRENTLY`",
                                if unique { "unique constraint" } else { "index" },
                                added.join(", ")
                            ),
                            walk::head(&site, op.range),
                            unique,
                        )
                    }
                    (OpKind::AddField { field: Some(f), .. }, _) => {
                        if indexed(f) != Some(true) {
                            return;
                        }
                        let Some(n) = &f.name else { return };
                        // `ADD COLUMN` holds an ACCESS EXCLUSIVE lock until the
                        // migration commits: the index is built under it.
                        (
                            format!("index on new column `{}` built on `{table}` without `CONCURRENTLY`", n.value),
                            n.range,
                            true,
                        )
                    }
                    (OpKind::AlterField { field: Some(f), .. }, _) => {
                        let Some(n) = &f.name else { return };
                        let Some(prev) = def.field(&n.value) else {
                            return;
                        };
                        if indexed(&prev.field) != Some(false) || indexed(f) != Some(true) {
                            return;
                        }
                        let becomes_unique = unique(f) == Some(true);
                        (
                            format!(
                                "{} on `{}` built on `{table}` without `CONCURRENTLY`",
                                if becomes_unique {
                                    "unique constraint"
                                } else {
                                    "index"
                                },
                                n.value
                            ),
                            n.range,
                            becomes_unique,
                        )
                    }
                    _ => return,
                };
                let lock = if exclusive {
                    "PostgreSQL holds an ACCESS EXCLUSIVE lock while it builds the index: reads and writes of the table wait"
                } else {
                    "PostgreSQL holds a SHARE lock while it builds the index: every write to the table waits"
                };
                out.push(
                    Self::META
                        .diagnostic(what)
                        .at(site.span(at), "built under lock")
                        .note(lock)
                        .help("build it with `AddIndexConcurrently` in a migration with `atomic = False` (for a unique constraint: a unique index built concurrently, then `ADD CONSTRAINT ... USING INDEX`; or django-pg-migration-tools' `SaferAddIndexConcurrently`/`SaferAddUniqueConstraint`)"),
                );
            });
            let facts = site.sql_facts();
            if facts.is_empty() {
                continue;
            }
            for f in facts {
                if f.kind
                    != (FactKind::CreateIndex {
                        concurrently: false,
                    })
                {
                    continue;
                }
                if walk::all_new(
                    &f,
                    new_tables.get_or_insert_with(|| walk::new_tables(project)),
                ) {
                    continue;
                }
                out.push(
                    Self::META
                        .diagnostic(format!(
                            "index built on `{}` without `CONCURRENTLY`",
                            f.tables.join(", ")
                        ))
                        .at(site.span(f.range), "built under lock")
                        .note("PostgreSQL holds a SHARE lock while it builds the index: every write to the table waits")
                        .help("write `CREATE INDEX CONCURRENTLY IF NOT EXISTS`, in a migration with `atomic = False`"),
                );
            }
        }
    }
}
