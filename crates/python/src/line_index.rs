use ruff_text_size::TextSize;

/// Line starts of a text, with Python's notion of a line break: `\n`, `\r\n` and a lone `\r`.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<u32>,
    len: u32,
}

/// A 1-based line and 1-based column counted in characters (Unicode scalar values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct LineCol {
    pub line: u32,
    pub column: u32,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut starts = vec![0u32];
        let mut i = 0usize;
        while i < bytes.len() {
            match bytes[i] {
                b'\n' => starts.push(to_u32(i + 1)),
                b'\r' => {
                    if bytes.get(i + 1) == Some(&b'\n') {
                        i += 1;
                    }
                    starts.push(to_u32(i + 1));
                }
                _ => {}
            }
            i += 1;
        }
        LineIndex {
            starts,
            len: to_u32(bytes.len()),
        }
    }

    /// Number of lines (a trailing line break opens an empty last line).
    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// 0-based line of a byte offset.
    pub fn line_of(&self, offset: TextSize) -> usize {
        let off = u32::from(offset).min(self.len);
        match self.starts.binary_search(&off) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        }
    }

    /// Byte range of a 0-based line, including its line break.
    pub fn line_range(&self, line: usize) -> Option<std::ops::Range<usize>> {
        let start = *self.starts.get(line)? as usize;
        let end = self
            .starts
            .get(line + 1)
            .map_or(self.len as usize, |e| *e as usize);
        Some(start..end)
    }

    /// 1-based line and character column of a byte offset in `text`.
    pub fn line_col(&self, text: &str, offset: TextSize) -> LineCol {
        let line = self.line_of(offset);
        let start = self.starts[line] as usize;
        let mut off = (u32::from(offset) as usize).min(text.len());
        while off > start && !text.is_char_boundary(off) {
            off -= 1;
        }
        let column = text.get(start..off).map_or(0, |s| s.chars().count());
        LineCol {
            line: to_u32(line + 1),
            column: to_u32(column + 1),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lc(text: &str, off: u32) -> (u32, u32) {
        let li = LineIndex::new(text);
        let p = li.line_col(text, TextSize::new(off));
        (p.line, p.column)
    }

    #[test]
    fn line_breaks() {
        assert_eq!(lc("a\nb", 2), (2, 1));
        assert_eq!(lc("a\r\nb", 3), (2, 1));
        assert_eq!(lc("a\rb", 2), (2, 1));
        assert_eq!(lc("a\r\r\nb", 4), (3, 1));
    }

    #[test]
    fn columns_are_characters() {
        // `é` is two bytes, a tab is one character.
        assert_eq!(lc("é\tx", 3), (1, 3));
        assert_eq!(lc("xé", 3), (1, 3));
    }
}
