//! Which rules run: `select`, `extend-select` and `ignore`, by code or prefix.

/// A rule selection. Codes match exactly or by prefix (`SQL` selects `SQL001`...).
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `None`: every rule.
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
    pub fn enabled(&self, code: &str) -> bool {
        let selected = self
            .select
            .as_ref()
            .map_or(Some(0), |s| {
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
