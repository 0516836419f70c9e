//! String literals as secrets live in them: their value, where each character of the
//! value is in the source, and how a secret is shown (redacted) in messages and snippets.

use djcheck_python::ast::{self, Expr};
use djcheck_python::literal::{self, Mapped, StringLit};
use djcheck_python::{TextRange, TextSize};

/// A string literal (implicit concatenation included) or the literal text of an f-string,
/// with the parser's value mapped back to the source.
#[derive(Debug, Clone)]
pub struct LitText {
    /// The whole literal expression, quotes included.
    pub range: TextRange,
    map: Mapped,
}

impl LitText {
    /// A plain string literal expression, all of its implicitly concatenated parts.
    pub fn of_string(e: &ast::ExprStringLiteral, text: &str) -> LitText {
        LitText {
            range: e.range,
            map: literal::parsed_string_literal(e, text),
        }
    }

    /// The literal text between the replacement fields of an f-string.
    pub fn of_fstring_literal(e: &ast::InterpolatedStringLiteralElement, text: &str) -> LitText {
        LitText {
            range: e.range,
            map: Mapped::piece(&e.value, e.range, None, text),
        }
    }

    /// The literal's value.
    pub fn value(&self) -> &str {
        &self.map.text
    }

    /// The source range of the whole value: from the first character inside the first
    /// quotes to the last one inside the last quotes.
    pub fn content(&self) -> TextRange {
        self.map.content().unwrap_or(self.range)
    }

    /// The source range of the value bytes `start..end`: exact when they sit in one piece
    /// written without escapes, otherwise the whole value (which covers them), so that a
    /// secret written with escapes is masked whole.
    pub fn source_range(&self, start: usize, end: usize) -> TextRange {
        if start == 0 && end >= self.map.text.len() {
            return self.content();
        }
        self.map
            .verbatim_range(start, end)
            .unwrap_or_else(|| self.content())
    }
}

/// The literal of an expression, if it is a plain string literal (not an f-string, not
/// bytes) or a `+` of such literals (`"hun" + "ter2"`).
pub fn lit_of(e: &Expr, text: &str) -> Option<LitText> {
    concat(e, text, 0)
}

fn concat(e: &Expr, text: &str, depth: usize) -> Option<LitText> {
    match e {
        Expr::StringLiteral(s) => Some(LitText::of_string(s, text)),
        Expr::BinOp(b) if matches!(b.op, ast::Operator::Add) && depth < 16 => {
            let mut left = concat(&b.left, text, depth + 1)?;
            let right = concat(&b.right, text, depth + 1)?;
            left.map.extend(right.map);
            left.range = b.range;
            Some(left)
        }
        _ => None,
    }
}

/// The literals of `lits` (a module's, [`djcheck_python::literal::string_literals`])
/// whose value passes `keep`, in source order. The value is tested before it is mapped
/// back to the source, so a module's many ordinary strings cost no mapping.
pub fn literals_where(
    lits: &[StringLit<'_>],
    text: &str,
    keep: &dyn Fn(&str) -> bool,
) -> Vec<LitText> {
    lits.iter()
        .filter(|l| keep(l.value()))
        .map(|l| match l {
            StringLit::Str(s) => LitText::of_string(s, text),
            StringLit::FStringPart(l) => LitText {
                range: l.range,
                map: Mapped::piece(&l.value, l.content_range(), Some(l.range), text),
            },
            StringLit::FStringElement(e) => LitText::of_fstring_literal(e, text),
        })
        .collect()
}

/// How many leading characters of a secret of `n` characters may be shown: at most 4,
/// and never more than half of it, so a short secret is never shown whole.
pub fn shown_chars(n: usize) -> usize {
    (n / 2).min(4)
}

/// A secret as messages show it: `"admi…" (8 characters)`.
pub fn redacted(secret: &str) -> String {
    let n = secret.chars().count();
    let shown: String = secret.chars().take(shown_chars(n)).collect();
    // Characters a terminal would act on are never echoed, even redacted.
    let shown: String = shown
        .chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect();
    let unit = if n == 1 { "character" } else { "characters" };
    format!("\"{shown}…\" ({n} {unit})")
}

/// The range to mask in rendered snippets for a secret at `secret` (a range of `text`).
///
/// Renderers keep the first four characters of a masked range and star the rest. For a
/// secret of fewer than eight characters that would show more than [`shown_chars`] of
/// it, so the range starts earlier (on the quote and what precedes it) by as many
/// characters as must stay hidden.
pub fn mask_range(text: &str, secret: TextRange) -> TextRange {
    let start = usize::from(secret.start());
    let end = usize::from(secret.end());
    let Some(s) = text.get(start..end) else {
        return secret;
    };
    let keep = shown_chars(s.chars().count());
    let back = 4usize.saturating_sub(keep);
    let before = text.get(..start).unwrap_or("");
    let moved: usize = before.chars().rev().take(back).map(char::len_utf8).sum();
    let new_start = u32::try_from(start - moved).map_or(secret.start(), TextSize::from);
    TextRange::new(new_start, secret.end())
}

/// Other places in `text` where the same secret is written (a comment, a second literal):
/// they are masked too, so no snippet shows it whole. Overlaps with `exclude` are skipped.
pub fn other_occurrences(text: &str, secret: &str, exclude: TextRange) -> Vec<TextRange> {
    let mut out = Vec::new();
    if secret.chars().count() < 4 {
        return out;
    }
    let mut from = 0;
    while let Some(pos) = text.get(from..).and_then(|t| t.find(secret)) {
        let s = from + pos;
        let e = s + secret.len();
        from = e;
        let (Ok(s32), Ok(e32)) = (u32::try_from(s), u32::try_from(e)) else {
            break;
        };
        let r = TextRange::new(s32.into(), e32.into());
        let overlaps = r.start() < exclude.end() && exclude.start() < r.end();
        // Only the secret as a whole word: `admin` inside `admin123` is another value
        // (masked, if it is a secret, by its own finding).
        let word = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
        let alone = !word(text[..s].chars().next_back()) && !word(text[e..].chars().next());
        if !overlaps && alone {
            out.push(r);
        }
        if out.len() >= 64 {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_python::literal::string_literals;
    use djcheck_python::parse_module;

    #[test]
    fn redaction_never_shows_a_secret_whole() {
        assert_eq!(redacted("admin123"), "\"admi…\" (8 characters)");
        assert_eq!(redacted("admin"), "\"ad…\" (5 characters)");
        assert_eq!(redacted("x"), "\"…\" (1 character)");
        for n in 1..40 {
            let s: String = "abcdefghijklmnopqrstuvwxyz0123456789ABCD"
                .chars()
                .take(n)
                .collect();
            let r = redacted(&s);
            let shown = r.split('…').next().unwrap().trim_start_matches('"');
            assert!(shown.chars().count() < s.chars().count(), "{s}: {r}");
            assert!(shown.chars().count() <= 4);
        }
    }

    #[test]
    fn mask_ranges_hide_short_secrets() {
        let text = "x = f(password=\"abc\")\n";
        let start = text.find("abc").unwrap();
        let r = TextRange::at(u32::try_from(start).unwrap().into(), 3.into());
        let m = mask_range(text, r);
        // Four characters are kept: `d="a`, so one character of three is visible.
        assert_eq!(
            &text[usize::from(m.start())..usize::from(m.end())],
            "d=\"abc"
        );
        let long = "y = \"admin12345\"\n";
        let r = TextRange::at(5.into(), 10.into());
        assert_eq!(mask_range(long, r), r);
    }

    #[test]
    fn source_ranges_follow_escapes_and_concatenation() {
        let src = "x = 'abc' \"de\\nfg\" 'hij'\n";
        let p = parse_module(src);
        let lits = literals_where(&string_literals(p.body()), src, &|_| true);
        assert_eq!(lits.len(), 1);
        let l = &lits[0];
        assert_eq!(l.value(), "abcde\nfghij");
        // `b` in the first part: exact.
        let r = l.source_range(1, 2);
        assert_eq!(&src[usize::from(r.start())..usize::from(r.end())], "b");
        // `hi` in the third part: exact.
        let r = l.source_range(8, 10);
        assert_eq!(&src[usize::from(r.start())..usize::from(r.end())], "hi");
        // Inside the escaped part: the whole value.
        let r = l.source_range(3, 5);
        assert_eq!(r, l.content());
    }

    #[test]
    fn fstring_pieces_are_literals() {
        let src = "x = f\"postgres://u:hunter22@{host}/db\"\n";
        let p = parse_module(src);
        let lits = literals_where(&string_literals(p.body()), src, &|_| true);
        assert!(lits.iter().any(|l| l.value() == "postgres://u:hunter22@"));
    }

    #[test]
    fn other_occurrences_are_found() {
        let text = "a = 'hunter22'  # hunter22, not hunter220\n";
        let first = TextRange::at(5.into(), 8.into());
        let o = other_occurrences(text, "hunter22", first);
        assert_eq!(o.len(), 1);
        assert_eq!(
            usize::from(o[0].start()),
            text.find("# hunter22").unwrap() + 2
        );
    }
}
