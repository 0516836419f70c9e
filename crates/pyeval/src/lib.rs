//! The static evaluator of module-level Python: what djcheck reads settings, app
//! configurations and URL modules with, never importing them.
//!
//! What it is: an abstract interpreter of the statements a module runs when it is
//! imported (assignments, imports across the project's modules, `if`/`try`/`with`,
//! loops, calls of the module's own functions, class bodies), over values it can know
//! statically ([`Val`]): strings, numbers, lists, dicts, modules, classes, paths in the
//! project tree, and the results of the calls such modules make (environment reads with
//! their defaults, django-split-settings' `include()`, Django's `path()`/`include()`).
//! A value is known, one of a set of alternatives ([`Val::OneOf`], from `if`/`try`
//! arms), or unknown; list items carry the condition ([`Cond`]) under which they exist;
//! each module-level name remembers where it was bound ([`Origin`]).
//!
//! What it must never depend on: the project model, the rules, the CLI. Files come
//! through a [`Source`], which also records their read and parse problems.
//!
//! Entry points: [`Memory`] (what is kept between runs) and [`Interp::module`].
//! Invariants: it never guesses (what it can't follow is unknown, and a list that may
//! hold entries it can't know gets an unknown item); it is bounded (a step budget, caps
//! on list and string sizes, on loop iterations, call and import depth), and a limit
//! hit is recorded ([`Memory::limits`]) and makes values unknown, never a hang.

mod builtins;
mod cond;
mod django;
mod expr;
mod fs;
mod interp;
mod value;

#[cfg(test)]
mod tests;

pub use cond::{Branch, BranchId, Cond};
pub use interp::{
    absolute, Fail, Interp, Memory, ModResult, MAX_LIST_ITEMS, MAX_STR_BYTES, STEP_BUDGET,
};
pub use value::{
    AppCfg, ClassVal, Entry, Env, EnvLib, EnvRead, FsPath, Heap, IncTarget, IncludeVal, Item,
    ListId, ListObj, Name, Origin, PatternKind, Target, Val, Via, ViewKind, ViewVal,
};

use djcheck_diagnostics::FileId;
use djcheck_python::ParsedModule;
use std::collections::BTreeSet;
use std::rc::Rc;

/// Where the evaluator gets the project's files from.
pub trait Source {
    /// The file (relative path) of module `dotted` in the project, if any.
    fn resolve(&self, dotted: &str) -> Option<String>;
    /// Reads and parses a project file; `None` when it can't be used (the source records
    /// why, once).
    fn load(&mut self, rel: &str) -> Option<(FileId, Rc<ParsedModule>)>;
    /// The project's Python files, relative: the file-system view of the evaluator.
    fn files(&self) -> &BTreeSet<String>;
    /// `dotted` names a module of the project's own packages that does not exist.
    fn is_missing_project_module(&self, dotted: &str) -> bool;
    /// The id of a project file (registering it when it was never read).
    fn register(&mut self, rel: &str) -> FileId;
    /// A file that exists on disk but is not listed (excluded, git-ignored).
    fn exists_unlisted(&self, rel: &str) -> bool;
}

/// A limit the evaluator hit: what it stopped evaluating there is unknown.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Limit {
    /// The step budget of a run.
    Steps,
    /// A list grew past [`MAX_LIST_ITEMS`].
    ListSize,
    /// A string grew past [`MAX_STR_BYTES`].
    StrSize,
    /// A loop ran past its iteration limit.
    Iterations,
    /// An import chain (or django-split-settings includes) too deep.
    ImportDepth,
}

impl Limit {
    /// What happened, for humans.
    pub fn describe(self) -> &'static str {
        match self {
            Limit::Steps => "the evaluation step budget was spent",
            Limit::ListSize => "a list grew past 20,000 items",
            Limit::StrSize => "a string grew past 1 MiB",
            Limit::Iterations => "a loop ran past 5,000 iterations",
            Limit::ImportDepth => "an import chain was nested too deeply",
        }
    }
}
