//! The `RunPython` operations of a migration, their arguments resolved to the functions
//! of the module they name.

use djcheck_linter::FileContext;
use djcheck_project::migration::{OpKind, Operation};
use djcheck_python::ast::{self, Expr};
use djcheck_python::functions::{find_expr, Func, ModuleScope, Reached, Resolution};
use djcheck_python::TextRange;

/// One `RunPython(code, reverse_code)` operation.
pub struct RunPythonOp<'a> {
    /// The operation's call.
    pub range: TextRange,
    pub call: Option<&'a ast::ExprCall>,
    pub reverse: Option<&'a Expr>,
    pub code_fn: Resolution<'a>,
    pub reverse_fn: Resolution<'a>,
}

pub struct RunPythonScope<'a> {
    pub scope: ModuleScope<'a>,
    pub ops: Vec<RunPythonOp<'a>>,
}

impl<'a> RunPythonScope<'a> {
    /// The functions reached from the `code` and `reverse_code` of every operation.
    pub fn reached(&self) -> Vec<Reached<'a>> {
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
    }
}

fn collect<'a>(
    body: &'a [ast::Stmt],
    ops: &[Operation],
    scope: &ModuleScope<'a>,
    out: &mut Vec<RunPythonOp<'a>>,
) {
    for op in ops {
        match &op.kind {
            OpKind::RunPython { code, reverse } => {
                let call = match find_expr(body, op.range) {
                    Some(Expr::Call(c)) => Some(c),
                    _ => None,
                };
                let code = code.as_ref().and_then(|c| find_expr(body, c.1));
                let reverse = reverse.as_ref().and_then(|c| find_expr(body, c.1));
                let resolve =
                    |e: Option<&'a Expr>| e.map_or(Resolution::Unknown, |e| scope.resolve_code(e));
                out.push(RunPythonOp {
                    range: op.range,
                    call,
                    reverse,
                    code_fn: resolve(code),
                    reverse_fn: resolve(reverse),
                });
            }
            OpKind::SeparateDatabaseAndState { database, state } => {
                collect(body, database, scope, out);
                collect(body, state, scope, out);
            }
            OpKind::RunSql {
                state_operations, ..
            } => collect(body, state_operations, scope, out),
            _ => {}
        }
    }
}

/// The RunPython operations of a migration file; `None` for a file that is not a
/// migration.
pub fn run_python_scope<'a>(cx: &FileContext<'a>) -> Option<RunPythonScope<'a>> {
    let m = cx.migration?;
    let body = cx.parsed.body();
    let scope = ModuleScope::new(body);
    let mut ops = Vec::new();
    collect(body, &m.operations, &scope, &mut ops);
    Some(RunPythonScope { scope, ops })
}
