//! What the SEC rules look at in a migration: the functions `RunPython` runs (forward and
//! reverse) and every function of the module they reach, and the `RunPython` arguments
//! themselves (`functools.partial(f, password=...)` holds literals too).

use djcheck_linter::FileContext;
use djcheck_project::migration::{OpKind, Operation};
use djcheck_python::ast::Expr;
use djcheck_python::functions::{find_expr, ModuleScope, Reached, Resolution};
use djcheck_python::TextRange;

pub struct RunPythonScope<'a> {
    pub scope: ModuleScope<'a>,
    pub reached: Vec<Reached<'a>>,
    /// The `code` and `reverse_code` expressions.
    pub args: Vec<&'a Expr>,
}

/// Calls `f` with the `code` and `reverse_code` ranges of every `RunPython`, nested
/// operations (`SeparateDatabaseAndState`) included.
pub fn for_each_run_python(ops: &[Operation], f: &mut dyn FnMut(&[Option<TextRange>; 2])) {
    for op in ops {
        match &op.kind {
            OpKind::RunPython { code, reverse } => {
                f(&[code.as_ref().map(|c| c.1), reverse.as_ref().map(|c| c.1)]);
            }
            OpKind::SeparateDatabaseAndState { database, state } => {
                for_each_run_python(database, f);
                for_each_run_python(state, f);
            }
            OpKind::RunSql {
                state_operations, ..
            } => for_each_run_python(state_operations, f),
            _ => {}
        }
    }
}

/// The RunPython scope of a migration file; `None` for a file that is not a migration.
pub fn run_python_scope<'a>(cx: &FileContext<'a>) -> Option<RunPythonScope<'a>> {
    let m = cx.migration?;
    let body = cx.parsed.body();
    let scope = ModuleScope::new(body);
    let mut roots = Vec::new();
    let mut args = Vec::new();
    for_each_run_python(&m.operations, &mut |ranges| {
        for range in ranges.iter().flatten() {
            if let Some(e) = find_expr(body, *range) {
                args.push(e);
                if let Resolution::Func(func) = scope.resolve_code(e) {
                    roots.push(func);
                }
            }
        }
    });
    let reached = scope.reachable(&roots);
    Some(RunPythonScope {
        scope,
        reached,
        args,
    })
}
