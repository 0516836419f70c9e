//! Between djcheck's byte ranges and LSP positions (UTF-16 code units by default, or the
//! encoding negotiated), and from diagnostics and fixes to their LSP forms.

use djcheck_diagnostics::{Diagnostic, Edit, Fix, Severity, SourceDb, SourceFile, TextSize};
use djcheck_python::LineIndex;
use lsp_types as lsp;
use std::collections::BTreeMap;
use std::path::Path;

/// How LSP counts characters in a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16,
    Utf32,
}

impl Encoding {
    fn width(self, s: &str) -> u32 {
        let n = match self {
            Encoding::Utf8 => s.len(),
            Encoding::Utf16 => s.encode_utf16().count(),
            Encoding::Utf32 => s.chars().count(),
        };
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

/// The LSP position of a byte offset of `text`.
pub fn position(text: &str, index: &LineIndex, enc: Encoding, offset: TextSize) -> lsp::Position {
    let line = index.line_of(offset);
    let start = index.line_range(line).map_or(0, |r| r.start);
    let mut off = usize::from(offset).min(text.len());
    while off > start && !text.is_char_boundary(off) {
        off -= 1;
    }
    lsp::Position {
        line: u32::try_from(line).unwrap_or(u32::MAX),
        character: enc.width(text.get(start..off).unwrap_or("")),
    }
}

pub fn range(file: &SourceFile, enc: Encoding, r: djcheck_diagnostics::TextRange) -> lsp::Range {
    lsp::Range {
        start: position(&file.text, file.line_index(), enc, r.start()),
        end: position(&file.text, file.line_index(), enc, r.end()),
    }
}

/// The byte offset of an LSP position in `text` (clamped to the line and the text).
pub fn offset(text: &str, index: &LineIndex, enc: Encoding, pos: lsp::Position) -> usize {
    let Some(r) = index.line_range(pos.line as usize) else {
        return text.len();
    };
    let line = &text[r.clone()];
    let body = line.trim_end_matches(['\n', '\r']);
    let mut units = 0u32;
    for (i, c) in body.char_indices() {
        if units >= pos.character {
            return r.start + i;
        }
        units += match enc {
            Encoding::Utf8 => c.len_utf8() as u32,
            Encoding::Utf16 => c.len_utf16() as u32,
            Encoding::Utf32 => 1,
        };
    }
    r.start + body.len()
}

pub fn file_url(root: &Path, rel: &str) -> Option<lsp::Url> {
    lsp::Url::from_file_path(root.join(rel)).ok()
}

fn severity(s: Severity) -> lsp::DiagnosticSeverity {
    match s {
        Severity::Error => lsp::DiagnosticSeverity::ERROR,
        Severity::Warning => lsp::DiagnosticSeverity::WARNING,
        Severity::Info => lsp::DiagnosticSeverity::INFORMATION,
    }
}

/// A diagnostic in LSP form: code with a link to its documentation, severity, the
/// message with its notes and help, the primary label and the secondary spans as related
/// information. `url` maps a project-relative path to the URI the client knows it by.
pub fn diagnostic(
    db: &SourceDb,
    d: &Diagnostic,
    enc: Encoding,
    url: &dyn Fn(&str) -> Option<lsp::Url>,
) -> Option<lsp::Diagnostic> {
    let p = d.primary?;
    let file = db.file(p.file);
    let mut message = d.message.clone();
    for n in &d.notes {
        message.push_str("\nnote: ");
        message.push_str(n);
    }
    if let Some(h) = &d.help {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let mut related = Vec::new();
    if !d.primary_label.is_empty() {
        if let Some(uri) = url(&file.path) {
            related.push(lsp::DiagnosticRelatedInformation {
                location: lsp::Location {
                    uri,
                    range: range(file, enc, p.range),
                },
                message: d.primary_label.clone(),
            });
        }
    }
    for l in &d.labels {
        let lf = db.file(l.span.file);
        if let Some(uri) = url(&lf.path) {
            related.push(lsp::DiagnosticRelatedInformation {
                location: lsp::Location {
                    uri,
                    range: range(lf, enc, l.span.range),
                },
                message: l.message.clone(),
            });
        }
    }
    Some(lsp::Diagnostic {
        range: range(file, enc, p.range),
        severity: Some(severity(d.severity)),
        code: Some(lsp::NumberOrString::String(d.code.to_owned())),
        code_description: lsp::Url::parse(&djcheck_diagnostics::render::rule_url(d.code))
            .ok()
            .map(|href| lsp::CodeDescription { href }),
        source: Some("djcheck".to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    })
}

/// A fix as a workspace edit. `None` when it creates a file and the client cannot.
pub fn workspace_edit(
    db: &SourceDb,
    fix: &Fix,
    enc: Encoding,
    url: &dyn Fn(&str) -> Option<lsp::Url>,
    can_create: bool,
) -> Option<lsp::WorkspaceEdit> {
    let mut by_file: BTreeMap<String, Vec<&Edit>> = BTreeMap::new();
    for e in &fix.edits {
        by_file
            .entry(db.file(e.file).path.clone())
            .or_default()
            .push(e);
    }
    let text_edits = |edits: &[&Edit]| -> Vec<lsp::TextEdit> {
        edits
            .iter()
            .map(|e| lsp::TextEdit {
                range: range(db.file(e.file), enc, e.range),
                new_text: e.content.clone(),
            })
            .collect()
    };
    if fix.new_files.is_empty() && by_file.len() == 1 {
        // lsp-types' type for `changes`; with one file its order cannot vary.
        #[allow(clippy::disallowed_types)]
        let mut changes = std::collections::HashMap::new();
        for (path, edits) in &by_file {
            changes.insert(url(path)?, text_edits(edits));
        }
        return Some(lsp::WorkspaceEdit {
            changes: Some(changes),
            ..Default::default()
        });
    }
    if !can_create && !fix.new_files.is_empty() {
        return None;
    }
    let mut ops = Vec::new();
    for n in &fix.new_files {
        let uri = url(&n.path)?;
        ops.push(lsp::DocumentChangeOperation::Op(lsp::ResourceOp::Create(
            lsp::CreateFile {
                uri: uri.clone(),
                options: Some(lsp::CreateFileOptions {
                    overwrite: Some(false),
                    ignore_if_exists: Some(false),
                }),
                annotation_id: None,
            },
        )));
        ops.push(lsp::DocumentChangeOperation::Edit(lsp::TextDocumentEdit {
            text_document: lsp::OptionalVersionedTextDocumentIdentifier { uri, version: None },
            edits: vec![lsp::OneOf::Left(lsp::TextEdit {
                range: lsp::Range::default(),
                new_text: n.content.clone(),
            })],
        }));
    }
    for (path, edits) in &by_file {
        ops.push(lsp::DocumentChangeOperation::Edit(lsp::TextDocumentEdit {
            text_document: lsp::OptionalVersionedTextDocumentIdentifier {
                uri: url(path)?,
                version: None,
            },
            edits: text_edits(edits)
                .into_iter()
                .map(lsp::OneOf::Left)
                .collect(),
        }));
    }
    Some(lsp::WorkspaceEdit {
        document_changes: Some(lsp::DocumentChanges::Operations(ops)),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_round_trip_in_every_encoding() {
        let text = "a = 'é😀x'\r\nb = 1\n";
        let index = LineIndex::new(text);
        let x = text.find('x').unwrap();
        for (enc, ch) in [
            (Encoding::Utf8, 11),
            (Encoding::Utf16, 8),
            (Encoding::Utf32, 7),
        ] {
            let p = position(text, &index, enc, TextSize::new(x as u32));
            assert_eq!((p.line, p.character), (0, ch), "{enc:?}");
            assert_eq!(offset(text, &index, enc, p), x);
        }
        let b = text.find('b').unwrap();
        let p = position(text, &index, Encoding::Utf16, TextSize::new(b as u32));
        assert_eq!((p.line, p.character), (1, 0));
        assert_eq!(
            offset(
                text,
                &index,
                Encoding::Utf16,
                lsp::Position {
                    line: 9,
                    character: 0
                }
            ),
            text.len()
        );
    }
}
