//! Per-file facts: what several rules need from one file, computed at most once per file,
//! on first use, while its syntax tree is alive (see [`FileContext`]). A file no selected
//! rule asks about costs nothing more; a fact two rules ask about is computed once.
//!
//! The facts: the `RunPython` operations and the functions they reach
//! ([`FileContext::run_python`]), the SQL of the `RunSQL` operations as written
//! ([`FileContext::run_sql`]) and analysed into statements ([`FileContext::sql`]), the
//! module's string literals ([`FileContext::string_literals`]).
//!
//! The facts borrow the file's syntax tree and are dropped with it; they are never cached
//! across runs (the persistent cache holds the decoded migration and the per-file
//! diagnostics, from which nothing here is needed again).

pub mod run_sql;

use crate::migration::{Migration, OpKind};
use crate::FileContext;
use djcheck_python::ast::{self, Expr};
use djcheck_python::functions::{find_expr, Func, ModuleScope, Reached, Resolution};
use djcheck_python::literal::StringLit;
use djcheck_python::TextRange;
use run_sql::{RunSql, SqlOp};
use std::sync::OnceLock;

/// The lazily computed facts of one file.
#[derive(Default)]
pub(crate) struct FileFacts<'a> {
    run_python: OnceLock<Option<RunPythonScope<'a>>>,
    run_sql: OnceLock<Vec<RunSql>>,
    sql: OnceLock<Vec<SqlOp>>,
    string_literals: OnceLock<Vec<StringLit<'a>>>,
}

impl<'a> FileContext<'a> {
    /// The `RunPython` operations of the file's migration and the functions of the
    /// module they run; `None` for a file that is not a migration.
    pub fn run_python(&self) -> Option<&RunPythonScope<'a>> {
        self.facts
            .run_python
            .get_or_init(|| {
                self.migration
                    .map(|m| RunPythonScope::new(self.parsed.body(), m))
            })
            .as_ref()
    }

    /// The `RunSQL` operations of the file's migration, as written, in the order Django
    /// runs them (see [`run_sql`]); empty for a file that is not a migration.
    pub fn run_sql(&self) -> &[RunSql] {
        self.facts.run_sql.get_or_init(|| {
            self.migration.map_or_else(Vec::new, |m| {
                run_sql::read(m, self.parsed.body(), self.text)
            })
        })
    }

    /// Every string literal of the module, in source order
    /// ([`djcheck_python::literal::string_literals`]).
    pub fn string_literals(&self) -> &[StringLit<'a>] {
        self.facts
            .string_literals
            .get_or_init(|| djcheck_python::literal::string_literals(self.parsed.body()))
    }

    /// The SQL of [`FileContext::run_sql`] analysed into statements, in the dialect of
    /// the options; each SQL string once per file.
    pub fn sql(&self) -> &[SqlOp] {
        self.facts
            .sql
            .get_or_init(|| run_sql::analyse(self.run_sql(), self.options.sql_dialect))
    }
}

/// One `RunPython(code, reverse_code)` operation, nested ones included.
pub struct RunPythonOp<'a> {
    /// The operation's call.
    pub range: TextRange,
    pub call: Option<&'a ast::ExprCall>,
    /// The `code` argument.
    pub code: Option<&'a Expr>,
    /// The `reverse_code` argument.
    pub reverse: Option<&'a Expr>,
    pub code_fn: Resolution<'a>,
    pub reverse_fn: Resolution<'a>,
}

/// The `RunPython` operations of a migration module, their arguments resolved to the
/// functions of the module they name.
pub struct RunPythonScope<'a> {
    pub scope: ModuleScope<'a>,
    /// In the order they are written (a `SeparateDatabaseAndState`'s database side before
    /// its state side).
    pub ops: Vec<RunPythonOp<'a>>,
    reached: OnceLock<Vec<Reached<'a>>>,
}

impl<'a> RunPythonScope<'a> {
    /// The `RunPython` operations of `m`, whose module's statements are `body`.
    pub fn new(body: &'a [ast::Stmt], m: &Migration) -> RunPythonScope<'a> {
        let scope = ModuleScope::new(body);
        let mut ops = Vec::new();
        for w in m.walk() {
            let OpKind::RunPython { code, reverse } = &w.op.kind else {
                continue;
            };
            let call = match find_expr(body, w.op.range) {
                Some(Expr::Call(c)) => Some(c),
                _ => None,
            };
            let code = code.as_ref().and_then(|c| find_expr(body, c.1));
            let reverse = reverse.as_ref().and_then(|c| find_expr(body, c.1));
            let resolve =
                |e: Option<&'a Expr>| e.map_or(Resolution::Unknown, |e| scope.resolve_code(e));
            ops.push(RunPythonOp {
                range: w.op.range,
                call,
                code,
                reverse,
                code_fn: resolve(code),
                reverse_fn: resolve(reverse),
            });
        }
        RunPythonScope {
            scope,
            ops,
            reached: OnceLock::new(),
        }
    }

    /// The functions reached from the `code` and `reverse_code` of every operation (see
    /// [`ModuleScope::reachable`]).
    pub fn reached(&self) -> &[Reached<'a>] {
        self.reached.get_or_init(|| {
            let roots: Vec<Func<'a>> = self
                .ops
                .iter()
                .flat_map(|op| [op.code_fn, op.reverse_fn])
                .filter_map(|r| match r {
                    Resolution::Func(f) => Some(f),
                    _ => None,
                })
                .collect();
            self.scope.reachable(&roots)
        })
    }

    /// The `code` and `reverse_code` expressions of every operation, in order.
    pub fn args(&self) -> impl Iterator<Item = &'a Expr> + '_ {
        self.ops
            .iter()
            .flat_map(|op| [op.code, op.reverse])
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use crate::{FileContext, FileOptions, FileRole};
    use djcheck_diagnostics::FileId;

    const SRC: &str = "from django.db import migrations\n\ndef helper(apps):\n    pass\n\ndef forwards(apps, schema_editor):\n    helper(apps)\n\ndef backwards(apps, schema_editor):\n    pass\n\nclass Migration(migrations.Migration):\n    operations = [\n        migrations.RunPython(forwards),\n        migrations.SeparateDatabaseAndState(\n            database_operations=[migrations.RunPython(backwards, forwards)],\n            state_operations=[migrations.RunSQL('SELECT 1', state_operations=[migrations.RunPython(lambda a, s: None)])],\n        ),\n    ]\n";

    #[test]
    fn run_python_is_computed_once_with_nested_operations() {
        let parsed = djcheck_python::parse_module(SRC);
        let m = crate::migration::extract_for_test(parsed.body(), "0002_data");
        let options = FileOptions::default();
        let cx = FileContext::new(
            FileId(0),
            "app/migrations/0002_data.py",
            SRC,
            &parsed,
            FileRole::Migration,
            Some(&m),
            &options,
        );
        let rp = cx.run_python().expect("a migration");
        assert!(std::ptr::eq(rp, cx.run_python().expect("a migration")));
        // Top level, database side, then inside the RunSQL of the state side.
        assert_eq!(rp.ops.len(), 3);
        assert_eq!(rp.args().count(), 4);
        let names: Vec<String> = rp.reached().iter().map(|r| r.func.name()).collect();
        assert_eq!(names, ["forwards", "backwards", "<lambda>", "helper"]);
        assert!(std::ptr::eq(rp.reached(), rp.reached()));
        // Not a migration: no scope.
        let other = FileContext::new(
            FileId(0),
            "app/views.py",
            SRC,
            &parsed,
            FileRole::Source,
            None,
            &options,
        );
        assert!(other.run_python().is_none());
    }

    #[test]
    fn sql_is_read_and_analysed_once() {
        let src = "from django.db import migrations\n\nclass Migration(migrations.Migration):\n    operations = [\n        migrations.RunSQL('CREATE TABLE a (id int); DROP TABLE b', 'DROP TABLE a'),\n        migrations.SeparateDatabaseAndState(database_operations=[migrations.RunSQL('SELECT 1')]),\n    ]\n";
        let parsed = djcheck_python::parse_module(src);
        let m = crate::migration::extract_for_test(parsed.body(), "0002_sql");
        let options = FileOptions::default();
        let cx = FileContext::new(
            FileId(0),
            "app/migrations/0002_sql.py",
            src,
            &parsed,
            FileRole::Migration,
            Some(&m),
            &options,
        );
        let sql = cx.sql();
        assert!(std::ptr::eq(sql, cx.sql()));
        assert!(std::ptr::eq(cx.run_sql(), cx.run_sql()));
        assert_eq!(sql.len(), 2);
        assert_eq!(sql[0].forward[0].statements.len(), 2);
        assert_eq!(sql[0].backward[0].statements.len(), 1);
        assert_eq!(sql[1].forward[0].statements.len(), 1);
    }
}
