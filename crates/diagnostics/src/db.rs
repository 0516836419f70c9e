use djcheck_python::{LineCol, LineIndex, TextRange, TextSize};
use std::ops::Range;

/// Index of a file in the [`SourceDb`].
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct FileId(pub u32);

/// A file diagnostics can point into.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the project root, `/`-separated.
    pub path: String,
    /// The text as analysed (after decoding; empty for files that could not be read).
    pub text: String,
    /// Built on first use: most files are never shown nor asked for a line.
    line_index: std::sync::OnceLock<LineIndex>,
    /// Ranges that renderers must never print (detected secrets). Rendered snippets
    /// replace them with a masked form of the same byte length.
    pub masked: Vec<TextRange>,
}

impl SourceFile {
    /// The file's line starts (computed once, on first use).
    pub fn line_index(&self) -> &LineIndex {
        self.line_index.get_or_init(|| LineIndex::new(&self.text))
    }

    pub fn line_col(&self, offset: TextSize) -> LineCol {
        self.line_index().line_col(&self.text, offset)
    }

    /// The text with masked ranges blanked out, keeping every byte offset valid.
    ///
    /// Control characters a terminal would act on (NUL, escape sequences) are shown as
    /// spaces, byte for byte.
    pub fn display_text(&self) -> std::borrow::Cow<'_, str> {
        let has_control = self.text.bytes().any(is_hidden_control);
        if self.masked.is_empty() && !has_control {
            return std::borrow::Cow::Borrowed(&self.text);
        }
        if self.masked.is_empty() {
            return std::borrow::Cow::Owned(
                self.text
                    .chars()
                    .map(|c| {
                        if c.is_ascii() && is_hidden_control(c as u8) {
                            ' '
                        } else {
                            c
                        }
                    })
                    .collect(),
            );
        }
        let mut out = String::with_capacity(self.text.len());
        let mut last = 0usize;
        let mut ranges = self.masked.clone();
        ranges.sort_by_key(|r| (r.start(), r.end()));
        for r in ranges {
            let (s, e) = (usize::from(r.start()), usize::from(r.end()));
            if e > self.text.len()
                || e <= last
                || !self.text.is_char_boundary(s)
                || !self.text.is_char_boundary(e)
            {
                continue;
            }
            if s < last {
                // Overlaps the range masked before it: star what goes past it.
                out.extend(std::iter::repeat_n('*', e - last));
                last = e;
                continue;
            }
            out.push_str(&self.text[last..s]);
            // Keep the first four characters (a hint of what it is), star the rest byte
            // for byte so offsets after it stay valid.
            let secret = &self.text[s..e];
            let keep: usize = secret.chars().take(4).map(char::len_utf8).sum();
            out.push_str(&secret[..keep]);
            out.extend(std::iter::repeat_n('*', e - s - keep));
            last = e;
        }
        out.push_str(&self.text[last..]);
        if has_control {
            out = out
                .chars()
                .map(|c| {
                    if c.is_ascii() && is_hidden_control(c as u8) {
                        ' '
                    } else {
                        c
                    }
                })
                .collect();
        }
        std::borrow::Cow::Owned(out)
    }

    /// Whether the renderer must show a display copy rather than the text itself.
    pub fn needs_display_copy(&self) -> bool {
        !self.masked.is_empty() || self.text.bytes().any(is_hidden_control)
    }
}

fn is_hidden_control(b: u8) -> bool {
    b < 0x20 && b != b'\t' && b != b'\n' && b != b'\r' || b == 0x7f
}

/// All files diagnostics may refer to.
#[derive(Debug, Default, Clone)]
pub struct SourceDb {
    files: Vec<SourceFile>,
}

impl SourceDb {
    pub fn new() -> Self {
        SourceDb::default()
    }

    pub fn add(&mut self, path: String, text: String) -> FileId {
        let id = FileId(u32::try_from(self.files.len()).unwrap_or(u32::MAX));
        self.files.push(SourceFile {
            path,
            text,
            line_index: std::sync::OnceLock::new(),
            masked: Vec::new(),
        });
        id
    }

    pub fn file(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// Replaces a file's text (files are registered before they are read, so that
    /// parallel readers can refer to them by id).
    pub fn set_text(&mut self, id: FileId, text: String) {
        let f = &mut self.files[id.0 as usize];
        f.line_index = std::sync::OnceLock::new();
        f.text = text;
    }

    pub fn file_mut(&mut self, id: FileId) -> &mut SourceFile {
        &mut self.files[id.0 as usize]
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files
            .iter()
            .enumerate()
            .map(|(i, f)| (FileId(u32::try_from(i).unwrap_or(u32::MAX)), f))
    }

    pub fn find(&self, path: &str) -> Option<FileId> {
        self.iter().find(|(_, f)| f.path == path).map(|(id, _)| id)
    }

    pub(crate) fn line_range(&self, id: FileId, line: usize) -> Option<Range<usize>> {
        self.file(id).line_index().line_range(line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_masks_hide_everything_they_cover() {
        let mut db = SourceDb::new();
        let id = db.add("a.py".to_owned(), "x = 'hunter22-and-more'\n".to_owned());
        // The second range starts inside the first and ends after it: before, it was
        // skipped and its end shown.
        db.file_mut(id).masked = vec![
            TextRange::new(5.into(), 13.into()),
            TextRange::new(9.into(), 22.into()),
        ];
        let shown = db.file(id).display_text();
        assert_eq!(shown, "x = 'hunt*************'\n");
        assert_eq!(shown.len(), db.file(id).text.len());
    }
}
