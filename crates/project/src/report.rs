//! What was analysed and what was not: the project report behind `summary.project` and
//! `djcheck project`. "No problems found" must mean djcheck looked; every part it could
//! not read is named here, with where and how to help it.

use crate::graph::Graph;
use crate::load::Loader;
use crate::migration::Migration;
use crate::settings::{Setting, Settings, SettingsSource, Value};
use crate::urls::UrlTree;
use crate::App;
use djcheck_diagnostics::Span;
use djcheck_pyeval as pyeval;
use std::collections::BTreeSet;

/// One thing not analysed, and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct NotAnalysed {
    /// What was skipped: `URL rules`, `settings`, `migrations of app `x``.
    pub what: String,
    /// Why, in words.
    pub why: String,
    /// What the user can do about it.
    pub fix: Option<String>,
    /// Where the cause is, when it is in a file.
    pub span: Option<Span>,
}

/// How much of the URL tree was read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum UrlTreeState {
    /// No root URLconf, or it can't be read: the URL rules did not run.
    #[default]
    None,
    /// Read, but some parts can't be: rules needing the whole tree stay silent there.
    Partial,
    Complete,
}

impl UrlTreeState {
    pub fn key(self) -> &'static str {
        match self {
            UrlTreeState::None => "none",
            UrlTreeState::Partial => "partial",
            UrlTreeState::Complete => "complete",
        }
    }
}

/// An INSTALLED_APPS entry as djcheck read it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InstalledApp {
    /// The entry as written (a module, or an AppConfig class path).
    pub entry: String,
    /// The app's module (`AppConfig.name`).
    pub name: String,
    pub label: String,
    /// The package folder, for an app of the project.
    pub dir: Option<String>,
    pub kind: AppKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum AppKind {
    /// `django.contrib.*`.
    Django,
    Project,
    ThirdParty,
}

impl AppKind {
    pub fn key(self) -> &'static str {
        match self {
            AppKind::Django => "django",
            AppKind::Project => "project",
            AppKind::ThirdParty => "third-party",
        }
    }
}

/// What djcheck understood of the project.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ProjectReport {
    /// INSTALLED_APPS, entry by entry (empty when unknown).
    pub installed: Vec<InstalledApp>,
    pub settings: Option<String>,
    pub settings_source: Option<SettingsSource>,
    pub installed_apps_complete: bool,
    /// Project apps with migrations.
    pub apps: usize,
    /// Migration files analysed (read and decoded).
    pub migrations: usize,
    pub root_urlconf: Option<String>,
    pub url_tree: UrlTreeState,
    pub not_analysed: Vec<NotAnalysed>,
    /// Whether models.py was compared with the migrations (MIG010 selected).
    pub models_compared: bool,
    /// Models whose comparison with the migrations is decided (changed or not).
    pub models_decided: usize,
    /// Models with a part that can't be compared statically, and no change found.
    pub models_undecidable: usize,
}

const FIX_SETTINGS: &str = "set `settings` in [tool.djcheck], or pass --settings";
const FIX_ROOT: &str = "set `root-urlconf` in [tool.djcheck]";
const FIX_URLPATTERNS: &str = "djcheck follows `urlpatterns` built from `path()`, `re_path()` and \
     `include()` with `+`, `+=`, `append`, `extend`, loops and the project's own functions, \
     not a value returned by third-party code";

impl ProjectReport {
    fn push(&mut self, what: &str, why: String, fix: Option<&str>, span: Option<Span>) {
        let n = NotAnalysed {
            what: what.to_owned(),
            why,
            fix: fix.map(str::to_owned),
            span,
        };
        if !self.not_analysed.contains(&n) {
            self.not_analysed.push(n);
        }
    }

    pub(crate) fn note_entrypoint_missing(&mut self, file: &str, module: &str) {
        self.push(
            "settings",
            format!(
                "{file} names settings module `{module}`, which is not a module of the project"
            ),
            Some(FIX_SETTINGS),
            None,
        );
    }

    pub(crate) fn settings_read(&mut self, ld: &Loader<'_>, s: &Settings) {
        self.settings = s.module.clone();
        self.settings_source = s.source.clone();
        match (&s.module, s.readable) {
            (None, _) => {
                // Entries naming modules that don't exist already say why.
                if !self.not_analysed.iter().any(|n| n.what == "settings") {
                    self.push(
                        "settings",
                        "no settings module found: no entry point (manage.py, wsgi.py, asgi.py) sets DJANGO_SETTINGS_MODULE, no pytest or django-stubs configuration names one, and no settings.py defines INSTALLED_APPS".to_owned(),
                        Some(FIX_SETTINGS),
                        None,
                    );
                }
            }
            (Some(m), false) => {
                let span = ld
                    .modules
                    .resolve(&ld.files, m)
                    .and_then(|rel| ld.file_id(&rel))
                    .map(|f| Span::new(f, djcheck_python::TextRange::default()));
                self.push(
                    "settings",
                    format!("settings module `{m}` can't be read (see its PARSE finding)"),
                    None,
                    span,
                );
            }
            (Some(_), true) => {
                if let Some(at) = s.star_unknown {
                    self.push(
                        "settings (in part)",
                        "a star import or an included settings file here can't be read: settings set before it are used as they are, settings it may set are unknown".to_owned(),
                        None,
                        Some(at),
                    );
                }
            }
        }
    }

    /// A setting whose value can't be read statically.
    pub(crate) fn setting_unknown(&mut self, what: &str, name: &str, s: &Setting) {
        let why = match (&s.value, &s.env) {
            (Value::OneOf(alts), _) => format!(
                "{name} is one of {} depending on a condition",
                alts.iter()
                    .map(describe_value)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            (_, Some(env)) if !env.has_default => match &env.var {
                Some(v) => format!("{name} is read from the environment (`{v}`) with no default"),
                None => format!("{name} is read from the environment with no default"),
            },
            _ => format!("{name} can't be read statically"),
        };
        let fix = match name {
            "ROOT_URLCONF" => Some(FIX_ROOT),
            "AUTH_USER_MODEL" => Some("set `auth-user-model` in [tool.djcheck]"),
            _ => None,
        };
        self.push(what, why, fix, s.span);
    }

    pub(crate) fn installed_apps_unknown(&mut self, _ld: &Loader<'_>, s: &Settings) {
        if !s.readable {
            return;
        }
        let what = "app rules (unknown apps, apps not installed)";
        match s.get("INSTALLED_APPS") {
            Some(setting) => self.setting_unknown(what, "INSTALLED_APPS", setting),
            None if s.star_unknown.is_some() => self.push(
                what,
                "INSTALLED_APPS is not set in the settings read, and may come from a star import that can't be read".to_owned(),
                None,
                s.star_unknown,
            ),
            None => self.push(
                what,
                format!(
                    "INSTALLED_APPS is not set in `{}`",
                    s.module.as_deref().unwrap_or_default()
                ),
                Some(FIX_SETTINGS),
                None,
            ),
        }
    }

    pub(crate) fn installed_apps_incomplete(&mut self, s: &Settings) {
        let span = s.get("INSTALLED_APPS").and_then(|x| x.span);
        self.push(
            "unknown-app checks",
            "some INSTALLED_APPS entries can't be read statically, so a dependency on an app found nowhere is not reported".to_owned(),
            None,
            span,
        );
    }

    pub(crate) fn app_config_unknown(&mut self, entry: &str) {
        self.push(
            "unknown-app checks",
            format!(
                "the AppConfig `{entry}` can't be read statically: the app it installs is unknown"
            ),
            None,
            None,
        );
    }

    pub(crate) fn migration_module_missing(&mut self, s: &Settings, label: &str, module: &str) {
        let span = s.get("MIGRATION_MODULES").and_then(|x| x.span);
        self.push(
            &format!("migrations of app `{label}`"),
            format!(
                "MIGRATION_MODULES moves them to `{module}`, which is not a package of the project"
            ),
            None,
            span,
        );
    }

    /// The parts that follow the models comparison and the URL tree, in the order a
    /// load writes them.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn urls_and_migrations_read(
        &mut self,
        models: &crate::models::ModelsReport,
        urls: &UrlTree,
        limits: &[(pyeval::Limit, Option<Span>)],
        apps: &[App],
        migrations: &[Migration],
        graph: &Graph,
        installed_complete: bool,
    ) {
        self.models_compared(models);
        self.urls_read(urls);
        self.limits_hit(limits);
        self.migrations_read(apps, migrations, graph);
        self.installed_apps_complete = installed_complete;
    }

    fn migrations_read(&mut self, apps: &[App], migrations: &[Migration], graph: &Graph) {
        let labels: BTreeSet<&str> = apps.iter().map(|a| a.label.as_str()).collect();
        self.apps = labels.len();
        self.migrations = migrations.iter().filter(|m| m.readable).count();
        for app in &graph.uncertain_apps {
            if !labels.contains(app.as_str()) {
                continue;
            }
            let why = match migrations
                .iter()
                .find(|m| m.app == *app && (!m.readable || !m.dependencies_complete))
            {
                Some(m) if !m.readable => format!("`{}.{}` can't be read", m.app, m.name),
                Some(m) => format!(
                    "the dependencies of `{}.{}` can't be read statically",
                    m.app, m.name
                ),
                None => format!("two packages share the label `{app}`"),
            };
            self.push(
                &format!("leaf and cycle checks of app `{app}`"),
                why,
                None,
                None,
            );
        }
    }

    fn urls_read(&mut self, t: &UrlTree) {
        self.root_urlconf = t.root.as_ref().map(|r| r.module.clone());
        self.url_tree = match (&t.root, t.root_readable, t.complete) {
            (None, _, _) | (Some(_), false, _) => UrlTreeState::None,
            (Some(_), true, false) => UrlTreeState::Partial,
            (Some(_), true, true) => UrlTreeState::Complete,
        };
        if let Some(p) = &t.root_problem {
            self.push("URL rules", p.why.clone(), p.fix.as_deref(), p.span);
        }
        if self.url_tree == UrlTreeState::Partial {
            let mut outside: Vec<&str> = Vec::new();
            for r in &t.incomplete {
                match r
                    .why
                    .strip_prefix("`")
                    .and_then(|x| x.strip_suffix("` is outside the project"))
                {
                    Some(m) => outside.push(m),
                    None => {
                        let fix = r
                            .why
                            .starts_with("`urlpatterns` of ")
                            .then_some(FIX_URLPATTERNS);
                        self.push("URL rules (in part)", r.why.clone(), fix, r.span)
                    }
                }
            }
            if !outside.is_empty() {
                let shown: Vec<String> = outside.iter().take(3).map(|m| format!("`{m}`")).collect();
                let more = outside.len().saturating_sub(3);
                let list = if more > 0 {
                    format!("{} and {more} more", shown.join(", "))
                } else {
                    shown.join(", ")
                };
                self.push(
                    "URL names of third-party URL modules",
                    format!(
                        "{list} are outside the project: names reversed in them are not checked"
                    ),
                    None,
                    None,
                );
            }
        }
    }

    /// Counts the models compared with the migrations, and says why some could not be.
    fn models_compared(&mut self, m: &crate::models::ModelsReport) {
        self.models_compared = m.read;
        if !m.read {
            return;
        }
        self.models_decided = m.decided();
        self.models_undecidable = m.undecidable();
        let what = |app: &str| format!("model changes of app `{app}` (MIG010)");
        if let Some(cmd) = &m.overridden {
            self.push(
                "model changes (MIG010)",
                format!("not compared: the project overrides `makemigrations` ({cmd}), which may write migrations its own way"),
                None,
                None,
            );
        }
        if !m.test_apps.is_empty() {
            let shown: Vec<String> = m
                .test_apps
                .iter()
                .take(5)
                .map(|a| format!("`{a}`"))
                .collect();
            let more = m.test_apps.len().saturating_sub(5);
            self.push(
                "model changes of test apps (MIG010)",
                format!(
                    "not compared: {}{} are under a tests folder and INSTALLED_APPS does not list them",
                    shown.join(", "),
                    if more > 0 { format!(" and {more} more") } else { String::new() }
                ),
                None,
                None,
            );
        }
        for (app, why) in &m.skipped_apps {
            self.push(&what(app), format!("not compared: {why}"), None, None);
        }
        let mut per_app: std::collections::BTreeMap<&str, Vec<&crate::models::ModelOutcome>> =
            std::collections::BTreeMap::new();
        for o in &m.outcomes {
            per_app.entry(o.app.as_str()).or_default().push(o);
        }
        for (app, outcomes) in per_app {
            let undecided: Vec<&&crate::models::ModelOutcome> = outcomes
                .iter()
                .filter(|o| !o.decided() && o.changes.is_empty())
                .collect();
            let Some(first) = undecided.first() else {
                continue;
            };
            let shown: Vec<String> = undecided
                .iter()
                .take(3)
                .map(|o| format!("`{}` ({})", o.model, o.undecided[0]))
                .collect();
            let more = undecided.len().saturating_sub(3);
            let mut why = format!(
                "{} of {} models can't be compared completely: {}",
                undecided.len(),
                outcomes.len(),
                shown.join("; ")
            );
            if more > 0 {
                why.push_str(&format!("; and {more} more"));
            }
            self.push(&what(app), why, None, first.span);
        }
    }

    fn limits_hit(&mut self, limits: &[(pyeval::Limit, Option<Span>)]) {
        for (limit, span) in limits {
            self.push(
                "part of a settings or URL module",
                format!("{}: what it computes there is unknown", limit.describe()),
                None,
                *span,
            );
        }
    }
}

fn describe_value(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("`{s}`"),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::None => "None".to_owned(),
        Value::Path(p) => format!("`{p}`"),
        _ => "a value".to_owned(),
    }
}
