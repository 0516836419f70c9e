//! The project model: what djcheck knows about a Django project, built once, read-only.
//!
//! What it is: discovery ([`discover`]), static settings ([`settings`]), apps and their
//! labels, migrations decoded into typed facts ([`migration`]), and the migration graph
//! built as Django builds it ([`graph`]). Every fact carries its file and byte range.
//!
//! What it must never depend on: the rules, the rule runner, the config file format or
//! the CLI. It reads files (only through [`fs`]) and never prints.
//!
//! Entry point: [`load`]. Architecture invariants: loading never fails on input (a file
//! that can't be read or parsed becomes a [`FileProblem`] and the rest is still analysed);
//! syntax trees live only while their file is visited ([`FileVisitor`]), so memory stays
//! flat on large projects; all parsing happens on the caller's (large-stack) threads.

pub mod base;
pub mod contrib;
pub mod discover;
pub mod fs;
pub mod git;
pub mod graph;
pub mod migration;
pub mod modules;
pub mod settings;
pub mod state;
pub mod urls;
mod venv;

use djcheck_diagnostics::{Diagnostic, FileId, SourceDb, Span};
use djcheck_python::ast::{Expr, Stmt};
use djcheck_python::{eval, Limits, ParsedModule, SyntaxError};
use graph::{AppUniverse, Graph};
use migration::{ExtractContext, Migration};
use modules::Modules;
use rayon::prelude::*;
use settings::{LoadedModule, Settings};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What a file is to the project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    Migration,
    Settings,
    AppConfig,
    Entrypoint,
    /// A URL module (or a module it imports).
    Urls,
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

#[derive(Debug, Clone)]
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

/// SQL dialect RunSQL is parsed as (config `sql-dialect`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SqlDialect {
    #[default]
    PostgreSql,
    MySql,
    Sqlite,
}

/// Options rules read (from the config file and flags), resolved once.
#[derive(Debug, Clone, Default)]
pub struct AnalysisOptions {
    pub sql_dialect: SqlDialect,
    /// Schemas SQL may name besides `public`, `pg_catalog`, `information_schema`.
    pub allowed_schemas: Vec<String>,
    /// Dotted module of the root URLconf (config `root-urlconf`), overriding settings.
    pub root_urlconf: Option<String>,
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
    pub base: Option<git::BaseRef>,
}

/// The custom user model, as configured.
#[derive(Debug, Clone)]
pub struct UserModel {
    pub app: String,
    pub model: String,
    /// Where it was set, when it came from a settings file.
    pub span: Option<Span>,
}

/// Everything a per-file rule may look at while the file's syntax tree is alive.
pub struct FileContext<'a> {
    pub file: FileId,
    pub path: &'a str,
    pub text: &'a str,
    pub parsed: &'a ParsedModule,
    pub role: FileRole,
    pub migration: Option<&'a Migration>,
    pub settings: &'a Settings,
    pub options: &'a AnalysisOptions,
}

/// Called once per parsed file, on a worker thread, while its syntax tree exists.
pub trait FileVisitor: Sync {
    fn visit(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>);
}

/// A visitor that does nothing.
pub struct NoVisitor;
impl FileVisitor for NoVisitor {
    fn visit(&self, _: &FileContext<'_>, _: &mut Vec<Diagnostic>) {}
}

/// The loaded project.
#[derive(Debug)]
pub struct Project {
    pub root: PathBuf,
    pub db: SourceDb,
    pub problems: Vec<FileProblem>,
    pub settings: Settings,
    pub user_model: Option<UserModel>,
    pub apps: Vec<App>,
    /// Sorted by `(app, name)`.
    pub migrations: Vec<Migration>,
    pub graph: Graph,
    pub universe: AppUniverse,
    pub options: AnalysisOptions,
    /// The URL tree from ROOT_URLCONF.
    pub urls: urls::UrlTree,
    /// The project at the base revision, with `--base`.
    pub base: Option<base::BaseSnapshot>,
    /// Number of files analysed.
    pub files_checked: usize,
}

impl Project {
    pub fn migration(&self, key: &migration::Key) -> Option<&Migration> {
        self.migrations
            .binary_search_by(|m| {
                (m.app.as_str(), m.name.as_str()).cmp(&(key.0.as_str(), key.1.as_str()))
            })
            .ok()
            .map(|i| &self.migrations[i])
    }

    pub fn app(&self, label: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.label == label)
    }

    pub fn path(&self, file: FileId) -> &str {
        &self.db.file(file).path
    }
}

/// Parses text, refusing trees nested deeper than the limit.
pub fn parse_checked(text: &str, limits: &Limits) -> Result<ParsedModule, ProblemKind> {
    let parsed = djcheck_python::parse_module(text);
    if let Some(at) = djcheck_python::too_deep_at(&parsed.module, limits.max_nesting) {
        return Err(ProblemKind::TooDeep {
            limit: limits.max_nesting,
            at,
        });
    }
    Ok(parsed)
}

/// What reading one migration file gives: its text, its facts, its problem, and the
/// per-file rules' diagnostics.
type JobResult = (
    Result<String, fs::ReadProblem>,
    Option<Migration>,
    Option<ProblemKind>,
    Vec<Diagnostic>,
);

struct Loader<'o> {
    opts: &'o LoadOptions,
    db: SourceDb,
    ids: BTreeMap<String, FileId>,
    problems: Vec<FileProblem>,
    files: BTreeSet<String>,
    modules: Modules,
    /// Real paths of files whose name is not valid UTF-8 ([`discover::Tree::os_paths`]).
    os_paths: BTreeMap<String, PathBuf>,
}

impl Loader<'_> {
    fn register(&mut self, rel: &str) -> FileId {
        if let Some(&id) = self.ids.get(rel) {
            return id;
        }
        let id = self.db.add(rel.to_owned(), String::new());
        self.ids.insert(rel.to_owned(), id);
        id
    }

    fn read(&self, rel: &str) -> Result<String, fs::ReadProblem> {
        if let Some(t) = self.opts.overrides.get(rel) {
            return Ok(t.clone());
        }
        match self.os_paths.get(rel) {
            Some(p) => fs::read_text(p, &self.opts.limits),
            None => fs::read_text(&self.opts.root.join(rel), &self.opts.limits),
        }
    }

    /// Reads and parses a file sequentially, recording its problems. `None` if unusable.
    fn load_parsed(&mut self, rel: &str, role: FileRole) -> Option<(FileId, ParsedModule)> {
        let already = self.ids.contains_key(rel);
        let id = self.register(rel);
        let result = self.read(rel);
        match result {
            Ok(text) => {
                let parsed = parse_checked(&text, &self.opts.limits);
                self.db.set_text(id, text);
                match parsed {
                    Ok(p) => {
                        if !p.errors.is_empty() && !already {
                            self.problems.push(FileProblem {
                                file: id,
                                role,
                                kind: ProblemKind::Syntax(p.errors.clone()),
                            });
                            return None;
                        }
                        (p.errors.is_empty()).then_some((id, p))
                    }
                    Err(kind) => {
                        if !already {
                            self.problems.push(FileProblem {
                                file: id,
                                role,
                                kind,
                            });
                        }
                        None
                    }
                }
            }
            Err(e) => {
                if let fs::ReadProblem::Decode(_, lossy) = &e {
                    self.db.set_text(id, lossy.clone());
                }
                if !already {
                    self.problems.push(FileProblem {
                        file: id,
                        role,
                        kind: unreadable(&e),
                    });
                }
                None
            }
        }
    }
}

fn unreadable(e: &fs::ReadProblem) -> ProblemKind {
    let offset = match e {
        fs::ReadProblem::Decode(djcheck_python::DecodeProblem::InvalidUtf8 { offset }, _)
        | fs::ReadProblem::Decode(djcheck_python::DecodeProblem::NulByte { offset }, _) => {
            Some(*offset)
        }
        _ => None,
    };
    ProblemKind::Unreadable {
        message: e.to_string(),
        offset,
    }
}

/// Builds the project model. Calls `visitor` for every parsed migration file.
///
/// Must run inside a rayon pool whose threads have large stacks.
pub fn load(opts: &LoadOptions, visitor: &dyn FileVisitor) -> (Project, Vec<Diagnostic>) {
    let root = opts.root.clone();
    let excludes = build_excludes(&root, &opts.exclude);
    let skip = if opts.no_default_excludes {
        discover::VCS_DIRS
    } else {
        discover::SKIPPED_DIRS
    };
    let tree = discover::walk_skipping(&root, skip, &|rel, is_dir| {
        excludes
            .as_ref()
            .is_some_and(|g| g.matched(root.join(rel), is_dir).is_ignore())
    });
    let mut files = tree.py_files.clone();
    for rel in opts.overrides.keys() {
        if rel.ends_with(".py") {
            files.insert(rel.clone());
        }
    }
    let modules = Modules::new(&files);
    let mut ld = Loader {
        opts,
        db: SourceDb::new(),
        ids: BTreeMap::new(),
        problems: Vec::new(),
        files,
        modules,
        os_paths: tree.os_paths.clone(),
    };
    for (path, msg) in &tree.problems {
        let id = ld.register(path);
        ld.problems.push(FileProblem {
            file: id,
            role: FileRole::Walk,
            kind: ProblemKind::Unreadable {
                message: msg.clone(),
                offset: None,
            },
        });
    }

    // Settings: explicit, from an entry point, or by file name.
    let settings_module = find_settings_module(&mut ld);
    let settings = match &settings_module {
        Some(m) => {
            let mut load = |module: &str| -> Option<LoadedModule> {
                let rel = ld.modules.resolve(&ld.files, module)?;
                let is_package = rel.ends_with("/__init__.py");
                let (file, parsed) = ld.load_parsed(&rel, FileRole::Settings)?;
                Some(LoadedModule {
                    file,
                    parsed,
                    is_package,
                })
            };
            settings::evaluate(m, &mut load)
        }
        None => Settings::default(),
    };

    let user_model = user_model(opts, &settings, settings_module.is_some());
    let user_app_label = match &user_model {
        Some(u) => u.app.clone(),
        None => UNKNOWN_USER_APP.to_owned(),
    };

    // Apps and their migration packages.
    let installed = installed_apps(&ld, &settings);
    let mut apps = discover_apps(&mut ld, &settings, installed.as_ref());

    // Migration files, read and parsed in parallel.
    let mut jobs: Vec<(String, String, String, FileId)> = Vec::new();
    for app in &apps {
        let prefix = format!("{}/", app.migrations_dir);
        for f in ld.files.range(prefix.clone()..) {
            let Some(rest) = f.strip_prefix(&prefix) else {
                break;
            };
            if rest.contains('/') {
                continue;
            }
            let Some(stem) = rest.strip_suffix(".py") else {
                continue;
            };
            if stem.starts_with('_') || stem.starts_with('~') {
                continue;
            }
            jobs.push((f.clone(), app.label.clone(), stem.to_owned(), FileId(0)));
        }
    }
    for j in &mut jobs {
        j.3 = ld.register(&j.0);
    }
    let cx = ExtractContext {
        user_app_label: &user_app_label,
    };
    let results: Vec<JobResult> = jobs
        .par_iter()
        .map(|(rel, app, name, id)| {
            let text = ld.read(rel);
            let Ok(t) = &text else {
                return (text, None, None, Vec::new());
            };
            match parse_checked(t, &opts.limits) {
                Err(kind) => (text, None, Some(kind), Vec::new()),
                Ok(parsed) => {
                    let mut diags = Vec::new();
                    if !parsed.errors.is_empty() {
                        let kind = ProblemKind::Syntax(parsed.errors.clone());
                        return (text, None, Some(kind), diags);
                    }
                    let m = migration::extract(*id, app, name, parsed.body(), &cx);
                    let fcx = FileContext {
                        file: *id,
                        path: rel,
                        text: t,
                        parsed: &parsed,
                        role: FileRole::Migration,
                        migration: m.class_range.is_some().then_some(&m),
                        settings: &settings,
                        options: &opts.analysis,
                    };
                    visitor.visit(&fcx, &mut diags);
                    (text, Some(m), None, diags)
                }
            }
        })
        .collect();

    let mut migrations = Vec::new();
    let mut diagnostics = Vec::new();
    let mut dirs_with_class: BTreeSet<String> = BTreeSet::new();
    let mut per_dir: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, ((rel, app, name, id), (text, m, problem, diags))) in
        jobs.iter().zip(results).enumerate()
    {
        let dir = rel
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned());
        per_dir.entry(dir.clone()).or_default().push(i);
        match text {
            Ok(t) => ld.db.set_text(*id, t),
            Err(e) => {
                if let fs::ReadProblem::Decode(_, lossy) = &e {
                    ld.db.set_text(*id, lossy.clone());
                }
                ld.problems.push(FileProblem {
                    file: *id,
                    role: FileRole::Migration,
                    kind: unreadable(&e),
                });
            }
        }
        if let Some(kind) = problem {
            ld.problems.push(FileProblem {
                file: *id,
                role: FileRole::Migration,
                kind,
            });
        }
        match m {
            Some(m) if m.class_range.is_some() => {
                dirs_with_class.insert(dir);
                migrations.push(m);
            }
            // A module without a Migration class: not a migration (Django would refuse
            // it; a package of such modules is not a migrations package at all).
            Some(_) => {}
            None => {
                if migration::migration_number(name).is_some() {
                    dirs_with_class.insert(dir);
                }
                migrations.push(Migration::opaque(*id, app, name));
            }
        }
        diagnostics.extend(diags);
    }
    // Drop "migrations" packages that hold no migration at all but do hold modules
    // (a library or test helpers that happen to be named so).
    let not_migration_dirs: BTreeSet<String> = per_dir
        .keys()
        .filter(|d| !dirs_with_class.contains(*d))
        .cloned()
        .collect();
    if !not_migration_dirs.is_empty() {
        let in_dropped = |f: FileId| {
            let p = &ld.db.file(f).path;
            p.rsplit_once('/')
                .is_some_and(|(d, _)| not_migration_dirs.contains(d))
        };
        migrations.retain(|m| !in_dropped(m.file));
        ld.problems.retain(|p| !in_dropped(p.file));
        diagnostics.retain(|d| d.primary.is_none_or(|s| !in_dropped(s.file)));
        apps.retain(|a| !not_migration_dirs.contains(&a.migrations_dir));
    }
    migrations
        .sort_by(|a, b| (a.app.as_str(), a.name.as_str()).cmp(&(b.app.as_str(), b.name.as_str())));

    // The app universe: what else is installed.
    let universe = app_universe(
        &ld,
        &tree,
        &apps,
        &migrations,
        installed.as_ref(),
        &settings,
    );
    let mut graph = graph::build(&migrations, &universe, &user_app_label);
    // Two packages sharing a label: Django refuses to start; the graph of that label is
    // not trustworthy.
    let mut seen = BTreeSet::new();
    for a in &apps {
        if !seen.insert(a.label.as_str()) {
            graph.uncertain_apps.insert(a.label.clone());
        }
    }

    // The URL tree (after everything else, so its extra reads never delay the graph).
    let urls = urls::build(&mut ld, &settings, &tree.templates);

    let files_checked = ld.db.len();
    let base_snapshot = opts
        .base
        .as_ref()
        .map(|b| base::snapshot(&opts.root, b, &apps, &user_app_label));
    let project = Project {
        root,
        db: ld.db,
        problems: ld.problems,
        settings,
        user_model,
        apps,
        migrations,
        graph,
        universe,
        options: opts.analysis.clone(),
        base: base_snapshot,
        urls,
        files_checked,
    };
    (project, diagnostics)
}

/// The label used for `swappable_dependency(settings.AUTH_USER_MODEL)` when the user
/// model is not statically known: references to it are never reported.
pub const UNKNOWN_USER_APP: &str = "<AUTH_USER_MODEL>";

fn build_excludes(root: &Path, globs: &[String]) -> Option<ignore::gitignore::Gitignore> {
    if globs.is_empty() {
        return None;
    }
    let mut b = ignore::gitignore::GitignoreBuilder::new(root);
    for g in globs {
        let _ = b.add_line(None, g);
    }
    b.build().ok()
}

fn find_settings_module(ld: &mut Loader<'_>) -> Option<String> {
    if let Some(s) = &ld.opts.settings {
        if s.ends_with(".py") {
            let rel = s.trim_start_matches("./").to_owned();
            return ld.modules.module_name(&rel);
        }
        return Some(s.clone());
    }
    // Entry points, shallowest first.
    let mut entry: Vec<String> = ld
        .files
        .iter()
        .filter(|f| {
            let name = f.rsplit('/').next().unwrap_or(f);
            matches!(name, "manage.py" | "wsgi.py" | "asgi.py")
        })
        .cloned()
        .collect();
    entry.sort_by_key(|f| (f.matches('/').count(), !f.ends_with("manage.py"), f.clone()));
    for e in entry {
        if let Some((_, parsed)) = ld.load_parsed(&e, FileRole::Entrypoint) {
            if let Some(m) = settings::settings_module_from_entrypoint(parsed.body()) {
                if ld.modules.resolve(&ld.files, &m).is_some() {
                    return Some(m);
                }
            }
        }
    }
    // By file name.
    let mut cands: Vec<(usize, u8, String)> = Vec::new();
    for f in &ld.files {
        let depth = f.matches('/').count();
        let prio = if f == "settings.py" || f.ends_with("/settings.py") {
            0
        } else if f.ends_with("/settings/__init__.py") {
            1
        } else if f.ends_with("/settings/base.py") {
            2
        } else if f.starts_with("config/settings") && f.ends_with(".py") {
            3
        } else {
            continue;
        };
        if f.split('/').any(|c| c == "tests" || c == "test") {
            continue;
        }
        cands.push((depth, prio, f.clone()));
    }
    cands.sort();
    for (_, _, f) in cands {
        if let Some(m) = ld.modules.module_name(&f) {
            return Some(m);
        }
    }
    None
}

fn user_model(opts: &LoadOptions, settings: &Settings, have_settings: bool) -> Option<UserModel> {
    let (value, span) = match &opts.auth_user_model {
        Some(v) => (v.clone(), None),
        None => match settings.get("AUTH_USER_MODEL") {
            Some(s) => match s.value.as_str() {
                Some(v) => (v.to_owned(), s.span),
                None => return None,
            },
            // Not set: Django's default, but only when the settings were read and no
            // unreadable star import could have set it.
            None if have_settings => ("auth.User".to_owned(), None),
            None => return None,
        },
    };
    let (app, model) = value.split_once('.')?;
    Some(UserModel {
        app: app.to_owned(),
        model: model.to_owned(),
        span,
    })
}

/// INSTALLED_APPS entries mapped to labels, and whether that list is complete.
struct Installed {
    labels: BTreeSet<String>,
    /// Package folders of project apps listed.
    dirs: BTreeSet<String>,
    /// Labels of the project apps listed (from their `apps.py`, else the folder name).
    project_labels: BTreeSet<String>,
    complete: bool,
}

fn installed_apps(ld: &Loader<'_>, settings: &Settings) -> Option<Installed> {
    let (entries, mut complete) = settings.str_list("INSTALLED_APPS")?;
    let mut labels = BTreeSet::new();
    let mut dirs = BTreeSet::new();
    let mut project_labels = BTreeSet::new();
    for e in entries {
        if let Some(l) = contrib::contrib_label_of_module(&e) {
            labels.insert(l.to_owned());
            continue;
        }
        // `pkg.apps.PkgConfig` names an AppConfig class: its module's package is the app.
        let module_path = if let Some(pos) = e.find(".apps.") {
            e[..pos].to_owned()
        } else {
            e.clone()
        };
        if let Some(dir) = ld.modules.resolve_package_dir(&ld.files, &module_path) {
            let label = venv::label_from_apps_py(&ld.opts.root.join(&dir).join("apps.py"))
                .unwrap_or_else(|| dir.rsplit('/').next().unwrap_or(&dir).to_owned());
            project_labels.insert(label);
            dirs.insert(dir);
            continue;
        }
        if e.rsplit('.')
            .next()
            .is_some_and(|l| l.chars().next().is_some_and(char::is_uppercase))
            && !e.contains(".apps.")
        {
            // An AppConfig class path we cannot map to a label.
            complete = false;
        }
        let label = module_path
            .rsplit('.')
            .next()
            .unwrap_or(&module_path)
            .to_owned();
        labels.insert(label);
    }
    Some(Installed {
        labels,
        dirs,
        project_labels,
        complete,
    })
}

fn label_from_apps_py(ld: &mut Loader<'_>, app_dir: &str) -> Option<(String, Span)> {
    label_from_module(ld, &format!("{app_dir}/apps.py"))
        // Some apps define their AppConfig in the package itself.
        .or_else(|| label_from_module(ld, &format!("{app_dir}/__init__.py")))
}

fn label_from_module(ld: &mut Loader<'_>, rel: &str) -> Option<(String, Span)> {
    let rel = rel.to_owned();
    if !ld.files.contains(&rel) {
        return None;
    }
    let (file, parsed) = ld.load_parsed(&rel, FileRole::AppConfig)?;
    let mut found: Vec<(bool, String, Span)> = Vec::new();
    for stmt in parsed.body() {
        let Stmt::ClassDef(c) = stmt else { continue };
        let is_config = c.arguments.as_ref().is_some_and(|a| {
            a.args
                .iter()
                .any(|b| eval::dotted_name(b).is_some_and(|d| d.ends_with("AppConfig")))
        });
        if !is_config {
            continue;
        }
        let mut label = None;
        let mut default = false;
        for s in &c.body {
            if let Stmt::Assign(a) = s {
                if let [Expr::Name(n)] = a.targets.as_slice() {
                    match n.id.as_str() {
                        "label" => {
                            label = eval::str_value(&a.value).map(|v| {
                                (
                                    v,
                                    Span::new(
                                        file,
                                        djcheck_python::Ranged::range(a.value.as_ref()),
                                    ),
                                )
                            })
                        }
                        "default" => default = eval::bool_value(&a.value) == Some(true),
                        _ => {}
                    }
                }
            }
        }
        if let Some((l, span)) = label {
            found.push((default, l, span));
        } else {
            found.push((default, String::new(), Span::new(file, c.name.range)));
        }
    }
    // Django 3.2+: the one AppConfig of apps.py, or the one marked `default = True`.
    let chosen = if found.len() == 1 {
        found.pop()
    } else {
        found.into_iter().find(|f| f.0)
    };
    chosen.and_then(|(_, l, s)| (!l.is_empty()).then_some((l, s)))
}

fn discover_apps(
    ld: &mut Loader<'_>,
    settings: &Settings,
    installed: Option<&Installed>,
) -> Vec<App> {
    let mut apps = Vec::new();
    let (moved, moved_complete) = settings.str_dict("MIGRATION_MODULES").unwrap_or_default();
    let _ = moved_complete;
    let moved_labels: BTreeMap<&str, Option<&str>> = moved
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_deref()))
        .collect();
    let candidates: Vec<String> = ld
        .files
        .iter()
        .filter_map(|f| f.strip_suffix("/migrations/__init__.py").map(str::to_owned))
        .collect();
    for app_dir in candidates {
        if let Some(inst) = installed {
            if inst.complete && !inst.dirs.contains(&app_dir) && !inst.dirs.is_empty() {
                // Not an installed app: Django never loads its migrations.
                continue;
            }
        }
        let (label, label_span) = match label_from_apps_py(ld, &app_dir) {
            Some((l, s)) => (l, Some(s)),
            None => (
                app_dir.rsplit('/').next().unwrap_or(&app_dir).to_owned(),
                None,
            ),
        };
        if moved_labels.contains_key(label.as_str()) {
            continue;
        }
        apps.push(App {
            label,
            migrations_dir: format!("{app_dir}/migrations"),
            dir: Some(app_dir),
            label_span,
        });
    }
    for (label, module) in moved_labels {
        let Some(module) = module else { continue };
        if let Some(dir) = ld.modules.resolve_package_dir(&ld.files, module) {
            apps.push(App {
                label: label.to_owned(),
                dir: None,
                migrations_dir: dir,
                label_span: None,
            });
        }
    }
    apps.sort_by(|a, b| {
        (a.label.as_str(), a.migrations_dir.as_str())
            .cmp(&(b.label.as_str(), b.migrations_dir.as_str()))
    });
    apps
}

fn app_universe(
    ld: &Loader<'_>,
    tree: &discover::Tree,
    apps: &[App],
    migrations: &[Migration],
    installed: Option<&Installed>,
    settings: &Settings,
) -> AppUniverse {
    let mut u = AppUniverse {
        project: apps.iter().map(|a| a.label.clone()).collect(),
        ..AppUniverse::default()
    };
    // Installed project apps without a migrations package, and apps whose migrations
    // MIGRATION_MODULES disables, are Django's "unmigrated" apps.
    if let Some(inst) = installed {
        for l in &inst.project_labels {
            if !u.project.contains(l) {
                u.unmigrated.insert(l.clone());
            }
        }
    }
    if let Some((moved, _)) = settings.str_dict("MIGRATION_MODULES") {
        for (label, module) in moved {
            if module.is_none() {
                u.project.remove(&label);
                u.unmigrated.insert(label);
            }
        }
    }
    let project_labels: BTreeSet<&str> = apps.iter().map(|a| a.label.as_str()).collect();
    let contrib_with_migrations: BTreeSet<&str> =
        contrib::CONTRIB_MIGRATIONS.iter().map(|m| m.0).collect();
    match installed {
        Some(inst) => {
            u.complete = inst.complete;
            for l in &inst.labels {
                if contrib::is_contrib_label(l) {
                    if contrib_with_migrations.contains(l.as_str()) {
                        u.contrib.insert(l.clone());
                    } else {
                        u.unmigrated.insert(l.clone());
                    }
                }
            }
        }
        None => {
            u.complete = false;
            u.contrib = contrib_with_migrations
                .iter()
                .map(|s| (*s).to_owned())
                .collect();
            for l in contrib::CONTRIB_LABELS {
                if !contrib_with_migrations.contains(l) {
                    u.unmigrated.insert((*l).to_owned());
                }
            }
        }
    }
    // Referenced labels the project and contrib do not explain: look in the virtualenv.
    let referenced: BTreeSet<&str> = migrations
        .iter()
        .flat_map(|m| {
            m.dependencies
                .iter()
                .map(|d| d.key.0.as_str())
                .chain(m.run_before.iter().map(|r| r.key.0.as_str()))
        })
        .filter(|l| !project_labels.contains(l) && !contrib::is_contrib_label(l))
        .collect();
    if !referenced.is_empty() && !tree.venvs.is_empty() {
        u.external = venv::scan(&ld.opts.root, &tree.venvs);
    }
    if let Some(inst) = installed {
        for l in &inst.labels {
            if project_labels.contains(l.as_str())
                || u.unmigrated.contains(l)
                || contrib::is_contrib_label(l)
                || u.external.contains_key(l)
            {
                continue;
            }
            u.opaque.insert(l.clone());
        }
    }
    u.opaque.insert(UNKNOWN_USER_APP.to_owned());
    u.opaque.extend(ld.opts.third_party_apps.iter().cloned());
    u
}
