//! Fixes: repairs that rules attach to their diagnostics, and the engine that applies them.
//!
//! What it is: building edits the way the code around them is written ([`edits`]: a
//! keyword argument added to a call, an item appended to a list, a class attribute, an
//! import), the "ignore this finding" edit every located diagnostic has ([`ignore_fix`]),
//! applying fixes without overlap ([`apply`]), the fix loop that checks the result again
//! and rolls back what did not work ([`fix_loop`]), and unified diffs ([`unified_diff`]).
//!
//! What it must never depend on: the project model, the rules, the runner or the CLI.
//! The loop re-checks through a closure its caller gives; writing files is the caller's.
//!
//! Architecture invariants: a fix's edits never overlap each other, nor the edits of
//! another fix applied in the same round (the later one waits for the next round); a fix
//! is kept only when the file still parses, its finding is gone, and it brought no new
//! error to the files it touched.

mod apply;
mod diff;
pub mod edits;
mod engine;
mod ignore;

pub use apply::{apply, Plan};
pub use diff::unified_diff;
pub use engine::{fix_loop, Done, FixOptions, FixReport, RolledBack};
pub use ignore::{ignore_fix, IGNORE_REASON_PLACEHOLDER};
