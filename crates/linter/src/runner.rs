//! Running the rules: parallel, isolated, deterministic.

use crate::{suppress, Diagnostic, Rule, Severity};
use djcheck_project::{FileContext, FileVisitor, LoadOptions, Project};
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
}

pub struct RunResult {
    pub project: Project,
    /// Sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// Rules that panicked, with the file and message: reported as internal errors.
    pub internal_errors: Vec<String>,
}

struct FileRules<'a> {
    rules: &'a [&'static dyn Rule],
    errors: &'a Mutex<Vec<String>>,
}

impl FileVisitor for FileRules<'_> {
    fn visit(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) -> bool {
        let mut complete = true;
        for rule in self.rules {
            let mut local = Vec::new();
            let r = catch_unwind(AssertUnwindSafe(|| rule.check_file(cx, &mut local)));
            match r {
                Ok(()) => out.extend(local),
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
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(STACK_SIZE);
    if let Some(n) = opts.threads {
        builder = builder.num_threads(n.max(1));
    }
    let pool = builder
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    pool.install(|| run_in_pool(opts))
}

/// Loads the project only (no rules), on the same large-stack threads: for
/// `djcheck project`.
pub fn load_project(
    load: &djcheck_project::LoadOptions,
    threads: Option<usize>,
) -> Result<djcheck_project::Project, String> {
    let mut builder = rayon::ThreadPoolBuilder::new().stack_size(STACK_SIZE);
    if let Some(n) = threads {
        builder = builder.num_threads(n.max(1));
    }
    let pool = builder
        .build()
        .map_err(|e| format!("cannot start worker threads: {e}"))?;
    pool.install(|| {
        djcheck_project::load(load, &djcheck_project::NoVisitor)
            .map(|(p, _)| p)
            .map_err(|e| e.to_string())
    })
}

fn run_in_pool(opts: &RunOptions) -> Result<RunResult, String> {
    let errors = Mutex::new(Vec::new());
    let visitor = FileRules {
        rules: &opts.rules,
        errors: &errors,
    };
    let (mut project, mut diagnostics) =
        djcheck_project::load(&opts.load, &visitor).map_err(|e| e.to_string())?;
    let project_diags: Vec<Vec<Diagnostic>> = opts
        .rules
        .par_iter()
        .map(|rule| {
            let mut out = Vec::new();
            match catch_unwind(AssertUnwindSafe(|| rule.check_project(&project, &mut out))) {
                Ok(()) => out,
                Err(p) => {
                    record(&errors, rule.meta().code, None, &p);
                    Vec::new()
                }
            }
        })
        .collect();
    diagnostics.extend(project_diags.into_iter().flatten());
    // Secrets are masked even when the finding about them is suppressed: another
    // diagnostic (a report about the suppression comment on that very line) may show the
    // line.
    let secrets: Vec<djcheck_diagnostics::Span> = diagnostics
        .iter()
        .flat_map(|d| d.redact.iter().copied())
        .collect();
    // Suppression comments, after every rule has run and before severities are
    // overridden, so that the reports about the comments get overrides too.
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
    Ok(RunResult {
        project,
        diagnostics,
        internal_errors,
    })
}
