//! The field-level model state: every project model's fields (class and keyword
//! arguments), options (`db_table`, `managed`, ...), indexes, constraints and
//! `unique_together`, as Django's `ProjectState` holds them before each migration.
//!
//! Django renders the state a migration runs against (`loader.project_state(node,
//! at_end=False)`) by applying its ancestors' `state_forwards` in plan order. djcheck
//! replays the same operations once, in a topological order of the graph, and keeps a
//! snapshot per node. Snapshots share what did not change (`Arc`): a node that changes
//! nothing costs one pointer, and one that changes a model copies only the chunk of
//! [`CHUNK`] models that holds it, the page of [`PAGE`] chunks that holds that chunk, and
//! the short list of pages (time and memory grow with the number of migrations, not with
//! migrations times models).
//!
//! Merges: a model's version is identified by the set of its events (the operations that
//! changed it) that were applied. Where a node's parents disagree about a model (two
//! branches of an app joined by a merge migration, or an app depending on a newer state
//! of another app's model), the union of their events is replayed in topological order,
//! which is Django's plan order for a model's own (same-app) operations.
//!
//! Ranges: the state shares the operations' field declarations, and records where a
//! model's options last changed. An edit to a migration that leaves what it does to every
//! model as it was (an operation that changes no model added, a comment, a line
//! re-wrapped) only moves ranges: the state is kept, and [`FieldState::range_of`] maps
//! the ranges it holds to the migration's text now ([`super::shift`]).
//!
//! What is not modelled: a `RenameModel` does not rewrite relation targets in other
//! models (`to=` stays as written), and `RenameField` renames the field in
//! `unique_together`/`index_together` but not inside `Index`/`Constraint` definitions.
//! An operation djcheck cannot read that names a model marks that model `known: false`.

use crate::migration::{
    ArgValue, Field, Kwarg, Migration, ModelOptions, ModelRef, OpKind, Operation, OptionArg, Part,
};
use crate::pyvalue::PyValue;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::shift::{map_all, Relocate, Shift};
use super::ModelKey;
use djcheck_python::TextRange;
use rustc_hash::FxHashMap;

/// A field in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDef {
    /// The field's name as the operation wrote it.
    pub name: String,
    /// The field's declaration (class, keyword arguments, relation), shared with the
    /// operation that wrote it.
    pub field: Arc<Field>,
    /// Index into `Project::migrations` of the migration that last set it (CreateModel,
    /// AddField, AlterField or RenameField).
    pub set_by: usize,
}

/// A model in the state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelDef {
    pub app: String,
    /// The model's name as the last CreateModel/RenameModel wrote it.
    pub name: String,
    /// Fields in declaration order, each shared by the versions of the model that did not
    /// change it (a version copies pointers, not fields).
    pub fields: Vec<Arc<FieldDef>>,
    /// Literal options (`db_table`, `managed`, `proxy`, `ordering`, ...), merged the way
    /// `AlterModelOptions` and `AlterModelTable` merge them.
    pub options: Vec<Kwarg>,
    pub indexes: Vec<Part>,
    pub constraints: Vec<Part>,
    pub unique_together: Vec<Vec<String>>,
    pub index_together: Vec<Vec<String>>,
    pub bases: Vec<ModelRef>,
    /// Index into `Project::migrations` of the migration whose `CreateModel` made the
    /// model (kept through `RenameModel`: the table and its rows are the same).
    pub created_by: usize,
    /// Every option with its value (`db_table`, `ordering`, `verbose_name`,
    /// `order_with_respect_to`, `db_table_comment`...), indexes, constraints and
    /// `unique_together` aside, merged as Django's state merges them.
    pub option_values: Vec<(String, PyValue)>,
    /// `managers`, as a list of `(name, manager)` pairs (empty when none was given).
    pub managers: PyValue,
    /// Index into `Project::migrations` of the migration that last changed the options,
    /// indexes, constraints or managers (or created the model), and that operation's
    /// range.
    pub options_by: usize,
    pub options_range: djcheck_python::TextRange,
    /// False when an operation djcheck could not read may have changed the model, or a
    /// field or option it holds is not literal.
    pub known: bool,
}

impl ModelDef {
    /// A field by name (Django compares field names case-insensitively in operations).
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| &**f)
    }

    /// A literal option.
    pub fn option(&self, key: &str) -> Option<&ArgValue> {
        self.options
            .iter()
            .find(|k| k.name == key)
            .map(|k| &k.value)
    }

    /// An option's value, as Django's state holds it.
    pub fn option_value(&self, key: &str) -> Option<&PyValue> {
        self.option_values
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
    }

    /// The model's table: `db_table`, else Django's `<app_label>_<model name lowercased>`.
    /// `None` when `db_table` is not a literal string.
    pub fn db_table(&self) -> Option<String> {
        match self.option("db_table") {
            Some(ArgValue::Str(t)) => Some(t.clone()),
            Some(ArgValue::None) | None => {
                Some(format!("{}_{}", self.app, self.name.to_ascii_lowercase()))
            }
            Some(_) => None,
        }
    }

    /// Whether Django manages a table of its own for the model: not `managed=False`,
    /// not a proxy. `None` when an option is not literal.
    pub fn has_table(&self) -> Option<bool> {
        let flag = |k: &str, default: bool| match self.option(k) {
            None => Some(default),
            Some(ArgValue::Bool(b)) => Some(*b),
            Some(_) => None,
        };
        Some(flag("managed", true)? && !flag("proxy", false)?)
    }
}

/// What one operation does to one model.
#[derive(Debug, Clone, PartialEq)]
enum Effect {
    /// CreateModel, or the new name of a RenameModel (the renamed model whole).
    Create(Arc<ModelDef>),
    Delete,
    AddField(Arc<FieldDef>),
    AlterField(Arc<FieldDef>),
    RemoveField(String),
    RenameField {
        old: String,
        new: String,
    },
    Options(ModelOptions),
    Table(Option<String>),
    AddPart {
        index: bool,
        part: Part,
    },
    RemovePart {
        index: bool,
        name: String,
    },
    RenameIndex {
        old: String,
        new: String,
    },
    Together {
        unique: bool,
        value: Option<Vec<Vec<String>>>,
    },
    /// An option set by its own operation (`order_with_respect_to`,
    /// `db_table_comment`); `None` when its value can't be read.
    SetOption(&'static str, Option<PyValue>),
    /// AlterModelManagers; `None` when not readable.
    Managers(Option<PyValue>),
    /// A RenameModel elsewhere: relations to `old` now point to `new` (`app.Name`).
    Repoint {
        old: ModelKey,
        new: String,
    },
    Unknown,
}

impl Relocate for FieldDef {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(FieldDef {
            field: self.field.relocate(map)?,
            ..self.clone()
        })
    }
}

impl Relocate for ModelDef {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(ModelDef {
            fields: self.fields.relocate(map)?,
            options: self.options.relocate(map)?,
            indexes: self.indexes.relocate(map)?,
            constraints: self.constraints.relocate(map)?,
            options_range: map(self.options_range)?,
            ..self.clone()
        })
    }
}

impl Relocate for Effect {
    fn relocate(&self, map: &dyn Fn(TextRange) -> Option<TextRange>) -> Option<Self> {
        Some(match self {
            Effect::Create(d) => Effect::Create(d.relocate(map)?),
            Effect::AddField(f) => Effect::AddField(f.relocate(map)?),
            Effect::AlterField(f) => Effect::AlterField(f.relocate(map)?),
            Effect::Options(o) => Effect::Options(o.relocate(map)?),
            Effect::AddPart { index, part } => Effect::AddPart {
                index: *index,
                part: part.relocate(map)?,
            },
            Effect::Delete
            | Effect::RemoveField(_)
            | Effect::RenameField { .. }
            | Effect::Table(_)
            | Effect::RemovePart { .. }
            | Effect::RenameIndex { .. }
            | Effect::Together { .. }
            | Effect::SetOption(..)
            | Effect::Managers(_)
            | Effect::Repoint { .. }
            | Effect::Unknown => self.clone(),
        })
    }
}

#[derive(Debug, Clone)]
struct Event {
    effect: Effect,
    /// Index into `Project::migrations` of the migration whose operation it is, and
    /// the operation's range.
    migration: usize,
    range: djcheck_python::TextRange,
    /// Position in the plan of the node that applied it.
    pos: u32,
}

/// A model as some set of its events leaves it.
#[derive(Debug, Clone)]
struct Version {
    /// Indices into the model's events.
    applied: Applied,
    /// `None` once deleted (or renamed away).
    def: Option<Arc<ModelDef>>,
}

/// A set of a model's events (indices into its event list).
///
/// Events are numbered in plan order, so where a model's app has no branches, every
/// version holds the first `n` of them: such a set is kept as its length, which makes the
/// subset test of a merge and the copy made when a node changes the model constant-time.
/// A `List` is never of that form (it is sorted and without duplicates), so each set has
/// one representation.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Applied {
    /// Events `0..n`.
    Prefix(u32),
    /// Any other set, ascending.
    List(Vec<u32>),
}

impl Applied {
    /// The set of `list` (sorted ascending, without duplicates).
    fn from_list(list: Vec<u32>) -> Applied {
        match list.last() {
            None => Applied::Prefix(0),
            Some(&last) if last as usize + 1 == list.len() => Applied::Prefix(last + 1),
            Some(_) => Applied::List(list),
        }
    }

    fn to_list(&self) -> Vec<u32> {
        match self {
            Applied::Prefix(n) => (0..*n).collect(),
            Applied::List(l) => l.clone(),
        }
    }

    /// Adds event `ev`, later than every event in the set.
    fn push(&mut self, ev: u32) {
        match self {
            Applied::Prefix(n) if *n == ev => *n += 1,
            Applied::Prefix(n) => {
                let mut l: Vec<u32> = (0..*n).collect();
                l.push(ev);
                *self = Applied::List(l);
            }
            Applied::List(l) => l.push(ev),
        }
    }

    /// Whether every event of `self` is in `other`.
    fn is_subset(&self, other: &Applied) -> bool {
        match (self, other) {
            (Applied::Prefix(a), Applied::Prefix(b)) => a <= b,
            // A sorted list without duplicates starts with `0..a` exactly when its
            // element `a - 1` is `a - 1`.
            (Applied::Prefix(0), Applied::List(_)) => true,
            (Applied::Prefix(a), Applied::List(b)) => {
                b.get(*a as usize - 1).is_some_and(|&x| x + 1 == *a)
            }
            (Applied::List(a), Applied::Prefix(b)) => a.last().is_none_or(|&x| x < *b),
            (Applied::List(a), Applied::List(b)) => is_subset(a, b),
        }
    }

    fn union(&self, other: &Applied) -> Applied {
        match (self, other) {
            (Applied::Prefix(a), Applied::Prefix(b)) => Applied::Prefix(*a.max(b)),
            _ => Applied::from_list(union(&self.to_list(), &other.to_list())),
        }
    }
}

/// `list` with the elements `parts` names (by index) rewritten by `f`: a copy when one
/// changed, else `list` itself; each list rewritten once (`memo`, by address).
fn rewrite_list<T, P>(
    list: &Arc<Vec<Arc<T>>>,
    parts: &BTreeMap<usize, P>,
    memo: &mut FxHashMap<usize, Arc<Vec<Arc<T>>>>,
    mut f: impl FnMut(&Arc<T>, &P) -> Arc<T>,
) -> Arc<Vec<Arc<T>>> {
    let key = Arc::as_ptr(list) as usize;
    if let Some(l) = memo.get(&key) {
        return l.clone();
    }
    let mut copy: Option<Vec<Arc<T>>> = None;
    for (&i, part) in parts {
        let Some(old) = list.get(i) else { continue };
        let new = f(old, part);
        if !Arc::ptr_eq(&new, old) {
            copy.get_or_insert_with(|| list.as_ref().clone())[i] = new;
        }
    }
    let out = copy.map_or_else(|| list.clone(), Arc::new);
    memo.insert(key, out.clone());
    out
}

/// Whether operations rename a model, nested ones included (the state side of
/// `SeparateDatabaseAndState`, RunSQL's `state_operations`).
fn renames_a_model(ops: &[Operation]) -> bool {
    ops.iter().any(|op| match &op.kind {
        OpKind::RenameModel { .. } => true,
        OpKind::SeparateDatabaseAndState { state, .. } => renames_a_model(state),
        OpKind::RunSql {
            state_operations, ..
        } => renames_a_model(state_operations),
        _ => false,
    })
}

/// Models (by id) per chunk of a snapshot.
const CHUNK: u32 = 32;

/// The models of ids `c * CHUNK .. (c + 1) * CHUNK` that exist: `(model id, version)`,
/// sorted by id.
type Chunk = Arc<Vec<(u32, Arc<Version>)>>;

/// Chunks per page of a snapshot.
const PAGE: usize = 32;

/// Chunks `p * PAGE .. (p + 1) * PAGE` of a snapshot; chunks past the end are empty.
type Page = Arc<Vec<Chunk>>;

/// Per-node state: page `p` holds chunks `p * PAGE ..`, chunk `c` ids `c * CHUNK ..`;
/// pages past the end are empty. Two levels, so that a node that changes one model copies
/// a page and the list of pages, not a list as long as the project has models.
type Snap = Arc<Vec<Page>>;

/// A model's version in a snapshot.
fn get(snap: &Snap, id: u32) -> Option<&Arc<Version>> {
    let c = (id / CHUNK) as usize;
    let chunk = snap.get(c / PAGE)?.get(c % PAGE)?;
    let i = chunk.binary_search_by_key(&id, |e| e.0).ok()?;
    Some(&chunk[i].1)
}

/// Every model of a snapshot with its version, by id.
fn entries(snap: &Snap) -> impl Iterator<Item = &(u32, Arc<Version>)> {
    snap.iter().flat_map(|p| p.iter()).flat_map(|c| c.iter())
}

/// The field-level state at every node of the graph.
#[derive(Debug, Default, Clone)]
pub struct FieldState {
    ids: BTreeMap<ModelKey, u32>,
    events: Vec<Vec<Event>>,
    /// Per graph node: the state before it (`None` for nodes on a cycle).
    before: Vec<Option<Snap>>,
    /// The state after every node: what `makemigrations` compares models.py with.
    end: Snap,
    /// Models that an operation djcheck cannot read may have created, renamed or changed:
    /// their existence is not known even where the state has no such model. With the
    /// position in the plan where that was first found.
    uncertain: BTreeMap<ModelKey, u32>,
    /// Per node: the state after it (for a later rebuild from some node on).
    after: Vec<Option<Snap>>,
    /// The nodes in plan order, and per model id one more than the plan position where
    /// it got its id (0 for the models the migrations create, numbered first).
    plan: Vec<usize>,
    interned_at: Vec<u32>,
    /// Per migration: the edits since its node was last replayed, when they left its
    /// effects as they were ([`super::shift`]): the state still holds the ranges it had.
    shifts: Shifts,
}

/// Edits per migration index, in order.
#[derive(Default, Clone)]
struct Shifts(BTreeMap<usize, Vec<Shift>>);

impl std::fmt::Debug for Shifts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Shifts[")?;
        for (m, edits) in &self.0 {
            write!(f, " {m}: {}", edits.len())?;
        }
        write!(f, " ]")
    }
}

/// The models a rewrite in place replays, by page, then chunk: each model's id and the
/// events rewritten.
type Touched = BTreeMap<usize, BTreeMap<usize, Vec<(u32, Block)>>>;

/// An edited node: its migration (index into `Project::migrations`), its position in
/// the plan, and per model id what it does now, each effect with its operation's range.
struct Edited {
    mi: usize,
    pos: u32,
    new: BTreeMap<u32, Vec<(Effect, TextRange)>>,
}

/// A node's events on one model, rewritten in place: numbers `start..end` became
/// `start..start + len`, and later ones moved by the difference.
#[derive(Debug, Clone, Copy)]
struct Block {
    start: u32,
    end: u32,
    len: u32,
}

impl Block {
    /// A set of the model's events, numbered again, and whether it holds the block (its
    /// version is then replayed). `None` when the set is as it was and holds no event
    /// of the block.
    fn renumbered(&self, a: &Applied) -> Option<(Applied, bool)> {
        let moved = |x: u32| x - self.end + self.start + self.len;
        match a {
            // A node's events on a model are applied together: all of the block or none.
            Applied::Prefix(n) if *n <= self.start => None,
            Applied::Prefix(n) => Some((Applied::Prefix(moved((*n).max(self.end))), true)),
            Applied::List(l) => {
                let holds = l.binary_search(&self.start).is_ok();
                if !holds && l.last().is_none_or(|&x| x < self.end) {
                    return None;
                }
                let mut out: Vec<u32> = l.iter().copied().filter(|&x| x < self.start).collect();
                if holds {
                    out.extend(self.start..self.start + self.len);
                }
                out.extend(l.iter().copied().filter(|&x| x >= self.end).map(moved));
                Some((Applied::from_list(out), holds))
            }
        }
    }
}

/// What a rewrite in place made of each shared part, by the old part's address.
#[derive(Default)]
struct Rewrites {
    snaps: FxHashMap<usize, Snap>,
    pages: FxHashMap<usize, Page>,
    chunks: FxHashMap<usize, Chunk>,
    versions: FxHashMap<usize, Arc<Version>>,
}

/// Edits kept for one migration before its node is replayed instead.
const MAX_SHIFTS: usize = 64;

impl FieldState {
    fn id(&self, key: &ModelKey) -> Option<u32> {
        self.ids.get(key).copied()
    }

    fn lookup<'a>(&'a self, snap: &'a Snap, key: &ModelKey) -> Option<&'a ModelDef> {
        get(snap, self.id(key)?)?.def.as_deref()
    }

    /// A model as it is before graph node `node` runs. `None` when the model does not
    /// exist there, the node is on a cycle, or the model is not a project model.
    pub fn model_before(&self, node: usize, key: &ModelKey) -> Option<&ModelDef> {
        let snap = self.before.get(node)?.as_ref()?;
        self.lookup(snap, key)
    }

    /// Every model that exists once all migrations have run, by key.
    pub fn final_models(&self) -> BTreeMap<&ModelKey, &ModelDef> {
        let mut out = BTreeMap::new();
        for (key, &id) in &self.ids {
            if let Some(d) = get(&self.end, id).and_then(|v| v.def.as_deref()) {
                out.insert(key, d);
            }
        }
        out
    }

    /// Every model that exists once all migrations have run, shared: a model whose
    /// definition is the same `Arc` in two states was not replayed in between.
    pub(crate) fn final_shared(&self) -> BTreeMap<ModelKey, Arc<ModelDef>> {
        let mut out = BTreeMap::new();
        for (key, &id) in &self.ids {
            if let Some(d) = get(&self.end, id).and_then(|v| v.def.clone()) {
                out.insert(key.clone(), d);
            }
        }
        out
    }

    /// The models whose existence is not known ([`FieldState::is_uncertain`]).
    pub(crate) fn uncertain_models(&self) -> impl Iterator<Item = &ModelKey> {
        self.uncertain.keys()
    }

    /// A cursor at the start of graph node `node`, to walk its migration's operations
    /// one by one with the state each runs against.
    pub fn cursor(&self, node: usize) -> Cursor<'_> {
        Cursor {
            state: self,
            snap: self.before.get(node).and_then(Option::as_ref),
            changed: BTreeMap::new(),
        }
    }

    /// Whether an operation djcheck cannot read may have created or changed the model
    /// (somewhere in the graph): its absence from the state proves nothing.
    pub fn is_uncertain(&self, key: &ModelKey) -> bool {
        self.uncertain.contains_key(key)
    }

    /// Where a range of migration `migration` that the state holds (a field's
    /// declaration with its `set_by`, a model's `options_range` with its `options_by`)
    /// is in the migration's text now. The state keeps the ranges it recorded when an
    /// edit left what the migration does unchanged ([`super::shift`]).
    pub fn range_of(&self, migration: usize, range: TextRange) -> TextRange {
        match self.shifts.0.get(&migration) {
            Some(edits) => map_all(edits, range).unwrap_or(range),
            None => range,
        }
    }

    /// Whether some range the state holds is older than its migration's text
    /// ([`FieldState::range_of`] maps it).
    pub fn has_shifted_ranges(&self) -> bool {
        !self.shifts.0.is_empty()
    }

    /// The keys of the models in a snapshot, with the changes of the node being built.
    fn keys_in(&self, snap: &Snap, extra: &mut dyn Iterator<Item = u32>) -> Vec<ModelKey> {
        let mut ids: BTreeSet<u32> = entries(snap)
            .filter(|(_, v)| v.def.is_some())
            .map(|(id, _)| *id)
            .collect();
        ids.extend(extra);
        let mut out = Vec::new();
        for (k, id) in &self.ids {
            if ids.contains(id) {
                out.push(k.clone());
            }
        }
        out
    }

    fn intern(&mut self, key: &ModelKey, pos: u32) -> u32 {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.events.len() as u32;
        self.ids.insert(key.clone(), id);
        self.events.push(Vec::new());
        self.interned_at.push(pos);
        id
    }

    fn replay(&self, id: u32, applied: &Applied) -> Option<Arc<ModelDef>> {
        let mut def: Option<Arc<ModelDef>> = None;
        for e in applied.to_list() {
            let Some(ev) = self.events[id as usize].get(e as usize) else {
                continue;
            };
            def = apply(def, &ev.effect, (ev.migration, ev.range));
        }
        def
    }

    fn merge(&self, a: &Snap, b: &Snap) -> Snap {
        merge_lists(a, b, |x, y| self.merge_page(x, y))
    }

    fn merge_page(&self, a: &Page, b: &Page) -> Page {
        merge_lists(a, b, |x, y| self.merge_chunk(x, y))
    }

    fn merge_chunk(&self, a: &Chunk, b: &Chunk) -> Chunk {
        if Arc::ptr_eq(a, b) || b.is_empty() {
            return a.clone();
        }
        if a.is_empty() {
            return b.clone();
        }
        // Most merges join an older and a newer state of the same models: one side then
        // holds all the other has, and is shared as it is.
        match covering(a, b) {
            Some(Side::A) => return a.clone(),
            Some(Side::B) => return b.clone(),
            None => {}
        }
        let mut out = Vec::with_capacity(a.len().max(b.len()));
        let (mut i, mut j) = (0, 0);
        let mut same_as_a = true;
        while i < a.len() || j < b.len() {
            match (a.get(i), b.get(j)) {
                (Some(x), Some(y)) if x.0 == y.0 => {
                    let v = if Arc::ptr_eq(&x.1, &y.1) || y.1.applied.is_subset(&x.1.applied) {
                        x.1.clone()
                    } else if x.1.applied.is_subset(&y.1.applied) {
                        y.1.clone()
                    } else {
                        let union = x.1.applied.union(&y.1.applied);
                        let def = self.replay(x.0, &union);
                        Arc::new(Version {
                            applied: union,
                            def,
                        })
                    };
                    same_as_a &= Arc::ptr_eq(&v, &x.1);
                    out.push((x.0, v));
                    i += 1;
                    j += 1;
                }
                (Some(x), Some(y)) if x.0 < y.0 => {
                    out.push(x.clone());
                    i += 1;
                }
                (Some(_), Some(y)) | (None, Some(y)) => {
                    same_as_a = false;
                    out.push(y.clone());
                    j += 1;
                }
                (Some(x), None) => {
                    out.push(x.clone());
                    i += 1;
                }
                (None, None) => break,
            }
        }
        if same_as_a {
            a.clone()
        } else {
            Arc::new(out)
        }
    }
}

/// Two lists of shared parts (a snapshot's pages, a page's chunks) merged part by part
/// with `part`, a missing part being empty; `a` itself when every merged part is `a`'s.
fn merge_lists<T: Default>(
    a: &Arc<Vec<Arc<T>>>,
    b: &Arc<Vec<Arc<T>>>,
    part: impl Fn(&Arc<T>, &Arc<T>) -> Arc<T>,
) -> Arc<Vec<Arc<T>>> {
    if Arc::ptr_eq(a, b) || b.is_empty() {
        return a.clone();
    }
    if a.is_empty() {
        return b.clone();
    }
    let empty = Arc::<T>::default();
    let mut same_as_a = a.len() >= b.len();
    let parts: Vec<Arc<T>> = (0..a.len().max(b.len()))
        .map(|i| {
            let x = a.get(i).unwrap_or(&empty);
            let merged = part(x, b.get(i).unwrap_or(&empty));
            same_as_a &= Arc::ptr_eq(&merged, x);
            merged
        })
        .collect();
    if same_as_a {
        a.clone()
    } else {
        Arc::new(parts)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Side {
    A,
    B,
}

/// Which chunk, if either, holds every model of the other at a version with all of the
/// other's events (`A` when both do): the merge of the two is then that chunk.
fn covering(a: &[(u32, Arc<Version>)], b: &[(u32, Arc<Version>)]) -> Option<Side> {
    let (mut a_covers, mut b_covers) = (true, true);
    let (mut i, mut j) = (0, 0);
    while (a_covers || b_covers) && (i < a.len() || j < b.len()) {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if !Arc::ptr_eq(&x.1, &y.1) {
                    a_covers = a_covers && y.1.applied.is_subset(&x.1.applied);
                    b_covers = b_covers && x.1.applied.is_subset(&y.1.applied);
                }
                i += 1;
                j += 1;
            }
            // A model only `a` has.
            (Some(x), Some(y)) if x.0 < y.0 => {
                b_covers = false;
                i += 1;
            }
            (Some(_), None) => {
                b_covers = false;
                i += 1;
            }
            // A model only `b` has.
            (_, Some(_)) => {
                a_covers = false;
                j += 1;
            }
            (None, None) => break,
        }
    }
    if a_covers {
        Some(Side::A)
    } else if b_covers {
        Some(Side::B)
    } else {
        None
    }
}

/// `snap` with the versions of `changed` (by model id); only the chunks holding them,
/// and the pages holding those, are copied.
fn with_changes(snap: &Snap, changed: BTreeMap<u32, Version>) -> Snap {
    let mut pages: Vec<Page> = snap.as_ref().clone();
    let mut by_chunk: BTreeMap<usize, Vec<(u32, Arc<Version>)>> = BTreeMap::new();
    for (id, v) in changed {
        by_chunk
            .entry((id / CHUNK) as usize)
            .or_default()
            .push((id, Arc::new(v)));
    }
    // Chunks in ascending order: each page is copied once, when its first chunk comes.
    let mut open: Option<(usize, Vec<Chunk>)> = None;
    for (c, new) in by_chunk {
        let p = c / PAGE;
        if open.as_ref().is_none_or(|(q, _)| *q != p) {
            if let Some((q, chunks)) = open.take() {
                pages[q] = Arc::new(chunks);
            }
            if pages.len() <= p {
                pages.resize_with(p + 1, Page::default);
            }
            open = Some((p, pages[p].as_ref().clone()));
        }
        let Some((_, chunks)) = open.as_mut() else {
            continue;
        };
        let c = c % PAGE;
        if chunks.len() <= c {
            chunks.resize_with(c + 1, Chunk::default);
        }
        let mut out: Vec<(u32, Arc<Version>)> = chunks[c]
            .iter()
            .filter(|(id, _)| new.binary_search_by_key(id, |e| e.0).is_err())
            .cloned()
            .collect();
        out.extend(new);
        out.sort_by_key(|e| e.0);
        chunks[c] = Arc::new(out);
    }
    if let Some((q, chunks)) = open {
        pages[q] = Arc::new(chunks);
    }
    Arc::new(pages)
}

/// Whether every element of `a` is in `b` (both sorted ascending, without duplicates),
/// without building their union.
fn is_subset(a: &[u32], b: &[u32]) -> bool {
    if a.len() > b.len() {
        return false;
    }
    // The usual case: `a` is an older version along the same migrations as `b`.
    if b.starts_with(a) {
        return true;
    }
    let mut j = 0;
    for x in a {
        while b.get(j).is_some_and(|y| y < x) {
            j += 1;
        }
        if b.get(j) != Some(x) {
            return false;
        }
        j += 1;
    }
    true
}

fn union(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x == y => {
                out.push(*x);
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x < y => {
                out.push(*x);
                i += 1;
            }
            (Some(_), Some(y)) | (None, Some(y)) => {
                out.push(*y);
                j += 1;
            }
            (Some(x), None) => {
                out.push(*x);
                i += 1;
            }
            (None, None) => break,
        }
    }
    out
}

/// A walk through one migration's operations, holding the state as it changes.
pub struct Cursor<'a> {
    state: &'a FieldState,
    snap: Option<&'a Snap>,
    /// Models changed by the operations applied so far (`None`: deleted).
    changed: BTreeMap<ModelKey, Option<Arc<ModelDef>>>,
}

impl Cursor<'_> {
    /// Whether the state before the node is known at all (not on a cycle).
    pub fn is_known(&self) -> bool {
        self.snap.is_some()
    }

    /// A model as it is now.
    pub fn model(&self, key: &ModelKey) -> Option<&ModelDef> {
        if let Some(c) = self.changed.get(key) {
            return c.as_deref();
        }
        self.state.lookup(self.snap?, key)
    }

    /// Applies what a (state-changing) operation of migration `migration` of `app` does,
    /// including the state side of `SeparateDatabaseAndState` and RunSQL's
    /// `state_operations`.
    pub fn apply(&mut self, app: &str, migration: usize, op: &Operation) {
        let mut effects = Vec::new();
        let all = || {
            let mut keys = self
                .snap
                .map(|s| self.state.keys_in(s, &mut std::iter::empty()))
                .unwrap_or_default();
            for (k, v) in &self.changed {
                keys.retain(|x| x != k);
                if v.is_some() {
                    keys.push(k.clone());
                }
            }
            keys
        };
        effects_of(
            app,
            migration,
            op,
            &|k| self.model(k).cloned(),
            &all,
            &mut effects,
        );
        for (key, effect) in effects {
            let prev = match self.changed.get(&key) {
                Some(c) => c.clone(),
                None => self
                    .snap
                    .and_then(|s| self.state.lookup(s, &key))
                    .map(|d| Arc::new(d.clone())),
            };
            let next = apply(prev, &effect, (migration, op.range));
            self.changed.insert(key, next);
        }
    }
}

fn key(app: &str, name: &str) -> ModelKey {
    (app.to_owned(), name.to_ascii_lowercase())
}

fn field_def(f: &Arc<Field>, migration: usize) -> Option<FieldDef> {
    Some(FieldDef {
        name: f.name.as_ref()?.value.clone(),
        field: f.clone(),
        set_by: migration,
    })
}

/// The effects of one operation, in order. `current` reads a model's state as it is
/// before the operation (a RenameModel carries the model over whole).
fn effects_of(
    app: &str,
    migration: usize,
    op: &Operation,
    current: &dyn Fn(&ModelKey) -> Option<ModelDef>,
    all: &dyn Fn() -> Vec<ModelKey>,
    out: &mut Vec<(ModelKey, Effect)>,
) {
    let named = |n: &Option<crate::migration::Lit>| n.as_ref().map(|l| key(app, &l.value));
    match &op.kind {
        OpKind::CreateModel {
            name: Some(n),
            fields,
            bases,
            options,
            managers,
            ..
        } => {
            let defs: Vec<Arc<FieldDef>> = fields
                .iter()
                .filter_map(|f| field_def(f, migration))
                .map(Arc::new)
                .collect();
            let known =
                defs.len() == fields.len() && options.complete && fields.iter().all(|f| !f.splat);
            out.push((
                key(app, &n.value),
                Effect::Create(Arc::new(ModelDef {
                    app: app.to_owned(),
                    name: n.value.clone(),
                    fields: defs,
                    options: options.items.clone(),
                    indexes: options.indexes.clone(),
                    constraints: options.constraints.clone(),
                    unique_together: options.unique_together.clone().unwrap_or_default(),
                    index_together: options.index_together.clone().unwrap_or_default(),
                    bases: bases.clone(),
                    created_by: migration,
                    option_values: options
                        .values
                        .iter()
                        .filter(|(k, _)| !is_part_option(k))
                        .cloned()
                        .collect(),
                    managers: managers.clone(),
                    options_by: migration,
                    options_range: n.range,
                    known,
                })),
            ));
        }
        OpKind::DeleteModel { name } => {
            if let Some(k) = named(name) {
                out.push((k, Effect::Delete));
            }
        }
        OpKind::RenameModel {
            old: Some(old),
            new: Some(new),
        } => {
            let old_key = key(app, &old.value);
            let new_key = key(app, &new.value);
            if let Some(mut def) = current(&old_key) {
                def.name = new.value.clone();
                // Django repoints every relation to the old model (the renamed model's
                // own ones too) to `app.NewName`.
                let target = format!("{app}.{}", new.value);
                repoint(&mut def, &old_key, &target);
                out.push((old_key.clone(), Effect::Delete));
                out.push((new_key.clone(), Effect::Create(Arc::new(def))));
                for k in all() {
                    if k == old_key || k == new_key {
                        continue;
                    }
                    if current(&k).is_some_and(|d| refers(&d, &old_key)) {
                        out.push((
                            k,
                            Effect::Repoint {
                                old: old_key.clone(),
                                new: target.clone(),
                            },
                        ));
                    }
                }
            } else {
                out.push((new_key, Effect::Unknown));
            }
        }
        OpKind::AlterModelTable { name, table } => {
            if let Some(k) = named(name) {
                out.push((k, Effect::Table(table.as_ref().map(|t| t.value.clone()))));
            }
        }
        OpKind::AlterModelOptions { name, options, .. } => {
            if let Some(k) = named(name) {
                out.push((k, Effect::Options(options.clone())));
            }
        }
        OpKind::AddField { model, field } | OpKind::AlterField { model, field } => {
            let Some(k) = named(model) else { return };
            let effect = match field.as_ref().and_then(|f| field_def(f, migration)) {
                Some(d) if matches!(op.kind, OpKind::AddField { .. }) => {
                    Effect::AddField(Arc::new(d))
                }
                Some(d) => Effect::AlterField(Arc::new(d)),
                None => Effect::Unknown,
            };
            out.push((k, effect));
        }
        OpKind::RemoveField { model, name } => {
            if let Some(k) = named(model) {
                let effect = match name {
                    Some(n) => Effect::RemoveField(n.value.clone()),
                    None => Effect::Unknown,
                };
                out.push((k, effect));
            }
        }
        OpKind::RenameField { model, old, new } => {
            if let Some(k) = named(model) {
                let effect = match (old, new) {
                    (Some(o), Some(n)) => Effect::RenameField {
                        old: o.value.clone(),
                        new: n.value.clone(),
                    },
                    _ => Effect::Unknown,
                };
                out.push((k, effect));
            }
        }
        OpKind::ModelOption {
            op: name,
            model,
            arg,
        } => {
            let Some(k) = named(model) else { return };
            let index = name.contains("Index");
            let effect = match (name.as_str(), arg) {
                (_, OptionArg::Part(p))
                    if name.starts_with("Add") || name.starts_with("SaferAdd") =>
                {
                    Effect::AddPart {
                        index,
                        part: p.clone(),
                    }
                }
                ("ValidateConstraint", _) => return,
                (_, OptionArg::Name(n))
                    if name.starts_with("Remove") || name.starts_with("SaferRemove") =>
                {
                    Effect::RemovePart {
                        index,
                        name: n.value.clone(),
                    }
                }
                (
                    "RenameIndex",
                    OptionArg::Rename {
                        new: Some(n),
                        old: Some(o),
                    },
                ) => Effect::RenameIndex {
                    old: o.value.clone(),
                    new: n.value.clone(),
                },
                ("AlterUniqueTogether" | "AlterIndexTogether", OptionArg::Together(t)) => {
                    Effect::Together {
                        unique: name == "AlterUniqueTogether",
                        value: t.clone(),
                    }
                }
                ("AlterModelManagers", OptionArg::Value(v)) => Effect::Managers(Some(v.clone())),
                ("AlterModelManagers", _) => Effect::Managers(None),
                ("AlterOrderWithRespectTo", OptionArg::Value(v)) => {
                    Effect::SetOption("order_with_respect_to", Some(v.clone()))
                }
                ("AlterOrderWithRespectTo", OptionArg::None) => {
                    Effect::SetOption("order_with_respect_to", Some(PyValue::None))
                }
                ("AlterModelTableComment", OptionArg::Value(v)) => {
                    Effect::SetOption("db_table_comment", Some(v.clone()))
                }
                ("AlterModelTableComment", OptionArg::None) => {
                    Effect::SetOption("db_table_comment", Some(PyValue::None))
                }
                _ => Effect::Unknown,
            };
            out.push((k, effect));
        }
        // The state side only; each operation sees the state the previous ones left.
        OpKind::SeparateDatabaseAndState { state: ops, .. }
        | OpKind::RunSql {
            state_operations: ops,
            ..
        } => {
            let mut local: BTreeMap<ModelKey, Option<ModelDef>> = BTreeMap::new();
            for s in ops {
                let mut sub = Vec::new();
                {
                    let get = |k: &ModelKey| match local.get(k) {
                        Some(v) => v.clone(),
                        None => current(k),
                    };
                    effects_of(app, migration, s, &get, all, &mut sub);
                }
                for (k, e) in sub {
                    let prev = match local.get(&k) {
                        Some(v) => v.clone(),
                        None => current(&k),
                    };
                    let next =
                        apply(prev.map(Arc::new), &e, (migration, s.range)).map(|d| (*d).clone());
                    local.insert(k.clone(), next);
                    out.push((k, e));
                }
            }
        }
        OpKind::Unknown { model: Some(m), .. } => {
            // A custom operation that names a model may change it in ways not read here.
            out.push((key(app, &m.value), Effect::Unknown));
        }
        _ => {}
    }
}

fn apply(
    prev: Option<Arc<ModelDef>>,
    effect: &Effect,
    at: (usize, djcheck_python::TextRange),
) -> Option<Arc<ModelDef>> {
    let (migration, range) = at;
    match effect {
        Effect::Create(def) => return Some(def.clone()),
        Effect::Delete => return None,
        _ => {}
    }
    // A version made by an earlier operation of the same migration is not shared yet.
    let mut def = Arc::unwrap_or_clone(prev?);
    match effect {
        Effect::Create(_) | Effect::Delete => {}
        Effect::AddField(f) => {
            def.fields.retain(|x| !x.name.eq_ignore_ascii_case(&f.name));
            def.fields.push(f.clone());
            def.known &= !f.field.splat;
        }
        Effect::AlterField(f) => {
            match def
                .fields
                .iter_mut()
                .find(|x| x.name.eq_ignore_ascii_case(&f.name))
            {
                Some(x) => *x = f.clone(),
                None => def.known = false,
            }
            def.known &= !f.field.splat;
        }
        Effect::RemoveField(n) => {
            let before = def.fields.len();
            def.fields.retain(|x| !x.name.eq_ignore_ascii_case(n));
            def.known &= def.fields.len() < before;
            for group in def
                .unique_together
                .iter_mut()
                .chain(def.index_together.iter_mut())
            {
                group.retain(|x| !x.eq_ignore_ascii_case(n));
            }
            def.unique_together.retain(|g| !g.is_empty());
            def.index_together.retain(|g| !g.is_empty());
        }
        Effect::RenameField { old, new } => {
            match def
                .fields
                .iter_mut()
                .find(|x| x.name.eq_ignore_ascii_case(old))
            {
                Some(x) => {
                    let x = Arc::make_mut(x);
                    x.name = new.clone();
                    if let Some(n) = &mut Arc::make_mut(&mut x.field).name {
                        n.value = new.clone();
                    }
                }
                None => def.known = false,
            }
            for group in def
                .unique_together
                .iter_mut()
                .chain(def.index_together.iter_mut())
            {
                for x in group.iter_mut() {
                    if x.eq_ignore_ascii_case(old) {
                        *x = new.clone();
                    }
                }
            }
        }
        Effect::Options(o) => {
            // Django's AlterModelOptions: the keys it manages (ALTER_OPTION_KEYS) are
            // replaced by the new dict (absent ones removed); others are kept.
            const ALTER_OPTION_KEYS: &[&str] = &[
                "base_manager_name",
                "default_manager_name",
                "default_related_name",
                "get_latest_by",
                "managed",
                "ordering",
                "permissions",
                "default_permissions",
                "select_on_save",
                "verbose_name",
                "verbose_name_plural",
            ];
            def.options
                .retain(|k| !ALTER_OPTION_KEYS.contains(&k.name.as_str()));
            for item in &o.items {
                def.options.retain(|k| k.name != item.name);
                def.options.push(item.clone());
            }
            def.option_values
                .retain(|(k, _)| !ALTER_OPTION_KEYS.contains(&k.as_str()));
            for (k, v) in &o.values {
                if is_part_option(k) {
                    continue;
                }
                def.option_values.retain(|(x, _)| x != k);
                def.option_values.push((k.clone(), v.clone()));
            }
            def.known &= o.complete;
            def.options_by = migration;
            def.options_range = range;
        }
        Effect::Table(t) => {
            def.options.retain(|k| k.name != "db_table");
            def.option_values.retain(|(k, _)| k != "db_table");
            if let Some(t) = t {
                def.options.push(Kwarg {
                    name: "db_table".to_owned(),
                    value: ArgValue::Str(t.clone()),
                    range: Default::default(),
                });
                def.option_values
                    .push(("db_table".to_owned(), PyValue::Str(t.clone())));
            }
            def.options_by = migration;
            def.options_range = range;
        }
        Effect::SetOption(key, value) => {
            def.option_values.retain(|(k, _)| k != key);
            match value {
                Some(v) => def.option_values.push(((*key).to_owned(), v.clone())),
                None => def.known = false,
            }
            def.options_by = migration;
            def.options_range = range;
        }
        Effect::Managers(m) => {
            match m {
                Some(v) => def.managers = v.clone(),
                None => def.known = false,
            }
            def.options_by = migration;
            def.options_range = range;
        }
        Effect::Repoint { old, new } => repoint(&mut def, old, new),
        Effect::AddPart { index, part } => {
            def.options_by = migration;
            def.options_range = range;
            if *index {
                def.indexes.push(part.clone());
            } else {
                def.constraints.push(part.clone());
            }
        }
        Effect::RemovePart { index, name } => {
            let list = if *index {
                &mut def.indexes
            } else {
                &mut def.constraints
            };
            let before = list.len();
            list.retain(|p| p.name.as_deref() != Some(name.as_str()));
            def.known &= list.len() < before;
            def.options_by = migration;
            def.options_range = range;
        }
        Effect::RenameIndex { old, new } => {
            match def
                .indexes
                .iter_mut()
                .find(|p| p.name.as_deref() == Some(old.as_str()))
            {
                Some(p) => {
                    p.name = Some(new.clone());
                    p.value = with_kwarg(&p.value, "name", PyValue::Str(new.clone()));
                }
                None => def.known = false,
            }
            def.options_by = migration;
            def.options_range = range;
        }
        Effect::Together { unique, value } => {
            def.options_by = migration;
            def.options_range = range;
            let target = if *unique {
                &mut def.unique_together
            } else {
                &mut def.index_together
            };
            match value {
                Some(v) => *target = v.clone(),
                None => def.known = false,
            }
        }
        Effect::Unknown => def.known = false,
    }
    Some(Arc::new(def))
}

/// Options that Django's state keeps apart from the others (their own operations).
fn is_part_option(k: &str) -> bool {
    matches!(
        k,
        "indexes" | "constraints" | "unique_together" | "index_together"
    )
}

/// A call value with keyword argument `name` set to `v`.
fn with_kwarg(value: &PyValue, name: &str, v: PyValue) -> PyValue {
    let PyValue::Call(c) = value else {
        return PyValue::Unknown;
    };
    let mut c = (**c).clone();
    match c.kwargs.iter_mut().find(|(k, _)| k == name) {
        Some(slot) => slot.1 = v,
        None => c.kwargs.push((name.to_owned(), v)),
    }
    PyValue::Call(Arc::new(c))
}

/// The model a relation target names, relative to the app of the model holding it.
fn target_key(app: &str, r: &ModelRef) -> Option<ModelKey> {
    match r {
        ModelRef::Named {
            app: Some(a),
            model,
        } => Some(key(a, model)),
        ModelRef::Named { app: None, model } => Some(key(app, model)),
        _ => None,
    }
}

/// The `through` model of a many-to-many field, relative to the app of its model.
fn through_key(app: &str, f: &Field) -> Option<ModelKey> {
    match f.call.kw("through") {
        Some(PyValue::Str(s)) => Some(match s.split_once('.') {
            Some((a, m)) => key(a, m),
            None => key(app, s),
        }),
        _ => None,
    }
}

/// Whether a model has a relation (or a `through`) to `old`.
fn refers(def: &ModelDef, old: &ModelKey) -> bool {
    def.fields.iter().any(|f| {
        f.field
            .relation
            .as_ref()
            .and_then(|r| target_key(&def.app, &r.target))
            .as_ref()
            == Some(old)
            || through_key(&def.app, &f.field).as_ref() == Some(old)
    })
}

/// Points the model's relations to `old` at `new` (`app.Name`), as Django's
/// `ProjectState.rename_model` does: `to` and `through` become the new label.
fn repoint(def: &mut ModelDef, old: &ModelKey, new: &str) {
    let app = def.app.clone();
    for f in &mut def.fields {
        let to_old = f
            .field
            .relation
            .as_ref()
            .is_some_and(|r| target_key(&app, &r.target).as_ref() == Some(old));
        if !to_old && through_key(&app, &f.field).as_ref() != Some(old) {
            continue;
        }
        let f = Arc::make_mut(f);
        let field = Arc::make_mut(&mut f.field);
        let mut call = (*field.call).clone();
        let mut changed = false;
        if let Some(r) = &mut field.relation {
            if target_key(&app, &r.target).as_ref() == Some(old) {
                let (a, m) = new.split_once('.').unwrap_or(("", new));
                r.target = ModelRef::Named {
                    app: Some(a.to_owned()),
                    model: m.to_owned(),
                };
                let v = PyValue::Str(new.to_owned());
                match call.kwargs.iter_mut().find(|(k, _)| k == "to") {
                    Some(slot) => slot.1 = v,
                    None => {
                        if let Some(first) = call.args.first_mut() {
                            *first = v;
                        }
                    }
                }
                changed = true;
            }
        }
        if through_key(&app, field).as_ref() == Some(old) {
            if let Some(slot) = call.kwargs.iter_mut().find(|(k, _)| k == "through") {
                slot.1 = PyValue::Str(new.to_owned());
                changed = true;
            }
        }
        if changed {
            field.call = Arc::new(call);
        }
    }
}

/// The nodes of `topological` (nodes on cycles left out) in Django's plan order:
/// `make_state` over every leaf, each leaf's `forwards_plan` a depth-first walk of its
/// parents in key order, every node once.
fn plan_order(g: &crate::graph::Graph, topological: &[usize]) -> Vec<usize> {
    let n = g.nodes.len();
    let mut reachable = vec![false; n];
    for &i in topological {
        reachable[i] = true;
    }
    let mut leaves: Vec<usize> = topological
        .iter()
        .copied()
        .filter(|&i| g.nodes[i].children.iter().all(|&c| !reachable[c]))
        .collect();
    leaves.sort_by(|&a, &b| g.nodes[a].key.cmp(&g.nodes[b].key));
    let mut done = vec![false; n];
    let mut out = Vec::with_capacity(topological.len());
    for leaf in leaves {
        let mut stack = vec![(leaf, false)];
        while let Some((i, expanded)) = stack.pop() {
            if done[i] {
                continue;
            }
            if expanded {
                done[i] = true;
                out.push(i);
                continue;
            }
            stack.push((i, true));
            let mut parents: Vec<usize> = g.nodes[i]
                .parents
                .iter()
                .copied()
                .filter(|&p| reachable[p] && !done[p])
                .collect();
            parents.sort_by(|&a, &b| g.nodes[a].key.cmp(&g.nodes[b].key));
            // Pushed in reverse so that the first parent in key order is walked first.
            for p in parents.into_iter().rev() {
                stack.push((p, false));
            }
        }
    }
    out
}

/// Replays every project migration's state operations over the graph. `created` are the
/// models the migrations create, in key order: their ids are given in that order, so that
/// an app's models share chunks and a merge of two lineages copies only the chunks of
/// the apps where they differ.
pub(super) fn build<'k>(
    migrations: &[Migration],
    g: &crate::graph::Graph,
    order: &[usize],
    created: impl Iterator<Item = &'k ModelKey>,
) -> FieldState {
    let mut st = FieldState::default();
    for k in created {
        st.intern(k, 0);
    }
    let n = g.nodes.len();
    st.before = vec![None; n];
    st.after = vec![None; n];
    st.plan = plan_order(g, order);
    st.replay_from(migrations, g, 0);
    st
}

impl FieldState {
    /// After an edit `edit` to the migration of graph node `node`, the only one changed:
    /// the state kept when the edit only moved ranges ([`super::shift`]), or its events
    /// written in place when it changes what the migration does to the same models
    /// ([`FieldState::rewritten_in_place`]). `false` when neither applies: nothing
    /// changed, the caller replays. Either way only models of the migration's own app can
    /// differ from before.
    pub(super) fn kept_or_rewritten(
        &mut self,
        migrations: &[Migration],
        g: &crate::graph::Graph,
        node: usize,
        edit: Option<Shift>,
    ) -> bool {
        let t = std::time::Instant::now();
        let Some(edited) = self.edited(migrations, g, node) else {
            return false;
        };
        if edit.is_some_and(|e| self.kept_after_edit(&edited, e)) {
            crate::timings::note(format_args!(
                "state kept, the edit moved ranges only ({:.2} ms)",
                t.elapsed().as_secs_f64() * 1000.0
            ));
            return true;
        }
        let t = std::time::Instant::now();
        if self.rewritten_in_place(migrations, g, edited) {
            crate::timings::note(format_args!(
                "state rewritten in place ({:.2} ms)",
                t.elapsed().as_secs_f64() * 1000.0
            ));
            return true;
        }
        false
    }

    /// The state again after the migrations at graph nodes `changed` changed, over the
    /// same graph and with the same models created (the same ids). Only the changed
    /// nodes and their descendants are replayed when no other node after them in plan
    /// order touches the models they touch (events are numbered in plan order: those of
    /// other nodes then keep their numbers); else every node from the first changed one
    /// in plan order on. Either way the result is what [`build`] gives.
    pub(super) fn rebuild(
        mut self,
        migrations: &[Migration],
        g: &crate::graph::Graph,
        changed: &[usize],
    ) -> FieldState {
        let mut pos_of = vec![u32::MAX; g.nodes.len()];
        for (p, &i) in self.plan.iter().enumerate() {
            pos_of[i] = p as u32;
        }
        let in_plan = |i: usize| pos_of.get(i).is_some_and(|&p| p != u32::MAX);
        let Some(from) = changed
            .iter()
            .filter(|&&i| in_plan(i))
            .map(|&i| pos_of[i])
            .min()
        else {
            return self;
        };
        // The changed nodes and their descendants.
        let mut replayed = vec![false; g.nodes.len()];
        let mut stack: Vec<usize> = changed.iter().copied().filter(|&i| in_plan(i)).collect();
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut replayed[i], true) {
                continue;
            }
            stack.extend(
                g.nodes[i]
                    .children
                    .iter()
                    .copied()
                    .filter(|&c| in_plan(c) && !replayed[c]),
            );
        }
        let t = std::time::Instant::now();
        let mut replays = replayed.iter().filter(|&&r| r).count();
        if !self.replay_descendants(migrations, g, from, &replayed) {
            replays = self.plan.len() - from as usize;
            self.replay_after(migrations, g, from);
        }
        crate::timings::note(format_args!(
            "replayed {replays} of {} nodes in {:.2} ms",
            self.plan.len(),
            t.elapsed().as_secs_f64() * 1000.0
        ));
        self
    }

    /// Replays the nodes `replayed` (at plan positions `from` and later) when no other
    /// node from `from` on touches a model they touch, and no other gave a model its id
    /// there. `false` when that does not hold (checked before and after the replay): the
    /// caller then replays every node from `from` on, which sets right whatever this
    /// changed.
    fn replay_descendants(
        &mut self,
        migrations: &[Migration],
        g: &crate::graph::Graph,
        from: u32,
        replayed: &[bool],
    ) -> bool {
        let by_replayed = |st: &FieldState, pos: u32| {
            st.plan
                .get(pos as usize)
                .is_some_and(|&i| replayed.get(i).copied().unwrap_or(false))
        };
        let n = self.events.len();
        // Per model: events from `from` on of replayed nodes, and of others.
        let mut ours = vec![false; n];
        let mut others = vec![false; n];
        for (id, evs) in self.events.iter().enumerate() {
            for e in evs.iter().rev().take_while(|e| e.pos >= from) {
                if by_replayed(self, e.pos) {
                    ours[id] = true;
                } else {
                    others[id] = true;
                }
            }
        }
        if ours.iter().zip(&others).any(|(a, b)| *a && *b) {
            return false;
        }
        let first_late = self
            .interned_at
            .iter()
            .position(|&p| p > from)
            .unwrap_or(self.interned_at.len());
        if !self.interned_at[first_late..]
            .iter()
            .all(|&p| by_replayed(self, p - 1))
        {
            return false;
        }
        // What the replayed nodes recorded goes.
        self.interned_at.truncate(first_late);
        self.events.truncate(first_late);
        self.ids.retain(|_, id| (*id as usize) < first_late);
        for (id, evs) in self.events.iter_mut().enumerate() {
            if ours[id] {
                let keep = evs.iter().take_while(|e| e.pos < from).count();
                evs.truncate(keep);
            }
        }
        let plan = std::mem::take(&mut self.plan);
        let replayed_at = |pos: u32| {
            plan.get(pos as usize)
                .is_some_and(|&i| replayed.get(i).copied().unwrap_or(false))
        };
        self.uncertain.retain(|_, p| *p < from || !replayed_at(*p));
        let mut old: Vec<Snap> = Vec::new();
        for (_, &i) in plan
            .iter()
            .enumerate()
            .skip(from as usize)
            .filter(|(_, &i)| replayed[i])
        {
            old.extend(self.before.get_mut(i).and_then(Option::take));
            old.extend(self.after.get_mut(i).and_then(Option::take));
        }
        crate::free(old);
        let empty: Snap = Arc::new(Vec::new());
        for (pos, &i) in plan.iter().enumerate().skip(from as usize) {
            if replayed[i] {
                let snap = self.replay_node(migrations, g, i, pos as u32, &empty);
                self.after[i] = Some(snap);
            }
        }
        self.plan = plan;
        // The models the replayed nodes touch now: none may be one others touch.
        let clash = self.events.iter().enumerate().any(|(id, evs)| {
            others.get(id).copied().unwrap_or(false)
                && evs
                    .last()
                    .is_some_and(|e| e.pos >= from && by_replayed(self, e.pos))
        });
        if clash {
            return false;
        }
        self.end = self.end_state(g);
        true
    }

    /// Replays every node of the plan from position `from` on.
    fn replay_after(&mut self, migrations: &[Migration], g: &crate::graph::Graph, from: u32) {
        // What the replayed nodes recorded goes: their events, the ids they gave, the
        // uncertainty they found, their states.
        let keep_ids = self.interned_at.iter().take_while(|&&p| p <= from).count();
        self.interned_at.truncate(keep_ids);
        self.events.truncate(keep_ids);
        self.ids.retain(|_, id| (*id as usize) < keep_ids);
        for evs in &mut self.events {
            let keep = evs.iter().take_while(|e| e.pos < from).count();
            evs.truncate(keep);
        }
        self.uncertain.retain(|_, p| *p < from);
        let mut old: Vec<Snap> = Vec::new();
        for &i in &self.plan[from as usize..] {
            old.extend(self.before.get_mut(i).and_then(Option::take));
            old.extend(self.after.get_mut(i).and_then(Option::take));
        }
        crate::free(old);
        self.replay_from(migrations, g, from as usize);
    }

    /// Replays the nodes of the plan from position `from` on, then merges the end state.
    fn replay_from(&mut self, migrations: &[Migration], g: &crate::graph::Graph, from: usize) {
        let empty: Snap = Arc::new(Vec::new());
        let plan = std::mem::take(&mut self.plan);
        for (pos, &i) in plan.iter().enumerate().skip(from) {
            let snap = self.replay_node(migrations, g, i, pos as u32, &empty);
            self.after[i] = Some(snap);
        }
        self.plan = plan;
        self.end = self.end_state(g);
    }

    /// The end state: the after-states of the leaves (nodes whose children are all
    /// removed count), merged.
    fn end_state(&self, g: &crate::graph::Graph) -> Snap {
        let mut end: Snap = Arc::new(Vec::new());
        for (node, a) in g.nodes.iter().zip(&self.after) {
            let is_leaf = node.children.iter().all(|&c| g.nodes[c].removed);
            if node.removed || !is_leaf {
                continue;
            }
            if let Some(a) = a {
                end = self.merge(&end, a);
            }
        }
        end
    }

    /// The effects of operation `op` of migration `mi` (of app `app`), run against state
    /// `snap` with the changes `changed` its migration made before it.
    fn op_effects(
        &self,
        app: &str,
        mi: usize,
        op: &Operation,
        snap: &Snap,
        changed: &BTreeMap<u32, Version>,
    ) -> Vec<(ModelKey, Effect)> {
        let current = |k: &ModelKey| -> Option<ModelDef> {
            let id = self.id(k)?;
            match changed.get(&id) {
                Some(v) => v.def.as_deref().cloned(),
                None => self.lookup(snap, k).cloned(),
            }
        };
        let all = || {
            let mut ids: BTreeSet<u32> = entries(snap)
                .filter(|(_, v)| v.def.is_some())
                .map(|(id, _)| *id)
                .collect();
            for (id, v) in changed {
                if v.def.is_some() {
                    ids.insert(*id);
                } else {
                    ids.remove(id);
                }
            }
            self.ids
                .iter()
                .filter(|(_, id)| ids.contains(id))
                .map(|(k, _)| k.clone())
                .collect::<Vec<_>>()
        };
        let mut effects = Vec::new();
        effects_of(app, mi, op, &current, &all, &mut effects);
        effects
    }

    /// What migration `mi` does to each model (by id, each effect with its operation's
    /// range), run against `snap`, recording nothing. `None` when it touches a model
    /// without an id.
    fn node_effects(
        &self,
        m: &Migration,
        mi: usize,
        snap: &Snap,
    ) -> Option<BTreeMap<u32, Vec<(Effect, TextRange)>>> {
        let mut changed: BTreeMap<u32, Version> = BTreeMap::new();
        let mut out: BTreeMap<u32, Vec<(Effect, TextRange)>> = BTreeMap::new();
        for op in &m.operations {
            for (k, effect) in self.op_effects(&m.app, mi, op, snap, &changed) {
                let id = self.id(&k)?;
                let prev = match changed.remove(&id) {
                    Some(v) => v.def,
                    None => get(snap, id).and_then(|v| v.def.clone()),
                };
                let def = apply(prev, &effect, (mi, op.range));
                changed.insert(
                    id,
                    Version {
                        applied: Applied::Prefix(0),
                        def,
                    },
                );
                out.entry(id).or_default().push((effect, op.range));
            }
        }
        Some(out)
    }

    /// Graph node `node`, whose migration was edited: the migration, its place in the
    /// plan, and what it does now to each model, run against its state before (which
    /// the edit did not change). `None` when that can't be had (a node on a cycle, a
    /// model without an id).
    fn edited(
        &self,
        migrations: &[Migration],
        g: &crate::graph::Graph,
        node: usize,
    ) -> Option<Edited> {
        let Some(crate::graph::Origin::Project(mi)) = g.nodes.get(node).and_then(|n| n.origin)
        else {
            return None;
        };
        let (m, Some(snap)) = (migrations.get(mi)?, self.before.get(node)?) else {
            return None;
        };
        let pos = self.plan.iter().position(|&i| i == node)?;
        let new = self.node_effects(m, mi, snap)?;
        Some(Edited {
            mi,
            pos: pos as u32,
            new,
        })
    }

    /// After an edit `edit` to migration `mi` (graph node `node`, the only one changed):
    /// whether it does to every model what it did, the edit's move of ranges aside. Then
    /// the state is kept as it is, the edit added to the migration's shifts; else
    /// nothing changes.
    fn kept_after_edit(&mut self, edited: &Edited, edit: Shift) -> bool {
        let Edited { mi, pos, new } = edited;
        let mut edits = self.shifts.0.get(mi).cloned().unwrap_or_default();
        if edits.len() >= MAX_SHIFTS {
            return false;
        }
        edits.push(edit);
        let map = |r: TextRange| map_all(&edits, r);
        let pos = *pos;
        // Every model with events of this node, then and now.
        let old_ids = self
            .events
            .iter()
            .enumerate()
            .filter(|(_, evs)| evs.iter().any(|e| e.pos == pos))
            .map(|(id, _)| id as u32);
        if !old_ids.eq(new.keys().copied()) {
            return false;
        }
        for (id, now) in new {
            let then = self.events[*id as usize].iter().filter(|e| e.pos == pos);
            if then.clone().count() != now.len() {
                return false;
            }
            for (e, (effect, range)) in then.zip(now) {
                if map(e.range) != Some(*range) || e.effect.relocate(&map).as_ref() != Some(effect)
                {
                    return false;
                }
            }
        }
        self.shifts.0.insert(*mi, edits);
        true
    }

    /// After an edit to migration `mi` (graph node `node`, the only one changed) that
    /// changes what it does to the models it touches, but not which models (a field's
    /// arguments changed, an operation on one of them added or removed): its events are
    /// written again in place, the model's later events numbered again, and every version
    /// of those models is numbered again and, when it holds the node's events, replayed,
    /// in every snapshot, each shared part once. Needs no later node to read the contents
    /// of a model to decide what it does (a `RenameModel` copies the model it renames and
    /// repoints the relations to it), and no effect that decides more than its model's
    /// versions (an operation djcheck can't read, a repoint). `false`, nothing changed,
    /// when that does not hold.
    fn rewritten_in_place(
        &mut self,
        migrations: &[Migration],
        g: &crate::graph::Graph,
        edited: Edited,
    ) -> bool {
        let Edited { mi, pos, new } = edited;
        let pos = pos as usize;
        // Per model, the numbers of the node's events (consecutive: a node's events on a
        // model are recorded together).
        let at = pos as u32;
        let mut slots: BTreeMap<u32, std::ops::Range<u32>> = BTreeMap::new();
        for (id, evs) in self.events.iter().enumerate() {
            if let Some(a) = evs.iter().position(|e| e.pos == at) {
                let n = evs[a..].iter().take_while(|e| e.pos == at).count();
                slots.insert(id as u32, a as u32..(a + n) as u32);
            }
        }
        if !slots.keys().eq(new.keys()) {
            return false;
        }
        // Effects that decide more than their model's versions: what is uncertain, what
        // other models point to.
        for (id, now) in &new {
            let then = &self.events[*id as usize][slots[id].start as usize..slots[id].end as usize];
            let effects = then
                .iter()
                .map(|e| &e.effect)
                .chain(now.iter().map(|(e, _)| e));
            if effects
                .into_iter()
                .any(|e| matches!(e, Effect::Unknown | Effect::Repoint { .. }))
            {
                return false;
            }
        }
        let renames_later = self.plan[pos + 1..].iter().any(|&n| {
            matches!(g.nodes[n].origin, Some(crate::graph::Origin::Project(j))
                if migrations.get(j).is_some_and(|m| renames_a_model(&m.operations)))
        });
        if renames_later {
            return false;
        }
        let mut by_page: Touched = BTreeMap::new();
        for (id, now) in new {
            let r = &slots[&id];
            let block = Block {
                start: r.start,
                end: r.end,
                len: now.len() as u32,
            };
            self.events[id as usize].splice(
                r.start as usize..r.end as usize,
                now.into_iter().map(|(effect, range)| Event {
                    effect,
                    migration: mi,
                    range,
                    pos: at,
                }),
            );
            let c = (id / CHUNK) as usize;
            by_page
                .entry(c / PAGE)
                .or_default()
                .entry(c % PAGE)
                .or_default()
                .push((id, block));
        }
        // Its events hold the ranges of its text now.
        self.shifts.0.remove(&mi);
        // The old snapshots stay alive until all are rewritten: the memo is by address.
        let mut memo = Rewrites::default();
        let before: Vec<Option<Snap>> = self
            .before
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| self.rewrite_snap(s, &by_page, &mut memo))
            })
            .collect();
        let after: Vec<Option<Snap>> = self
            .after
            .iter()
            .map(|s| {
                s.as_ref()
                    .map(|s| self.rewrite_snap(s, &by_page, &mut memo))
            })
            .collect();
        let end = self.rewrite_snap(&self.end, &by_page, &mut memo);
        crate::timings::note(format_args!(
            "rewrote {} snapshots, {} pages, {} chunks, {} versions replayed",
            memo.snaps.len(),
            memo.pages.len(),
            memo.chunks.len(),
            memo.versions.len()
        ));
        let old = (
            std::mem::replace(&mut self.before, before),
            std::mem::replace(&mut self.after, after),
            std::mem::replace(&mut self.end, end),
        );
        crate::free((old, memo));
        true
    }

    /// `snap` with every version of the models `by_page` names (page, chunk, and per
    /// model its id and the number of the first event rewritten) that holds those events
    /// replayed; shared parts rewritten once (`memo`).
    fn rewrite_snap(&self, snap: &Snap, by_page: &Touched, memo: &mut Rewrites) -> Snap {
        let Rewrites {
            snaps,
            pages,
            chunks,
            versions,
        } = memo;
        rewrite_list(snap, by_page, snaps, |page, in_page| {
            rewrite_list(page, in_page, pages, |chunk, ids| {
                self.rewrite_chunk(chunk, ids, chunks, versions)
            })
        })
    }

    fn rewrite_chunk(
        &self,
        chunk: &Chunk,
        ids: &[(u32, Block)],
        chunks: &mut FxHashMap<usize, Chunk>,
        versions: &mut FxHashMap<usize, Arc<Version>>,
    ) -> Chunk {
        let key = Arc::as_ptr(chunk) as usize;
        if let Some(c) = chunks.get(&key) {
            return c.clone();
        }
        let mut copy: Option<Vec<(u32, Arc<Version>)>> = None;
        for (id, block) in ids {
            let Ok(i) = chunk.binary_search_by_key(id, |e| e.0) else {
                continue;
            };
            let v = &chunk[i].1;
            let Some((applied, holds)) = block.renumbered(&v.applied) else {
                continue;
            };
            let vk = Arc::as_ptr(v) as usize;
            let new = match versions.get(&vk) {
                Some(n) => n.clone(),
                None => {
                    let def = match holds {
                        true => self.replay(*id, &applied),
                        false => v.def.clone(),
                    };
                    let n = Arc::new(Version { applied, def });
                    versions.insert(vk, n.clone());
                    n
                }
            };
            copy.get_or_insert_with(|| chunk.as_ref().clone())[i].1 = new;
        }
        let out = copy.map_or_else(|| chunk.clone(), Arc::new);
        chunks.insert(key, out.clone());
        out
    }

    /// Node `i`, at position `pos` of the plan: its state before, from its parents', and
    /// after (returned), its operations recorded as events.
    fn replay_node(
        &mut self,
        migrations: &[Migration],
        g: &crate::graph::Graph,
        i: usize,
        pos: u32,
        empty: &Snap,
    ) -> Snap {
        let st = self;
        let node = &g.nodes[i];
        let mut snap = empty.clone();
        for &p in &node.parents {
            if g.nodes[p].removed {
                continue;
            }
            if let Some(ps) = &st.after[p] {
                snap = st.merge(&snap, ps);
            }
        }
        st.before[i] = Some(snap.clone());
        let Some(crate::graph::Origin::Project(mi)) = node.origin else {
            return snap;
        };
        let m = &migrations[mi];
        // Its events are recorded again, with the ranges of its text now.
        st.shifts.0.remove(&mi);
        // Apply each operation in turn, recording its effects as events.
        let mut changed: BTreeMap<u32, Version> = BTreeMap::new();
        for op in &m.operations {
            for (k, effect) in st.op_effects(&m.app, mi, op, &snap, &changed) {
                if matches!(effect, Effect::Unknown) {
                    st.uncertain.entry(k.clone()).or_insert(pos);
                }
                let id = st.intern(&k, pos + 1);
                let (mut applied, prev) = match changed.remove(&id) {
                    Some(v) => (v.applied, v.def),
                    None => match get(&snap, id) {
                        Some(v) => (v.applied.clone(), v.def.clone()),
                        None => (Applied::Prefix(0), None),
                    },
                };
                let def = apply(prev, &effect, (mi, op.range));
                let ev = st.events[id as usize].len() as u32;
                st.events[id as usize].push(Event {
                    effect,
                    migration: mi,
                    range: op.range,
                    pos,
                });
                applied.push(ev);
                changed.insert(id, Version { applied, def });
            }
        }
        if changed.is_empty() {
            return snap;
        }
        with_changes(&snap, changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn union_is_sorted_and_deduplicated() {
        assert_eq!(union(&[0, 2, 4], &[1, 2, 5]), vec![0, 1, 2, 4, 5]);
        assert_eq!(union(&[], &[3]), vec![3]);
    }

    #[test]
    fn a_chunk_covers_another_only_with_all_its_models_and_events() {
        let v = |applied: &[u32]| {
            Arc::new(Version {
                applied: Applied::from_list(applied.to_vec()),
                def: None,
            })
        };
        let old = vec![(1, v(&[0, 1])), (2, v(&[0]))];
        let new = vec![(1, v(&[0, 1, 4])), (2, v(&[0]))];
        assert_eq!(covering(&old, &new), Some(Side::B));
        assert_eq!(covering(&new, &old), Some(Side::A));
        // Equal contents: the first side.
        assert_eq!(covering(&old, &old.clone()), Some(Side::A));
        // Each side has events the other lacks.
        let other = vec![(1, v(&[0, 1, 5])), (2, v(&[0]))];
        assert_eq!(covering(&new, &other), None);
        // A model only one side has.
        let more = vec![(1, v(&[0, 1, 4])), (2, v(&[0])), (3, v(&[2]))];
        assert_eq!(covering(&new, &more), Some(Side::B));
        let fewer = vec![(1, v(&[0, 1, 4]))];
        assert_eq!(covering(&fewer, &old), None);
    }

    #[test]
    fn event_sets_agree_with_their_lists() {
        let sets: Vec<Vec<u32>> = vec![
            vec![],
            vec![0],
            vec![0, 1, 2],
            vec![1],
            vec![0, 2],
            vec![0, 1, 3],
            vec![2, 3],
            vec![0, 1, 2, 3, 4],
        ];
        for a in &sets {
            let sa = Applied::from_list(a.clone());
            assert_eq!(sa.to_list(), *a);
            let mut pushed = sa.clone();
            let next = a.last().map_or(0, |x| x + 1);
            pushed.push(next);
            let mut longer = a.clone();
            longer.push(next);
            assert_eq!(pushed, Applied::from_list(longer.clone()), "{a:?}");
            let mut skipped = sa.clone();
            skipped.push(next + 1);
            let mut gap = a.clone();
            gap.push(next + 1);
            assert_eq!(skipped, Applied::from_list(gap), "{a:?}");
            for b in &sets {
                let sb = Applied::from_list(b.clone());
                assert_eq!(sa.is_subset(&sb), is_subset(a, b), "{a:?} in {b:?}");
                assert_eq!(sa.union(&sb).to_list(), union(a, b), "{a:?} | {b:?}");
            }
        }
        assert_eq!(Applied::from_list(vec![0, 1, 2]), Applied::Prefix(3));
    }

    #[test]
    fn subsets_of_sorted_lists() {
        assert!(is_subset(&[], &[]));
        assert!(is_subset(&[], &[1]));
        assert!(is_subset(&[1, 4], &[0, 1, 2, 4]));
        assert!(is_subset(&[0, 1, 2, 4], &[0, 1, 2, 4]));
        assert!(!is_subset(&[1, 3], &[0, 1, 2, 4]));
        assert!(!is_subset(&[5], &[0, 1, 2, 4]));
        assert!(!is_subset(&[0, 1], &[1]));
        for (a, b) in [(vec![0, 2, 4], vec![1, 2, 5]), (vec![3], vec![0, 3, 7])] {
            let u = union(&a, &b);
            assert_eq!(is_subset(&a, &b), u == b);
            assert_eq!(is_subset(&b, &a), u == a);
        }
    }
}

#[cfg(test)]
mod replay_tests {
    impl super::FieldState {
        /// The in-place rewrite alone, as a re-check tries it after the state kept.
        fn in_place(&mut self, ms: &[Migration], g: &graph::Graph, node: usize) -> bool {
            match self.edited(ms, g, node) {
                Some(edited) => self.rewritten_in_place(ms, g, edited),
                None => false,
            }
        }
    }

    use crate::graph::{self, AppUniverse};
    use crate::migration::{extract, ArgValue, ExtractContext, Migration};
    use crate::state::{self, ModelState};
    use djcheck_diagnostics::FileId;

    fn source(deps: &[(&str, &str)], ops: &str) -> String {
        let deps: Vec<String> = deps
            .iter()
            .map(|(a, n)| format!("(\"{a}\", \"{n}\")"))
            .collect();
        format!(
            "from django.db import migrations, models\n\nclass Migration(migrations.Migration):\n    dependencies = [{}]\n    operations = [{ops}]\n",
            deps.join(", ")
        )
    }

    fn mig(app: &str, name: &str, deps: &[(&str, &str)], ops: &str) -> Migration {
        of_source(app, name, &source(deps, ops))
    }

    fn of_source(app: &str, name: &str, src: &str) -> Migration {
        let parsed = djcheck_python::parse_module(src);
        assert!(parsed.errors.is_empty(), "{src}");
        extract(
            FileId(0),
            app,
            name,
            parsed.body(),
            &ExtractContext {
                user_app_label: "auth",
            },
        )
    }

    fn build(mut ms: Vec<Migration>) -> (Vec<Migration>, graph::Graph, ModelState) {
        ms.sort_by(|a, b| (&a.app, &a.name).cmp(&(&b.app, &b.name)));
        let universe = AppUniverse {
            project: ms.iter().map(|m| m.app.clone()).collect(),
            complete: true,
            ..AppUniverse::default()
        };
        let g = graph::build(&ms, &universe, "auth");
        let st = state::build(&ms, &g);
        (ms, g, st)
    }

    fn node(g: &graph::Graph, app: &str, name: &str) -> usize {
        g.node(&(app.to_owned(), name.to_owned())).unwrap()
    }

    fn key(app: &str, model: &str) -> (String, String) {
        (app.to_owned(), model.to_owned())
    }

    /// Every range read from the state before each node and at the end, mapped as
    /// rules read them.
    fn ranges(st: &ModelState, g: &graph::Graph) -> Vec<String> {
        let mut out = Vec::new();
        let view = |d: &crate::state::ModelDef| {
            let mut v: Vec<String> = d
                .fields
                .iter()
                .map(|f| {
                    format!(
                        "{}@{} {:?}",
                        f.name,
                        f.set_by,
                        st.range_of(f.set_by, f.field.range)
                    )
                })
                .collect();
            v.push(format!(
                "options@{} {:?}",
                d.options_by,
                st.range_of(d.options_by, d.options_range)
            ));
            v
        };
        for n in 0..g.nodes.len() {
            for k in st.creations.keys() {
                if let Some(d) = st.model_before(n, k) {
                    out.push(format!(
                        "{n} {k:?} {:?} {:?}",
                        view(d),
                        d.fields.iter().map(|f| &f.field.class).collect::<Vec<_>>()
                    ));
                }
            }
        }
        for (k, d) in st.final_models() {
            out.push(format!("end {k:?} {:?}", view(d)));
        }
        out
    }

    #[test]
    fn an_edit_that_only_moves_ranges_keeps_the_state_and_maps_them() {
        let create = "migrations.CreateModel(name='Post', fields=[('id', models.AutoField(primary_key=True)), ('title', models.CharField(max_length=100))])";
        // Operations on lines of their own, as `makemigrations` writes them.
        let old_src = source(&[], &format!("\n        {create}\n    "));
        let (mut ms, g, st) = build(vec![
            of_source("blog", "0001_initial", &old_src),
            mig("blog", "0002_order", &[("blog", "0001_initial")], "migrations.AlterModelOptions(name='post', options={'ordering': ['id']}), migrations.AddField(model_name='post', name='body', field=models.TextField(default=''))"),
        ]);
        let i = ms.iter().position(|m| m.name == "0001_initial").unwrap();
        // The migration's text edited from `old` to `new`: whether the state was made
        // without a replay.
        let edit = |st: &mut ModelState, ms: &mut Vec<Migration>, old: &str, new: &str| {
            ms[i] = of_source("blog", "0001_initial", new);
            let g = &g;
            state::rebuild_in_place(st, ms, g, &[i], true, state::Shift::between(old, new))
        };
        // An operation that changes no model, above the others.
        let new_src = source(
            &[],
            &format!("\n        migrations.RunSQL('SELECT 1', migrations.RunSQL.noop),\n        {create}\n    "),
        );
        let mut kept = st;
        assert!(edit(&mut kept, &mut ms, &old_src, &new_src));
        assert!(kept.fields.has_shifted_ranges());
        let fresh = state::build(&ms, &g);
        assert!(!fresh.fields.has_shifted_ranges());
        assert_eq!(ranges(&kept, &g), ranges(&fresh, &g));
        // A field changed with it: written in place, the kept ranges gone.
        let changed_src = source(
            &[],
            &format!(
                "\n        migrations.RunSQL('SELECT 1', migrations.RunSQL.noop),\n        {}\n    ",
                create.replace("CharField", "TextField")
            ),
        );
        let mut rewritten = kept;
        assert!(edit(&mut rewritten, &mut ms, &new_src, &changed_src));
        assert!(!rewritten.fields.has_shifted_ranges());
        let fresh = state::build(&ms, &g);
        assert_eq!(format!("{rewritten:?}"), format!("{fresh:?}"));
        // An operation djcheck can't read added on the model: neither, replayed.
        let added_src = source(
            &[],
            &format!("\n        {create},\n        Custom(model_name='post')\n    "),
        );
        assert!(!edit(&mut rewritten, &mut ms, &changed_src, &added_src));
        let replayed = state::rebuild(rewritten, &ms, &g, &[i], true);
        let fresh = state::build(&ms, &g);
        assert_eq!(format!("{replayed:?}"), format!("{fresh:?}"));
    }

    #[test]
    fn an_edit_to_what_a_migration_does_to_the_same_models_is_written_in_place() {
        let create = |len: u32| {
            format!("migrations.CreateModel(name='Post', fields=[('id', models.AutoField(primary_key=True)), ('title', models.CharField(max_length={len}))], options={{'ordering': ['id']}})")
        };
        let later = vec![
            mig("blog", "0002_a", &[("blog", "0001_initial")], "migrations.AddField(model_name='post', name='a', field=models.IntegerField(default=0))"),
            mig("blog", "0002_b", &[("blog", "0001_initial")], "migrations.AlterField(model_name='post', name='title', field=models.CharField(max_length=20, null=True))"),
            mig("blog", "0003_merge", &[("blog", "0002_a"), ("blog", "0002_b")], "migrations.AlterModelOptions(name='post', options={})"),
            mig("shop", "0001_initial", &[("blog", "0002_a")], "migrations.CreateModel(name='Item', fields=[('post', models.ForeignKey('blog.post', on_delete=models.CASCADE))])"),
        ];
        let mut ms = vec![mig("blog", "0001_initial", &[], &create(100))];
        ms.extend(later.clone());
        let (mut ms, g, st) = build(ms);
        let i = ms
            .iter()
            .position(|m| m.key() == ("blog".into(), "0001_initial".into()))
            .unwrap();
        let n = node(&g, "blog", "0001_initial");
        // A field's argument changed, then the model's field list: the same models and
        // kinds of effect, written in place; what a whole build gives.
        let mut fields = st.fields.clone();
        for ops in [
            create(50),
            create(50).replace("('title'", "('id2', models.IntegerField()), ('title'"),
        ] {
            ms[i] = mig("blog", "0001_initial", &[], &ops);
            assert!(fields.in_place(&ms, &g, n), "{ops}");
            let fresh = state::build(&ms, &g);
            assert_eq!(format!("{fields:?}"), format!("{:?}", fresh.fields));
        }
        // Operations on the model added, then one removed: the later events numbered
        // again.
        for ops in [
            format!("{}, migrations.AddField(model_name='post', name='b', field=models.IntegerField(null=True)), migrations.AlterModelTable(name='post', table='posts')", create(50)),
            format!("{}, migrations.AlterModelTable(name='post', table='posts')", create(50)),
        ] {
            ms[i] = mig("blog", "0001_initial", &[], &ops);
            assert!(fields.in_place(&ms, &g, n), "{ops}");
            let fresh = state::build(&ms, &g);
            assert_eq!(format!("{fields:?}"), format!("{:?}", fresh.fields));
        }
        // An operation djcheck can't read on the model: replayed (what is uncertain
        // changes).
        ms[i] = mig(
            "blog",
            "0001_initial",
            &[],
            &format!("{}, Custom(model_name='post')", create(50)),
        );
        assert!(!fields.clone().in_place(&ms, &g, n));
        // A later RenameModel copies the model: replayed.
        let mut with_rename = vec![mig("blog", "0001_initial", &[], &create(100))];
        with_rename.extend(later);
        with_rename.push(mig(
            "blog",
            "0004_rename",
            &[("blog", "0003_merge")],
            "migrations.RenameModel(old_name='Post', new_name='Article')",
        ));
        let (mut with_rename, g2, st2) = build(with_rename);
        let i2 = with_rename
            .iter()
            .position(|m| m.name == "0001_initial" && m.app == "blog")
            .unwrap();
        with_rename[i2] = mig("blog", "0001_initial", &[], &create(60));
        let n2 = node(&g2, "blog", "0001_initial");
        assert!(!st2.fields.clone().in_place(&with_rename, &g2, n2));
    }

    #[test]
    fn a_field_before_each_migration_of_a_chain() {
        let (_, g, st) = build(vec![
            mig("blog", "0001_initial", &[], "migrations.CreateModel(name='Post', fields=[('id', models.AutoField(primary_key=True)), ('title', models.CharField(max_length=100))], options={'db_table': 'posts'})"),
            mig("blog", "0002_alter", &[("blog", "0001_initial")], "migrations.AlterField(model_name='post', name='title', field=models.CharField(max_length=50, null=True))"),
            mig("blog", "0003_rename", &[("blog", "0002_alter")], "migrations.RenameField(model_name='post', old_name='title', new_name='headline')"),
            mig("blog", "0004_remove", &[("blog", "0003_rename")], "migrations.RemoveField(model_name='post', name='headline')"),
        ]);
        let post = key("blog", "post");
        assert!(st
            .model_before(node(&g, "blog", "0001_initial"), &post)
            .is_none());
        let before2 = st
            .model_before(node(&g, "blog", "0002_alter"), &post)
            .unwrap();
        let title = before2.field("title").unwrap();
        assert_eq!(title.field.kw("max_length"), Some(&ArgValue::Int(100)));
        assert_eq!(title.field.nullable(), Some(false));
        assert_eq!(before2.db_table().as_deref(), Some("posts"));
        let before3 = st
            .model_before(node(&g, "blog", "0003_rename"), &post)
            .unwrap();
        assert_eq!(before3.field("title").unwrap().field.nullable(), Some(true));
        let before4 = st
            .model_before(node(&g, "blog", "0004_remove"), &post)
            .unwrap();
        assert!(before4.field("title").is_none());
        assert!(before4.field("headline").is_some());
        let end = st.final_models();
        assert_eq!(end[&post].fields.len(), 1);
        assert!(end[&post].known);
        assert!(st.certain_before(node(&g, "blog", "0004_remove")));
    }

    #[test]
    fn a_merge_migration_sees_both_branches() {
        let (_, g, st) = build(vec![
            mig("shop", "0001_initial", &[], "migrations.CreateModel(name='Item', fields=[('id', models.AutoField(primary_key=True))])"),
            mig("shop", "0002_a", &[("shop", "0001_initial")], "migrations.AddField(model_name='item', name='a', field=models.IntegerField(default=0))"),
            mig("shop", "0002_b", &[("shop", "0001_initial")], "migrations.AddField(model_name='item', name='b', field=models.IntegerField(null=True))"),
            mig("shop", "0003_merge", &[("shop", "0002_a"), ("shop", "0002_b")], ""),
            mig("other", "0001_initial", &[("shop", "0002_a")], "migrations.AlterField(model_name='item', name='id', field=models.BigAutoField(primary_key=True))"),
        ]);
        let item = key("shop", "item");
        let merged = st
            .model_before(node(&g, "shop", "0003_merge"), &item)
            .unwrap();
        let names: Vec<&str> = merged.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, vec!["id", "a", "b"]);
        // Another app's migration sees the model as its own dependencies leave it.
        let other = st
            .model_before(node(&g, "other", "0001_initial"), &item)
            .unwrap();
        assert!(other.field("b").is_none());
        assert!(other.field("a").is_some());
    }

    #[test]
    fn rename_model_keeps_the_table_origin_and_state_only_operations_count() {
        let (ms, g, st) = build(vec![
            mig("crm", "0001_initial", &[], "migrations.CreateModel(name='Client', fields=[('id', models.AutoField(primary_key=True)), ('legacy', models.TextField())])"),
            mig("crm", "0002_rename", &[("crm", "0001_initial")], "migrations.RenameModel(old_name='Client', new_name='Customer')"),
            mig("crm", "0003_state", &[("crm", "0002_rename")], "migrations.SeparateDatabaseAndState(state_operations=[migrations.RemoveField(model_name='customer', name='legacy')])"),
            mig("crm", "0004_x", &[("crm", "0003_state")], ""),
        ]);
        let n3 = node(&g, "crm", "0003_state");
        assert!(st.model_before(n3, &key("crm", "client")).is_none());
        let c = st.model_before(n3, &key("crm", "customer")).unwrap();
        assert_eq!(ms[c.created_by].name, "0001_initial");
        assert!(c.field("legacy").is_some());
        let c4 = st
            .model_before(node(&g, "crm", "0004_x"), &key("crm", "customer"))
            .unwrap();
        assert!(c4.field("legacy").is_none());
    }

    #[test]
    fn a_cursor_walks_one_migration() {
        let (ms, g, st) = build(vec![mig(
            "blog",
            "0001_initial",
            &[],
            "migrations.CreateModel(name='Tag', fields=[('id', models.AutoField(primary_key=True))]), migrations.AddField(model_name='tag', name='slug', field=models.SlugField(unique=True))",
        )]);
        let n = node(&g, "blog", "0001_initial");
        let m = &ms[0];
        let mut c = st.cursor(n);
        assert!(c.model(&key("blog", "tag")).is_none());
        c.apply("blog", 0, &m.operations[0]);
        assert!(c
            .model(&key("blog", "tag"))
            .unwrap()
            .field("slug")
            .is_none());
        c.apply("blog", 0, &m.operations[1]);
        let slug = c.model(&key("blog", "tag")).unwrap().field("slug").unwrap();
        assert_eq!(slug.field.flag("unique", false), Some(true));
    }
}
