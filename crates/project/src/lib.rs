//! The project model: what djcheck knows about a Django project, built once, read-only.
//!
//! What it is: discovery ([`discover`]), settings read with the static evaluator
//! ([`settings`], on `djcheck_pyeval`), apps and their labels, migrations decoded into
//! typed facts ([`migration`]), the migration graph built as Django builds it
//! ([`graph`]), the URL tree ([`urls`]), and what could not be analysed ([`report`]).
//! Every fact carries its file and byte range. The loading pipeline is [`load()`] (in
//! `load.rs`); this file holds the model's types.
//!
//! What it must never depend on: the rules, the rule runner, the config file format or
//! the CLI. It reads files (only through [`fs`]) and never prints.
//!
//! Entry point: [`load()`]. Architecture invariants: loading never fails on input (a file
//! that can't be read or parsed becomes a [`FileProblem`] and the rest is still
//! analysed; only a usage error, such as `--settings` naming nothing, is a
//! [`LoadError`]); syntax trees live only while their file is visited ([`FileVisitor`]),
//! so memory stays flat on large projects; all parsing happens on the caller's
//! (large-stack) threads.

pub mod base;
pub mod cache;
pub mod contrib;
pub mod deploy;
pub mod discover;
pub mod facts;
pub mod fs;
pub mod git;
pub mod graph;
mod load;
pub mod migration;
pub mod models;
pub mod modules;
pub mod pyvalue;
pub mod renames;
pub mod report;
pub mod runcache;
pub mod settings;
pub mod state;
pub mod timings;
pub mod urls;
mod venv;

pub use load::{
    cache_key, load, load_with_cache, open_cache, parse_checked, reload, LoadError, Reusable,
};

pub use djcheck_sql::SqlDialect;

use djcheck_diagnostics::{Diagnostic, FileId, SourceDb, Span};
use djcheck_python::{Limits, ParsedModule, SyntaxError};
use graph::{AppUniverse, Graph};
use migration::Migration;
use settings::Settings;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// What a file is to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Migration,
    Settings,
    AppConfig,
    Entrypoint,
    /// A URL module (or a module it imports).
    Urls,
    /// A models module (or a module it imports).
    Models,
    /// Another Python module (read for the URL names it reverses).
    Source,
    /// A template (read for its `{% url %}` tags).
    Template,
    /// A path met while walking (a symlink loop, an unreadable folder).
    Walk,
}

impl FileRole {
    pub fn describe(self) -> &'static str {
        match self {
            FileRole::Migration => "migration",
            FileRole::Settings => "settings module",
            FileRole::AppConfig => "app configuration",
            FileRole::Entrypoint => "entry point",
            FileRole::Urls => "URL configuration",
            FileRole::Models => "models module",
            FileRole::Source => "Python module",
            FileRole::Template => "template",
            FileRole::Walk => "path",
        }
    }
}

/// A file that could not be analysed.
#[derive(Debug, Clone)]
pub struct FileProblem {
    pub file: FileId,
    pub role: FileRole,
    pub kind: ProblemKind,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub enum ProblemKind {
    Syntax(Vec<SyntaxError>),
    Unreadable {
        message: String,
        offset: Option<usize>,
    },
    TooDeep {
        limit: usize,
        /// The first node past the limit.
        at: djcheck_python::TextRange,
    },
}

/// A Django app of the project.
#[derive(Debug, Clone)]
pub struct App {
    pub label: String,
    /// The app's package folder (relative), when the project has it.
    pub dir: Option<String>,
    /// The migrations package folder (relative).
    pub migrations_dir: String,
    /// Where the label was set (`label = "..."` in apps.py), if not the folder name.
    pub label_span: Option<Span>,
}

/// The options per-file rules may read: everything in [`FileContext`] that is not the
/// file itself. Cached per-file results are keyed by them (see [`cache`]), so a per-file
/// rule must read no other option.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct FileOptions {
    pub sql_dialect: SqlDialect,
    /// Schemas SQL may name besides `public`, `pg_catalog`, `information_schema`.
    pub allowed_schemas: Vec<String>,
}

/// Options rules read (from the config file and flags), resolved once.
#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    pub sql_dialect: SqlDialect,
    /// Schemas SQL may name besides `public`, `pg_catalog`, `information_schema`.
    pub allowed_schemas: Vec<String>,
    /// Dotted module of the root URLconf (config `root-urlconf`), overriding settings.
    pub root_urlconf: Option<String>,
    /// Files named on the command line (project-relative): the migrations among them are
    /// the deploy scope (see [`deploy`]).
    pub deploy_paths: Vec<String>,
    /// `--base REF` was given: the deploy scope is what was added since the base.
    pub deploy_since_base: bool,
    /// Config `deploy-safety-since`: app label (or `*`) to a migration name, number or
    /// date.
    pub deploy_safety_since: BTreeMap<String, String>,
    /// Config `require-lock-timeout`: lock-taking SQL must follow a `lock_timeout`.
    pub require_lock_timeout: bool,
}

impl AnalysisOptions {
    /// The options per-file rules see.
    pub fn file_options(&self) -> FileOptions {
        FileOptions {
            sql_dialect: self.sql_dialect,
            allowed_schemas: self.allowed_schemas.clone(),
        }
    }
}

/// How djcheck is asked to load a project.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    pub root: PathBuf,
    pub limits: Limits,
    /// Relative path to text that replaces the file on disk (an editor's unsaved buffer).
    pub overrides: BTreeMap<String, String>,
    /// A settings module (dotted) or file path, overriding discovery.
    pub settings: Option<String>,
    /// `app_label.ModelName`, overriding AUTH_USER_MODEL from settings.
    pub auth_user_model: Option<String>,
    /// Extra folders/files to skip, as gitignore-style globs relative to the root.
    pub exclude: Vec<String>,
    /// Skip only version-control folders and virtualenvs by default, not the rest of
    /// [`discover::SKIPPED_DIRS`] (the config's `exclude` replaces the defaults).
    pub no_default_excludes: bool,
    /// Labels of installed third-party apps that cannot be inspected (config
    /// `third-party-apps`): references to them are never reported.
    pub third_party_apps: Vec<String>,
    /// Options for the rules.
    pub analysis: AnalysisOptions,
    /// A git revision to compare with (rename detection and diff mode).
    pub base: git::Base,
    /// Do not read the models modules (no rule selected needs them).
    pub skip_models: bool,
    /// The persistent cache of per-file facts; `None` to read and parse everything.
    pub cache: Option<cache::CacheOptions>,
    /// Keep what a later check can take over when only migration files change
    /// ([`Project::reusable`], [`reload`]): a language server.
    pub reusable: bool,
}

/// The custom user model, as configured.
#[derive(Debug, Clone)]
pub struct UserModel {
    pub app: String,
    pub model: String,
    /// Where it was set, when it came from a settings file.
    pub span: Option<Span>,
}

/// Everything a per-file rule may look at while the file's syntax tree is alive: the
/// file, its decoded migration, [`FileOptions`], and the facts several rules share,
/// computed once on first use ([`facts`]: [`FileContext::run_python`]). Nothing
/// project-wide (settings, other files): per-file results are cached by exactly these
/// inputs.
pub struct FileContext<'a> {
    pub file: FileId,
    pub path: &'a str,
    pub text: &'a str,
    pub parsed: &'a ParsedModule,
    pub role: FileRole,
    pub migration: Option<&'a Migration>,
    pub options: &'a FileOptions,
    facts: facts::FileFacts<'a>,
}

impl<'a> FileContext<'a> {
    /// The context of one parsed file; `migration` is its decoded `Migration` class, if
    /// it has one.
    pub fn new(
        file: FileId,
        path: &'a str,
        text: &'a str,
        parsed: &'a ParsedModule,
        role: FileRole,
        migration: Option<&'a Migration>,
        options: &'a FileOptions,
    ) -> FileContext<'a> {
        FileContext {
            file,
            path,
            text,
            parsed,
            role,
            migration,
            options,
            facts: facts::FileFacts::default(),
        }
    }
}

/// What the per-file rules found.
#[derive(Debug, Default)]
pub struct FileFindings {
    pub diagnostics: Vec<Diagnostic>,
    /// Secrets found by detectors whose findings are not reported (not selected): masked
    /// in every snippet all the same.
    pub masked: Vec<Span>,
}

/// Called once per parsed file, on a worker thread, while its syntax tree exists.
pub trait FileVisitor: Sync {
    /// Pushes the file's findings. Returns false when they are incomplete (a rule
    /// failed): such results are not cached.
    fn visit(&self, cx: &FileContext<'_>, out: &mut FileFindings) -> bool;
}

/// A visitor that does nothing.
pub struct NoVisitor;
impl FileVisitor for NoVisitor {
    fn visit(&self, _: &FileContext<'_>, _: &mut FileFindings) -> bool {
        true
    }
}

/// The loaded project.
#[derive(Debug, Default)]
pub struct Project {
    pub root: PathBuf,
    pub db: SourceDb,
    pub problems: Vec<FileProblem>,
    pub settings: Settings,
    pub user_model: Option<UserModel>,
    pub apps: Vec<App>,
    /// Sorted by `(app, name)`.
    pub migrations: Vec<Migration>,
    /// Per migration (same index), the models it refers to ([`state::references`]),
    /// computed once for every rule that asks.
    pub references: Vec<Vec<state::ModelReference>>,
    pub graph: Graph,
    /// The model state over the graph, down to fields (see [`state`]).
    pub state: state::ModelState,
    /// The models declared in models.py compared with that state (see [`models`]).
    pub models: models::ModelsReport,
    pub universe: AppUniverse,
    pub options: AnalysisOptions,
    /// The URL tree from ROOT_URLCONF.
    pub urls: urls::UrlTree,
    /// The project at the base revision, with `--base` (or `HEAD` implicitly).
    pub base: Option<base::BaseSnapshot>,
    /// The migrations about to be deployed (the SAFE rules' scope).
    pub deploy: deploy::DeployScope,
    /// Modules of migrations packages that define no `Migration` (Django's loader
    /// refuses them), with the key they would have.
    pub without_migration_class: Vec<(FileId, migration::Key)>,
    /// Labels migrations name that no longer exist, and the apps they were renamed to.
    pub renames: renames::Renames,
    /// Number of files analysed.
    pub files_checked: usize,
    /// What was analysed, and what was not.
    pub report: report::ProjectReport,
    /// What the load read besides the source database (for the run cache).
    pub inputs: runcache::Inputs,
    /// What a later check can take over ([`LoadOptions::reusable`]).
    pub reusable: Option<Box<load::Reusable>>,
}

/// Drops `value` on a thread of its own: freeing a large part of a project (what a
/// reload replaces) takes milliseconds the caller need not wait for.
pub(crate) fn free<T: Send + 'static>(value: T) {
    let freed = std::thread::Builder::new()
        .name("djcheck-free".into())
        .spawn(move || drop(value));
    // No thread to be had: the value came back with the error and is dropped here.
    drop(freed);
}

/// The label used for `swappable_dependency(settings.AUTH_USER_MODEL)` when the user
/// model is not statically known: references to it are never reported.
pub const UNKNOWN_USER_APP: &str = "<AUTH_USER_MODEL>";

impl Project {
    pub fn migration(&self, key: &migration::Key) -> Option<&Migration> {
        self.migrations
            .binary_search_by(|m| {
                (m.app.as_str(), m.name.as_str()).cmp(&(key.0.as_str(), key.1.as_str()))
            })
            .ok()
            .map(|i| &self.migrations[i])
    }

    /// The model references of migration `i` ([`Project::references`]).
    pub fn references_of(&self, i: usize) -> &[state::ModelReference] {
        self.references.get(i).map_or(&[], Vec::as_slice)
    }

    pub fn app(&self, label: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.label == label)
    }

    pub fn path(&self, file: FileId) -> &str {
        &self.db.file(file).path
    }
}
