//! The real binary at a terminal: color only on a TTY and never with `NO_COLOR`. A
//! terminal is provided by util-linux `script`; without it that half is skipped.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;

const ESC: char = '\u{1b}';

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .unwrap()
        .join("fixtures/migrations/MIG001_missing-dependency/fires")
}

fn djcheck() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_djcheck"));
    c.args(["check", ".", "--no-config", "--no-cache"])
        .current_dir(fixture())
        .env_remove("NO_COLOR")
        .env("TERM", "xterm-256color");
    c
}

#[test]
fn piped_output_has_no_color() {
    let out = djcheck().output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("error[MIG001]"), "{text}");
    assert!(!text.contains(ESC), "{text:?}");
}

/// Runs djcheck under a pseudo-terminal; `None` when `script` is not available.
fn at_terminal(no_color: Option<&str>) -> Option<String> {
    let bin = env!("CARGO_BIN_EXE_djcheck");
    let mut c = Command::new("script");
    c.args(["-q", "-e", "-c"])
        .arg(format!("{bin} check . --no-config --no-cache"))
        .arg("/dev/null")
        .current_dir(fixture())
        .env("TERM", "xterm-256color")
        .env_remove("NO_COLOR");
    if let Some(v) = no_color {
        c.env("NO_COLOR", v);
    }
    let out = c.output().ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.contains("MIG001").then_some(text)
}

#[test]
fn color_on_a_terminal_unless_no_color() {
    let Some(colored) = at_terminal(None) else {
        println!("SKIPPED color_on_a_terminal_unless_no_color: no `script` to provide a terminal");
        return;
    };
    assert!(colored.contains(ESC), "{colored:?}");
    let plain = at_terminal(Some("1")).unwrap();
    assert!(!plain.contains(ESC), "{plain:?}");
}

/// Piped output is written in large blocks; what goes to standard error after it still
/// comes after it when both streams go to one place (`2>&1`, as pre-commit and CI logs
/// capture them).
#[test]
fn piped_output_keeps_its_order_with_standard_error() {
    let (mut reader, writer) = std::io::pipe().unwrap();
    let mut c = djcheck();
    c.args(["--format", "json", "--statistics"])
        .stdout(writer.try_clone().unwrap())
        .stderr(writer);
    let mut child = c.spawn().unwrap();
    // The command holds the only write ends left: reading ends when it exits.
    drop(c);
    let mut text = String::new();
    std::io::Read::read_to_string(&mut reader, &mut text).unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(1));
    let report_end = text.rfind(']').unwrap();
    let statistics = text.find("MIG001 ").unwrap();
    assert!(
        report_end < statistics,
        "the statistics (standard error) came before the end of the report:\n{text}"
    );
}
