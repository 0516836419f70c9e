use djcheck_linter::{declare_rule, Rule, RuleMeta};

declare_rule! {
    /// ## What it finds
    /// A suppression comment without rule codes: `# djcheck: ignore` or
    /// `# djcheck: ignore-file`. It is honoured (it silences every rule on its line and
    /// the statement below it, or in the whole file) but reported, as too broad.
    ///
    /// ## Why it matters
    /// A comment written to silence one known problem also silences every problem found
    /// there later, by any rule, including ones that break `migrate`. Naming the codes
    /// keeps the suppression as narrow as the decision it records.
    ///
    /// ## Example
    /// ```python
    /// class Migration(migrations.Migration):
    ///     dependencies = [
    ///         ("legacy", "0007_gone"),  # djcheck: ignore
    ///     ]
    /// ```
    ///
    /// ## How to fix
    /// Name the rules, and say why: `# djcheck: ignore[MIG001] -- faked on every
    /// database`. The diagnostic's help lists the codes the comment silenced in this run.
    pub struct BareSuppression { code: "SUP002", name: "bare-suppression", severity: Info }
}

/// The suppression step of the runner reports this rule; it has no check of its own.
impl Rule for BareSuppression {
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
            BareSuppression::META.code,
            djcheck_linter::suppress::BARE_SUPPRESSION
        );
    }
}
