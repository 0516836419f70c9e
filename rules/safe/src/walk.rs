//! What the SAFE rules share: the migrations in the deploy scope, their operations as the
//! database runs them with the model state each runs against, whether a table is new in
//! this deploy, and their RunSQL facts.

use djcheck_linter::{FileContext, Project, Span};
use djcheck_project::migration::{Lit, Migration, OpKind, Operation};
use djcheck_project::state::{Cursor, ModelDef, ModelKey};
use djcheck_project::FileRole;
use djcheck_python::TextRange;
use djcheck_rules_sql::facts::{self, Fact, FactKind};
use std::collections::BTreeSet;

/// A migration in the deploy scope.
pub struct Site<'a> {
    pub project: &'a Project,
    /// Index into `Project::migrations`.
    pub index: usize,
    pub m: &'a Migration,
    /// Its graph node.
    pub node: usize,
}

impl Site<'_> {
    pub fn span(&self, range: TextRange) -> Span {
        Span::new(self.m.file, range)
    }

    /// The model key of a model name of this migration's app.
    pub fn key(&self, name: &Lit) -> ModelKey {
        (self.m.app.clone(), name.value.to_ascii_lowercase())
    }

    /// Whether the migration runs in one transaction (`None`: a project base class decides).
    pub fn atomic(&self) -> Option<bool> {
        self.m.is_atomic()
    }

    /// Whether migration `i` is in the deploy scope (a table it created is new).
    pub fn in_scope(&self, i: usize) -> bool {
        self.project.deploy.contains(i)
    }

    /// A model's table when it exists before this deploy: found in the state, created by
    /// a migration outside the scope, managed and not a proxy. `None` when it is new in
    /// this deploy, has no table of its own, or is not known.
    pub fn existing<'c>(
        &self,
        cursor: &'c Cursor<'_>,
        model: &Option<Lit>,
    ) -> Option<&'c ModelDef> {
        let def = cursor.model(&self.key(model.as_ref()?))?;
        if self.in_scope(def.created_by) || def.has_table() != Some(true) {
            return None;
        }
        Some(def)
    }

    /// The facts of the migration's forward RunSQL (the file is parsed again from the
    /// text already loaded; only migrations in scope with a RunSQL get here).
    pub fn sql_facts(&self) -> Vec<Fact> {
        let ops = flatten_database(self.m);
        if !ops.iter().any(|o| matches!(o.kind, OpKind::RunSql { .. })) {
            return Vec::new();
        }
        let file = self.project.db.file(self.m.file);
        let parsed = djcheck_python::parse_module(&file.text);
        if !parsed.errors.is_empty() {
            return Vec::new();
        }
        let options = self.project.options.file_options();
        let cx = FileContext::new(
            self.m.file,
            &file.path,
            &file.text,
            &parsed,
            FileRole::Migration,
            Some(self.m),
            &options,
        );
        facts::forward_facts(&cx)
    }
}

/// The tables created in this deploy, by name: by `CreateModel` in a migration in scope,
/// or by `CREATE TABLE` in its `RunSQL` (for SQL that names tables).
pub fn new_tables(project: &Project) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for site in sites(project) {
        let m = site.m;
        for op in flatten(m) {
            if let OpKind::CreateModel {
                name: Some(n),
                db_table,
                ..
            } = &op.kind
            {
                out.insert(match db_table {
                    Some(t) => t.value.clone(),
                    None => format!("{}_{}", m.app, n.value.to_ascii_lowercase()),
                });
            }
        }
        for f in site.sql_facts() {
            if f.kind == FactKind::CreateTable {
                out.extend(f.tables);
            }
        }
    }
    out
}

/// Whether a statement's tables are all new in this deploy.
pub fn all_new(f: &Fact, new_tables: &BTreeSet<String>) -> bool {
    f.fresh || (!f.tables.is_empty() && f.tables.iter().all(|t| new_tables.contains(t)))
}

/// The migrations in the deploy scope that were read, with their graph node.
pub fn sites(project: &Project) -> Vec<Site<'_>> {
    project
        .deploy
        .migrations()
        .filter_map(|i| {
            let m = project.migrations.get(i)?;
            if !m.readable {
                return None;
            }
            let node = project.graph.node(&m.key())?;
            Some(Site {
                project,
                index: i,
                m,
                node,
            })
        })
        .collect()
}

/// How the database meets an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// A plain operation: the database and the state change together.
    Both,
    /// In `SeparateDatabaseAndState(database_operations=...)`: the state is unchanged.
    DatabaseOnly,
}

/// Calls `f` for every operation the database runs, in order, with the state it runs
/// against and the top-level operation holding it. State-only operations
/// (`SeparateDatabaseAndState(state_operations=...)`, RunSQL's `state_operations`) are
/// applied to the state, not visited.
pub fn for_each_op(site: &Site<'_>, mut f: impl FnMut(&Operation, Side, &Cursor<'_>)) {
    let mut cursor = site.project.state.cursor(site.node);
    if !cursor.is_known() {
        return;
    }
    let ops = &site.m.operations;
    // The cursor moves past a top-level operation once what it holds has been visited.
    let mut applied = 0;
    for w in site.m.walk() {
        while applied < w.top {
            if let Some(op) = ops.get(applied) {
                cursor.apply(&site.m.app, site.index, op);
            }
            applied += 1;
        }
        match w.depth {
            0 if !is_separate(w.op) => f(w.op, Side::Both, &cursor),
            // What a top-level `SeparateDatabaseAndState` runs on the database.
            1 if w.database => f(w.op, Side::DatabaseOnly, &cursor),
            _ => {}
        }
    }
    for op in ops.iter().skip(applied) {
        cursor.apply(&site.m.app, site.index, op);
    }
}

/// Every operation, nested ones included (both sides of `SeparateDatabaseAndState`, not
/// RunSQL's `state_operations`).
pub fn flatten(m: &Migration) -> Vec<&Operation> {
    m.walk()
        .into_iter()
        .filter(|w| !w.in_run_sql && !is_separate(w.op))
        .map(|w| w.op)
        .collect()
}

/// The operations the database runs (database side of `SeparateDatabaseAndState`).
pub fn flatten_database(m: &Migration) -> Vec<&Operation> {
    m.walk()
        .into_iter()
        .filter(|w| w.database && !is_separate(w.op))
        .map(|w| w.op)
        .collect()
}

fn is_separate(op: &Operation) -> bool {
    matches!(op.kind, OpKind::SeparateDatabaseAndState { .. })
}

/// The model an operation names (`model_name`, or `name` for model operations).
pub fn model_of(op: &Operation) -> Option<&Lit> {
    match &op.kind {
        OpKind::AddField { model, .. }
        | OpKind::AlterField { model, .. }
        | OpKind::RemoveField { model, .. }
        | OpKind::RenameField { model, .. }
        | OpKind::ModelOption { model, .. } => model.as_ref(),
        OpKind::DeleteModel { name }
        | OpKind::AlterModelTable { name, .. }
        | OpKind::AlterModelOptions { name, .. } => name.as_ref(),
        OpKind::RenameModel { old, .. } => old.as_ref(),
        _ => None,
    }
}

/// The range of an operation's head: the call up to its first argument, or the whole
/// call when short. Diagnostics point at `migrations.AddField(` rather than the whole
/// multi-line call.
pub fn head(site: &Site<'_>, range: TextRange) -> TextRange {
    let text = &site.project.db.file(site.m.file).text;
    let start = usize::from(range.start());
    let end = usize::from(range.end());
    let body = text.get(start..end).unwrap_or("");
    let cut = body.find('(').map_or(body.len(), |p| p + 1);
    let len = u32::try_from(cut).unwrap_or(0);
    TextRange::at(range.start(), djcheck_python::TextSize::from(len))
}
