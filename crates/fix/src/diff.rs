//! Unified diffs for `--diff`.

/// A unified diff of one file, `git diff` style (`a/` and `b/` prefixes, three lines of
/// context), so that `git apply` or `patch -p1` can apply it. `old` is `None` for a file
/// the fix creates. Empty when nothing changed.
pub fn unified_diff(path: &str, old: Option<&str>, new: &str) -> String {
    let before = old.unwrap_or("");
    if old == Some(new) {
        return String::new();
    }
    let diff = similar::TextDiff::from_lines(before, new);
    let from = if old.is_some() {
        format!("a/{path}")
    } else {
        "/dev/null".to_owned()
    };
    let mut out = String::new();
    out.push_str(
        &diff
            .unified_diff()
            .context_radius(3)
            .header(&from, &format!("b/{path}"))
            .to_string(),
    );
    if !out.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diffs_a_change_and_a_new_file() {
        let d = unified_diff("a.py", Some("x = 1\ny = 2\n"), "x = 1\ny = 3\n");
        assert_eq!(
            d,
            "--- a/a.py\n+++ b/a.py\n@@ -1,2 +1,2 @@\n x = 1\n-y = 2\n+y = 3\n"
        );
        let d = unified_diff("m/0003_merge.py", None, "a\n");
        assert!(d.contains("--- /dev/null\n+++ b/m/0003_merge.py\n"), "{d}");
        assert!(unified_diff("a.py", Some("x"), "x").is_empty());
    }
}
