use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};
use djcheck_python::ast::visitor::{self, Visitor};
use djcheck_python::ast::{Expr, ExprContext, Stmt};
use djcheck_python::eval;
use djcheck_python::functions::{imports_of, root_of, Func, Import, ModuleScope};
use djcheck_python::{Ranged, TextRange};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it finds
    /// Code run by `RunPython` (its forward and reverse functions, and every function of
    /// the migration module they call) that uses a model class imported from a models
    /// module instead of the historical model `apps.get_model()` returns:
    ///
    /// - `from library.models import Book` (or `from library import models`,
    ///   `import library.models`) inside the function, then something only a model
    ///   does: `Book.objects...`, `Book._meta`, `Book.DoesNotExist`, a queryset method on
    ///   a manager (`Book.published.filter(...)`), `Book(...).save()` (directly or
    ///   through a name), rows `Book(...)` given to `bulk_create`. Calling a class is no
    ///   evidence by itself: models modules also hold descriptors, option classes,
    ///   managers, choices and fields;
    /// - a module-level import of a models module used that way inside the function;
    /// - a call to `get_user_model()`, which returns the current user model.
    ///
    /// Imports of `django.*` models modules are left alone, and so are imports that
    /// `makemigrations` writes at the top of a migration for managers, validators and
    /// field defaults (`import library.models` for `library.models.BookManager()`) as long
    /// as the code `RunPython` runs does not use a model through them. An imported name
    /// that is not used as a model (a constant, a choices class) is not reported.
    ///
    /// ## Why it matters
    /// A migration must work against the schema as it was when the migration was
    /// written. The model class in `models.py` is today's: it has the fields later
    /// migrations add, so on a database that has not run them yet (a new environment,
    /// a test database, a colleague's machine) the query selects columns that do not
    /// exist and `migrate` fails, or the migration writes data shaped for another
    /// version. It often works when written and breaks months later.
    ///
    /// ## Example
    /// ```python
    /// def set_default_genre(apps, schema_editor):
    ///     from library.models import Book
    ///     Book.objects.filter(genre="").update(genre="fiction")
    /// ```
    ///
    /// ## How to fix
    /// Use the historical model from the app registry `RunPython` passes in:
    /// ```python
    /// def set_default_genre(apps, schema_editor):
    ///     Book = apps.get_model("library", "Book")
    ///     Book.objects.filter(genre="").update(genre="fiction")
    /// ```
    /// and `apps.get_model(settings.AUTH_USER_MODEL)` instead of `get_user_model()`.
    pub struct CurrentModelInRunPython { code: "PY002", name: "current-model-in-runpython", severity: Error }
}

/// Attributes that only a model class has (or that make sense only on one).
const MODEL_ATTRS: &[&str] = &[
    "objects",
    "_default_manager",
    "_base_manager",
    "_meta",
    "DoesNotExist",
    "MultipleObjectsReturned",
];

impl Rule for CurrentModelInRunPython {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(rp) = cx.run_python() else {
            return;
        };
        let reached = rp.reached();
        let own_app = cx.migration.map_or("app", |m| m.app.as_str());
        let mut seen: BTreeSet<(u32, u32)> = BTreeSet::new();
        for (i, r) in reached.iter().enumerate() {
            let root = root_of(reached, i);
            let mut f = Finder::new(&rp.scope, &r.func);
            r.func.walk(&mut f);
            for u in f.finish() {
                if !seen.insert((u.range.start().into(), u.range.end().into())) {
                    continue;
                }
                let mut d = match &u.what {
                    Used::Model { class, module } => {
                        let app = app_label(module).unwrap_or(own_app);
                        Self::META
                            .diagnostic(format!(
                                "`RunPython` code uses the current model `{class}` from `{module}`"
                            ))
                            .at(Span::new(cx.file, u.range), "today's model class, not the historical one")
                            .help(format!(
                                "use the historical model: `{class} = apps.get_model(\"{app}\", \"{class}\")`"
                            ))
                    }
                    Used::UserModel => Self::META
                        .diagnostic("`RunPython` code calls `get_user_model()`, which returns the current user model")
                        .at(Span::new(cx.file, u.range), "today's user model, not the historical one")
                        .help("use the historical model: `User = apps.get_model(settings.AUTH_USER_MODEL)`"),
                };
                if let Some((range, target)) = &u.import {
                    d = d.label(
                        Span::new(cx.file, *range),
                        format!("imported here, from `{target}`"),
                    );
                }
                d = d.note("today's class has the fields of the latest migrations: on a database that has not run them yet, its queries name columns that do not exist");
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

/// `library.models` → `library`; `proj.apps.library.models.books` → `library`.
fn app_label(module: &str) -> Option<&str> {
    let parts: Vec<&str> = module.split('.').collect();
    let i = parts.iter().position(|p| *p == "models")?;
    parts
        .get(i.checked_sub(1)?)
        .copied()
        .filter(|p| !p.is_empty())
}

enum Used {
    Model { class: String, module: String },
    UserModel,
}

struct Use {
    range: TextRange,
    what: Used,
    /// The import the model came through, and what it imported.
    import: Option<(TextRange, String)>,
}

struct Finder<'s, 'a> {
    scope: &'s ModuleScope<'a>,
    locals: BTreeSet<&'a str>,
    /// Names the function binds by assignment (never a model class from an import).
    stores: BTreeSet<&'a str>,
    imports: BTreeMap<String, Import>,
    uses: Vec<Use>,
    seen_models: BTreeSet<String>,
    /// Expressions used only for their name (`X._meta.app_label`): reading a model's
    /// label from today's class is harmless, and is how
    /// `apps.get_model(User._meta.app_label, User._meta.model_name)` is written.
    naming_only: BTreeSet<(u32, u32)>,
    /// `NAME = get_user_model()`: reported only if `NAME` is used for more than its name.
    user_model_names: Vec<(&'a str, Use)>,
    /// Names among those used for more than their name.
    used_names: BTreeSet<&'a str>,
    /// `NAME = Class(...)` with `Class` imported from a models module: the class.
    instances: BTreeMap<&'a str, &'a Expr>,
}

/// Methods of a queryset, called on a class's manager (`Book.published.filter(...)`).
const QUERYSET_METHODS: &[&str] = &[
    "all",
    "filter",
    "exclude",
    "get",
    "create",
    "get_or_create",
    "update_or_create",
    "bulk_create",
    "bulk_update",
    "update",
    "delete",
    "count",
    "exists",
    "values",
    "values_list",
    "iterator",
    "in_bulk",
    "select_related",
    "prefetch_related",
    "order_by",
    "first",
    "last",
    "aggregate",
    "annotate",
];

/// Methods of a model instance (`Book(...).save()`).
const INSTANCE_METHODS: &[&str] = &[
    "save",
    "delete",
    "full_clean",
    "clean_fields",
    "refresh_from_db",
];

/// The class expressions of `Class(...)` calls among rows given to `bulk_create`: a list,
/// a tuple or a comprehension of them.
fn constructed(rows: &Expr) -> Vec<&Expr> {
    fn call(e: &Expr) -> Option<&Expr> {
        match e {
            Expr::Call(c) => Some(c.func.as_ref()),
            _ => None,
        }
    }
    match rows {
        Expr::List(l) => l.elts.iter().filter_map(call).collect(),
        Expr::Tuple(t) => t.elts.iter().filter_map(call).collect(),
        Expr::ListComp(l) => call(&l.elt).into_iter().collect(),
        Expr::Generator(g) => call(&g.elt).into_iter().collect(),
        _ => Vec::new(),
    }
}

/// `_meta` attributes that only name a model.
const NAMING: &[&str] = &[
    "app_label",
    "model_name",
    "label",
    "label_lower",
    "object_name",
    "verbose_name",
    "verbose_name_plural",
];

fn key(e: &Expr) -> (u32, u32) {
    (e.range().start().into(), e.range().end().into())
}

impl<'s, 'a> Finder<'s, 'a> {
    fn new(scope: &'s ModuleScope<'a>, func: &Func<'a>) -> Self {
        let mut c = Collect::default();
        func.walk(&mut c);
        Finder {
            scope,
            locals: func.local_names(),
            stores: c.stores,
            imports: c.imports,
            uses: Vec::new(),
            seen_models: BTreeSet::new(),
            naming_only: BTreeSet::new(),
            user_model_names: Vec::new(),
            used_names: BTreeSet::new(),
            instances: BTreeMap::new(),
        }
    }

    /// The uses found, once the whole function was walked.
    fn finish(mut self) -> Vec<Use> {
        for (name, u) in std::mem::take(&mut self.user_model_names) {
            if self.used_names.contains(name) {
                self.uses.push(u);
            }
        }
        self.uses.sort_by_key(|u| u.range.start());
        self.uses
    }

    /// A `get_user_model()` call (Django's: no arguments, not a function of the module).
    fn is_get_user_model(&self, c: &djcheck_python::ast::ExprCall) -> bool {
        if !c.arguments.is_empty() {
            return false;
        }
        match c.func.as_ref() {
            Expr::Name(n) => {
                n.id.as_str() == "get_user_model"
                    && !self.locals.contains("get_user_model")
                    && self.scope.function("get_user_model").is_none()
                    && self.scope.bindings().get("get_user_model").is_none()
            }
            Expr::Attribute(a) => {
                a.attr.id.as_str() == "get_user_model"
                    && eval::dotted_name(&a.value).is_some_and(|d| {
                        d.ends_with("auth")
                            && !self.locals.contains(d.split('.').next().unwrap_or(""))
                    })
            }
            _ => false,
        }
    }

    fn user_model_use(&self, c: &djcheck_python::ast::ExprCall) -> Use {
        let import = self
            .import_of("get_user_model")
            .filter(|_| matches!(c.func.as_ref(), Expr::Name(_)))
            .map(|i| (i.range, i.target.clone()));
        Use {
            range: c.range(),
            what: Used::UserModel,
            import,
        }
    }

    /// The import a name refers to in this function: a local import, or a module-level
    /// one the function does not shadow.
    fn import_of(&self, name: &str) -> Option<&Import> {
        if let Some(i) = self.imports.get(name) {
            return (!self.stores.contains(name)).then_some(i);
        }
        if self.locals.contains(name) {
            return None;
        }
        self.scope.import(name)
    }

    /// The model class an expression names, through an import: `(class, module, import)`.
    fn model_of(&self, e: &Expr) -> Option<(String, String, &Import)> {
        let dotted = eval::dotted_name(e)?;
        let first = dotted.split('.').next()?;
        let imp = self.import_of(first)?;
        let path = format!("{}{}", imp.target, &dotted[first.len()..]);
        let (class, module) = model_in_path(&path)?;
        Some((class, module, imp))
    }

    fn record_model(&mut self, e: &Expr) {
        let Some((class, module, imp)) = self.model_of(e) else {
            return;
        };
        let import = Some((imp.range, imp.target.clone()));
        if self.seen_models.insert(format!("{module}.{class}")) {
            self.uses.push(Use {
                range: e.range(),
                what: Used::Model { class, module },
                import,
            });
        }
    }
}

/// `library.models.Book` → (`Book`, `library.models`); models packages
/// (`library.models.books.Book`) and relative imports (`..models.Book`) too; never
/// `django.*`, and only when the path ends with a class name (`CapWords`).
fn model_in_path(path: &str) -> Option<(String, String)> {
    if path.starts_with("django.") {
        return None;
    }
    let parts: Vec<&str> = path.trim_start_matches('.').split('.').collect();
    let i = parts.iter().position(|p| *p == "models")?;
    let (class, modules) = parts.split_last()?;
    if modules.len() <= i {
        return None;
    }
    // Between `models` and the class, only submodules (lower case).
    if !modules[i + 1..].iter().all(|m| {
        m.chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
    }) {
        return None;
    }
    let capwords = class.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && class.chars().any(|c| c.is_ascii_lowercase());
    if !capwords {
        return None;
    }
    let prefix = &path[..path.len() - path.trim_start_matches('.').len()];
    Some((
        (*class).to_owned(),
        format!("{prefix}{}", modules.join(".")),
    ))
}

impl<'a> Visitor<'a> for Finder<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Assign(a) = stmt {
            if let ([Expr::Name(n)], Expr::Call(c)) = (a.targets.as_slice(), a.value.as_ref()) {
                // An instance of an imported class: evidence only if used as a model's.
                if self.model_of(&c.func).is_some() {
                    self.instances.insert(n.id.as_str(), &c.func);
                } else {
                    self.instances.remove(n.id.as_str());
                }
                if self.is_get_user_model(c) {
                    let u = self.user_model_use(c);
                    self.user_model_names.push((n.id.as_str(), u));
                    // The call is handled through the name it is bound to.
                    self.naming_only.insert(key(&a.value));
                }
            }
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Attribute(a) => {
                if let Expr::Attribute(inner) = a.value.as_ref() {
                    if inner.attr.id.as_str() == "_meta" && NAMING.contains(&a.attr.id.as_str()) {
                        self.naming_only.insert(key(&a.value));
                        self.naming_only.insert(key(&inner.value));
                    }
                }
                let attr = a.attr.id.as_str();
                if MODEL_ATTRS.contains(&attr) && !self.naming_only.contains(&key(expr)) {
                    self.record_model(&a.value);
                }
                match a.value.as_ref() {
                    // `Book.published.filter(...)`: a queryset method on a manager.
                    Expr::Attribute(manager) if QUERYSET_METHODS.contains(&attr) => {
                        self.record_model(&manager.value);
                    }
                    // `Book(...).save()`: a model instance's method.
                    Expr::Call(c) if INSTANCE_METHODS.contains(&attr) => {
                        self.record_model(&c.func);
                    }
                    // `book = Book(...)`, then `book.save()`.
                    Expr::Name(n) if INSTANCE_METHODS.contains(&attr) => {
                        if let Some(class) = self.instances.get(n.id.as_str()).copied() {
                            self.record_model(class);
                        }
                    }
                    _ => {}
                }
            }
            Expr::Call(c) => {
                // Calling a class is no evidence by itself: models modules hold
                // descriptors, option classes, managers and fields too. Rows handed to
                // `bulk_create` are model instances.
                if let Expr::Attribute(f) = c.func.as_ref() {
                    if f.attr.id.as_str() == "bulk_create" {
                        if let Some(rows) = c.arguments.args.first() {
                            for row in constructed(rows) {
                                self.record_model(row);
                            }
                        }
                    }
                }
                if self.is_get_user_model(c) && !self.naming_only.contains(&key(expr)) {
                    let u = self.user_model_use(c);
                    self.uses.push(u);
                }
            }
            Expr::Name(n)
                if n.ctx == ExprContext::Load && !self.naming_only.contains(&key(expr)) =>
            {
                self.used_names.insert(n.id.as_str());
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }
}

/// A function's own imports and assigned names.
#[derive(Default)]
struct Collect<'a> {
    imports: BTreeMap<String, Import>,
    stores: BTreeSet<&'a str>,
}

impl<'a> Visitor<'a> for Collect<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        for i in imports_of(stmt) {
            self.imports.insert(i.bound.clone(), i);
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            if n.ctx == ExprContext::Store {
                self.stores.insert(n.id.as_str());
            }
        }
        visitor::walk_expr(self, expr);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{fires, migration, silent};

    const RULE: CurrentModelInRunPython = CurrentModelInRunPython;

    fn at(functions: &str) -> Vec<(String, String)> {
        fires(
            &RULE,
            &migration(
                functions,
                "migrations.RunPython(forwards, migrations.RunPython.noop),",
            ),
        )
    }

    #[test]
    fn function_level_imports() {
        let out = at(r#"def forwards(apps, schema_editor):
    from library.models import Book
    from library import models
    import shop.models
    Book.objects.filter(genre="").update(genre="fiction")
    models.Author(name="x").save()
    shop.models.Order.DoesNotExist
    Book.objects.count()"#);
        assert_eq!(
            out,
            [
                (
                    "Book".to_owned(),
                    "`RunPython` code uses the current model `Book` from `library.models`"
                        .to_owned()
                ),
                (
                    "models.Author".to_owned(),
                    "`RunPython` code uses the current model `Author` from `library.models`"
                        .to_owned()
                ),
                (
                    "shop.models.Order".to_owned(),
                    "`RunPython` code uses the current model `Order` from `shop.models`".to_owned()
                ),
            ]
        );
    }

    #[test]
    fn module_imports_used_in_a_helper_and_get_user_model() {
        let src = r#"import library.models
from library.models import Book
from django.contrib.auth import get_user_model

def helper():
    return Book.objects.all()

def forwards(apps, schema_editor):
    helper()
    User = get_user_model()
    User.objects.count()"#;
        let out = at(src);
        assert_eq!(
            out.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
            ["get_user_model()", "Book"]
        );
    }

    #[test]
    fn historical_models_and_makemigrations_imports_are_fine() {
        silent(
            &RULE,
            &migration(
                r#"import library.models
import library.validators
from library.models import STATUS_CHOICES, Genre
from django.contrib.auth.models import Group
from django.contrib.auth import get_user_model

def forwards(apps, schema_editor):
    Book = apps.get_model("library", "Book")
    Book.objects.filter(status=STATUS_CHOICES[0][0]).update(genre=Genre.FICTION)
    Book.tags = library.models.TagsManager(through=None)
    Group.objects.get_or_create(name="editors")
    User = apps.get_model(settings.AUTH_USER_MODEL)
    User.objects.count()

def labels(apps, schema_editor):
    from library.models import Book
    _User = get_user_model()
    User = apps.get_model(_User._meta.app_label, _User._meta.model_name)
    Historical = apps.get_model(Book._meta.app_label, Book._meta.model_name)
    apps.get_model(get_user_model()._meta.label)

def unused(apps, schema_editor):
    from library.models import Book
    Book.objects.all()"#,
                r#"migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunPython(labels, migrations.RunPython.noop),
        migrations.AlterField(model_name="book", name="status", field=models.CharField(validators=[library.validators.check], default=library.models.default_status)),"#,
            ),
        );
    }

    #[test]
    fn a_call_is_no_evidence_but_what_only_models_do_is() {
        // Descriptors, option classes, choices: classes of models modules called.
        silent(
            &RULE,
            &migration(
                r#"from inventory.models.base import JsonVarsProperty, SourceOptions, Kind

def forwards(apps, schema_editor):
    Source = apps.get_model("inventory", "Source")
    Source.vars_dict = JsonVarsProperty("vars")
    opts = SourceOptions(verbose=True)
    opts.apply(Source)
    kind = Kind("x")
    Source.objects.filter(kind=kind.value).update(enabled=True)"#,
                "migrations.RunPython(forwards, migrations.RunPython.noop),",
            ),
        );
        let out = at(r#"def forwards(apps, schema_editor):
    from library.models import Book, Author, Shelf, Tag
    Book.published.filter(year=2020).count()
    Author(name="x").save()
    shelf = Shelf(name="s")
    shelf.save()
    apps.get_model("library", "Tag").objects.bulk_create([Tag(name=n) for n in "ab"])"#);
        assert_eq!(
            out.iter().map(|o| o.0.as_str()).collect::<Vec<_>>(),
            ["Book", "Author", "Shelf", "Tag"]
        );
    }

    #[test]
    fn paths() {
        assert_eq!(
            model_in_path("library.models.Book"),
            Some(("Book".into(), "library.models".into()))
        );
        assert_eq!(
            model_in_path("..models.Book"),
            Some(("Book".into(), "..models".into()))
        );
        assert_eq!(
            model_in_path("proj.library.models.books.Book"),
            Some(("Book".into(), "proj.library.models.books".into()))
        );
        assert_eq!(model_in_path("django.contrib.auth.models.User"), None);
        assert_eq!(model_in_path("library.models.STATUS"), None);
        assert_eq!(model_in_path("library.models"), None);
        assert_eq!(app_label("proj.library.models.books"), Some("library"));
        assert_eq!(app_label("..models"), None);
    }
}
