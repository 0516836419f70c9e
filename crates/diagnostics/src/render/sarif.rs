//! `--format sarif`: SARIF 2.1.0, the format GitHub code scanning (and other dashboards)
//! ingest.
//!
//! One run. Its `tool.driver` lists every rule with its documentation (short description:
//! the doc's first paragraph; full description and help: the whole doc) and its level;
//! each result names its rule, level and message, and points at the primary range with a
//! `physicalLocation` (URI relative to `%SRCROOT%`, the repository root, and a region with
//! start/end line and column), the secondary ranges being `relatedLocations`. Columns are
//! counted in Unicode code points (`columnKind`), as everywhere in djcheck. No source text
//! is copied into the log, so nothing a rule masked can leak through it.

use super::{full_message, range_of, RenderContext, RuleInfo};
use crate::{Diagnostic, Severity, Span};
use serde::Serialize;
use std::io;

const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: [Run<'a>; 1],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool<'a>,
    column_kind: &'static str,
    results: Vec<SarifResult>,
}

#[derive(Serialize)]
struct Tool<'a> {
    driver: Driver<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver<'a> {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    rules: Vec<ReportingDescriptor<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ReportingDescriptor<'a> {
    id: &'a str,
    name: String,
    short_description: Text,
    full_description: MultiformatText,
    help: MultiformatText,
    default_configuration: Configuration,
    properties: RuleProperties<'a>,
}

#[derive(Serialize)]
struct RuleProperties<'a> {
    /// The rule's kebab-case name as djcheck prints it (`name` is its PascalCase form).
    #[serde(rename = "djcheck-name")]
    djcheck_name: &'a str,
    tags: [&'static str; 1],
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct MultiformatText {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    level: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SarifResult {
    rule_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    rule_index: Option<usize>,
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    region: Region,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    uri_base_id: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: u32,
    start_column: u32,
    end_line: u32,
    end_column: u32,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `missing-dependency` → `MissingDependency`: SARIF asks for a PascalCase friendly name.
fn pascal_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

/// Percent-encodes a relative path into a URI reference: everything but unreserved
/// characters and `/`.
pub fn path_to_uri(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A sentence for a text field: SARIF's convention is that messages end with a period,
/// while djcheck's messages (terse, like rustc's) do not.
fn sentence(s: &str) -> String {
    let t = s.trim_end();
    if t.ends_with(['.', '?', '!']) {
        t.to_owned()
    } else {
        format!("{t}.")
    }
}

fn physical(ctx: &RenderContext<'_>, span: Span) -> PhysicalLocation {
    let r = range_of(ctx.db, span);
    PhysicalLocation {
        artifact_location: ArtifactLocation {
            uri: path_to_uri(&ctx.repo_path(span)),
            uri_base_id: SRCROOT,
        },
        region: Region {
            start_line: r.start.line,
            start_column: r.start.column,
            end_line: r.end.line,
            end_column: r.end.column,
        },
    }
}

fn descriptor(r: &RuleInfo) -> ReportingDescriptor<'_> {
    ReportingDescriptor {
        id: r.code,
        name: pascal_case(r.name),
        short_description: Text {
            text: sentence(&r.summary),
        },
        full_description: MultiformatText {
            text: r.doc.clone(),
            markdown: r.doc.clone(),
        },
        help: MultiformatText {
            text: r.doc.clone(),
            markdown: r.doc.clone(),
        },
        default_configuration: Configuration {
            level: level(r.severity),
        },
        properties: RuleProperties {
            djcheck_name: r.name,
            tags: ["django"],
        },
    }
}

pub fn render(
    ctx: &RenderContext<'_>,
    diagnostics: &[Diagnostic],
    out: &mut dyn io::Write,
) -> io::Result<()> {
    let results = diagnostics
        .iter()
        .map(|d| SarifResult {
            rule_id: d.code.to_owned(),
            rule_index: ctx.rules.iter().position(|r| r.code == d.code),
            level: level(d.severity),
            message: Text {
                text: sentence(&full_message(d)),
            },
            locations: d
                .primary
                .map(|p| Location {
                    id: None,
                    physical_location: physical(ctx, p),
                    message: (!d.primary_label.is_empty()).then(|| Text {
                        text: sentence(&d.primary_label),
                    }),
                })
                .into_iter()
                .collect(),
            related_locations: d
                .labels
                .iter()
                .enumerate()
                .map(|(i, l)| Location {
                    id: Some(i + 1),
                    physical_location: physical(ctx, l.span),
                    message: Some(Text {
                        text: sentence(&l.message),
                    }),
                })
                .collect(),
        })
        .collect();
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: [Run {
            tool: Tool {
                driver: Driver {
                    name: "djcheck",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    rules: ctx.rules.iter().map(descriptor).collect(),
                },
            },
            column_kind: "unicodeCodePoints",
            results,
        }],
    };
    serde_json::to_writer_pretty(&mut *out, &log).map_err(io::Error::other)?;
    writeln!(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_percent_encoded() {
        assert_eq!(
            path_to_uri("blog/migrations/0001.py"),
            "blog/migrations/0001.py"
        );
        assert_eq!(path_to_uri("my app/é%.py"), "my%20app/%C3%A9%25.py");
    }

    #[test]
    fn names_and_sentences() {
        assert_eq!(pascal_case("missing-dependency"), "MissingDependency");
        assert_eq!(sentence("no migration `x`"), "no migration `x`.");
        assert_eq!(sentence("renamed?"), "renamed?");
    }
}
