//! Conditions: under which arms of which branch points a value or registration exists.

use djcheck_diagnostics::Span;

/// Index of a branch point (an `if`, a `try`) in the evaluator's list of branches.
pub type BranchId = u32;

/// The condition under which something happens: for each branch point it depends on, the
/// set of arms (bit `i` = arm `i`) in which it happens. Empty means always.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Cond(Vec<(BranchId, u64)>);

impl Cond {
    /// Unconditional.
    pub fn always() -> Cond {
        Cond(Vec::new())
    }

    /// Arms `mask` of branch `branch`.
    pub fn arm(branch: BranchId, mask: u64) -> Cond {
        Cond(vec![(branch, mask)])
    }

    /// True when this holds whatever the branches do.
    pub fn is_always(&self) -> bool {
        self.0.is_empty()
    }

    /// True when no arm combination satisfies it (code that never runs).
    pub fn is_impossible(&self) -> bool {
        self.0.iter().any(|(_, m)| *m == 0)
    }

    /// Both conditions.
    pub fn and(&self, other: &Cond) -> Cond {
        if other.0.is_empty() {
            return self.clone();
        }
        let mut out = self.0.clone();
        for (b, m) in &other.0 {
            match out.iter_mut().find(|(x, _)| x == b) {
                Some(e) => e.1 &= m,
                None => out.push((*b, *m)),
            }
        }
        out.sort_unstable();
        Cond(out)
    }

    /// True when the two can never both hold: they need different arms of one branch.
    pub fn excludes(&self, other: &Cond) -> bool {
        self.0
            .iter()
            .any(|(b, m)| other.0.iter().any(|(b2, m2)| b == b2 && m & m2 == 0))
    }

    /// True when `other` holding means this holds too (every arm `other` allows, this
    /// allows).
    pub fn implied_by(&self, other: &Cond) -> bool {
        self.0
            .iter()
            .all(|(b, m)| other.0.iter().any(|(b2, m2)| b == b2 && m2 & !m == 0))
    }

    /// The branch points this depends on.
    pub fn branches(&self) -> impl Iterator<Item = BranchId> + '_ {
        self.0.iter().map(|(b, _)| *b)
    }
}

/// A branch point: the `if` test or the `try` statement a condition refers to.
#[derive(Debug, Clone)]
pub struct Branch {
    pub span: Span,
}
