//! Running the rules: parallel, isolated, deterministic.

use crate::{suppress, Diagnostic, Rule, Severity, Span};
use djcheck_project::{FileContext, FileFindings, FileVisitor, LoadOptions, Project};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

/// Stack size of analysis threads. Deeply nested syntax trees are walked and dropped
/// recursively; 256 MiB only reserves address space until it is touched.
pub const STACK_SIZE: usize = 256 * 1024 * 1024;

pub struct RunOptions {
    pub load: LoadOptions,
    /// Enabled rules.
    pub rules: Vec<&'static dyn Rule>,
    /// Per-code severity overrides.
    pub severity: BTreeMap<String, Severity>,
    /// Worker threads; `None` for one per core.
    pub threads: Option<usize>,
    /// Every registered rule code, enabled or not: a suppression comment naming none of
    /// them is reported. Empty: unknown codes in suppressions are not reported.
    pub known_codes: Vec<&'static str>,
    /// Secret detectors ([`Rule::finds_secrets`]) that are not enabled: they run for what
    /// they mask, and their findings are dropped.
    pub maskers: Vec<&'static dyn Rule>,
    /// Reuse the last run's result when none of its inputs changed, and store this one
    /// ([`djcheck_project::runcache`]; needs `load.cache`). The project of a reused run
    /// holds what reports need (sources, report, base), not the graph or model state:
    /// leave this off when the project is used further (fixes, a language server).
    pub reuse: bool,
}

/// The analysis threads: `threads` of them (one per core when `None`), with
/// [`STACK_SIZE`] stacks.
fn pool(threads: Option<usize>) -> Result<rayon::ThreadPool, String> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(STACK_SIZE);
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    builder
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))
}

pub struct RunResult {
    pub project: Project,
    /// Sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Rules that panicked, with the file and message: reported as internal errors.
    pub internal_errors: Vec<String>,
    /// What each project rule that does not read the migrations found, before
    /// suppressions, by code; kept with a project kept for re-checks
    /// (`load.reusable`), which take it over.
    kept: Vec<(&'static str, Vec<Diagnostic>)>,
}

struct FileRules<'a> {
    rules: &'a [&'static dyn Rule],
    maskers: &'a [&'static dyn Rule],
    errors: &'a Mutex<Vec<String>>,
}

impl FileVisitor for FileRules<'_> {
    fn visit(&self, cx: &FileContext<'_>, out: &mut FileFindings) -> bool {
        let mut complete = true;
        for rule in self.rules {
            let mut local = Vec::new();
            let r = catch_unwind(AssertUnwindSafe(|| rule.check_file(cx, &mut local)));
            match r {
                Ok(()) => out.diagnostics.extend(local),
                Err(p) => {
                    complete = false;
                    record(self.errors, rule.meta().code, Some(cx.path), &p);
                }
            }
        }
        // What the maskers' findings mask.
        for rule in self.maskers {
            let mut local = Vec::new();
            let r = catch_unwind(AssertUnwindSafe(|| rule.check_file(cx, &mut local)));
            match r {
                Ok(()) => out
                    .masked
                    .extend(local.iter().flat_map(|d| d.redact.iter().copied())),
                Err(p) => {
                    complete = false;
                    record(self.errors, rule.meta().code, Some(cx.path), &p);
                }
            }
        }
        complete
    }
}

fn record(
    errors: &Mutex<Vec<String>>,
    code: &str,
    path: Option<&str>,
    payload: &(dyn std::any::Any + Send),
) {
    let msg = payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    let place = path.map(|p| format!(" on `{p}`")).unwrap_or_default();
    if let Ok(mut e) = errors.lock() {
        e.push(format!("rule {code} failed{place}: {msg}"));
    }
}

/// Loads the project and runs the rules. Errors when the thread pool cannot start or the
/// project can't be loaded as asked (`--settings` naming nothing): usage errors.
pub fn run(opts: &RunOptions) -> Result<RunResult, String> {
    let pool = pool(opts.threads)?;
    pool.install(|| run_in_pool(opts))
}

/// [`run`] with a per-file cache opened by the caller and kept between runs (a language
/// server: only the files whose text changed are parsed again). `opts.load.cache` is
/// not opened; the run is never reused nor stored as a whole.
pub fn run_with_cache(
    opts: &RunOptions,
    cache: &djcheck_project::cache::FileCache,
) -> Result<RunResult, String> {
    let pool = pool(opts.threads)?;
    pool.install(|| run_fully(opts, Some(cache)))
}

/// Loads the project only (no rules), on the same large-stack threads: for
/// `djcheck project`.
pub fn load_project(
    load: &djcheck_project::LoadOptions,
    threads: Option<usize>,
) -> Result<djcheck_project::Project, String> {
    let pool = pool(threads)?;
    pool.install(|| {
        djcheck_project::load(load, &djcheck_project::NoVisitor)
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    })
}

fn run_in_pool(opts: &RunOptions) -> Result<RunResult, String> {
    let started = djcheck_project::runcache::now_ns();
    let reuse = opts.reuse.then(|| {
        let mut rules: Vec<(&'static str, &'static str)> = opts
            .rules
            .iter()
            .chain(&opts.maskers)
            .map(|r| (r.meta().code, r.meta().name))
            .collect();
        rules.sort_unstable();
        rules.dedup();
        let extra = format!(
            "{rules:?}\0{:?}\0{:?}\0{:?}",
            opts.severity,
            opts.known_codes,
            opts.maskers
                .iter()
                .map(|r| r.meta().code)
                .collect::<Vec<_>>()
        );
        (
            djcheck_project::runcache::run_key(&opts.load, &extra),
            rules,
        )
    });
    if let Some((key, rules)) = &reuse {
        if let Some(hit) = djcheck_project::runcache::lookup(&opts.load, key, rules) {
            return Ok(RunResult {
                project: hit.project,
                diagnostics: hit.diagnostics,
                internal_errors: Vec::new(),
                kept: Vec::new(),
            });
        }
    }
    let result = run_fully(opts, None)?;
    if let Some((key, rules)) = &reuse {
        if result.internal_errors.is_empty() {
            djcheck_project::runcache::store(
                &opts.load,
                key,
                started,
                &result.project,
                &result.diagnostics,
                rules,
            );
        }
    }
    Ok(result)
}

/// Loads and checks; with `cache`, that per-file cache instead of the one
/// `opts.load.cache` names.
fn run_fully(
    opts: &RunOptions,
    cache: Option<&djcheck_project::cache::FileCache>,
) -> Result<RunResult, String> {
    let errors = Mutex::new(Vec::new());
    let visitor = FileRules {
        rules: &opts.rules,
        maskers: &opts.maskers,
        errors: &errors,
    };
    let loaded = match cache {
        Some(c) => djcheck_project::load_with_cache(&opts.load, &visitor, Some(c)),
        None => djcheck_project::load(&opts.load, &visitor),
    };
    let (project, findings) = loaded.map_err(|e| e.to_string())?;
    Ok(finish(opts, project, findings, errors, Vec::new()))
}

/// Checks `prev` again after the text of the migration files `changed` (relative paths)
/// changed and nothing else ([`djcheck_project::reload`]): the result a whole run gives,
/// without reading the project again. `Err(prev)` when the project must be loaded again
/// (see `reload`); `opts.load.reusable` must be set, as for the run that gave `prev`.
pub fn recheck(
    opts: &RunOptions,
    prev: RunResult,
    changed: &[String],
) -> Result<RunResult, Box<Project>> {
    let pool = match pool(opts.threads) {
        Ok(p) => p,
        Err(_) => return Err(Box::new(prev.project)),
    };
    pool.install(|| {
        let errors = Mutex::new(Vec::new());
        let visitor = FileRules {
            rules: &opts.rules,
            maskers: &opts.maskers,
            errors: &errors,
        };
        let (project, findings) =
            djcheck_project::reload(&opts.load, &visitor, prev.project, changed)?;
        Ok(finish(opts, project, findings, errors, prev.kept))
    })
}

/// The project rules, suppressions, severities and masks, after a load. `kept`: what
/// rules that do not read the migrations found in the check this one re-checks after
/// edits to migrations only, taken over.
fn finish(
    opts: &RunOptions,
    mut project: Project,
    findings: FileFindings,
    errors: Mutex<Vec<String>>,
    kept: Vec<(&'static str, Vec<Diagnostic>)>,
) -> RunResult {
    let FileFindings {
        mut diagnostics,
        masked,
    } = findings;
    let _t = djcheck_project::timings::phase("project rules");
    let all: Vec<(&'static dyn Rule, bool)> = opts
        .rules
        .iter()
        .map(|r| (*r, true))
        .chain(opts.maskers.iter().map(|r| (*r, false)))
        .collect();
    let mut kept: BTreeMap<&'static str, Vec<Diagnostic>> = kept.into_iter().collect();
    let kept: Vec<Option<Vec<Diagnostic>>> = all
        .iter()
        .map(|(rule, _)| {
            if rule.reads_migrations() {
                None
            } else {
                kept.remove(rule.meta().code)
            }
        })
        .collect();
    // Per rule: whether it is enabled (else a masker), what it found, and whether it
    // completed.
    let project_diags: Vec<(bool, Vec<Diagnostic>, bool)> = all
        .par_iter()
        .zip(kept)
        .map(|((rule, enabled), kept)| {
            if let Some(found) = kept {
                return (*enabled, found, true);
            }
            let mut out = Vec::new();
            let _t = djcheck_project::timings::phase(rule.meta().code);
            match catch_unwind(AssertUnwindSafe(|| rule.check_project(&project, &mut out))) {
                Ok(()) => (*enabled, out, true),
                Err(p) => {
                    record(&errors, rule.meta().code, None, &p);
                    (*enabled, Vec::new(), false)
                }
            }
        })
        .collect();
    let mut masker_spans = masked;
    let mut kept = Vec::new();
    for ((rule, _), (enabled, diags, completed)) in all.iter().zip(project_diags) {
        if opts.load.reusable && !rule.reads_migrations() && completed {
            kept.push((rule.meta().code, diags.clone()));
        }
        if enabled {
            diagnostics.extend(diags);
        } else {
            masker_spans.extend(diags.iter().flat_map(|d| d.redact.iter().copied()));
        }
    }
    // Secrets are masked even when the finding about them is suppressed: another
    // diagnostic (a report about the suppression comment on that very line) may show the
    // line.
    let mut secrets: Vec<Span> = diagnostics
        .iter()
        .flat_map(|d| d.redact.iter().copied())
        .collect();
    secrets.extend(masker_spans);
    // Suppression comments, after every rule has run and before severities are
    // overridden, so that the reports about the comments get overrides too.
    drop(_t);
    let _t = djcheck_project::timings::phase("suppress+mask");
    let enabled: Vec<&'static str> = opts.rules.iter().map(|r| r.meta().code).collect();
    let meta_of = |code: &str| opts.rules.iter().map(|r| r.meta()).find(|m| m.code == code);
    let mut diagnostics = suppress::apply(
        &project.db,
        diagnostics,
        &suppress::SuppressOptions {
            enabled: &enabled,
            known: &opts.known_codes,
            unused: meta_of(suppress::UNUSED_SUPPRESSION),
            bare: meta_of(suppress::BARE_SUPPRESSION),
            limits: &opts.load.limits,
        },
    );
    for d in &mut diagnostics {
        if let Some(s) = opts.severity.get(d.code) {
            d.severity = *s;
        }
    }
    // Credentials on the lines snippets show are masked too, found or not by a rule.
    secrets.extend(credential_like(
        &project,
        &diagnostics,
        &all,
        &opts.load.limits,
        &errors,
    ));
    // No message quotes a secret whole, whichever rule wrote it (a SQL rule naming an
    // object whose name holds a token, say).
    scrub_project_messages(&project, &secrets, &mut diagnostics);
    // Secrets found by rules are masked in every rendered snippet.
    for s in &secrets {
        let f = project.db.file_mut(s.file);
        if !f.masked.contains(&s.range) {
            f.masked.push(s.range);
        }
    }
    djcheck_diagnostics::sort(&project.db, &mut diagnostics);
    diagnostics.dedup();
    let mut internal_errors = errors.into_inner().unwrap_or_default();
    internal_errors.sort();
    RunResult {
        project,
        diagnostics,
        internal_errors,
        kept,
    }
}

/// What the secret detectors take for credentials in the Python files the diagnostics
/// point into, each file parsed once more (only files some diagnostic shows).
fn credential_like(
    project: &Project,
    diagnostics: &[Diagnostic],
    rules: &[(&'static dyn Rule, bool)],
    limits: &djcheck_python::Limits,
    errors: &Mutex<Vec<String>>,
) -> Vec<Span> {
    let detectors: Vec<&'static dyn Rule> = rules
        .iter()
        .map(|(r, _)| *r)
        .filter(|r| r.finds_secrets())
        .collect();
    if detectors.is_empty() {
        return Vec::new();
    }
    let files: std::collections::BTreeSet<djcheck_diagnostics::FileId> = diagnostics
        .iter()
        .flat_map(|d| d.primary.iter().chain(d.labels.iter().map(|l| &l.span)))
        .map(|s| s.file)
        .filter(|f| {
            let file = project.db.file(*f);
            file.path.ends_with(".py") && !file.text.is_empty()
        })
        .collect();
    let files: Vec<djcheck_diagnostics::FileId> = files.into_iter().collect();
    files
        .par_iter()
        .flat_map_iter(|f| {
            let text = &project.db.file(*f).text;
            let mut out = Vec::new();
            let parsed = djcheck_python::parse_module(text);
            // A tree too deep to walk is shown only at one point: nothing to look for.
            if !djcheck_python::nesting_depth_exceeds(&parsed.module, limits.max_nesting) {
                for r in &detectors {
                    let mut local = Vec::new();
                    match catch_unwind(AssertUnwindSafe(|| {
                        r.secret_ranges(text, &parsed, &mut local)
                    })) {
                        Ok(()) => out.extend(local),
                        Err(p) => {
                            let path = &project.db.file(*f).path;
                            record(errors, r.meta().code, Some(path), &p);
                        }
                    }
                }
            }
            out.into_iter()
                .map(|r| Span::new(*f, r))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The secrets of the masked ranges, for [`scrub_messages`].
fn scrub_project_messages(project: &Project, secrets: &[Span], diagnostics: &mut [Diagnostic]) {
    let texts = secrets.iter().filter_map(|s| {
        project
            .db
            .file(s.file)
            .text
            .get(usize::from(s.range.start())..usize::from(s.range.end()))
    });
    scrub_messages(texts, diagnostics);
}

/// Replaces, in every message, label, note and help, the text of every masked range by
/// its first characters and `…`: rules write redacted messages about the secrets they
/// find, but another rule may quote source text that holds one (a SQL rule naming an
/// object whose name holds a token). `masked` are the texts of the masked ranges.
pub fn scrub_messages<'t>(masked: impl Iterator<Item = &'t str>, diagnostics: &mut [Diagnostic]) {
    let mut texts: std::collections::BTreeSet<&str> = std::collections::BTreeSet::new();
    for t in masked {
        // A short secret's mask starts before it (on its quote): keep what follows.
        let t = t.rsplit(['"', '\'']).next().unwrap_or(t);
        if t.chars().count() >= 4 {
            texts.insert(t);
        }
    }
    if texts.is_empty() {
        return;
    }
    // Longest first, so that a secret inside a longer one does not split it.
    let mut texts: Vec<&str> = texts.into_iter().collect();
    texts.sort_by_key(|t| std::cmp::Reverse(t.len()));
    let shown: Vec<(&str, String)> = texts
        .into_iter()
        .map(|t| {
            let keep = (t.chars().count() / 2).min(4);
            (t, format!("{}…", t.chars().take(keep).collect::<String>()))
        })
        .collect();
    let scrub = |s: &mut String| {
        for (t, r) in &shown {
            if s.contains(t) {
                *s = s.replace(t, r);
            }
        }
    };
    for d in diagnostics {
        scrub(&mut d.message);
        scrub(&mut d.primary_label);
        for l in &mut d.labels {
            scrub(&mut l.message);
        }
        for n in &mut d.notes {
            scrub(n);
        }
        if let Some(h) = &mut d.help {
            scrub(h);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_never_quote_a_masked_text() {
        let mut d = vec![crate::Diagnostic::new(
            "SQL002",
            "drop-without-if-exists",
            Severity::Warning,
            "`DROP TABLE` of `ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO4`",
        )
        .note("short: abc, quoted: x")];
        d[0].help =
            Some("use `DROP TABLE IF EXISTS ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO4`".into());
        // The second mask starts on the quote before its secret, as short ones do.
        let masked = ["ghp_R8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sAeUiO4", "=\"abc"];
        scrub_messages(masked.into_iter(), &mut d);
        assert_eq!(d[0].message, "`DROP TABLE` of `ghp_…`");
        assert_eq!(
            d[0].help.as_deref(),
            Some("use `DROP TABLE IF EXISTS ghp_…`")
        );
        // Under four characters: not a text worth replacing anywhere.
        assert_eq!(d[0].notes[0], "short: abc, quoted: x");
    }
}
