use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};
use djcheck_project::migration::{Migration, OpKind};
use djcheck_python::ast::visitor::{self, Visitor};
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::eval;
use djcheck_python::functions::{root_of, Func, Resolution};
use djcheck_python::{Ranged, TextRange};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// `Model.objects.create(...)` or `Model.objects.bulk_create(...)` in the forward
    /// code of a `RunPython` (its function and every function of the module it calls)
    /// with nothing that makes a second run safe:
    ///
    /// - no read of the same model before it in the function (`.exists()`, `.filter()`,
    ///   `.first()`, `.get()`, `.count()`, `.values_list()`, `.delete()`...), which is how
    ///   existence checks and "clear, then fill" are written;
    /// - not `get_or_create()` / `update_or_create()` (those are never reported);
    /// - not `bulk_create(..., ignore_conflicts=True)` or `update_conflicts=True`;
    /// - not inside an `if` or `while` whose condition reads rows, directly or through
    ///   a name bound to a read (`task = Task.objects.filter(...).first()`, then
    ///   `if not task:`), or through `created` of `obj, created = X.objects.get_or_create()`;
    /// - not inside a loop over a read that also changes existing rows (`.save()`,
    ///   `.update()`, `.delete()`), or that only selects rows lacking something
    ///   (`filter(categories__isnull=True)`): a second run then depends on the loop's
    ///   filter, which djcheck does not evaluate;
    /// - not inside a `try` that catches `IntegrityError`, nor in an `except ...DoesNotExist`
    ///   handler (which runs only when the row is missing);
    /// - the model is not created by the same migration (undoing the migration drops its
    ///   table, rows included);
    /// - the operation has no real `reverse_code` (a reverse function is where the rows
    ///   are deleted when the migration is undone; `RunPython.noop` deletes nothing).
    ///
    /// ## Why it matters
    /// A data migration runs again more often than planned: `migrate app 0004` then
    /// `migrate` with a `RunPython.noop` reverse, a migration faked back and re-applied
    /// while repairing a database, a retry after a failure on a database without
    /// transactional DDL (MySQL). Each run inserts the rows again: duplicated
    /// categories, a second default site, or an `IntegrityError` that stops the deploy.
    ///
    /// ## Example
    /// ```python
    /// def add_default_category(apps, schema_editor):
    ///     Category = apps.get_model("shop", "Category")
    ///     Category.objects.create(slug="general", name="General")
    ///
    /// operations = [migrations.RunPython(add_default_category, migrations.RunPython.noop)]
    /// ```
    ///
    /// ## How to fix
    /// Make the write idempotent:
    /// ```python
    /// Category.objects.get_or_create(slug="general", defaults={"name": "General"})
    /// ```
    /// or check first (`if not Category.objects.filter(slug="general").exists():`), or
    /// give the operation a `reverse_code` that deletes the rows it created.
    pub struct NonIdempotentDataMigration { code: "PY003", name: "non-idempotent-data-migration", severity: Info, opt_in: true }
}

/// Attributes that name a model's manager.
const MANAGERS: &[&str] = &["objects", "_default_manager", "_base_manager"];

/// Methods that read (or clear) existing rows: one of them on the same model before a
/// create is taken as the existence check.
const CHECKS: &[&str] = &[
    "exists",
    "filter",
    "exclude",
    "get",
    "first",
    "last",
    "count",
    "values",
    "values_list",
    "in_bulk",
    "delete",
    "all",
    "aggregate",
    "earliest",
    "latest",
    "contains",
    "get_or_create",
    "update_or_create",
    "iterator",
];

impl Rule for NonIdempotentDataMigration {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(rp) = cx.run_python() else {
            return;
        };
        let created = cx.migration.map(created_models).unwrap_or_default();
        // Forward functions of operations whose undoing deletes nothing.
        let mut roots: Vec<Func<'_>> = Vec::new();
        let mut noop_reverse = false;
        for op in &rp.ops {
            let reverse_deletes = match op.reverse_fn {
                Resolution::Func(_) => true,
                Resolution::Noop => false,
                // An imported reverse function exists, whatever it does; `None` or
                // nothing has none.
                Resolution::Unknown => op.reverse.is_some_and(|e| !e.is_none_literal_expr()),
            };
            if reverse_deletes {
                continue;
            }
            if let Resolution::Func(f) = op.code_fn {
                noop_reverse |= matches!(op.reverse_fn, Resolution::Noop);
                roots.push(f);
            }
        }
        let reached = rp.scope.reachable(&roots);
        let mut seen = BTreeSet::new();
        for (i, r) in reached.iter().enumerate() {
            let mut f = Creates::default();
            r.func.walk(&mut f);
            let mut reported_roots = BTreeSet::new();
            for c in &f.creates {
                let guarded = f
                    .checks
                    .iter()
                    .any(|(root, at)| root == &c.root && *at < c.range.start());
                let model = f.models.iter().find(|(n, _)| n == &c.root).map(|m| &m.1);
                let new_table = model.is_some_and(|m| created.contains(&m.to_ascii_lowercase()));
                if guarded || c.safe || new_table || !reported_roots.insert(c.root.clone()) {
                    continue;
                }
                if !seen.insert(u32::from(c.range.start())) {
                    continue;
                }
                let root = root_of(&reached, i);
                let mut d = Self::META
                    .diagnostic(format!(
                        "data migration creates `{}` rows with no existence check: a second run duplicates them",
                        c.root
                    ))
                    .at(Span::new(cx.file, c.range), format!("`{}()` inserts on every run", c.method))
                    .help(format!(
                        "use `{0}.objects.get_or_create(...)` or `update_or_create(...)` on a unique field, `bulk_create(..., ignore_conflicts=True)` over a unique constraint, or check `.exists()` first; or give the operation a `reverse_code` that deletes these rows",
                        c.root
                    ));
                if noop_reverse {
                    d = d.note("with `reverse_code=RunPython.noop`, migrating back past this migration and forward again creates the rows a second time");
                }
                if root != i {
                    d = d.note(format!(
                        "`{}` runs in the migration: it is called from the `RunPython` function `{}`",
                        r.func.name(),
                        reached[root].func.name()
                    ));
                }
                out.push(d);
            }
        }
    }
}

/// Lower-case names of the models a migration creates (both sides of
/// `SeparateDatabaseAndState`).
fn created_models(m: &Migration) -> BTreeSet<String> {
    m.walk()
        .into_iter()
        .filter(|w| !w.in_run_sql)
        .filter_map(|w| match &w.op.kind {
            OpKind::CreateModel { name: Some(n), .. } => Some(n.value.to_ascii_lowercase()),
            _ => None,
        })
        .collect()
}

struct Create {
    /// `Category.objects.create`.
    range: TextRange,
    root: String,
    method: &'static str,
    /// `ignore_conflicts=True`, or inside `try: ... except IntegrityError`.
    safe: bool,
}

/// The creates and the reads of one function.
#[derive(Default)]
struct Creates {
    creates: Vec<Create>,
    /// `(root name, where)` of every read.
    checks: Vec<(String, djcheck_python::TextSize)>,
    /// `NAME = apps.get_model("app", "Model")`: `(NAME, Model)`.
    models: Vec<(String, String)>,
    /// How many enclosing `try` blocks catch `IntegrityError`.
    integrity_try: usize,
    /// Names bound to the result of a read (`task = Task.objects.filter(...).first()`,
    /// `obj, created = Tag.objects.get_or_create(...)`).
    read_names: BTreeSet<String>,
    /// How many enclosing `if`/`while` blocks test a read: their creates only run when
    /// the read found nothing.
    guarded: usize,
    /// Names bound to a read of rows that lack something (see [`Creates::lacks`]).
    lacking_names: BTreeSet<String>,
    /// How many enclosing loops go over a read and also change existing rows
    /// (`for s in Submission.objects.filter(slot_count=0): s.slot_count = 1; s.save()`):
    /// whether a second run repeats the creates depends on that filter, which djcheck
    /// does not evaluate.
    transforming: usize,
}

/// Methods that change existing rows.
const WRITES: &[&str] = &["save", "update", "delete", "bulk_update"];

impl Creates {
    /// Whether an expression reads rows: a read method call, or a name bound to one.
    fn reads(&self, e: &Expr) -> bool {
        struct Reads<'s> {
            names: &'s BTreeSet<String>,
            found: bool,
        }
        impl<'a> Visitor<'a> for Reads<'_> {
            fn visit_expr(&mut self, e: &'a Expr) {
                match e {
                    Expr::Call(c) => {
                        if let Expr::Attribute(a) = c.func.as_ref() {
                            self.found |= CHECKS.contains(&a.attr.id.as_str());
                        }
                    }
                    Expr::Name(n) => self.found |= self.names.contains(n.id.as_str()),
                    _ => {}
                }
                if !self.found {
                    visitor::walk_expr(self, e);
                }
            }
        }
        let mut r = Reads {
            names: &self.read_names,
            found: false,
        };
        r.visit_expr(e);
        r.found
    }
}

impl Creates {
    /// Whether an expression reads only rows that lack something:
    /// `Event.objects.filter(score_categories__isnull=True)`. A loop over such rows that
    /// creates the missing thing skips them on a second run.
    fn lacks(&self, e: &Expr) -> bool {
        struct Lacks<'s> {
            names: &'s BTreeSet<String>,
            found: bool,
        }
        impl<'a> Visitor<'a> for Lacks<'_> {
            fn visit_expr(&mut self, e: &'a Expr) {
                match e {
                    Expr::Call(c) => {
                        if let Expr::Attribute(a) = c.func.as_ref() {
                            let wanted = match a.attr.id.as_str() {
                                "filter" => Some(true),
                                "exclude" => Some(false),
                                _ => None,
                            };
                            if let Some(wanted) = wanted {
                                self.found |= c.arguments.keywords.iter().any(|k| {
                                    k.arg
                                        .as_ref()
                                        .is_some_and(|a| a.id.as_str().ends_with("__isnull"))
                                        && eval::bool_value(&k.value) == Some(wanted)
                                });
                            }
                        }
                    }
                    Expr::Name(n) => self.found |= self.names.contains(n.id.as_str()),
                    _ => {}
                }
                if !self.found {
                    visitor::walk_expr(self, e);
                }
            }
        }
        let mut l = Lacks {
            names: &self.lacking_names,
            found: false,
        };
        l.visit_expr(e);
        l.found
    }
}

/// Whether statements call a method that changes existing rows.
fn writes(body: &[Stmt]) -> bool {
    struct Writes {
        found: bool,
    }
    impl<'a> Visitor<'a> for Writes {
        fn visit_expr(&mut self, e: &'a Expr) {
            if let Expr::Call(c) = e {
                if let Expr::Attribute(a) = c.func.as_ref() {
                    self.found |= WRITES.contains(&a.attr.id.as_str());
                }
            }
            if !self.found {
                visitor::walk_expr(self, e);
            }
        }
    }
    let mut w = Writes { found: false };
    w.visit_body(body);
    w.found
}

/// The leftmost name of `a.b().c.d` and whether a manager attribute is on the way.
fn chain_root(mut e: &Expr) -> (Option<&str>, bool) {
    let mut manager = false;
    for _ in 0..64 {
        match e {
            Expr::Attribute(a) => {
                manager |= MANAGERS.contains(&a.attr.id.as_str());
                e = &a.value;
            }
            Expr::Call(c) => e = &c.func,
            Expr::Subscript(s) => e = &s.value,
            Expr::Name(n) => return (Some(n.id.as_str()), manager),
            _ => break,
        }
    }
    (None, manager)
}

fn target_names(t: &Expr, out: &mut Vec<String>) {
    match t {
        Expr::Name(n) => out.push(n.id.as_str().to_owned()),
        Expr::Tuple(tu) => tu.elts.iter().for_each(|e| target_names(e, out)),
        Expr::List(l) => l.elts.iter().for_each(|e| target_names(e, out)),
        Expr::Starred(s) => target_names(&s.value, out),
        _ => {}
    }
}

/// The dotted names of an `except` clause's exception types.
fn type_names(ty: &Expr) -> Vec<String> {
    match ty {
        Expr::Tuple(tup) => tup.elts.iter().filter_map(eval::dotted_name).collect(),
        other => eval::dotted_name(other).into_iter().collect(),
    }
}

/// Whether a `try` statement catches an exception whose name ends with `name`.
fn catches(t: &ast::StmtTry, name: &str) -> bool {
    t.handlers.iter().any(|h| {
        let ast::ExceptHandler::ExceptHandler(h) = h;
        h.type_
            .as_deref()
            .is_some_and(|ty| type_names(ty).iter().any(|n| n.ends_with(name)))
    })
}

impl<'a> Visitor<'a> for Creates {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Try(t) => {
                let integrity = catches(t, "IntegrityError");
                self.integrity_try += usize::from(integrity);
                self.visit_body(&t.body);
                self.integrity_try -= usize::from(integrity);
                for h in &t.handlers {
                    // `except X.DoesNotExist:` (or a related object's
                    // `RelatedObjectDoesNotExist`) runs only when the row is missing.
                    let ast::ExceptHandler::ExceptHandler(eh) = h;
                    let missing = eh.type_.as_deref().is_some_and(|ty| {
                        type_names(ty).iter().any(|n| n.ends_with("DoesNotExist"))
                    });
                    self.guarded += usize::from(missing);
                    self.visit_except_handler(h);
                    self.guarded -= usize::from(missing);
                }
                self.visit_body(&t.orelse);
                self.visit_body(&t.finalbody);
                return;
            }
            Stmt::If(i) => {
                self.visit_expr(&i.test);
                let guard = self.reads(&i.test);
                self.guarded += usize::from(guard);
                self.visit_body(&i.body);
                for clause in &i.elif_else_clauses {
                    self.visit_elif_else_clause(clause);
                }
                self.guarded -= usize::from(guard);
                return;
            }
            Stmt::While(w) => {
                self.visit_expr(&w.test);
                let guard = self.reads(&w.test);
                self.guarded += usize::from(guard);
                self.visit_body(&w.body);
                self.visit_body(&w.orelse);
                self.guarded -= usize::from(guard);
                return;
            }
            Stmt::For(f) => {
                self.visit_expr(&f.iter);
                self.visit_expr(&f.target);
                let transform = self.reads(&f.iter) && (writes(&f.body) || self.lacks(&f.iter));
                self.transforming += usize::from(transform);
                self.visit_body(&f.body);
                self.transforming -= usize::from(transform);
                self.visit_body(&f.orelse);
                return;
            }
            Stmt::Assign(a) => {
                if self.reads(&a.value) {
                    let lacks = self.lacks(&a.value);
                    for t in &a.targets {
                        let mut names = Vec::new();
                        target_names(t, &mut names);
                        if lacks {
                            self.lacking_names.extend(names.iter().cloned());
                        }
                        self.read_names.extend(names);
                    }
                }
                if let ([Expr::Name(n)], Expr::Call(c)) = (a.targets.as_slice(), a.value.as_ref()) {
                    if eval::callee_last(c) == Some("get_model") {
                        let model = match (c.arguments.args.first(), c.arguments.args.get(1)) {
                            (_, Some(m)) => eval::str_value(m),
                            (Some(dotted), None) => eval::str_value(dotted)
                                .and_then(|s| s.split_once('.').map(|(_, m)| m.to_owned())),
                            _ => None,
                        };
                        if let Some(m) = model {
                            self.models.push((n.id.as_str().to_owned(), m));
                        }
                    }
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(c) = expr {
            if let Expr::Attribute(a) = c.func.as_ref() {
                let method = a.attr.id.as_str();
                let (root, manager) = chain_root(&a.value);
                if let Some(root) = root {
                    if CHECKS.contains(&method) {
                        self.checks.push((root.to_owned(), c.range().start()));
                    }
                    let method = match method {
                        "create" => Some("create"),
                        "bulk_create" => Some("bulk_create"),
                        _ => None,
                    };
                    if let (Some(method), true) = (method, manager) {
                        let conflicts = ["ignore_conflicts", "update_conflicts"].iter().any(|k| {
                            eval::keyword(c, k).is_some_and(|v| eval::bool_value(v) != Some(false))
                        });
                        self.creates.push(Create {
                            range: c.func.range(),
                            root: root.to_owned(),
                            method,
                            safe: conflicts
                                || self.integrity_try > 0
                                || self.guarded > 0
                                || self.transforming > 0,
                        });
                    }
                }
            }
        }
        visitor::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fires, migration, silent};

    const RULE: NonIdempotentDataMigration = NonIdempotentDataMigration;

    fn ops(reverse: &str) -> String {
        format!("migrations.RunPython(forwards, {reverse}),")
    }

    #[test]
    fn creates_without_checks() {
        let out = fires(
            &RULE,
            &migration(
                r#"def seed(Tag):
    Tag.objects.bulk_create([Tag(name="a"), Tag(name="b")])

def forwards(apps, schema_editor):
    Category = apps.get_model("shop", "Category")
    Category.objects.create(slug="general")
    Category.objects.create(slug="other")
    seed(apps.get_model("shop", "Tag"))
    for book in apps.get_model("shop", "Book").objects.all():
        Category.objects.using("default").create(slug=book.slug)
    Setting = apps.get_model("shop", "Setting")
    for event in apps.get_model("shop", "Event").objects.all():
        Setting.objects.create(event=event, key="x")"#,
                &ops("migrations.RunPython.noop"),
            ),
        );
        assert_eq!(
            out.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
            [
                "Category.objects.create",
                "Setting.objects.create",
                "Tag.objects.bulk_create"
            ]
        );
        assert_eq!(
            out[0].1,
            "data migration creates `Category` rows with no existence check: a second run duplicates them"
        );
    }

    #[test]
    fn checks_make_it_safe() {
        silent(
            &RULE,
            &migration(
                r#"def forwards(apps, schema_editor):
    Category = apps.get_model("shop", "Category")
    if not Category.objects.filter(slug="general").exists():
        Category.objects.create(slug="general")
    Tag = apps.get_model("shop", "Tag")
    Tag.objects.get_or_create(name="a")
    Tag.objects.update_or_create(name="b", defaults={})
    Tag.objects.bulk_create([Tag(name="c")], ignore_conflicts=True)
    Site = apps.get_model("sites", "Site")
    Site.objects.all().delete()
    Site.objects.create(domain="example.com")
    Flag = apps.get_model("shop", "Flag")
    try:
        Flag.objects.create(name="x")
    except IntegrityError:
        pass
    Label = apps.get_model("shop", "Label")
    existing = Label.objects.first()
    if existing is None:
        Label.objects.create(name="y")
    Workflow = apps.get_model("shop", "Workflow")
    Step = apps.get_model("shop", "Step")
    workflow = Workflow.objects.filter(active=True).first()
    if not workflow:
        workflow = Workflow.objects.create(name="default")
        Step.objects.create(workflow=workflow)
    Submission = apps.get_model("talks", "Submission")
    Slot = apps.get_model("talks", "Slot")
    for submission in Submission.objects.filter(slot_count=0):
        submission.slot_count = 1
        submission.save()
        Slot.objects.create(submission=submission)
    Organization = apps.get_model("users", "Organization")
    Settings = apps.get_model("config", "Settings")
    for organization in Organization.objects.all():
        try:
            organization.config_settings
        except Organization.config_settings.RelatedObjectDoesNotExist:
            Settings.objects.create(organization=organization)
    Event = apps.get_model("talks", "Event")
    ScoreCategory = apps.get_model("talks", "ScoreCategory")
    todo = Event.objects.filter(categories__isnull=True)
    for event in todo:
        ScoreCategory.objects.create(event=event, name="Score")"#,
                &ops("migrations.RunPython.noop"),
            ),
        );
    }

    #[test]
    fn a_reverse_function_or_a_new_table_make_it_safe() {
        silent(
            &RULE,
            &migration(
                r#"def forwards(apps, schema_editor):
    apps.get_model("shop", "Category").objects.create(slug="general")

def backwards(apps, schema_editor):
    apps.get_model("shop", "Category").objects.filter(slug="general").delete()"#,
                &ops("backwards"),
            ),
        );
        silent(
            &RULE,
            &migration(
                r#"def forwards(apps, schema_editor):
    Country = apps.get_model("shop", "Country")
    Country.objects.create(code="fr")"#,
                r#"migrations.CreateModel(name="Country", fields=[("code", models.CharField(max_length=2))]),
        migrations.RunPython(forwards, migrations.RunPython.noop),"#,
            ),
        );
    }
}
