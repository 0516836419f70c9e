//! Bytes to text: the checks the parser cannot make because it takes `&str`.

/// Documented input limits. Files beyond them are refused with a diagnostic rather
/// than risking memory or stack exhaustion.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest file read, in bytes. Generated squashed migrations reach a few MiB.
    pub max_file_bytes: u64,
    /// Deepest syntax tree analysed, in nested nodes.
    pub max_nesting: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_file_bytes: 8 * 1024 * 1024,
            max_nesting: 2_000,
        }
    }
}

/// Why a file's bytes are not usable as Python text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeProblem {
    /// The bytes are not UTF-8; `offset` is the first bad byte.
    InvalidUtf8 { offset: usize },
    /// A NUL byte, which CPython refuses in source code.
    NulByte { offset: usize },
}

impl std::fmt::Display for DecodeProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeProblem::InvalidUtf8 { offset } => {
                write!(f, "invalid UTF-8 at byte offset {offset}")
            }
            DecodeProblem::NulByte { offset } => write!(f, "NUL byte at byte offset {offset}"),
        }
    }
}

/// Decodes source bytes as UTF-8, dropping a leading byte order mark.
///
/// Python source is UTF-8 unless a coding cookie says otherwise; djcheck reads UTF-8 only
/// and reports anything else, with the offset of the first offending byte.
pub fn decode(bytes: &[u8]) -> Result<String, DecodeProblem> {
    let (bytes, bom) = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeProblem::InvalidUtf8 {
        offset: e.valid_up_to() + bom,
    })?;
    if let Some(offset) = text.bytes().position(|b| b == 0) {
        return Err(DecodeProblem::NulByte {
            offset: offset + bom,
        });
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_dropped() {
        assert_eq!(decode(b"\xEF\xBB\xBFx = 1\n").unwrap(), "x = 1\n");
    }

    #[test]
    fn invalid_utf8_offset() {
        assert_eq!(
            decode(b"x = '\xff'\n"),
            Err(DecodeProblem::InvalidUtf8 { offset: 5 })
        );
    }

    #[test]
    fn nul_offset() {
        assert_eq!(decode(b"x\0"), Err(DecodeProblem::NulByte { offset: 1 }));
    }
}
