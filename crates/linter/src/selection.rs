//! Which rules run: `select`, `extend-select` and `ignore`, by code or prefix.

/// A rule selection. Codes match exactly or by prefix (`SQL` selects `SQL001`...).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `None`: the default set (every rule but those off by default).
    pub select: Option<Vec<String>>,
    pub extend_select: Vec<String>,
    pub ignore: Vec<String>,
}

fn matches(pattern: &str, code: &str) -> bool {
    let p = pattern.trim();
    p.eq_ignore_ascii_case("ALL") || code.starts_with(&p.to_ascii_uppercase())
}

impl Selection {
    /// Whether `code` runs. The most specific matching pattern wins between `select`
    /// and `ignore`, as in ruff: `--select SQL --ignore SQL005` runs SQL001 but not SQL005,
    /// `--ignore SQL --select SQL005` runs only SQL005 of the family.
    ///
    /// This form treats every rule as on by default; see [`Selection::runs`].
    pub fn enabled(&self, code: &str) -> bool {
        self.runs(code, true)
    }

    /// Whether a rule runs, given whether it is on by default: with no `select`, a rule
    /// off by default runs only when `extend-select` names it.
    pub fn runs(&self, code: &str, on_by_default: bool) -> bool {
        let default = if on_by_default { Some(0) } else { None };
        let selected = self
            .select
            .as_ref()
            .map_or(default, |s| {
                s.iter()
                    .filter(|p| matches(p, code))
                    .map(|p| specificity(p))
                    .max()
            })
            .max(
                self.extend_select
                    .iter()
                    .filter(|p| matches(p, code))
                    .map(|p| specificity(p))
                    .max(),
            );
        let ignored = self
            .ignore
            .iter()
            .filter(|p| matches(p, code))
            .map(|p| specificity(p))
            .max();
        match (selected, ignored) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(s), Some(i)) => s > i,
        }
    }

    /// Patterns that match no known code (for a helpful error).
    pub fn unknown_patterns<'a>(&'a self, codes: &'a [&'static str]) -> Vec<&'a str> {
        self.select
            .iter()
            .flatten()
            .chain(&self.extend_select)
            .chain(&self.ignore)
            .map(String::as_str)
            .filter(|p| !codes.iter().any(|c| matches(p, c)))
            .collect()
    }
}

fn specificity(p: &str) -> usize {
    if p.eq_ignore_ascii_case("ALL") {
        0
    } else {
        p.trim().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_off_by_default_run_only_when_named() {
        let none = Selection::default();
        assert!(none.runs("MIG001", true));
        assert!(!none.runs("PY001", false));
        let extend = Selection {
            extend_select: vec!["PY".into()],
            ..Selection::default()
        };
        assert!(extend.runs("PY001", false));
        assert!(!extend.runs("SQL001", false));
        for select in [&["ALL"][..], &["PY"], &["PY001"]] {
            let s = Selection {
                select: Some(select.iter().map(|x| x.to_string()).collect()),
                ..Selection::default()
            };
            assert!(s.runs("PY001", false), "{select:?}");
        }
        let ignored = Selection {
            extend_select: vec!["PY".into()],
            ignore: vec!["PY001".into()],
            ..Selection::default()
        };
        assert!(!ignored.runs("PY001", false));
    }

    fn sel(select: Option<&[&str]>, ignore: &[&str]) -> Selection {
        Selection {
            select: select.map(|s| s.iter().map(|x| x.to_string()).collect()),
            extend_select: vec![],
            ignore: ignore.iter().map(|x| x.to_string()).collect(),
        }
    }

    #[test]
    fn prefixes_and_specificity() {
        let s = sel(Some(&["SQL"]), &["SQL005"]);
        assert!(s.enabled("SQL001"));
        assert!(!s.enabled("SQL005"));
        assert!(!s.enabled("MIG001"));
        let s = sel(None, &["MIG"]);
        assert!(!s.enabled("MIG001"));
        assert!(s.enabled("SQL001"));
        let s = sel(Some(&["SQL005"]), &["SQL"]);
        assert!(s.enabled("SQL005"));
        assert!(!s.enabled("SQL001"));
    }
}
