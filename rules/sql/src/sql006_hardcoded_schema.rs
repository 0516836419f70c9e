use crate::common;
use crate::lex::{Ident, Tok};
use crate::shape::{name_at, Kind, Shape};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Label, Rule, RuleMeta};
use djcheck_project::SqlDialect;
use djcheck_sql::statements::{Statement, Unit};
use sqlparser::tokenizer::Token;

declare_rule! {
    /// ## What it finds
    /// A schema-qualified name in a `RunSQL` (`test_schema.accounts_user`) whose schema is
    /// not the connection's business to choose, and a `SET search_path` that names such a
    /// schema.
    ///
    /// Allowed without configuration: `public`, `pg_catalog`, `information_schema` and
    /// `pg_temp` (MySQL: `information_schema`, `mysql`, `performance_schema`, `sys`;
    /// SQLite: `main`, `temp`); more with `allowed-schemas`. Names are read where they name
    /// objects: after `TABLE`, `INTO`, `FROM`, `JOIN`, `REFERENCES`, `ON` of `CREATE
    /// INDEX`/`TRIGGER`, in function calls (`extensions.uuid_generate_v4()`) and casts;
    /// `table.column` is not a schema. `set_config('search_path', ...)` and the `SET
    /// search_path` of `CREATE FUNCTION` and `ALTER ROLE` count too.
    ///
    /// ## Why it matters
    /// Django runs migrations in whatever schema the connection's `search_path` selects,
    /// and finds tables there later. SQL that names a schema creates or changes objects
    /// somewhere else: the tables exist, but in `test_schema` rather than `public`, and the
    /// application fails with "relation does not exist"; on another database the schema
    /// does not exist and the migration fails. A `SET search_path` changes the schema for
    /// every later statement of the connection, the rest of the migration run included.
    ///
    /// ## Example
    /// ```python
    /// migrations.RunSQL(
    ///     "CREATE TABLE IF NOT EXISTS test_schema.accounts_accountdeletionrequest (id bigint)",
    ///     reverse_sql="DROP TABLE IF EXISTS test_schema.accounts_accountdeletionrequest",
    /// )
    /// ```
    ///
    /// ## How to fix
    /// Leave the schema out, so the connection's `search_path` decides (set it in
    /// `DATABASES[...]["OPTIONS"]` when the project really uses another schema). When a
    /// schema is part of the design (an extension's schema, a reporting schema), list it in
    /// `allowed-schemas` in the djcheck configuration.
    pub struct HardcodedSchema { code: "SQL006", name: "hardcoded-schema", severity: Warning, opt_in: true }
}

impl Rule for HardcodedSchema {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let allowed = Allowed::new(cx.options.sql_dialect, &cx.options.allowed_schemas);
        common::for_each_statement(cx, |u, st, _| {
            check(cx, &allowed, u, st, out);
        });
    }
}

/// The schemas SQL may name.
struct Allowed {
    names: Vec<String>,
}

impl Allowed {
    fn new(d: SqlDialect, extra: &[String]) -> Allowed {
        let builtin: &[&str] = match d {
            SqlDialect::PostgreSql => &["public", "pg_catalog", "information_schema", "pg_temp"],
            SqlDialect::MySql => &["information_schema", "mysql", "performance_schema", "sys"],
            SqlDialect::Sqlite => &["main", "temp"],
        };
        let mut names: Vec<String> = builtin.iter().map(|s| (*s).to_owned()).collect();
        names.extend(extra.iter().cloned());
        Allowed { names }
    }

    /// Unquoted names compare case-insensitively (the database folds them); quoted ones
    /// exactly.
    fn allows(&self, id: &Ident) -> bool {
        self.names.iter().any(|n| {
            if id.quoted {
                *n == id.value
            } else {
                n.eq_ignore_ascii_case(&id.value)
            }
        })
    }
}

/// A schema found in a statement: its name and the token (or tokens) to underline.
struct Found {
    schema: Ident,
    first: usize,
    last: usize,
    search_path: bool,
}

fn check(
    cx: &FileContext<'_>,
    allowed: &Allowed,
    u: &Unit,
    st: &Statement,
    out: &mut Vec<Diagnostic>,
) {
    let mut found = qualified(st);
    found.extend(search_path(st));
    // One finding per schema and statement; further mentions become labels.
    let mut reported: Vec<(Ident, usize)> = Vec::new();
    for f in found {
        if allowed.allows(&f.schema) {
            continue;
        }
        let Some(span) = common::span(cx, u, st, f.first, f.last) else {
            continue;
        };
        if let Some((_, at)) = reported.iter().find(|(s, _)| *s == f.schema) {
            if let Some(d) = out.get_mut(*at) {
                d.labels.push(Label {
                    span,
                    message: format!("`{}` again", f.schema.value),
                });
            }
            continue;
        }
        let schema = &f.schema.value;
        let d = if f.search_path {
            // `SET search_path` on its own changes the connection; inside `CREATE
            // FUNCTION ... SET search_path` or `ALTER ROLE ... SET` it pins the schema
            // of that object only.
            let connection = st.toks.first().is_some_and(|t| t.is("SET"))
                || st.toks.first().is_some_and(|t| t.is("SELECT"));
            let d =
                HardcodedSchema::META.diagnostic(format!("`search_path` set to schema `{schema}`"));
            let d = if connection {
                d.at(span, "every later statement of the connection creates and finds objects here")
                    .note("Django's connection keeps this `search_path` for the rest of the migration run")
            } else {
                d.at(span, "objects are looked up in this schema")
            };
            d.help(format!("leave the schema to the connection's configuration (`DATABASES[...][\"OPTIONS\"]`), or allow it with `allowed-schemas = [\"{schema}\"]`"))
        } else {
            let object = st
                .toks
                .get(f.last + 2)
                .map(|_| u.head_text(st, f.last + 2, f.last + 2, None))
                .filter(|_| {
                    st.toks
                        .get(f.last + 1)
                        .is_some_and(|t| matches!(t.token, Token::Period))
                });
            let help = match object {
                Some(o) => format!("leave the schema out (`{o}`) so that the connection's `search_path` decides, or allow it with `allowed-schemas = [\"{schema}\"]`"),
                None => format!("leave the schema out so that the connection's `search_path` decides, or allow it with `allowed-schemas = [\"{schema}\"]`"),
            };
            HardcodedSchema::META
                .diagnostic(format!("hardcoded schema `{schema}`"))
                .at(span, "names a schema other than the connection's")
                .note("on databases where this schema is missing the migration fails; where it exists, the objects land outside the schema the application uses")
                .help(help)
        };
        reported.push((f.schema.clone(), out.len()));
        out.push(d);
    }
}

/// Words after which a name is an object's name.
const OBJECT_WORDS: &[&str] = &[
    "TABLE",
    "INTO",
    "JOIN",
    "UPDATE",
    "REFERENCES",
    "INDEX",
    "SEQUENCE",
    "VIEW",
    "FUNCTION",
    "PROCEDURE",
    "TRIGGER",
    "TYPE",
    "DOMAIN",
    "TRUNCATE",
];

/// Words that may stand between an object word and the name.
const SKIP_WORDS: &[&str] = &["IF", "NOT", "EXISTS", "ONLY", "CONCURRENTLY", "LATERAL"];

fn qualified(st: &Statement) -> Vec<Found> {
    let t = &st.toks;
    let on_names = matches!(
        &st.shape,
        Shape::Create(c) if matches!(c.object.kind, Kind::Index | Kind::Trigger | Kind::Other)
    ) || t
        .first()
        .is_some_and(|x| x.is_any(&["GRANT", "REVOKE", "COMMENT", "SECURITY"]));
    let mut out = Vec::new();
    let mut seen_name_at: Vec<usize> = Vec::new();
    // Whether a `SELECT` (or `DELETE`, `UPDATE`) has been seen at each parenthesis depth:
    // `FROM` names a relation only then (not in `EXTRACT(YEAR FROM x.y)`).
    let mut select_at_depth: Vec<bool> = vec![false];
    let mut in_from_list = false;
    let mut i = 0;
    while i < t.len() {
        let x = &t[i];
        match x.token {
            Token::LParen => {
                select_at_depth.push(false);
                in_from_list = false;
            }
            Token::RParen => {
                select_at_depth.pop();
                if select_at_depth.is_empty() {
                    select_at_depth.push(false);
                }
                in_from_list = false;
            }
            _ => {}
        }
        if x.is_any(&["SELECT", "DELETE", "UPDATE"]) {
            if let Some(s) = select_at_depth.last_mut() {
                *s = true;
            }
        }
        if x.is_any(&[
            "WHERE",
            "GROUP",
            "ORDER",
            "HAVING",
            "LIMIT",
            "UNION",
            "EXCEPT",
            "INTERSECT",
            "ON",
            "SET",
            "RETURNING",
            "WINDOW",
            "VALUES",
        ]) {
            in_from_list = false;
        }
        let after_from = x.is("FROM")
            && select_at_depth.last() == Some(&true)
            && !(i > 0 && t[i - 1].is("DISTINCT"));
        let object_position = x.is_any(OBJECT_WORDS)
            || (x.is("USING") && t.first().is_some_and(|f| f.is("DELETE")))
            || after_from
            || (on_names && x.is("ON"))
            || matches!(x.token, Token::DoubleColon)
            || (in_from_list && matches!(x.token, Token::Comma));
        if after_from {
            in_from_list = true;
        }
        if object_position {
            let mut k = i + 1;
            while t.get(k).is_some_and(|y| y.is_any(SKIP_WORDS)) {
                k += 1;
            }
            if let Some(n) = name_at(t, k) {
                if n.parts.len() >= 2 && !seen_name_at.contains(&n.first) {
                    seen_name_at.push(n.first);
                    let schema_index = n.parts.len() - 2;
                    let tok = n.first + 2 * schema_index;
                    out.push(Found {
                        schema: n.parts[schema_index].clone(),
                        first: tok,
                        last: tok,
                        search_path: false,
                    });
                }
            }
        }
        // `schema.function(...)` and three-part `schema.table.column` anywhere.
        if x.ident().is_some()
            && !seen_name_at.contains(&i)
            && !(i > 0 && matches!(t[i - 1].token, Token::Period))
        {
            if let Some(n) = name_at(t, i) {
                let call = n.parts.len() == 2
                    && matches!(t.get(n.last + 1).map(|y| &y.token), Some(Token::LParen));
                let three = n.parts.len() == 3;
                if call || three {
                    seen_name_at.push(n.first);
                    out.push(Found {
                        schema: n.parts[0].clone(),
                        first: i,
                        last: i,
                        search_path: false,
                    });
                }
            }
        }
        i += 1;
    }
    out
}

/// Schemas named by `SET search_path ...` (also in `ALTER ROLE/DATABASE/FUNCTION ...
/// SET search_path`) and `set_config('search_path', '...', ...)`.
fn search_path(st: &Statement) -> Vec<Found> {
    let t = &st.toks;
    let mut out = Vec::new();
    for (i, x) in t.iter().enumerate() {
        if x.is("SEARCH_PATH") && i > 0 && t[i - 1].is_any(&["SET", "SESSION", "LOCAL"]) {
            let mut k = i + 1;
            if t.get(k)
                .is_some_and(|y| y.is("TO") || matches!(y.token, Token::Eq))
            {
                k += 1;
            } else {
                continue;
            }
            // Comma-separated values: an identifier or a string each.
            while let Some(y) = t.get(k) {
                match &y.token {
                    Token::Word(w) if w.quote_style.is_none() && y.is_any(&["DEFAULT", "FROM"]) => {
                        break
                    }
                    Token::Word(_) => {
                        if let Some(id) = y.ident() {
                            out.push(Found {
                                schema: id,
                                first: k,
                                last: k,
                                search_path: true,
                            });
                        }
                    }
                    Token::SingleQuotedString(s) => {
                        out.extend(list(s).into_iter().map(|schema| Found {
                            schema,
                            first: k,
                            last: k,
                            search_path: true,
                        }));
                    }
                    _ => break,
                }
                if matches!(t.get(k + 1).map(|z| &z.token), Some(Token::Comma)) {
                    k += 2;
                } else {
                    break;
                }
            }
        }
        if x.is("SET_CONFIG")
            && matches!(t.get(i + 1).map(|y| &y.token), Some(Token::LParen))
            && matches!(t.get(i + 2).map(|y| &y.token), Some(Token::SingleQuotedString(s)) if s.eq_ignore_ascii_case("search_path"))
        {
            if let Some(Tok {
                token: Token::SingleQuotedString(s),
                ..
            }) = t.get(i + 4)
            {
                out.extend(list(s).into_iter().map(|schema| Found {
                    schema,
                    first: i + 4,
                    last: i + 4,
                    search_path: true,
                }));
            }
        }
    }
    out.retain(|f| f.schema.value != "$user");
    out
}

/// The schemas of a `search_path` string: `'a, "B"'`.
fn list(s: &str) -> Vec<Ident> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(
            |p| match p.strip_prefix('"').and_then(|p| p.strip_suffix('"')) {
                Some(q) => Ident {
                    value: q.to_owned(),
                    quoted: true,
                },
                None => Ident {
                    value: p.to_lowercase(),
                    quoted: false,
                },
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{lint_errors, lint_errors_with, lint_ok, lint_ok_with, Opts};

    const R: HardcodedSchema = HardcodedSchema;

    #[test]
    fn fires_on_qualified_names() {
        assert_eq!(
            lint_errors(
                &R,
                "CREATE TABLE IF NOT EXISTS test_schema.accounts (id int REFERENCES other.users (id));
                 ALTER TABLE test_schema.x SET SCHEMA public;
                 CREATE INDEX IF NOT EXISTS i ON reporting.sales (day);
                 SELECT extensions.uuid_generate_v4();
                 INSERT INTO a SELECT * FROM s1.t1, s2.t2 ON CONFLICT DO NOTHING;
                 SELECT x::custom.mytype FROM t;
                 UPDATE db.sch.t SET a = 1;
                 UPDATE t SET a = s.b FROM staging.s WHERE t.id = s.id"
            ),
            vec!["test_schema", "other", "test_schema", "reporting", "extensions", "s1", "s2", "custom", "sch", "staging"]
        );
    }

    #[test]
    fn one_finding_per_schema_and_statement() {
        let src = crate::testing::migration_with_sql(
            "INSERT INTO test_schema.a SELECT * FROM test_schema.b ON CONFLICT DO NOTHING",
        );
        let d = crate::testing::diagnostics(&R, &src, &Opts::default());
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].labels.len(), 1);
        assert_eq!(d[0].message, "hardcoded schema `test_schema`");
    }

    #[test]
    fn columns_and_allowed_schemas_are_fine() {
        lint_ok(
            &R,
            "SELECT t.id, u.name FROM public.t JOIN u ON t.id = u.t_id WHERE t.x IS DISTINCT FROM u.y;
             SELECT EXTRACT(YEAR FROM t.created), TRIM(BOTH ' ' FROM t.name) FROM t;
             SELECT 1 FROM information_schema.columns WHERE table_schema = 'test_schema';
             SELECT pg_catalog.set_config('search_path', '', false);
             SET search_path TO \"$user\", public;
             UPDATE t SET a = s.b FROM s WHERE t.id = s.id",
        );
        lint_ok_with(
            &R,
            "CREATE TABLE reporting.sales (id int)",
            &Opts {
                allowed_schemas: vec!["reporting".into()],
                ..Opts::default()
            },
        );
    }

    #[test]
    fn search_path() {
        assert_eq!(
            lint_errors(
                &R,
                "SET search_path TO test_schema, public;
                 SET LOCAL search_path = 'tenant_1';
                 SELECT set_config('search_path', 'a, public', false)"
            ),
            vec!["test_schema", "'tenant_1'", "'a, public'"]
        );
    }

    #[test]
    fn function_search_path() {
        lint_ok(
            &R,
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SECURITY DEFINER SET search_path = public AS $$ SELECT 1 $$",
        );
        let src = crate::testing::migration_with_sql(
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql SET search_path = app AS $$ SELECT 1 $$",
        );
        let d = crate::testing::diagnostics(&R, &src, &Opts::default());
        assert_eq!(d[0].primary_label, "objects are looked up in this schema");
    }

    #[test]
    fn inside_do_blocks_and_mysql() {
        assert_eq!(
            lint_errors(
                &R,
                "DO $$ BEGIN IF NOT EXISTS (SELECT 1) THEN ALTER TABLE test_schema.t ADD COLUMN c int; END IF; END $$"
            ),
            vec!["test_schema"]
        );
        let my = Opts {
            dialect: SqlDialect::MySql,
            ..Opts::default()
        };
        assert_eq!(
            lint_errors_with(
                &R,
                "INSERT IGNORE INTO `otherdb`.`t` SELECT * FROM mysql.user",
                &my
            ),
            vec!["`otherdb`"]
        );
    }
}
