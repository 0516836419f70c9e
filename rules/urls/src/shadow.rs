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

/// True when every path `inner` matches is also matched by `outer`. `None` when it
/// cannot be decided (a custom converter, a route Django refuses, too many states).
pub fn covers(outer: &str, inner: &str) -> Option<bool> {
    let a = atoms(outer)?;
    let b = atoms(inner)?;
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
            let nb = step(&b, &sb, c);
            if nb.is_empty() {
                continue;
            }
            let na = step(&a, &sa, c);
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
    use super::covers;

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
    }
}
