use djcheck_linter::{declare_rule, Rule, RuleMeta};

declare_rule! {
    /// ## What it finds
    /// A suppression comment (`# djcheck: ignore[CODE]` or `# djcheck: ignore-file[CODE]`)
    /// that silences nothing: no diagnostic of that rule starts on its line, in the
    /// statement below it, or (for `ignore-file`) in its file. A code that is not a djcheck
    /// rule code is reported too. Only rules that ran are judged: with `--select MIG`, a
    /// suppression of `SQL001` is left alone.
    ///
    /// ## Why it matters
    /// A stale suppression hides the next real problem of that rule on that line, and
    /// tells readers a problem exists where there is none. A misspelled code silences
    /// nothing while looking as if it did.
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     dependencies = [
    ///         ("blog", "0001_initial"),  # djcheck: ignore[MIG001]
    ///     ]
    /// ```
    /// `blog.0001_initial` exists (it was restored), so nothing is left to suppress.
    ///
    /// ## How to fix
    /// Remove the code from the comment, or the whole comment when no code is left; fix
    /// a misspelled code (`djcheck rules` lists them).
    pub struct UnusedSuppression { code: "SUP001", name: "unused-suppression", severity: Info }
}

/// The suppression step of the runner reports this rule; it has no check of its own.
impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_is_the_one_the_runner_reports() {
        assert_eq!(
            UnusedSuppression::META.code,
            djcheck_linter::suppress::UNUSED_SUPPRESSION
        );
    }
}
