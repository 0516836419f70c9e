//! Phase timings for profiling: with `DJCHECK_TIMINGS=1` in the environment, each phase
//! of a run prints its wall time to stderr, and where the system tells (Linux), the
//! process's resident memory and its peak so far when the phase ended. Off, a phase costs
//! one relaxed atomic load.

use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

/// 0: not yet read from the environment; 1: off; 2: on.
static STATE: AtomicU8 = AtomicU8::new(0);

/// Whether phase timings are printed.
pub fn enabled() -> bool {
    match STATE.load(Ordering::Relaxed) {
        0 => {
            let on = std::env::var_os("DJCHECK_TIMINGS").is_some_and(|v| !v.is_empty() && v != "0");
            STATE.store(if on { 2 } else { 1 }, Ordering::Relaxed);
            on
        }
        s => s == 2,
    }
}

/// Prints a line with the timings (if they are on).
#[allow(clippy::print_stderr)]
pub fn note(line: std::fmt::Arguments<'_>) {
    if enabled() {
        eprintln!("djcheck timing: {line}");
    }
}

/// A phase: prints its name and wall time when dropped (if timings are on).
pub struct Phase {
    name: &'static str,
    start: Option<Instant>,
}

/// Starts timing the phase `name`.
pub fn phase(name: &'static str) -> Phase {
    Phase {
        name,
        start: enabled().then(Instant::now),
    }
}

// Timings are for whoever set the variable, on stderr by design.
#[allow(clippy::print_stderr)]
impl Drop for Phase {
    fn drop(&mut self) {
        if let Some(s) = self.start {
            let ms = s.elapsed().as_secs_f64() * 1e3;
            match resident() {
                Some((now, peak)) => eprintln!(
                    "djcheck timing: {:<24} {ms:>9.2} ms  rss {:>6.1} MiB  peak {:>6.1} MiB",
                    self.name,
                    now as f64 / 1024.0,
                    peak as f64 / 1024.0
                ),
                None => eprintln!("djcheck timing: {:<24} {ms:>9.2} ms", self.name),
            }
        }
    }
}

/// The process's resident memory and its peak so far, in KiB, from `/proc/self/status`
/// (`VmRSS`, `VmHWM`); `None` where there is no such file.
fn resident() -> Option<(u64, u64)> {
    use std::io::Read;
    let mut text = String::new();
    std::fs::File::open("/proc/self/status")
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    let field = |name: &str| {
        text.split('\n')
            .find_map(|l| l.strip_prefix(name))?
            .trim()
            .strip_suffix("kB")?
            .trim()
            .parse::<u64>()
            .ok()
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
