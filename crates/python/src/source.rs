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
    let (bytes, bom) = match bytes.strip_prefix(BOM) {
        Some(rest) => (rest, 3),
        None => (bytes, 0),
    };
    let text = std::str::from_utf8(bytes).map_err(|e| DecodeProblem::InvalidUtf8 {
        offset: e.valid_up_to() + bom,
    })?;
    if let Some(offset) = nul_at(text.as_bytes()) {
        return Err(DecodeProblem::NulByte {
            offset: offset + bom,
        });
    }
    Ok(text.to_owned())
}

/// [`decode`] of bytes read into a buffer of their own, which becomes the text without
/// a copy. On a problem, the bytes are given back as they were.
pub fn decode_owned(mut bytes: Vec<u8>) -> Result<String, (DecodeProblem, Vec<u8>)> {
    let bom = if bytes.starts_with(BOM) {
        bytes.drain(..BOM.len());
        BOM.len()
    } else {
        0
    };
    let give_back = |mut rest: Vec<u8>| {
        if bom > 0 {
            rest.splice(0..0, BOM.iter().copied());
        }
        rest
    };
    match String::from_utf8(bytes) {
        Ok(text) => match nul_at(text.as_bytes()) {
            None => Ok(text),
            Some(offset) => Err((
                DecodeProblem::NulByte {
                    offset: offset + bom,
                },
                give_back(text.into_bytes()),
            )),
        },
        Err(e) => Err((
            DecodeProblem::InvalidUtf8 {
                offset: e.utf8_error().valid_up_to() + bom,
            },
            give_back(e.into_bytes()),
        )),
    }
}

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// The offset of the first NUL byte. Looked for with `contains` first: it searches a
/// word at a time, where `position` tests each byte.
fn nul_at(bytes: &[u8]) -> Option<usize> {
    if bytes.contains(&0) {
        bytes.iter().position(|&b| b == 0)
    } else {
        None
    }
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

    #[test]
    fn owned_decoding_agrees_and_gives_the_bytes_back() {
        let cases: [&[u8]; 7] = [
            b"x = 1\n",
            b"\xEF\xBB\xBFx = 1\n",
            b"x = '\xff'\n",
            b"\xEF\xBB\xBFx = '\xff'\n",
            b"x\0",
            b"\xEF\xBB\xBFx\0 = '\xff'",
            b"",
        ];
        for bytes in cases {
            match (decode(bytes), decode_owned(bytes.to_vec())) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                (Err(a), Err((b, back))) => {
                    assert_eq!(a, b);
                    assert_eq!(back, bytes);
                }
                (a, b) => panic!("{bytes:?}: {a:?} against {b:?}"),
            }
        }
    }
}
