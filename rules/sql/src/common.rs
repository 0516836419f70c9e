//! What the SQL rules share: walking a file's statements in the order they run, what
//! earlier statements of that run created or dropped, and small text helpers.

use crate::shape::{ActionKind, Kind, Name, Shape};
use djcheck_linter::{Diagnostic, Edit, FileContext, Span};
use djcheck_project::facts::run_sql::SqlOp;
use djcheck_sql::statements::{Statement, Unit};
use std::collections::{BTreeMap, BTreeSet};

/// An object an earlier statement of the same run created or dropped, by name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Key {
    Object(Kind, String),
    Constraint(String),
    Column(String, String),
}

/// What the statements that ran before the current one did, within one run: the
/// forward SQL of the whole migration in operation order, or one operation's
/// `reverse_sql`.
///
/// The rules ask whether a statement succeeds whenever it is reached, whatever state the
/// database was in when the run started (a partial earlier run, a faked migration, a
/// restored backup). A `CREATE` after a `DROP` of the same object is reached only once
/// the object is gone; a `DROP` after a `CREATE` only once it exists.
#[derive(Debug, Default, Clone)]
pub struct History {
    /// Whether the object exists after the last statement that created or dropped it:
    /// a `CREATE` whose object was last dropped, or a `DROP` whose object was last
    /// created, succeeds whenever it is reached.
    last: BTreeMap<Key, bool>,
    /// Temporary tables created: they vanish with the session.
    pub temporary: BTreeSet<String>,
    /// Tables (and materialized views) whose last change was an unguarded `CREATE` (or
    /// Django's `CreateModel`): a statement on them is reached only right after they were
    /// created, empty and without indexes, triggers or added columns.
    fresh: BTreeSet<String>,
}

pub fn object_key(kind: Kind, name: &Name) -> Option<Key> {
    Some(Key::Object(kind, name.object()?.value.clone()))
}

impl History {
    /// The last statement that touched the object dropped it.
    pub fn dropped(&self, key: &Key) -> bool {
        self.last.get(key) == Some(&false)
    }

    /// The last statement that touched the object created it.
    pub fn created(&self, key: &Key) -> bool {
        self.last.get(key) == Some(&true)
    }

    /// The table was created by this run, unguarded, and not dropped since.
    pub fn fresh(&self, table: Option<&Name>) -> bool {
        table
            .and_then(Name::object)
            .is_some_and(|o| self.fresh.contains(&o.value))
    }

    /// Records a table Django's own operations created (`true`) or dropped.
    pub fn django_table(&mut self, table: &str, created: bool) {
        self.last
            .insert(Key::Object(Kind::Table, table.to_owned()), created);
        if created {
            self.fresh.insert(table.to_owned());
        } else {
            self.fresh.remove(table);
        }
    }

    /// Records what `st` leaves behind.
    pub fn record(&mut self, st: &Statement) {
        match &st.shape {
            Shape::Create(c) => {
                if let Some(n) = &c.name {
                    if matches!(c.object.kind, Kind::Table | Kind::MaterializedView) {
                        if let Some(o) = n.object() {
                            if c.if_not_exists || c.or_replace || st.guarded {
                                self.fresh.remove(&o.value);
                            } else {
                                self.fresh.insert(o.value.clone());
                            }
                        }
                    }
                    if c.temporary {
                        if let Some(o) = n.object() {
                            self.temporary.insert(o.value.clone());
                        }
                    }
                    if let Some(k) = object_key(c.object.kind, n) {
                        self.last.insert(k, true);
                    }
                }
            }
            Shape::Drop(d) => {
                for n in &d.names {
                    if let Some(k) = object_key(d.object.kind, n) {
                        self.last.insert(k, false);
                    }
                    if let Some(o) = n.object() {
                        self.fresh.remove(&o.value);
                    }
                }
            }
            Shape::Alter(a) => {
                let table = a
                    .name
                    .as_ref()
                    .and_then(Name::object)
                    .map(|o| o.value.clone())
                    .unwrap_or_default();
                for act in &a.actions {
                    if matches!(act.kind, ActionKind::RenameObject | ActionKind::SetSchema) {
                        self.fresh.remove(&table);
                    }
                    self.record_action(
                        &table,
                        act.kind,
                        act.target.as_ref().map(|t| t.value.clone()),
                    );
                }
            }
            _ => {}
        }
    }

    /// Records what one action of an `ALTER TABLE` leaves behind.
    pub fn record_action(&mut self, table: &str, kind: ActionKind, target: Option<String>) {
        let Some(target) = target else { return };
        let (key, exists) = match kind {
            ActionKind::AddColumn => (Key::Column(table.to_owned(), target), true),
            ActionKind::AddConstraint => (Key::Constraint(target), true),
            ActionKind::DropColumn => (Key::Column(table.to_owned(), target), false),
            ActionKind::DropConstraint => (Key::Constraint(target), false),
            _ => return,
        };
        self.last.insert(key, exists);
    }
}

/// Calls `f` for every statement of the file's RunSQL in the order it runs, with what
/// ran before it in the same run. Each SQL string is visited once per file.
pub fn for_each_statement<'c>(
    cx: &'c FileContext<'_>,
    mut f: impl FnMut(&Unit, &Statement, &History),
) -> &'c [SqlOp] {
    let ops = cx.sql();
    let mut forward = History::default();
    for op in ops.iter() {
        for (table, created) in &op.tables_before {
            forward.django_table(table, *created);
        }
        for u in &op.forward {
            for st in &u.statements {
                f(u, st, &forward);
                forward.record(st);
            }
        }
        let mut backward = History::default();
        for u in &op.backward {
            for st in &u.statements {
                f(u, st, &backward);
                backward.record(st);
            }
        }
    }
    ops
}

/// Adds the note every finding in reverse SQL carries.
pub fn reverse_note(d: Diagnostic, u: &Unit) -> Diagnostic {
    if u.reverse {
        d.note("this is `reverse_sql`: it runs when the migration is unapplied, and a rollback that stopped halfway runs it again")
    } else {
        d
    }
}

/// The span of tokens `first..=last` of a statement, in the Python file.
pub fn span(
    cx: &FileContext<'_>,
    u: &Unit,
    st: &Statement,
    first: usize,
    last: usize,
) -> Option<Span> {
    u.tokens_range(st, first, last)
        .map(|r| Span::new(cx.file, r))
}

/// A name as written in the SQL (its tokens' text).
pub fn name_text(u: &Unit, st: &Statement, n: &Name) -> String {
    u.head_text(st, n.first, n.last, None)
}

/// The note shared by the idempotency rules.
pub const RERUN_NOTE: &str = "a migration's SQL runs again after a failed or faked apply: each statement must succeed where it already ran";

/// The edit inserting keywords (`IF NOT EXISTS`) right after token `after` of a statement,
/// inside the Python string that holds it (its quotes and prefix untouched), in the
/// statement's own letter case. `None` when the token is not written plainly in the source
/// (an escape, a string that could not be mapped byte for byte).
pub fn insert_after(
    cx: &FileContext<'_>,
    u: &Unit,
    st: &Statement,
    after: usize,
    words: &str,
) -> Option<Edit> {
    let t = st.toks.get(after)?;
    let r = u.source(t.start, t.end)?;
    let written = u.map.text.get(t.start..t.end)?;
    if cx.text.get(r.start().to_usize()..r.end().to_usize()) != Some(written) {
        return None;
    }
    let first = st
        .toks
        .first()
        .and_then(|f| u.map.text.get(f.start..f.end))?;
    let words = if first.chars().all(|c| c.is_ascii_lowercase()) {
        words.to_ascii_lowercase()
    } else {
        words.to_owned()
    };
    Some(Edit::insert(cx.file, r.end(), format!(" {words}")))
}
