//! Applying a set of fixes to the texts they were computed on, without overlap.

use djcheck_diagnostics::{Edit, FileId, Fix, NewFile, SourceDb};
use std::collections::BTreeMap;

/// What applying a set of fixes gives.
#[derive(Debug, Default)]
pub struct Plan {
    /// The new text of every edited file.
    pub texts: BTreeMap<FileId, String>,
    /// Files the applied fixes create.
    pub new_files: Vec<NewFile>,
    /// Ids of the fixes applied, in the order given.
    pub applied: Vec<usize>,
    /// Ids of the fixes left for a later round: an edit overlaps one already taken.
    pub deferred: Vec<usize>,
    /// Ids of the fixes that can never apply: an edit outside its file or splitting a
    /// character, edits of one fix overlapping, a new file that already exists.
    pub invalid: Vec<usize>,
}

/// Two edits of one file conflict when their ranges overlap, or when they start at the
/// same offset and one of them inserts (the order of the two would be a guess).
/// Identical edits do not conflict: the second is already done.
fn conflicts(a: &Edit, b: &Edit) -> bool {
    if a == b || a.file != b.file {
        return false;
    }
    let (ar, br) = (a.range, b.range);
    (ar.start() < br.end() && br.start() < ar.end())
        || (ar.start() == br.start() && (ar.is_empty() || br.is_empty()))
}

fn valid(db: &SourceDb, e: &Edit) -> bool {
    if e.file.0 as usize >= db.len() {
        return false;
    }
    let text = &db.file(e.file).text;
    let (s, t) = (usize::from(e.range.start()), usize::from(e.range.end()));
    t <= text.len() && text.is_char_boundary(s) && text.is_char_boundary(t)
}

/// Applies `fixes` (`(id, fix)`) in order: a fix is taken whole or not at all; one whose
/// edits conflict with a fix taken before it is deferred. `exists` tells whether a path
/// relative to the project root is already a file (a fix never overwrites one).
pub fn apply(db: &SourceDb, fixes: &[(usize, &Fix)], exists: &dyn Fn(&str) -> bool) -> Plan {
    let mut plan = Plan::default();
    let mut taken: Vec<&Edit> = Vec::new();
    let mut created: BTreeMap<&str, &str> = BTreeMap::new();
    for &(id, fix) in fixes {
        let own_overlap = fix
            .edits
            .iter()
            .enumerate()
            .any(|(i, a)| fix.edits[i + 1..].iter().any(|b| conflicts(a, b) || a == b));
        let bad_new = fix.new_files.iter().any(|f| {
            exists(&f.path)
                || f.path.is_empty()
                || f.path.split('/').any(|p| p.is_empty() || p == "..")
        });
        if own_overlap || bad_new || !fix.edits.iter().all(|e| valid(db, e)) {
            plan.invalid.push(id);
            continue;
        }
        let clash = fix
            .edits
            .iter()
            .any(|e| taken.iter().any(|t| conflicts(e, t)))
            || fix.new_files.iter().any(|f| {
                created
                    .get(f.path.as_str())
                    .is_some_and(|c| *c != f.content)
            });
        if clash {
            plan.deferred.push(id);
            continue;
        }
        for e in &fix.edits {
            if !taken.contains(&e) {
                taken.push(e);
            }
        }
        for f in &fix.new_files {
            if created.insert(&f.path, &f.content).is_none() {
                plan.new_files.push(f.clone());
            }
        }
        plan.applied.push(id);
    }
    let mut by_file: BTreeMap<FileId, Vec<&Edit>> = BTreeMap::new();
    for e in taken {
        by_file.entry(e.file).or_default().push(e);
    }
    for (file, mut edits) in by_file {
        edits.sort_by_key(|e| (e.range.start(), e.range.end()));
        let text = &db.file(file).text;
        let mut out = String::with_capacity(text.len() + 64);
        let mut last = 0usize;
        for e in edits {
            let (s, t) = (usize::from(e.range.start()), usize::from(e.range.end()));
            out.push_str(&text[last..s]);
            out.push_str(&e.content);
            last = t;
        }
        out.push_str(&text[last..]);
        plan.texts.insert(file, out);
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use djcheck_diagnostics::{TextRange, TextSize};

    fn r(a: u32, b: u32) -> TextRange {
        TextRange::new(TextSize::new(a), TextSize::new(b))
    }

    #[test]
    fn overlapping_fixes_wait_for_the_next_round() {
        let mut db = SourceDb::new();
        let f = db.add("a.py".into(), "abcdef".into());
        let one = Fix::safe("one", vec![Edit::replace(f, r(1, 3), "X")]);
        let two = Fix::safe("two", vec![Edit::replace(f, r(2, 4), "Y")]);
        let three = Fix::safe("three", vec![Edit::insert(f, TextSize::new(6), "!")]);
        let same = Fix::safe("same", vec![Edit::replace(f, r(1, 3), "X")]);
        let plan = apply(
            &db,
            &[(0, &one), (1, &two), (2, &three), (3, &same)],
            &|_| false,
        );
        assert_eq!(plan.applied, vec![0, 2, 3]);
        assert_eq!(plan.deferred, vec![1]);
        assert_eq!(plan.texts[&f], "aXdef!");
    }

    #[test]
    fn two_insertions_at_one_place_conflict() {
        let mut db = SourceDb::new();
        let f = db.add("a.py".into(), "ab".into());
        let one = Fix::safe("one", vec![Edit::insert(f, TextSize::new(1), "X")]);
        let two = Fix::safe("two", vec![Edit::insert(f, TextSize::new(1), "Y")]);
        let plan = apply(&db, &[(0, &one), (1, &two)], &|_| false);
        assert_eq!(plan.applied, vec![0]);
        assert_eq!(plan.deferred, vec![1]);
    }

    #[test]
    fn invalid_edits_and_existing_files_are_refused() {
        let mut db = SourceDb::new();
        let f = db.add("a.py".into(), "é".into());
        let split = Fix::safe("split", vec![Edit::insert(f, TextSize::new(1), "X")]);
        let past = Fix::safe("past", vec![Edit::insert(f, TextSize::new(9), "X")]);
        let mut create = Fix::unsafe_edit("create", Vec::new());
        create.new_files.push(NewFile {
            path: "m/0002_merge.py".into(),
            content: String::new(),
        });
        let plan = apply(&db, &[(0, &split), (1, &past), (2, &create)], &|p| {
            p == "m/0002_merge.py"
        });
        assert_eq!(plan.invalid, vec![0, 1, 2]);
    }
}
