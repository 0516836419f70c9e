//! `djcheck project`: what djcheck understood of the project. The first thing to run
//! when a finding (or its absence) surprises: the settings module and how it was found,
//! where each setting came from, the installed apps and their labels, the apps'
//! migrations and leaves, MIGRATION_MODULES, the root URLconf and the URL modules
//! reached, and everything that could not be analysed, with why and how to help.

use crate::args::{ProjectArgs, ProjectFormat};
use crate::check::{canonical, find_root, load_config, load_options, usage};
use crate::{Io, EXIT_ERROR, EXIT_OK};
use djcheck_diagnostics::render::{ModelsSummary, NotAnalysedEntry, ProjectSummary};
use djcheck_diagnostics::{SourceDb, Span};
use djcheck_project::report::NotAnalysed;
use djcheck_project::settings::{Setting, Value};
use djcheck_project::urls::{IncludeTarget, NodeKind};
use djcheck_project::Project;
use serde_json::{json, Value as Json};
use std::collections::BTreeSet;

/// Settings shown in the text output (every setting is in the JSON).
const KEY_SETTINGS: &[&str] = &[
    "INSTALLED_APPS",
    "MIGRATION_MODULES",
    "ROOT_URLCONF",
    "AUTH_USER_MODEL",
    "DEFAULT_AUTO_FIELD",
    "APPEND_SLASH",
    "SILENCED_SYSTEM_CHECKS",
];

pub fn project(a: &ProjectArgs, io: &mut Io<'_>) -> i32 {
    let abs = |p: &std::path::Path| {
        if p.is_absolute() {
            p.to_owned()
        } else {
            io.cwd.join(p)
        }
    };
    let start = a.path.as_deref().map_or_else(|| io.cwd.clone(), abs);
    if !start.exists() {
        return usage(io, &format!("path `{}` does not exist", start.display()));
    }
    let root = canonical(&find_root(&start));
    let config = match load_config(&root, a.no_config, a.config.as_deref().map(abs).as_deref()) {
        Ok(c) => c,
        Err(e) => return usage(io, &e),
    };
    let cfg = config
        .as_ref()
        .map(|c| c.options.clone())
        .unwrap_or_default();
    let load = load_options(&root, &cfg, a.settings.as_ref(), a.auth_user_model.as_ref());
    let project = match djcheck_linter::load_project(&load, None) {
        Ok(p) => p,
        Err(e) => return usage(io, &e),
    };
    let written = match a.format {
        ProjectFormat::Text => write_text(&project, io),
        ProjectFormat::Json => {
            let v = to_json(&project);
            serde_json::to_writer_pretty(&mut *io.stdout, &v)
                .map_err(std::io::Error::other)
                .and_then(|()| writeln!(io.stdout))
        }
    };
    match written {
        Ok(()) => EXIT_OK,
        Err(e) => {
            let _ = writeln!(io.stderr, "djcheck: cannot write output: {e}");
            EXIT_ERROR
        }
    }
}

/// `summary.project` for a loaded project.
pub fn summary(p: &Project) -> ProjectSummary {
    let r = &p.report;
    ProjectSummary {
        settings: r.settings.clone(),
        settings_source: r.settings_source.as_ref().map(|s| s.key()),
        installed_apps_complete: r.installed_apps_complete,
        apps: r.apps,
        migrations: r.migrations,
        root_urlconf: r.root_urlconf.clone(),
        url_tree: r.url_tree.key().to_owned(),
        not_analysed: r.not_analysed.iter().map(|n| entry(&p.db, n)).collect(),
        models: ModelsSummary {
            compared: r.models_compared,
            decided: r.models_decided,
            undecidable: r.models_undecidable,
        },
    }
}

fn entry(db: &SourceDb, n: &NotAnalysed) -> NotAnalysedEntry {
    let (path, line) = match n.span {
        Some(s) => {
            let (path, line) = place(db, s);
            (Some(path), line)
        }
        None => (None, None),
    };
    NotAnalysedEntry {
        what: n.what.clone(),
        why: n.why.clone(),
        path,
        line,
        fix: n.fix.clone(),
    }
}

/// Path and 1-based line of a span (no line for a span at the start of an empty or
/// unread file: the whole file is meant).
fn place(db: &SourceDb, s: Span) -> (String, Option<u32>) {
    let f = db.file(s.file);
    if f.text.is_empty() {
        return (f.path.clone(), None);
    }
    (f.path.clone(), Some(f.line_col(s.range.start()).line))
}

fn at(db: &SourceDb, s: Option<Span>) -> String {
    match s {
        Some(s) => match place(db, s) {
            (p, Some(l)) => format!("{p}:{l}"),
            (p, None) => p,
        },
        None => "-".to_owned(),
    }
}

fn value_json(v: &Value) -> Json {
    match v {
        Value::Str(s) => json!(s),
        Value::Int(i) => json!(i),
        Value::Bool(b) => json!(b),
        Value::None => Json::Null,
        Value::Path(p) => json!({ "path": p }),
        Value::List { items, complete } => json!({
            "items": items.iter().map(value_json).collect::<Vec<_>>(),
            "complete": complete,
        }),
        Value::Dict(items) => Json::Array(
            items
                .iter()
                .map(|(k, v)| json!([value_json(k), value_json(v)]))
                .collect(),
        ),
        Value::OneOf(alts) => json!({ "one_of": alts.iter().map(value_json).collect::<Vec<_>>() }),
        Value::Unknown => json!({ "unknown": true }),
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Str(s) => format!("{s:?}"),
        Value::Int(i) => i.to_string(),
        Value::Bool(b) => if *b { "True" } else { "False" }.to_owned(),
        Value::None => "None".to_owned(),
        Value::Path(p) => format!("<project>/{p}"),
        Value::List { items, complete } => {
            let shown: Vec<String> = items.iter().map(value_text).collect();
            let more = if *complete { "" } else { ", …" };
            format!("[{}{more}]", shown.join(", "))
        }
        Value::Dict(items) => {
            let shown: Vec<String> = items
                .iter()
                .map(|(k, v)| format!("{}: {}", value_text(k), value_text(v)))
                .collect();
            format!("{{{}}}", shown.join(", "))
        }
        Value::OneOf(alts) => {
            let shown: Vec<String> = alts.iter().map(value_text).collect();
            format!("one of {}", shown.join(" | "))
        }
        Value::Unknown => "(can't be read statically)".to_owned(),
    }
}

fn origin_text(db: &SourceDb, s: &Setting) -> String {
    let mut out = format!("set at {}", at(db, s.span));
    if let Some(env) = &s.env {
        let var = env.var.as_deref().unwrap_or("?");
        if env.has_default {
            out.push_str(&format!(", the default of environment variable `{var}`"));
        } else {
            out.push_str(&format!(", from environment variable `{var}` (no default)"));
        }
    }
    if let Some(o) = s.overridden_at {
        out.push_str(&format!(
            ", may be overridden by the star import at {}",
            at(db, Some(o))
        ));
    }
    out
}

fn in_dir(p: &Project, m: &djcheck_project::migration::Migration, dir: &str) -> bool {
    p.path(m.file)
        .strip_prefix(dir)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// The names of an app's leaf migrations.
fn leaves_of(p: &Project, app: &str) -> Vec<String> {
    p.graph
        .leaf_nodes(app)
        .into_iter()
        .map(|i| p.graph.nodes[i].key.1.clone())
        .collect()
}

/// Modules of the project the URL tree reached, the root first.
fn url_modules(p: &Project) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Some(r) = &p.urls.root {
        out.push(r.module.clone());
    }
    let mut seen: BTreeSet<String> = out.iter().cloned().collect();
    for n in &p.urls.nodes {
        if let NodeKind::Include(i) = &n.kind {
            if let IncludeTarget::Module { module, .. } = &i.target {
                if seen.insert(module.clone()) {
                    out.push(module.clone());
                }
            }
        }
    }
    out
}

fn write_text(p: &Project, io: &mut Io<'_>) -> std::io::Result<()> {
    let out = &mut *io.stdout;
    let db = &p.db;
    let r = &p.report;
    writeln!(out, "Project root: {}", p.root.display())?;
    match (&r.settings, &r.settings_source) {
        (Some(m), Some(src)) => {
            writeln!(out, "Settings: {m} ({})", src.describe())?;
            let files: Vec<&str> = p.settings.files.iter().map(|f| p.path(*f)).collect();
            if !files.is_empty() {
                writeln!(out, "  files read: {}", files.join(", "))?;
            }
            for name in KEY_SETTINGS {
                match p.settings.get(name) {
                    Some(s) => writeln!(
                        out,
                        "  {name} = {}  ({})",
                        value_text(&s.value),
                        origin_text(db, s)
                    )?,
                    None if p.settings.may_be_set(name) => writeln!(
                        out,
                        "  {name}: not set here; may come from an unreadable star import"
                    )?,
                    None => writeln!(out, "  {name}: not set (Django's default)")?,
                }
            }
            let others = p.settings.values.len()
                - KEY_SETTINGS
                    .iter()
                    .filter(|n| p.settings.values.contains_key(**n))
                    .count();
            writeln!(
                out,
                "  ({others} other settings: `--format json` lists them)"
            )?;
        }
        _ => writeln!(out, "Settings: none found")?,
    }
    writeln!(
        out,
        "Installed apps{}:",
        if r.installed_apps_complete {
            ""
        } else {
            " (not completely known)"
        }
    )?;
    if r.installed.is_empty() {
        writeln!(out, "  (unknown)")?;
    }
    for a in &r.installed {
        let where_ = match &a.dir {
            Some(d) => format!(", {d}/"),
            None => String::new(),
        };
        writeln!(
            out,
            "  {:<40} label `{}` ({}{where_})",
            a.entry,
            a.label,
            a.kind.key()
        )?;
    }
    writeln!(
        out,
        "Apps with migrations: {} ({} migration files read)",
        r.apps, r.migrations
    )?;
    for app in &p.apps {
        let count = p
            .migrations
            .iter()
            .filter(|m| in_dir(p, m, &app.migrations_dir))
            .count();
        let leaves = leaves_of(p, &app.label);
        writeln!(
            out,
            "  {:<24} {:<40} {count} migrations, leaf {}",
            app.label,
            app.migrations_dir,
            if leaves.is_empty() {
                "-".to_owned()
            } else {
                leaves.join(", ")
            }
        )?;
    }
    match &r.root_urlconf {
        Some(m) => {
            let mods = url_modules(p);
            writeln!(
                out,
                "URL tree: {} from {m}; {} module{} reached: {}",
                r.url_tree.key(),
                mods.len(),
                if mods.len() == 1 { "" } else { "s" },
                mods.join(", ")
            )?;
        }
        None => writeln!(out, "URL tree: none")?,
    }
    match &p.user_model {
        Some(u) => writeln!(out, "AUTH_USER_MODEL: {}.{}", u.app, u.model)?,
        None => writeln!(out, "AUTH_USER_MODEL: unknown")?,
    }
    if r.models_compared {
        let changed = p
            .models
            .outcomes
            .iter()
            .filter(|o| !o.changes.is_empty())
            .count();
        writeln!(
            out,
            "Models compared with their migrations: {} decided ({changed} with changes), {} not completely",
            r.models_decided, r.models_undecidable
        )?;
    }
    if r.not_analysed.is_empty() {
        writeln!(out, "Not analysed: nothing")?;
    } else {
        writeln!(out, "Not analysed:")?;
        for n in &r.not_analysed {
            writeln!(out, "  - {}", entry(db, n).one_line())?;
        }
    }
    Ok(())
}

fn to_json(p: &Project) -> Json {
    let db = &p.db;
    let r = &p.report;
    let settings: serde_json::Map<String, Json> = p
        .settings
        .values
        .iter()
        .map(|(k, s)| {
            let (path, line) = match s.span {
                Some(sp) => {
                    let (p, l) = place(db, sp);
                    (Some(p), l)
                }
                None => (None, None),
            };
            (
                k.clone(),
                json!({
                    "value": value_json(&s.value),
                    "path": path,
                    "line": line,
                    "env": s.env.as_ref().map(|e| json!({"var": e.var, "has_default": e.has_default})),
                    "may_be_overridden_at": s.overridden_at.map(|o| at(db, Some(o))),
                }),
            )
        })
        .collect();
    let apps: Vec<Json> = p
        .apps
        .iter()
        .map(|app| {
            let names: Vec<&str> = p
                .migrations
                .iter()
                .filter(|m| in_dir(p, m, &app.migrations_dir))
                .map(|m| m.name.as_str())
                .collect();
            json!({
                "label": app.label,
                "dir": app.dir,
                "migrations_dir": app.migrations_dir,
                "migrations": names,
                "leaves": leaves_of(p, &app.label),
            })
        })
        .collect();
    json!({
        "version": 1,
        "root": p.root.display().to_string(),
        "settings": {
            "module": r.settings,
            "source": r.settings_source.as_ref().map(|s| s.key()),
            "found_by": r.settings_source.as_ref().map(|s| s.describe()),
            "files": p.settings.files.iter().map(|f| p.path(*f)).collect::<Vec<_>>(),
            "values": settings,
        },
        "installed_apps": r.installed.iter().map(|a| json!({
            "entry": a.entry,
            "name": a.name,
            "label": a.label,
            "dir": a.dir,
            "kind": a.kind.key(),
        })).collect::<Vec<_>>(),
        "apps": apps,
        "root_urlconf": r.root_urlconf,
        "url_tree": {
            "state": r.url_tree.key(),
            "modules": url_modules(p),
        },
        "auth_user_model": p.user_model.as_ref().map(|u| format!("{}.{}", u.app, u.model)),
        "models": p.models.outcomes.iter().map(|o| json!({
            "app": o.app,
            "model": o.model,
            "path": o.span.map(|s| place(db, s).0),
            "decided": o.decided() || !o.changes.is_empty(),
            "changes": o.changes.len(),
            "undecided": o.undecided,
        })).collect::<Vec<_>>(),
        "models_skipped_apps": p.models.skipped_apps.iter().map(|(a, w)| json!({"app": a, "why": w})).collect::<Vec<_>>(),
        "summary": summary(p),
    })
}
