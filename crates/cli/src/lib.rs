//! The djcheck command line: arguments, configuration merging, output, exit codes.
//!
//! What it is: [`run`] parses arguments, finds the project root and its config, runs the
//! linter and renders the result; [`main_with_std`] wires it to the real terminal.
//!
//! It is the only crate that prints or exits (the workspace lints forbid printing
//! elsewhere). Exit codes: 0 nothing at or above `--fail-on`, 1 findings, 2 usage error,
//! unreadable config or internal error.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod args;
mod check;
mod fix_cmd;
mod project_cmd;
pub mod registry;
mod rules_cmd;
mod server_cmd;

use clap::Parser;
use codespan_reporting::term::termcolor::{
    BufferedStandardStream, ColorChoice, ColorSpec, HyperlinkSpec, NoColor, StandardStream,
    WriteColor,
};
use std::ffi::OsString;
use std::io::{IsTerminal, Read, Write};

pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_ERROR: i32 = 2;

/// Where a run reads and writes.
pub struct Io<'a> {
    pub stdin: &'a mut dyn Read,
    pub stdout: &'a mut dyn WriteColor,
    pub stderr: &'a mut dyn Write,
    /// The working directory relative paths are taken from.
    pub cwd: std::path::PathBuf,
}

/// Set when the process exits right after [`run`] returns: the analysis results are then
/// left to the operating system instead of being freed piece by piece (tens of
/// milliseconds on a large project).
static EXITS_AFTER_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// A value that is freed when dropped, unless the process is about to exit.
pub(crate) struct FreedUnlessExiting<T>(Option<T>);

impl<T> FreedUnlessExiting<T> {
    pub(crate) fn new(v: T) -> Self {
        FreedUnlessExiting(Some(v))
    }
}

impl<T> std::ops::Deref for FreedUnlessExiting<T> {
    type Target = T;
    fn deref(&self) -> &T {
        match &self.0 {
            Some(v) => v,
            // Only `drop` takes the value.
            None => unreachable!("value used after drop"),
        }
    }
}

impl<T> Drop for FreedUnlessExiting<T> {
    fn drop(&mut self) {
        if EXITS_AFTER_RUN.load(std::sync::atomic::Ordering::Relaxed) {
            std::mem::forget(self.0.take());
        }
    }
}

/// Runs djcheck with the process's arguments and streams.
pub fn main_with_std() -> i32 {
    // Panics are caught and reported as internal errors; the default hook would print a
    // backtrace hint first, which is noise for users.
    std::panic::set_hook(Box::new(|_| {}));
    EXITS_AFTER_RUN.store(true, std::sync::atomic::Ordering::Relaxed);
    let terminal = std::io::stdout().is_terminal();
    let color = if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) || !terminal {
        ColorChoice::Never
    } else {
        ColorChoice::Auto
    };
    // A terminal gets the report line by line; a pipe or a file in large writes (a report
    // of a thousand findings was ten thousand writes). Standard error is written after
    // what standard output holds, so the two keep their order when they go to one place.
    let out: Box<dyn WriteColor> = if terminal {
        Box::new(StandardStream::stdout(color))
    } else {
        Box::new(BufferedStandardStream::stdout(color))
    };
    let out = std::rc::Rc::new(std::cell::RefCell::new(out));
    let mut stdout = SharedOut(out.clone());
    let mut stderr = ErrAfterOut {
        out,
        err: std::io::stderr(),
    };
    let mut stdin = std::io::stdin();
    let cwd = std::env::current_dir().unwrap_or_default();
    let mut io = Io {
        stdin: &mut stdin,
        stdout: &mut stdout,
        stderr: &mut stderr,
        cwd,
    };
    let code = run(std::env::args_os().collect(), &mut io);
    let _ = io.stdout.flush();
    code
}

/// Standard output, shared with [`ErrAfterOut`].
struct SharedOut(std::rc::Rc<std::cell::RefCell<Box<dyn WriteColor>>>);

impl Write for SharedOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.0.borrow_mut().write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().flush()
    }
}

impl WriteColor for SharedOut {
    fn supports_color(&self) -> bool {
        self.0.borrow().supports_color()
    }
    fn set_color(&mut self, spec: &ColorSpec) -> std::io::Result<()> {
        self.0.borrow_mut().set_color(spec)
    }
    fn reset(&mut self) -> std::io::Result<()> {
        self.0.borrow_mut().reset()
    }
    fn supports_hyperlinks(&self) -> bool {
        self.0.borrow().supports_hyperlinks()
    }
    fn set_hyperlink(&mut self, link: &HyperlinkSpec<'_>) -> std::io::Result<()> {
        self.0.borrow_mut().set_hyperlink(link)
    }
}

/// Standard error, written only once standard output's buffer has been flushed.
struct ErrAfterOut {
    out: std::rc::Rc<std::cell::RefCell<Box<dyn WriteColor>>>,
    err: std::io::Stderr,
}

impl Write for ErrAfterOut {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = self.out.borrow_mut().flush();
        self.err.write(buf)
    }
    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        let _ = self.out.borrow_mut().flush();
        self.err.write_all(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.err.flush()
    }
}

/// Runs djcheck with explicit arguments and streams, catching any panic.
pub fn run(args: Vec<OsString>, io: &mut Io<'_>) -> i32 {
    let cli = match args::Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
            let rendered = e.render().to_string();
            if e.use_stderr() {
                let _ = write!(io.stderr, "{rendered}");
            } else {
                let _ = write!(io.stdout, "{rendered}");
            }
            return code;
        }
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match cli.command {
        args::Command::Check(a) => check::check(&a, io),
        args::Command::Rule { code } => rules_cmd::rule(&code, io),
        args::Command::Rules { format } => rules_cmd::rules(format, io),
        args::Command::Project(a) => project_cmd::project(&a, io),
        args::Command::Server(a) => server_cmd::server(&a, &io.cwd),
    }));
    match result {
        Ok(code) => code,
        Err(p) => {
            let msg = p
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            let _ = writeln!(io.stderr, "djcheck: internal error: {msg}");
            EXIT_ERROR
        }
    }
}

/// Runs djcheck in memory: `(exit code, stdout, stderr)`. For tests and tools.
pub fn run_captured(args: &[&str], cwd: &std::path::Path, stdin: &str) -> (i32, String, String) {
    let mut out = NoColor::new(Vec::new());
    let mut err = Vec::new();
    let mut input = stdin.as_bytes();
    let mut all: Vec<OsString> = vec!["djcheck".into()];
    all.extend(args.iter().map(OsString::from));
    let code = {
        let mut io = Io {
            stdin: &mut input,
            stdout: &mut out,
            stderr: &mut err,
            cwd: cwd.to_owned(),
        };
        run(all, &mut io)
    };
    (
        code,
        String::from_utf8_lossy(&out.into_inner()).into_owned(),
        String::from_utf8_lossy(&err).into_owned(),
    )
}
