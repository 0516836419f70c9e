//! What a statement does, read from its tokens: the object a `CREATE`/`DROP`/`ALTER`
//! names and whether it is guarded, the actions of an `ALTER TABLE`, an `INSERT`'s target
//! and conflict handling, a `DO` block's body.
//!
//! This reading works on every statement, whether or not sqlparser's parser accepts it;
//! for statements the parser reads, the SQL rules check each finding against the
//! syntax tree as well.

use crate::lex::{Ident, Tok};
use sqlparser::tokenizer::Token;

/// The kind of object a statement creates, drops or alters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Table,
    Index,
    Sequence,
    Schema,
    Extension,
    MaterializedView,
    View,
    Function,
    Procedure,
    Trigger,
    Type,
    /// A kind with no rule of its own (`DOMAIN`, `ROLE`, `FOREIGN TABLE`...).
    Other,
    /// `DROP OWNED BY`: has no `IF EXISTS` form and is idempotent anyway.
    Owned,
}

/// An object phrase as written, e.g. `MATERIALIZED VIEW`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Object {
    pub kind: Kind,
    pub phrase: &'static str,
}

const OBJECTS: &[(&str, Kind)] = &[
    ("MATERIALIZED VIEW", Kind::MaterializedView),
    ("FOREIGN DATA WRAPPER", Kind::Other),
    ("FOREIGN TABLE", Kind::Other),
    ("TEXT SEARCH CONFIGURATION", Kind::Other),
    ("TEXT SEARCH DICTIONARY", Kind::Other),
    ("TEXT SEARCH PARSER", Kind::Other),
    ("TEXT SEARCH TEMPLATE", Kind::Other),
    ("EVENT TRIGGER", Kind::Other),
    ("ACCESS METHOD", Kind::Other),
    ("USER MAPPING", Kind::Other),
    ("OPERATOR CLASS", Kind::Other),
    ("OPERATOR FAMILY", Kind::Other),
    ("PROCEDURAL LANGUAGE", Kind::Other),
    ("VIRTUAL TABLE", Kind::Other),
    ("TABLE", Kind::Table),
    ("INDEX", Kind::Index),
    ("SEQUENCE", Kind::Sequence),
    ("SCHEMA", Kind::Schema),
    ("EXTENSION", Kind::Extension),
    ("VIEW", Kind::View),
    ("FUNCTION", Kind::Function),
    ("PROCEDURE", Kind::Procedure),
    ("TRIGGER", Kind::Trigger),
    ("TYPE", Kind::Type),
    ("ROUTINE", Kind::Other),
    ("DOMAIN", Kind::Other),
    ("RULE", Kind::Other),
    ("POLICY", Kind::Other),
    ("ROLE", Kind::Other),
    ("USER", Kind::Other),
    ("GROUP", Kind::Other),
    ("DATABASE", Kind::Other),
    ("AGGREGATE", Kind::Other),
    ("OPERATOR", Kind::Other),
    ("SERVER", Kind::Other),
    ("CAST", Kind::Other),
    ("COLLATION", Kind::Other),
    ("CONVERSION", Kind::Other),
    ("LANGUAGE", Kind::Other),
    ("PUBLICATION", Kind::Other),
    ("SUBSCRIPTION", Kind::Other),
    ("STATISTICS", Kind::Other),
    ("TRANSFORM", Kind::Other),
    ("TABLESPACE", Kind::Other),
    ("EVENT", Kind::Other),
    ("OWNED", Kind::Owned),
];

/// A possibly qualified name: token indices and its parts.
#[derive(Debug, Clone, PartialEq)]
pub struct Name {
    pub parts: Vec<Ident>,
    pub first: usize,
    pub last: usize,
}

impl Name {
    /// The object's own name (the last part).
    pub fn object(&self) -> Option<&Ident> {
        self.parts.last()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Create {
    pub object: Object,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub temporary: bool,
    /// The `CONCURRENTLY` token, for indexes.
    pub concurrently: Option<usize>,
    pub name: Option<Name>,
    /// The last token of the object phrase (`IF NOT EXISTS` goes after it, or after
    /// `CONCURRENTLY`).
    pub object_last: usize,
    /// The last token of the head (`CREATE ... name`).
    pub head_last: usize,
    /// The table an index or trigger is created on (`ON table`).
    pub on: Option<Name>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Drop {
    pub object: Object,
    pub if_exists: bool,
    pub temporary: bool,
    pub concurrently: Option<usize>,
    pub names: Vec<Name>,
    /// Where `IF EXISTS` goes after: the object phrase or `CONCURRENTLY`.
    pub guard_after: usize,
    pub head_last: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionKind {
    AddColumn,
    DropColumn,
    /// `ADD CONSTRAINT name ...`, `ADD PRIMARY KEY`, `ADD UNIQUE (...)`, MySQL's
    /// `ADD INDEX`...
    AddConstraint,
    /// `DROP CONSTRAINT`, MySQL's `DROP INDEX`/`DROP FOREIGN KEY`/`DROP PRIMARY KEY`.
    DropConstraint,
    /// `RENAME [COLUMN] a TO b`, `RENAME CONSTRAINT a TO b`, `RENAME INDEX a TO b`.
    RenamePart,
    /// `RENAME TO new`: the object itself.
    RenameObject,
    SetSchema,
    /// `ALTER TYPE ... ADD VALUE`.
    AddValue,
    /// `DETACH PARTITION ... CONCURRENTLY`.
    DetachConcurrently,
    Other,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Action {
    pub kind: ActionKind,
    /// Tokens `first..=last`: the action through its target's name.
    pub first: usize,
    pub last: usize,
    /// `IF [NOT] EXISTS` written in the action.
    pub guarded: bool,
    /// The column or constraint the action names.
    pub target: Option<Ident>,
    /// Where an `IF [NOT] EXISTS` would go after (for the help line).
    pub guard_after: usize,
    /// The `CONCURRENTLY` token of a detach.
    pub concurrently: Option<usize>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Alter {
    pub object: Object,
    pub if_exists: bool,
    pub name: Option<Name>,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Insert {
    /// The `INSERT` token.
    pub first: usize,
    pub target: Option<Name>,
    /// `ON CONFLICT`, `ON DUPLICATE KEY UPDATE`, `INSERT IGNORE`, `INSERT OR IGNORE`, a
    /// `NOT EXISTS`/`NOT IN`/`EXCEPT` filter, or a source that reads the target table.
    pub guarded: bool,
    /// Tokens `first..=head_last` are `INSERT ... INTO name`.
    pub head_last: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Do {
    /// The token holding the body.
    pub body: Option<usize>,
    /// The body is PL/pgSQL (the default language).
    pub plpgsql: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Create(Create),
    Drop(Drop),
    Alter(Alter),
    Insert(Insert),
    Do(Do),
    /// `REINDEX ...`, with its `CONCURRENTLY` token.
    Reindex {
        concurrently: Option<usize>,
    },
    /// MySQL's `RENAME TABLE a TO b`.
    RenameTable,
    Other,
}

/// Reads a statement's shape from its significant tokens.
pub fn shape(t: &[Tok]) -> Shape {
    let Some(first) = t.first() else {
        return Shape::Other;
    };
    if first.is("CREATE") {
        return create(t).map_or(Shape::Other, Shape::Create);
    }
    if first.is("DROP") {
        return drop(t).map_or(Shape::Other, Shape::Drop);
    }
    if first.is("ALTER") {
        return alter(t).map_or(Shape::Other, Shape::Alter);
    }
    if first.is("INSERT") || first.is("WITH") {
        return insert(t).map_or(Shape::Other, Shape::Insert);
    }
    if first.is("DO") {
        return Shape::Do(do_block(t));
    }
    if first.is("REINDEX") {
        return Shape::Reindex {
            concurrently: t.iter().position(|x| x.is("CONCURRENTLY")),
        };
    }
    if first.is("RENAME") && t.get(1).is_some_and(|x| x.is("TABLE")) {
        return Shape::RenameTable;
    }
    Shape::Other
}

/// Matches an object phrase at `i`: the object and the index of its last token.
fn object_at(t: &[Tok], i: usize) -> Option<(Object, usize)> {
    for (phrase, kind) in OBJECTS {
        let words: Vec<&str> = phrase.split(' ').collect();
        let matches = words
            .iter()
            .enumerate()
            .all(|(k, w)| t.get(i + k).is_some_and(|x| x.is(w)));
        if matches {
            return Some((
                Object {
                    kind: *kind,
                    phrase,
                },
                i + words.len() - 1,
            ));
        }
    }
    None
}

/// A name at `i`: `a`, `a.b`, `"a"."b"`.
pub fn name_at(t: &[Tok], i: usize) -> Option<Name> {
    let mut parts = vec![t.get(i)?.ident()?];
    let mut last = i;
    while matches!(t.get(last + 1).map(|x| &x.token), Some(Token::Period)) {
        match t.get(last + 2).and_then(Tok::ident) {
            Some(id) => {
                parts.push(id);
                last += 2;
            }
            None => break,
        }
    }
    Some(Name {
        parts,
        first: i,
        last,
    })
}

fn seq(t: &[Tok], i: usize, words: &[&str]) -> bool {
    words
        .iter()
        .enumerate()
        .all(|(k, w)| t.get(i + k).is_some_and(|x| x.is(w)))
}

fn create(t: &[Tok]) -> Option<Create> {
    let mut i = 1;
    let mut or_replace = false;
    let mut temporary = false;
    let mut steps = 0;
    let (object, object_last) = loop {
        steps += 1;
        if steps > 24 {
            return None;
        }
        if let Some(found) = object_at(t, i) {
            break found;
        }
        let x = t.get(i)?;
        if seq(t, i, &["OR", "REPLACE"]) || seq(t, i, &["OR", "ALTER"]) {
            or_replace = true;
            i += 2;
        } else if x.is_any(&["TEMP", "TEMPORARY"]) {
            temporary = true;
            i += 1;
        } else if x.is_any(&[
            "GLOBAL",
            "LOCAL",
            "UNLOGGED",
            "UNIQUE",
            "RECURSIVE",
            "CONSTRAINT",
            "TRUSTED",
            "DEFAULT",
            "FULLTEXT",
            "SPATIAL",
            "ONLINE",
            "OFFLINE",
        ]) {
            i += 1;
        } else if x.is_any(&["DEFINER", "ALGORITHM"]) {
            // MySQL: `DEFINER = user@host`, `ALGORITHM = MERGE`: skip to the next word
            // that can continue the head.
            let start = i;
            i += 1;
            while !(object_at(t, i).is_some()
                || t.get(i)
                    .is_some_and(|y| y.is_any(&["SQL", "DEFINER", "ALGORITHM"])))
            {
                i += 1;
                if i > start + 8 || i >= t.len() {
                    return None;
                }
            }
        } else if seq(t, i, &["SQL", "SECURITY"]) {
            i += 3;
        } else {
            return None;
        }
    };
    let mut i = object_last + 1;
    let mut concurrently = None;
    if object.kind == Kind::Index && t.get(i).is_some_and(|x| x.is("CONCURRENTLY")) {
        concurrently = Some(i);
        i += 1;
    }
    let mut if_not_exists = false;
    if seq(t, i, &["IF", "NOT", "EXISTS"]) {
        if_not_exists = true;
        i += 3;
    }
    let unnamed = object.kind == Kind::Index && t.get(i).is_some_and(|x| x.is("ON"))
        || object.kind == Kind::Schema && t.get(i).is_some_and(|x| x.is("AUTHORIZATION"));
    let name = if unnamed { None } else { name_at(t, i) };
    let head_last = name
        .as_ref()
        .map_or(concurrently.unwrap_or(object_last), |n| n.last);
    // `CREATE INDEX name ON [ONLY] table`, `CREATE TRIGGER name ... ON table`: the first
    // `ON` outside parentheses after the name.
    let mut on = None;
    if matches!(object.kind, Kind::Index | Kind::Trigger) {
        let mut depth = 0usize;
        for k in head_last + 1..t.len() {
            match t[k].token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 && t[k].is("ON") {
                let at = if t.get(k + 1).is_some_and(|x| x.is("ONLY")) {
                    k + 2
                } else {
                    k + 1
                };
                on = name_at(t, at);
                break;
            }
        }
    }
    Some(Create {
        object,
        or_replace,
        if_not_exists,
        temporary,
        concurrently,
        name,
        object_last,
        head_last,
        on,
    })
}

fn drop(t: &[Tok]) -> Option<Drop> {
    let mut i = 1;
    let mut temporary = false;
    if t.get(i).is_some_and(|x| x.is("TEMPORARY")) {
        temporary = true;
        i += 1;
    }
    let (object, object_last) = object_at(t, i)?;
    let mut i = object_last + 1;
    let mut guard_after = object_last;
    let mut concurrently = None;
    if t.get(i).is_some_and(|x| x.is("CONCURRENTLY")) {
        concurrently = Some(i);
        guard_after = i;
        i += 1;
    }
    let mut if_exists = false;
    if seq(t, i, &["IF", "EXISTS"]) {
        if_exists = true;
        i += 2;
    }
    let mut names = Vec::new();
    while let Some(n) = name_at(t, i) {
        i = n.last + 1;
        names.push(n);
        // A function's argument list: `DROP FUNCTION f(int, text)`.
        if matches!(t.get(i).map(|x| &x.token), Some(Token::LParen)) {
            i = skip_parens(t, i);
        }
        if matches!(t.get(i).map(|x| &x.token), Some(Token::Comma)) {
            i += 1;
        } else {
            break;
        }
    }
    let head_last = names.first().map_or(guard_after, |n| n.last);
    Some(Drop {
        object,
        if_exists,
        temporary,
        concurrently,
        names,
        guard_after,
        head_last,
    })
}

/// The index after the parenthesised group that opens at `i`.
fn skip_parens(t: &[Tok], i: usize) -> usize {
    let mut depth = 0usize;
    let mut k = i;
    while let Some(x) = t.get(k) {
        match x.token {
            Token::LParen => depth += 1,
            Token::RParen => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return k + 1;
                }
            }
            _ => {}
        }
        k += 1;
    }
    k
}

fn alter(t: &[Tok]) -> Option<Alter> {
    let mut i = 1;
    // MySQL: `ALTER [ONLINE] [IGNORE] TABLE`.
    while t.get(i).is_some_and(|x| x.is_any(&["ONLINE", "IGNORE"])) {
        i += 1;
    }
    let (object, object_last) = object_at(t, i)?;
    let mut i = object_last + 1;
    let mut if_exists = false;
    if seq(t, i, &["IF", "EXISTS"]) {
        if_exists = true;
        i += 2;
    }
    if t.get(i).is_some_and(|x| x.is("ONLY")) {
        i += 1;
    }
    let name = name_at(t, i);
    let mut i = name.as_ref().map_or(i, |n| n.last + 1);
    if matches!(t.get(i).map(|x| &x.token), Some(Token::Mul)) {
        i += 1;
    }
    // `ALTER FUNCTION f(int) RENAME TO g`, `ALTER TRIGGER t ON tbl RENAME TO u`.
    if matches!(t.get(i).map(|x| &x.token), Some(Token::LParen)) {
        i = skip_parens(t, i);
    }
    if t.get(i).is_some_and(|x| x.is("ON")) {
        if let Some(n) = name_at(t, i + 1) {
            i = n.last + 1;
        }
    }
    let mut actions = Vec::new();
    let mut start = i;
    let mut depth = 0usize;
    let mut k = i;
    while k <= t.len() {
        let end = k == t.len();
        if !end {
            match t[k].token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
        if end || (depth == 0 && matches!(t[k].token, Token::Comma)) {
            if k > start {
                actions.push(action(t, start, k - 1));
            }
            start = k + 1;
        }
        k += 1;
    }
    Some(Alter {
        object,
        if_exists,
        name,
        actions,
    })
}

/// One action of an `ALTER`, tokens `a..=b`.
fn action(t: &[Tok], a: usize, b: usize) -> Action {
    let mut act = Action {
        kind: ActionKind::Other,
        first: a,
        last: a,
        guarded: false,
        target: None,
        guard_after: a,
        concurrently: None,
    };
    let at = |i: usize| if i <= b { t.get(i) } else { None };
    let is = |i: usize, w: &str| at(i).is_some_and(|x| x.is(w));
    // Reads an optional `IF [NOT] EXISTS` and the target name at `i`.
    let target = |act: &mut Action, mut i: usize, not: bool| {
        act.guard_after = i - 1;
        let guard: &[&str] = if not {
            &["IF", "NOT", "EXISTS"]
        } else {
            &["IF", "EXISTS"]
        };
        if seq(&t[..=b], i, guard) {
            act.guarded = true;
            i += guard.len();
        }
        match at(i).and_then(Tok::ident) {
            Some(id) if !matches!(at(i).map(|x| &x.token), Some(Token::LParen)) => {
                act.target = Some(id);
                act.last = i;
            }
            _ => act.last = (i - 1).max(a),
        }
    };
    if is(a, "ADD") {
        if is(a + 1, "VALUE") {
            act.kind = ActionKind::AddValue;
            target(&mut act, a + 2, true);
            act.target = None;
            // Through the value, a string.
            if at(act.last + 1).is_some_and(|x| matches!(x.token, Token::SingleQuotedString(_))) {
                act.last += 1;
            }
        } else if is(a + 1, "CONSTRAINT") {
            act.kind = ActionKind::AddConstraint;
            target(&mut act, a + 2, true);
        } else if at(a + 1).is_some_and(|x| {
            x.is_any(&[
                "PRIMARY", "UNIQUE", "FOREIGN", "CHECK", "EXCLUDE", "INDEX", "KEY", "FULLTEXT",
                "SPATIAL",
            ])
        }) {
            act.kind = ActionKind::AddConstraint;
            let mut i = a + 1;
            // Through the constraint's keywords and name, if it has one.
            while at(i + 1).is_some_and(|x| x.is_any(&["KEY", "INDEX"])) {
                i += 1;
            }
            act.guard_after = i;
            if seq(&t[..=b], i + 1, &["IF", "NOT", "EXISTS"]) {
                act.guarded = true;
                i += 3;
            }
            if let Some(id) = at(i + 1).and_then(Tok::ident) {
                act.target = Some(id);
                i += 1;
            }
            act.last = i;
        } else if is(a + 1, "PARTITION") {
            act.kind = ActionKind::Other;
        } else if is(a + 1, "COLUMN") {
            act.kind = ActionKind::AddColumn;
            target(&mut act, a + 2, true);
        } else if at(a + 1).is_some_and(|x| x.ident().is_some() || matches!(x.token, Token::LParen))
        {
            act.kind = ActionKind::AddColumn;
            target(&mut act, a + 1, true);
        }
    } else if is(a, "DROP") {
        if is(a + 1, "CONSTRAINT") || is(a + 1, "CHECK") || is(a + 1, "INDEX") || is(a + 1, "KEY") {
            act.kind = ActionKind::DropConstraint;
            target(&mut act, a + 2, false);
        } else if is(a + 1, "FOREIGN") && is(a + 2, "KEY") {
            act.kind = ActionKind::DropConstraint;
            target(&mut act, a + 3, false);
        } else if is(a + 1, "PRIMARY") && is(a + 2, "KEY") {
            act.kind = ActionKind::DropConstraint;
            act.last = a + 2;
        } else if is(a + 1, "COLUMN") {
            act.kind = ActionKind::DropColumn;
            target(&mut act, a + 2, false);
        } else if at(a + 1).is_some_and(|x| {
            x.ident().is_some()
                && !x.is_any(&[
                    "PARTITION",
                    "DEFAULT",
                    "NOT",
                    "IDENTITY",
                    "EXPRESSION",
                    "ROW",
                    "PERIOD",
                    "PROJECTION",
                    "STATISTICS",
                    "TRIGGER",
                    "RULE",
                    "OWNED",
                ])
        }) {
            act.kind = ActionKind::DropColumn;
            target(&mut act, a + 1, false);
        }
    } else if is(a, "RENAME") {
        if is(a + 1, "TO") || is(a + 1, "AS") {
            act.kind = ActionKind::RenameObject;
            act.last = (a + 2).min(b);
        } else {
            act.kind = ActionKind::RenamePart;
            // Through `TO new`.
            let to = (a + 1..=b).find(|&i| is(i, "TO"));
            act.last = to.map_or(b, |i| (i + 1).min(b));
            let name_at_i = if at(a + 1).is_some_and(|x| {
                x.is_any(&["COLUMN", "CONSTRAINT", "INDEX", "KEY", "VALUE", "ATTRIBUTE"])
            }) {
                a + 2
            } else {
                a + 1
            };
            act.target = at(name_at_i).and_then(Tok::ident);
        }
    } else if is(a, "SET") && is(a + 1, "SCHEMA") {
        act.kind = ActionKind::SetSchema;
        act.last = (a + 2).min(b);
    } else if is(a, "DETACH") && is(a + 1, "PARTITION") {
        if let Some(c) = (a..=b).find(|&i| is(i, "CONCURRENTLY")) {
            act.kind = ActionKind::DetachConcurrently;
            act.concurrently = Some(c);
            act.last = c;
        }
    }
    act
}

fn insert(t: &[Tok]) -> Option<Insert> {
    // `WITH ... INSERT`: the INSERT at parenthesis depth 0.
    let first = if t.first()?.is("WITH") {
        let mut depth = 0usize;
        let mut found = None;
        for (k, x) in t.iter().enumerate() {
            match x.token {
                Token::LParen => depth += 1,
                Token::RParen => depth = depth.saturating_sub(1),
                _ => {}
            }
            if depth == 0 && x.is_any(&["INSERT", "SELECT", "UPDATE", "DELETE"]) {
                found = x.is("INSERT").then_some(k);
                break;
            }
        }
        found?
    } else {
        0
    };
    let mut i = first + 1;
    let mut guarded = false;
    while let Some(x) = t.get(i) {
        if x.is_any(&["LOW_PRIORITY", "DELAYED", "HIGH_PRIORITY"]) {
            i += 1;
        } else if x.is("IGNORE") {
            guarded = true;
            i += 1;
        } else if x.is("OR") {
            guarded |= t
                .get(i + 1)
                .is_some_and(|y| y.is_any(&["IGNORE", "REPLACE"]));
            i += 2;
        } else {
            break;
        }
    }
    if t.get(i).is_some_and(|x| x.is("INTO")) {
        i += 1;
    }
    let target = name_at(t, i);
    let head_last = target.as_ref().map_or(i.saturating_sub(1), |n| n.last);
    let rest = &t[(head_last + 1).min(t.len())..];
    let has = |w: &[&str]| (0..rest.len()).any(|k| seq(rest, k, w));
    guarded |= has(&["ON", "CONFLICT"])
        || has(&["ON", "DUPLICATE", "KEY"])
        || has(&["NOT", "EXISTS"])
        || (0..rest.len()).any(|k| {
            seq(rest, k, &["NOT", "IN"])
                && matches!(rest.get(k + 2).map(|x| &x.token), Some(Token::LParen))
                && rest.get(k + 3).is_some_and(|x| x.is("SELECT"))
        })
        || rest.iter().any(|x| x.is("EXCEPT"));
    // A source that reads the target table (an anti-join, `NOT IN (SELECT ... FROM t)`
    // written differently) may well be a guard: not certain, so not reported.
    if let Some(obj) = target.as_ref().and_then(Name::object) {
        if rest.iter().any(|x| x.is("SELECT"))
            && rest.iter().any(|x| x.ident().as_ref() == Some(obj))
        {
            guarded = true;
        }
    }
    Some(Insert {
        first,
        target,
        guarded,
        head_last,
    })
}

fn do_block(t: &[Tok]) -> Do {
    let mut body = None;
    let mut plpgsql = true;
    let mut i = 1;
    while let Some(x) = t.get(i) {
        match &x.token {
            Token::DollarQuotedString(_) | Token::SingleQuotedString(_) if body.is_none() => {
                body = Some(i);
            }
            Token::Word(_) if x.is("LANGUAGE") => {
                if let Some(l) = t.get(i + 1) {
                    let lang = match &l.token {
                        Token::Word(w) => w.value.to_lowercase(),
                        Token::SingleQuotedString(s) => s.to_lowercase(),
                        _ => String::new(),
                    };
                    plpgsql = lang == "plpgsql";
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    Do { body, plpgsql }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lex::{dialect, split, tokenize};
    use crate::SqlDialect;

    fn sig(sql: &str) -> Vec<Tok> {
        sig_in(sql, SqlDialect::PostgreSql)
    }

    fn sig_in(sql: &str, d: SqlDialect) -> Vec<Tok> {
        let toks = tokenize(sql, 0, dialect(d)).unwrap();
        let p = split(&toks)[0];
        toks[p.first..=p.last]
            .iter()
            .filter(|t| !t.is_trivia())
            .cloned()
            .collect()
    }

    fn shape_of(sql: &str) -> Shape {
        shape(&sig(sql))
    }

    #[test]
    fn creates() {
        let Shape::Create(c) =
            shape_of("CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON t (a)")
        else {
            panic!()
        };
        assert_eq!(c.object.kind, Kind::Index);
        assert!(c.if_not_exists && c.concurrently.is_some());
        assert_eq!(c.name.unwrap().parts[0].value, "i");
        assert_eq!(c.on.unwrap().parts[0].value, "t");
        let Shape::Create(c) = shape_of(
            "CREATE TRIGGER trg BEFORE UPDATE OF a ON public.t FOR EACH ROW EXECUTE FUNCTION f()",
        ) else {
            panic!()
        };
        assert_eq!(c.on.unwrap().parts[1].value, "t");
        let Shape::Create(c) = shape_of("CREATE INDEX ON t (a)") else {
            panic!()
        };
        assert!(c.name.is_none());
        let Shape::Create(c) = shape_of("create or replace materialized view \"V\" as select 1")
        else {
            panic!()
        };
        assert_eq!(c.object.kind, Kind::MaterializedView);
        assert!(c.or_replace);
        assert_eq!(c.name.unwrap().parts[0].value, "V");
        let Shape::Create(c) = shape_of("CREATE TEMP TABLE x (a int)") else {
            panic!()
        };
        assert!(c.temporary);
        let Shape::Create(c) = shape(&sig_in(
            "CREATE DEFINER=`root`@`localhost` TRIGGER trg BEFORE INSERT ON t",
            SqlDialect::MySql,
        )) else {
            panic!()
        };
        assert_eq!(c.object.kind, Kind::Trigger);
        assert_eq!(c.name.unwrap().parts[0].value, "trg");
    }

    #[test]
    fn drops() {
        let Shape::Drop(d) = shape_of("DROP INDEX CONCURRENTLY IF EXISTS s.i, j CASCADE") else {
            panic!()
        };
        assert!(d.if_exists && d.concurrently.is_some());
        assert_eq!(d.names.len(), 2);
        assert_eq!(d.names[0].parts.len(), 2);
        let Shape::Drop(d) = shape_of("DROP FUNCTION f(int), g()") else {
            panic!()
        };
        assert_eq!(d.object.kind, Kind::Function);
        assert!(!d.if_exists);
        assert_eq!(d.names.len(), 2);
        let Shape::Drop(d) = shape_of("DROP TABLE data") else {
            panic!()
        };
        assert_eq!(d.names[0].parts[0].value, "data");
        assert_eq!(shape_of("DROP WHATEVER x"), Shape::Other);
    }

    #[test]
    fn alter_table_actions() {
        let Shape::Alter(a) = shape_of(
            "ALTER TABLE ONLY t ADD COLUMN IF NOT EXISTS c int DEFAULT f(1, 2), DROP d, \
             ADD CONSTRAINT k CHECK (a > 0), ADD PRIMARY KEY (id), RENAME COLUMN a TO b, \
             ALTER COLUMN x SET DEFAULT 1, DROP CONSTRAINT IF EXISTS k2",
        ) else {
            panic!()
        };
        let kinds: Vec<_> = a.actions.iter().map(|x| (x.kind, x.guarded)).collect();
        assert_eq!(
            kinds,
            vec![
                (ActionKind::AddColumn, true),
                (ActionKind::DropColumn, false),
                (ActionKind::AddConstraint, false),
                (ActionKind::AddConstraint, false),
                (ActionKind::RenamePart, false),
                (ActionKind::Other, false),
                (ActionKind::DropConstraint, true),
            ]
        );
        assert_eq!(a.actions[0].target.as_ref().unwrap().value, "c");
        assert_eq!(a.actions[2].target.as_ref().unwrap().value, "k");
        let Shape::Alter(a) = shape_of("ALTER INDEX IF EXISTS a RENAME TO b") else {
            panic!()
        };
        assert!(a.if_exists);
        assert_eq!(a.actions[0].kind, ActionKind::RenameObject);
    }

    #[test]
    fn inserts() {
        let g = |s: &str| match shape_of(s) {
            Shape::Insert(i) => i.guarded,
            other => panic!("{other:?}"),
        };
        assert!(!g("INSERT INTO t (a) VALUES (1)"));
        assert!(g("INSERT INTO t (a) VALUES (1) ON CONFLICT DO NOTHING"));
        assert!(g(
            "INSERT INTO t (a) SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM t)"
        ));
        assert!(g(
            "INSERT INTO t (a) SELECT x FROM s LEFT JOIN t ON t.a = s.x WHERE t.a IS NULL"
        ));
        assert!(!g("INSERT INTO t (a) SELECT x FROM s"));
        assert!(g("INSERT IGNORE INTO t VALUES (1)"));
        assert!(g(
            "WITH x AS (SELECT 1) INSERT INTO t SELECT * FROM x ON CONFLICT DO NOTHING"
        ));
        assert_eq!(
            shape_of("WITH x AS (SELECT 1) SELECT * FROM x"),
            Shape::Other
        );
    }

    #[test]
    fn do_blocks() {
        let Shape::Do(d) = shape_of("DO LANGUAGE plpython3u $$ pass $$") else {
            panic!()
        };
        assert!(!d.plpgsql);
        let Shape::Do(d) = shape_of("DO $x$ BEGIN END $x$") else {
            panic!()
        };
        assert!(d.plpgsql && d.body == Some(1));
    }
}
