//! Python string literals mapped back to their source: a literal's value together with,
//! for every byte of that value, the source bytes that produced it.
//!
//! The parser gives a string's value but not where each character of the value came
//! from; escapes (`\n`, `\x41`, `\N{...}`), line continuations, raw prefixes, CRLF line
//! endings and implicit concatenation all make the value's offsets drift from the
//! source's. A diagnostic on part of a string (a SQL statement, a secret) must underline
//! that part, so the literal is lexed again here ([`decode`]), or, where the parser's
//! value is what is wanted, each piece is mapped as written when its source is its value
//! ([`Mapped::piece`]).

use crate::ast;
use crate::{TextRange, TextSize};

/// How the bytes of one piece of a [`Mapped`] text map to the source.
#[derive(Debug, Clone, PartialEq, Eq)]
enum PieceMap {
    /// The source is the value byte for byte: byte `i` of the piece is at `source.start
    /// + i`.
    Verbatim,
    /// `(start, end)`, the source range of what produced each byte of the piece.
    Bytes(Vec<(u32, u32)>),
    /// Every byte maps to the whole piece (the source could not be lexed again).
    Coarse,
}

/// One piece of a mapped text: what one literal (or one part of an implicitly
/// concatenated literal) contributed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Piece {
    /// Byte offsets of the piece in the text.
    value_start: usize,
    value_end: usize,
    /// The piece's contents in the source (inside its quotes).
    source: TextRange,
    map: PieceMap,
}

impl Piece {
    /// The source range of what produced byte `i` of the text (`i` in the piece).
    fn byte(&self, i: usize) -> (u32, u32) {
        match &self.map {
            PieceMap::Verbatim => {
                let at = self
                    .source
                    .start()
                    .to_u32()
                    .saturating_add(to_u32(i - self.value_start));
                (at, at.saturating_add(1))
            }
            PieceMap::Bytes(src) => src
                .get(i - self.value_start)
                .copied()
                .unwrap_or((self.source.start().to_u32(), self.source.end().to_u32())),
            PieceMap::Coarse => (self.source.start().to_u32(), self.source.end().to_u32()),
        }
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Text built from source literals, with the source range of each of its bytes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Mapped {
    pub text: String,
    pieces: Vec<Piece>,
}

impl Mapped {
    /// Text whose every byte maps to one whole source range (used when the source cannot
    /// be re-lexed: the diagnostic then underlines the whole literal).
    pub fn coarse(text: String, range: TextRange) -> Mapped {
        let pieces = vec![Piece {
            value_start: 0,
            value_end: text.len(),
            source: range,
            map: PieceMap::Coarse,
        }];
        Mapped { text, pieces }
    }

    /// One piece whose value the parser gave, written at `content` in `source` (inside
    /// its quotes). It maps byte for byte when the source is the value; otherwise the
    /// literal token at `token`, when given, is lexed again, and when that does not give
    /// the same value the piece maps as a whole.
    pub fn piece(
        value: &str,
        content: TextRange,
        token: Option<TextRange>,
        source: &str,
    ) -> Mapped {
        let written = source.get(content.start().to_usize()..content.end().to_usize());
        let map = if written == Some(value) {
            PieceMap::Verbatim
        } else {
            let decoded = token.and_then(|t| {
                let src = source.get(t.start().to_usize()..t.end().to_usize())?;
                decode(src, t.start().to_usize()).ok()
            });
            match decoded {
                Some(m) if m.text == value => {
                    let mut bytes = Vec::with_capacity(value.len());
                    for p in &m.pieces {
                        bytes.extend((p.value_start..p.value_end).map(|i| p.byte(i)));
                    }
                    PieceMap::Bytes(bytes)
                }
                _ => PieceMap::Coarse,
            }
        };
        Mapped {
            text: value.to_owned(),
            pieces: vec![Piece {
                value_start: 0,
                value_end: value.len(),
                source: content,
                map,
            }],
        }
    }

    /// Appends another mapped text (implicit concatenation, `+`).
    pub fn extend(&mut self, other: Mapped) {
        let shift = self.text.len();
        self.text.push_str(&other.text);
        self.pieces.extend(other.pieces.into_iter().map(|mut p| {
            p.value_start += shift;
            p.value_end += shift;
            p
        }));
    }

    /// The source range of what produced byte `i`, or of the last byte when `i` is past
    /// the end; `None` for an empty text.
    fn byte(&self, i: usize) -> Option<(u32, u32)> {
        let i = i.min(self.text.len().checked_sub(1)?);
        // The first piece that ends after `i` holds it (empty pieces hold nothing).
        let k = self.pieces.partition_point(|p| p.value_end <= i);
        self.pieces.get(k).map(|p| p.byte(i))
    }

    /// The source range of the text's bytes `start..end`. An empty range maps to the
    /// source position of its start.
    pub fn source_range(&self, start: usize, end: usize) -> Option<TextRange> {
        let first = self.byte(start)?;
        let last = if end > start {
            self.byte(end - 1)?
        } else {
            first
        };
        let s = first.0;
        let e = if end > start { last.1.max(s) } else { s };
        Some(TextRange::new(TextSize::new(s), TextSize::new(e)))
    }

    /// The source range of the text's bytes `start..end` when they sit in one piece
    /// written without escapes, where the range is exactly what they are in the source.
    pub fn verbatim_range(&self, start: usize, end: usize) -> Option<TextRange> {
        let p = self.pieces.iter().find(|p| {
            p.map == PieceMap::Verbatim && start >= p.value_start && end <= p.value_end
        })?;
        let (Ok(s), Ok(e)) = (
            u32::try_from(start - p.value_start),
            u32::try_from(end - p.value_start),
        ) else {
            return None;
        };
        Some(TextRange::new(
            p.source.start() + TextSize::from(s),
            p.source.start() + TextSize::from(e),
        ))
    }

    /// The source range of the whole text: from the first character inside the first
    /// quotes to the last one inside the last quotes. `None` for text from no piece.
    pub fn content(&self) -> Option<TextRange> {
        match (self.pieces.first(), self.pieces.last()) {
            (Some(f), Some(l)) => Some(TextRange::new(f.source.start(), l.source.end())),
            _ => None,
        }
    }
}

/// A plain string literal expression (implicit concatenation included) as Python reads
/// it, each part lexed again: `None` when a part is not text (bytes, f-strings). A part
/// that cannot be lexed again (not expected from a file the parser accepted) keeps the
/// parser's value and maps as a whole.
pub fn string_literal(s: &ast::ExprStringLiteral, source: &str) -> Option<Mapped> {
    let mut out = Mapped::default();
    for part in s.value.iter() {
        let r = part.range;
        let src = source.get(r.start().to_usize()..r.end().to_usize())?;
        match decode(src, r.start().to_usize()) {
            Ok(m) => out.extend(m),
            Err(LitError::NotText) => return None,
            Err(LitError::Malformed) => out.extend(Mapped::coarse(part.value.to_string(), r)),
        }
    }
    Some(out)
}

/// A plain string literal expression with the parser's value of each part (implicit
/// concatenation included), each part mapped by [`Mapped::piece`].
pub fn parsed_string_literal(s: &ast::ExprStringLiteral, source: &str) -> Mapped {
    let mut out = Mapped::default();
    for part in s.value.iter() {
        out.extend(Mapped::piece(
            &part.value,
            part.content_range(),
            Some(part.range),
            source,
        ));
    }
    out
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
    let mut out = Bytes {
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
    let source = TextRange::new(
        TextSize::new(to_u32(off)),
        TextSize::new(to_u32(off + body.len())),
    );
    let map = if out.text == body {
        PieceMap::Verbatim
    } else {
        PieceMap::Bytes(out.src)
    };
    Ok(Mapped {
        pieces: vec![Piece {
            value_start: 0,
            value_end: out.text.len(),
            source,
            map,
        }],
        text: out.text,
    })
}

/// Text being decoded, with the source range of each byte.
struct Bytes {
    text: String,
    src: Vec<(u32, u32)>,
}

impl Bytes {
    fn push(&mut self, c: char, start: usize, end: usize) {
        let mut buf = [0u8; 4];
        let s = c.encode_utf8(&mut buf);
        self.text.push_str(s);
        for _ in 0..s.len() {
            self.src.push((to_u32(start), to_u32(end)));
        }
    }
}

/// A string literal of a module as the parser gives it: a plain string literal
/// expression (all of its implicitly concatenated parts), a plain part of an implicitly
/// concatenated f-string, or the literal text between an f-string's replacement fields.
#[derive(Debug, Clone, Copy)]
pub enum StringLit<'a> {
    Str(&'a ast::ExprStringLiteral),
    FStringPart(&'a ast::StringLiteral),
    FStringElement(&'a ast::InterpolatedStringLiteralElement),
}

impl StringLit<'_> {
    /// The parser's value.
    pub fn value(&self) -> &str {
        match self {
            StringLit::Str(s) => s.value.to_str(),
            StringLit::FStringPart(l) => &l.value,
            StringLit::FStringElement(e) => &e.value,
        }
    }
}

/// Every string literal of `body` (see [`StringLit`]), in source order: what several
/// rules scan (secrets, tokens), collected by one walk of the tree.
pub fn string_literals(body: &[ast::Stmt]) -> Vec<StringLit<'_>> {
    use ast::visitor::{self, Visitor};
    struct Collect<'a> {
        out: Vec<StringLit<'a>>,
    }
    impl<'a> Visitor<'a> for Collect<'a> {
        fn visit_expr(&mut self, expr: &'a ast::Expr) {
            match expr {
                ast::Expr::StringLiteral(s) => self.out.push(StringLit::Str(s)),
                ast::Expr::FString(f) => {
                    for part in f.value.iter() {
                        match part {
                            ast::FStringPart::Literal(l) => {
                                self.out.push(StringLit::FStringPart(l));
                            }
                            ast::FStringPart::FString(fs) => self
                                .out
                                .extend(fs.elements.literals().map(StringLit::FStringElement)),
                        }
                    }
                    visitor::walk_expr(self, expr);
                }
                _ => visitor::walk_expr(self, expr),
            }
        }
    }
    let mut c = Collect { out: Vec::new() };
    c.visit_body(body);
    c.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ast::Expr;
    use crate::ast::Stmt;
    use crate::parse_module;
    use crate::Ranged;

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
        assert_eq!(out.pieces.last().map_or(0, |p| p.value_end), out.text.len());
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

    #[test]
    fn parser_values_map_exactly_and_verbatim_only_as_written() {
        let src = "x = 'abc' \"de\\nfg\" 'hij'\n";
        let p = parse_module(src);
        let Stmt::Assign(a) = &p.body()[0] else {
            panic!("not an assignment")
        };
        let Expr::StringLiteral(s) = a.value.as_ref() else {
            panic!("not a string literal")
        };
        let m = parsed_string_literal(s, src);
        assert_eq!(m.text, "abcde\nfghij");
        let at = |r: TextRange| &src[r.start().to_usize()..r.end().to_usize()];
        // The escaped part is lexed again: exact ranges everywhere.
        assert_eq!(at(m.source_range(3, 6).unwrap()), "de\\n");
        assert_eq!(at(m.source_range(6, 8).unwrap()), "fg");
        // Verbatim ranges only inside a part written as its value.
        assert_eq!(at(m.verbatim_range(8, 10).unwrap()), "hi");
        assert_eq!(m.verbatim_range(6, 8), None);
        assert_eq!(m.verbatim_range(2, 4), None);
        let c = m.content().unwrap();
        assert!(at(c).starts_with("abc") && at(c).ends_with("hij"));
    }
}
