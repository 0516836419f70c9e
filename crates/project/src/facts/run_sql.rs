//! The SQL of a migration's `RunSQL` operations, read from the Python source, and
//! analysed into statements.
//!
//! The project model decodes each `RunSQL` into the ranges of its `sql` and
//! `reverse_sql` arguments (module-level names already followed); this module finds those
//! expressions in the syntax tree and turns them into SQL texts mapped back to the source:
//! a string (implicit concatenation and `+` included), a list or tuple of strings or
//! `(sql, params)` pairs, or module-level names bound to those. f-strings, `%` formatting
//! and calls are built at run time and are not read. Each text is then analysed by the
//! SQL front end ([`djcheck_sql::statements`]).

use crate::migration::{Migration, OpKind};
use crate::SqlDialect;
use djcheck_python::ast::visitor::source_order::{self, SourceOrderVisitor, TraversalSignal};
use djcheck_python::ast::{self, AnyNodeRef, Expr};
use djcheck_python::eval::{self, ModuleBindings};
use djcheck_python::literal::{self, Mapped};
use djcheck_python::{Ranged, TextRange};
use djcheck_sql::statements::{analyse_text, Unit as SqlUnit, MAX_SQL_LEN};
use std::collections::BTreeMap;
use std::collections::BTreeSet;

/// One SQL string of a `RunSQL` argument.
#[derive(Debug, Clone)]
pub struct Unit {
    pub text: Mapped,
    /// The string expression (the key that keeps a string shared by several operations
    /// from being checked twice).
    pub range: TextRange,
}

/// What a `sql` or `reverse_sql` argument holds.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Not given.
    Absent,
    /// `None`.
    NoneLit(TextRange),
    /// `RunSQL.noop`.
    Noop,
    /// SQL strings. `complete` is false when some element is built at run time.
    Sql {
        units: Vec<Unit>,
        complete: bool,
        range: TextRange,
    },
    /// Built at run time: not read.
    Dynamic,
}

/// A `RunSQL` operation.
#[derive(Debug, Clone)]
pub struct RunSql {
    /// The callee of the `RunSQL(...)` call, `migrations.RunSQL`: where diagnostics about the operation point.
    pub callee: TextRange,
    pub sql: Arg,
    pub reverse: Arg,
    /// Tables that Django's own operations create (`CreateModel`, a managed model's
    /// table) or drop (`DeleteModel`) since the previous `RunSQL`, in order: `true` for
    /// created.
    pub tables_before: Vec<(String, bool)>,
}

/// The `RunSQL` operations of migration `m`, whose module is `body` (of source `text`),
/// in the order Django runs them (those inside
/// `SeparateDatabaseAndState(database_operations=[...])` included).
pub(crate) fn read(m: &Migration, body: &[ast::Stmt], text: &str) -> Vec<RunSql> {
    let ops = collect(m);
    if ops.is_empty() {
        return Vec::new();
    }
    let mut wanted: Vec<TextRange> = Vec::new();
    for (call, sql, rev, pending) in &ops {
        wanted.push(*call);
        wanted.extend(sql.iter().chain(rev.iter()).copied());
        for p in pending {
            if let Pending::ManyToMany { field, op, .. } = p {
                wanted.push(*field);
                wanted.push(*op);
            }
        }
    }
    let found = find_exprs(body, &wanted);
    let bindings = ModuleBindings::new(body);
    let reader = Reader {
        text,
        bindings: &bindings,
    };
    ops.into_iter()
        .map(|(call, sql, rev, tables_before)| RunSql {
            callee: match found.get(&key(call)) {
                Some(Expr::Call(c)) => c.func.range(),
                _ => call,
            },
            sql: reader.arg(sql.and_then(|r| found.get(&key(r)).copied()), sql),
            reverse: reader.arg(rev.and_then(|r| found.get(&key(r)).copied()), rev),
            tables_before: tables_before
                .into_iter()
                .filter_map(|p| p.resolve(&found))
                .collect(),
        })
        .collect()
}

/// A table Django's own operations create or drop before a `RunSQL`.
#[derive(Debug, Clone)]
enum Pending {
    /// A model's table: `true` for created.
    Table(String, bool),
    /// The table Django creates for a `ManyToManyField` without `through=`:
    /// `<model table>_<field name>`, or the field's `db_table=`. `field` and `op` are the
    /// ranges of the field's call and of the operation, read once the syntax tree's
    /// expressions are found (for `through=`, `db_table=` and AddField's `name`).
    ManyToMany {
        model_table: String,
        name: Option<String>,
        field: TextRange,
        op: TextRange,
    },
}

impl Pending {
    fn resolve(self, found: &BTreeMap<(u32, u32), &Expr>) -> Option<(String, bool)> {
        match self {
            Pending::Table(t, created) => Some((t, created)),
            Pending::ManyToMany {
                model_table,
                name,
                field,
                op,
            } => {
                let Some(Expr::Call(f)) = found.get(&key(field)).copied() else {
                    return None;
                };
                if eval::keyword(f, "through").is_some() {
                    return None;
                }
                if let Some(t) = eval::keyword(f, "db_table").and_then(eval::str_value) {
                    return Some((t, true));
                }
                let name = name.or_else(|| match found.get(&key(op)).copied() {
                    Some(Expr::Call(c)) => eval::argument(c, 1, "name").and_then(eval::str_value),
                    _ => None,
                })?;
                Some((format!("{model_table}_{name}"), true))
            }
        }
    }
}

type OpRanges = (
    TextRange,
    Option<TextRange>,
    Option<TextRange>,
    Vec<Pending>,
);

const MANY_TO_MANY: &str = "ManyToManyField";

/// The operations the database runs, in order: for each `RunSQL`, its ranges and the
/// tables Django's own operations created or dropped since the previous one.
fn collect(m: &Migration) -> Vec<OpRanges> {
    let app = m.app.as_str();
    // The models created so far in this migration and their tables, for the many-to-many
    // tables of fields added to them later.
    let mut tables: BTreeMap<String, String> = BTreeMap::new();
    let mut pending: Vec<Pending> = Vec::new();
    let mut out = Vec::new();
    for w in m.walk() {
        if !w.database {
            continue;
        }
        let op = w.op;
        match &op.kind {
            OpKind::RunSql {
                sql, reverse_sql, ..
            } => out.push((op.range, *sql, *reverse_sql, std::mem::take(&mut pending))),
            OpKind::CreateModel {
                name,
                db_table,
                managed,
                proxy,
                fields,
                ..
            } if *managed != Some(false) && *proxy != Some(true) => {
                let table = match (db_table, name) {
                    (Some(t), _) => Some(t.value.clone()),
                    (None, Some(n)) => Some(format!("{app}_{}", n.value.to_lowercase())),
                    _ => None,
                };
                let Some(table) = table else { continue };
                if let Some(n) = name {
                    tables.insert(n.value.to_lowercase(), table.clone());
                }
                pending.push(Pending::Table(table.clone(), true));
                for f in fields.iter().filter(|f| f.class == MANY_TO_MANY) {
                    pending.push(Pending::ManyToMany {
                        model_table: table.clone(),
                        name: f.name.as_ref().map(|n| n.value.clone()),
                        field: f.range,
                        op: op.range,
                    });
                }
            }
            OpKind::AddField {
                model: Some(model),
                field: Some(f),
            } if f.class == MANY_TO_MANY => {
                let model = model.value.to_lowercase();
                let model_table = tables
                    .get(&model)
                    .cloned()
                    .unwrap_or_else(|| format!("{app}_{model}"));
                pending.push(Pending::ManyToMany {
                    model_table,
                    name: None,
                    field: f.range,
                    op: op.range,
                });
            }
            OpKind::DeleteModel { name: Some(n) } => {
                pending.push(Pending::Table(
                    format!("{app}_{}", n.value.to_lowercase()),
                    false,
                ));
            }
            _ => {}
        }
    }
    out
}

fn key(r: TextRange) -> (u32, u32) {
    (r.start().to_u32(), r.end().to_u32())
}

/// Finds the outermost expression with each wanted range.
fn find_exprs<'a>(body: &'a [ast::Stmt], wanted: &[TextRange]) -> BTreeMap<(u32, u32), &'a Expr> {
    struct Finder<'a, 'w> {
        wanted: &'w [TextRange],
        found: BTreeMap<(u32, u32), &'a Expr>,
    }
    impl<'a> SourceOrderVisitor<'a> for Finder<'a, '_> {
        fn enter_node(&mut self, node: AnyNodeRef<'a>) -> TraversalSignal {
            let r = node.range();
            if self.wanted.iter().any(|w| r.contains_range(*w)) {
                TraversalSignal::Traverse
            } else {
                TraversalSignal::Skip
            }
        }
        fn visit_expr(&mut self, expr: &'a Expr) {
            let r = expr.range();
            if self.wanted.contains(&r) {
                self.found.entry(key(r)).or_insert(expr);
            }
            source_order::walk_expr(self, expr);
        }
    }
    let mut f = Finder {
        wanted,
        found: BTreeMap::new(),
    };
    for s in body {
        f.visit_stmt(s);
    }
    f.found
}

struct Reader<'a, 'b> {
    text: &'a str,
    bindings: &'b ModuleBindings<'a>,
}

impl<'a> Reader<'a, '_> {
    fn arg(&self, expr: Option<&'a Expr>, range: Option<TextRange>) -> Arg {
        let Some(range) = range else {
            return Arg::Absent;
        };
        let Some(expr) = expr else {
            return Arg::Dynamic;
        };
        let expr = self.bindings.resolve(expr);
        match expr {
            Expr::NoneLiteral(_) => Arg::NoneLit(range),
            Expr::Attribute(a) if a.attr.id.as_str() == "noop" => Arg::Noop,
            Expr::List(_) | Expr::Tuple(_) => {
                let mut units = Vec::new();
                let mut complete = true;
                for e in eval::sequence_elements(expr).unwrap_or(&[]) {
                    let e = self.bindings.resolve(e);
                    // `(sql, params)`: Django runs `sql` with `params`.
                    let sql = match eval::sequence_elements(e) {
                        Some([sql, _params]) => self.bindings.resolve(sql),
                        Some(_) => {
                            complete = false;
                            continue;
                        }
                        None => e,
                    };
                    match self.string(sql) {
                        Some(text) => units.push(Unit {
                            text,
                            range: sql.range(),
                        }),
                        None => complete = false,
                    }
                }
                Arg::Sql {
                    units,
                    complete,
                    range,
                }
            }
            _ => match self.string(expr) {
                Some(text) => Arg::Sql {
                    units: vec![Unit {
                        text,
                        range: expr.range(),
                    }],
                    complete: true,
                    range,
                },
                None => Arg::Dynamic,
            },
        }
    }

    /// A string built from literals: implicit concatenation, `+`, module-level names.
    fn string(&self, expr: &'a Expr) -> Option<Mapped> {
        self.string_depth(expr, 0)
    }

    fn string_depth(&self, expr: &'a Expr, depth: usize) -> Option<Mapped> {
        if depth > 64 {
            return None;
        }
        match self.bindings.resolve(expr) {
            Expr::StringLiteral(s) => literal::string_literal(s, self.text),
            Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) => {
                let mut l = self.string_depth(&b.left, depth + 1)?;
                l.extend(self.string_depth(&b.right, depth + 1)?);
                Some(l)
            }
            _ => None,
        }
    }
}

/// A RunSQL operation, analysed.
#[derive(Debug)]
pub struct SqlOp {
    /// Tables Django's own operations created (`true`) or dropped since the previous
    /// `RunSQL`.
    pub tables_before: Vec<(String, bool)>,
    /// The strings of `sql`, in order (strings already analysed for an earlier operation
    /// of the file are left out, so nothing is reported twice).
    pub forward: Vec<SqlUnit>,
    /// The strings of `reverse_sql`, in order, with the same rule.
    pub backward: Vec<SqlUnit>,
    /// Strings longer than [`MAX_SQL_LEN`], not analysed: their source range and length.
    pub too_long: Vec<(TextRange, usize)>,
}

/// Analyses the SQL of `ops` (those [`read`] found) in dialect `d`.
pub(crate) fn analyse(ops: &[RunSql], d: SqlDialect) -> Vec<SqlOp> {
    let mut seen: BTreeSet<(u32, u32)> = BTreeSet::new();
    let mut out = Vec::with_capacity(ops.len());
    for run in ops {
        let mut too_long = Vec::new();
        let forward = units(&run.sql, false, d, &mut seen, &mut too_long);
        let backward = units(&run.reverse, true, d, &mut seen, &mut too_long);
        out.push(SqlOp {
            tables_before: run.tables_before.clone(),
            forward,
            backward,
            too_long,
        });
    }
    out
}

fn units(
    arg: &Arg,
    reverse: bool,
    d: SqlDialect,
    seen: &mut BTreeSet<(u32, u32)>,
    too_long: &mut Vec<(TextRange, usize)>,
) -> Vec<SqlUnit> {
    let Arg::Sql { units, .. } = arg else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for u in units {
        if !seen.insert((u.range.start().to_u32(), u.range.end().to_u32())) {
            continue;
        }
        if u.text.text.len() > MAX_SQL_LEN {
            // Reported (SQL007, info), never skipped silently.
            too_long.push((u.range, u.text.text.len()));
            continue;
        }
        out.push(analyse_text(u.text.clone(), reverse, d));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_python::parse_module;

    fn ops(src: &str) -> Vec<RunSql> {
        let parsed = parse_module(src);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let m = crate::migration::extract_for_test(parsed.body(), "0002_sql");
        read(&m, parsed.body(), src)
    }

    fn texts(a: &Arg) -> Vec<String> {
        match a {
            Arg::Sql { units, .. } => units.iter().map(|u| u.text.text.clone()).collect(),
            other => panic!("not SQL: {other:?}"),
        }
    }

    const HEAD: &str = "from django.db import migrations\n";

    #[test]
    fn reads_strings_lists_pairs_names_and_noop() {
        let src = format!(
            "{HEAD}SQL = 'CREATE TABLE a (id int)'\nPAIR = ('INSERT INTO a VALUES (%s)', [1])\n\
             class Migration(migrations.Migration):\n    operations = [\n        \
             migrations.RunSQL(SQL, migrations.RunSQL.noop),\n        \
             migrations.RunSQL(sql=['DROP TABLE b', PAIR, 'X' + 'Y'], reverse_sql=None),\n        \
             migrations.SeparateDatabaseAndState(database_operations=[migrations.RunSQL(\"A\" 'B')]),\n    ]\n"
        );
        let o = ops(&src);
        assert_eq!(o.len(), 3);
        assert_eq!(texts(&o[0].sql), vec!["CREATE TABLE a (id int)"]);
        assert!(matches!(o[0].reverse, Arg::Noop));
        assert_eq!(
            texts(&o[1].sql),
            vec!["DROP TABLE b", "INSERT INTO a VALUES (%s)", "XY"]
        );
        assert!(matches!(o[1].reverse, Arg::NoneLit(_)));
        assert_eq!(texts(&o[2].sql), vec!["AB"]);
        assert!(matches!(o[2].reverse, Arg::Absent));
        assert_eq!(&src[o[2].callee], "migrations.RunSQL");
    }

    #[test]
    fn run_time_sql_is_not_read() {
        let src = format!(
            "{HEAD}T = 't'\nclass Migration(migrations.Migration):\n    operations = [\n        \
             migrations.RunSQL(f'DROP TABLE {{T}}', 'DROP TABLE %s' % T),\n        \
             migrations.RunSQL(['A', build()], b'B'),\n    ]\n"
        );
        let o = ops(&src);
        assert!(matches!(o[0].sql, Arg::Dynamic));
        assert!(matches!(o[0].reverse, Arg::Dynamic));
        match &o[1].sql {
            Arg::Sql {
                units, complete, ..
            } => {
                assert_eq!(units.len(), 1);
                assert!(!complete);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(o[1].reverse, Arg::Dynamic));
    }

    #[test]
    fn maps_back_into_the_literal() {
        let src = format!(
            "{HEAD}class Migration(migrations.Migration):\n    operations = [\n        \
             migrations.RunSQL(\n            \"\"\"\n            CREATE TABLE a (id int);\n            DROP TABLE b;\n            \"\"\"\n        ),\n    ]\n"
        );
        let o = ops(&src);
        let Arg::Sql { units, .. } = &o[0].sql else {
            panic!()
        };
        let m = &units[0].text;
        let at = m.text.find("DROP TABLE b").unwrap();
        let r = m.source_range(at, at + "DROP TABLE b".len()).unwrap();
        assert_eq!(&src[r], "DROP TABLE b");
    }

    #[test]
    fn only_what_the_database_runs_is_read() {
        let src = format!(
            "{HEAD}class Migration(migrations.Migration):\n    operations = [\n        \
             migrations.SeparateDatabaseAndState(\n            \
             database_operations=[migrations.CreateModel('Tag', []), migrations.RunSQL('A')],\n            \
             state_operations=[migrations.RunSQL('B')],\n        ),\n        \
             migrations.RunSQL('C', state_operations=[migrations.RunSQL('D')]),\n        \
             migrations.DeleteModel('Old'),\n        \
             migrations.RunSQL('E'),\n    ]\n"
        );
        let o = ops(&src);
        let read: Vec<Vec<String>> = o.iter().map(|op| texts(&op.sql)).collect();
        assert_eq!(read, [["A"], ["C"], ["E"]]);
        assert_eq!(o[0].tables_before, [("app_tag".to_owned(), true)]);
        assert!(o[1].tables_before.is_empty());
        assert_eq!(o[2].tables_before, [("app_old".to_owned(), false)]);
    }
}
