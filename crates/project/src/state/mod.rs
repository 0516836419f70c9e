//! The model state along the graph, built once on top of the migration graph (the graph
//! knows nothing of it).
//!
//! Two views:
//! - availability ([`ModelState::created_before`]): per graph node, the set of project
//!   models created by its ancestors (CreateModel, RenameModel's new name, the state side
//!   of SeparateDatabaseAndState and RunSQL's `state_operations`). Deletions are not
//!   subtracted: an over-approximation that can only make the rules using it quieter.
//! - field level ([`fields`], through [`ModelState::model_before`],
//!   [`ModelState::cursor`] and [`ModelState::final_models`]): every model's fields,
//!   options, indexes and constraints as Django's `ProjectState` holds them before each
//!   node, deletions and renames included, so rules can ask what a field was before a
//!   migration changed it, and what the migrations build in the end.
//!
//! Entry point: [`build`], called once by the project loader after the graph.

pub mod fields;
pub mod shift;

pub use fields::{Cursor, FieldDef, ModelDef};
pub use shift::Shift;

use crate::graph::{Graph, Origin};
use crate::migration::{Field, Lit, Migration, ModelRef, OpKind, Operation};
use djcheck_python::TextRange;
use std::collections::BTreeMap;
use std::sync::Arc;

/// `(app_label, model name lowercased)`: Django compares model names case-insensitively.
pub type ModelKey = (String, String);

/// Where a model is created.
#[derive(Debug, Clone)]
pub struct Creation {
    /// Index into `Project::migrations`.
    pub migration: usize,
    /// The operation's range.
    pub op_range: TextRange,
    /// The model name literal's range.
    pub name_range: TextRange,
    /// The name as written (for messages).
    pub name: String,
}

/// A model a migration refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefTarget {
    Model(ModelKey),
    /// `settings.NAME` (e.g. `AUTH_USER_MODEL`).
    Setting(String),
}

/// How a reference is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefKind {
    /// A relation field's `to` (or first positional argument).
    Relation,
    /// An operation's `model_name` / `name` (AddField, AlterModelOptions, DeleteModel...).
    ModelName,
    /// A CreateModel base such as `"shop.product"` (multi-table inheritance).
    Base,
}

/// One model reference of a migration.
#[derive(Debug, Clone)]
pub struct ModelReference {
    pub target: RefTarget,
    pub kind: RefKind,
    pub range: TextRange,
    /// The literal as written (`"auth.User"`), for messages.
    pub written: String,
}

/// Per-node availability of project models.
#[derive(Debug, Default, Clone)]
pub struct ModelState {
    ids: BTreeMap<ModelKey, usize>,
    /// Every project model and where it is created.
    pub creations: BTreeMap<ModelKey, Vec<Creation>>,
    /// Per graph node: bitset of models created by its ancestors (`None` for nodes not
    /// reached by the topological order, i.e. on a cycle). Shared between a node and its
    /// parent when the parent creates no model and is the only one.
    before: Vec<Option<Arc<Vec<u64>>>>,
    /// Per graph node: whether some ancestor's contents are not fully known.
    uncertain: Vec<bool>,
    /// The field-level state.
    pub fields: fields::FieldState,
}

impl ModelState {
    /// Whether `model` is created by an ancestor of graph node `node`. `None` when that
    /// cannot be known (an unreadable ancestor, a cycle).
    pub fn created_before(&self, node: usize, model: &ModelKey) -> Option<bool> {
        if *self.uncertain.get(node)? {
            return None;
        }
        let set = self.before.get(node)?.as_ref()?;
        let Some(&id) = self.ids.get(model) else {
            return Some(false);
        };
        Some(set.get(id / 64).is_some_and(|w| w & (1 << (id % 64)) != 0))
    }

    /// Where the migrations `changed` create their models, read again (they create the
    /// same models, in the same order, as when the state was built).
    fn read_creations(&mut self, migrations: &[Migration], changed: &[usize]) {
        let _t = crate::timings::phase("state: creations");
        for &i in changed {
            let Some(m) = migrations.get(i) else { continue };
            let mut seen: BTreeMap<ModelKey, usize> = BTreeMap::new();
            for (k, lit, op_range) in created_by(m) {
                let nth = seen.entry(k.clone()).or_insert(0);
                let slot = self
                    .creations
                    .get_mut(&k)
                    .and_then(|cs| cs.iter_mut().filter(|c| c.migration == i).nth(*nth));
                *nth += 1;
                if let Some(c) = slot {
                    c.op_range = op_range;
                    c.name_range = lit.range;
                    c.name = lit.value.clone();
                }
            }
        }
    }

    /// Creations of a model, if the project creates it.
    pub fn creators(&self, model: &ModelKey) -> &[Creation] {
        self.creations.get(model).map_or(&[], Vec::as_slice)
    }

    /// Whether everything before graph node `node` was read: every ancestor is a readable
    /// project migration (or a contrib one) whose dependencies and operations are known.
    /// When false, the field-level state before it may miss changes.
    pub fn certain_before(&self, node: usize) -> bool {
        self.uncertain.get(node) == Some(&false)
    }

    /// A model as Django's state holds it before graph node `node` runs (`None`: it does
    /// not exist there, or is not a project model). See [`fields`].
    pub fn model_before(&self, node: usize, model: &ModelKey) -> Option<&ModelDef> {
        self.fields.model_before(node, model)
    }

    /// A cursor at the start of graph node `node`, to walk its operations with the state
    /// each one runs against.
    pub fn cursor(&self, node: usize) -> Cursor<'_> {
        self.fields.cursor(node)
    }

    /// Every model once all migrations have run (what `makemigrations` compares the
    /// models with).
    pub fn final_models(&self) -> BTreeMap<&ModelKey, &ModelDef> {
        self.fields.final_models()
    }

    /// Where a range of migration `migration` held by the field-level state is now: see
    /// [`fields::FieldState::range_of`]. Every range read from a [`ModelDef`] or
    /// [`FieldDef`] for a span goes through it.
    pub fn range_of(&self, migration: usize, range: TextRange) -> TextRange {
        self.fields.range_of(migration, range)
    }
}

fn key(app: &str, name: &str) -> ModelKey {
    (app.to_owned(), name.to_ascii_lowercase())
}

/// Operations that shape the state: the state side of SeparateDatabaseAndState and
/// RunSQL's `state_operations`, recursively (the containers themselves left out).
fn state_ops(m: &Migration) -> Vec<&Operation> {
    m.walk()
        .into_iter()
        .filter(|w| w.state && !is_container(w.op))
        .map(|w| w.op)
        .collect()
}

/// Every operation, database and state sides alike (the containers left out).
fn all_ops(m: &Migration) -> Vec<&Operation> {
    m.walk()
        .into_iter()
        .filter(|w| !is_container(w.op))
        .map(|w| w.op)
        .collect()
}

fn is_container(op: &Operation) -> bool {
    matches!(
        op.kind,
        OpKind::SeparateDatabaseAndState { .. } | OpKind::RunSql { .. }
    )
}

/// Models a migration creates, in order.
pub fn created_by(m: &Migration) -> Vec<(ModelKey, &Lit, TextRange)> {
    let ops = state_ops(m);
    let mut out = Vec::new();
    for op in ops {
        match &op.kind {
            OpKind::CreateModel { name: Some(n), .. } => {
                out.push((key(&m.app, &n.value), n, op.range))
            }
            OpKind::RenameModel { new: Some(n), .. } => {
                out.push((key(&m.app, &n.value), n, op.range))
            }
            _ => {}
        }
    }
    out
}

fn field_ref(app: &str, f: &Field, out: &mut Vec<ModelReference>) {
    let Some(rel) = &f.relation else { return };
    let (target, written) = match &rel.target {
        ModelRef::Named {
            app: Some(a),
            model,
        } => (RefTarget::Model(key(a, model)), format!("{a}.{model}")),
        ModelRef::Named { app: None, model } => (RefTarget::Model(key(app, model)), model.clone()),
        ModelRef::Setting(s) => (RefTarget::Setting(s.clone()), format!("settings.{s}")),
        ModelRef::Unknown => return,
    };
    out.push(ModelReference {
        target,
        kind: RefKind::Relation,
        range: rel.range,
        written,
    });
}

/// Every model reference of a migration.
pub fn references(m: &Migration) -> Vec<ModelReference> {
    let ops = all_ops(m);
    let mut out = Vec::new();
    let by_name = |n: &Option<Lit>, out: &mut Vec<ModelReference>| {
        if let Some(n) = n {
            out.push(ModelReference {
                target: RefTarget::Model(key(&m.app, &n.value)),
                kind: RefKind::ModelName,
                range: n.range,
                written: n.value.clone(),
            });
        }
    };
    for op in ops {
        match &op.kind {
            OpKind::CreateModel { fields, bases, .. } => {
                for f in fields {
                    field_ref(&m.app, f, &mut out);
                }
                for b in bases {
                    if let ModelRef::Named { app, model } = b {
                        let a = app.as_deref().unwrap_or(&m.app);
                        out.push(ModelReference {
                            target: RefTarget::Model(key(a, model)),
                            kind: RefKind::Base,
                            range: op.range,
                            written: format!("{a}.{model}"),
                        });
                    }
                }
            }
            OpKind::AddField { model, field } | OpKind::AlterField { model, field } => {
                by_name(model, &mut out);
                if let Some(f) = field {
                    field_ref(&m.app, f, &mut out);
                }
            }
            OpKind::RemoveField { model, .. }
            | OpKind::RenameField { model, .. }
            | OpKind::ModelOption { model, .. } => by_name(model, &mut out),
            OpKind::DeleteModel { name }
            | OpKind::AlterModelTable { name, .. }
            | OpKind::AlterModelOptions { name, .. } => by_name(name, &mut out),
            OpKind::RenameModel { old, .. } => by_name(old, &mut out),
            _ => {}
        }
    }
    out
}

/// Builds the state over the graph.
pub fn build(migrations: &[Migration], g: &Graph) -> ModelState {
    let (mut st, order) = availability(migrations, g);
    let _t = crate::timings::phase("state: fields");
    st.fields = fields::build(migrations, g, &order, st.creations.keys());
    st
}

/// The state again after the migrations `changed` (indices into `migrations`) changed,
/// over the graph `prev` was built on (the same, not one built again): availability is
/// computed again, and the field-level state is replayed from the first changed node in
/// plan order when the migrations create the same models as before (else built whole).
///
/// With `same_availability` (the changed migrations create the same models, in the same
/// order, and are as readable as before: [`availability_facts`] unchanged), availability
/// is taken over and only where the changed migrations create their models is read
/// again.
pub fn rebuild(
    mut prev: ModelState,
    migrations: &[Migration],
    g: &Graph,
    changed: &[usize],
    same_availability: bool,
) -> ModelState {
    let nodes: Vec<usize> = changed.iter().filter_map(|&i| g.node_of(i)).collect();
    if same_availability {
        prev.read_creations(migrations, changed);
        let _t = crate::timings::phase("state: fields");
        let fields = std::mem::take(&mut prev.fields);
        prev.fields = fields.rebuild(migrations, g, &nodes);
        return prev;
    }
    let (mut st, order) = availability(migrations, g);
    let _t = crate::timings::phase("state: fields");
    st.fields = if st.ids == prev.ids && st.creations.keys().eq(prev.creations.keys()) {
        prev.fields.rebuild(migrations, g, &nodes)
    } else {
        fields::build(migrations, g, &order, st.creations.keys())
    };
    st
}

/// The state after an edit to one migration that leaves the models it creates as they
/// were (`same_availability`), made without a replay: kept when the edit only moved
/// ranges (`edit`: how its text changed; [`shift`]), or the migration's events written
/// in place when it changes what it does to the same models. Only models of the
/// migration's own app can then differ from before. `false`, `state` as it was, when
/// neither applies: [`rebuild`] it.
pub fn rebuild_in_place(
    state: &mut ModelState,
    migrations: &[Migration],
    g: &Graph,
    changed: &[usize],
    same_availability: bool,
    edit: Option<Shift>,
) -> bool {
    let (&[i], true) = (changed, same_availability) else {
        return false;
    };
    let Some(node) = g.node_of(i) else {
        return false;
    };
    let t = crate::timings::phase("state: fields");
    if !state.fields.kept_or_rewritten(migrations, g, node, edit) {
        return false;
    }
    drop(t);
    state.read_creations(migrations, changed);
    true
}

/// What the models' availability reads of a migration besides its place in the graph:
/// the models it creates, in order, and whether it is read whole.
pub fn availability_facts(m: &Migration) -> (Vec<ModelKey>, bool, bool, bool) {
    (
        created_by(m).into_iter().map(|(k, _, _)| k).collect(),
        m.readable,
        m.dependencies_complete,
        m.operations_complete,
    )
}

/// Which models exist before each node, and the nodes in topological order.
fn availability(migrations: &[Migration], g: &Graph) -> (ModelState, Vec<usize>) {
    let t = crate::timings::phase("state: availability");
    let mut st = ModelState::default();
    // Per migration, the ids of the models it creates.
    let mut created_ids: Vec<Vec<usize>> = Vec::with_capacity(migrations.len());
    for (i, m) in migrations.iter().enumerate() {
        let mut ids = Vec::new();
        for (k, lit, op_range) in created_by(m) {
            let next = st.ids.len();
            ids.push(*st.ids.entry(k.clone()).or_insert(next));
            st.creations.entry(k).or_default().push(Creation {
                migration: i,
                op_range,
                name_range: lit.range,
                name: lit.value.clone(),
            });
        }
        created_ids.push(ids);
    }
    let words = st.ids.len().div_ceil(64).max(1);
    let n = g.nodes.len();
    st.before = vec![None; n];
    st.uncertain = vec![false; n];
    // Kahn's algorithm over "depends on" edges; nodes on cycles are never reached.
    let alive = |i: usize| !g.nodes[i].removed;
    let mut pending: Vec<usize> = (0..n)
        .map(|i| g.nodes[i].parents.iter().filter(|&&p| alive(p)).count())
        .collect();
    let mut ready: Vec<usize> = (0..n).filter(|&i| alive(i) && pending[i] == 0).collect();
    let mut after: Vec<Option<Arc<Vec<u64>>>> = vec![None; n];
    let empty = Arc::new(vec![0u64; words]);
    let mut uncertain_after = vec![false; n];
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop() {
        order.push(i);
        let node = &g.nodes[i];
        let mut set = empty.clone();
        let mut unsure = node.origin.is_none();
        for &p in &node.parents {
            if !alive(p) {
                continue;
            }
            if let Some(ps) = &after[p] {
                if Arc::ptr_eq(&set, &empty) {
                    set = ps.clone();
                } else if !Arc::ptr_eq(&set, ps) {
                    for (w, pw) in Arc::make_mut(&mut set).iter_mut().zip(ps.iter()) {
                        *w |= pw;
                    }
                }
            }
            unsure |= uncertain_after[p];
        }
        let mut post = set.clone();
        let mut post_unsure = unsure;
        match node.origin {
            Some(Origin::Project(mi)) => {
                let m = &migrations[mi];
                unsure |= !m.readable || !m.dependencies_complete;
                // A dependency the graph could not place (an app djcheck cannot see, or
                // one it ignored) may bring models: the state is not known.
                unsure |= m
                    .dependencies
                    .iter()
                    .any(|d| d.key.0 != m.app && !g.has_app(&d.key.0));
                post_unsure = unsure || !m.operations_complete;
                for &id in created_ids.get(mi).map_or(&[][..], Vec::as_slice) {
                    if let Some(w) = Arc::make_mut(&mut post).get_mut(id / 64) {
                        *w |= 1 << (id % 64);
                    }
                }
            }
            // Third-party migrations were not read: their models are unknown.
            Some(Origin::External) => post_unsure = true,
            _ => {}
        }
        st.before[i] = Some(set);
        st.uncertain[i] = unsure;
        after[i] = Some(post);
        uncertain_after[i] = post_unsure;
        for &c in &node.children {
            if !alive(c) {
                continue;
            }
            pending[c] = pending[c].saturating_sub(1);
            if pending[c] == 0 {
                ready.push(c);
            }
        }
    }
    drop(t);
    (st, order)
}
