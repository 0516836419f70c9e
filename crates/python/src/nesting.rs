//! A linear scan of bracket depth, run before parsing.
//!
//! CPython refuses more than 200 nested brackets. The parser we use accepts any depth,
//! and some deep shapes cost it quadratic time (a 100,000-deep nested f-string takes
//! minutes), so depth is measured first, in one pass over the bytes, and a file past the
//! limit is never given to the parser.
//!
//! The scan knows just enough Python to count only real brackets: comments, string
//! literals (prefixes, triple quotes, escapes) and f-/t-strings, whose replacement fields
//! `{...}` count as brackets (CPython's tokenizer counts them too) and may hold nested
//! strings and format specs. It never counts more than CPython does, so a file Python
//! accepts is never refused.

/// Where the scan found the first bracket past the limit: its byte offset.
pub fn first_too_deep(text: &str, limit: usize) -> Option<usize> {
    // Depth only grows at a `(`, `[` or `{` byte: a text with no more of them than the
    // limit cannot pass it, whatever its strings and comments hold (most files; counting
    // bytes is many times cheaper than the scan).
    if !more_openers_than(text.as_bytes(), limit) {
        return None;
    }
    scan(text, limit)
}

/// The scan itself.
fn scan(text: &str, limit: usize) -> Option<usize> {
    scan_with(text, limit, true)
}

/// The scan stepping through every byte (what the fast path must agree with).
#[cfg(test)]
fn scan_bytewise(text: &str, limit: usize) -> Option<usize> {
    scan_with(text, limit, false)
}

fn scan_with(text: &str, limit: usize, fast: bool) -> Option<usize> {
    Scanner {
        b: text.as_bytes(),
        i: 0,
        depth: 0,
        limit,
        stack: Vec::new(),
        fast,
    }
    .run()
}

/// Whether `b` holds more than `limit` opening-bracket bytes (counted a block at a time,
/// stopping once past the limit).
fn more_openers_than(b: &[u8], limit: usize) -> bool {
    let mut n = 0;
    // A block of 255 bytes holds at most 255 openers: its count fits a byte, and a sum
    // of bytes is what the compiler turns into vector instructions (several times
    // faster than counting into a `usize`).
    for block in b.chunks(255) {
        let in_block = block.iter().fold(0u8, |acc, &c| {
            acc.wrapping_add(u8::from(c == b'(') + u8::from(c == b'[') + u8::from(c == b'{'))
        });
        n += usize::from(in_block);
        if n > limit {
            return true;
        }
    }
    false
}

/// The bytes [`Scanner::top_level`] stops at: comments, brackets and quotes.
const TOP_LEVEL_STOPS: [bool; 256] = {
    let mut t = [false; 256];
    let stops = b"#([{)]}'\"";
    let mut k = 0;
    while k < stops.len() {
        t[stops[k] as usize] = true;
        k += 1;
    }
    t
};

/// A byte [`Scanner::code`] reads as part of a name.
fn is_name_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80
}

#[derive(Debug, Clone, Copy)]
struct Quote {
    ch: u8,
    triple: bool,
    raw: bool,
}

#[derive(Debug)]
enum Ctx {
    /// The literal part of an f-string.
    FString(Quote),
    /// A replacement field of the f-string below it: `open` brackets opened inside it.
    Field { open: usize },
    /// The format spec of the field below it (after `:`): literal text with fields.
    Spec,
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
    depth: usize,
    limit: usize,
    stack: Vec<Ctx>,
    /// Whether code outside f-strings is skipped through ([`Scanner::top_level`]).
    fast: bool,
}

impl Scanner<'_> {
    fn run(mut self) -> Option<usize> {
        while self.i < self.b.len() {
            let found = match self.stack.last() {
                None if self.fast => self.top_level(),
                None | Some(Ctx::Field { .. }) => self.code(),
                Some(Ctx::FString(q)) => {
                    let q = *q;
                    self.fstring_literal(q, false)
                }
                Some(Ctx::Spec) => {
                    let q = self.enclosing_quote();
                    self.fstring_literal(q, true)
                }
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }

    fn enclosing_quote(&self) -> Quote {
        self.stack
            .iter()
            .rev()
            .find_map(|c| match c {
                Ctx::FString(q) => Some(*q),
                _ => None,
            })
            .unwrap_or(Quote {
                ch: b'"',
                triple: false,
                raw: false,
            })
    }

    fn open(&mut self, at: usize) -> Option<usize> {
        self.depth += 1;
        (self.depth > self.limit).then_some(at)
    }

    fn close(&mut self) {
        self.depth = self.depth.saturating_sub(1);
    }

    /// One step in code outside every f-string: what [`Scanner::code`] does there, with
    /// the bytes that change nothing (names, numbers, operators, blanks: most of a file)
    /// skipped a table lookup each. A string prefix (`rb'...'`) is read back from its
    /// quote: the run of name bytes before it, less leading digits, is the word `code`
    /// would have read.
    fn top_level(&mut self) -> Option<usize> {
        let b = self.b;
        let mut i = self.i;
        while i < b.len() && !TOP_LEVEL_STOPS[usize::from(b[i])] {
            i += 1;
        }
        self.i = i;
        match b.get(i) {
            None => None,
            Some(b'\'' | b'"') => {
                let mut start = i;
                while start > 0 && is_name_byte(b[start - 1]) {
                    start -= 1;
                }
                while start < i && b[start].is_ascii_digit() {
                    start += 1;
                }
                let word = &b[start..i];
                let is_prefix = !word.is_empty()
                    && word.len() <= 3
                    && word.iter().all(|c| {
                        matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't')
                    });
                let flags = if is_prefix {
                    let has = |x: u8| word.iter().any(|c| c.to_ascii_lowercase() == x);
                    u8::from(has(b'r')) | (u8::from(has(b'f') || has(b't')) << 1)
                } else {
                    0
                };
                self.string(flags)
            }
            Some(_) => self.code(),
        }
    }

    /// One step in code (top level or inside a replacement field).
    fn code(&mut self) -> Option<usize> {
        let c = self.b[self.i];
        match c {
            b'#' => {
                while self.i < self.b.len() && !matches!(self.b[self.i], b'\n' | b'\r') {
                    self.i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                let at = self.i;
                self.i += 1;
                if let Some(Ctx::Field { open }) = self.stack.last_mut() {
                    *open += 1;
                }
                return self.open(at);
            }
            b')' | b']' | b'}' => {
                self.i += 1;
                match self.stack.last_mut() {
                    Some(Ctx::Field { open: 0 }) if c == b'}' => {
                        // The end of a replacement field: back to the f-string.
                        self.stack.pop();
                        self.close();
                    }
                    Some(Ctx::Field { open }) => {
                        *open = open.saturating_sub(1);
                        self.close();
                    }
                    _ => self.close(),
                }
            }
            b':' => {
                // At a field's own level, `:` starts its format spec (`!r` before it is
                // read as code, harmlessly).
                self.i += 1;
                if let Some(Ctx::Field { open: 0 }) = self.stack.last() {
                    self.stack.push(Ctx::Spec);
                }
            }
            b'\'' | b'"' => return self.string(0),
            c if c.is_ascii_alphabetic() || c == b'_' || c >= 0x80 => {
                let start = self.i;
                while self.i < self.b.len()
                    && (self.b[self.i].is_ascii_alphanumeric()
                        || self.b[self.i] == b'_'
                        || self.b[self.i] >= 0x80)
                {
                    self.i += 1;
                }
                let word = &self.b[start..self.i];
                let is_prefix = word.len() <= 3
                    && word.iter().all(|c| {
                        matches!(c.to_ascii_lowercase(), b'r' | b'b' | b'u' | b'f' | b't')
                    });
                if is_prefix && matches!(self.b.get(self.i), Some(b'\'' | b'"')) {
                    let lower: Vec<u8> = word.iter().map(u8::to_ascii_lowercase).collect();
                    let flags = u8::from(lower.contains(&b'r'))
                        | (u8::from(lower.contains(&b'f') || lower.contains(&b't')) << 1);
                    return self.string(flags);
                }
            }
            _ => self.i += 1,
        }
        None
    }

    /// A string literal starting at the quote under the cursor. `flags`: 1 raw, 2 f/t.
    fn string(&mut self, flags: u8) -> Option<usize> {
        let ch = self.b[self.i];
        let triple = self.b.get(self.i + 1) == Some(&ch) && self.b.get(self.i + 2) == Some(&ch);
        self.i += if triple { 3 } else { 1 };
        let q = Quote {
            ch,
            triple,
            raw: flags & 1 != 0,
        };
        if flags & 2 != 0 {
            self.stack.push(Ctx::FString(q));
            return None;
        }
        // A plain string: skip to its end.
        while self.i < self.b.len() {
            let c = self.b[self.i];
            if c == b'\\' {
                self.i += 2;
                continue;
            }
            if !triple && matches!(c, b'\n' | b'\r') {
                // Unterminated: the string ends with the line.
                return None;
            }
            if c == ch && (!triple || self.closes_triple(ch)) {
                self.i += if triple { 3 } else { 1 };
                return None;
            }
            self.i += 1;
        }
        None
    }

    fn closes_triple(&self, ch: u8) -> bool {
        self.b.get(self.i + 1) == Some(&ch) && self.b.get(self.i + 2) == Some(&ch)
    }

    /// One step in the literal part of an f-string (or in a format spec, `spec`).
    fn fstring_literal(&mut self, q: Quote, spec: bool) -> Option<usize> {
        let c = self.b[self.i];
        if c == b'\\' {
            // Even in a raw string a backslash keeps the next quote from closing it.
            self.i += if q.raw && self.b.get(self.i + 1) == Some(&b'{') {
                1
            } else {
                2
            };
            return None;
        }
        if !q.triple && matches!(c, b'\n' | b'\r') {
            // Unterminated: drop everything up to and including this f-string.
            self.pop_fstring();
            return None;
        }
        if c == q.ch && (!q.triple || self.closes_triple(q.ch)) {
            self.i += if q.triple { 3 } else { 1 };
            self.pop_fstring();
            return None;
        }
        match c {
            b'{' if !spec && self.b.get(self.i + 1) == Some(&b'{') => self.i += 2,
            b'}' if !spec && self.b.get(self.i + 1) == Some(&b'}') => self.i += 2,
            b'{' => {
                let at = self.i;
                self.i += 1;
                self.stack.push(Ctx::Field { open: 0 });
                return self.open(at);
            }
            b'}' if spec => {
                // The end of the field the spec belongs to.
                self.i += 1;
                self.stack.pop();
                if let Some(Ctx::Field { .. }) = self.stack.last() {
                    self.stack.pop();
                    self.close();
                }
            }
            _ => self.i += 1,
        }
        None
    }

    /// Pops contexts up to and including the innermost f-string, closing its open fields.
    fn pop_fstring(&mut self) {
        while let Some(c) = self.stack.pop() {
            match c {
                Ctx::FString(_) => return,
                Ctx::Field { open } => {
                    for _ in 0..=open {
                        self.close();
                    }
                }
                Ctx::Spec => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deep(text: &str) -> Option<usize> {
        first_too_deep(text, 200)
    }

    #[test]
    fn counting_openers_first_never_changes_the_answer() {
        let texts = [
            "",
            "f(a[1], {2: (3)})",
            "((()))",
            "(((())))",
            "x = '((((((' + \"[[[[\"  # {{{{",
            "f'{a}{b[0]}{{c}}' + (d)",
            "f'{x:{w}.{p}}' ((",
            "[[[[ ]]]] ((((",
            "'''(((\n((''' ((( ))) (",
        ];
        for text in texts {
            for limit in 0..6 {
                assert_eq!(
                    first_too_deep(text, limit),
                    scan(text, limit),
                    "{text:?} at limit {limit}"
                );
            }
        }
        assert!(!more_openers_than(b"((()))", 3));
        assert!(more_openers_than(b"(((())))", 3));
        let long = "(".repeat(5000) + &")".repeat(5000);
        assert!(more_openers_than(long.as_bytes(), 4999));
        assert!(!more_openers_than(long.as_bytes(), 5000));
    }

    #[test]
    fn skipping_through_code_never_changes_the_answer() {
        let mut texts: Vec<String> = [
            "r'(' ((",
            "rb'\\' (( '",
            "xr'((' (",
            "1r'\\' ((",
            "12f'{(' ((",
            "_1f'{' (",
            "e5f'{' (",
            "Rb'(' '(' ((",
            "f'{a}' ( rf'{b}' ( fr'{{' (",
            "a.b'(' c'((' (",
            "é'(' f'{(' ((",
            "x = 'a'f'{(' ((",
            "# f'{\n(( '\n'((",
            "u'((' b\\\n'(' (",
            "tr'((' (",
            "t'{(' (",
            "rbf'((' (",
            "bb'((' ((",
            "x'''(\n''' (( f'''{\n(''' (",
        ]
        .iter()
        .map(|t| (*t).to_owned())
        .collect();
        // Every prefix of a mixed text: a quote, a prefix or a comment cut anywhere.
        let mixed = "x = [f('a', r\"(\"), {'k': f\"{v!r:>{w}}\"}]  # ((\nrb'''(\n''' + u'(' \\\n(f'{(1)}')\n";
        for end in 0..=mixed.len() {
            if let Some(t) = mixed.get(..end) {
                texts.push(t.to_owned());
            }
        }
        // This crate's sources: real code, strings and f-strings of every kind.
        for src in [
            include_str!("nesting.rs"),
            include_str!("literal.rs"),
            include_str!("eval.rs"),
        ] {
            texts.push(src.to_owned());
        }
        for text in &texts {
            for limit in 0..8 {
                assert_eq!(
                    scan(text, limit),
                    scan_bytewise(text, limit),
                    "{text:?} at limit {limit}"
                );
            }
        }
    }

    #[test]
    fn counts_brackets_of_every_kind() {
        for (o, c) in [("(", ")"), ("[", "]"), ("{", "}"), ("f(", ")")] {
            let ok = format!("x = {}1{}\n", o.repeat(200), c.repeat(200));
            assert_eq!(deep(&ok), None, "{o}");
            let bad = format!("x = {}1{}\n", o.repeat(201), c.repeat(201));
            assert_eq!(deep(&bad), Some(4 + (o.len()) * 201 - 1), "{o}");
        }
    }

    #[test]
    fn skips_strings_and_comments() {
        let brackets = "(".repeat(500);
        for text in [
            format!("x = '{brackets}'\n"),
            format!("x = \"\"\"{brackets}\n{brackets}\"\"\"\n"),
            format!("x = r'\\'{brackets}'\n"),
            format!("# {brackets}\nx = 1\n"),
            format!("x = b'{brackets}'\n"),
            format!("x = f'{{{{{brackets}}}}}'\n"),
            format!("x = f'{{y!r:{brackets}}}'\n"),
        ] {
            assert_eq!(deep(&text), None, "{text}");
        }
    }

    #[test]
    fn fstring_fields_count() {
        let n = 300;
        let text = format!("x = {}1{}\n", "f\"{".repeat(n), "}\"".repeat(n));
        assert_eq!(deep(&text), Some(4 + 3 * 200 + 2));
        let text = format!("x = {}1{}\n", "f'{".repeat(150), "}'".repeat(150));
        assert_eq!(deep(&text), None);
        // Nested fields in a format spec.
        assert_eq!(deep("x = f'{a:{b}{c:{d}}}' + (1)\n"), None);
        let spec = format!("x = f'{{a:{{{}}}}}'\n", "(".repeat(201));
        assert!(deep(&spec).is_some());
    }

    #[test]
    fn unterminated_strings_end_with_their_line() {
        assert_eq!(
            deep(&format!("x = 'abc\n{}\n", "(".repeat(201))),
            Some(9 + 200)
        );
        assert_eq!(deep(&format!("x = f'{{abc\n{}\n", "(".repeat(10))), None);
    }

    #[test]
    fn linear_on_huge_input() {
        let text = "f\"{".repeat(100_000) + &"}\"".repeat(100_000);
        let t = std::time::Instant::now();
        assert!(deep(&text).is_some());
        let text = "x = '".to_owned() + &"(".repeat(1_000_000);
        assert_eq!(deep(&text), None);
        assert!(t.elapsed().as_secs() < 2);
    }
}
