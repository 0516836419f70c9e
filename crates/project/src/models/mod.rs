//! The models the project declares, read from `models.py` (and the modules it imports)
//! without importing them, and their comparison with the state the migrations build:
//! what `makemigrations --check` reports, decided statically where the source allows.
//!
//! - [`read`] finds each app's models module, follows its imports of project modules,
//!   and reads every model class: bases (project abstract models and mixins, Django's
//!   abstract models), fields declared in the class body (their class and arguments as
//!   [`PyValue`]s), `Meta` options, managers. The static evaluator (`djcheck_pyeval`)
//!   resolves names across modules; class bodies are read from the syntax tree, with the
//!   evaluator resolving only names (the evaluator's settings and URL semantics are
//!   unchanged).
//! - [`compare`] compares each model with `final_models()` of the field-level state, the
//!   way Django's autodetector does (fields by their `deconstruct()`, options, indexes,
//!   constraints, managers), and says for each model whether the comparison was decided
//!   and, if not, why.
//!
//! Invariant: a difference is reported only when both sides are literal facts of the
//! source; anything else (a value computed at run time, a base class outside the
//! project, a field class whose construction is not known) makes that part undecided.

pub mod compare;
pub mod django;
mod md5;
mod read;

pub use compare::{Change, ChangeKind, ModelOutcome, ModelsReport};

use crate::pyvalue::{CallValue, PyValue};
use djcheck_diagnostics::Span;

/// How Django's autodetector sorts a model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// Managed, not a proxy: fields, options, indexes and constraints are compared.
    Concrete,
    /// `proxy = True`: only options are compared.
    Proxy,
    /// `managed = False`: only options are compared.
    Unmanaged,
}

/// The class of a declared field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldClass {
    /// One of Django's classes that djcheck deconstructs (canonical path).
    Django(&'static str),
    /// A class of the project that only subclasses one of those (no `__init__`,
    /// `deconstruct` or `contribute_to_class` of its own): deconstructed as that base,
    /// under its own path.
    Custom { path: String, base: &'static str },
    /// Any other field class (a library's, or one of the project's with its own
    /// construction): compared only with the very same arguments.
    Opaque(String),
}

impl FieldClass {
    /// The path `deconstruct()` reports.
    pub fn path(&self) -> &str {
        match self {
            FieldClass::Django(p) => p,
            FieldClass::Custom { path, .. } | FieldClass::Opaque(path) => path,
        }
    }
}

/// Where a declared field comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldOrigin {
    /// Declared in the model's own class body.
    Own,
    /// Copied from an abstract model of the project (its class name).
    Abstract(String),
    /// Copied from one of Django's abstract models (`AbstractUser`): what it holds
    /// depends on the Django version the project runs.
    DjangoAbstract(&'static str),
    /// The primary key Django adds (`id`).
    AutoPk,
    /// The link to a concrete parent (`<parent>_ptr`).
    ParentLink,
}

/// A field of a model as the model declares it.
#[derive(Debug, Clone)]
pub struct DeclaredField {
    pub name: String,
    /// The assignment in the class body (or the class name, for fields Django adds).
    pub span: Span,
    pub class: FieldClass,
    /// The call, with the class's canonical path.
    pub call: CallValue,
    pub origin: FieldOrigin,
}

/// A model class of the project.
#[derive(Debug, Clone)]
pub struct DeclaredModel {
    /// The app label (the containing app's, or `Meta.app_label`).
    pub app: String,
    pub name: String,
    /// The module defining the class.
    pub module: String,
    /// The class name in the class statement.
    pub span: Span,
    /// `None` when `proxy`/`managed` can't be read.
    pub kind: Option<ModelKind>,
    /// Local fields (with the primary key and parent links Django adds), or why they
    /// are not all known.
    pub fields: Result<Vec<DeclaredField>, String>,
    /// Class attributes bound to something that may be a field (a call of a library's
    /// class): a field of the migrations with that name is not compared, and no field
    /// is reported added or removed under that name.
    pub maybe_fields: Vec<(String, Span)>,
    /// `Meta` options Django keeps (`original_attrs`), with where each is set; or why
    /// they are not known.
    pub options: Result<Vec<(String, PyValue, Option<Span>)>, String>,
    /// Where `class Meta` is, for locating option differences.
    pub meta_span: Option<Span>,
    /// The managers Django's state would hold (`ModelState.from_model`); or why not known.
    pub managers: Result<PyValue, String>,
    /// The table name Django derives when `db_table` is not set, for index names.
    pub default_table: String,
}

impl DeclaredModel {
    pub fn key(&self) -> (String, String) {
        (self.app.clone(), self.name.to_ascii_lowercase())
    }

    pub fn option(&self, name: &str) -> Option<&PyValue> {
        self.options
            .as_ref()
            .ok()?
            .iter()
            .find(|(k, _, _)| k == name)
            .map(|(_, v, _)| v)
    }
}

/// Everything read from the models modules.
#[derive(Debug, Default)]
pub struct Declared {
    pub models: Vec<DeclaredModel>,
    /// Per app label: why its models may not all have been found (a models module that
    /// can't be read, a class defined under a condition...). A model of the migrations
    /// missing from `models` is then not reported.
    pub incomplete: std::collections::BTreeMap<String, String>,
    /// Apps with no models module: Django imports none for them, and what their
    /// migrations create is not compared (models declared elsewhere, or a partial tree).
    pub without_module: std::collections::BTreeSet<String>,
    /// Per app label: lowercased names of classes that may be models (a base outside
    /// the project, a class under a condition), with why they can't be read.
    pub maybe_models:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>,
    /// Canonical paths of project classes that are models, with their label
    /// `app.modelname` (lowercased model name) and name as written.
    pub labels: std::collections::BTreeMap<String, (String, String)>,
    /// Paths (`module.name`) that are definitions of the project (top-level functions
    /// and classes of the modules read).
    pub definitions: std::collections::BTreeSet<String>,
    /// The primary key name of each declared model (for `to_field`), by key.
    pub pks: std::collections::BTreeMap<(String, String), String>,
    /// Files of the modules read at module level: their top-level `X.add_to_class(...)`
    /// is resolved to the class it changes.
    pub read_files: std::collections::BTreeSet<String>,
    /// A top-level `add_to_class`/`contribute_to_class` whose class is not resolved:
    /// it may add a field to any model.
    pub unresolved_class_change: Option<String>,
    /// Where the project adds fields or models at run time, if anywhere: looked for in
    /// every module outside the migrations on first need, and kept with what was read
    /// (a re-check after edits to migrations reads the same modules).
    pub(crate) run_time_changes: std::sync::OnceLock<Option<String>>,
}

/// What the models modules declare, read before the comparison (reading needs no model
/// state: the loader reads them while the state is built).
pub(crate) enum ReadModels {
    /// The project overrides `makemigrations`: nothing to compare.
    Overridden(String),
    Read(Box<Declared>),
}

pub(crate) fn read_declared(
    ld: &mut crate::load::Loader<'_>,
    apps: &[crate::App],
    installed: &[crate::report::InstalledApp],
    settings: &crate::settings::Settings,
) -> ReadModels {
    // A project's own `makemigrations` may write migrations its own way.
    if let Some(cmd) = ld
        .files
        .iter()
        .find(|f| f.ends_with("/management/commands/makemigrations.py"))
    {
        return ReadModels::Overridden(cmd.clone());
    }
    ReadModels::Read(Box::new(read::read(ld, apps, installed, settings)))
}

/// Compares the models read with the migrations' final state.
#[allow(clippy::too_many_arguments)]
pub(crate) fn analyse(
    ld: &crate::load::Loader<'_>,
    declared: &ReadModels,
    apps: &[crate::App],
    installed: &[crate::report::InstalledApp],
    user_model: Option<&crate::UserModel>,
    migrations: &[crate::migration::Migration],
    graph: &crate::graph::Graph,
    state: &crate::state::ModelState,
    earlier: Option<(&ModelsReport, &std::collections::BTreeSet<String>)>,
) -> ModelsReport {
    let declared = match declared {
        ReadModels::Overridden(cmd) => {
            return ModelsReport {
                read: true,
                overridden: Some(cmd.clone()),
                ..ModelsReport::default()
            }
        }
        ReadModels::Read(d) => d,
    };
    let dynamic = || -> Option<String> {
        declared
            .run_time_changes
            .get_or_init(|| {
                if let Some(at) = &declared.unresolved_class_change {
                    return Some(at.clone());
                }
                for f in &ld.files {
                    if f.contains("/migrations/") || f.starts_with("migrations/") {
                        continue;
                    }
                    let Ok(text) = ld.read(f) else { continue };
                    // Top-level statements of the modules read are resolved there.
                    let nested_only = declared.read_files.contains(f);
                    if let Some(marker) = run_time_fields(&text, nested_only) {
                        return Some(format!("`{marker}` in {f}"));
                    }
                }
                None
            })
            .clone()
    };
    let installed_dirs: std::collections::BTreeSet<String> =
        installed.iter().filter_map(|i| i.dir.clone()).collect();
    let classes_in_app = |label: &str| -> std::collections::BTreeSet<String> {
        let mut out = std::collections::BTreeSet::new();
        for app in apps.iter().filter(|a| a.label == label) {
            let Some(dir) = &app.dir else { continue };
            let prefix = format!("{dir}/");
            for f in ld.files.range(prefix.clone()..) {
                let Some(rest) = f.strip_prefix(&prefix) else {
                    break;
                };
                if rest.starts_with("migrations/") || rest.contains("/migrations/") {
                    continue;
                }
                if let Ok(text) = ld.read(f) {
                    class_names(&text, &mut out);
                }
            }
        }
        out
    };
    let input = compare::Input {
        apps,
        migrations,
        graph,
        state,
        // Only a user model the settings (or the configuration) name: Django's default,
        // assumed when the settings read do not set it, may not be where makemigrations
        // runs.
        user_model: user_model
            .filter(|u| u.span.is_some() || ld.opts.auth_user_model.is_some())
            .map(|u| format!("{}.{}", u.app, u.model.to_ascii_lowercase())),
        classes_in_app: &classes_in_app,
        dynamic: &dynamic,
        installed_dirs,
        earlier,
    };
    compare::compare(declared, &input)
}

/// A call that adds fields or models to classes at run time, in a module's text:
/// `add_to_class`, `contribute_to_class` outside a field's own override, and the
/// registration calls of the libraries that do (django-modeltranslation, django-parler,
/// django-simple-history, django-mptt).
/// With `nested_only`, unindented lines are skipped (`add_to_class` there is resolved).
fn run_time_fields(text: &str, nested_only: bool) -> Option<&'static str> {
    for line in text.split(['\n', '\r']) {
        let l = line.trim_start();
        if l.starts_with('#') {
            continue;
        }
        // A top-level line of a module read is resolved there.
        let resolved = nested_only && l.len() == line.len();
        if resolved || l.starts_with("def ") {
            // Not a call adding a field; a library registration is still one.
        } else if l.contains("add_to_class(") {
            return Some("add_to_class");
        } else if l.contains("contribute_to_class(") && !l.contains("super(") {
            return Some("contribute_to_class");
        }
        for m in [
            "TranslationOptions",
            "TranslatedFields(",
            "HistoricalRecords(",
            "mptt.register(",
        ] {
            if l.contains(m) {
                return Some(m);
            }
        }
    }
    None
}

/// Lowercased names of the classes a module's text defines (`class Name(` or
/// `class Name:` at the start of a line, indented or not).
fn class_names(text: &str, out: &mut std::collections::BTreeSet<String>) {
    for line in text.split(['\n', '\r']) {
        let Some(rest) = line.trim_start().strip_prefix("class ") else {
            continue;
        };
        let name: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        if !name.is_empty() {
            out.insert(name.to_ascii_lowercase());
        }
    }
}
