//! What a migration's forward SQL does to tables, for other rule families (the deploy
//! safety rules): transaction control, explicit locks, truncation, index builds, columns
//! added `NOT NULL` without a default, `lock_timeout` settings and other lock-taking
//! statements, each with its place in the Python source.
//!
//! Only `sql` is read, never `reverse_sql`: a deploy runs migrations forwards.

use crate::common;
use crate::shape::{ActionKind, Kind, Name, Shape};
use djcheck_linter::FileContext;
use djcheck_python::TextRange;
use djcheck_sql::statements::Statement;
use sqlparser::tokenizer::Token;

/// What a statement does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactKind {
    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`.
    TransactionControl(String),
    /// `LOCK [TABLE] t`.
    LockTable,
    /// `TRUNCATE [TABLE] t`.
    Truncate,
    /// `CREATE [UNIQUE] INDEX ... ON t`.
    CreateIndex { concurrently: bool },
    /// `ALTER TABLE t ADD [COLUMN] c ... NOT NULL` with no `DEFAULT` (nor a serial type,
    /// an identity or a generated column, which fill the column).
    AddColumnNotNull { column: String },
    /// `SET [LOCAL | SESSION] lock_timeout ...`.
    SetLockTimeout,
    /// `CREATE TABLE t` (guarded or not): a table this SQL brings.
    CreateTable,
    /// Any other statement that takes a lock on a table: `ALTER TABLE`, `DROP TABLE`,
    /// `DROP INDEX` without `CONCURRENTLY`, `CREATE TRIGGER`, `VACUUM FULL`, `CLUSTER`,
    /// `REINDEX` without `CONCURRENTLY`.
    Locks,
}

/// One statement of a migration's forward `RunSQL`.
#[derive(Debug, Clone)]
pub struct Fact {
    pub kind: FactKind,
    /// The tables it names (lowercased unless quoted), when it names any.
    pub tables: Vec<String>,
    /// Where the statement's head is in the Python file.
    pub range: TextRange,
    /// Its table was created earlier in the same migration (by SQL or by Django's
    /// operations), so it is new and empty.
    pub fresh: bool,
}

fn table_name(n: &Name) -> Option<String> {
    n.object().map(|o| o.value.clone())
}

/// The facts of a migration file's forward SQL, in the order it runs.
pub fn forward_facts(cx: &FileContext<'_>) -> Vec<Fact> {
    let mut out = Vec::new();
    common::for_each_statement(cx, |u, st, history| {
        if u.reverse {
            return;
        }
        let Some((kind, names, last)) = classify(st) else {
            return;
        };
        let Some(span) = common::span(cx, u, st, 0, last) else {
            return;
        };
        let fresh = !names.is_empty() && names.iter().all(|n| history.fresh(Some(n)));
        out.push(Fact {
            kind,
            tables: names.iter().filter_map(table_name).collect(),
            range: span.range,
            fresh,
        });
    });
    out
}

/// A statement's kind, the tables it names and the last token of its head.
fn classify(st: &Statement) -> Option<(FactKind, Vec<Name>, usize)> {
    let t = &st.toks;
    let first = t.first()?;
    let word = |i: usize, w: &str| t.get(i).is_some_and(|x| x.is(w));
    let transaction_control = first.is_any(&["BEGIN", "COMMIT", "END", "ABORT"])
        || (first.is("START") && word(1, "TRANSACTION"))
        || (first.is("ROLLBACK") && !t.iter().any(|x| x.is("SAVEPOINT") || x.is("TO")));
    // Inside a `DO` block, `BEGIN ... END` delimit PL/pgSQL blocks.
    if !st.in_do && transaction_control {
        let last = usize::from(first.is("START"));
        let text = t
            .iter()
            .take(last + 1)
            .filter_map(|x| x.word().map(str::to_ascii_uppercase))
            .collect::<Vec<_>>()
            .join(" ");
        return Some((FactKind::TransactionControl(text), Vec::new(), last));
    }
    if first.is("SET") {
        let mut i = 1;
        if t.get(i).is_some_and(|x| x.is_any(&["LOCAL", "SESSION"])) {
            i += 1;
        }
        if word(i, "lock_timeout") {
            return Some((FactKind::SetLockTimeout, Vec::new(), i));
        }
        return None;
    }
    if first.is("LOCK") {
        let mut i = 1;
        if word(i, "TABLE") {
            i += 1;
        }
        if word(i, "ONLY") {
            i += 1;
        }
        let names = names_from(t, i);
        let last = names.last().map_or(i.saturating_sub(1), |n| n.last);
        return Some((FactKind::LockTable, names, last));
    }
    if first.is("TRUNCATE") {
        let mut i = 1;
        if word(i, "TABLE") {
            i += 1;
        }
        if word(i, "ONLY") {
            i += 1;
        }
        let names = names_from(t, i);
        let last = names.last().map_or(i.saturating_sub(1), |n| n.last);
        return Some((FactKind::Truncate, names, last));
    }
    if (first.is("VACUUM") && t.iter().any(|x| x.is("FULL"))) || first.is("CLUSTER") {
        return Some((FactKind::Locks, Vec::new(), 0));
    }
    match &st.shape {
        Shape::Create(c) if c.object.kind == Kind::Table && !c.temporary => Some((
            FactKind::CreateTable,
            c.name.iter().cloned().collect(),
            c.head_last,
        )),
        Shape::Create(c) if c.object.kind == Kind::Index => {
            let names: Vec<Name> = c.on.iter().cloned().collect();
            Some((
                FactKind::CreateIndex {
                    concurrently: c.concurrently.is_some(),
                },
                names,
                c.head_last,
            ))
        }
        Shape::Create(c) if c.object.kind == Kind::Trigger => {
            Some((FactKind::Locks, c.on.iter().cloned().collect(), c.head_last))
        }
        Shape::Drop(d) if matches!(d.object.kind, Kind::Table | Kind::Index) => {
            if d.object.kind == Kind::Index && d.concurrently.is_some() {
                return None;
            }
            let names = if d.object.kind == Kind::Table {
                d.names.clone()
            } else {
                Vec::new()
            };
            Some((FactKind::Locks, names, d.head_last))
        }
        Shape::Reindex { concurrently: None } => Some((FactKind::Locks, Vec::new(), 0)),
        Shape::Alter(a) if a.object.kind == Kind::Table => {
            let names: Vec<Name> = a.name.iter().cloned().collect();
            let head = a.name.as_ref().map_or(0, |n| n.last);
            for action in &a.actions {
                if action.kind != ActionKind::AddColumn {
                    continue;
                }
                let rest = action_tail(t, action.last + 1);
                let has = |w: &str| rest.iter().any(|x| x.is(w));
                let not_null = rest.windows(2).any(|w| w[0].is("NOT") && w[1].is("NULL"));
                let filled = has("DEFAULT")
                    || has("GENERATED")
                    || has("IDENTITY")
                    || rest
                        .iter()
                        .any(|x| x.is_any(&["SERIAL", "BIGSERIAL", "SMALLSERIAL"]));
                if not_null && !filled {
                    let column = action
                        .target
                        .as_ref()
                        .map(|c| c.value.clone())
                        .unwrap_or_default();
                    return Some((FactKind::AddColumnNotNull { column }, names, action.last));
                }
            }
            Some((FactKind::Locks, names, head))
        }
        _ => None,
    }
}

/// Tokens of an `ALTER TABLE` action after its target, up to the next top-level comma.
fn action_tail(t: &[crate::lex::Tok], from: usize) -> &[crate::lex::Tok] {
    let mut depth = 0usize;
    let mut end = from;
    while end < t.len() {
        match t[end].token {
            Token::LParen => depth += 1,
            Token::RParen => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => break,
            _ => {}
        }
        end += 1;
    }
    t.get(from..end).unwrap_or(&[])
}

/// Comma-separated names from token `i`.
fn names_from(t: &[crate::lex::Tok], mut i: usize) -> Vec<Name> {
    let mut out = Vec::new();
    while let Some(n) = crate::shape::name_at(t, i) {
        i = n.last + 1;
        out.push(n);
        if matches!(t.get(i).map(|x| &x.token), Some(Token::Comma)) {
            i += 1;
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{migration, Opts};

    fn kinds(sql: &str) -> Vec<(FactKind, Vec<String>)> {
        let src = migration(
            &format!("migrations.RunSQL({sql:?}, migrations.RunSQL.noop)"),
            None,
        );
        crate::testing::with_context(&src, &Opts::default(), |cx| {
            forward_facts(cx)
                .into_iter()
                .map(|f| (f.kind, f.tables))
                .collect()
        })
    }

    #[test]
    fn classifies_statements() {
        let got = kinds(
            "SET LOCAL lock_timeout = '1s'; BEGIN; LOCK TABLE a, b IN ACCESS EXCLUSIVE MODE; \
             TRUNCATE ONLY c; CREATE INDEX i ON d (x); CREATE INDEX CONCURRENTLY j ON e (y); \
             ALTER TABLE f ADD COLUMN g int NOT NULL; ALTER TABLE h ADD COLUMN k int NOT NULL DEFAULT 0; \
             ALTER TABLE m ADD COLUMN n bigserial NOT NULL; COMMIT; SELECT 1",
        );
        let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            got,
            vec![
                (FactKind::SetLockTimeout, vec![]),
                (FactKind::TransactionControl("BEGIN".into()), vec![]),
                (FactKind::LockTable, s(&["a", "b"])),
                (FactKind::Truncate, s(&["c"])),
                (
                    FactKind::CreateIndex {
                        concurrently: false
                    },
                    s(&["d"])
                ),
                (FactKind::CreateIndex { concurrently: true }, s(&["e"])),
                (FactKind::AddColumnNotNull { column: "g".into() }, s(&["f"])),
                (FactKind::Locks, s(&["h"])),
                (FactKind::Locks, s(&["m"])),
                (FactKind::TransactionControl("COMMIT".into()), vec![]),
            ]
        );
    }

    #[test]
    fn a_table_created_earlier_in_the_migration_is_fresh() {
        let src = migration(
            "migrations.RunSQL('CREATE TABLE t (id int); CREATE INDEX i ON t (id); CREATE INDEX j ON u (id)', migrations.RunSQL.noop)",
            None,
        );
        let fresh: Vec<bool> = crate::testing::with_context(&src, &Opts::default(), |cx| {
            forward_facts(cx).into_iter().map(|f| f.fresh).collect()
        });
        assert_eq!(fresh, vec![false, true, false]);
    }
}
