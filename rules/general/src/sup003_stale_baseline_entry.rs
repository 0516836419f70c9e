use djcheck_linter::{declare_rule, Rule, RuleMeta};

declare_rule! {
    /// ## What it finds
    /// An entry of the baseline file (`--baseline PATH` or the config key `baseline`)
    /// that matches no finding any more: the finding was fixed, or the line it was on was
    /// edited, or its file was moved. Only entries that could have matched are judged:
    /// their rule ran, and their file is one reported on (with paths given or `--base`,
    /// entries of other files are left alone).
    ///
    /// ## Why it matters
    /// A baseline is a list of known problems a project promises to work down. An entry
    /// left behind after its finding is gone would silently hide the next finding that
    /// happens to match it, and makes the list look longer than the work left.
    ///
    /// ## Example
    /// ```json
    /// {
    ///   "version": 1,
    ///   "findings": [
    ///     {"path":"blog/migrations/0004_backfill.py","code":"PY002","fingerprint":"5d0c…"}
    ///   ]
    /// }
    /// ```
    /// `0004_backfill.py` now uses the historical model (`apps.get_model()`) instead of
    /// importing today's: the entry matches nothing.
    ///
    /// ## How to fix
    /// Re-write the baseline with `djcheck check --write-baseline` (it then lists exactly
    /// the findings of today), and commit the shorter file.
    pub struct StaleBaselineEntry { code: "SUP003", name: "stale-baseline-entry", severity: Info }
}

/// The command line reports this rule when it applies a baseline; it has no check of its
/// own.
impl Rule for StaleBaselineEntry {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }
}
