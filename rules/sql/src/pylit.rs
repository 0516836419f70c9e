//! Re-lexing Python string literals: the value of a literal together with, for every byte
//! of that value, the source bytes that produced it.
//!
//! The parser gives a string's value but not where each character of the value came
//! from; escapes (`\n`, `\x41`, `\N{...}`), line continuations, raw prefixes and CRLF line
//! endings all make the value's offsets drift from the source's. Diagnostics on a SQL
//! statement must underline the statement itself, so the literal is lexed again here.

use djcheck_python::{TextRange, TextSize};

/// Text built from source literals, with the source range of each of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    pub text: String,
    /// `src[i]` is the `(start, end)` source offset of what produced byte `i` of `text`.
    src: Vec<(u32, u32)>,
}

impl Mapped {
    /// Text whose every byte maps to one whole source range (used when the source cannot
    /// be re-lexed: the diagnostic then underlines the whole literal).
    pub fn coarse(text: String, range: TextRange) -> Mapped {
        let r = (range.start().to_u32(), range.end().to_u32());
        let src = vec![r; text.len()];
        Mapped { text, src }
    }

    fn push(&mut self, c: char, start: usize, end: usize) {
        let mut buf = [0u8; 4];
        let s = c.encode_utf8(&mut buf);
        self.text.push_str(s);
        for _ in 0..s.len() {
            self.src.push((start as u32, end as u32));
        }
    }

    /// Appends another mapped text (implicit concatenation).
    pub fn extend(&mut self, other: Mapped) {
        self.text.push_str(&other.text);
        self.src.extend(other.src);
    }

    /// The source range of the text's bytes `start..end`. An empty range maps to the
    /// source position of its start.
    pub fn source_range(&self, start: usize, end: usize) -> Option<TextRange> {
        let first = *self.src.get(start).or_else(|| self.src.last())?;
        let last = if end > start {
            *self.src.get(end - 1).or_else(|| self.src.last())?
        } else {
            first
        };
        let s = first.0;
        let e = if end > start { last.1.max(s) } else { s };
        Some(TextRange::new(TextSize::new(s), TextSize::new(e)))
    }
}

/// Why a literal was not decoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LitError {
    /// A bytes, f-string or t-string literal: not SQL text djcheck can read.
    NotText,
    /// Source that is not a well-formed string literal.
    Malformed,
}

/// Decodes one string-literal token whose source text is `src`, starting at source
/// offset `base`. Newlines in the source (`\r\n`, `\r`, `\n`) become `\n`, as Python
/// reads source files with universal newlines.
pub fn decode(src: &str, base: usize) -> Result<Mapped, LitError> {
    let bytes = src.as_bytes();
    let mut i = 0;
    let mut raw = false;
    while i < bytes.len() && i < 2 {
        match bytes[i] {
            b'r' | b'R' => raw = true,
            b'u' | b'U' => {}
            b'b' | b'B' | b'f' | b'F' | b't' | b'T' => return Err(LitError::NotText),
            _ => break,
        }
        i += 1;
    }
    let quote = *bytes.get(i).ok_or(LitError::Malformed)?;
    if quote != b'\'' && quote != b'"' {
        return Err(LitError::Malformed);
    }
    let triple = bytes.get(i..i + 3) == Some(&[quote, quote, quote][..]);
    let qlen = if triple { 3 } else { 1 };
    let body_start = i + qlen;
    if src.len() < body_start + qlen {
        return Err(LitError::Malformed);
    }
    let body_end = src.len() - qlen;
    if bytes[body_end..].iter().any(|&b| b != quote) || body_end < body_start {
        return Err(LitError::Malformed);
    }
    let body = &src[body_start..body_end];
    let mut out = Mapped {
        text: String::with_capacity(body.len()),
        src: Vec::with_capacity(body.len()),
    };
    let off = base + body_start;
    let mut chars = body.char_indices().peekable();
    while let Some((p, c)) = chars.next() {
        let start = off + p;
        match c {
            '\r' => {
                // `\r\n` and a lone `\r` are both one newline.
                let mut end = start + 1;
                if let Some(&(_, '\n')) = chars.peek() {
                    chars.next();
                    end += 1;
                }
                out.push('\n', start, end);
            }
            '\\' if raw => {
                out.push('\\', start, start + 1);
                // In a raw literal a backslash still keeps the next quote (or newline)
                // from ending the literal; both characters are part of the value.
                if let Some(&(q, n)) = chars.peek() {
                    if n == '\r' || n == '\n' {
                        continue;
                    }
                    chars.next();
                    out.push(n, off + q, off + q + n.len_utf8());
                }
            }
            '\\' => {
                let Some((q, n)) = chars.next() else {
                    return Err(LitError::Malformed);
                };
                let simple = match n {
                    '\\' => Some('\\'),
                    '\'' => Some('\''),
                    '"' => Some('"'),
                    'a' => Some('\x07'),
                    'b' => Some('\x08'),
                    'f' => Some('\x0c'),
                    'n' => Some('\n'),
                    'r' => Some('\r'),
                    't' => Some('\t'),
                    'v' => Some('\x0b'),
                    _ => None,
                };
                if let Some(v) = simple {
                    out.push(v, start, off + q + 1);
                    continue;
                }
                match n {
                    // A line continuation: backslash-newline is nothing.
                    '\n' => {}
                    '\r' => {
                        if let Some(&(_, '\n')) = chars.peek() {
                            chars.next();
                        }
                    }
                    '0'..='7' => {
                        let mut value = n.to_digit(8).unwrap_or(0);
                        let mut end = off + q + 1;
                        for _ in 0..2 {
                            match chars.peek() {
                                Some(&(r, d @ '0'..='7')) => {
                                    value = value * 8 + d.to_digit(8).unwrap_or(0);
                                    end = off + r + 1;
                                    chars.next();
                                }
                                _ => break,
                            }
                        }
                        out.push(char::from_u32(value).unwrap_or('\u{fffd}'), start, end);
                    }
                    'x' | 'u' | 'U' => {
                        let len = match n {
                            'x' => 2,
                            'u' => 4,
                            _ => 8,
                        };
                        let mut value = 0u32;
                        let mut end = off + q + 1;
                        for _ in 0..len {
                            match chars.next() {
                                Some((r, d)) if d.is_ascii_hexdigit() => {
                                    value = value.wrapping_mul(16) + d.to_digit(16).unwrap_or(0);
                                    end = off + r + 1;
                                }
                                // Python refuses a truncated escape: this is not a
                                // literal the interpreter would accept.
                                _ => return Err(LitError::Malformed),
                            }
                        }
                        let c = char::from_u32(value).ok_or(LitError::Malformed)?;
                        out.push(c, start, end);
                    }
                    'N' => {
                        // `\N{NAME}`: the character's name is not looked up (no Unicode
                        // name table here); a replacement character stands in for it,
                        // which is enough for reading SQL structure.
                        if chars.next().map(|x| x.1) != Some('{') {
                            return Err(LitError::Malformed);
                        }
                        let mut end = None;
                        for (r, d) in chars.by_ref() {
                            if d == '}' {
                                end = Some(off + r + 1);
                                break;
                            }
                        }
                        let end = end.ok_or(LitError::Malformed)?;
                        out.push('\u{fffd}', start, end);
                    }
                    other => {
                        // An unknown escape keeps its backslash, as Python does.
                        out.push('\\', start, start + 1);
                        let s = off + q;
                        out.push(other, s, s + other.len_utf8());
                    }
                }
            }
            c => out.push(c, start, start + c.len_utf8()),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_python::ast::Expr;
    use djcheck_python::ast::Stmt;
    use djcheck_python::parse_module;
    use djcheck_python::Ranged;

    /// Decodes every part of the string assigned in `src` (`x = ...`), checks the value
    /// against the parser's, and returns the mapped text.
    fn decode_assigned(src: &str) -> Mapped {
        let p = parse_module(src);
        assert!(p.errors.is_empty(), "{:?}", p.errors);
        let Stmt::Assign(a) = &p.body()[0] else {
            panic!("not an assignment")
        };
        let Expr::StringLiteral(s) = a.value.as_ref() else {
            panic!("not a string literal")
        };
        let mut out = Mapped::default();
        for part in s.value.iter() {
            let r = part.range();
            let text = &src[r.start().to_usize()..r.end().to_usize()];
            out.extend(decode(text, r.start().to_usize()).unwrap());
        }
        let parser_value = s.value.to_str().replace("\r\n", "\n").replace('\r', "\n");
        // `\r` written as an escape is a real CR in both; only source newlines differ.
        if !src.contains("\\r") && !src.contains("\\N{") {
            assert_eq!(out.text, parser_value);
        }
        assert_eq!(out.text.len(), out.src.len());
        out
    }

    /// The source text that produced `needle` (its first occurrence) in the value.
    fn source_of<'a>(src: &'a str, m: &Mapped, needle: &str) -> &'a str {
        let at = m.text.find(needle).expect("needle not in value");
        let r = m.source_range(at, at + needle.len()).unwrap();
        &src[r.start().to_usize()..r.end().to_usize()]
    }

    #[test]
    fn plain_and_prefixed() {
        let src = "x = u'CREATE TABLE t'\n";
        let m = decode_assigned(src);
        assert_eq!(m.text, "CREATE TABLE t");
        assert_eq!(source_of(src, &m, "TABLE"), "TABLE");
    }

    #[test]
    fn escapes_map_to_their_source() {
        let src = r#"x = "a\tb\x41\u00e9\101\\\"\N{BULLET}z\q""#;
        let m = decode_assigned(&format!("{src}\n"));
        assert_eq!(m.text, "a\tbAé\u{41}\\\"\u{fffd}z\\q");
        assert_eq!(source_of(src, &m, "\t"), r"\t");
        assert_eq!(source_of(src, &m, "é"), r"\u00e9");
        assert_eq!(source_of(src, &m, "z"), "z");
        assert_eq!(source_of(src, &m, "\u{fffd}"), r"\N{BULLET}");
    }

    #[test]
    fn raw_strings_keep_backslashes() {
        let src = "x = r'a\\'b\\n'\n";
        let m = decode_assigned(src);
        assert_eq!(m.text, "a\\'b\\n");
        assert_eq!(source_of(src, &m, "b"), "b");
    }

    #[test]
    fn triple_quoted_multiline_and_continuation() {
        let src = "x = \"\"\"\nCREATE \\\nTABLE t;\n  DROP TABLE u\"\"\"\n";
        let m = decode_assigned(src);
        assert_eq!(m.text, "\nCREATE TABLE t;\n  DROP TABLE u");
        let r = m
            .source_range(m.text.find("DROP").unwrap(), m.text.len())
            .unwrap();
        assert_eq!(
            &src[r.start().to_usize()..r.end().to_usize()],
            "DROP TABLE u"
        );
        assert_eq!(r.start().to_usize(), src.find("DROP").unwrap());
    }

    #[test]
    fn crlf_is_one_newline() {
        let src = "x = '''a\r\nb\rc'''\r\n";
        let m = decode_assigned(src);
        assert_eq!(m.text, "a\nb\nc");
        assert_eq!(source_of(src, &m, "\n"), "\r\n");
        assert_eq!(source_of(src, &m, "c"), "c");
        assert_eq!(src.find('c'), Some(12));
    }

    #[test]
    fn implicit_concatenation_spans_parts() {
        let src = "x = (\n    'CREATE TABLE '\n    \"t (id int)\"\n)\n";
        let m = decode_assigned(src);
        assert_eq!(m.text, "CREATE TABLE t (id int)");
        let r = m.source_range(0, m.text.len()).unwrap();
        let s = &src[r.start().to_usize()..r.end().to_usize()];
        assert!(s.starts_with("CREATE") && s.ends_with("int)"), "{s}");
    }

    #[test]
    fn refuses_bytes_and_fstrings() {
        assert_eq!(decode("b'x'", 0), Err(LitError::NotText));
        assert_eq!(decode("f'x'", 0), Err(LitError::NotText));
        assert_eq!(decode("'x", 0), Err(LitError::Malformed));
        assert_eq!(decode("'\\x4'", 0), Err(LitError::Malformed));
    }
}
