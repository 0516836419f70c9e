//! The loading pipeline: discover the files, find and evaluate the settings, find the
//! installed apps and their migrations, parse the migrations in parallel (running the
//! per-file rules while each tree is alive), build the graph and the URL tree, and say
//! what could not be analysed ([`ProjectReport`]).

use crate::graph::{self, AppUniverse};
use crate::migration::{self, ExtractContext, Migration};
use crate::modules::Modules;
use crate::report::{AppKind, InstalledApp, ProjectReport};
use crate::settings::{self, Settings, SettingsSource};
use crate::{
    base, discover, free, fs, urls, App, FileContext, FileFindings, FileProblem, FileRole,
    FileVisitor, LoadOptions, ProblemKind, Project, UserModel, UNKNOWN_USER_APP,
};
use djcheck_diagnostics::{FileId, SourceDb, Span};
use djcheck_pyeval::{self as pyeval, Val};
use djcheck_python::{Limits, ParsedModule};
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::rc::Rc;

/// Why a project can't be loaded as asked: a usage error, not a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// `--settings` (or the config key) names no module or file of the project.
    SettingsNotFound { given: String, tried: Vec<String> },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::SettingsNotFound { given, tried } => {
                write!(f, "settings `{given}` not found in the project")?;
                if !tried.is_empty() {
                    write!(f, " (tried {})", tried.join(", "))?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for LoadError {}

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
    FileFindings,
);

pub(crate) struct Loader<'o> {
    pub(crate) opts: &'o LoadOptions,
    pub(crate) db: SourceDb,
    ids: rustc_hash::FxHashMap<String, FileId>,
    pub(crate) problems: Vec<FileProblem>,
    pub(crate) files: BTreeSet<String>,
    pub(crate) modules: Modules,
    /// Files whose text was read without a problem (and is in `db`).
    pub(crate) read_ok: BTreeSet<FileId>,
    /// Real paths of files whose name is not valid UTF-8 ([`discover::Tree::os_paths`]).
    os_paths: BTreeMap<String, std::path::PathBuf>,
    /// Files looked for outside the tree walk (tool configuration files, modules that
    /// are not listed), present or not: inputs of the run cache.
    probes: std::sync::Mutex<BTreeMap<String, crate::runcache::Probe>>,
    /// Dotted module names resolved to files (`files` and `modules` do not change while
    /// a loader lives): the evaluators ask for the same few hundred names thousands of
    /// times.
    resolved: std::sync::Mutex<rustc_hash::FxHashMap<String, Option<String>>>,
    /// Hashes of the paths of `files`, made when a module name is first resolved: most
    /// names asked for are no module (an attribute of a module is tried as a submodule
    /// first), and a hash tells most of those apart without comparing paths.
    file_hashes: std::sync::OnceLock<rustc_hash::FxHashSet<u64>>,
}

fn path_hash(path: &str) -> u64 {
    use std::hash::BuildHasher;
    rustc_hash::FxBuildHasher.hash_one(path)
}

impl Loader<'_> {
    /// The file of project module `dotted` ([`Modules::resolve`] over the tree's files).
    pub(crate) fn resolve_module(&self, dotted: &str) -> Option<String> {
        let Ok(mut memo) = self.resolved.lock() else {
            return self.modules.resolve(&self.files, dotted);
        };
        if let Some(hit) = memo.get(dotted) {
            return hit.clone();
        }
        let hashes = self
            .file_hashes
            .get_or_init(|| self.files.iter().map(|f| path_hash(f)).collect());
        let found = self.modules.resolve_where(dotted, |path| {
            hashes.contains(&path_hash(path)) && self.files.contains(path)
        });
        memo.insert(dotted.to_owned(), found.clone());
        found
    }

    pub(crate) fn register(&mut self, rel: &str) -> FileId {
        if let Some(&id) = self.ids.get(rel) {
            return id;
        }
        let id = self.db.add(rel.to_owned(), String::new());
        self.ids.insert(rel.to_owned(), id);
        id
    }

    /// Records what the run saw of a file it read or looked for (for the run cache).
    pub(crate) fn probe(&self, rel: &str, seen: crate::runcache::Probe) {
        if self.opts.cache.is_none() || !self.opts.overrides.is_empty() {
            return;
        }
        if let Ok(mut p) = self.probes.lock() {
            p.insert(rel.to_owned(), seen);
        }
    }

    /// The id of a file already registered.
    pub(crate) fn file_id(&self, rel: &str) -> Option<FileId> {
        self.ids.get(rel).copied()
    }

    pub(crate) fn read(&self, rel: &str) -> Result<String, fs::ReadProblem> {
        if let Some(t) = self.opts.overrides.get(rel) {
            return Ok(t.clone());
        }
        let result = match self.os_paths.get(rel) {
            Some(p) => fs::read_text(p, &self.opts.limits),
            None => fs::read_text(&self.opts.root.join(rel), &self.opts.limits),
        };
        // Every file read is an input of the result. Those of the source database are
        // recorded with their text at the end; the others (the URL reference scan reads
        // every module) here.
        if !self.ids.contains_key(rel) {
            self.probe(rel, crate::runcache::Probe::read(&result));
        }
        result
    }

    /// Reads and parses a file sequentially, recording its problems. `None` if unusable.
    pub(crate) fn load_parsed(
        &mut self,
        rel: &str,
        role: FileRole,
    ) -> Option<(FileId, ParsedModule)> {
        let id = self.register(rel);
        // A file may be registered before it is read (the root URLconf is named before it
        // is loaded): its problems are recorded once, when it is first read.
        let already = self.problems.iter().any(|p| p.file == id);
        let result = self.read(rel);
        match result {
            Ok(text) => {
                let parsed = parse_checked(&text, &self.opts.limits);
                self.db.set_text(id, text);
                self.read_ok.insert(id);
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

    /// True when `dotted` names a module of the project's own packages that does not
    /// exist: its top-level package is the project's, and no file or folder matches (a
    /// folder without `__init__.py` is still importable, as a namespace package).
    pub(crate) fn is_missing_project_module(&self, dotted: &str) -> bool {
        let resolves = |m: &str| self.resolve_module(m).is_some();
        let first = dotted.split('.').next().unwrap_or(dotted);
        if first == dotted || !resolves(first) || resolves(dotted) {
            return false;
        }
        let rel = dotted.replace('.', "/");
        !self.modules.roots.iter().any(|r| {
            let base = if r.is_empty() {
                rel.clone()
            } else {
                format!("{r}/{rel}")
            };
            let folder = format!("{base}/");
            let listed = self
                .files
                .range(folder.clone()..)
                .next()
                .is_some_and(|f| f.starts_with(&folder));
            // Excluded or git-ignored files are not listed but still importable.
            let on_disk = self.opts.root.join(format!("{base}.py")).exists()
                || self.opts.root.join(&base).is_dir();
            listed || on_disk
        })
    }

    /// The folder of package `dotted`: a regular package (`__init__.py`), or a namespace
    /// package (a folder of the project holding Python files, which Django accepts as an
    /// app).
    pub(crate) fn package_dir(&self, dotted: &str) -> Option<String> {
        if let Some(d) = self.modules.resolve_package_dir(&self.files, dotted) {
            return Some(d);
        }
        if dotted.is_empty() || dotted.split('.').any(|p| p.is_empty() || p.contains('/')) {
            return None;
        }
        let rel = dotted.replace('.', "/");
        self.modules.roots.iter().find_map(|r| {
            let base = if r.is_empty() {
                rel.clone()
            } else {
                format!("{r}/{rel}")
            };
            let folder = format!("{base}/");
            self.files
                .range(folder.clone()..)
                .next()
                .is_some_and(|f| f.starts_with(&folder))
                .then_some(base)
        })
    }
}

/// The evaluator's view of the project's files.
pub(crate) struct LoaderSource<'a, 'o> {
    pub(crate) ld: &'a mut Loader<'o>,
    /// What files read now are, for their problems.
    pub(crate) role: FileRole,
    /// Files read, in order.
    pub(crate) read: Vec<FileId>,
}

impl pyeval::Source for LoaderSource<'_, '_> {
    fn resolve(&self, dotted: &str) -> Option<String> {
        self.ld.resolve_module(dotted)
    }

    fn load(&mut self, rel: &str) -> Option<(FileId, Rc<ParsedModule>)> {
        let (id, parsed) = self.ld.load_parsed(rel, self.role)?;
        self.read.push(id);
        Some((id, Rc::new(parsed)))
    }

    fn files(&self) -> &BTreeSet<String> {
        &self.ld.files
    }

    fn is_missing_project_module(&self, dotted: &str) -> bool {
        self.ld.is_missing_project_module(dotted)
    }

    fn register(&mut self, rel: &str) -> FileId {
        self.ld.register(rel)
    }

    fn exists_unlisted(&self, rel: &str) -> bool {
        if self.ld.files.contains(rel) {
            return false;
        }
        let exists = self.ld.opts.root.join(rel).is_file();
        self.ld.probe(rel, crate::runcache::Probe::Exists(exists));
        exists
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
pub fn load(
    opts: &LoadOptions,
    visitor: &dyn FileVisitor,
) -> Result<(Project, FileFindings), LoadError> {
    let t = crate::timings::phase("cache open");
    let cache = open_cache(opts);
    drop(t);
    load_with_cache(opts, visitor, cache.as_ref())
}

/// [`load()`] with a cache opened by the caller ([`open_cache`]): a long-running process
/// (a language server) opens it once and loads again after each edit; only the files
/// whose text changed are parsed, and the changed shards are written back.
///
/// Must run inside a rayon pool whose threads have large stacks.
pub fn load_with_cache(
    opts: &LoadOptions,
    visitor: &dyn FileVisitor,
    cache: Option<&crate::cache::FileCache>,
) -> Result<(Project, FileFindings), LoadError> {
    let _t = crate::timings::phase("walk");
    let root = opts.root.clone();
    let tree = walk(opts);
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
        ids: rustc_hash::FxHashMap::default(),
        problems: Vec::new(),
        files,
        modules,
        read_ok: BTreeSet::new(),
        os_paths: tree.os_paths.clone(),
        probes: std::sync::Mutex::new(BTreeMap::new()),
        resolved: std::sync::Mutex::default(),
        file_hashes: std::sync::OnceLock::new(),
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
    let mut report = ProjectReport::default();
    let mut mem = pyeval::Memory::new();
    drop(_t);
    let _t = crate::timings::phase("settings+apps");

    // Settings: explicit, from an entry point or a tool's configuration, or by file name.
    let found = find_settings_module(&mut ld, &mut report)?;
    let settings = match &found {
        Some((m, source)) => {
            let mut src = LoaderSource {
                ld: &mut ld,
                role: FileRole::Settings,
                read: Vec::new(),
            };
            let mut it = pyeval::Interp::new(&mut mem, &mut src);
            let mut s = settings::evaluate(&mut it, m);
            drop(it);
            for f in src.read {
                if !s.files.contains(&f) {
                    s.files.push(f);
                }
            }
            s.source = Some(source.clone());
            s
        }
        None => Settings::default(),
    };
    report.settings_read(&ld, &settings);

    let user_model = user_model(opts, &settings, &mut report);
    let user_app_label = match &user_model {
        Some(u) => u.app.clone(),
        None => UNKNOWN_USER_APP.to_owned(),
    };

    // Apps and their migration packages.
    let installed = installed_apps(&mut ld, &mut mem, &settings, &mut report);
    let mut apps = discover_apps(
        &mut ld,
        &mut mem,
        &settings,
        installed.as_ref(),
        &mut report,
    );

    drop(_t);
    let _t = crate::timings::phase("migrations");
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
            // As Django's loader (pkgutil): `_`/`~` prefixes are skipped, and so is a name
            // with a dot (`.util.py`), which is no module name.
            if stem.starts_with('_') || stem.starts_with('~') || stem.contains('.') {
                continue;
            }
            jobs.push((f.clone(), app.label.clone(), stem.to_owned(), FileId(0)));
        }
    }
    for j in &mut jobs {
        j.3 = ld.register(&j.0);
    }
    let mj = MigrationJobs {
        extract: ExtractContext {
            user_app_label: &user_app_label,
        },
        limits: &opts.limits,
        options: opts.analysis.file_options(),
        visitor,
    };
    let ldr: &Loader<'_> = &ld;
    let results: Vec<JobResult> = jobs
        .par_iter()
        .map(|(rel, app, name, id)| {
            let text = ldr.read(rel);
            let Ok(t) = &text else {
                return (text, None, None, FileFindings::default());
            };
            let Some(cache) = cache else {
                let (m, problem, diags, _) = migration_facts(&mj, t, rel, (app, name, *id));
                return (text, m, problem, diags);
            };
            let hash = crate::cache::content_hash(t);
            let context = crate::cache::context_hash(app, name, &user_app_label);
            if let Some(hit) = cache
                .get(rel, hash, context)
                .and_then(|e| restore(e.outcome, *id, cache.rules()))
            {
                return (text, hit.0, hit.1, hit.2);
            }
            let (m, problem, diags, complete) = migration_facts(&mj, t, rel, (app, name, *id));
            let outcome = match (&m, &problem) {
                (_, Some(kind)) => Some(crate::cache::Outcome::Problem(kind.clone())),
                (Some(m), None) if complete => crate::cache::Outcome::parsed(m, &diags, *id),
                _ => None,
            };
            if let Some(outcome) = outcome {
                cache.put(
                    rel,
                    crate::cache::Entry {
                        hash,
                        context,
                        outcome,
                    },
                );
            }
            (text, m, problem, diags)
        })
        .collect();
    if let Some(cache) = cache {
        let _t = crate::timings::phase("cache save");
        cache.save();
    }

    let mut migrations = Vec::new();
    let mut findings: Vec<(FileId, FileFindings)> = Vec::with_capacity(jobs.len());
    let mut without_class: Vec<(FileId, migration::Key)> = Vec::new();
    let mut dirs_with_class: BTreeSet<String> = BTreeSet::new();
    let mut per_dir: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    // The migrations' problems are `problems[migration_problems]`, in the order of the
    // files (a later check puts the problems of a file read again there).
    let mut migration_problems = ld.problems.len()..0;
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
            Some(m) if m.class_range.is_some() || !m.readable => {
                dirs_with_class.insert(dir);
                migrations.push(m);
            }
            // A module without a Migration class: not a migration (Django refuses it:
            // MIG009; a package of such modules is not a migrations package at all).
            Some(m) => without_class.push((m.file, m.key())),
            None => {
                if migration::migration_number(name).is_some() {
                    dirs_with_class.insert(dir);
                }
                migrations.push(Migration::opaque(*id, app, name));
            }
        }
        findings.push((*id, diags));
    }
    migration_problems.end = ld.problems.len();
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
        without_class.retain(|(f, _)| !in_dropped(*f));
        let mut i = 0;
        let range = migration_problems.clone();
        ld.problems.retain(|p| {
            let keep = !in_dropped(p.file);
            if !keep {
                if i < range.start {
                    migration_problems.start -= 1;
                }
                if i < range.end {
                    migration_problems.end -= 1;
                }
            }
            i += 1;
            keep
        });
        for (_, f) in &mut findings {
            f.diagnostics
                .retain(|d| d.primary.is_none_or(|s| !in_dropped(s.file)));
        }
        apps.retain(|a| !not_migration_dirs.contains(&a.migrations_dir));
    }
    migrations
        .sort_by(|a, b| (a.app.as_str(), a.name.as_str()).cmp(&(b.app.as_str(), b.name.as_str())));

    drop(_t);
    let _t = crate::timings::phase("graph+state+models+urls");
    let installed_labels = installed.as_ref().map(Installed::labels);
    // What a later check may take over when only migration files change.
    let report_before = opts.reusable.then(|| report.clone());
    // The app universe: what else is installed (read from the loader, before the models
    // modules are read through it).
    let universe = app_universe(
        &ld,
        &tree.venvs,
        &apps,
        &migrations,
        installed_labels.as_ref(),
        &settings,
    );
    // The graph, each migration's model references and the model state are built on a
    // thread of their own while the models modules and the URL tree are read (neither
    // needs them; files are registered in the same order as when done one after the
    // other).
    let graph_and_state = || {
        let (graph, state) = graph_and_state(&migrations, &universe, &user_app_label, &apps);
        let t = crate::timings::phase("references");
        let references: Vec<Vec<crate::state::ModelReference>> =
            migrations.iter().map(crate::state::references).collect();
        drop(t);
        (graph, references, state)
    };
    let read_models = |ld: &mut Loader<'_>| {
        (!opts.skip_models).then(|| {
            let _t = crate::timings::phase("models: read");
            crate::models::read_declared(ld, &apps, &report.installed, &settings)
        })
    };
    let ((graph, references, model_state), declared, urls) = std::thread::scope(|s| {
        let built = std::thread::Builder::new()
            .name("djcheck-state".into())
            .stack_size(STATE_STACK_SIZE)
            .spawn_scoped(s, graph_and_state);
        let declared = read_models(&mut ld);
        // The URL tree.
        let t = crate::timings::phase("urls");
        mem.settings_module = settings.module.clone().filter(|_| settings.readable);
        mem.app_configs = installed.as_ref().map(|i| (i.configs.clone(), i.complete));
        let urls = urls::build(&mut ld, &mut mem, &settings, &tree.templates);
        drop(t);
        let built = match built {
            Ok(handle) => match handle.join() {
                Ok(b) => b,
                Err(panic) => std::panic::resume_unwind(panic),
            },
            // No thread to be had: built here.
            Err(_) => graph_and_state(),
        };
        (built, declared, urls)
    });
    drop(_t);
    let limits = mem.limits().to_vec();
    let (models, base_snapshot, renames, deploy) = models_renames_deploy(
        &ld,
        declared.as_ref(),
        &apps,
        &report.installed,
        user_model.as_ref(),
        &Built {
            migrations: &migrations,
            references: &references,
            graph: &graph,
            state: &model_state,
            universe: &universe,
        },
        &user_app_label,
        Earlier::default(),
    );
    report.urls_and_migrations_read(
        &models,
        &urls,
        &limits,
        &apps,
        &migrations,
        &graph,
        installed_labels.as_ref().is_some_and(|i| i.complete),
    );

    let files_checked = ld.db.len();
    // What else the result depends on, for the run cache, and for a language server
    // telling whether anything on disk changed since ([`crate::runcache::DiskState`]).
    let inputs = if (opts.cache.is_some() && opts.overrides.is_empty()) || opts.reusable {
        crate::runcache::Inputs {
            walk: crate::runcache::walk_hash(&tree),
            venvs: crate::runcache::venvs_hash(opts, &tree),
            // Files of the source database are recorded with their text's hash.
            probes: {
                let mut p =
                    std::mem::take(&mut *ld.probes.lock().unwrap_or_else(|e| e.into_inner()));
                p.retain(|rel, _| !ld.ids.contains_key(rel));
                p
            },
            os_paths: tree.os_paths.clone(),
        }
    } else {
        crate::runcache::Inputs::default()
    };
    let mut file_findings = FileFindings::default();
    let reusable = match report_before {
        Some(report) => {
            for (_, f) in &findings {
                file_findings
                    .diagnostics
                    .extend(f.diagnostics.iter().cloned());
                file_findings.masked.extend(f.masked.iter().copied());
            }
            Some(Box::new(Reusable {
                ids: std::mem::take(&mut ld.ids),
                files: std::mem::take(&mut ld.files),
                modules: std::mem::replace(&mut ld.modules, Modules { roots: Vec::new() }),
                read_ok: std::mem::take(&mut ld.read_ok),
                os_paths: std::mem::take(&mut ld.os_paths),
                venvs: tree.venvs.clone(),
                installed: installed_labels,
                declared,
                report,
                limits,
                user_app_label: user_app_label.clone(),
                findings,
                migration_problems,
            }))
        }
        None => {
            for (_, f) in findings {
                file_findings.diagnostics.extend(f.diagnostics);
                file_findings.masked.extend(f.masked);
            }
            None
        }
    };
    let project = Project {
        root,
        db: ld.db,
        problems: ld.problems,
        settings,
        user_model,
        apps,
        migrations,
        references,
        graph,
        state: model_state,
        models,
        universe,
        options: opts.analysis.clone(),
        base: base_snapshot,
        deploy,
        renames,
        without_migration_class: without_class,
        urls,
        files_checked,
        report,
        inputs,
        reusable,
    };
    Ok((project, file_findings))
}

/// What a later check of the same project can take over from a load when all that
/// changed is the text of some of its migrations (an editor's buffer): everything read
/// besides the migrations, and what the per-file rules found in each migration
/// ([`LoadOptions::reusable`], [`reload`]).
pub struct Reusable {
    ids: rustc_hash::FxHashMap<String, FileId>,
    files: BTreeSet<String>,
    modules: Modules,
    read_ok: BTreeSet<FileId>,
    os_paths: BTreeMap<String, std::path::PathBuf>,
    venvs: Vec<std::path::PathBuf>,
    installed: Option<InstalledLabels>,
    declared: Option<crate::models::ReadModels>,
    /// The report before its parts that depend on the migrations.
    report: ProjectReport,
    /// Limits the evaluator hit (settings, apps, URL modules).
    limits: Vec<(pyeval::Limit, Option<Span>)>,
    user_app_label: String,
    /// Per migration file, in load order, what the per-file rules found.
    findings: Vec<(FileId, FileFindings)>,
    /// Where the migrations' problems are in the project's problems.
    migration_problems: std::ops::Range<usize>,
}

impl Reusable {
    /// Takes back the loader's state lent for a reload.
    fn take_back(&mut self, ld: &mut Loader<'_>) {
        self.ids = std::mem::take(&mut ld.ids);
        self.files = std::mem::take(&mut ld.files);
        self.modules = std::mem::replace(&mut ld.modules, Modules { roots: Vec::new() });
        self.read_ok = std::mem::take(&mut ld.read_ok);
        self.os_paths = std::mem::take(&mut ld.os_paths);
    }
}

impl std::fmt::Debug for Reusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reusable")
            .field("files", &self.files.len())
            .finish_non_exhaustive()
    }
}

/// Checks `prev` again after the text of the migration files `changed` (relative paths)
/// changed, and nothing else: each is read (or taken from `opts.overrides`) and parsed
/// again, its per-file rules run, and the graph, the model state, the models comparison,
/// renames and the deploy scope are built again from the migrations; settings, apps,
/// models modules and the URL tree are those `prev` read. The result is the one
/// [`load`] gives.
///
/// `Err(prev)` when that does not hold or is not known to hold: a file that is not one
/// of `prev`'s migrations, one whose text can't be read, one that stops being a
/// migration, or a project loaded without [`LoadOptions::reusable`]. Then load the
/// project again. A base revision (`opts.base`) is read again, as a load does.
///
/// Must run inside a rayon pool whose threads have large stacks.
pub fn reload(
    opts: &LoadOptions,
    visitor: &dyn FileVisitor,
    mut prev: Project,
    changed: &[String],
) -> Result<(Project, FileFindings), Box<Project>> {
    if !opts.reusable {
        return Err(Box::new(prev));
    }
    let Some(mut r) = prev.reusable.take() else {
        return Err(Box::new(prev));
    };
    let _t = crate::timings::phase("reload: migrations");
    // What is built again is freed on a thread of its own, while it is.
    free(std::mem::take(&mut prev.renames));
    let earlier_models = std::mem::take(&mut prev.models);
    // The migrations changed, by index.
    let mut targets: Vec<(usize, &str)> = Vec::new();
    for rel in changed {
        let id = r.ids.get(rel.as_str()).copied();
        let index = id.and_then(|id| prev.migrations.iter().position(|m| m.file == id));
        match index {
            Some(i) => targets.push((i, rel)),
            None => {
                prev.reusable = Some(r);
                return Err(Box::new(prev));
            }
        }
    }
    let mut ld = Loader {
        opts,
        db: std::mem::take(&mut prev.db),
        ids: std::mem::take(&mut r.ids),
        problems: std::mem::take(&mut prev.problems),
        files: std::mem::take(&mut r.files),
        modules: std::mem::replace(&mut r.modules, Modules { roots: Vec::new() }),
        read_ok: std::mem::take(&mut r.read_ok),
        os_paths: std::mem::take(&mut r.os_paths),
        probes: std::sync::Mutex::new(BTreeMap::new()),
        resolved: std::sync::Mutex::default(),
        file_hashes: std::sync::OnceLock::new(),
    };
    let mj = MigrationJobs {
        extract: ExtractContext {
            user_app_label: &r.user_app_label,
        },
        limits: &opts.limits,
        options: opts.analysis.file_options(),
        visitor,
    };
    let mut fresh = Vec::with_capacity(targets.len());
    let mut usable = true;
    // Whether the graph stays as it is: what it reads of each migration did not change;
    // and the same for the models' availability.
    let mut same_graph = true;
    let mut same_availability = true;
    // The migrations whose facts changed, by index.
    let mut semantic: Vec<usize> = Vec::new();
    let mut edits: Vec<(usize, crate::state::Shift)> = Vec::new();
    for &(i, rel) in &targets {
        let old = &prev.migrations[i];
        let Ok(text) = ld.read(rel) else {
            usable = false;
            break;
        };
        let (m, problem, diags, _) =
            migration_facts(&mj, &text, rel, (&old.app, &old.name, old.file));
        // Still a migration, and one that keeps its folder a migrations package (as the
        // load decides).
        let m = match m {
            Some(m) if m.class_range.is_some() || !m.readable => m,
            None if migration::migration_number(&old.name).is_some() => {
                Migration::opaque(old.file, &old.app, &old.name)
            }
            _ => {
                usable = false;
                break;
            }
        };
        same_graph &= graph_facts(old) == graph_facts(&m);
        same_availability &=
            crate::state::availability_facts(old) == crate::state::availability_facts(&m);
        // Facts equal to the last check's, ranges included (an edit to a comment or to
        // what follows the class): nothing built from the migration changes.
        if *old != m {
            semantic.push(i);
            // How the text changed, for a state that only needs its ranges moved.
            if let Some(shift) = crate::state::Shift::between(&ld.db.file(old.file).text, &text) {
                edits.push((i, shift));
            }
        }
        fresh.push((i, text, m, problem, diags));
    }
    if !usable {
        r.take_back(&mut ld);
        prev.db = ld.db;
        prev.problems = ld.problems;
        prev.reusable = Some(r);
        return Err(Box::new(prev));
    }
    for (i, text, m, problem, diags) in fresh {
        let id = m.file;
        ld.db.set_text(id, text);
        // The file's problems go where the load puts them: among the migrations', in
        // the order of the files (their ids).
        let len = ld.problems.len();
        let range = r.migration_problems.start.min(len)..r.migration_problems.end.min(len);
        let segment = &ld.problems[range.clone()];
        let at = range.start + segment.iter().take_while(|p| p.file < id).count();
        let old = segment.iter().filter(|p| p.file == id).count();
        let new: Vec<FileProblem> = problem
            .into_iter()
            .map(|kind| FileProblem {
                file: id,
                role: FileRole::Migration,
                kind,
            })
            .collect();
        r.migration_problems.end = range.end - old + new.len();
        ld.problems.splice(at..at + old, new);
        if let Some(slot) = r.findings.iter_mut().find(|(f, _)| *f == id) {
            slot.1 = diags;
        }
        prev.migrations[i] = m;
    }
    // Masks are set again by the run, from what the rules find now.
    for i in 0..ld.db.len() {
        let id = FileId(i as u32);
        ld.db.file_mut(id).masked.clear();
    }
    drop(_t);
    let migrations = std::mem::take(&mut prev.migrations);
    let universe = app_universe(
        &ld,
        &r.venvs,
        &prev.apps,
        &migrations,
        r.installed.as_ref(),
        &prev.settings,
    );
    // A migration's model references are its own: only the changed ones change.
    let mut references = std::mem::take(&mut prev.references);
    for &i in &semantic {
        if let (Some(slot), Some(m)) = (references.get_mut(i), migrations.get(i)) {
            *slot = crate::state::references(m);
        }
    }
    // The apps whose comparison with models.py still holds: none of their migrations
    // changed and the state rebuilt left their final models as they were (the same
    // definitions, or equal ones), with the graph kept.
    let mut same_apps: BTreeSet<String> = BTreeSet::new();
    let same_universe = universe == prev.universe;
    let (graph, model_state) = if semantic.is_empty() && same_universe {
        // Only texts changed: the graph, the state and every app's comparison hold.
        same_apps = prev.apps.iter().map(|a| a.label.clone()).collect();
        (
            std::mem::take(&mut prev.graph),
            std::mem::take(&mut prev.state),
        )
    } else if same_graph
        && same_universe
        && crate::state::rebuild_in_place(
            &mut prev.state,
            &migrations,
            &prev.graph,
            &semantic,
            same_availability,
            match (&semantic[..], &edits[..]) {
                (&[c], &[(i, shift)]) if c == i => Some(shift),
                _ => None,
            },
        )
    {
        // Without a replay: only the edited migration's app can have other final models.
        let edited: BTreeSet<&str> = semantic
            .iter()
            .filter_map(|&i| migrations.get(i))
            .map(|m| m.app.as_str())
            .collect();
        same_apps = apps_except(&prev.apps, &edited);
        (
            std::mem::take(&mut prev.graph),
            std::mem::take(&mut prev.state),
        )
    } else if same_graph && same_universe {
        let _t = crate::timings::phase("state: rebuild");
        let graph = std::mem::take(&mut prev.graph);
        let changed = semantic;
        let before = prev.state.fields.final_shared();
        let uncertain_before: BTreeSet<crate::state::ModelKey> =
            prev.state.fields.uncertain_models().cloned().collect();
        let state = crate::state::rebuild(
            std::mem::take(&mut prev.state),
            &migrations,
            &graph,
            &changed,
            same_availability,
        );
        let after = state.fields.final_shared();
        let uncertain_after: BTreeSet<&crate::state::ModelKey> =
            state.fields.uncertain_models().collect();
        let mut differ: BTreeSet<&str> = changed
            .iter()
            .filter_map(|&i| migrations.get(i))
            .map(|m| m.app.as_str())
            .collect();
        // The same definition, or an equal one (replayed to the same result).
        for (k, d) in &before {
            if !after
                .get(k)
                .is_some_and(|a| std::sync::Arc::ptr_eq(a, d) || **a == **d)
            {
                differ.insert(k.0.as_str());
            }
        }
        for k in after.keys().filter(|k| !before.contains_key(*k)) {
            differ.insert(k.0.as_str());
        }
        for k in &uncertain_before {
            if !uncertain_after.contains(k) {
                differ.insert(k.0.as_str());
            }
        }
        for k in &uncertain_after {
            if !uncertain_before.contains(*k) {
                differ.insert(k.0.as_str());
            }
        }
        same_apps = apps_except(&prev.apps, &differ);
        drop((before, after));
        (graph, state)
    } else {
        free((
            std::mem::take(&mut prev.graph),
            std::mem::take(&mut prev.state),
        ));
        graph_and_state(&migrations, &universe, &r.user_app_label, &prev.apps)
    };
    let references = match references.len() == migrations.len() {
        true => references,
        false => migrations.iter().map(crate::state::references).collect(),
    };
    let (models, base_snapshot, renames, deploy) = models_renames_deploy(
        &ld,
        r.declared.as_ref(),
        &prev.apps,
        &r.report.installed,
        prev.user_model.as_ref(),
        &Built {
            migrations: &migrations,
            references: &references,
            graph: &graph,
            state: &model_state,
            universe: &universe,
        },
        &r.user_app_label,
        Earlier {
            models: Some((&earlier_models, &same_apps)),
            // The snapshot of the implicit base (HEAD) reads the base revision, the apps
            // and the keys of the migrations, which a reload keeps; diff mode's also
            // compares the files with it.
            base: prev.base.take().filter(|b| b.changed.is_none()),
        },
    );
    free(earlier_models);
    let mut report = r.report.clone();
    report.urls_and_migrations_read(
        &models,
        &prev.urls,
        &r.limits,
        &prev.apps,
        &migrations,
        &graph,
        r.installed.as_ref().is_some_and(|i| i.complete),
    );
    let mut file_findings = FileFindings::default();
    for (_, f) in &r.findings {
        file_findings
            .diagnostics
            .extend(f.diagnostics.iter().cloned());
        file_findings.masked.extend(f.masked.iter().copied());
    }
    r.take_back(&mut ld);
    let project = Project {
        db: ld.db,
        problems: ld.problems,
        migrations,
        references,
        graph,
        state: model_state,
        models,
        universe,
        options: opts.analysis.clone(),
        base: base_snapshot,
        deploy,
        renames,
        report,
        reusable: Some(r),
        ..prev
    };
    Ok((project, file_findings))
}

/// The labels of `apps` not in `except`.
fn apps_except(apps: &[crate::App], except: &BTreeSet<&str>) -> BTreeSet<String> {
    apps.iter()
        .map(|a| a.label.as_str())
        .filter(|l| !except.contains(l))
        .map(str::to_owned)
        .collect()
}

/// What the graph reads of a migration besides its key: when an edit leaves these, the
/// graph is the same.
fn graph_facts(
    m: &Migration,
) -> (
    bool,
    bool,
    Vec<&migration::Key>,
    Vec<&migration::Key>,
    Vec<&migration::Key>,
) {
    (
        m.readable,
        m.dependencies_complete,
        m.dependencies.iter().map(|d| &d.key).collect(),
        m.run_before.iter().map(|r| &r.key).collect(),
        m.replaces.iter().map(|r| &r.key).collect(),
    )
}

/// What [`models_renames_deploy`] may take over from an earlier check: its models
/// comparison with the apps whose outcome in it still holds, and its base snapshot (used
/// when of the same base revision).
#[derive(Default)]
struct Earlier<'a> {
    models: Option<(&'a crate::models::ModelsReport, &'a BTreeSet<String>)>,
    base: Option<base::BaseSnapshot>,
}

/// What [`models_renames_deploy`] reads of what the state's thread built.
struct Built<'a> {
    migrations: &'a [Migration],
    references: &'a [Vec<crate::state::ModelReference>],
    graph: &'a graph::Graph,
    state: &'a crate::state::ModelState,
    universe: &'a AppUniverse,
}

/// The graph and the model state.
fn graph_and_state(
    migrations: &[Migration],
    universe: &AppUniverse,
    user_app_label: &str,
    apps: &[App],
) -> (graph::Graph, crate::state::ModelState) {
    let t = crate::timings::phase("graph");
    let mut graph = graph::build(migrations, universe, user_app_label);
    // Two packages sharing a label: Django refuses to start; the graph of that label
    // is not trustworthy.
    let mut seen = BTreeSet::new();
    for a in apps {
        if !seen.insert(a.label.as_str()) {
            graph.uncertain_apps.insert(a.label.clone());
        }
    }
    drop(t);
    let state = crate::state::build(migrations, &graph);
    (graph, state)
}

/// The models comparison (with `earlier`, an earlier comparison and the apps whose
/// outcome in it still holds), and renames and the deploy scope, in parallel: neither
/// needs the other.
#[allow(clippy::too_many_arguments)]
fn models_renames_deploy(
    ld: &Loader<'_>,
    declared: Option<&crate::models::ReadModels>,
    apps: &[App],
    installed: &[InstalledApp],
    user_model: Option<&UserModel>,
    built: &Built<'_>,
    user_app_label: &str,
    earlier: Earlier<'_>,
) -> (
    crate::models::ModelsReport,
    Option<base::BaseSnapshot>,
    crate::renames::Renames,
    crate::deploy::DeployScope,
) {
    let opts = ld.opts;
    let compare_models = || {
        let _t = crate::timings::phase("models: compare");
        // The models declared in models.py, compared with the state the migrations build.
        match declared {
            None => crate::models::ModelsReport::default(),
            Some(declared) => crate::models::analyse(
                ld,
                declared,
                apps,
                installed,
                user_model,
                built.migrations,
                built.graph,
                built.state,
                earlier.models,
            ),
        }
    };
    let renames_and_deploy = || {
        let _t = crate::timings::phase("renames+deploy");
        let base_snapshot = opts.base.get().map(|b| match earlier.base {
            Some(snap) if snap.base == *b => snap,
            _ => {
                let paths: Vec<String> = ld.db.iter().map(|(_, f)| f.path.clone()).collect();
                base::snapshot(opts, b, apps, built.migrations, user_app_label, &paths)
            }
        });
        let renames = crate::renames::find(
            built.migrations,
            built.references,
            built.graph,
            built.universe,
            base_snapshot.as_ref(),
        );
        let deploy = crate::deploy::scope(
            built.migrations,
            built.graph,
            &ld.db,
            base_snapshot.as_ref(),
            &opts.analysis,
        );
        (base_snapshot, renames, deploy)
    };
    let (models, (base_snapshot, renames, deploy)) =
        rayon::join(compare_models, renames_and_deploy);
    (models, base_snapshot, renames, deploy)
}

/// Stack of the thread building the graph and the model state (reserved address space
/// until touched; the replay itself is not recursive).
const STATE_STACK_SIZE: usize = 64 * 1024 * 1024;

/// What reading the migration files needs from the project.
struct MigrationJobs<'a> {
    extract: ExtractContext<'a>,
    limits: &'a Limits,
    options: crate::FileOptions,
    visitor: &'a dyn FileVisitor,
}

/// What a migration file gives: its facts (or the problem that kept it from being
/// parsed), its per-file diagnostics, and whether they are complete (no rule failed).
fn migration_facts(
    jobs: &MigrationJobs<'_>,
    text: &str,
    rel: &str,
    (app, name, id): (&str, &str, FileId),
) -> (Option<Migration>, Option<ProblemKind>, FileFindings, bool) {
    let cx = &jobs.extract;
    let parsed = match parse_checked(text, jobs.limits) {
        Err(kind) => return (None, Some(kind), FileFindings::default(), true),
        Ok(p) => p,
    };
    if !parsed.errors.is_empty() {
        let kind = ProblemKind::Syntax(parsed.errors.clone());
        return (None, Some(kind), FileFindings::default(), true);
    }
    let mut m = migration::extract(id, app, name, parsed.body(), cx);
    // `Migration` bound another way (an import, a possible star import): Django finds
    // it, so the migration exists; what it holds is not decoded, so it stays opaque.
    if m.class_range.is_none()
        && djcheck_python::eval::module_binds(parsed.body(), "Migration") != Some(false)
    {
        m = Migration::opaque(id, app, name);
    }
    let fcx = FileContext::new(
        id,
        rel,
        text,
        &parsed,
        FileRole::Migration,
        m.class_range.is_some().then_some(&m),
        &jobs.options,
    );
    let mut diags = FileFindings::default();
    let complete = jobs.visitor.visit(&fcx, &mut diags);
    (Some(m), None, diags, complete)
}

/// A cached outcome as the loader's job result; `None` when a cached diagnostic belongs
/// to no rule of this run.
fn restore(
    outcome: crate::cache::Outcome,
    id: FileId,
    rules: &[(&'static str, &'static str)],
) -> Option<(Option<Migration>, Option<ProblemKind>, FileFindings)> {
    match outcome {
        crate::cache::Outcome::Problem(kind) => Some((None, Some(kind), FileFindings::default())),
        crate::cache::Outcome::Parsed {
            mut migration,
            diagnostics,
            masked,
        } => {
            migration.file = id;
            let diagnostics = diagnostics
                .iter()
                .map(|d| d.restore(id, rules))
                .collect::<Option<Vec<_>>>()?;
            let masked = masked.into_iter().map(|r| Span::new(id, r)).collect();
            Some((
                Some(migration),
                None,
                FileFindings {
                    diagnostics,
                    masked,
                },
            ))
        }
    }
}

/// The project tree: the files and folders under the root that are not excluded.
pub(crate) fn walk(opts: &LoadOptions) -> discover::Tree {
    let root = &opts.root;
    let excludes = build_excludes(root, &opts.exclude);
    let skip = if opts.no_default_excludes {
        discover::VCS_DIRS
    } else {
        discover::SKIPPED_DIRS
    };
    discover::walk_skipping(root, skip, &|rel, is_dir| {
        excludes
            .as_ref()
            .is_some_and(|g| g.matched(root.join(rel), is_dir).is_ignore())
    })
}

/// The key of the per-file cache `opts` asks for: everything its entries depend on.
pub fn cache_key(opts: &LoadOptions) -> String {
    let salt = opts.cache.as_ref().map_or("", |c| c.salt.as_str());
    crate::cache::key(&[
        salt,
        &format!("{:?}", opts.analysis.file_options()),
        &format!("{:?}", opts.limits),
    ])
}

/// Opens the cache `opts` asks for, keyed by everything its entries depend on.
pub fn open_cache(opts: &LoadOptions) -> Option<crate::cache::FileCache> {
    let c = opts.cache.as_ref()?;
    Some(crate::cache::FileCache::open(c, &cache_key(opts)))
}

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

/// The settings module, in this order: `--settings`/config; DJANGO_SETTINGS_MODULE set
/// by an entry point (`manage.py`, `wsgi.py`, `asgi.py`, shallowest first); pytest's or
/// django-stubs' configuration; only then a file named like settings that looks like
/// Django settings (never an app's own `settings.py` of options).
fn find_settings_module(
    ld: &mut Loader<'_>,
    report: &mut ProjectReport,
) -> Result<Option<(String, SettingsSource)>, LoadError> {
    if let Some(s) = &ld.opts.settings {
        if s.ends_with(".py") || s.contains('/') {
            let rel = s.trim_start_matches("./").to_owned();
            let rel = Path::new(&rel)
                .strip_prefix(&ld.opts.root)
                .map_or(rel.clone(), |p| p.to_string_lossy().replace('\\', "/"));
            let module = ld
                .files
                .contains(&rel)
                .then(|| ld.modules.module_name(&rel));
            return match module.flatten() {
                Some(m) => Ok(Some((m, SettingsSource::Config))),
                None => Err(LoadError::SettingsNotFound {
                    given: s.clone(),
                    tried: vec![rel],
                }),
            };
        }
        if ld.resolve_module(s).is_some() {
            return Ok(Some((s.clone(), SettingsSource::Config)));
        }
        let rel = s.replace('.', "/");
        let tried = ld
            .modules
            .roots
            .iter()
            .flat_map(|r| {
                let base = if r.is_empty() {
                    rel.clone()
                } else {
                    format!("{r}/{rel}")
                };
                [format!("{base}.py"), format!("{base}/__init__.py")]
            })
            .collect();
        return Err(LoadError::SettingsNotFound {
            given: s.clone(),
            tried,
        });
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
                if ld.resolve_module(&m).is_some() {
                    return Ok(Some((m, SettingsSource::EntryPoint(e))));
                }
                report.note_entrypoint_missing(&e, &m);
            }
        }
    }
    // pytest and django-stubs configuration, at the root or beside manage.py.
    let mut dirs: Vec<String> = vec![String::new()];
    for r in &ld.modules.roots {
        if !dirs.contains(r) {
            dirs.push(r.clone());
        }
    }
    let mut stubs: Option<(String, SettingsSource)> = None;
    for dir in &dirs {
        for name in [
            "pyproject.toml",
            "pytest.ini",
            "setup.cfg",
            "tox.ini",
            "mypy.ini",
        ] {
            let rel = if dir.is_empty() {
                name.to_owned()
            } else {
                format!("{dir}/{name}")
            };
            let text = fs::read_optional(&ld.opts.root.join(&rel));
            ld.probe(
                &rel,
                crate::runcache::Probe::Text(text.as_deref().map(crate::cache::content_hash)),
            );
            let Some(text) = text else {
                continue;
            };
            let Some((m, is_pytest)) = settings::settings_module_from_tool_config(name, &text)
            else {
                continue;
            };
            if ld.resolve_module(&m).is_none() {
                report.note_entrypoint_missing(&rel, &m);
                continue;
            }
            if is_pytest {
                return Ok(Some((m, SettingsSource::Pytest(rel))));
            }
            stubs.get_or_insert((m, SettingsSource::DjangoStubs(rel)));
        }
    }
    if let Some(s) = stubs {
        return Ok(Some(s));
    }
    // By file name: only modules that look like Django settings.
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
        let Ok(text) = ld.read(&f) else { continue };
        if !looks_like_settings(&text) {
            continue;
        }
        if let Some(m) = ld.modules.module_name(&f) {
            return Ok(Some((m, SettingsSource::FileName)));
        }
    }
    Ok(None)
}

/// A module that sets what every Django settings module sets, at its top level, or pulls
/// its settings in from elsewhere (a star import, django-split-settings). An app's own
/// options module that only reads `settings.INSTALLED_APPS` is none.
fn looks_like_settings(text: &str) -> bool {
    const NAMES: [&str; 5] = [
        "INSTALLED_APPS",
        "ROOT_URLCONF",
        "DATABASES",
        "MIDDLEWARE",
        "SECRET_KEY",
    ];
    text.split(['\n', '\r']).any(|line| {
        let sets = NAMES.iter().any(|n| {
            line.strip_prefix(n).is_some_and(|rest| {
                let rest = rest.trim_start();
                rest.starts_with('=') || rest.starts_with("+=") || rest.starts_with(':')
            })
        });
        let star = line.starts_with("from ") && line.trim_end().ends_with("import *");
        sets || star || (line.starts_with("include(") && text.contains("split_settings"))
    })
}

fn user_model(
    opts: &LoadOptions,
    settings: &Settings,
    report: &mut ProjectReport,
) -> Option<UserModel> {
    let (value, span) = match &opts.auth_user_model {
        Some(v) => (v.clone(), None),
        None => match settings.get("AUTH_USER_MODEL") {
            Some(s) => match s.value.as_str() {
                Some(v) => (v.to_owned(), s.span),
                None => {
                    report.setting_unknown("AUTH rules", "AUTH_USER_MODEL", s);
                    return None;
                }
            },
            // Not set: Django's default, but only when the settings were read and no
            // unreadable star import could have set it.
            None if settings.readable && !settings.may_be_set("AUTH_USER_MODEL") => {
                ("auth.User".to_owned(), None)
            }
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
pub(crate) struct Installed {
    labels: BTreeSet<String>,
    /// Package folders of project apps listed.
    dirs: BTreeSet<String>,
    /// Labels of the project apps listed, by folder.
    project_labels: BTreeMap<String, (String, Option<Span>)>,
    complete: bool,
    /// The apps as `apps.get_app_configs()` gives them.
    configs: Vec<Rc<pyeval::AppCfg>>,
}

/// What of [`Installed`] outlives the load (the app universe is built from it again when
/// a later check takes the load over).
#[derive(Debug, Clone)]
pub(crate) struct InstalledLabels {
    labels: BTreeSet<String>,
    project_labels: BTreeMap<String, (String, Option<Span>)>,
    complete: bool,
}

impl Installed {
    fn labels(&self) -> InstalledLabels {
        InstalledLabels {
            labels: self.labels.clone(),
            project_labels: self.project_labels.clone(),
            complete: self.complete,
        }
    }
}

/// An AppConfig class read from the project: the app it installs (`name`) and its label.
struct ConfigInfo {
    name: Option<String>,
    label: Option<(String, Span)>,
    default: Option<bool>,
}

/// Reads an AppConfig class: own attributes first, then those of its bases in the
/// project; a base outside the project (a third-party app's config) gives its app
/// (`constance.apps.ConstanceConfig` installs `constance`).
fn config_info(it: &mut pyeval::Interp<'_>, c: &pyeval::ClassVal, depth: usize) -> ConfigInfo {
    let own_str = |k: &str| match c.attrs.get(k) {
        Some(Val::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let mut info = ConfigInfo {
        name: own_str("name"),
        label: own_str("label").map(|l| (l, c.spans.get("label").copied().unwrap_or(c.span))),
        default: match c.attrs.get("default") {
            Some(Val::Bool(b)) => Some(*b),
            _ => None,
        },
    };
    if depth > 6 || (info.name.is_some() && info.label.is_some()) {
        return info;
    }
    for b in c.bases.clone() {
        match it.force(b) {
            Val::Class(bc) => {
                let inherited = config_info(it, &bc, depth + 1);
                info.name = info.name.or(inherited.name);
                info.label = info.label.or(inherited.label);
            }
            Val::Qual(q) if !is_django_app_config(&q) && info.name.is_none() => {
                info.name = third_party_app_of_config(&q);
            }
            _ => {}
        }
    }
    info
}

fn is_django_app_config(q: &str) -> bool {
    matches!(q, "django.apps.AppConfig" | "django.apps.config.AppConfig")
}

/// The app a third-party AppConfig class belongs to: its module's package
/// (`constance.apps.ConstanceConfig` gives `constance`).
fn third_party_app_of_config(q: &str) -> Option<String> {
    let (module, class) = q.rsplit_once('.')?;
    if !class.ends_with("Config") {
        return None;
    }
    Some(module.strip_suffix(".apps").unwrap_or(module).to_owned())
}

/// True when a class looks like an AppConfig subclass: a base is Django's AppConfig, a
/// project AppConfig, or a third-party `...Config` class.
fn is_config_class(it: &mut pyeval::Interp<'_>, c: &pyeval::ClassVal, depth: usize) -> bool {
    if depth > 6 {
        return false;
    }
    for b in c.bases.clone() {
        match it.force(b) {
            Val::Class(bc) if is_config_class(it, &bc, depth + 1) => return true,
            Val::Qual(q) if is_django_app_config(&q) || q.ends_with("Config") => return true,
            _ => {}
        }
    }
    false
}

/// The AppConfig of a project app package, as Django 3.2+ picks it: the one AppConfig
/// subclass defined in `<package>.apps`, or the one of several with `default = True`;
/// else `default_app_config` of the package.
fn default_config(it: &mut pyeval::Interp<'_>, package: &str) -> Option<ConfigInfo> {
    for module in [format!("{package}.apps"), package.to_owned()] {
        let Ok(res) = it.module(&module) else {
            continue;
        };
        let mut found: Vec<ConfigInfo> = Vec::new();
        for v in res.env.values() {
            let Val::Class(c) = v else { continue };
            if c.module != module {
                continue;
            }
            if is_config_class(it, c, 0) {
                found.push(config_info(it, c, 0));
            }
        }
        let chosen = if found.len() == 1 {
            found.pop().filter(|f| f.default != Some(false))
        } else {
            found.into_iter().find(|f| f.default == Some(true))
        };
        if chosen.is_some() {
            return chosen;
        }
        if module == package {
            if let Some(Val::Str(path)) = res.env.get("default_app_config") {
                let path = path.clone();
                if let Some(info) = config_by_path(it, &path) {
                    return Some(info);
                }
            }
        }
    }
    None
}

/// The AppConfig class at dotted `path` in the project.
fn config_by_path(it: &mut pyeval::Interp<'_>, path: &str) -> Option<ConfigInfo> {
    let (module, class) = path.rsplit_once('.')?;
    let res = it.module(module).ok()?;
    let Val::Class(c) = res.env.get(class)? else {
        return None;
    };
    let c = c.clone();
    Some(config_info(it, &c, 0))
}

fn installed_apps(
    ld: &mut Loader<'_>,
    mem: &mut pyeval::Memory,
    settings: &Settings,
    report: &mut ProjectReport,
) -> Option<Installed> {
    let Some((entries, mut complete)) = settings.str_list("INSTALLED_APPS") else {
        report.installed_apps_unknown(ld, settings);
        return None;
    };
    if !complete {
        report.installed_apps_incomplete(settings);
    }
    let mut src = LoaderSource {
        ld,
        role: FileRole::AppConfig,
        read: Vec::new(),
    };
    let mut out = Installed {
        labels: BTreeSet::new(),
        dirs: BTreeSet::new(),
        project_labels: BTreeMap::new(),
        complete,
        configs: Vec::new(),
    };
    for e in entries {
        if let Some(l) = crate::contrib::contrib_label_of_module(&e) {
            report.installed.push(InstalledApp {
                entry: e.clone(),
                name: e.clone(),
                label: l.to_owned(),
                dir: None,
                kind: AppKind::Django,
            });
            out.labels.insert(l.to_owned());
            out.configs.push(Rc::new(pyeval::AppCfg {
                name: e.clone(),
                label: Some(l.to_owned()),
                dir: None,
            }));
            continue;
        }
        // A package of the project (namespace packages too).
        if let Some(dir) = src.ld.package_dir(&e) {
            let mut it = pyeval::Interp::new(mem, &mut src);
            let info = default_config(&mut it, &e);
            drop(it);
            let (label, span) = match info.and_then(|i| i.label) {
                Some((l, s)) => (l, Some(s)),
                None => (e.rsplit('.').next().unwrap_or(&e).to_owned(), None),
            };
            report.installed.push(InstalledApp {
                entry: e.clone(),
                name: e.clone(),
                label: label.clone(),
                dir: Some(dir.clone()),
                kind: AppKind::Project,
            });
            out.labels.insert(label.clone());
            out.configs.push(Rc::new(pyeval::AppCfg {
                name: e.clone(),
                label: Some(label.clone()),
                dir: Some(dir.clone()),
            }));
            out.project_labels.insert(dir.clone(), (label, span));
            out.dirs.insert(dir);
            continue;
        }
        // An AppConfig class: read it when its module is the project's.
        if let Some((module, _)) = e.rsplit_once('.') {
            if src.ld.resolve_module(module).is_some() {
                let mut it = pyeval::Interp::new(mem, &mut src);
                let info = config_by_path(&mut it, &e);
                drop(it);
                match info.and_then(|i| i.name.map(|n| (n, i.label))) {
                    Some((name, label)) => {
                        let dir = src.ld.package_dir(&name);
                        let label = label.map_or_else(
                            || (name.rsplit('.').next().unwrap_or(&name).to_owned(), None),
                            |(l, s)| (l, Some(s)),
                        );
                        report.installed.push(InstalledApp {
                            entry: e.clone(),
                            name: name.clone(),
                            label: label.0.clone(),
                            dir: dir.clone(),
                            kind: if dir.is_some() {
                                AppKind::Project
                            } else if crate::contrib::contrib_label_of_module(&name).is_some() {
                                AppKind::Django
                            } else {
                                AppKind::ThirdParty
                            },
                        });
                        out.labels.insert(label.0.clone());
                        out.configs.push(Rc::new(pyeval::AppCfg {
                            name: name.clone(),
                            label: Some(label.0.clone()),
                            dir: dir.clone(),
                        }));
                        if let Some(dir) = dir {
                            out.project_labels.insert(dir.clone(), label);
                            out.dirs.insert(dir);
                        }
                    }
                    None => {
                        // An AppConfig we can't read: which app it installs is unknown.
                        report.app_config_unknown(&e);
                        complete = false;
                    }
                }
                continue;
            }
        }
        // Third-party. `pkg.apps.PkgConfig` names an AppConfig class: its module's
        // package is the app.
        let module_path = match e.find(".apps.") {
            Some(pos) => e[..pos].to_owned(),
            None => e.clone(),
        };
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
        report.installed.push(InstalledApp {
            entry: e.clone(),
            name: module_path.clone(),
            label: label.clone(),
            dir: None,
            kind: AppKind::ThirdParty,
        });
        out.labels.insert(label.clone());
        out.configs.push(Rc::new(pyeval::AppCfg {
            name: module_path.clone(),
            label: Some(label),
            dir: None,
        }));
    }
    out.complete = complete;
    Some(out)
}

/// The label of a project app package found without INSTALLED_APPS (its `apps.py`).
fn label_of_package(
    ld: &mut Loader<'_>,
    mem: &mut pyeval::Memory,
    app_dir: &str,
) -> Option<(String, Span)> {
    let package = ld.modules.module_name(&format!("{app_dir}/__init__.py"))?;
    let mut src = LoaderSource {
        ld,
        role: FileRole::AppConfig,
        read: Vec::new(),
    };
    let mut it = pyeval::Interp::new(mem, &mut src);
    default_config(&mut it, &package).and_then(|i| i.label)
}

fn discover_apps(
    ld: &mut Loader<'_>,
    mem: &mut pyeval::Memory,
    settings: &Settings,
    installed: Option<&Installed>,
    report: &mut ProjectReport,
) -> Vec<App> {
    let mut apps = Vec::new();
    // MIGRATION_MODULES, in each of its alternatives (set differently in `if` arms: the
    // migrations may be in either place, so both are read).
    // A value that is not a dict (`DisableMigrations()` in test settings) moves nothing.
    let alternatives = settings.str_dict_alternatives("MIGRATION_MODULES");
    // Label to the places named for it, and in how many alternatives it is moved.
    let mut moved: BTreeMap<String, (Vec<Option<String>>, usize)> = BTreeMap::new();
    for (dict, _) in &alternatives {
        let mut here = BTreeSet::new();
        for (label, module) in dict {
            let e = moved.entry(label.clone()).or_default();
            if !e.0.contains(module) {
                e.0.push(module.clone());
            }
            if here.insert(label.clone()) {
                e.1 += 1;
            }
        }
    }
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
        let (label, label_span) = match installed.and_then(|i| i.project_labels.get(&app_dir)) {
            Some((l, s)) => (l.clone(), *s),
            None => match label_of_package(ld, mem, &app_dir) {
                Some((l, s)) => (l, Some(s)),
                None => (
                    app_dir.rsplit('/').next().unwrap_or(&app_dir).to_owned(),
                    None,
                ),
            },
        };
        // Moved elsewhere in every alternative: not read here.
        if moved
            .get(label.as_str())
            .is_some_and(|(_, n)| *n == alternatives.len())
        {
            continue;
        }
        apps.push(App {
            label,
            migrations_dir: format!("{app_dir}/migrations"),
            dir: Some(app_dir),
            label_span,
        });
    }
    for (label, (places, _)) in &moved {
        for module in places.iter().flatten() {
            match ld.modules.resolve_package_dir(&ld.files, module) {
                Some(dir) => {
                    if !apps
                        .iter()
                        .any(|a| a.label == *label && a.migrations_dir == dir)
                    {
                        apps.push(App {
                            label: label.clone(),
                            dir: None,
                            migrations_dir: dir,
                            label_span: None,
                        });
                    }
                }
                None => report.migration_module_missing(settings, label, module),
            }
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
    venvs: &[std::path::PathBuf],
    apps: &[App],
    migrations: &[Migration],
    installed: Option<&InstalledLabels>,
    settings: &Settings,
) -> AppUniverse {
    let mut u = AppUniverse {
        project: apps.iter().map(|a| a.label.clone()).collect(),
        ..AppUniverse::default()
    };
    // Installed project apps without a migrations package, and apps whose migrations
    // MIGRATION_MODULES disables, are Django's "unmigrated" apps.
    if let Some(inst) = installed {
        for (l, _) in inst.project_labels.values() {
            if !u.project.contains(l) {
                u.unmigrated.insert(l.clone());
            }
        }
    }
    let alternatives = settings.str_dict_alternatives("MIGRATION_MODULES");
    if alternatives.len() == 1 {
        for (label, module) in &alternatives[0].0 {
            if module.is_none() {
                u.project.remove(label);
                u.unmigrated.insert(label.clone());
            }
        }
    }
    let project_labels: BTreeSet<&str> = apps.iter().map(|a| a.label.as_str()).collect();
    let contrib_with_migrations: BTreeSet<&str> = crate::contrib::CONTRIB_MIGRATIONS
        .iter()
        .map(|m| m.0)
        .collect();
    match installed {
        Some(inst) => {
            u.complete = inst.complete;
            for l in &inst.labels {
                if crate::contrib::is_contrib_label(l) {
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
            for l in crate::contrib::CONTRIB_LABELS {
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
        .filter(|l| !project_labels.contains(l) && !crate::contrib::is_contrib_label(l))
        .collect();
    if !referenced.is_empty() && !venvs.is_empty() {
        u.external = crate::venv::scan(&ld.opts.root, venvs);
    }
    if let Some(inst) = installed {
        for l in &inst.labels {
            if project_labels.contains(l.as_str())
                || u.unmigrated.contains(l)
                || crate::contrib::is_contrib_label(l)
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
