//! The comparison of the declared models with the state the migrations build, as
//! Django's `MigrationAutodetector` makes it (`makemigrations --check`): models created
//! and deleted, fields added, removed and altered (by their `deconstruct()`), options
//! (`AlterModelOptions.ALTER_OPTION_KEYS`, `db_table`, `db_table_comment`,
//! `order_with_respect_to`), `unique_together`, indexes, constraints, managers.
//!
//! Each model gets an outcome: the changes found (each a literal fact of both sides),
//! and what could not be compared. A model whose comparison covered everything is
//! decided.

use super::django::{self, Deconstructed, RelationCx};
use super::{md5, Declared, DeclaredField, DeclaredModel, FieldClass, FieldOrigin, ModelKind};
use crate::graph::{Graph, Origin};
use crate::migration::Migration;
use crate::pyvalue::{py_eq, CallValue, PyValue};
use crate::state::{FieldDef, ModelDef, ModelKey, ModelState};
use crate::App;
use djcheck_diagnostics::Span;
use djcheck_python::TextRange;
use std::collections::{BTreeMap, BTreeSet};

/// What differs between models.py and the migrations.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeKind {
    /// A model no migration creates.
    ModelAdded,
    /// A model the migrations create that models.py no longer declares.
    ModelRemoved,
    /// A model that became (or stopped being) a proxy.
    ModelKind {
        old: ModelKind,
        new: ModelKind,
    },
    FieldAdded(String),
    FieldRemoved(String),
    /// A field removed and one added with the same definition: Django asks whether it
    /// was renamed (and writes RemoveField and AddField when nobody answers).
    FieldRenamed {
        old: String,
        new: String,
    },
    /// The field's class changed (`old` and `new` are paths as `deconstruct()` gives
    /// them).
    FieldClass {
        field: String,
        old: String,
        new: String,
    },
    /// Arguments of the field differ: `(argument, in models.py, in the migrations)`.
    FieldArgs {
        field: String,
        diffs: Vec<(String, Option<PyValue>, Option<PyValue>)>,
    },
    /// A `Meta` option differs.
    Option {
        name: String,
        new: Option<PyValue>,
        old: Option<PyValue>,
    },
    UniqueTogether {
        new: Vec<Vec<String>>,
        old: Vec<Vec<String>>,
    },
    /// Indexes (or constraints) of models.py that no migration adds, and the
    /// migrations' that models.py no longer has.
    Parts {
        constraints: bool,
        added: Vec<PyValue>,
        removed: Vec<PyValue>,
    },
    Managers {
        new: PyValue,
        old: PyValue,
    },
}

/// One difference.
#[derive(Debug, Clone)]
pub struct Change {
    pub kind: ChangeKind,
    /// Where it is in models.py (for a model no longer declared: where the migrations
    /// create it).
    pub at: Span,
    /// The migration (index into `Project::migrations`) that last set what differs, and
    /// where in it.
    pub migration: Option<(usize, Span)>,
}

/// The comparison of one model.
#[derive(Debug, Clone)]
pub struct ModelOutcome {
    pub app: String,
    /// The model's name as written (in models.py, else in the migrations).
    pub model: String,
    /// The class in models.py, when declared there.
    pub span: Option<Span>,
    pub changes: Vec<Change>,
    /// What could not be compared, and why (empty: the comparison is complete).
    pub undecided: Vec<String>,
}

impl ModelOutcome {
    /// Whether everything about the model was compared.
    pub fn decided(&self) -> bool {
        self.undecided.is_empty()
    }
}

/// The comparison of every model of the project's apps.
#[derive(Debug, Clone, Default)]
pub struct ModelsReport {
    /// Whether the models were read at all (the rule that needs them is selected).
    pub read: bool,
    /// Sorted by app and model name.
    pub outcomes: Vec<ModelOutcome>,
    /// Apps whose models were not compared at all, with why.
    pub skipped_apps: Vec<(String, String)>,
    /// Apps with migrations but no models module: nothing to compare.
    pub without_models_module: Vec<String>,
    /// Apps of test suites (under a `tests` folder, not confirmed installed): not
    /// compared.
    pub test_apps: Vec<String>,
    /// The project's own `makemigrations` command, when it has one (nothing is compared:
    /// it may write migrations differently).
    pub overridden: Option<String>,
}

impl ModelsReport {
    /// Models compared completely (changed or not).
    pub fn decided(&self) -> usize {
        self.outcomes
            .iter()
            .filter(|o| o.decided() || !o.changes.is_empty())
            .count()
    }

    /// Models left (in part) undecided with no change found.
    pub fn undecidable(&self) -> usize {
        self.outcomes.len() - self.decided()
    }
}

/// What the comparison needs from the rest of the project.
pub struct Input<'a> {
    pub apps: &'a [App],
    pub migrations: &'a [Migration],
    pub graph: &'a Graph,
    pub state: &'a ModelState,
    /// `AUTH_USER_MODEL` as `app.model` (lowercased model), when known.
    pub user_model: Option<String>,
    /// Lowercased names of the classes defined in an app's package (outside its
    /// migrations), by app label: a model of the migrations missing from models.py is
    /// reported only when no class of that name exists there.
    pub classes_in_app: &'a (dyn Fn(&str) -> BTreeSet<String> + Sync),
    /// Where the project adds fields or models at run time (`add_to_class`, a
    /// translation or history library), if anywhere: then nothing is reported removed.
    pub dynamic: &'a (dyn Fn() -> Option<String> + Sync),
    /// Project app folders that INSTALLED_APPS lists.
    pub installed_dirs: BTreeSet<String>,
    /// A comparison made before, and the apps whose outcome in it still holds (nothing
    /// it read changed).
    pub earlier: Option<(&'a ModelsReport, &'a BTreeSet<String>)>,
}

/// Compares every model.
pub fn compare(declared: &Declared, input: &Input<'_>) -> ModelsReport {
    use rayon::prelude::*;
    let mut report = ModelsReport {
        read: true,
        ..ModelsReport::default()
    };
    let finals = input.state.final_models();
    let labels: BTreeSet<&str> = input
        .apps
        .iter()
        .filter(|a| a.dir.is_some())
        .map(|a| a.label.as_str())
        .collect();
    let labels: Vec<&str> = labels.into_iter().collect();
    // Apps are compared independently, in parallel; results are gathered in label order.
    let per_app: Vec<AppOutcome> = labels
        .par_iter()
        .map(|app| match input.earlier {
            Some((earlier, same)) if same.contains(*app) => outcome_in(earlier, app),
            _ => compare_app(app, declared, &finals, input),
        })
        .collect();
    for (app, outcome) in labels.into_iter().zip(per_app) {
        match outcome {
            AppOutcome::Test => report.test_apps.push(app.to_owned()),
            AppOutcome::WithoutModule => report.without_models_module.push(app.to_owned()),
            AppOutcome::Skipped(why) => report.skipped_apps.push((app.to_owned(), why)),
            AppOutcome::Compared(outcomes) => report.outcomes.extend(outcomes),
        }
    }
    report
}

/// An app's outcome in an earlier comparison.
fn outcome_in(earlier: &ModelsReport, app: &str) -> AppOutcome {
    if earlier.test_apps.iter().any(|a| a == app) {
        return AppOutcome::Test;
    }
    if earlier.without_models_module.iter().any(|a| a == app) {
        return AppOutcome::WithoutModule;
    }
    if let Some((_, why)) = earlier.skipped_apps.iter().find(|(a, _)| a == app) {
        return AppOutcome::Skipped(why.clone());
    }
    AppOutcome::Compared(
        earlier
            .outcomes
            .iter()
            .filter(|o| o.app == app)
            .cloned()
            .collect(),
    )
}

/// What comparing one app gave.
enum AppOutcome {
    Test,
    WithoutModule,
    Skipped(String),
    Compared(Vec<ModelOutcome>),
}

fn compare_app(
    app: &str,
    declared: &Declared,
    finals: &BTreeMap<&ModelKey, &ModelDef>,
    input: &Input<'_>,
) -> AppOutcome {
    if is_test_app(app, input) {
        return AppOutcome::Test;
    }
    let here = declared.models.iter().any(|m| m.app == app);
    if declared.without_module.contains(app) && !here {
        return AppOutcome::WithoutModule;
    }
    if let Some(why) = app_uncertain(app, input) {
        return AppOutcome::Skipped(why);
    }
    let mut declared_here: BTreeMap<ModelKey, &DeclaredModel> = BTreeMap::new();
    for m in declared.models.iter().filter(|m| m.app == app) {
        declared_here.insert(m.key(), m);
    }
    let state_here: BTreeMap<&ModelKey, &ModelDef> = finals
        .iter()
        .filter(|(k, _)| k.0 == app)
        .map(|(k, v)| (*k, *v))
        .collect();
    let mut keys: BTreeSet<ModelKey> = declared_here.keys().cloned().collect();
    keys.extend(state_here.keys().map(|k| (*k).clone()));
    let mut class_names: Option<BTreeSet<String>> = None;
    let mut out = Vec::new();
    for key in keys {
        let d = declared_here.get(&key).copied();
        let s = state_here.get(&key).copied();
        let outcome = match (d, s) {
            (Some(d), None) => added(d, &key, input),
            (None, Some(s)) => {
                let names = class_names.get_or_insert_with(|| (input.classes_in_app)(app));
                removed(s, &key, declared, names, input)
            }
            (Some(d), Some(s)) => compare_model(d, s, declared, input),
            (None, None) => continue,
        };
        out.push(outcome);
    }
    AppOutcome::Compared(out)
}

/// An app of a test suite: its package is under a `tests`/`test` folder (or is one),
/// and INSTALLED_APPS does not confirm it is installed where `makemigrations` runs.
fn is_test_app(app: &str, input: &Input<'_>) -> bool {
    input.apps.iter().filter(|a| a.label == app).any(|a| {
        let Some(dir) = &a.dir else { return false };
        if input.installed_dirs.contains(dir) {
            return false;
        }
        dir.split('/').any(|seg| {
            matches!(
                seg,
                "tests"
                    | "test"
                    | "testapp"
                    | "testapps"
                    | "test_app"
                    | "testproject"
                    | "test_project"
            ) || seg.starts_with("tests_")
                || seg.starts_with("test_")
        })
    })
}

/// Why an app's final state is not known.
fn app_uncertain(app: &str, input: &Input<'_>) -> Option<String> {
    let g = input.graph;
    if g.uncertain_apps.contains(app) {
        return Some("its migration graph is not certain (see the MIG findings)".to_owned());
    }
    if g.leaf_nodes(app).len() > 1 {
        return Some("it has conflicting leaf migrations".to_owned());
    }
    let on_cycle: BTreeSet<usize> = g.cycles.iter().flatten().copied().collect();
    for n in g.app_nodes(app) {
        if g.nodes[n].removed {
            continue;
        }
        if on_cycle.contains(&n) {
            return Some("its migrations are on a dependency cycle".to_owned());
        }
        if let Some(Origin::Project(mi)) = g.nodes[n].origin {
            let m = &input.migrations[mi];
            if !m.readable {
                return Some(format!("migration `{}` can't be read", m.name));
            }
            if !m.operations_complete {
                return Some(format!(
                    "the operations of migration `{}` can't be read statically",
                    m.name
                ));
            }
            if !m.dependencies_complete {
                return Some(format!(
                    "the dependencies of migration `{}` can't be read statically",
                    m.name
                ));
            }
            if let Some(op) = unknown_state_operation(&m.operations) {
                return Some(format!(
                    "migration `{}` has an operation djcheck can't read (`{op}`), which may change any model of the app",
                    m.name
                ));
            }
        }
    }
    None
}

/// Operations of libraries that change no model (extensions, collations, markers).
const NO_STATE_OPERATIONS: &[&str] = &[
    "CreateExtension",
    "HStoreExtension",
    "CITextExtension",
    "TrigramExtension",
    "UnaccentExtension",
    "BtreeGinExtension",
    "BtreeGistExtension",
    "CryptoExtension",
    "BloomExtension",
    "CreateCollation",
    "RemoveCollation",
    "IgnoreMigration",
];

/// An operation djcheck does not decode, naming no model, on the state side of a
/// migration: it may change any model of the app.
fn unknown_state_operation(ops: &[crate::migration::Operation]) -> Option<String> {
    use crate::migration::OpKind;
    crate::migration::walk(ops)
        .into_iter()
        .filter(|w| w.state)
        .find_map(|w| match &w.op.kind {
            OpKind::Unknown { name, model: None } => {
                let n = name.clone().unwrap_or_else(|| "…".to_owned());
                (!NO_STATE_OPERATIONS.contains(&n.as_str())).then_some(n)
            }
            _ => None,
        })
}

fn outcome(app: &str, model: &str, span: Option<Span>) -> ModelOutcome {
    ModelOutcome {
        app: app.to_owned(),
        model: model.to_owned(),
        span,
        changes: Vec::new(),
        undecided: Vec::new(),
    }
}

fn added(d: &DeclaredModel, key: &ModelKey, input: &Input<'_>) -> ModelOutcome {
    let mut o = outcome(&d.app, &d.name, Some(d.span));
    if input.state.fields.is_uncertain(key) {
        o.undecided
            .push("an operation djcheck can't read may create it".to_owned());
        return o;
    }
    if d.kind.is_none() {
        o.undecided
            .push("whether it is a proxy or unmanaged can't be read".to_owned());
        return o;
    }
    o.changes.push(Change {
        kind: ChangeKind::ModelAdded,
        at: d.span,
        migration: None,
    });
    o
}

fn removed(
    s: &ModelDef,
    key: &ModelKey,
    declared: &Declared,
    classes: &BTreeSet<String>,
    input: &Input<'_>,
) -> ModelOutcome {
    let creation = input.state.creators(key).last().and_then(|c| {
        let m = input.migrations.get(c.migration)?;
        Some((c.migration, Span::new(m.file, c.name_range)))
    });
    let at = creation.map(|c| c.1).or_else(|| {
        input
            .migrations
            .get(s.created_by)
            .map(|m| Span::new(m.file, TextRange::default()))
    });
    let mut o = outcome(&s.app, &s.name, None);
    let Some(at) = at else {
        o.undecided
            .push("where it is created is not known".to_owned());
        return o;
    };
    if let Some(why) = declared.incomplete.get(&s.app) {
        o.undecided.push(format!(
            "the models of app `{}` may not all be read: {why}",
            s.app
        ));
        return o;
    }
    let lower = key.1.as_str();
    if let Some(why) = declared
        .maybe_models
        .values()
        .find_map(|names| names.get(lower))
    {
        o.undecided.push(format!(
            "a class of that name may be a model djcheck can't read: {why}"
        ));
        return o;
    }
    if classes.contains(lower) {
        o.undecided.push(
            "a class of that name is defined in the app's package, outside the modules Django imports for its models"
                .to_owned(),
        );
        return o;
    }
    if input.state.fields.is_uncertain(key) {
        o.undecided
            .push("an operation djcheck can't read may delete it".to_owned());
        return o;
    }
    if let Some(at) = (input.dynamic)() {
        o.undecided.push(format!(
            "the project creates models or fields at run time ({at})"
        ));
        return o;
    }
    o.changes.push(Change {
        kind: ChangeKind::ModelRemoved,
        at,
        migration: creation,
    });
    o
}

/// A model's kind in the state: `None` when `managed`/`proxy` are not literal.
fn state_kind(s: &ModelDef) -> Option<ModelKind> {
    let flag = |k: &str, default: bool| match s.option_value(k) {
        None | Some(PyValue::None) => Some(default),
        Some(PyValue::Bool(b)) => Some(*b),
        Some(_) => None,
    };
    Some(match (flag("managed", true)?, flag("proxy", false)?) {
        (false, _) => ModelKind::Unmanaged,
        (true, true) => ModelKind::Proxy,
        (true, false) => ModelKind::Concrete,
    })
}

/// The options Django's `AlterModelOptions` compares.
const ALTER_OPTION_KEYS: &[&str] = &[
    "base_manager_name",
    "default_manager_name",
    "default_related_name",
    "get_latest_by",
    "managed",
    "ordering",
    "permissions",
    "default_permissions",
    "select_on_save",
    "verbose_name",
    "verbose_name_plural",
];

fn compare_model(
    d: &DeclaredModel,
    s: &ModelDef,
    declared: &Declared,
    input: &Input<'_>,
) -> ModelOutcome {
    let mut o = outcome(&d.app, &d.name, Some(d.span));
    let exact = |p: &str| declared.definitions.contains(p);
    if !s.known {
        o.undecided
            .push("an operation djcheck can't read changes it in the migrations".to_owned());
        return o;
    }
    let (Some(new_kind), Some(old_kind)) = (d.kind, state_kind(s)) else {
        o.undecided
            .push("whether it is a proxy or unmanaged can't be read".to_owned());
        return o;
    };
    let opt_at = |name: &str| -> Span {
        d.options
            .as_ref()
            .ok()
            .and_then(|opts| opts.iter().find(|(k, _, _)| k == name))
            .and_then(|(_, _, s)| *s)
            .or(d.meta_span)
            .unwrap_or(d.span)
    };
    let options_label = input.migrations.get(s.options_by).map(|m| {
        let range = input.state.range_of(s.options_by, s.options_range);
        (s.options_by, Span::new(m.file, range))
    });
    let proxy_change = matches!(
        (old_kind, new_kind),
        (ModelKind::Proxy, ModelKind::Concrete) | (ModelKind::Concrete, ModelKind::Proxy)
    );
    if proxy_change {
        o.changes.push(Change {
            kind: ChangeKind::ModelKind {
                old: old_kind,
                new: new_kind,
            },
            at: opt_at("proxy"),
            migration: options_label,
        });
        return o;
    }

    // Options.
    match &d.options {
        Err(why) => o.undecided.push(format!("its `Meta` can't be read: {why}")),
        Ok(opts) => {
            let mut keys: Vec<&str> = ALTER_OPTION_KEYS.to_vec();
            keys.extend(["db_table", "db_table_comment"]);
            if new_kind == ModelKind::Concrete && old_kind == ModelKind::Concrete {
                keys.push("order_with_respect_to");
            }
            for k in keys {
                let new = opts.iter().find(|(n, _, _)| n == k).map(|(_, v, _)| v);
                let old = s.option_value(k);
                let none_like = |v: Option<&PyValue>| {
                    matches!(v, None | Some(PyValue::None))
                        && matches!(k, "db_table" | "db_table_comment" | "order_with_respect_to")
                };
                let same = match (new, old) {
                    (None, None) => Some(true),
                    _ if none_like(new) && none_like(old) => Some(true),
                    (Some(a), Some(b)) => py_eq(a, b, &exact),
                    (Some(v), None) | (None, Some(v)) => {
                        if v.has_unknown() {
                            None
                        } else {
                            Some(false)
                        }
                    }
                };
                match same {
                    Some(true) => {}
                    Some(false) => o.changes.push(Change {
                        kind: ChangeKind::Option {
                            name: k.to_owned(),
                            new: new.cloned(),
                            old: old.cloned(),
                        },
                        at: opt_at(k),
                        migration: options_label,
                    }),
                    None => o
                        .undecided
                        .push(format!("`Meta.{k}` can't be compared statically")),
                }
            }
        }
    }
    if !(new_kind == ModelKind::Concrete && old_kind == ModelKind::Concrete) {
        return o;
    }

    compare_fields(d, s, declared, input, &mut o);

    // unique_together, indexes, constraints, managers.
    if let Ok(opts) = &d.options {
        let opt = |k: &str| opts.iter().find(|(n, _, _)| n == k).map(|(_, v, _)| v);
        if opt("index_together").is_some() || !s.index_together.is_empty() {
            o.undecided.push(
                "`index_together` is compared only by the Django version that has it".to_owned(),
            );
        }
        match normalize_together(opt("unique_together")) {
            Some(new) => {
                let old: BTreeSet<Vec<String>> = s.unique_together.iter().cloned().collect();
                let newset: BTreeSet<Vec<String>> = new.iter().cloned().collect();
                let only_fewer = newset.is_subset(&old);
                if old != newset && only_fewer && (input.dynamic)().is_some() {
                    // A library adding fields at run time may add groups too.
                    o.undecided
                        .push("`Meta.unique_together` may be extended at run time".to_owned());
                } else if old != newset {
                    o.changes.push(Change {
                        kind: ChangeKind::UniqueTogether {
                            new,
                            old: s.unique_together.clone(),
                        },
                        at: opt_at("unique_together"),
                        migration: options_label,
                    });
                }
            }
            None => o
                .undecided
                .push("`Meta.unique_together` can't be read statically".to_owned()),
        }
        for constraints in [false, true] {
            let key = if constraints {
                "constraints"
            } else {
                "indexes"
            };
            let new: Option<Vec<PyValue>> = match opt(key) {
                None => Some(Vec::new()),
                Some(v) => v.items().map(|i| i.to_vec()),
            };
            let Some(new) = new else {
                o.undecided
                    .push(format!("`Meta.{key}` can't be read statically"));
                continue;
            };
            let auto = |c: &CallValue| index_name(d, c);
            let new: Vec<PyValue> = new
                .iter()
                .map(|p| django::deconstruct_part(p, &auto))
                .collect();
            let parts = if constraints {
                &s.constraints
            } else {
                &s.indexes
            };
            let old: Vec<PyValue> = parts
                .iter()
                .map(|p| django::deconstruct_part(&p.value, &|_| None))
                .collect();
            match multiset_diff(&new, &old, &exact) {
                Some((added, mut removed)) => {
                    if !removed.is_empty() && (input.dynamic)().is_some() {
                        o.undecided
                            .push(format!("`Meta.{key}` may be extended at run time"));
                        removed.clear();
                    }
                    if !added.is_empty() || !removed.is_empty() {
                        o.changes.push(Change {
                            kind: ChangeKind::Parts {
                                constraints,
                                added,
                                removed,
                            },
                            at: opt_at(key),
                            migration: options_label,
                        });
                    }
                }
                None => o
                    .undecided
                    .push(format!("`Meta.{key}` can't be compared statically")),
            }
        }
    }
    match &d.managers {
        Err(why) => o
            .undecided
            .push(format!("its managers can't be compared: {why}")),
        Ok(new) => match py_eq(new, &s.managers, &exact) {
            Some(true) => {}
            Some(false) => o.changes.push(Change {
                kind: ChangeKind::Managers {
                    new: new.clone(),
                    old: s.managers.clone(),
                },
                at: d.span,
                migration: options_label,
            }),
            None => o
                .undecided
                .push("its managers can't be compared statically".to_owned()),
        },
    }
    o
}

/// Django's `normalize_together` of a `Meta.unique_together` value; `None` when not
/// literal.
fn normalize_together(v: Option<&PyValue>) -> Option<Vec<Vec<String>>> {
    let Some(v) = v else {
        return Some(Vec::new());
    };
    if *v == PyValue::None {
        return Some(Vec::new());
    }
    let items = match v {
        PyValue::List(i) | PyValue::Tuple(i) => i,
        _ => return None,
    };
    if items.is_empty() {
        return Some(Vec::new());
    }
    let groups: Vec<&PyValue> =
        if items[0].items().is_some() && !matches!(items[0], PyValue::Set(_)) {
            items.iter().collect()
        } else {
            vec![v]
        };
    let mut out = Vec::new();
    for g in groups {
        let names = match g {
            PyValue::List(i) | PyValue::Tuple(i) => i,
            _ => return None,
        };
        out.push(
            names
                .iter()
                .map(|n| n.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()?,
        );
    }
    Some(out)
}

/// Items of `new` not in `old`, and of `old` not in `new`, by Python equality; `None`
/// when an equality can't be decided.
fn multiset_diff(
    new: &[PyValue],
    old: &[PyValue],
    exact: &dyn Fn(&str) -> bool,
) -> Option<(Vec<PyValue>, Vec<PyValue>)> {
    let mut used = vec![false; old.len()];
    let mut added = Vec::new();
    for n in new {
        let mut found = false;
        for (j, x) in old.iter().enumerate() {
            if used[j] {
                continue;
            }
            if py_eq(n, x, exact)? {
                used[j] = true;
                found = true;
                break;
            }
        }
        if !found {
            added.push(n.clone());
        }
    }
    let removed = old
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(x, _)| x.clone())
        .collect();
    Some((added, removed))
}

/// The name Django gives an index declared without one (`Index.set_name_with_model`).
fn index_name(d: &DeclaredModel, c: &CallValue) -> Option<String> {
    let suffix = django::index_suffix(&c.path)?;
    if !c.args.is_empty() {
        return None;
    }
    let fields = c.kw("fields")?.items()?;
    let table = match d.option("db_table") {
        Some(PyValue::Str(t)) => t.clone(),
        None | Some(PyValue::None) => d.default_table.clone(),
        Some(_) => return None,
    };
    if table.contains('"') {
        return None;
    }
    let declared = d.fields.as_ref().ok()?;
    let mut columns = Vec::new();
    let mut with_order = Vec::new();
    for f in fields {
        let name = f.as_str()?;
        let (bare, desc) = match name.strip_prefix('-') {
            Some(n) => (n, true),
            None => (name, false),
        };
        let field = declared.iter().find(|x| x.name == bare)?;
        let column = column_of(field)?;
        with_order.push(if desc {
            format!("-{column}")
        } else {
            column.clone()
        });
        columns.push(column);
    }
    let first = columns.first()?;
    let mut hash_data: Vec<&str> = vec![&table];
    hash_data.extend(with_order.iter().map(String::as_str));
    hash_data.push(suffix);
    let digest = md5::hex(&hash_data);
    let table_part: String = table.chars().take(11).collect();
    let col_part: String = first.chars().take(7).collect();
    let mut name = format!("{table_part}_{col_part}_{}_{suffix}", &digest[..6]);
    if name.len() > 27 + suffix.len() {
        return None;
    }
    if name.starts_with('_') || name.chars().next().is_some_and(|ch| ch.is_ascii_digit()) {
        name = format!("D{}", &name[1..]);
    }
    Some(name)
}

/// A field's column: `db_column`, else its name (with `_id` for a foreign key).
fn column_of(f: &DeclaredField) -> Option<String> {
    match f.call.kw("db_column") {
        Some(PyValue::Str(c)) => return Some(c.clone()),
        Some(PyValue::None) | None => {}
        Some(_) => return None,
    }
    let class = f.class.path();
    let fk = matches!(
        class.rsplit('.').next(),
        Some("ForeignKey" | "OneToOneField")
    ) || matches!(&f.class, FieldClass::Custom { base, .. } if base.ends_with("ForeignKey") || base.ends_with("OneToOneField"));
    if matches!(f.class, FieldClass::Opaque(_)) {
        return None;
    }
    Some(if fk {
        format!("{}_id", f.name)
    } else {
        f.name.clone()
    })
}

/// A field's deconstruction on one side, or its call as written when its class is not
/// one djcheck deconstructs.
enum Dec {
    Known(Deconstructed),
    Raw(CallValue),
    Unknown(String),
}

fn compare_fields(
    d: &DeclaredModel,
    s: &ModelDef,
    declared: &Declared,
    input: &Input<'_>,
    o: &mut ModelOutcome,
) {
    let fields = match &d.fields {
        Ok(f) => f,
        Err(why) => {
            o.undecided
                .push(format!("its fields can't all be read: {why}"));
            return;
        }
    };
    let exact = |p: &str| declared.definitions.contains(p);
    let maybe: BTreeSet<&str> = d.maybe_fields.iter().map(|(n, _)| n.as_str()).collect();
    for (n, _) in &d.maybe_fields {
        if s.field(n).is_some() || !fields.iter().any(|f| f.name == *n) {
            o.undecided
                .push(format!("`{n}` is bound to something that may be a field"));
        }
    }
    let own_key = d.key();
    let own_label = format!("{}.{}", own_key.0, own_key.1);
    let user = input.user_model.clone();
    // The models side: relations resolved to the labels Django writes.
    let to_new = |v: &PyValue| -> PyValue {
        match v {
            PyValue::Ref(p) => match declared.labels.get(p) {
                Some((label, _)) => PyValue::Str(label.clone()),
                None => match django::contrib_model_label(p) {
                    Some(l) => PyValue::Str(l.to_owned()),
                    // A library's model: by Django's default, its app's label is the
                    // package holding `models` (an AppConfig may set another).
                    None => match p.rsplit_once('.') {
                        Some((module, model)) if !declared.definitions.contains(p) => {
                            let package = module.strip_suffix(".models").unwrap_or(module);
                            let label = package.rsplit('.').next().unwrap_or(package);
                            PyValue::Likely(Box::new(PyValue::Str(format!(
                                "{label}.{}",
                                model.to_ascii_lowercase()
                            ))))
                        }
                        _ => PyValue::Unknown,
                    },
                },
            },
            PyValue::Str(s) if s == "self" => PyValue::Str(own_label.clone()),
            PyValue::Str(s) => PyValue::Str(match s.split_once('.') {
                Some((a, m)) => format!("{a}.{}", m.to_ascii_lowercase()),
                None => format!("{}.{}", own_key.0, s.to_ascii_lowercase()),
            }),
            PyValue::Setting(name) if name == "AUTH_USER_MODEL" => match &user {
                Some(u) => PyValue::Str(u.clone()),
                None => v.clone(),
            },
            _ => PyValue::Unknown,
        }
    };
    let through_new = |v: &PyValue| -> PyValue {
        let key = match v {
            PyValue::Ref(p) => declared.labels.get(p).map(|(l, n)| (l.clone(), n.clone())),
            PyValue::Str(s) => {
                let (app, model) = match s.split_once('.') {
                    Some((a, m)) => (a.to_owned(), m.to_owned()),
                    None => (own_key.0.clone(), s.clone()),
                };
                let k = (app.clone(), model.to_ascii_lowercase());
                declared
                    .models
                    .iter()
                    .find(|m| m.key() == k)
                    .map(|m| (format!("{}.{}", k.0, k.1), m.name.clone()))
            }
            _ => None,
        };
        match key {
            Some((label, name)) => {
                let app = label.split_once('.').map_or(label.as_str(), |x| x.0);
                PyValue::Str(format!("{app}.{name}"))
            }
            None => PyValue::Unknown,
        }
    };
    let pk_new = |to: &PyValue, tf: &PyValue| -> Option<bool> {
        let PyValue::Str(label) = to_new(to) else {
            return None;
        };
        let (a, m) = label.split_once('.')?;
        let pk = declared.pks.get(&(a.to_owned(), m.to_owned()))?;
        Some(tf.as_str()? == pk)
    };
    let cx_new = RelationCx {
        to: &to_new,
        through: &through_new,
        to_field_is_pk: &pk_new,
    };
    let to_old = |v: &PyValue| -> PyValue {
        match v {
            PyValue::Str(s) => PyValue::Str(match s.split_once('.') {
                Some((a, m)) => format!("{a}.{}", m.to_ascii_lowercase()),
                None => s.to_ascii_lowercase(),
            }),
            PyValue::Setting(name) if name == "AUTH_USER_MODEL" => match &user {
                Some(u) => PyValue::Str(u.clone()),
                None => v.clone(),
            },
            _ => PyValue::Unknown,
        }
    };
    let through_old = |v: &PyValue| v.clone();
    let pk_old = |_: &PyValue, _: &PyValue| Some(false);
    let cx_old = RelationCx {
        to: &to_old,
        through: &through_old,
        to_field_is_pk: &pk_old,
    };

    let dec_new = |f: &DeclaredField| -> Dec {
        match &f.class {
            FieldClass::Django(p) => match django::deconstruct(p, p, &f.call, &cx_new) {
                Ok(x) => Dec::Known(x),
                Err(e) => Dec::Unknown(e.to_owned()),
            },
            FieldClass::Custom { path, base } => {
                match django::deconstruct(base, path, &f.call, &cx_new) {
                    Ok(x) => Dec::Known(x),
                    Err(e) => Dec::Unknown(e.to_owned()),
                }
            }
            FieldClass::Opaque(p) if p.is_empty() => {
                Dec::Unknown("`DEFAULT_AUTO_FIELD` can't be read".to_owned())
            }
            FieldClass::Opaque(_) => Dec::Raw(f.call.clone()),
        }
    };
    let dec_old = |f: &FieldDef, new_class: Option<&FieldClass>| -> Dec {
        let call = &f.field.call;
        if call.path.is_empty() {
            return Dec::Unknown("its class can't be read in the migration".to_owned());
        }
        if let Some(p) = django::known_field_class(&call.path) {
            return match django::deconstruct(p, p, call, &cx_old) {
                Ok(x) => Dec::Known(x),
                Err(e) => Dec::Unknown(e.to_owned()),
            };
        }
        if let Some(FieldClass::Custom { path, base }) = new_class {
            if *path == call.path {
                return match django::deconstruct(base, path, call, &cx_old) {
                    Ok(x) => Dec::Known(x),
                    Err(e) => Dec::Unknown(e.to_owned()),
                };
            }
        }
        Dec::Raw((**call).clone())
    };

    let new_names: BTreeSet<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let old_names: BTreeSet<&str> = s.fields.iter().map(|f| f.name.as_str()).collect();
    let mut removed: Vec<&FieldDef> = s
        .fields
        .iter()
        .filter(|f| !new_names.contains(f.name.as_str()) && !maybe.contains(f.name.as_str()))
        .map(|f| &**f)
        .collect();
    let mut added: Vec<&DeclaredField> = fields
        .iter()
        .filter(|f| !old_names.contains(f.name.as_str()) && !maybe.contains(f.name.as_str()))
        .collect();
    // Fields added at run time (a translation library's `title_en`, `add_to_class`) are
    // in the migrations but in no class body: nothing is reported removed then.
    if !removed.is_empty() {
        if let Some(at) = (input.dynamic)() {
            for r in &removed {
                o.undecided.push(format!(
                    "field `{}` is not declared, and the project adds fields at run time ({at})",
                    r.name
                ));
            }
            removed.clear();
        }
    }
    // Renames: one removed and one added with the same definition.
    let mut renames: Vec<(&FieldDef, &DeclaredField)> = Vec::new();
    for r in removed.clone() {
        let candidates: Vec<&DeclaredField> = added
            .iter()
            .copied()
            .filter(|a| {
                matches!(
                    same(&dec_new(a), &dec_old(r, Some(&a.class)), &exact),
                    Some(true)
                )
            })
            .collect();
        if let [a] = candidates.as_slice() {
            renames.push((r, a));
        }
    }
    for (r, a) in &renames {
        removed.retain(|x| !std::ptr::eq(*x, *r));
        added.retain(|x| !std::ptr::eq(*x, *a));
        o.changes.push(Change {
            kind: ChangeKind::FieldRenamed {
                old: r.name.clone(),
                new: a.name.clone(),
            },
            at: a.span,
            migration: field_label(input, r),
        });
    }
    for r in removed {
        o.changes.push(Change {
            kind: ChangeKind::FieldRemoved(r.name.clone()),
            at: d.span,
            migration: field_label(input, r),
        });
    }
    for a in added {
        o.changes.push(Change {
            kind: ChangeKind::FieldAdded(a.name.clone()),
            at: a.span,
            migration: None,
        });
    }
    for f in fields {
        if maybe.contains(f.name.as_str()) {
            continue;
        }
        let Some(old) = s.fields.iter().find(|x| x.name == f.name) else {
            continue;
        };
        let new = dec_new(f);
        let oldd = dec_old(old, Some(&f.class));
        let version_dependent = matches!(f.origin, FieldOrigin::DjangoAbstract(_));
        match (&new, &oldd) {
            (Dec::Known(n), Dec::Known(x)) => {
                let m2m = |p: &str| p.ends_with("ManyToManyField");
                if n.path != x.path {
                    let both_django = django::known_field_class(&n.path).is_some()
                        && django::known_field_class(&x.path).is_some();
                    if both_django && !version_dependent {
                        o.changes.push(Change {
                            kind: ChangeKind::FieldClass {
                                field: f.name.clone(),
                                old: x.path.clone(),
                                new: n.path.clone(),
                            },
                            at: f.span,
                            migration: field_label(input, old),
                        });
                    } else {
                        o.undecided.push(format!(
                            "field `{}`: its class differs, and its construction is not known",
                            f.name
                        ));
                    }
                    let _ = m2m;
                    continue;
                }
                let mut diffs = Vec::new();
                let mut unknown = false;
                let keys: BTreeSet<&String> = n.kwargs.keys().chain(x.kwargs.keys()).collect();
                for k in keys {
                    let (a, b) = (n.kwargs.get(k), x.kwargs.get(k));
                    let eq = match (a, b) {
                        (Some(a), Some(b)) => py_eq(a, b, &exact),
                        (Some(v), None) | (None, Some(v)) => {
                            if matches!(v, PyValue::Unknown) {
                                None
                            } else {
                                Some(false)
                            }
                        }
                        (None, None) => Some(true),
                    };
                    match eq {
                        Some(true) => {}
                        Some(false) => diffs.push((k.clone(), a.cloned(), b.cloned())),
                        None => unknown = true,
                    }
                }
                if !diffs.is_empty() && !version_dependent {
                    o.changes.push(Change {
                        kind: ChangeKind::FieldArgs {
                            field: f.name.clone(),
                            diffs,
                        },
                        at: f.span,
                        migration: field_label(input, old),
                    });
                } else if !diffs.is_empty() || unknown {
                    o.undecided
                        .push(format!("field `{}` can't be compared statically", f.name));
                }
            }
            (Dec::Unknown(why), _) | (_, Dec::Unknown(why)) => {
                o.undecided.push(format!("field `{}`: {why}", f.name));
            }
            (a, b) => {
                let (pa, aa, ka) = raw_parts(a);
                let (pb, ab, kb) = raw_parts(b);
                let eq = if pa == pb {
                    let args = py_eq(&PyValue::List(aa), &PyValue::List(ab), &exact);
                    let kw = py_eq(&PyValue::Dict(ka), &PyValue::Dict(kb), &exact);
                    match (args, kw) {
                        (Some(true), Some(true)) => Some(true),
                        _ => None,
                    }
                } else {
                    None
                };
                if eq != Some(true) {
                    o.undecided.push(format!(
                        "field `{}` has a class whose construction djcheck does not know",
                        f.name
                    ));
                }
            }
        }
    }
}

/// A field's path, positional and keyword arguments, as values.
fn raw_parts(d: &Dec) -> (String, Vec<PyValue>, Vec<(PyValue, PyValue)>) {
    match d {
        Dec::Known(x) => (
            x.path.clone(),
            Vec::new(),
            x.kwargs
                .iter()
                .map(|(k, v)| (PyValue::Str(k.clone()), v.clone()))
                .collect(),
        ),
        Dec::Raw(c) => (
            c.path.clone(),
            c.args.clone(),
            c.kwargs
                .iter()
                .map(|(k, v)| (PyValue::Str(k.clone()), v.clone()))
                .collect(),
        ),
        Dec::Unknown(_) => (String::new(), vec![PyValue::Unknown], Vec::new()),
    }
}

/// Whether two deconstructions are the same (for renames).
fn same(a: &Dec, b: &Dec, exact: &dyn Fn(&str) -> bool) -> Option<bool> {
    match (a, b) {
        (Dec::Known(x), Dec::Known(y)) => {
            if x.path != y.path || x.kwargs.len() != y.kwargs.len() {
                return Some(false);
            }
            let mut out = Some(true);
            for (k, v) in &x.kwargs {
                let Some(w) = y.kwargs.get(k) else {
                    return Some(false);
                };
                match py_eq(v, w, exact) {
                    Some(true) => {}
                    Some(false) => return Some(false),
                    None => out = None,
                }
            }
            out
        }
        _ => None,
    }
}

/// The migration that last set a field, and the field's call in it.
fn field_label(input: &Input<'_>, f: &FieldDef) -> Option<(usize, Span)> {
    let m = input.migrations.get(f.set_by)?;
    let range = input.state.range_of(f.set_by, f.field.range);
    Some((f.set_by, Span::new(m.file, range)))
}
