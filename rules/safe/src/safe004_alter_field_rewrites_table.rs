use crate::walk;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta};
use djcheck_project::migration::{ArgValue, Field, OpKind};

declare_rule! {
    /// ## What it finds
    /// A migration about to be deployed whose `AlterField` makes the database scan or
    /// rewrite an existing table while holding its strongest lock, judged against the
    /// field's previous definition in the model state:
    /// - `null=True` to NOT NULL (`ALTER COLUMN ... SET NOT NULL`: every row is checked);
    /// - a change of column type between Django's built-in fields (`IntegerField` to
    ///   `BigIntegerField`, `CharField` to `IntegerField`...; `CharField` to `TextField`
    ///   is not reported: PostgreSQL changes `varchar` to `text` without a rewrite);
    /// - a shorter `max_length` (every value is checked, the table rewritten).
    ///
    /// Silent for a table created by a migration of the same deploy, for custom field
    /// classes (their column type is not known statically), and for
    /// django-pg-migration-tools' `SaferAlterFieldSetNotNull`.
    ///
    /// ## Why it matters
    /// PostgreSQL runs `ALTER TABLE ... ALTER COLUMN ... TYPE` and `SET NOT NULL` under an
    /// ACCESS EXCLUSIVE lock: no read or write of the table goes through until the whole
    /// table has been rewritten or scanned, which on a large table is minutes of downtime
    /// (and the lock is held until the migration's transaction commits). MySQL rebuilds
    /// the table for a type change (`ALGORITHM=COPY`, writes blocked); SQLite rebuilds
    /// every altered table. Setting NOT NULL also breaks the running release if it still
    /// writes `None`.
    ///
    /// ## Example
    /// ```python
    /// migrations.AlterField(
    ///     model_name="order",
    ///     name="note",
    ///     field=models.CharField(max_length=200),  # was null=True
    /// )
    /// ```
    ///
    /// ## How to fix
    /// NOT NULL on PostgreSQL 12+: add `CHECK (note IS NOT NULL) NOT VALID`, validate it
    /// in a later migration (`VALIDATE CONSTRAINT` takes only a SHARE UPDATE EXCLUSIVE
    /// lock), then `SET NOT NULL` (PostgreSQL uses the valid check and skips the scan) and
    /// drop the check; django-pg-migration-tools' `SaferAlterFieldSetNotNull` does exactly
    /// this. A type change: add a new column, write both, backfill in batches, switch
    /// reads, drop the old column in a later release.
    pub struct AlterFieldRewritesTable { code: "SAFE004", name: "alter-field-rewrites-table", severity: Warning }
}

/// The PostgreSQL column type of Django's built-in fields (a family name: the rule only
/// compares them).
fn column_type(f: &Field) -> Option<&'static str> {
    Some(match f.class.as_str() {
        "AutoField" | "IntegerField" | "PositiveIntegerField" => "integer",
        "BigAutoField" | "BigIntegerField" | "PositiveBigIntegerField" => "bigint",
        "SmallAutoField" | "SmallIntegerField" | "PositiveSmallIntegerField" => "smallint",
        "CharField" | "SlugField" | "EmailField" | "URLField" | "FileField" | "ImageField"
        | "FilePathField" => "varchar",
        "TextField" => "text",
        "BooleanField" | "NullBooleanField" => "boolean",
        "DateField" => "date",
        "DateTimeField" => "timestamp with time zone",
        "TimeField" => "time",
        "DurationField" => "interval",
        "DecimalField" => "numeric",
        "FloatField" => "double precision",
        "UUIDField" => "uuid",
        "JSONField" => "jsonb",
        "BinaryField" => "bytea",
        "GenericIPAddressField" | "IPAddressField" => "inet",
        _ => return None,
    })
}

/// Django's built-in field classes, written as `models.X`.
fn builtin(f: &Field) -> bool {
    column_type(f).is_some() && f.is_django()
}

fn max_length(f: &Field) -> Option<i64> {
    match f.kw("max_length") {
        Some(ArgValue::Int(n)) => Some(*n),
        _ => None,
    }
}

impl Rule for AlterFieldRewritesTable {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        for site in walk::sites(project) {
            walk::for_each_op(&site, |op, _, cursor| {
                let OpKind::AlterField {
                    model,
                    field: Some(f),
                } = &op.kind
                else {
                    return;
                };
                if op.call != "AlterField" {
                    return;
                }
                let Some(name) = &f.name else { return };
                let Some(def) = site.existing(cursor, model) else {
                    return;
                };
                let Some(prev) = def.field(&name.value) else {
                    return;
                };
                let prev = &prev.field;
                if prev.is_many_to_many() || f.is_many_to_many() {
                    return;
                }
                let table = def.db_table().unwrap_or_else(|| def.name.clone());
                let col = &name.value;
                let mut found: Option<(String, String)> = None;
                if builtin(prev) && builtin(f) {
                    let (a, b) = (column_type(prev), column_type(f));
                    if a != b && !(a == Some("varchar") && b == Some("text")) {
                        found = Some((
                            format!(
                                "column `{col}` of `{table}` changes type from {} to {}: the table is rewritten under an exclusive lock",
                                a.unwrap_or("?"),
                                b.unwrap_or("?")
                            ),
                            format!("was `{}`", prev.class),
                        ));
                    } else if a == Some("varchar") && b == Some("varchar") {
                        if let (Some(x), Some(y)) = (max_length(prev), max_length(f)) {
                            if y < x {
                                found = Some((
                                    format!("`max_length` of `{col}` in `{table}` shrinks from {x} to {y}: the table is rewritten under an exclusive lock"),
                                    format!("was `max_length={x}`"),
                                ));
                            }
                        }
                    }
                }
                if found.is_none() && prev.nullable() == Some(true) && f.nullable() == Some(false) {
                    found = Some((
                        format!("column `{col}` of `{table}` becomes NOT NULL: every row is scanned under an exclusive lock"),
                        "was `null=True`".to_owned(),
                    ));
                }
                let Some((message, label)) = found else {
                    return;
                };
                let not_null = message.contains("NOT NULL");
                let mut d = Self::META
                    .diagnostic(message)
                    .at(site.span(name.range), label)
                    .note("PostgreSQL holds an ACCESS EXCLUSIVE lock for the whole scan or rewrite: no read or write of the table goes through");
                d = if not_null {
                    d.help("add `CHECK (col IS NOT NULL) NOT VALID`, validate it in a later migration, then `SET NOT NULL` (django-pg-migration-tools: `SaferAlterFieldSetNotNull`)")
                } else {
                    d.help("add a new column, write both, backfill in batches, switch reads, and drop the old column in a later release")
                };
                out.push(d);
            });
        }
    }
}
