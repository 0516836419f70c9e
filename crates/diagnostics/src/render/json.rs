//! `--format json`: `{"version": 1, "diagnostics": [...], "summary": {...}}`.
//!
//! This schema is public: other formats, tests and users build on it. Add fields, never
//! rename or remove them.

use super::{range_of, Range, RenderContext};
use crate::{Diagnostic, Severity};
use serde::Serialize;
use std::io;

#[derive(Serialize)]
struct Output<'a> {
    version: u32,
    diagnostics: Vec<JsonDiagnostic<'a>>,
    summary: Summary<'a>,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    code: &'a str,
    name: &'a str,
    severity: Severity,
    message: &'a str,
    path: Option<&'a str>,
    range: Option<Range>,
    labels: Vec<JsonLabel<'a>>,
    notes: &'a [String],
    help: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonLabel<'a> {
    path: &'a str,
    range: Range,
    message: &'a str,
}

#[derive(Serialize)]
struct Summary<'a> {
    errors: usize,
    warnings: usize,
    infos: usize,
    files: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    project: Option<&'a super::ProjectSummary>,
}

pub fn render(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let c = ctx.counts(diagnostics);
    let output = Output {
        version: 1,
        diagnostics: diagnostics
            .iter()
            .map(|d| JsonDiagnostic {
                code: d.code,
                name: d.name,
                severity: d.severity,
                message: &d.message,
                path: d.primary.map(|p| ctx.db.file(p.file).path.as_str()),
                range: d.primary.map(|p| range_of(ctx.db, p)),
                labels: d
                    .labels
                    .iter()
                    .map(|l| JsonLabel {
                        path: ctx.db.file(l.span.file).path.as_str(),
                        range: range_of(ctx.db, l.span),
                        message: &l.message,
                    })
                    .collect(),
                notes: &d.notes,
                help: d.help.as_deref(),
            })
            .collect(),
        summary: Summary {
            errors: c.errors,
            warnings: c.warnings,
            infos: c.infos,
            files: ctx.files_checked,
            project: ctx.project,
        },
    };
    serde_json::to_writer_pretty(&mut *out, &output).map_err(io::Error::other)?;
    writeln!(out)
}
