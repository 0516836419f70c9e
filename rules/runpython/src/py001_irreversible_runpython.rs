use djcheck_linter::{declare_rule, Diagnostic, Edit, FileContext, Fix, Rule, RuleMeta, Span};
use djcheck_python::functions::Resolution;
use djcheck_python::Ranged;

declare_rule! {
    /// ## What it finds
    /// A `RunPython` operation without `reverse_code` (or with `reverse_code=None`).
    /// `migrations.RunPython.noop` says "nothing to undo" on purpose and is accepted.
    ///
    /// ## Why it matters
    /// Django marks the operation irreversible: `migrate app 0003` to go back past it
    /// stops with `IrreversibleError`, on a developer's machine and in the middle of a
    /// production rollback alike. Most data migrations either need no undoing (the
    /// schema change around them is undone anyway) or have an obvious inverse; saying
    /// which costs one argument.
    ///
    /// ## Example
    /// ```python
    /// operations = [
    ///     migrations.RunPython(fill_slugs),
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// Pass the inverse, or `RunPython.noop` when going back needs no data change:
    /// ```python
    /// operations = [
    ///     migrations.RunPython(fill_slugs, migrations.RunPython.noop),
    /// ]
    /// ```
    pub struct IrreversibleRunPython { code: "PY001", name: "irreversible-runpython", severity: Warning, opt_in: true }
}

impl Rule for IrreversibleRunPython {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(rp) = cx.run_python() else {
            return;
        };
        for op in &rp.ops {
            let reverse_is_none = op.reverse.is_some_and(|e| e.is_none_literal_expr());
            if op.reverse.is_some() && !reverse_is_none {
                continue;
            }
            let primary = op.call.map_or(op.range, |c| c.func.range());
            let forward = match op.code_fn {
                Resolution::Func(f) => format!("`{}`", f.name()),
                Resolution::Noop => "`RunPython.noop`".to_owned(),
                Resolution::Unknown => "its function".to_owned(),
            };
            let mut d = Self::META
                .diagnostic("`RunPython` without `reverse_code`: the migration cannot be unapplied")
                .at(
                    Span::new(cx.file, primary),
                    if reverse_is_none {
                        "`reverse_code=None` makes it irreversible".to_owned()
                    } else {
                        format!("runs {forward} forwards, and nothing can undo it")
                    },
                )
                .note(
                    "migrating backwards past this migration raises `IrreversibleError`",
                )
                .help(format!(
                    "pass `reverse_code=migrations.RunPython.noop` if going back needs no data change, or a function that undoes {forward}"
                ));
            if let Some(r) = op.reverse.filter(|_| reverse_is_none) {
                d = d.label(Span::new(cx.file, r.range()), "no reverse function");
            }
            // Unsafe: it declares that going back needs no data change, which only a
            // person can know.
            let fix = op.call.and_then(|call| {
                let callee = cx.text.get(call.func.range().start().to_usize()..call.func.range().end().to_usize())?;
                if callee.contains(['\n', '\r', '#']) {
                    return None;
                }
                let noop = format!("{callee}.noop");
                let edit = match op.reverse {
                    Some(r) => Edit::replace(cx.file, r.range(), noop),
                    None if djcheck_python::eval::has_splat(call) => return None,
                    None => djcheck_fix::edits::add_keyword(cx.file, cx.text, call, &format!("reverse_code={noop}"))?,
                };
                Some(Fix::unsafe_edit(
                    "unapply it as a no-op, leaving the data as it is: `reverse_code=RunPython.noop`",
                    vec![edit],
                ))
            });
            out.push(d.with_fix(fix));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fires, migration, silent};

    const RULE: IrreversibleRunPython = IrreversibleRunPython;
    const FUNCS: &str = "def forwards(apps, schema_editor):\n    pass\n\ndef backwards(apps, schema_editor):\n    pass";

    #[test]
    fn without_reverse() {
        let out = fires(
            &RULE,
            &migration(
                FUNCS,
                "migrations.RunPython(forwards),\n        migrations.RunPython(code=forwards, reverse_code=None),\n        migrations.SeparateDatabaseAndState(database_operations=[migrations.RunPython(lambda a, s: None)]),",
            ),
        );
        assert_eq!(
            out.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
            [
                "migrations.RunPython",
                "migrations.RunPython",
                "migrations.RunPython"
            ]
        );
    }

    #[test]
    fn with_reverse_or_noop() {
        silent(
            &RULE,
            &migration(
                FUNCS,
                "migrations.RunPython(forwards, backwards),\n        migrations.RunPython(forwards, migrations.RunPython.noop),\n        migrations.RunPython(code=forwards, reverse_code=backwards, elidable=True),\n        migrations.RunSQL(\"SELECT 1\"),",
            ),
        );
    }
}
