//! Whether every path one `path()` route matches is matched by another: inclusion of the
//! regular languages Django builds from the two routes (`^...\Z`), decided exactly over
//! a finite alphabet of representative characters.

use djcheck_project::urls::route::{parse_path_route, PathPart};
use std::collections::{BTreeSet, VecDeque};

/// Characters sets a converter matches (one character of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    /// `[0-9]`
    Digit,
    /// `[^/]`
    NotSlash,
    /// `[-a-zA-Z0-9_]`
    Slug,
    /// `[0-9a-f]`
    Hex,
    /// `.` (anything but a newline)
    Any,
}

impl Class {
    fn matches(self, c: char) -> bool {
        match self {
            Class::Digit => c.is_ascii_digit(),
            Class::NotSlash => c != '/',
            Class::Slug => c.is_ascii_alphanumeric() || c == '-' || c == '_',
            Class::Hex => c.is_ascii_digit() || ('a'..='f').contains(&c),
            Class::Any => c != '\n',
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Atom {
    Lit(char),
    One(Class),
    Plus(Class),
}

impl Atom {
    fn matches(self, c: char) -> bool {
        match self {
            Atom::Lit(l) => l == c,
            Atom::One(k) | Atom::Plus(k) => k.matches(c),
        }
    }
}

/// The atoms of a `path()` route; `None` with a converter that is not built in.
fn atoms(route: &str) -> Option<Vec<Atom>> {
    let mut out = Vec::new();
    for part in parse_path_route(route)? {
        match part {
            PathPart::Literal(s) => out.extend(s.chars().map(Atom::Lit)),
            PathPart::Param { converter, .. } => match converter.as_str() {
                "int" => out.push(Atom::Plus(Class::Digit)),
                "str" => out.push(Atom::Plus(Class::NotSlash)),
                "slug" => out.push(Atom::Plus(Class::Slug)),
                "path" => out.push(Atom::Plus(Class::Any)),
                "uuid" => {
                    for (i, n) in [8, 4, 4, 4, 12].iter().enumerate() {
                        if i > 0 {
                            out.push(Atom::Lit('-'));
                        }
                        out.extend(std::iter::repeat_n(Atom::One(Class::Hex), *n));
                    }
                }
                _ => return None,
            },
        }
    }
    Some(out)
}

fn step(atoms: &[Atom], set: &BTreeSet<usize>, c: char) -> BTreeSet<usize> {
    let mut next = BTreeSet::new();
    for &i in set {
        if let Some(a) = atoms.get(i) {
            if a.matches(c) {
                next.insert(i + 1);
            }
        }
        if i >= 1 {
            if let Some(Atom::Plus(k)) = atoms.get(i - 1) {
                if k.matches(c) {
                    next.insert(i);
                }
            }
        }
    }
    next
}

/// Whether the route of `atoms` matches `path` whole.
fn matches(atoms: &[Atom], path: &str) -> bool {
    let mut set = BTreeSet::from([0usize]);
    for c in path.chars() {
        set = step(atoms, &set, c);
        if set.is_empty() {
            return false;
        }
    }
    set.contains(&atoms.len())
}

/// A `path()` route compiled once for the comparisons: its atoms, and the literal text
/// every path it matches starts and ends with.
#[derive(Debug, Clone)]
pub struct Compiled {
    atoms: Vec<Atom>,
    prefix: String,
    suffix: String,
    /// No converter: the route matches its text and nothing else.
    literal: bool,
}

impl Compiled {
    /// `None` with a converter that is not built in, or a route Django refuses.
    pub fn new(route: &str) -> Option<Compiled> {
        let atoms = atoms(route)?;
        let lit = |a: &Atom| match a {
            Atom::Lit(c) => Some(*c),
            _ => None,
        };
        let prefix: String = atoms.iter().map_while(lit).collect();
        let mut suffix: Vec<char> = atoms.iter().rev().map_while(lit).collect();
        suffix.reverse();
        let literal = prefix.chars().count() == atoms.len();
        Some(Compiled {
            atoms,
            prefix,
            suffix: suffix.into_iter().collect(),
            literal,
        })
    }

    /// The literal text before the first converter (the whole route without one).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Whether `outer` can cover `inner` at all, by their literal ends alone. Every
    /// converter matches at least two characters, so a path of `inner` can differ from
    /// any literal text just where `inner`'s own literal prefix (or suffix) ends: when
    /// `outer` covers `inner`, `outer`'s literal prefix is a prefix of `inner`'s and its
    /// literal suffix a suffix of `inner`'s.
    pub fn may_cover(outer: &Compiled, inner: &Compiled) -> bool {
        inner.prefix.starts_with(&outer.prefix) && inner.suffix.ends_with(&outer.suffix)
    }
}

/// True when every path `inner` matches is also matched by `outer`. `None` when it
/// cannot be decided (a custom converter, a route Django refuses, too many states).
#[cfg(test)]
pub fn covers(outer: &str, inner: &str) -> Option<bool> {
    covers_compiled(&Compiled::new(outer)?, &Compiled::new(inner)?)
}

/// [`covers`] on compiled routes. `None` when there are too many states.
pub fn covers_compiled(outer: &Compiled, inner: &Compiled) -> Option<bool> {
    if !Compiled::may_cover(outer, inner) {
        return Some(false);
    }
    // A route without converters matches one path: it covers only that same path (every
    // route matches at least one). A path is covered when the other route matches it.
    if outer.literal {
        return Some(inner.literal && inner.prefix == outer.prefix);
    }
    if inner.literal {
        return Some(matches(&outer.atoms, &inner.prefix));
    }
    by_automaton(outer, inner)
}

/// [`covers_compiled`] by exploring the product of the two routes' automata.
fn by_automaton(outer: &Compiled, inner: &Compiled) -> Option<bool> {
    let (a, b) = (&outer.atoms, &inner.atoms);
    // One representative per class of characters the two routes cannot tell apart.
    let literals: BTreeSet<char> = a
        .iter()
        .chain(b.iter())
        .filter_map(|x| match x {
            Atom::Lit(c) => Some(*c),
            _ => None,
        })
        .collect();
    let classes = [
        Class::Digit,
        Class::NotSlash,
        Class::Slug,
        Class::Hex,
        Class::Any,
    ];
    let mut reps: Vec<char> = Vec::new();
    let mut sigs: Vec<(Option<char>, [bool; 5])> = Vec::new();
    let candidates = literals
        .iter()
        .copied()
        .chain((0u8..128).map(char::from))
        .chain(['é']);
    for c in candidates {
        let sig = (
            literals.contains(&c).then_some(c),
            classes.map(|k| k.matches(c)),
        );
        if !sigs.contains(&sig) {
            sigs.push(sig);
            reps.push(c);
        }
    }
    let start = (BTreeSet::from([0usize]), BTreeSet::from([0usize]));
    let mut seen = BTreeSet::from([start.clone()]);
    let mut queue = VecDeque::from([start]);
    while let Some((sb, sa)) = queue.pop_front() {
        if sb.contains(&b.len()) && !sa.contains(&a.len()) {
            return Some(false);
        }
        for &c in &reps {
            let nb = step(b, &sb, c);
            if nb.is_empty() {
                continue;
            }
            let na = step(a, &sa, c);
            let next = (nb, na);
            if seen.insert(next.clone()) {
                if seen.len() > 20_000 {
                    return None;
                }
                queue.push_back(next);
            }
        }
    }
    Some(true)
}

#[cfg(test)]
mod tests {
    use super::{by_automaton, covers, covers_compiled, Compiled};

    #[test]
    fn shortcuts_agree_with_the_automaton() {
        let routes = [
            "",
            "a/",
            "a",
            "new/",
            "12/",
            "1a/",
            "a-b_c/",
            "x/y",
            "<int:x>/",
            "<str:s>",
            "<slug:s>/",
            "<path:p>",
            "a/<int:x>/",
            "<uuid:u>/",
            "post-<int:a>/",
            "post-1/",
            "12345678-1234-1234-1234-123456789abc/",
        ];
        for o in routes {
            for i in routes {
                let (Some(co), Some(ci)) = (Compiled::new(o), Compiled::new(i)) else {
                    panic!("{o} {i}");
                };
                let slow = if Compiled::may_cover(&co, &ci) {
                    by_automaton(&co, &ci)
                } else {
                    Some(false)
                };
                assert_eq!(covers_compiled(&co, &ci), slow, "{o:?} covers {i:?}");
            }
        }
    }

    #[test]
    fn inclusion() {
        assert_eq!(covers("<slug:slug>/", "new/"), Some(true));
        assert_eq!(covers("<int:pk>/", "new/"), Some(false));
        assert_eq!(covers("<str:a>/", "<int:b>/"), Some(true));
        assert_eq!(covers("<int:a>/", "<str:b>/"), Some(false));
        assert_eq!(covers("a/", "a/"), Some(true));
        assert_eq!(covers("a/", "a"), Some(false));
        assert_eq!(covers("<path:p>", "x/<int:y>/"), Some(true));
        assert_eq!(covers("<str:p>", "x/y"), Some(false));
        assert_eq!(covers("<slug:s>/", "a.b/"), Some(false));
        assert_eq!(covers("<uuid:u>/", "new/"), Some(false));
        assert_eq!(covers("<custom:u>/", "new/"), None);
        assert_eq!(covers("post-<int:a>/", "post-1/"), Some(true));
        assert_eq!(covers("", "a/"), Some(false));
        assert_eq!(covers("", ""), Some(true));
        assert_eq!(covers("a/", "<int:x>/"), Some(false));
        assert_eq!(covers("<int:x>/", "12/"), Some(true));
        assert_eq!(covers("<int:x>/", "1a/"), Some(false));
        assert_eq!(
            covers("<uuid:u>/", "12345678-1234-1234-1234-123456789abc/"),
            Some(true)
        );
        assert_eq!(covers("<path:p>", "a\nb"), Some(false));
    }
}
