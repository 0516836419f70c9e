//! Ranges moved by an edit that did not change what a migration does.
//!
//! An edit to a migration that leaves its effects on the state as they were (a comment
//! or a `RunSQL` added, a line re-wrapped, an operation's SQL changed) still moves the
//! ranges of everything after it. The model state holds ranges of every migration (the
//! field declarations it shares with the operations, where options were last changed),
//! so without this, such an edit would replay every node after it. Instead the state
//! keeps the ranges it recorded and the edits since ([`Shift`]); what reads a range from
//! the state maps it through them ([`super::fields::FieldState::range_of`]).
//!
//! Whether an edit qualifies is decided by moving the old effects' ranges with
//! [`Relocate`] and comparing them with the new effects as a whole: a range left out of
//! a `relocate` makes the comparison fail (the state is then replayed), never lets
//! different effects pass.

use crate::migration::{Field, Kwarg, Lit, ModelOptions, Part, Relation};
use djcheck_python::{TextRange, TextSize};
use std::sync::Arc;

/// One edit of a file's text: bytes `start..old_end` became `start..new_end`, the rest
/// is the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shift {
    start: u32,
    old_end: u32,
    new_end: u32,
}

impl Shift {
    /// The edit from `old` to `new`: what they start and end with in common is kept, in
    /// whole lines (text typed into a line leaves the tokens of that line out of both,
    /// not split between them). `None` when they are equal or too large for ranges.
    pub fn between(old: &str, new: &str) -> Option<Shift> {
        let (a, b) = (old.as_bytes(), new.as_bytes());
        if a == b {
            return None;
        }
        // Back to the start of the line the texts part in; then what they end with in
        // common, from there on, and on to the start of the line after the one they
        // join in (both within what they share).
        let same = a.iter().zip(b).take_while(|(x, y)| x == y).count();
        let start = a[..same]
            .iter()
            .rposition(|&c| c == b'\n')
            .map_or(0, |p| p + 1);
        let room = a.len().min(b.len()) - start;
        let same_end = a
            .iter()
            .rev()
            .zip(b.iter().rev())
            .take(room)
            .take_while(|(x, y)| x == y)
            .count();
        let old_end = a.len() - same_end;
        let on = if old_end == 0 || a[old_end - 1] == b'\n' {
            0
        } else {
            a[old_end..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(same_end, |p| p + 1)
        };
        Some(Shift {
            start: u32::try_from(start).ok()?,
            old_end: u32::try_from(old_end + on).ok()?,
            new_end: u32::try_from(b.len() - same_end + on).ok()?,
        })
    }

    /// Where range `r` of the old text is in the new one; `None` when the edit changed
    /// part of it.
    pub fn map(&self, r: TextRange) -> Option<TextRange> {
        let (s, e) = (u32::from(r.start()), u32::from(r.end()));
        if e <= self.start {
            return Some(r);
        }
        if s >= self.old_end {
            let moved = |x: u32| (x - self.old_end).checked_add(self.new_end);
            return Some(TextRange::new(
                TextSize::from(moved(s)?),
                TextSize::from(moved(e)?),
            ));
        }
        None
    }
}

/// Maps a range through edits, in order.
pub(crate) fn map_all(shifts: &[Shift], r: TextRange) -> Option<TextRange> {
    shifts.iter().try_fold(r, |r, s| s.map(r))
}

/// A copy with every range moved (`None` when one can't be).
pub(crate) trait Relocate: Sized {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self>;
}

impl<T: Relocate> Relocate for Option<T> {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        match self {
            Some(x) => Some(Some(x.relocate(map)?)),
            None => Some(None),
        }
    }
}

impl<T: Relocate> Relocate for Vec<T> {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        self.iter().map(|x| x.relocate(map)).collect()
    }
}

impl<T: Relocate> Relocate for Arc<T> {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(Arc::new((**self).relocate(map)?))
    }
}

impl Relocate for Lit {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(Lit {
            range: map(self.range)?,
            ..self.clone()
        })
    }
}

impl Relocate for Kwarg {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(Kwarg {
            range: map(self.range)?,
            ..self.clone()
        })
    }
}

impl Relocate for Relation {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(Relation {
            range: map(self.range)?,
            ..self.clone()
        })
    }
}

impl Relocate for Part {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(Part {
            range: map(self.range)?,
            ..self.clone()
        })
    }
}

impl Relocate for Field {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(Field {
            name: self.name.relocate(map)?,
            relation: self.relation.relocate(map)?,
            kwargs: self.kwargs.relocate(map)?,
            range: map(self.range)?,
            ..self.clone()
        })
    }
}

impl Relocate for ModelOptions {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(ModelOptions {
            items: self.items.relocate(map)?,
            indexes: self.indexes.relocate(map)?,
            constraints: self.constraints.relocate(map)?,
            ..self.clone()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(s: u32, e: u32) -> TextRange {
        TextRange::new(TextSize::from(s), TextSize::from(e))
    }

    fn edit(old: &str, new: &str) -> (u32, u32, u32) {
        let s = Shift::between(old, new).unwrap();
        (s.start, s.old_end, s.new_end)
    }

    #[test]
    fn an_edit_is_the_lines_the_texts_do_not_share() {
        // A line inserted, removed, changed.
        assert_eq!(edit("a\nc\n", "a\nb\nc\n"), (2, 2, 4));
        assert_eq!(edit("a\nb\nc\n", "a\nc\n"), (2, 4, 2));
        assert_eq!(edit("a\nbXb\nc\n", "a\nbYYb\nc\n"), (2, 6, 7));
        // A line inserted before one that starts the same way: not split inside it.
        assert_eq!(
            edit("[\n  m.Create()\n]", "[\n  m.Run(),\n  m.Create()\n]"),
            (2, 2, 13)
        );
        // At either end, and without newlines.
        assert_eq!(edit("b\n", "a\nb\n"), (0, 0, 2));
        assert_eq!(edit("a\n", "a\nb"), (2, 2, 3));
        assert_eq!(edit("abc", "abXc"), (0, 3, 4));
        // Repeated lines: what is shared at either end never overlaps.
        assert_eq!(edit("a\na\n", "a\na\na\n"), (4, 4, 6));
        assert_eq!(Shift::between("same", "same"), None);
    }

    #[test]
    fn ranges_before_stay_after_move_and_across_are_lost() {
        // "a\nc\n" -> "a\nb\nc\n": an insertion at a line's start.
        let s = Shift::between("a\nc\n", "a\nb\nc\n").unwrap();
        assert_eq!(s.map(r(0, 1)), Some(r(0, 1)));
        assert_eq!(s.map(r(0, 2)), Some(r(0, 2)));
        assert_eq!(s.map(r(2, 3)), Some(r(4, 5)));
        assert_eq!(s.map(r(1, 3)), None);
        // A line changed: what is on it is lost.
        let s = Shift::between("a\nbXb\nc\n", "a\nbYYb\nc\n").unwrap();
        assert_eq!(s.map(r(2, 3)), None);
        assert_eq!(s.map(r(6, 7)), Some(r(7, 8)));
        // A line removed.
        let s = Shift::between("a\nb\nc\n", "a\nc\n").unwrap();
        assert_eq!(s.map(r(2, 2)), Some(r(2, 2)));
        assert_eq!(s.map(r(3, 3)), None);
        assert_eq!(s.map(r(4, 5)), Some(r(2, 3)));
        // Two edits, in order.
        let a = Shift::between("a\nc\n", "a\nb\nc\n").unwrap();
        let b = Shift::between("a\nb\nc\n", "x\na\nb\nc\n").unwrap();
        assert_eq!(map_all(&[a, b], r(2, 3)), Some(r(6, 7)));
        assert_eq!(map_all(&[a, b], r(1, 3)), None);
    }

    #[test]
    fn a_range_left_out_is_not_moved() {
        let f = Field {
            name: Some(Lit {
                value: "x".into(),
                range: r(10, 13),
            }),
            class: "IntegerField".into(),
            class_path: "models.IntegerField".into(),
            relation: None,
            kwargs: vec![Kwarg {
                name: "default".into(),
                value: crate::migration::ArgValue::Int(0),
                range: r(20, 29),
            }],
            positional: 0,
            splat: false,
            range: r(8, 40),
            call: Arc::new(crate::pyvalue::CallValue {
                path: "django.db.models.IntegerField".into(),
                args: Vec::new(),
                kwargs: Vec::new(),
                splat: false,
            }),
        };
        let moved = f.relocate(&|x| Some(x + TextSize::from(5))).unwrap();
        assert_eq!(moved.range, r(13, 45));
        assert_eq!(moved.name.unwrap().range, r(15, 18));
        assert_eq!(moved.kwargs[0].range, r(25, 34));
        assert_eq!(f.relocate(&|x| (x.start() > 15.into()).then_some(x)), None);
    }
}
