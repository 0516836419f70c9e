//! App labels that migrations still name but that no longer exist, and the app each was
//! most likely renamed to: the traces an app renamed by hand leaves in the files.
//!
//! An app renamed by hand (folder and `apps.py` renamed, migrations copied) leaves
//! dependencies on the old label (`("workspace_app", "0001_initial")`), relations to its
//! models (`to="workspace_app.userprofile"`) and tables named after it
//! (`db_table="workspace_app_userprofile"`). Computed once per project; MIG001, MIG002,
//! MIG005 and MIG006 read it.

use crate::base::BaseSnapshot;
use crate::graph::{AppUniverse, Graph};
use crate::migration::{Lit, Migration, OpKind};
use crate::state::{self, RefTarget};
use std::collections::{BTreeMap, BTreeSet};

/// Why an absent label is taken for a renamed app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// The migration names that dependencies give under the old label all exist in the
    /// new app.
    SameNames(Vec<String>),
    /// Tables the new app's migrations name after the old label: `(migration index,
    /// the db_table literal)`.
    Tables(Vec<(usize, Lit)>),
    /// Models referenced under the old label that the new app creates.
    SameModels(Vec<String>),
    /// The base revision had the old app, with migrations of the same names.
    Base,
}

/// An app label that no longer exists, taken for renamed.
#[derive(Debug, Clone)]
pub struct AppRename {
    pub old: String,
    pub new: String,
    pub evidence: Vec<Evidence>,
}

impl AppRename {
    /// The evidence in words: "same migration names, and `profile_app` still carries the
    /// old label in its `db_table`".
    pub fn reasons(&self) -> String {
        let parts: Vec<String> = self
            .evidence
            .iter()
            .map(|e| match e {
                Evidence::SameNames(_) => "same migration names".to_owned(),
                Evidence::Tables(_) => format!(
                    "`{}` still carries the old label in its `db_table`",
                    self.new
                ),
                Evidence::SameModels(m) => format!(
                    "`{}` creates the model{} referenced under the old label",
                    self.new,
                    if m.len() == 1 { "" } else { "s" }
                ),
                Evidence::Base => format!(
                    "the base revision had app `{}` with the same migrations",
                    self.old
                ),
            })
            .collect();
        match parts.split_last() {
            None => String::new(),
            Some((last, [])) => last.clone(),
            Some((last, rest)) => format!("{}, and {last}", rest.join(", ")),
        }
    }
}

/// Absent labels that migrations name, and the renames found among them.
#[derive(Debug, Clone, Default)]
pub struct Renames {
    /// Labels that dependencies, `run_before` or model references name, known to be
    /// absent: not an app of the project, not installed (INSTALLED_APPS read completely),
    /// not a contrib app.
    pub absent: BTreeSet<String>,
    /// Old label to its rename.
    pub apps: BTreeMap<String, AppRename>,
}

impl Renames {
    pub fn of(&self, label: &str) -> Option<&AppRename> {
        self.apps.get(label)
    }

    pub fn is_absent(&self, label: &str) -> bool {
        self.absent.contains(label)
    }
}

/// Whether an app label is known to be absent from the project and its environment.
pub fn label_absent(label: &str, graph: &Graph, universe: &AppUniverse) -> bool {
    universe.complete
        && !graph.has_app(label)
        && !universe.project.contains(label)
        && !universe.unmigrated.contains(label)
        && !universe.opaque.contains(label)
        && !universe.external.contains_key(label)
        && !universe.contrib.contains(label)
        && !crate::contrib::is_contrib_label(label)
}

/// Explicit table names of a migration's operations (both sides of
/// `SeparateDatabaseAndState`; not RunSQL's `state_operations`).
fn tables(m: &Migration) -> Vec<&Lit> {
    let mut out = Vec::new();
    for w in m.walk() {
        if w.in_run_sql {
            continue;
        }
        match &w.op.kind {
            OpKind::CreateModel {
                db_table: Some(t), ..
            }
            | OpKind::AlterModelTable { table: Some(t), .. }
            | OpKind::AlterModelOptions {
                db_table: Some(t), ..
            } => out.push(t),
            _ => {}
        }
    }
    out
}

/// Finds the absent labels and their renames.
pub fn find(
    migrations: &[Migration],
    references: &[Vec<state::ModelReference>],
    graph: &Graph,
    universe: &AppUniverse,
    base: Option<&BaseSnapshot>,
) -> Renames {
    let mut out = Renames::default();
    // Migration names and models named under each label that is not here.
    let mut names: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    let mut models: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let absent = |l: &str| label_absent(l, graph, universe);
    for (i, m) in migrations.iter().enumerate() {
        for k in m
            .dependencies
            .iter()
            .map(|d| &d.key)
            .chain(m.run_before.iter().map(|r| &r.key))
        {
            if k.0 != m.app && absent(&k.0) {
                let e = names.entry(k.0.as_str()).or_default();
                if k.1 != "__first__" && k.1 != "__latest__" {
                    e.insert(k.1.as_str());
                }
            }
        }
        for r in references.get(i).map_or(&[][..], Vec::as_slice) {
            if let RefTarget::Model((app, model)) = &r.target {
                if *app != m.app && absent(app) {
                    models.entry(app.clone()).or_default().insert(model.clone());
                }
            }
        }
    }
    let mut labels: BTreeSet<String> = names.keys().map(|l| (*l).to_owned()).collect();
    labels.extend(models.keys().cloned());
    // What each app of the project has.
    let mut by_app: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, m) in migrations.iter().enumerate() {
        by_app.entry(m.app.as_str()).or_default().push(i);
    }
    let empty = BTreeSet::new();
    for old in &labels {
        let wanted_names = names.get(old.as_str()).unwrap_or(&empty);
        let wanted_models = models.get(old).cloned().unwrap_or_default();
        let in_base: BTreeSet<&str> = base
            .iter()
            .flat_map(|b| b.migrations.iter())
            .filter(|m| &m.app == old)
            .map(|m| m.name.as_str())
            .collect();
        let mut strong: Vec<AppRename> = Vec::new();
        let mut by_names: Vec<AppRename> = Vec::new();
        for (app, idx) in &by_app {
            if *app == old {
                continue;
            }
            let has: BTreeSet<&str> = idx.iter().map(|&i| migrations[i].name.as_str()).collect();
            if !wanted_names.iter().all(|n| has.contains(n)) {
                continue;
            }
            let mut evidence = Vec::new();
            if !wanted_names.is_empty() {
                evidence.push(Evidence::SameNames(
                    wanted_names.iter().map(|n| (*n).to_owned()).collect(),
                ));
            }
            let prefix = format!("{}_", old.to_ascii_lowercase());
            let mut found = Vec::new();
            for &i in idx {
                for lit in tables(&migrations[i]) {
                    if lit.value.to_ascii_lowercase().starts_with(&prefix) {
                        found.push((i, lit.clone()));
                    }
                }
            }
            let is_strong = !found.is_empty();
            if is_strong {
                evidence.push(Evidence::Tables(found));
            }
            let created: BTreeSet<String> = idx
                .iter()
                .flat_map(|&i| state::created_by(&migrations[i]))
                .map(|(k, _, _)| k.1)
                .collect();
            let same_models = !wanted_models.is_empty() && wanted_models.is_subset(&created);
            if same_models {
                evidence.push(Evidence::SameModels(
                    wanted_models.iter().cloned().collect(),
                ));
            }
            let from_base = !in_base.is_empty() && in_base.iter().all(|n| has.contains(n));
            if from_base {
                evidence.push(Evidence::Base);
            }
            let rename = AppRename {
                old: old.clone(),
                new: (*app).to_owned(),
                evidence,
            };
            if is_strong || same_models || from_base {
                strong.push(rename);
            } else if !wanted_names.is_empty() {
                by_names.push(rename);
            }
        }
        // One candidate with evidence beyond names; else names alone when they are not
        // what every app has (`0001_initial`).
        let pick = match strong.len() {
            1 => strong.pop(),
            0 if by_names.len() == 1 && wanted_names.iter().any(|n| *n != "0001_initial") => {
                by_names.pop()
            }
            _ => None,
        };
        if let Some(r) = pick {
            out.apps.insert(old.clone(), r);
        }
    }
    out.absent = labels;
    out
}
