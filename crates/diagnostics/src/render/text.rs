//! rustc-style text output, rendered with codespan-reporting.

use super::RenderContext;
use crate::{Diagnostic, FileId, Severity, SourceDb};
use codespan_reporting::diagnostic as cs;
use codespan_reporting::files::{Error as FilesError, Files};
use codespan_reporting::term::{self, termcolor::WriteColor};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io;
use std::ops::Range;

/// The files as renderers may show them: secrets masked.
struct Shown<'a> {
    db: &'a SourceDb,
    texts: BTreeMap<FileId, Cow<'a, str>>,
}

impl<'a> Files<'a> for Shown<'a> {
    type FileId = FileId;
    type Name = &'a str;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(self.db.file(id).path.as_str())
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, FilesError> {
        Ok(self
            .texts
            .get(&id)
            .map_or(self.db.file(id).text.as_str(), |t| t.as_ref()))
    }

    fn line_index(&'a self, id: FileId, byte_index: usize) -> Result<usize, FilesError> {
        let off = u32::try_from(byte_index).unwrap_or(u32::MAX);
        Ok(self.db.file(id).line_index().line_of(off.into()))
    }

    fn line_range(&'a self, id: FileId, line_index: usize) -> Result<Range<usize>, FilesError> {
        self.db
            .line_range(id, line_index)
            .ok_or(FilesError::LineTooLarge {
                given: line_index,
                max: self.db.file(id).line_index().line_count(),
            })
    }
}

fn to_codespan(d: &Diagnostic) -> cs::Diagnostic<FileId> {
    let severity = match d.severity {
        Severity::Error => cs::Severity::Error,
        Severity::Warning => cs::Severity::Warning,
        Severity::Info => cs::Severity::Note,
    };
    let mut labels = Vec::new();
    if let Some(p) = d.primary {
        labels.push(cs::Label::primary(p.file, p.range).with_message(d.primary_label.clone()));
    }
    for l in &d.labels {
        labels
            .push(cs::Label::secondary(l.span.file, l.span.range).with_message(l.message.clone()));
    }
    let mut notes: Vec<String> = d.notes.iter().map(|n| format!("note: {n}")).collect();
    if let Some(h) = &d.help {
        notes.push(format!("help: {h}"));
    }
    cs::Diagnostic::new(severity)
        .with_code(d.code)
        .with_message(d.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// Writes every diagnostic, then (unless `quiet`) a summary line.
pub fn render(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn WriteColor,
    quiet: bool,
) -> io::Result<()> {
    let mut shown = Shown {
        db: ctx.db,
        texts: BTreeMap::new(),
    };
    for d in diagnostics {
        for span in d.primary.iter().chain(d.labels.iter().map(|l| &l.span)) {
            let f = ctx.db.file(span.file);
            if f.needs_display_copy() {
                shown
                    .texts
                    .entry(span.file)
                    .or_insert_with(|| f.display_text());
            }
        }
    }
    let config = term::Config::default();
    for d in diagnostics {
        let cd = to_codespan(d);
        term::emit(out, &config, &shown, &cd).map_err(|e| match e {
            FilesError::Io(e) => e,
            other => io::Error::other(other.to_string()),
        })?;
    }
    if !quiet {
        writeln!(out, "{}", summary(ctx, diagnostics))?;
        if let Some(line) = not_analysed_line(ctx) {
            writeln!(out, "{line}")?;
        }
    }
    Ok(())
}

/// One line saying what was not analysed, with its fix, when something was not:
/// "No problems found" must not be read as "safe" when djcheck could not look.
pub fn not_analysed_line(ctx: &RenderContext<'_>) -> Option<String> {
    let p = ctx.project?;
    let first = p.not_analysed.first()?;
    let more = p.not_analysed.len() - 1;
    let tail = if more > 0 {
        format!("; and {more} more (see `djcheck project`)")
    } else {
        String::new()
    };
    Some(format!("Not analysed: {}{tail}", first.one_line()))
}

/// `Found 2 errors, 1 warning in 14 files` / `No problems found in 14 files`.
pub fn summary(ctx: &RenderContext<'_>, diagnostics: &[Diagnostic]) -> String {
    let c = ctx.counts(diagnostics);
    let files = plural(ctx.files_checked, "file", "files");
    if diagnostics.is_empty() {
        return format!("No problems found in {files}");
    }
    let mut parts = Vec::new();
    if c.errors > 0 {
        parts.push(plural(c.errors, "error", "errors"));
    }
    if c.warnings > 0 {
        parts.push(plural(c.warnings, "warning", "warnings"));
    }
    if c.infos > 0 {
        parts.push(plural(c.infos, "info", "infos"));
    }
    format!("Found {} in {files}", parts.join(", "))
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
