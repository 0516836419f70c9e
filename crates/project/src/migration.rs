//! Migration modules decoded into typed facts: the `Migration` class, its dependencies,
//! and its operations, every one with its byte range.

use djcheck_diagnostics::FileId;
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::eval::{self, ModuleBindings};
use djcheck_python::{Ranged, TextRange};
use std::sync::Arc;

use crate::pyvalue::{self, CallValue, ImportMap, PyValue};
use serde::{Deserialize, Serialize};

/// `(app_label, migration_name)`, the key Django records applied migrations by.
pub type Key = (String, String);

/// A string literal of the source and where it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lit {
    pub value: String,
    pub range: TextRange,
}

/// One entry of `dependencies`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dependency {
    /// The key as Django resolves it (a swappable dependency becomes
    /// `(user_app_label, "__first__")`).
    pub key: Key,
    /// `Some("AUTH_USER_MODEL")` for `swappable_dependency(settings.AUTH_USER_MODEL)`.
    pub swappable: Option<String>,
    pub range: TextRange,
}

/// A migration key written in `replaces` or `run_before`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRef {
    pub key: Key,
    pub range: TextRange,
}

/// A model a relation field points to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ModelRef {
    /// `"app.Model"` or `"Model"` (same app: `app` is `None`).
    Named { app: Option<String>, model: String },
    /// `settings.AUTH_USER_MODEL` (or another setting, named).
    Setting(String),
    /// Anything not statically known.
    Unknown,
}

/// A relation field's target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Relation {
    pub target: ModelRef,
    pub range: TextRange,
}

/// A keyword argument's value, as far as the source states it literally.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArgValue {
    Str(String),
    Int(i64),
    Bool(bool),
    None,
    /// A dotted name: `models.CASCADE`, `django.utils.timezone.now`, `settings.X`.
    Name(String),
    /// A call, by its callee's dotted name (`django.db.models.functions.Now()`).
    Call(String),
    /// Anything else, by a fingerprint of its structure (equal for the same code).
    Other(u64),
}

impl ArgValue {
    fn of(e: &Expr) -> ArgValue {
        if let Some(s) = eval::str_value(e) {
            return ArgValue::Str(s);
        }
        if let Some(i) = eval::int_value(e) {
            return ArgValue::Int(i);
        }
        if let Some(b) = eval::bool_value(e) {
            return ArgValue::Bool(b);
        }
        if e.is_none_literal_expr() {
            return ArgValue::None;
        }
        if let Some(d) = eval::dotted_name(e) {
            return ArgValue::Name(d);
        }
        if let Expr::Call(c) = e {
            if c.arguments.args.is_empty() && c.arguments.keywords.is_empty() {
                if let Some(d) = eval::dotted_name(&c.func) {
                    return ArgValue::Call(d);
                }
            }
        }
        ArgValue::Other(eval::fingerprint(e))
    }
}

/// One keyword argument of a call, e.g. `null=True` of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kwarg {
    pub name: String,
    pub value: ArgValue,
    pub range: TextRange,
}

/// A field as declared in `CreateModel(fields=[...])` or `AddField(field=...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Field {
    pub name: Option<Lit>,
    /// The field class's last name, e.g. `ForeignKey`.
    pub class: String,
    /// The field class as written, e.g. `models.ForeignKey` or `myapp.fields.Money`.
    pub class_path: String,
    pub relation: Option<Relation>,
    /// Keyword arguments in source order.
    pub kwargs: Vec<Kwarg>,
    /// Number of positional arguments.
    pub positional: usize,
    /// `*args` or `**kwargs`: the arguments are not all known.
    pub splat: bool,
    pub range: TextRange,
    /// The whole call with its arguments as values (names resolved through the
    /// module's imports), as Django's autodetector compares them.
    pub call: Arc<CallValue>,
}

impl Field {
    /// A keyword argument's value.
    pub fn kw(&self, name: &str) -> Option<&ArgValue> {
        self.kwargs
            .iter()
            .find(|k| k.name == name)
            .map(|k| &k.value)
    }

    /// A field class of Django itself, written the way `makemigrations` writes it
    /// (`models.CharField`, `django.db.models.CharField`, `django.contrib.postgres.fields.
    /// ArrayField`...). A project's or a library's class may change any default in its
    /// `__init__` (a `NullCharField` sets `null=True`), so its defaults are not known.
    pub fn is_django(&self) -> bool {
        let p = self.class_path.as_str();
        p.starts_with("models.")
            || p.starts_with("django.db.models.")
            || p.starts_with("django.contrib.postgres.fields.")
            || p.starts_with("django.contrib.gis.db.models.")
    }

    /// A keyword argument given as `True`/`False`: `Some(value)`; absent: `Some(default)`
    /// when the arguments are all known and the class is Django's own (whose defaults are
    /// Django's); anything else: `None`.
    pub fn flag(&self, name: &str, default: bool) -> Option<bool> {
        match self.kw(name) {
            Some(ArgValue::Bool(b)) => Some(*b),
            Some(_) => None,
            None if self.splat || !self.is_django() => None,
            None => Some(default),
        }
    }

    /// Whether the column allows NULL: `null=True`, or a field class that is always
    /// nullable in Django (`NullBooleanField`). `None` when not literal.
    pub fn nullable(&self) -> Option<bool> {
        if self.class == "NullBooleanField" {
            return Some(true);
        }
        self.flag("null", false)
    }

    /// A many-to-many field: it has no column, only a join table.
    pub fn is_many_to_many(&self) -> bool {
        matches!(
            self.class.as_str(),
            "ManyToManyField" | "ParentalManyToManyField"
        ) || self.class.ends_with("ManyToManyField")
    }

    /// A relation with a database column and (by default) a foreign key constraint.
    pub fn is_foreign_key(&self) -> bool {
        matches!(
            self.class.as_str(),
            "ForeignKey" | "OneToOneField" | "ParentalKey"
        ) || (self.relation.is_some() && !self.is_many_to_many())
    }
}

/// An index or a constraint: `models.Index(...)`, `models.UniqueConstraint(...)`,
/// `models.CheckConstraint(...)`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Part {
    /// The class's last name: `Index`, `UniqueConstraint`, `CheckConstraint`, `GinIndex`...
    pub class: String,
    pub name: Option<String>,
    /// `fields=[...]`, as written (a leading `-` kept).
    pub fields: Vec<String>,
    /// `condition=`/`check=`/`condition` given (a partial index or a check).
    pub condition: bool,
    /// Expressions instead of fields.
    pub expressions: bool,
    pub range: TextRange,
    /// The whole call as a value.
    pub value: PyValue,
}

impl Part {
    /// Whether the part enforces uniqueness.
    pub fn is_unique(&self) -> bool {
        self.class == "UniqueConstraint"
    }

    /// Whether the part is a check constraint.
    pub fn is_check(&self) -> bool {
        self.class == "CheckConstraint"
    }
}

/// The options of `CreateModel(options=...)` or `AlterModelOptions(options=...)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelOptions {
    /// Every key whose value is a literal (`db_table`, `managed`, `ordering`...).
    pub items: Vec<Kwarg>,
    pub indexes: Vec<Part>,
    pub constraints: Vec<Part>,
    /// `unique_together`, normalized to a list of field-name lists.
    pub unique_together: Option<Vec<Vec<String>>>,
    pub index_together: Option<Vec<Vec<String>>>,
    /// False when the options value is not a dict literal.
    pub complete: bool,
    /// Every key with its value (indexes, constraints and `unique_together` too).
    pub values: Vec<(String, PyValue)>,
}

/// The argument of an operation on one model's options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum OptionArg {
    None,
    /// AddIndex(index=...), AddConstraint(constraint=...) and their variants.
    Part(Part),
    /// RemoveIndex(name=...), RemoveConstraint(name=...).
    Name(Lit),
    /// AlterUniqueTogether / AlterIndexTogether: `None` when not literal.
    Together(Option<Vec<Vec<String>>>),
    /// RenameIndex(new_name=..., old_name=...).
    Rename {
        new: Option<Lit>,
        old: Option<Lit>,
    },
    /// AlterModelManagers(managers=...), AlterOrderWithRespectTo(order_with_respect_to=
    /// ...), AlterModelTableComment(table_comment=...): the value.
    Value(PyValue),
}

/// A function reference passed to `RunPython`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CodeRef {
    /// A name of the module (`forwards`).
    Name(String),
    Lambda,
    /// `migrations.RunPython.noop` (or `RunPython.noop`).
    Noop,
    Other,
}

/// A decoded operation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum OpKind {
    CreateModel {
        name: Option<Lit>,
        fields: Vec<Arc<Field>>,
        db_table: Option<Lit>,
        bases: Vec<ModelRef>,
        swappable: Option<String>,
        /// `options={"managed": False}`: Django creates no table for it.
        managed: Option<bool>,
        /// `options={"proxy": True}`: shares its parent's table.
        proxy: Option<bool>,
        /// Every option.
        options: ModelOptions,
        /// `managers=[("objects", Manager())]`: an empty list when absent.
        managers: PyValue,
    },
    DeleteModel {
        name: Option<Lit>,
    },
    RenameModel {
        old: Option<Lit>,
        new: Option<Lit>,
    },
    AlterModelTable {
        name: Option<Lit>,
        table: Option<Lit>,
    },
    AlterModelOptions {
        name: Option<Lit>,
        db_table: Option<Lit>,
        options: ModelOptions,
    },
    AddField {
        model: Option<Lit>,
        field: Option<Arc<Field>>,
    },
    AlterField {
        model: Option<Lit>,
        field: Option<Arc<Field>>,
    },
    RemoveField {
        model: Option<Lit>,
        name: Option<Lit>,
    },
    RenameField {
        model: Option<Lit>,
        old: Option<Lit>,
        new: Option<Lit>,
    },
    /// AddIndex, RemoveIndex, AddConstraint, RemoveConstraint, AlterUniqueTogether,
    /// AlterIndexTogether, AlterOrderWithRespectTo, AlterModelManagers, RenameIndex,
    /// PostgreSQL's AddIndexConcurrently/RemoveIndexConcurrently/AddConstraintNotValid/
    /// ValidateConstraint, and django-pg-migration-tools' `Safer*` index and constraint
    /// operations: operations on one existing model's options.
    ModelOption {
        /// The operation's class name as written (`AddIndexConcurrently`).
        op: String,
        model: Option<Lit>,
        arg: OptionArg,
    },
    RunPython {
        code: Option<(CodeRef, TextRange)>,
        reverse: Option<(CodeRef, TextRange)>,
    },
    RunSql {
        sql: Option<TextRange>,
        reverse_sql: Option<TextRange>,
        state_operations: Vec<Operation>,
    },
    SeparateDatabaseAndState {
        database: Vec<Operation>,
        state: Vec<Operation>,
    },
    /// An operation djcheck does not decode (custom or third-party), kept with its name
    /// and the model it names (`model_name=`), if any.
    Unknown {
        name: Option<String>,
        model: Option<Lit>,
    },
}

/// An operation and its range in the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Operation {
    pub kind: OpKind,
    /// The operation's class name as written (`AddField`, `SaferAddFieldForeignKey`).
    pub call: String,
    pub range: TextRange,
}

/// A migration module as Django's loader would see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Migration {
    pub file: FileId,
    pub app: String,
    pub name: String,
    /// False when the file could not be read or parsed: the migration exists, but its
    /// contents are unknown and rules must not guess them.
    pub readable: bool,
    /// The `Migration` class name, or `None` when the module has none.
    pub class_range: Option<TextRange>,
    /// The class is defined under a module-level `if`/`try` (one per arm): its
    /// dependencies are those of every arm.
    pub class_conditional: bool,
    pub dependencies: Vec<Dependency>,
    /// Range of the `dependencies = [...]` value, for labels.
    pub dependencies_range: Option<TextRange>,
    /// False when some dependency could not be read statically.
    pub dependencies_complete: bool,
    pub replaces: Vec<KeyRef>,
    pub replaces_complete: bool,
    pub run_before: Vec<KeyRef>,
    pub initial: Option<bool>,
    /// `None` means the default (atomic).
    pub atomic: Option<bool>,
    /// The `Migration` class derives (through classes of the same module) from Django's
    /// `Migration`: an attribute it does not set has Django's default.
    pub derives_from_django: bool,
    pub operations: Vec<Operation>,
    pub operations_complete: bool,
    /// Structure of the `operations` value, layout and comments aside: equal for two
    /// files holding the same operations (rename detection).
    pub operations_fingerprint: Option<u64>,
}

impl Migration {
    pub fn key(&self) -> Key {
        (self.app.clone(), self.name.clone())
    }

    /// Whether Django runs the migration in one transaction: `atomic = True`, or nothing
    /// said and the class derives from Django's `Migration`. `None` when a project base
    /// class may decide.
    pub fn is_atomic(&self) -> Option<bool> {
        match self.atomic {
            Some(a) => Some(a),
            None if self.derives_from_django => Some(true),
            None => None,
        }
    }

    /// An opaque migration: it exists on disk but could not be read.
    pub fn opaque(file: FileId, app: &str, name: &str) -> Migration {
        Migration {
            file,
            app: app.to_owned(),
            name: name.to_owned(),
            readable: false,
            class_range: None,
            class_conditional: false,
            dependencies: Vec::new(),
            dependencies_range: None,
            dependencies_complete: false,
            replaces: Vec::new(),
            replaces_complete: false,
            run_before: Vec::new(),
            initial: None,
            atomic: None,
            derives_from_django: false,
            operations: Vec::new(),
            operations_complete: false,
            operations_fingerprint: None,
        }
    }

    /// The migration's number: its leading digits (`0003` of `0003_profile`).
    pub fn number(&self) -> Option<&str> {
        migration_number(&self.name)
    }
}

/// One operation met by [`walk`], with where it sits.
#[derive(Debug, Clone, Copy)]
pub struct Walked<'a> {
    pub op: &'a Operation,
    /// Index of the top-level operation holding it (itself at the top level).
    pub top: usize,
    /// The database runs it: at the top level, or on the database side of a
    /// `SeparateDatabaseAndState` that runs.
    pub database: bool,
    /// It changes Django's state: at the top level, on the state side of a
    /// `SeparateDatabaseAndState` or in a `RunSQL`'s `state_operations`.
    pub state: bool,
    /// Inside a `RunSQL`'s `state_operations`.
    pub in_run_sql: bool,
    /// Nesting depth: 0 at the top level.
    pub depth: usize,
}

impl Walked<'_> {
    /// A `SeparateDatabaseAndState` or a `RunSQL` with `state_operations`: its nested
    /// operations are walked after it.
    pub fn is_container(&self) -> bool {
        matches!(self.op.kind, OpKind::SeparateDatabaseAndState { .. })
            || matches!(&self.op.kind, OpKind::RunSql { state_operations, .. } if !state_operations.is_empty())
    }
}

/// Every operation of `ops`, nested ones included, in the order they are written (a
/// container before what it holds; a `SeparateDatabaseAndState`'s database side before
/// its state side). The one walk over nested operations: callers filter on where an
/// operation sits ([`Walked::database`], [`Walked::state`], [`Walked::in_run_sql`]).
pub fn walk(ops: &[Operation]) -> Vec<Walked<'_>> {
    fn go<'a>(ops: &'a [Operation], top: Option<usize>, cx: Walked<'a>, out: &mut Vec<Walked<'a>>) {
        for (i, op) in ops.iter().enumerate() {
            let here = Walked {
                op,
                top: top.unwrap_or(i),
                ..cx
            };
            out.push(here);
            let inner = |database: bool, state: bool, in_run_sql: bool| Walked {
                op,
                top: here.top,
                database,
                state,
                in_run_sql,
                depth: here.depth + 1,
            };
            match &op.kind {
                OpKind::SeparateDatabaseAndState { database, state } => {
                    go(
                        database,
                        Some(here.top),
                        inner(here.database, false, here.in_run_sql),
                        out,
                    );
                    go(
                        state,
                        Some(here.top),
                        inner(false, here.state, here.in_run_sql),
                        out,
                    );
                }
                OpKind::RunSql {
                    state_operations, ..
                } => go(
                    state_operations,
                    Some(here.top),
                    inner(false, here.state, true),
                    out,
                ),
                _ => {}
            }
        }
    }
    let mut out = Vec::with_capacity(ops.len());
    if let Some(first) = ops.first() {
        let top = Walked {
            op: first,
            top: 0,
            database: true,
            state: true,
            in_run_sql: false,
            depth: 0,
        };
        go(ops, None, top, &mut out);
    }
    out
}

impl Migration {
    /// [`walk`] over the migration's operations.
    pub fn walk(&self) -> Vec<Walked<'_>> {
        walk(&self.operations)
    }
}

/// Leading digits of a migration name, if any.
pub fn migration_number(name: &str) -> Option<&str> {
    let end = name
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(name.len());
    (end > 0).then(|| &name[..end])
}

/// What the extractor needs from the project.
pub struct ExtractContext<'a> {
    /// The app label of `settings.AUTH_USER_MODEL` (Django's default is `auth`).
    pub user_app_label: &'a str,
}

/// Decodes a parsed migration module. Returns a migration with `class_range: None` when
/// the module has no `Migration` class.
///
/// Django only needs the module attribute `Migration`: a class defined under a
/// module-level `if`/`try` (per database vendor, say) counts. Then each arm's class is
/// read, the dependencies of every arm are kept (whichever arm runs, none is missing),
/// and the operations are those of the first arm, marked incomplete when arms differ.
/// [`extract`] of migration `name` of app `app` (user model in `auth`), for tests.
#[cfg(test)]
pub(crate) fn extract_for_test(body: &[Stmt], name: &str) -> Migration {
    extract(
        FileId(0),
        "app",
        name,
        body,
        &ExtractContext {
            user_app_label: "auth",
        },
    )
}

pub fn extract(
    file: FileId,
    app: &str,
    name: &str,
    body: &[Stmt],
    cx: &ExtractContext<'_>,
) -> Migration {
    let top = body.iter().rev().find_map(|s| match s {
        Stmt::ClassDef(c) if c.name.id.as_str() == "Migration" => Some(c),
        _ => None,
    });
    if let Some(class) = top {
        return extract_class(file, app, name, body, class, cx);
    }
    let mut nested = Vec::new();
    conditional_classes(body, 0, &mut nested);
    let Some((first, rest)) = nested.split_first() else {
        let mut m = Migration::opaque(file, app, name);
        m.readable = true;
        m.replaces_complete = true;
        return m;
    };
    let mut m = extract_class(file, app, name, body, first, cx);
    m.class_conditional = true;
    for other in rest {
        let o = extract_class(file, app, name, body, other, cx);
        for d in o.dependencies {
            if !m.dependencies.iter().any(|x| x.key == d.key) {
                m.dependencies.push(d);
            }
        }
        for r in o.run_before {
            if !m.run_before.iter().any(|x| x.key == r.key) {
                m.run_before.push(r);
            }
        }
        for r in o.replaces {
            if !m.replaces.iter().any(|x| x.key == r.key) {
                m.replaces.push(r);
            }
        }
        m.dependencies_complete &= o.dependencies_complete;
        m.replaces_complete &= o.replaces_complete;
        if o.operations_fingerprint != m.operations_fingerprint || o.atomic != m.atomic {
            m.operations_complete = false;
        }
        if o.atomic != m.atomic {
            m.atomic = None;
        }
    }
    m
}

/// `class Migration` statements under module-level `if`/`try`/`with`, in source order.
fn conditional_classes<'a>(body: &'a [Stmt], depth: usize, out: &mut Vec<&'a ast::StmtClassDef>) {
    if depth > 4 {
        return;
    }
    let visit = |b: &'a [Stmt], out: &mut Vec<&'a ast::StmtClassDef>| {
        for s in b {
            match s {
                Stmt::ClassDef(c) if c.name.id.as_str() == "Migration" => out.push(c),
                Stmt::If(_) | Stmt::Try(_) | Stmt::With(_) => {
                    conditional_classes(std::slice::from_ref(s), depth + 1, out)
                }
                _ => {}
            }
        }
    };
    for s in body {
        match s {
            Stmt::If(i) => {
                visit(&i.body, out);
                for c in &i.elif_else_clauses {
                    visit(&c.body, out);
                }
            }
            Stmt::Try(t) => {
                visit(&t.body, out);
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    visit(&h.body, out);
                }
                visit(&t.orelse, out);
                visit(&t.finalbody, out);
            }
            Stmt::With(w) => visit(&w.body, out),
            _ => {}
        }
    }
}

fn extract_class(
    file: FileId,
    app: &str,
    name: &str,
    body: &[Stmt],
    class: &ast::StmtClassDef,
    cx: &ExtractContext<'_>,
) -> Migration {
    let mut m = Migration::opaque(file, app, name);
    m.readable = true;
    m.dependencies_complete = true;
    m.replaces_complete = true;
    m.operations_complete = true;
    let bindings = ModuleBindings::new(body);
    let names = ImportMap::of_module(body);
    m.class_range = Some(class.name.range);
    // A base other than Django's Migration may define dependencies or operations the
    // class body does not show; so may statements after the class (`Migration.dependencies
    // .append(...)`). What is not read here is not known, not empty.
    // The class and, when its base is a class of the same module, that base's body too
    // (attributes of the class itself win). The chain must end on Django's Migration;
    // otherwise attributes not read here are unknown, not empty.
    let is_django = |b: &Expr| {
        matches!(
            eval::dotted_name(b).as_deref(),
            Some("migrations.Migration" | "Migration" | "django.db.migrations.Migration")
        )
    };
    let mut bodies: Vec<&[Stmt]> = vec![&class.body];
    let mut current = class;
    let mut django_base = false;
    for _ in 0..4 {
        let bases: Vec<&Expr> = current
            .arguments
            .as_ref()
            .map_or(Vec::new(), |a| a.args.iter().collect());
        let keywords = current
            .arguments
            .as_ref()
            .is_some_and(|a| !a.keywords.is_empty());
        if keywords {
            break;
        }
        if bases.is_empty() || bases.iter().all(|b| is_django(b)) {
            django_base = true;
            break;
        }
        let [Expr::Name(n)] = bases.as_slice() else {
            break;
        };
        let Some(parent) = body.iter().find_map(|s| match s {
            Stmt::ClassDef(c)
                if c.name.id.as_str() == n.id.as_str() && c.name.id.as_str() != "Migration" =>
            {
                Some(c)
            }
            _ => None,
        }) else {
            break;
        };
        bodies.push(&parent.body);
        current = parent;
    }
    m.derives_from_django = django_base;
    let mut declared: Vec<&str> = Vec::new();
    let mut seen_attrs: Vec<&str> = Vec::new();
    for stmt in bodies.iter().flat_map(|b| b.iter()) {
        let (target, value) = match stmt {
            Stmt::Assign(a) if a.targets.len() == 1 => (&a.targets[0], a.value.as_ref()),
            Stmt::AnnAssign(a) => match &a.value {
                Some(v) => (a.target.as_ref(), v.as_ref()),
                None => continue,
            },
            _ => continue,
        };
        let Expr::Name(n) = target else { continue };
        // The most derived class's attribute wins: skip those already read.
        if seen_attrs.contains(&n.id.as_str()) {
            continue;
        }
        seen_attrs.push(n.id.as_str());
        declared.push(n.id.as_str());
        let value = bindings.resolve(value);
        match n.id.as_str() {
            "dependencies" => {
                m.dependencies_range = Some(value.range());
                m.dependencies_complete =
                    read_dependencies(value, &bindings, cx, &mut m.dependencies);
            }
            "replaces" => m.replaces_complete = read_keys(value, &bindings, &mut m.replaces),
            "run_before" => {
                read_keys(value, &bindings, &mut m.run_before);
            }
            "initial" => m.initial = eval::bool_value(value),
            "atomic" => m.atomic = eval::bool_value(value),
            "operations" => {
                m.operations_fingerprint = Some(eval::fingerprint(value));
                m.operations_complete = read_operations(value, &bindings, &names, &mut m.operations)
            }
            _ => {}
        }
    }
    let mut mutated = mutated_class_attributes(body);
    // In the class body: `operations += [...]`, or attributes set under a condition.
    for stmt in bodies.iter().flat_map(|b| b.iter()) {
        conditional_class_attributes(stmt, 0, &mut mutated);
    }
    // A Migration with its own `__init__` may set any attribute at run time.
    let has_init = bodies
        .iter()
        .flat_map(|b| b.iter())
        .any(|st| matches!(st, Stmt::FunctionDef(f) if f.name.id.as_str() == "__init__"));
    if has_init {
        m.dependencies_complete = false;
        m.replaces_complete = false;
        m.operations_complete = false;
    }
    for attr in ["dependencies", "replaces", "run_before", "operations"] {
        let unknown = mutated.contains(&attr) || (!django_base && !declared.contains(&attr));
        if unknown {
            match attr {
                "dependencies" | "run_before" => m.dependencies_complete = false,
                "replaces" => m.replaces_complete = false,
                _ => m.operations_complete = false,
            }
        }
    }
    m
}

/// Class attributes a statement of the class body changes in a way not read here: an
/// augmented assignment, or any binding under `if`/`for`/`try`/`with`.
fn conditional_class_attributes(stmt: &Stmt, depth: usize, out: &mut Vec<&'static str>) {
    const ATTRS: [&str; 4] = ["dependencies", "replaces", "run_before", "operations"];
    let mut note = |t: &Expr| {
        if let Expr::Name(n) = t {
            if let Some(a) = ATTRS.iter().copied().find(|x| *x == n.id.as_str()) {
                out.push(a);
            }
        }
    };
    match stmt {
        Stmt::AugAssign(a) => note(&a.target),
        Stmt::Assign(a) if depth > 0 => a.targets.iter().for_each(&mut note),
        Stmt::AnnAssign(a) if depth > 0 => note(&a.target),
        Stmt::If(i) => {
            for s in &i.body {
                conditional_class_attributes(s, depth + 1, out);
            }
            for c in &i.elif_else_clauses {
                for s in &c.body {
                    conditional_class_attributes(s, depth + 1, out);
                }
            }
        }
        Stmt::For(f) => {
            for s in f.body.iter().chain(&f.orelse) {
                conditional_class_attributes(s, depth + 1, out);
            }
        }
        Stmt::While(w) => {
            for s in &w.body {
                conditional_class_attributes(s, depth + 1, out);
            }
        }
        Stmt::With(w) => {
            for s in &w.body {
                conditional_class_attributes(s, depth + 1, out);
            }
        }
        Stmt::Try(t) => {
            for s in t.body.iter().chain(&t.orelse).chain(&t.finalbody) {
                conditional_class_attributes(s, depth + 1, out);
            }
            for h in &t.handlers {
                let ast::ExceptHandler::ExceptHandler(h) = h;
                for s in &h.body {
                    conditional_class_attributes(s, depth + 1, out);
                }
            }
        }
        _ => {}
    }
}

/// Attributes of `Migration` changed by module-level statements after the class:
/// `Migration.dependencies.append(...)`, `Migration.operations += [...]`.
fn mutated_class_attributes(body: &[Stmt]) -> Vec<&'static str> {
    const ATTRS: [&str; 4] = ["dependencies", "replaces", "run_before", "operations"];
    let attr_of = |e: &Expr| -> Option<&'static str> {
        let Expr::Attribute(a) = e else { return None };
        let Expr::Name(n) = a.value.as_ref() else {
            return None;
        };
        if n.id.as_str() != "Migration" {
            return None;
        }
        ATTRS.iter().copied().find(|x| *x == a.attr.id.as_str())
    };
    let mut out = Vec::new();
    for stmt in body {
        let found = match stmt {
            Stmt::Assign(a) => a.targets.iter().find_map(&attr_of),
            Stmt::AugAssign(a) => attr_of(&a.target),
            Stmt::Expr(e) => match e.value.as_ref() {
                Expr::Call(c) => match c.func.as_ref() {
                    Expr::Attribute(f) => attr_of(&f.value),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        out.extend(found);
    }
    out
}

/// Elements of a list/tuple, following `+` concatenation and module-level names.
fn elements<'a>(value: &'a Expr, b: &ModuleBindings<'a>, out: &mut Vec<&'a Expr>) -> bool {
    let value = b.resolve(value);
    match value {
        Expr::List(_) | Expr::Tuple(_) => {
            let mut ok = true;
            for e in eval::sequence_elements(value).unwrap_or(&[]) {
                if let Expr::Starred(s) = e {
                    ok &= elements(&s.value, b, out);
                } else {
                    out.push(e);
                }
            }
            ok
        }
        Expr::BinOp(op) if matches!(op.op, ast::Operator::Add) => {
            let l = elements(&op.left, b, out);
            let r = elements(&op.right, b, out);
            l && r
        }
        _ => false,
    }
}

fn key_of(e: &Expr, b: &ModuleBindings<'_>) -> Option<Key> {
    let e = b.resolve(e);
    let elts = eval::sequence_elements(e)?;
    if elts.len() != 2 {
        return None;
    }
    let app = eval::str_value(b.resolve(&elts[0]))?;
    let name = eval::str_value(b.resolve(&elts[1]))?;
    Some((app, name))
}

fn read_keys(value: &Expr, b: &ModuleBindings<'_>, out: &mut Vec<KeyRef>) -> bool {
    let mut elts = Vec::new();
    let mut ok = elements(value, b, &mut elts);
    for e in elts {
        match key_of(e, b) {
            Some(key) => out.push(KeyRef {
                key,
                range: e.range(),
            }),
            None => ok = false,
        }
    }
    ok
}

fn read_dependencies(
    value: &Expr,
    b: &ModuleBindings<'_>,
    cx: &ExtractContext<'_>,
    out: &mut Vec<Dependency>,
) -> bool {
    let mut elts = Vec::new();
    let mut ok = elements(value, b, &mut elts);
    // Exactly as many as written: facts of every migration stay alive for the whole run.
    out.reserve_exact(elts.len());
    for e in elts {
        if let Some(key) = key_of(e, b) {
            out.push(Dependency {
                key,
                swappable: None,
                range: e.range(),
            });
            continue;
        }
        // `migrations.swappable_dependency(settings.AUTH_USER_MODEL)`
        if let Expr::Call(call) = e {
            if eval::callee_last(call) == Some("swappable_dependency") {
                let setting = call
                    .arguments
                    .args
                    .first()
                    .and_then(eval::dotted_name)
                    .and_then(|d| d.strip_prefix("settings.").map(str::to_owned));
                if setting.as_deref() == Some("AUTH_USER_MODEL") {
                    out.push(Dependency {
                        key: (cx.user_app_label.to_owned(), "__first__".to_owned()),
                        swappable: setting,
                        range: e.range(),
                    });
                    continue;
                }
            }
        }
        ok = false;
    }
    ok
}

fn read_operations(
    value: &Expr,
    b: &ModuleBindings<'_>,
    n: &ImportMap,
    out: &mut Vec<Operation>,
) -> bool {
    let mut elts = Vec::new();
    let ok = elements(value, b, &mut elts);
    // An operation is a few hundred bytes: a list grown by doubling would mostly be spare
    // capacity, kept as long as the facts.
    out.reserve_exact(elts.len());
    for e in elts {
        out.push(operation(b.resolve(e), b, n));
    }
    ok
}

fn lit(e: Option<&Expr>) -> Option<Lit> {
    let e = e?;
    Some(Lit {
        value: eval::str_value(e)?,
        range: e.range(),
    })
}

fn operation(e: &Expr, b: &ModuleBindings<'_>, n: &ImportMap) -> Operation {
    let range = e.range();
    let unknown = || Operation {
        kind: OpKind::Unknown {
            name: None,
            model: None,
        },
        call: String::new(),
        range,
    };
    let Expr::Call(call) = e else {
        return unknown();
    };
    let Some(op) = eval::callee_last(call) else {
        return unknown();
    };
    let arg = |pos: usize, name: &str| eval::argument(call, pos, name).map(|e| b.resolve(e));
    let kind = match op {
        "CreateModel" => {
            let mut fields = Vec::new();
            if let Some(fs) = arg(1, "fields") {
                let mut elts = Vec::new();
                elements(fs, b, &mut elts);
                for f in elts {
                    // `("name", models.ForeignKey(...))`
                    if let Some([fname, fexpr]) = eval::sequence_elements(f) {
                        if let Some(mut field) = field_of(fexpr, b, n) {
                            field.name = lit(Some(fname));
                            fields.push(Arc::new(field));
                        }
                    }
                }
            }
            let options = arg(2, "options");
            let model_options = options.map_or_else(
                || ModelOptions {
                    complete: true,
                    ..ModelOptions::default()
                },
                |o| model_options(o, b, n),
            );
            let db_table = options.and_then(|o| dict_get(o, "db_table"));
            let swappable = options
                .and_then(|o| dict_get(o, "swappable"))
                .map(|l| l.value);
            let managed = options.and_then(|o| dict_get_bool(o, "managed"));
            let proxy = options.and_then(|o| dict_get_bool(o, "proxy"));
            let mut bases = Vec::new();
            if let Some(bs) = arg(3, "bases") {
                for be in eval::sequence_elements(bs).unwrap_or(&[]) {
                    bases.push(model_ref(be));
                }
            }
            OpKind::CreateModel {
                name: lit(arg(0, "name")),
                fields,
                db_table,
                bases,
                swappable,
                managed,
                proxy,
                options: model_options,
                managers: arg(4, "managers").map_or(PyValue::List(Vec::new()), |m| {
                    pyvalue::from_migration_expr(m, n, b)
                }),
            }
        }
        "DeleteModel" => OpKind::DeleteModel {
            name: lit(arg(0, "name")),
        },
        "RenameModel" => OpKind::RenameModel {
            old: lit(arg(0, "old_name")),
            new: lit(arg(1, "new_name")),
        },
        "AlterModelTable" => OpKind::AlterModelTable {
            name: lit(arg(0, "name")),
            table: lit(arg(1, "table")),
        },
        "AlterModelOptions" => OpKind::AlterModelOptions {
            name: lit(arg(0, "name")),
            db_table: arg(1, "options").and_then(|o| dict_get(o, "db_table")),
            options: arg(1, "options")
                .map_or_else(ModelOptions::default, |o| model_options(o, b, n)),
        },
        // django-pg-migration-tools' safer variants do what Django's do to the state.
        "AddField" | "SaferAddFieldForeignKey" | "SaferAddFieldOneToOne" => OpKind::AddField {
            model: lit(arg(0, "model_name")),
            field: field_with_name(arg(2, "field"), arg(1, "name"), b, n)
                .map(|f| Arc::new(preserving_default(f, arg(3, "preserve_default")))),
        },
        "AlterField" | "SaferAlterFieldSetNotNull" => OpKind::AlterField {
            model: lit(arg(0, "model_name")),
            field: field_with_name(arg(2, "field"), arg(1, "name"), b, n)
                .map(|f| Arc::new(preserving_default(f, arg(3, "preserve_default")))),
        },
        "RemoveField" | "SaferRemoveFieldForeignKey" => OpKind::RemoveField {
            model: lit(arg(0, "model_name")),
            name: lit(arg(1, "name")),
        },
        "RenameField" => OpKind::RenameField {
            model: lit(arg(0, "model_name")),
            old: lit(arg(1, "old_name")),
            new: lit(arg(2, "new_name")),
        },
        "AddIndex"
        | "AddIndexConcurrently"
        | "SaferAddIndexConcurrently"
        | "AddConstraint"
        | "AddConstraintNotValid"
        | "SaferAddUniqueConstraint"
        | "SaferAddCheckConstraint" => {
            let key = if op.contains("Index") {
                "index"
            } else {
                "constraint"
            };
            OpKind::ModelOption {
                op: op.to_owned(),
                model: lit(arg(0, "model_name")),
                arg: arg(1, key)
                    .and_then(|e| part_of(e, b, n))
                    .map_or(OptionArg::None, OptionArg::Part),
            }
        }
        "RemoveIndex"
        | "RemoveIndexConcurrently"
        | "SaferRemoveIndexConcurrently"
        | "RemoveConstraint"
        | "SaferRemoveUniqueConstraint"
        | "SaferRemoveCheckConstraint"
        | "ValidateConstraint" => OpKind::ModelOption {
            op: op.to_owned(),
            model: lit(arg(0, "model_name")),
            arg: lit(arg(1, "name")).map_or(OptionArg::None, OptionArg::Name),
        },
        "RenameIndex" => OpKind::ModelOption {
            op: op.to_owned(),
            model: lit(arg(0, "model_name")),
            arg: OptionArg::Rename {
                new: lit(arg(1, "new_name")),
                old: lit(arg(2, "old_name")),
            },
        },
        "AlterUniqueTogether" | "AlterIndexTogether" => {
            let key = if op == "AlterUniqueTogether" {
                "unique_together"
            } else {
                "index_together"
            };
            OpKind::ModelOption {
                op: op.to_owned(),
                model: lit(arg(0, "name")),
                arg: OptionArg::Together(arg(1, key).and_then(|e| together(e, b))),
            }
        }
        "AlterConstraint" => OpKind::ModelOption {
            op: op.to_owned(),
            model: lit(arg(0, "model_name")),
            arg: OptionArg::None,
        },
        "AlterOrderWithRespectTo" | "AlterModelManagers" | "AlterModelTableComment" => {
            let key = match op {
                "AlterOrderWithRespectTo" => "order_with_respect_to",
                "AlterModelManagers" => "managers",
                _ => "table_comment",
            };
            OpKind::ModelOption {
                op: op.to_owned(),
                model: lit(arg(0, "name")),
                arg: arg(1, key).map_or(OptionArg::None, |v| {
                    OptionArg::Value(pyvalue::from_migration_expr(v, n, b))
                }),
            }
        }
        "RunPython" => OpKind::RunPython {
            code: arg(0, "code").map(|e| (code_ref(e), e.range())),
            reverse: arg(1, "reverse_code").map(|e| (code_ref(e), e.range())),
        },
        "RunSQL" => {
            let mut state_operations = Vec::new();
            if let Some(s) = arg(2, "state_operations") {
                read_operations(s, b, n, &mut state_operations);
            }
            OpKind::RunSql {
                sql: arg(0, "sql").map(Ranged::range),
                reverse_sql: arg(1, "reverse_sql").map(Ranged::range),
                state_operations,
            }
        }
        "SeparateDatabaseAndState" => {
            let mut database = Vec::new();
            let mut state = Vec::new();
            if let Some(d) = arg(0, "database_operations") {
                read_operations(d, b, n, &mut database);
            }
            if let Some(s) = arg(1, "state_operations") {
                read_operations(s, b, n, &mut state);
            }
            OpKind::SeparateDatabaseAndState { database, state }
        }
        other => OpKind::Unknown {
            name: Some(other.to_owned()),
            model: lit(eval::keyword(call, "model_name").map(|e| b.resolve(e))),
        },
    };
    Operation {
        kind,
        call: op.to_owned(),
        range,
    }
}

fn code_ref(e: &Expr) -> CodeRef {
    match e {
        Expr::Name(n) => CodeRef::Name(n.id.as_str().to_owned()),
        Expr::Lambda(_) => CodeRef::Lambda,
        Expr::Attribute(a) if a.attr.id.as_str() == "noop" => CodeRef::Noop,
        _ => CodeRef::Other,
    }
}

fn dict_get_bool(d: &Expr, key: &str) -> Option<bool> {
    let Expr::Dict(d) = d else { return None };
    d.items
        .iter()
        .find(|i| i.key.as_ref().and_then(eval::str_value).as_deref() == Some(key))
        .and_then(|i| eval::bool_value(&i.value))
}

fn dict_get(d: &Expr, key: &str) -> Option<Lit> {
    let Expr::Dict(d) = d else { return None };
    d.items
        .iter()
        .find(|i| i.key.as_ref().and_then(eval::str_value).as_deref() == Some(key))
        .and_then(|i| lit(Some(&i.value)))
}

const RELATION_CLASSES: &[&str] = &[
    "ForeignKey",
    "OneToOneField",
    "ManyToManyField",
    "ParentalKey",
    "ParentalManyToManyField",
];

fn field_of(e: &Expr, b: &ModuleBindings<'_>, n: &ImportMap) -> Option<Field> {
    let Expr::Call(call) = e else { return None };
    let class = eval::callee_last(call)?.to_owned();
    let class_path = eval::dotted_name(&call.func).unwrap_or_else(|| class.clone());
    let mut kwargs = Vec::with_capacity(call.arguments.keywords.len());
    kwargs.extend(call.arguments.keywords.iter().filter_map(|k| {
        Some(Kwarg {
            name: k.arg.as_ref()?.id.as_str().to_owned(),
            value: ArgValue::of(&k.value),
            range: k.range(),
        })
    }));
    let to = eval::keyword(call, "to").or_else(|| {
        // Only Django's (and modelcluster's) relation classes take the target first;
        // `makemigrations` writes `to=` anyway. A custom `...ForeignKey` may be an integer.
        RELATION_CLASSES
            .iter()
            .any(|c| class == *c)
            .then(|| call.arguments.args.first())
            .flatten()
    });
    let relation = to.map(|t| Relation {
        target: model_ref(t),
        range: t.range(),
    });
    let value = match pyvalue::from_migration_expr(e, n, b) {
        PyValue::Call(c) => c,
        _ => Arc::new(CallValue {
            path: String::new(),
            args: Vec::new(),
            kwargs: Vec::new(),
            splat: true,
        }),
    };
    Some(Field {
        name: None,
        class,
        class_path,
        relation,
        kwargs,
        positional: call.arguments.args.len(),
        splat: eval::has_splat(call),
        range: e.range(),
        call: value,
    })
}

/// AddField/AlterField's field, named by the operation's `name`.
fn field_with_name(
    field: Option<&Expr>,
    name: Option<&Expr>,
    b: &ModuleBindings<'_>,
    n: &ImportMap,
) -> Option<Field> {
    let mut f = field_of(field?, b, n)?;
    f.name = lit(name);
    Some(f)
}

/// AddField/AlterField with `preserve_default=False`: the default was a one-off value
/// for the rows already there, and Django's state keeps the field without it.
fn preserving_default(mut f: Field, preserve: Option<&Expr>) -> Field {
    let Some(p) = preserve else { return f };
    match eval::bool_value(p) {
        Some(true) => f,
        Some(false) => {
            f.kwargs.retain(|k| k.name != "default");
            let mut call = (*f.call).clone();
            call.kwargs.retain(|(k, _)| k != "default");
            f.call = Arc::new(call);
            f
        }
        None => {
            // Unknown: whether the default stays is not known.
            let mut call = (*f.call).clone();
            call.splat = true;
            f.call = Arc::new(call);
            f
        }
    }
}

/// `models.Index(...)`, `models.UniqueConstraint(...)`, `models.CheckConstraint(...)`.
fn part_of(e: &Expr, b: &ModuleBindings<'_>, n: &ImportMap) -> Option<Part> {
    let e = b.resolve(e);
    let Expr::Call(call) = e else { return None };
    let class = eval::callee_last(call)?.to_owned();
    let mut fields = Vec::new();
    if let Some(fs) = eval::keyword(call, "fields") {
        for f in eval::sequence_elements(b.resolve(fs)).unwrap_or(&[]) {
            if let Some(v) = eval::str_value(f) {
                fields.push(v);
            }
        }
    }
    Some(Part {
        name: eval::keyword(call, "name").and_then(|n| eval::str_value(b.resolve(n))),
        condition: eval::keyword(call, "condition").is_some()
            || eval::keyword(call, "check").is_some()
            || class == "CheckConstraint",
        expressions: !call.arguments.args.is_empty()
            || eval::keyword(call, "expressions").is_some(),
        fields,
        class,
        range: e.range(),
        value: pyvalue::from_migration_expr(e, n, b),
    })
}

/// `unique_together` / `index_together`: `{("a", "b")}`, `(("a", "b"),)`, `("a", "b")`,
/// normalized like Django's `normalize_together`. `None` when not literal.
fn together(e: &Expr, b: &ModuleBindings<'_>) -> Option<Vec<Vec<String>>> {
    let e = b.resolve(e);
    if e.is_none_literal_expr() {
        return Some(Vec::new());
    }
    // `set()`, `set([...])`, as older `makemigrations` wrote them.
    if let Expr::Call(call) = e {
        let callee = eval::dotted_name(&call.func);
        if !matches!(callee.as_deref(), Some("set" | "frozenset"))
            || !call.arguments.keywords.is_empty()
        {
            return None;
        }
        return match call.arguments.args.as_ref() {
            [] => Some(Vec::new()),
            [one] => together(one, b),
            _ => None,
        };
    }
    let elts: &[Expr] = match e {
        Expr::Set(s) => &s.elts,
        _ => eval::sequence_elements(e)?,
    };
    if elts.is_empty() {
        return Some(Vec::new());
    }
    // A flat tuple of names is one group (Django's `normalize_together`); a set of names
    // is not normalized by Django, and its pairs would be the names' characters.
    if elts.iter().all(|x| eval::str_value(x).is_some()) {
        if matches!(e, Expr::Set(_)) {
            return None;
        }
        return Some(vec![elts.iter().filter_map(eval::str_value).collect()]);
    }
    let mut out = Vec::new();
    for g in elts {
        let names = eval::sequence_elements(b.resolve(g))?;
        out.push(
            names
                .iter()
                .map(eval::str_value)
                .collect::<Option<Vec<_>>>()?,
        );
    }
    Some(out)
}

/// Every option of a `CreateModel`/`AlterModelOptions` options dict.
fn model_options(o: &Expr, b: &ModuleBindings<'_>, n: &ImportMap) -> ModelOptions {
    let mut out = ModelOptions::default();
    let Expr::Dict(d) = b.resolve(o) else {
        return out;
    };
    out.complete = true;
    for item in &d.items {
        let Some(key) = item.key.as_ref().and_then(eval::str_value) else {
            out.complete = false;
            continue;
        };
        let value = b.resolve(&item.value);
        out.values
            .push((key.clone(), pyvalue::from_migration_expr(value, n, b)));
        match key.as_str() {
            "indexes" | "constraints" => {
                let mut parts = Vec::new();
                let mut elts = Vec::new();
                out.complete &= elements(value, b, &mut elts);
                for p in elts {
                    match part_of(p, b, n) {
                        Some(p) => parts.push(p),
                        None => out.complete = false,
                    }
                }
                if key == "indexes" {
                    out.indexes = parts;
                } else {
                    out.constraints = parts;
                }
            }
            "unique_together" | "index_together" => {
                let t = together(value, b);
                out.complete &= t.is_some();
                if key == "unique_together" {
                    out.unique_together = t;
                } else {
                    out.index_together = t;
                }
            }
            _ => out.items.push(Kwarg {
                value: ArgValue::of(value),
                name: key,
                range: item.value.range(),
            }),
        }
    }
    out
}

/// A model reference: `"app.Model"`, `"Model"`, `settings.AUTH_USER_MODEL`.
pub fn model_ref(e: &Expr) -> ModelRef {
    if let Some(s) = eval::str_value(e) {
        return match s.split_once('.') {
            Some((app, model)) => ModelRef::Named {
                app: Some(app.to_owned()),
                model: model.to_owned(),
            },
            None => ModelRef::Named {
                app: None,
                model: s,
            },
        };
    }
    if let Some(d) = eval::dotted_name(e) {
        if let Some(setting) = d.strip_prefix("settings.") {
            return ModelRef::Setting(setting.to_owned());
        }
    }
    ModelRef::Unknown
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_python::parse_module;

    const SRC: &str = r#"
from django.conf import settings
from django.db import migrations, models

SQL = "CREATE TABLE x (id int)"

class Migration(migrations.Migration):
    initial = True
    atomic = False
    dependencies = [
        ("blog", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]
    replaces = [("blog", "0002_a"), ("blog", "0003_b")]
    operations = [
        migrations.CreateModel(
            name="Post",
            fields=[
                ("id", models.AutoField(primary_key=True)),
                ("author", models.ForeignKey(on_delete=models.CASCADE, to=settings.AUTH_USER_MODEL)),
                ("tag", models.ForeignKey("tags.Tag", on_delete=models.CASCADE)),
            ],
            options={"db_table": "old_post"},
        ),
        migrations.RunSQL(SQL, migrations.RunSQL.noop),
        migrations.RunPython(forwards, migrations.RunPython.noop),
        custom.Thing(),
    ]
"#;

    #[test]
    fn decodes_a_makemigrations_file() {
        let p = parse_module(SRC);
        let m = extract(
            FileId(0),
            "blog",
            "0004_post",
            p.body(),
            &ExtractContext {
                user_app_label: "users",
            },
        );
        assert!(m.dependencies_complete);
        assert_eq!(
            m.dependencies[0].key,
            ("blog".into(), "0001_initial".into())
        );
        assert_eq!(m.dependencies[1].key, ("users".into(), "__first__".into()));
        assert_eq!(m.replaces.len(), 2);
        assert_eq!(m.atomic, Some(false));
        assert_eq!(m.initial, Some(true));
        assert_eq!(m.operations.len(), 4);
        let OpKind::CreateModel {
            fields, db_table, ..
        } = &m.operations[0].kind
        else {
            panic!()
        };
        assert_eq!(db_table.as_ref().unwrap().value, "old_post");
        assert_eq!(
            fields[1].relation.as_ref().unwrap().target,
            ModelRef::Setting("AUTH_USER_MODEL".into())
        );
        assert_eq!(
            fields[2].relation.as_ref().unwrap().target,
            ModelRef::Named {
                app: Some("tags".into()),
                model: "Tag".into()
            }
        );
        assert!(matches!(m.operations[3].kind, OpKind::Unknown { .. }));
    }

    #[test]
    fn numbers() {
        assert_eq!(migration_number("0162b_x"), Some("0162"));
        assert_eq!(migration_number("initial"), None);
    }
}

#[cfg(test)]
mod inheritance_tests {
    use super::*;
    use djcheck_python::parse_module;

    fn extract_src(src: &str) -> Migration {
        let p = parse_module(src);
        extract(
            FileId(0),
            "blog",
            "0002_b",
            p.body(),
            &ExtractContext {
                user_app_label: "auth",
            },
        )
    }

    #[test]
    fn custom_base_makes_missing_attributes_unknown() {
        let m = extract_src("from x import Base\nclass Migration(Base):\n    operations = []\n");
        assert!(!m.dependencies_complete);
        assert!(m.operations_complete);
        let m = extract_src(
            "class Base(migrations.Migration):\n    dependencies = [('blog', '0001_initial')]\nclass Migration(Base):\n    operations = []\n",
        );
        assert!(m.dependencies_complete);
        assert_eq!(m.dependencies.len(), 1);
    }

    #[test]
    fn module_level_mutation_makes_attribute_unknown() {
        let m = extract_src(
            "class Migration(migrations.Migration):\n    dependencies = []\n    operations = []\nMigration.dependencies.append(('blog', '0001_initial'))\n",
        );
        assert!(!m.dependencies_complete);
        let m = extract_src("class Migration(migrations.Migration):\n    operations = []\n");
        assert!(m.dependencies_complete && m.dependencies.is_empty());
    }
}
