//! `djcheck check --fix` / `--diff` / `--show-fixes`: the fix loop on the linter, and
//! writing its result (atomically, only with `--fix`).

use crate::args::CheckArgs;
use crate::{Io, EXIT_ERROR, EXIT_FINDINGS, EXIT_OK};
use djcheck_diagnostics::{Applicability, Diagnostic, Severity, SourceDb};
use djcheck_fix::{FixOptions, FixReport};
use djcheck_linter::{RunOptions, RunResult};
use std::io::Write;
use std::path::Path;

/// What was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    Fix { unsafe_fixes: bool, show: bool },
    Diff { unsafe_fixes: bool },
}

impl Mode {
    pub(crate) fn of(a: &CheckArgs) -> Option<Mode> {
        if a.diff {
            Some(Mode::Diff {
                unsafe_fixes: a.unsafe_fixes,
            })
        } else if a.fix {
            Some(Mode::Fix {
                unsafe_fixes: a.unsafe_fixes,
                show: a.show_fixes,
            })
        } else {
            None
        }
    }

    fn unsafe_fixes(self) -> bool {
        match self {
            Mode::Fix { unsafe_fixes, .. } | Mode::Diff { unsafe_fixes } => unsafe_fixes,
        }
    }
}

pub(crate) enum Outcome {
    /// Report on the fixed project.
    Continue(Box<RunResult>),
    /// Done: exit with this code.
    Exit(i32),
}

/// What the caller decides about the run.
pub(crate) struct Context<'a> {
    pub root: &'a Path,
    /// The buffer read from standard input (`-`), project-relative.
    pub stdin: Option<&'a str>,
    pub fail_on: Severity,
    pub exit_zero: bool,
    pub quiet: bool,
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Runs the fix loop from the first check's result.
pub(crate) fn fix(
    mode: Mode,
    opts: &mut RunOptions,
    first: RunResult,
    keeps: &dyn Fn(&RunResult, &Diagnostic) -> bool,
    cx: &Context<'_>,
    io: &mut Io<'_>,
) -> Outcome {
    let base_overrides = opts.load.overrides.clone();
    let root = cx.root;
    let stdin = cx.stdin;
    let only_buffer = |r: &RunResult, d: &Diagnostic| {
        let Some(stdin) = stdin else { return true };
        d.fix.as_ref().is_some_and(|f| {
            f.new_files.is_empty()
                && f.edits
                    .iter()
                    .all(|e| r.project.db.file(e.file).path == stdin)
        })
    };
    let loop_result = djcheck_fix::fix_loop(
        first,
        FixOptions {
            unsafe_fixes: mode.unsafe_fixes(),
            ..FixOptions::default()
        },
        |r: &RunResult| (&r.project.db, r.diagnostics.as_slice()),
        |r, d| keeps(r, d) && only_buffer(r, d),
        |p| base_overrides.contains_key(p) || root.join(p).exists(),
        |texts| {
            let mut o = base_overrides.clone();
            o.extend(texts.iter().map(|(k, v)| (k.clone(), v.clone())));
            opts.load.overrides = o;
            djcheck_linter::run(opts)
        },
    );
    let (result, report) = match loop_result {
        Ok(r) => r,
        Err(e) => return Outcome::Exit(crate::check::usage(io, &e)),
    };
    for r in &report.rolled_back {
        let _ = writeln!(
            io.stderr,
            "djcheck: fix for {} in `{}` not applied ({}): {}",
            r.code, r.path, r.message, r.why
        );
    }
    if report.unfinished > 0 {
        let _ = writeln!(
            io.stderr,
            "djcheck: stopped fixing after too many rounds; {} left: run again",
            plural(report.unfinished, "fix", "fixes")
        );
    }
    let remaining: Vec<&Diagnostic> = result
        .diagnostics
        .iter()
        .filter(|d| keeps(&result, d))
        .collect();
    match mode {
        Mode::Diff { .. } => {
            let mut any = false;
            for (path, old, new) in report.changed() {
                any = true;
                let _ = write!(io.stdout, "{}", djcheck_fix::unified_diff(path, old, new));
            }
            if !cx.quiet {
                let _ = writeln!(
                    io.stderr,
                    "djcheck: would fix {}{}",
                    plural(report.applied.len(), "finding", "findings"),
                    hidden_unsafe(&result, mode, keeps)
                );
            }
            Outcome::Exit(if any { EXIT_FINDINGS } else { EXIT_OK })
        }
        Mode::Fix { show, .. } => {
            if let Some(buffer) = stdin {
                // The fixed buffer goes to standard output, as formatters do.
                let text = report
                    .texts
                    .get(buffer)
                    .map(String::as_str)
                    .or_else(|| base_overrides.get(buffer).map(String::as_str))
                    .unwrap_or("");
                let _ = write!(io.stdout, "{text}");
                summary(&report, &remaining, &result, mode, keeps, cx, io, show);
                let failing = remaining.iter().any(|d| d.severity >= cx.fail_on);
                return Outcome::Exit(if failing && !cx.exit_zero {
                    EXIT_FINDINGS
                } else {
                    EXIT_OK
                });
            }
            let mut failed = false;
            for (path, old, new) in report.changed() {
                if let Err(e) = write_fixed(root, path, old, new) {
                    failed = true;
                    let _ = writeln!(io.stderr, "djcheck: cannot write `{path}`: {e}");
                }
            }
            summary(&report, &remaining, &result, mode, keeps, cx, io, show);
            if failed {
                return Outcome::Exit(EXIT_ERROR);
            }
            Outcome::Continue(Box::new(result))
        }
    }
}

/// "(3 more with `--unsafe-fixes`)" when unsafe fixes were left out.
fn hidden_unsafe(
    r: &RunResult,
    mode: Mode,
    keeps: &dyn Fn(&RunResult, &Diagnostic) -> bool,
) -> String {
    if mode.unsafe_fixes() {
        return String::new();
    }
    let n = r
        .diagnostics
        .iter()
        .filter(|d| {
            keeps(r, d)
                && d.fix
                    .as_ref()
                    .is_some_and(|f| f.applicability == Applicability::Unsafe)
        })
        .count();
    if n == 0 {
        String::new()
    } else {
        format!(" ({n} more with `--unsafe-fixes`)")
    }
}

#[allow(clippy::too_many_arguments)]
fn summary(
    report: &FixReport,
    remaining: &[&Diagnostic],
    result: &RunResult,
    mode: Mode,
    keeps: &dyn Fn(&RunResult, &Diagnostic) -> bool,
    cx: &Context<'_>,
    io: &mut Io<'_>,
    show: bool,
) {
    if show {
        let mut by_path: std::collections::BTreeMap<&str, Vec<&djcheck_fix::Done>> =
            std::collections::BTreeMap::new();
        for d in &report.applied {
            by_path.entry(d.path.as_str()).or_default().push(d);
        }
        for (path, done) in by_path {
            let _ = writeln!(
                io.stderr,
                "fixed in {}:",
                if path.is_empty() { "the project" } else { path }
            );
            for d in done {
                let _ = writeln!(
                    io.stderr,
                    "  {} {} ({}): {}",
                    d.code,
                    d.name,
                    d.applicability.as_str(),
                    d.message
                );
            }
        }
    }
    if cx.quiet {
        return;
    }
    let files = report.changed().count();
    let _ = writeln!(
        io.stderr,
        "djcheck: fixed {} in {}, {} left{}",
        plural(report.applied.len(), "finding", "findings"),
        plural(files, "file", "files"),
        remaining.len(),
        hidden_unsafe(result, mode, keeps)
    );
}

/// Writes a fixed file: only if it still holds what was analysed (an editor may have
/// saved it meanwhile), through a temporary file renamed over it, with its permissions
/// and byte order mark kept. A new file is never written over an existing one.
fn write_fixed(root: &Path, rel: &str, old: Option<&str>, new: &str) -> std::io::Result<()> {
    let path = root.join(rel);
    match old {
        Some(old) => {
            let target = path.canonicalize()?;
            let limits = djcheck_python::Limits::default();
            let now = djcheck_project::fs::read_text(&target, &limits)
                .map_err(|_| std::io::Error::other("it can no longer be read"))?;
            if now != old {
                return Err(std::io::Error::other(
                    "it changed since it was analysed; nothing written",
                ));
            }
            let bom = djcheck_project::fs::read_bytes(&target, limits.max_file_bytes)
                .is_some_and(|b| b.starts_with(b"\xEF\xBB\xBF"));
            let mut bytes = Vec::with_capacity(new.len() + 3);
            if bom {
                bytes.extend_from_slice(b"\xEF\xBB\xBF");
            }
            bytes.extend_from_slice(new.as_bytes());
            let perms = std::fs::metadata(&target)?.permissions();
            let tmp = temp_beside(&target)?;
            write_new(&tmp, &bytes)?;
            let _ = std::fs::set_permissions(&tmp, perms);
            std::fs::rename(&tmp, &target).inspect_err(|_| {
                let _ = std::fs::remove_file(&tmp);
            })
        }
        None => {
            if let Some(dir) = path.parent() {
                if !dir.is_dir() {
                    return Err(std::io::Error::other("its folder does not exist"));
                }
            }
            let tmp = temp_beside(&path)?;
            write_new(&tmp, new.as_bytes())?;
            // A hard link never replaces an existing file: the new file appears whole or
            // not at all.
            let linked = std::fs::hard_link(&tmp, &path);
            let _ = std::fs::remove_file(&tmp);
            match linked {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
                // File systems without hard links: create it exclusively.
                Err(_) => write_new(&path, new.as_bytes()),
            }
        }
    }
}

fn temp_beside(path: &Path) -> std::io::Result<std::path::PathBuf> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| std::io::Error::other("not a file path"))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    Ok(dir.join(format!(".{name}.djcheck-{}.tmp", std::process::id())))
}

fn write_new(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

/// `--show-fixes` without `--fix`: the fix each finding has, and how to apply them.
pub(crate) fn list_available(db: &SourceDb, diagnostics: &[Diagnostic], out: &mut dyn Write) {
    let (mut safe, mut unsafe_) = (0, 0);
    for d in diagnostics {
        let Some(f) = &d.fix else { continue };
        let place = d.primary.map_or_else(String::new, |s| {
            let file = db.file(s.file);
            let lc = file.line_col(s.range.start());
            format!("{}:{}:{}: ", file.path, lc.line, lc.column)
        });
        match f.applicability {
            Applicability::Safe => safe += 1,
            Applicability::Unsafe => unsafe_ += 1,
        }
        let _ = writeln!(
            out,
            "{place}{} fix ({}): {}",
            d.code,
            f.applicability.as_str(),
            f.message
        );
    }
    let _ = writeln!(
        out,
        "{} with `--fix`, {} more with `--fix --unsafe-fixes`",
        plural(safe, "finding fixable", "findings fixable"),
        unsafe_
    );
}
