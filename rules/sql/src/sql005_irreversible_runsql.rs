use crate::lex::{self, Tok};
use djcheck_linter::{declare_rule, Diagnostic, Edit, FileContext, Fix, Rule, RuleMeta, Span};
use djcheck_project::facts::run_sql::{Arg, RunSql};
use sqlparser::tokenizer::Token;
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// A `RunSQL` with no `reverse_sql` (or `reverse_sql=None`), or with a `reverse_sql`
    /// that is empty or only comments (`"-- no reverse needed"`).
    ///
    /// `reverse_sql=migrations.RunSQL.noop` says "nothing to undo" on purpose and is
    /// accepted. `RunSQL.noop` is the empty string itself, so an empty (or comment-only)
    /// `reverse_sql` is accepted too where nothing needs undoing: SQL whose effect ends
    /// with the session or changes no data (`SET`, `ANALYZE`, `REINDEX`, `REFRESH
    /// MATERIALIZED VIEW`...); rows written into tables that this migration's own
    /// operations created before the `RunSQL` (seed data: unapplying drops the tables);
    /// `UPDATE` backfills whose assignments do not read the columns they set (`SET
    /// status = 'active'`, not `SET n = n + 1`), which leave correct rows behind and give
    /// the same rows when run again. A `reverse_sql` built at run time is not judged.
    ///
    /// ## Why it matters
    /// Without `reverse_sql`, `migrate app <earlier>` stops with `IrreversibleError`, so a
    /// bad deploy cannot be rolled back past this migration. An empty or comment-only
    /// `reverse_sql` is worse: the rollback "succeeds", Django records the migration as
    /// unapplied, and the database keeps everything the SQL created. The next `migrate`
    /// then runs the SQL again on a database where it already ran.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "CREATE INDEX IF NOT EXISTS post_title_idx ON blog_post (title)",
    ///     reverse_sql="-- no reverse needed",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Give the SQL that undoes the change (`reverse_sql="DROP INDEX IF EXISTS
    /// post_title_idx"`). When there is truly nothing to undo, say so explicitly with
    /// `reverse_sql=migrations.RunSQL.noop`.
    pub struct IrreversibleRunsql { code: "SQL005", name: "irreversible-runsql", severity: Warning, opt_in: true }
}

impl Rule for IrreversibleRunsql {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        // Tables Django's own operations of this migration created before each RunSQL:
        // unapplying the migration drops them again, with whatever the SQL put in them.
        let mut created: BTreeSet<String> = BTreeSet::new();
        for op in cx.run_sql() {
            for (table, made) in &op.tables_before {
                if *made {
                    created.insert(table.to_lowercase());
                } else {
                    created.remove(&table.to_lowercase());
                }
            }
            let call = Span::new(cx.file, op.callee);
            let d = match &op.reverse {
                Arg::Absent => Self::META
                    .diagnostic("`RunSQL` without `reverse_sql` cannot be unapplied")
                    .at(call, "no `reverse_sql`"),
                Arg::NoneLit(r) => Self::META
                    .diagnostic("`RunSQL` without `reverse_sql` cannot be unapplied")
                    .at(call, "")
                    .label(Span::new(cx.file, *r), "`reverse_sql=None`"),
                Arg::Sql {
                    units,
                    complete: true,
                    range,
                } => {
                    let what = if units.iter().all(|u| u.text.text.trim().is_empty()) {
                        "empty"
                    } else if units
                        .iter()
                        .all(|u| only_comments(&u.text.text, cx.options.sql_dialect))
                    {
                        "only comments"
                    } else {
                        continue;
                    };
                    // Looked at only for a reverse that does nothing: the forward SQL is
                    // lexed again here.
                    if needs_no_undo(&op.sql, cx.options.sql_dialect, &created) {
                        continue;
                    }
                    Self::META
                        .diagnostic("`reverse_sql` of `RunSQL` does nothing")
                        .at(call, "")
                        .label(Span::new(cx.file, *range), format!("`reverse_sql` is {what}"))
                        .note("unapplying the migration leaves the database as it is while Django records the migration as unapplied; the next `migrate` runs its SQL again")
                        .help("write the SQL that undoes it, or say that nothing needs undoing with `reverse_sql=migrations.RunSQL.noop`")
                }
                Arg::Noop | Arg::Dynamic | Arg::Sql { .. } => continue,
            };
            let d = if matches!(op.reverse, Arg::Absent | Arg::NoneLit(_)) {
                d.note("Django raises `IrreversibleError` when this migration is unapplied")
                    .help("pass the SQL that undoes it as `reverse_sql=`, or `reverse_sql=migrations.RunSQL.noop` when there is nothing to undo")
            } else {
                d
            };
            out.push(d.with_fix(noop_fix(cx, op)));
        }
    }
}

/// `reverse_sql=migrations.RunSQL.noop`, written with the callee as the file writes it.
/// Unsafe: it declares that unapplying needs no SQL, which only a person can know.
fn noop_fix(cx: &FileContext<'_>, op: &RunSql) -> Option<Fix> {
    let callee = cx
        .text
        .get(op.callee.start().to_usize()..op.callee.end().to_usize())?;
    if callee.contains(['\n', '\r', '#']) {
        return None;
    }
    let noop = format!("{callee}.noop");
    let edit = match &op.reverse {
        Arg::Absent => {
            let call = djcheck_fix::edits::find_call(cx.parsed.body(), op.callee)?;
            if djcheck_python::eval::has_splat(call) {
                return None;
            }
            djcheck_fix::edits::add_keyword(cx.file, cx.text, call, &format!("reverse_sql={noop}"))?
        }
        Arg::NoneLit(r) | Arg::Sql { range: r, .. } => Edit::replace(cx.file, *r, noop),
        _ => return None,
    };
    Some(Fix::unsafe_edit(
        "unapply it as a no-op, leaving the database as it is: `reverse_sql=RunSQL.noop`",
        vec![edit],
    ))
}

/// Statements whose effect ends with the session or changes no schema or data: an
/// empty reverse for them is right, not a silent no-op.
const NO_UNDO: &[&str] = &[
    "SET",
    "RESET",
    "SHOW",
    "ANALYZE",
    "VACUUM",
    "REINDEX",
    "LOCK",
    "CHECKPOINT",
    "DISCARD",
    "EXPLAIN",
    "CLUSTER",
    "REFRESH",
    "NOTIFY",
    "LISTEN",
];

/// True when an empty `reverse_sql` means what `RunSQL.noop` means (it is the same value,
/// `""`): every forward statement is one of [`NO_UNDO`], writes rows only into tables this
/// migration's own operations created (unapplying drops those tables, rows and all), or
/// is an `UPDATE` whose assignments do not read the columns they set (a backfill: its rows
/// stay as they are when unapplied, and running it again gives the same rows).
fn needs_no_undo(sql: &Arg, d: djcheck_project::SqlDialect, created: &BTreeSet<String>) -> bool {
    let Arg::Sql {
        units,
        complete: true,
        ..
    } = sql
    else {
        return false;
    };
    units.iter().all(|u| {
        let text = lex::rewrite_placeholders(&u.text.text, d);
        let Ok(toks) = lex::tokenize(&text, 0, lex::dialect(d)) else {
            return false;
        };
        lex::split(&toks).iter().all(|p| {
            let sig: Vec<&Tok> = toks
                .get(p.first..=p.last)
                .unwrap_or(&[])
                .iter()
                .filter(|t| !t.is_trivia())
                .collect();
            let Some(first) = sig.first() else {
                return true;
            };
            if first.is_any(NO_UNDO) {
                return true;
            }
            match data_target(&sig) {
                Some((table, _)) if created.contains(&table) => true,
                Some((_, Some(set))) => backfill(&sig[set..]),
                _ => false,
            }
        })
    })
}

/// The table an `INSERT`, `UPDATE` or `DELETE` writes (lowercased unless quoted), and for
/// an `UPDATE` the index of the token after `SET`.
fn data_target(sig: &[&Tok]) -> Option<(String, Option<usize>)> {
    let first = sig.first()?;
    let mut i = 1;
    let update = first.is("UPDATE");
    if first.is("INSERT") {
        while sig.get(i).is_some_and(|t| {
            t.is_any(&[
                "IGNORE",
                "OR",
                "REPLACE",
                "ABORT",
                "ROLLBACK",
                "FAIL",
                "LOW_PRIORITY",
                "DELAYED",
                "HIGH_PRIORITY",
            ])
        }) {
            i += 1;
        }
        if !sig.get(i)?.is("INTO") {
            return None;
        }
        i += 1;
    } else if first.is("DELETE") {
        if !sig.get(i)?.is("FROM") {
            return None;
        }
        i += 1;
    } else if update {
        while sig
            .get(i)
            .is_some_and(|t| t.is_any(&["ONLY", "LOW_PRIORITY", "IGNORE"]))
        {
            i += 1;
        }
    } else {
        return None;
    }
    if sig.get(i).is_some_and(|t| t.is("ONLY")) {
        i += 1;
    }
    // `schema.table`: the last part names the table.
    let mut table = sig.get(i)?.ident()?.value;
    while sig
        .get(i + 1)
        .is_some_and(|t| matches!(t.token, Token::Period))
    {
        i += 2;
        table = sig.get(i)?.ident()?.value;
    }
    if !update {
        return Some((table, None));
    }
    // `UPDATE t [AS] alias SET ...`
    let set = sig.iter().skip(i + 1).position(|t| t.is("SET"))? + i + 2;
    Some((table, Some(set)))
}

/// Whether `UPDATE ... SET` assignments (the tokens after `SET`) give the same rows when
/// run again: no assignment reads the column it sets (`SET n = n + 1` does), and each
/// sets a single column.
fn backfill(after_set: &[&Tok]) -> bool {
    let mut depth = 0usize;
    let mut assignments: Vec<Vec<&Tok>> = vec![Vec::new()];
    for t in after_set {
        match t.token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            _ => {}
        }
        if depth == 0 && t.is_any(&["WHERE", "FROM", "RETURNING", "ORDER", "LIMIT"]) {
            break;
        }
        if depth == 0 && matches!(t.token, Token::Comma) {
            assignments.push(Vec::new());
            continue;
        }
        if let Some(a) = assignments.last_mut() {
            a.push(t);
        }
    }
    assignments.iter().all(|a| {
        let Some(eq) = a.iter().position(|t| matches!(t.token, Token::Eq)) else {
            return false;
        };
        // `col = ...` or `alias.col = ...`: the column is the last word before `=`.
        let Some(column) = a[..eq].last().and_then(|t| t.ident()) else {
            return false;
        };
        if a[..eq].iter().any(|t| matches!(t.token, Token::LParen)) {
            return false;
        }
        !a[eq + 1..]
            .iter()
            .any(|t| t.ident().is_some_and(|i| i.value == column.value))
    })
}

/// True when the SQL is nothing but whitespace, comments and semicolons.
fn only_comments(sql: &str, d: djcheck_project::SqlDialect) -> bool {
    match lex::tokenize(sql, 0, lex::dialect(d)) {
        Ok(toks) => toks
            .iter()
            .all(|t| t.is_trivia() || matches!(t.token, Token::SemiColon)),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{migration, snippets, Opts};

    fn labels(op: &str) -> Vec<String> {
        let src = migration(op, None);
        let d = crate::testing::diagnostics(&IrreversibleRunsql, &src, &Opts::default());
        d.iter()
            .map(|d| {
                d.labels
                    .first()
                    .map_or(d.primary_label.clone(), |l| l.message.clone())
            })
            .collect()
    }

    #[test]
    fn fires_without_a_real_reverse() {
        let src = migration("migrations.RunSQL('DROP TABLE IF EXISTS a')", None);
        assert_eq!(
            snippets(&IrreversibleRunsql, &src, &Opts::default()),
            vec!["migrations.RunSQL"]
        );
        // Session-only SQL still needs a reverse to be unapplied at all.
        assert_eq!(
            labels("migrations.RunSQL('SET CONSTRAINTS ALL IMMEDIATE')"),
            vec!["no `reverse_sql`"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', None)"),
            vec!["`reverse_sql=None`"]
        );
        assert_eq!(
            labels(
                "migrations.RunSQL('SELECT 1', reverse_sql='-- no reverse needed (idempotent)')"
            ),
            vec!["`reverse_sql` is only comments"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', reverse_sql='')"),
            vec!["`reverse_sql` is empty"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', reverse_sql=[])"),
            vec!["`reverse_sql` is empty"]
        );
        assert_eq!(
            labels("migrations.RunSQL('SELECT 1', reverse_sql=['/* nothing */', '  '])"),
            vec!["`reverse_sql` is only comments"]
        );
    }

    #[test]
    fn an_empty_reverse_is_a_noop_for_seed_data_and_backfills() {
        for op in [
            // Seed rows into tables this migration created: unapplying drops them.
            "migrations.CreateModel('Color', [('id', models.AutoField(primary_key=True)), ('tags', models.ManyToManyField(to='app.tag'))]), migrations.RunSQL(\"INSERT INTO app_color (id) VALUES (1); INSERT INTO app_color_tags (color_id, tag_id) VALUES (1, 1)\", reverse_sql='')",
            "migrations.CreateModel('Color', [('id', models.AutoField(primary_key=True))], options={'db_table': 'colors'}), migrations.RunSQL(\"INSERT INTO public.colors (id) VALUES (1)\", '')",
            // Backfills.
            "migrations.RunSQL(\"UPDATE app_post SET status = 'draft' WHERE status IS NULL; UPDATE app_post p SET title = trim(p.slug), n = 0 FROM app_x\", reverse_sql='')",
        ] {
            let src = migration(op, None);
            let got = snippets(&IrreversibleRunsql, &src, &Opts::default());
            assert!(got.is_empty(), "{op}: {got:?}");
        }
        for op in [
            // Not re-runnable, or the table outlives the rollback.
            "migrations.RunSQL(\"UPDATE app_post SET views = views + 1\", reverse_sql='')",
            "migrations.RunSQL(\"INSERT INTO app_post (id) VALUES (1)\", reverse_sql='')",
            "migrations.RunSQL(\"CREATE TABLE t (id int); INSERT INTO t VALUES (1)\", reverse_sql='')",
            "migrations.RunSQL(\"UPDATE app_post SET (a, b) = (1, 2)\", reverse_sql='')",
        ] {
            let src = migration(op, None);
            assert_eq!(
                snippets(&IrreversibleRunsql, &src, &Opts::default()).len(),
                1,
                "{op}"
            );
        }
    }

    #[test]
    fn accepts_noop_real_and_run_time_reverses() {
        for op in [
            "migrations.RunSQL('SELECT 1', migrations.RunSQL.noop)",
            "migrations.RunSQL('SELECT 1', reverse_sql=RunSQL.noop)",
            "migrations.RunSQL('SELECT 1', 'SELECT 2 -- undo')",
            "migrations.RunSQL('SELECT 1', reverse_sql=build_reverse())",
            "migrations.RunSQL('SELECT 1', reverse_sql=['-- x', make()])",
            "migrations.RunSQL('SET CONSTRAINTS ALL IMMEDIATE;', reverse_sql='')",
            "migrations.RunSQL(['ANALYZE t', 'REFRESH MATERIALIZED VIEW m'], reverse_sql='-- nothing')",
        ] {
            let src = migration(op, None);
            let got = snippets(&IrreversibleRunsql, &src, &Opts::default());
            assert!(got.is_empty(), "{op}: {got:?}");
        }
    }
}
