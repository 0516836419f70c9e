//! `djcheck check`: find the project, merge config and flags, run, render, exit code.

use crate::args::{CheckArgs, FailOn, OutputFormat};
use crate::{registry, Io, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use codespan_reporting::term::termcolor::{NoColor, WriteColor};
use djcheck_config::{Loaded, Options};
use djcheck_diagnostics::baseline::{Baseline, Entry};
use djcheck_diagnostics::render::{self, RenderContext, RuleInfo};
use djcheck_diagnostics::{Diagnostic, Severity};
use djcheck_linter::{RunOptions, Selection};
use djcheck_project::{AnalysisOptions, LoadOptions, SqlDialect};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Markers of a project root, nearest wins.
const ROOT_MARKERS: &[&str] = &[
    "pyproject.toml",
    "djcheck.toml",
    ".djcheck.toml",
    "manage.py",
    ".git",
];

/// The nearest folder at or above `start` holding a root marker; `start` itself if none.
pub fn find_root(start: &Path) -> PathBuf {
    let start = if start.is_file() {
        start.parent().unwrap_or(start)
    } else {
        start
    };
    let mut cur = Some(start);
    while let Some(dir) = cur {
        if ROOT_MARKERS.iter().any(|m| dir.join(m).exists()) {
            return dir.to_owned();
        }
        cur = dir.parent();
    }
    start.to_owned()
}

pub(crate) fn usage(io: &mut Io<'_>, msg: &str) -> i32 {
    let _ = writeln!(io.stderr, "djcheck: {msg}");
    EXIT_ERROR
}

pub fn check(a: &CheckArgs, io: &mut Io<'_>) -> i32 {
    let abs = |p: &Path| {
        if p.is_absolute() {
            p.to_owned()
        } else {
            io.cwd.join(p)
        }
    };
    let stdin_mode = a.paths.iter().any(|p| p.as_os_str() == "-");
    if stdin_mode && a.stdin_filename.is_none() {
        return usage(
            io,
            "`-` reads a file from standard input: give its path with --stdin-filename",
        );
    }
    let mut paths: Vec<PathBuf> = a
        .paths
        .iter()
        .filter(|p| p.as_os_str() != "-")
        .map(|p| abs(p))
        .collect();
    if let (true, Some(f)) = (stdin_mode, &a.stdin_filename) {
        paths.push(abs(f));
    }
    if paths.is_empty() {
        paths.push(io.cwd.clone());
    }
    let stdin_path = a.stdin_filename.as_ref().map(|f| abs(f));
    let output_file = a.output_file.as_ref().map(|p| abs(p));
    let baseline_flag = a.baseline.as_ref().map(|p| abs(p));
    let write_baseline_flag = a
        .write_baseline
        .as_ref()
        .map(|p| p.as_ref().map(|p| abs(p)));
    for p in &paths {
        let is_stdin = stdin_mode && stdin_path.as_ref() == Some(p);
        if !(p.exists() || is_stdin) {
            return usage(io, &format!("path `{}` does not exist", p.display()));
        }
    }
    let root = find_root(&paths[0]);
    let root = root.canonicalize().unwrap_or(root);

    // Configuration: flags beat the file.
    let config = match load_config(&root, a.no_config, a.config.as_deref().map(abs).as_deref()) {
        Ok(c) => c,
        Err(e) => return usage(io, &e),
    };
    let cfg: Options = config
        .as_ref()
        .map(|c| c.options.clone())
        .unwrap_or_default();

    let all = registry::all_rules();
    let codes: Vec<&'static str> = all.iter().map(|r| r.meta().code).collect();
    // Rule codes in the config file: an unknown one names the file, key and line.
    if let Some(loaded) = &config {
        if let Err(e) = check_config_codes(loaded, &codes) {
            return usage(io, &e);
        }
    }
    let mut selection = Selection {
        select: a.select.clone().or(cfg.select.clone()),
        extend_select: cfg.extend_select.clone().unwrap_or_default(),
        ignore: cfg.ignore.clone().unwrap_or_default(),
    };
    selection
        .extend_select
        .extend(a.extend_select.iter().cloned());
    selection.ignore.extend(a.ignore.iter().cloned());
    if let Some(bad) = selection.unknown_patterns(&codes).first() {
        return usage(
            io,
            &format!("unknown rule code or prefix `{bad}` (see `djcheck rules`)"),
        );
    }
    let mut severity = BTreeMap::new();
    for (code, s) in cfg.severity.clone().unwrap_or_default() {
        // Checked above: every code names a rule, every value is a severity.
        if let (Some(r), Some(sev)) = (registry::find(&code), Severity::parse(&s)) {
            severity.insert(r.meta().code.to_owned(), sev);
        }
    }
    let fail_on = match a.fail_on {
        Some(FailOn::Error) => Severity::Error,
        Some(FailOn::Warning) => Severity::Warning,
        Some(FailOn::Info) => Severity::Info,
        None => cfg
            .fail_on
            .as_deref()
            .and_then(Severity::parse)
            .unwrap_or(Severity::Warning),
    };

    let mut overrides = BTreeMap::new();
    if let (true, Some(f)) = (stdin_mode, &a.stdin_filename) {
        let mut text = String::new();
        if let Err(e) = io.stdin.read_to_string(&mut text) {
            return usage(io, &format!("cannot read standard input: {e}"));
        }
        overrides.insert(rel_to(&root, &canonical(&abs(f))), text);
    }
    // `--base`: resolve the revision now, so a bad REF is a usage error before any work.
    // Without it, `HEAD` of the repository (if any) is compared with, for renames only:
    // asked of git while the project is read.
    let base = match &a.base {
        Some(name) => match djcheck_project::git::resolve(&root, name) {
            Ok(b) => djcheck_project::git::Base::known(Some(b)),
            Err(e) => return usage(io, &e.to_string()),
        },
        None if a.no_base => djcheck_project::git::Base::known(None),
        None => djcheck_project::git::Base::head_in_background(&root),
    };
    let mut load = LoadOptions {
        overrides,
        base,
        ..load_options(&root, &cfg, a.settings.as_ref(), a.auth_user_model.as_ref())
    };
    // A buffer that holds what its file holds, read as the load would read it (an editor
    // checking a saved file), is the file: the run is then one the run cache can keep
    // and reuse. Not when fixing, which writes the fixed buffer to standard output.
    if let (true, None, Some(f)) = (stdin_mode, crate::fix_cmd::Mode::of(a), &a.stdin_filename) {
        let rel = rel_to(&root, &canonical(&abs(f)));
        let on_disk = djcheck_project::fs::read_text(&abs(f), &load.limits);
        if on_disk.ok().as_ref() == load.overrides.get(&rel) {
            load.overrides.remove(&rel);
        }
    }
    // Files given (not folders) name the migrations about to be deployed.
    load.analysis.deploy_paths = paths
        .iter()
        .filter(|p| p.is_file() || (stdin_mode && stdin_path.as_ref() == Some(*p)))
        .map(|p| rel_to(&root, &canonical(p)))
        .filter(|r| !r.is_empty())
        .collect();
    load.analysis.deploy_since_base = a.base.is_some();
    let rule_infos: Vec<RuleInfo> = all
        .iter()
        .map(|r| {
            let m = r.meta();
            RuleInfo {
                code: m.code,
                name: m.name,
                severity: severity.get(m.code).copied().unwrap_or(m.severity),
                summary: m.summary(),
                doc: m.doc_text(),
            }
        })
        .collect();
    // Secret detectors always run, for what they mask in other findings' snippets; their
    // own findings are reported only when selected.
    let runs = |r: &&'static dyn djcheck_linter::Rule| {
        selection.runs(r.meta().code, r.meta().on_by_default)
    };
    let (rules, maskers): (Vec<_>, Vec<_>) = all
        .into_iter()
        .filter(|r| runs(r) || r.finds_secrets())
        .partition(|r| runs(r));
    // models.py is read only for the rule comparing it with the migrations.
    load.skip_models = !rules
        .iter()
        .any(|r: &&'static dyn djcheck_linter::Rule| r.meta().code == MODEL_CHANGES);
    if !a.no_cache {
        let dir = match (&a.cache_dir, &cfg.cache_dir) {
            (Some(d), _) => abs(d),
            (None, Some(d)) => root.join(d),
            (None, None) => root.join(".djcheck_cache"),
        };
        load.cache = Some(cache_options(dir, &rules, &maskers));
    }
    let mut opts = RunOptions {
        load,
        rules,
        maskers,
        severity,
        threads: a.threads,
        known_codes: codes.clone(),
        // Fixes need the whole project model; a report needs only the result.
        reuse: crate::fix_cmd::Mode::of(a).is_none(),
    };
    let t = djcheck_project::timings::phase("run (total)");
    let result = match djcheck_linter::run(&opts) {
        Ok(r) => r,
        Err(e) => return usage(io, &e),
    };
    drop(t);
    let _render = djcheck_project::timings::phase("filter+render");

    // Report on the paths given (the whole project was analysed regardless). With
    // `--files-only` and no path, on none: only what lies in no file is left.
    let none_given = a.files_only && a.paths.is_empty() && a.stdin_filename.is_none();
    let scopes: Vec<String> = if none_given {
        Vec::new()
    } else {
        paths.iter().map(|p| rel_to(&root, &canonical(p))).collect()
    };
    let per_file = match compile_per_file_ignores(config.as_ref()) {
        Ok(p) => p,
        Err(e) => return usage(io, &e),
    };
    let filter = Reported {
        whole: scopes.iter().any(String::is_empty),
        scopes: &scopes,
        per_file: &per_file,
    };
    // `--fix`, `--diff`: repair what can be repaired, check again, then report what is left.
    let fixing = crate::fix_cmd::Mode::of(a);
    let result = match fixing {
        None => result,
        Some(mode) => {
            let stdin_rel = stdin_path.as_ref().map(|p| rel_to(&root, &canonical(p)));
            let cx = crate::fix_cmd::Context {
                root: &root,
                stdin: stdin_rel.as_deref(),
                fail_on,
                exit_zero: a.exit_zero,
                quiet: a.quiet,
            };
            match crate::fix_cmd::fix(
                mode,
                &mut opts,
                result,
                &|r, d| filter.keeps(&r.project, d),
                &cx,
                io,
            ) {
                crate::fix_cmd::Outcome::Continue(r) => *r,
                crate::fix_cmd::Outcome::Exit(code) => return code,
            }
        }
    };
    let result = crate::FreedUnlessExiting::new(result);
    let db = &result.project.db;
    let diagnostics: Vec<Diagnostic> = result
        .diagnostics
        .iter()
        .filter(|d| filter.keeps(&result.project, d))
        .cloned()
        .collect();
    let whole = filter.whole;

    // Baselines: write the findings as they are, or hide the ones listed.
    let enabled_codes: Vec<&str> = opts.rules.iter().map(|r| r.meta().code).collect();
    let configured_baseline = cfg.baseline.as_ref().map(|b| root.join(b));
    if let Some(target) = write_baseline_flag {
        let path = target
            .or(configured_baseline)
            .unwrap_or_else(|| root.join(DEFAULT_BASELINE));
        for e in &result.internal_errors {
            let _ = writeln!(io.stderr, "djcheck: internal error: {e}");
        }
        if !result.internal_errors.is_empty() {
            return EXIT_ERROR;
        }
        let baseline = Baseline::of(db, &diagnostics);
        if let Err(e) = std::fs::write(&path, baseline.to_json()) {
            return usage(
                io,
                &format!("cannot write the baseline `{}`: {e}", path.display()),
            );
        }
        if !a.quiet {
            let n = baseline.entries.len();
            let _ = writeln!(
                io.stderr,
                "djcheck: wrote {n} {} to the baseline {}",
                if n == 1 { "finding" } else { "findings" },
                path.display()
            );
        }
        return EXIT_OK;
    }
    let mut hidden_by_baseline = None;
    let mut diagnostics = diagnostics;
    if let Some(path) = baseline_flag.or(configured_baseline) {
        let baseline = match read_baseline(&path) {
            Ok(b) => b,
            Err(e) => return usage(io, &e),
        };
        // An entry can be stale only if it could have matched in this run: its rule ran
        // and its file is one reported on.
        let judged = |e: &Entry| {
            if !enabled_codes.contains(&e.code.as_str()) {
                return false;
            }
            if e.path.is_empty() {
                let diff_mode = result
                    .project
                    .base
                    .as_ref()
                    .is_some_and(|b| b.changed.is_some());
                return whole && !diff_mode;
            }
            let in_scope = whole
                || scopes
                    .iter()
                    .any(|s| e.path == *s || e.path.starts_with(&format!("{s}/")));
            let changed = result
                .project
                .base
                .as_ref()
                .and_then(|snap| snap.changed.as_ref())
                .is_none_or(|changed| changed.contains(&e.path));
            in_scope
                && changed
                && !per_file.iter().any(|(g, codes)| {
                    g.is_match(&e.path) && codes.iter().any(|c| e.code.starts_with(c.as_str()))
                })
        };
        let applied = baseline.apply(db, diagnostics, &judged);
        diagnostics = applied.new;
        if let Some(rule) = registry::find(STALE_BASELINE_ENTRY)
            .filter(|_| enabled_codes.contains(&STALE_BASELINE_ENTRY))
        {
            let m = rule.meta();
            let sev = opts.severity.get(m.code).copied().unwrap_or(m.severity);
            for e in &applied.stale {
                let place = if e.path.is_empty() {
                    "about the project".to_owned()
                } else {
                    format!("in `{}`", e.path)
                };
                diagnostics.push(
                    Diagnostic::new(
                        m.code,
                        m.name,
                        sev,
                        format!("baseline entry matches no finding: `{}` {place}", e.code),
                    )
                    .note(format!("baseline: {}", rel_to(&root, &path)))
                    .help(
                        "the finding was fixed, or its line changed: re-write the baseline \
                         with `djcheck check --write-baseline` to drop the entry",
                    ),
                );
            }
            djcheck_diagnostics::sort(db, &mut diagnostics);
        }
        hidden_by_baseline = Some(applied.hidden);
    }

    let repo_prefix = repo_prefix(&root);
    let summary = crate::project_cmd::summary(&result.project);
    let ctx = RenderContext {
        db,
        files_checked: result.project.files_checked,
        rules: &rule_infos,
        repo_prefix: &repo_prefix,
        project: Some(&summary),
    };
    // The report goes to standard output, or to --output-file with the summary line on
    // standard error.
    let mut file_out = NoColor::new(Vec::new());
    let to_file = output_file.is_some();
    let (out, side): (&mut dyn WriteColor, &mut dyn Write) = if to_file {
        (&mut file_out, io.stderr)
    } else {
        (io.stdout, io.stderr)
    };
    let text_summary = a.format == OutputFormat::Text && !a.quiet && !to_file;
    let written = match a.format {
        OutputFormat::Text => render::text::render(&ctx, &diagnostics, out, !text_summary),
        OutputFormat::Json => render::json::render(&ctx, &diagnostics, out),
        OutputFormat::Sarif => render::sarif::render(&ctx, &diagnostics, out),
        OutputFormat::Github => render::github::render(&ctx, &diagnostics, out),
        OutputFormat::Gitlab => render::gitlab::render(&ctx, &diagnostics, out),
        OutputFormat::Markdown => render::markdown::render(&ctx, &diagnostics, out),
    };
    if let Err(e) = written {
        let _ = writeln!(side, "djcheck: cannot write output: {e}");
        return EXIT_ERROR;
    }
    // The summary line: after the text report, or on standard error when the report went
    // to a file.
    let summary_out: Option<&mut dyn Write> = if text_summary {
        Some(out)
    } else if to_file && !a.quiet {
        Some(&mut *side)
    } else {
        None
    };
    if let Some(w) = summary_out {
        if to_file {
            let _ = writeln!(w, "{}", render::text::summary(&ctx, &diagnostics));
            if let Some(line) = render::text::not_analysed_line(&ctx) {
                let _ = writeln!(w, "{line}");
            }
        }
        if let Some(n) = hidden_by_baseline.filter(|n| *n > 0) {
            let _ = writeln!(
                w,
                "{n} {} hidden by the baseline",
                if n == 1 { "finding" } else { "findings" }
            );
        }
    }
    if let Some(path) = &output_file {
        if let Err(e) = std::fs::write(path, file_out.into_inner()) {
            return usage(io, &format!("cannot write `{}`: {e}", path.display()));
        }
    }
    if a.statistics {
        let mut counts: BTreeMap<&str, (usize, &str)> = BTreeMap::new();
        for d in &diagnostics {
            counts.entry(d.code).or_insert((0, d.name)).0 += 1;
        }
        let out: &mut dyn Write = if a.format == OutputFormat::Text && !to_file {
            io.stdout
        } else {
            io.stderr
        };
        for (code, (n, name)) in counts {
            let _ = writeln!(out, "{n:>5}  {code:<9} {name}");
        }
    }
    if a.show_fixes && fixing.is_none() {
        let out: &mut dyn Write = if a.format == OutputFormat::Text && !to_file {
            io.stdout
        } else {
            io.stderr
        };
        crate::fix_cmd::list_available(db, &diagnostics, out);
    }
    // What `--base` could not read: the comparison is partial, and the user asked for it.
    if let Some(snap) = &result.project.base {
        if snap.base.kind == djcheck_project::git::BaseKind::Explicit {
            for p in &snap.problems {
                let _ = writeln!(
                    io.stderr,
                    "djcheck: warning: --base {}: {p}",
                    snap.base.name
                );
            }
        }
    }
    for e in &result.internal_errors {
        let _ = writeln!(io.stderr, "djcheck: internal error: {e}");
    }
    if !result.internal_errors.is_empty() {
        return EXIT_ERROR;
    }
    if !a.exit_zero && diagnostics.iter().any(|d| d.severity >= fail_on) {
        return EXIT_FINDINGS;
    }
    EXIT_OK
}

/// The configuration: `--no-config`, `--config FILE`, or the project's own file.
pub(crate) fn load_config(
    root: &Path,
    no_config: bool,
    config: Option<&Path>,
) -> Result<Option<Loaded>, String> {
    if no_config {
        return Ok(None);
    }
    match config {
        Some(c) => djcheck_config::load_file(c)
            .map(Some)
            .map_err(|e| e.to_string()),
        None => djcheck_config::find(root).map_err(|e| e.to_string()),
    }
}

/// How to load the project, from the configuration and the flags that beat it.
/// The cache's options: its folder, and what its entries depend on besides the files and
/// the options the loader knows: this build of djcheck (version, commit, and the
/// executable's size and time, so that a rebuilt binary never reads another's results)
/// and the rules that run.
pub(crate) fn cache_options(
    dir: PathBuf,
    rules: &[&'static dyn djcheck_linter::Rule],
    maskers: &[&'static dyn djcheck_linter::Rule],
) -> djcheck_project::cache::CacheOptions {
    let exe = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|m| {
            let modified = m
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{}:{modified}", m.len())
        })
        .unwrap_or_default();
    let mut codes: Vec<(&'static str, &'static str)> = rules
        .iter()
        .map(|r| (r.meta().code, r.meta().name))
        .collect();
    codes.sort();
    let listed: Vec<&str> = codes.iter().map(|c| c.0).collect();
    let mut masking: Vec<&str> = maskers.iter().map(|r| r.meta().code).collect();
    masking.sort_unstable();
    djcheck_project::cache::CacheOptions {
        dir,
        salt: format!(
            "{}\0{exe}\0{}\0{}",
            crate::args::VERSION,
            listed.join(","),
            masking.join(",")
        ),
        rules: codes,
    }
}

pub(crate) fn load_options(
    root: &Path,
    cfg: &Options,
    settings: Option<&String>,
    auth_user_model: Option<&String>,
) -> LoadOptions {
    // `exclude` replaces the default excludes, `extend-exclude` adds to them.
    let mut exclude = cfg.exclude.clone().unwrap_or_default();
    exclude.extend(cfg.extend_exclude.clone().unwrap_or_default());
    let analysis = AnalysisOptions {
        sql_dialect: match cfg.sql_dialect.as_deref() {
            Some("mysql") => SqlDialect::MySql,
            Some("sqlite") => SqlDialect::Sqlite,
            _ => SqlDialect::PostgreSql,
        },
        allowed_schemas: cfg.allowed_schemas.clone().unwrap_or_default(),
        root_urlconf: cfg.root_urlconf.clone(),
        deploy_safety_since: cfg.deploy_safety_since.clone().unwrap_or_default(),
        require_lock_timeout: cfg.require_lock_timeout.unwrap_or(false),
        ..AnalysisOptions::default()
    };
    LoadOptions {
        root: root.to_owned(),
        settings: settings.cloned().or(cfg.settings.clone()),
        auth_user_model: auth_user_model.cloned().or(cfg.auth_user_model.clone()),
        exclude,
        no_default_excludes: cfg.exclude.is_some(),
        third_party_apps: cfg.third_party_apps.clone().unwrap_or_default(),
        analysis,
        ..LoadOptions::default()
    }
}

/// The rule that compares models.py with the migrations: the models are read for it.
pub(crate) const MODEL_CHANGES: &str = "MIG010";

/// Where `--write-baseline` writes when neither a path nor the config key `baseline` says.
const DEFAULT_BASELINE: &str = "djcheck-baseline.json";

/// The rule reporting baseline entries that match no finding (reported here, not by a
/// rule: only the CLI reads baselines).
const STALE_BASELINE_ENTRY: &str = "SUP003";

fn read_baseline(path: &Path) -> Result<Baseline, String> {
    let mut text = String::new();
    std::fs::File::open(path)
        .and_then(|mut f| std::io::Read::read_to_string(&mut f, &mut text))
        .map_err(|e| {
            if e.kind() == std::io::ErrorKind::NotFound {
                format!(
                    "baseline `{}` does not exist: write it with `djcheck check --write-baseline`",
                    path.display()
                )
            } else {
                format!("cannot read the baseline `{}`: {e}", path.display())
            }
        })?;
    Baseline::parse(&text)
        .map_err(|e| format!("`{}` is not a djcheck baseline: {e}", path.display()))
}

/// The path with symbolic links resolved, like the project root, so that it can be made
/// relative to it. A file that does not exist yet (an editor's new buffer) is resolved
/// through its folder.
pub(crate) fn canonical(p: &Path) -> PathBuf {
    if let Ok(c) = p.canonicalize() {
        return c;
    }
    match (p.parent().map(Path::canonicalize), p.file_name()) {
        (Some(Ok(dir)), Some(name)) => dir.join(name),
        _ => p.to_owned(),
    }
}

fn rel_to(root: &Path, p: &Path) -> String {
    let p = if p.is_absolute() {
        p.to_owned()
    } else {
        root.join(p)
    };
    djcheck_project::discover::rel_path(root, &p)
}

/// The project root's folder relative to the repository root (the nearest folder at or
/// above it holding `.git`), `/`-terminated; empty when it is the repository root or
/// there is no repository.
fn repo_prefix(root: &Path) -> String {
    let Some(repo) = root.ancestors().find(|d| d.join(".git").exists()) else {
        return String::new();
    };
    let rel = djcheck_project::discover::rel_path(repo, root);
    if rel.is_empty() {
        rel
    } else {
        format!("{rel}/")
    }
}

/// Every rule code or prefix the config file names must name a rule.
pub(crate) fn check_config_codes(loaded: &Loaded, codes: &[&'static str]) -> Result<(), String> {
    let o = &loaded.options;
    let known = |p: &str| {
        Selection {
            select: Some(vec![p.to_owned()]),
            ..Selection::default()
        }
        .unknown_patterns(codes)
        .is_empty()
    };
    let unknown = |key: &[&str], p: &str| {
        format!(
            "{}: `{}`: unknown rule code or prefix `{p}` (see `djcheck rules`)",
            loaded.locate(key),
            loaded.key_name(key)
        )
    };
    for (key, list) in [
        ("select", &o.select),
        ("ignore", &o.ignore),
        ("extend-select", &o.extend_select),
    ] {
        if let Some(p) = list.iter().flatten().find(|p| !known(p)) {
            return Err(unknown(&[key], p));
        }
    }
    for (glob, list) in o.per_file_ignores.iter().flatten() {
        if let Some(p) = list.iter().find(|p| !known(p)) {
            return Err(unknown(&["per-file-ignores", glob], p));
        }
    }
    for code in o.severity.iter().flatten().map(|(c, _)| c) {
        if registry::find(code).is_none() {
            return Err(format!(
                "{}: `{}`: unknown rule code `{code}` (see `djcheck rules`)",
                loaded.locate(&["severity", code]),
                loaded.key_name(&["severity", code])
            ));
        }
    }
    Ok(())
}

pub(crate) type PerFile = Vec<(globset::GlobMatcher, Vec<String>)>;

/// Which diagnostics a run reports: those in the paths given (or involving them), in diff
/// mode only those in files changed since the base, and not silenced by
/// `per-file-ignores`.
struct Reported<'a> {
    whole: bool,
    scopes: &'a [String],
    per_file: &'a PerFile,
}

impl Reported<'_> {
    fn keeps(&self, project: &djcheck_project::Project, d: &Diagnostic) -> bool {
        let db = &project.db;
        let Some(p) = d.primary else { return true };
        let path = &db.file(p.file).path;
        let in_scope = |span: &djcheck_diagnostics::Span| {
            let path = &db.file(span.file).path;
            self.whole
                || self
                    .scopes
                    .iter()
                    .any(|s| path == s || path.starts_with(&format!("{s}/")))
        };
        // A diagnostic that involves a file given or changed (a graph finding whose
        // primary place is another migration, say a conflicting leaf, with a label in
        // the file) is reported too.
        let involves = |keep: &dyn Fn(&djcheck_diagnostics::Span) -> bool| {
            keep(&p) || d.labels.iter().any(|l| keep(&l.span))
        };
        // Diff mode: only files changed since the base; MIG004 is about the change itself.
        if let Some(changed) = project.base.as_ref().and_then(|b| b.changed.as_ref()) {
            let changed = |s: &djcheck_diagnostics::Span| changed.contains(&db.file(s.file).path);
            if d.code != "MIG004" && !involves(&changed) {
                return false;
            }
        }
        involves(&in_scope)
            && !self.per_file.iter().any(|(g, codes)| {
                g.is_match(path) && codes.iter().any(|c| d.code.starts_with(c.as_str()))
            })
    }
}

pub(crate) fn compile_per_file_ignores(config: Option<&Loaded>) -> Result<PerFile, String> {
    let mut out = Vec::new();
    let Some(loaded) = config else {
        return Ok(out);
    };
    for (glob, codes) in loaded.options.per_file_ignores.iter().flatten() {
        let g = globset::GlobBuilder::new(glob)
            .literal_separator(false)
            .build()
            .map_err(|e| {
                format!(
                    "{}: `{}`: invalid glob: {e}",
                    loaded.locate(&["per-file-ignores", glob]),
                    loaded.key_name(&["per-file-ignores", glob])
                )
            })?;
        out.push((
            g.compile_matcher(),
            codes
                .iter()
                .map(|c| c.trim().to_ascii_uppercase())
                .collect(),
        ));
    }
    Ok(out)
}
