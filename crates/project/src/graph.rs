//! The migration graph, built exactly as Django's `MigrationLoader.build_graph` builds it
//! (with no database: nothing is applied, so every squash replaces its members).
//!
//! Django steps mirrored here, in order: a node per migration; same-app dependencies;
//! other dependencies and `run_before` through `check_key` (`__first__`/`__latest__`
//! resolution, unmigrated and unknown apps); squashed migrations replacing their members
//! (`remove_replaced_nodes`); then consistency (dependencies on missing nodes) and cycles.

use crate::migration::{Key, Migration};
use std::collections::{BTreeMap, BTreeSet};

/// Where a node comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// A migration of the project: index into `Project::migrations`.
    Project(usize),
    /// A migration of a Django contrib app, from the shipped catalogue.
    Contrib,
    /// A migration of an installed third-party app (name known, contents not read).
    External,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub key: Key,
    /// `None` for a dummy node: something depends on a key that does not exist.
    pub origin: Option<Origin>,
    pub parents: BTreeSet<usize>,
    pub children: BTreeSet<usize>,
    pub removed: bool,
}

/// How a project migration refers to another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// `dependencies[i]`
    Dependency(usize),
    /// `run_before[i]`
    RunBefore(usize),
}

/// A reference that Django could not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    /// Index of the project migration holding the reference.
    pub migration: usize,
    pub kind: EdgeKind,
    pub target: Key,
    pub reason: UnresolvedReason,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnresolvedReason {
    /// Django: NodeNotFoundError (the app is known, the migration is not).
    MissingNode,
    /// Django: "Dependency on unknown app" (the app is known to be absent).
    UnknownApp,
    /// `__first__`/`__latest__` of an app whose migrations package is empty: `migrate`
    /// raises "Dependency on app with no migrations" (`makemigrations` ignores it).
    AppWithoutMigrations,
}

/// What the graph builder knows about apps besides the project's own.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct AppUniverse {
    /// Project apps with a migrations package (possibly empty).
    pub project: BTreeSet<String>,
    /// Installed apps without migrations (Django's `unmigrated_apps`).
    pub unmigrated: BTreeSet<String>,
    /// Apps known to be installed but whose migrations cannot be inspected: references to
    /// them are never reported.
    pub opaque: BTreeSet<String>,
    /// True when every installed app is known, so an app found nowhere is really absent.
    pub complete: bool,
    /// Third-party apps from the virtualenv: label to migration names.
    pub external: BTreeMap<String, Vec<String>>,
    /// Contrib apps to include (all when INSTALLED_APPS is not known).
    pub contrib: BTreeSet<String>,
}

#[derive(Debug, Default, Clone)]
pub struct Graph {
    pub nodes: Vec<Node>,
    /// Per app, its nodes by name, for the nodes of an app ([`Graph::app_nodes`]). Two
    /// levels: one map of pairs compared every key's app name along the way.
    index: BTreeMap<String, BTreeMap<String, usize>>,
    /// The same, hashed: most lookups are by exact key.
    lookup: rustc_hash::FxHashMap<Key, usize>,
    /// Per project migration (index into the migrations the graph was built from), the
    /// node of its key: [`Graph::node_of`].
    of_migration: Vec<Option<usize>>,
    /// Replaced key to the key of the migration that replaced it.
    pub replaced: BTreeMap<Key, Key>,
    pub unresolved: Vec<Unresolved>,
    /// Cycles, each as a list of node indices, first node repeated at no end.
    pub cycles: Vec<Vec<usize>>,
    /// Apps whose part of the graph is not fully known (unreadable migrations,
    /// dependencies not statically readable): leaf and cycle findings skip them.
    pub uncertain_apps: BTreeSet<String>,
}

impl Graph {
    pub fn node(&self, key: &Key) -> Option<usize> {
        self.lookup
            .get(key)
            .copied()
            .filter(|&i| !self.nodes[i].removed)
    }

    /// [`Graph::node`] of the key of project migration `i` (its index in the migrations
    /// the graph was built from, `Project::migrations`), without building the key.
    pub fn node_of(&self, i: usize) -> Option<usize> {
        self.of_migration
            .get(i)
            .copied()
            .flatten()
            .filter(|&n| !self.nodes[n].removed)
    }

    fn ensure(&mut self, key: &Key) -> usize {
        if let Some(&i) = self.lookup.get(key) {
            if self.nodes[i].removed {
                self.nodes[i].removed = false;
            }
            return i;
        }
        let i = self.nodes.len();
        self.nodes.push(Node {
            key: key.clone(),
            origin: None,
            parents: BTreeSet::new(),
            children: BTreeSet::new(),
            removed: false,
        });
        match self.index.get_mut(&key.0) {
            Some(names) => {
                names.insert(key.1.clone(), i);
            }
            None => {
                self.index
                    .insert(key.0.clone(), BTreeMap::from([(key.1.clone(), i)]));
            }
        }
        self.lookup.insert(key.clone(), i);
        i
    }

    fn add_node(&mut self, key: &Key, origin: Origin) {
        let i = self.ensure(key);
        self.nodes[i].origin = Some(origin);
    }

    /// Django's `add_dependency(child, parent, skip_validation=True)`: missing ends become
    /// dummy nodes.
    fn add_dependency(&mut self, child: &Key, parent: &Key) {
        let c = self.ensure(child);
        let p = self.ensure(parent);
        self.nodes[c].parents.insert(p);
        self.nodes[p].children.insert(c);
    }

    /// Live nodes of an app that are not dummies.
    pub fn app_nodes<'a>(&'a self, app: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.index
            .get(app)
            .into_iter()
            .flat_map(|names| names.values().copied())
            .filter(|&i| !self.nodes[i].removed && self.nodes[i].origin.is_some())
    }

    /// Whether any live, real node belongs to `app`.
    pub fn has_app(&self, app: &str) -> bool {
        self.app_nodes(app).next().is_some()
    }

    /// Django's `root_nodes(app)`: nodes with no parent in the same app.
    pub fn root_nodes(&self, app: &str) -> Vec<usize> {
        self.app_nodes(app)
            .filter(|&i| {
                self.nodes[i]
                    .parents
                    .iter()
                    .all(|&p| self.nodes[p].key.0 != app)
            })
            .collect()
    }

    /// Django's `leaf_nodes(app)`: nodes with no child in the same app.
    pub fn leaf_nodes(&self, app: &str) -> Vec<usize> {
        self.app_nodes(app)
            .filter(|&i| {
                self.nodes[i]
                    .children
                    .iter()
                    .all(|&c| self.nodes[c].key.0 != app)
            })
            .collect()
    }

    /// All ancestors of a node (not including itself).
    pub fn ancestors(&self, start: usize) -> BTreeSet<usize> {
        self.closure(start, |n| &n.parents)
    }

    /// All descendants of a node (not including itself).
    pub fn descendants(&self, start: usize) -> BTreeSet<usize> {
        self.closure(start, |n| &n.children)
    }

    fn closure(&self, start: usize, next: impl Fn(&Node) -> &BTreeSet<usize>) -> BTreeSet<usize> {
        // Marks in a vector, then one bulk build of the set from the sorted indices: a
        // closure may hold most of a large graph, and rules ask for many.
        let mut seen = vec![false; self.nodes.len()];
        let mut stack = vec![start];
        while let Some(i) = stack.pop() {
            for &j in next(&self.nodes[i]) {
                if !self.nodes[j].removed && !seen[j] {
                    seen[j] = true;
                    stack.push(j);
                }
            }
        }
        seen.iter()
            .enumerate()
            .filter_map(|(i, &s)| s.then_some(i))
            .collect()
    }

    /// Follows replacements: the key a reference to `key` ends up on.
    pub fn replacement_of<'a>(&'a self, mut key: &'a Key) -> &'a Key {
        for _ in 0..64 {
            match self.replaced.get(key) {
                Some(r) => key = r,
                None => break,
            }
        }
        key
    }
}

/// Builds the graph of `migrations` (sorted by key) within the app universe.
pub fn build(migrations: &[Migration], universe: &AppUniverse, user_app: &str) -> Graph {
    let mut g = Graph::default();
    let project_apps: BTreeSet<&str> = migrations.iter().map(|m| m.app.as_str()).collect();

    // 1. Nodes: project migrations, installed contrib apps, third-party apps.
    for (i, m) in migrations.iter().enumerate() {
        g.add_node(&m.key(), Origin::Project(i));
        if !m.readable || !m.dependencies_complete {
            g.uncertain_apps.insert(m.app.clone());
        }
    }
    for (app, name, _, _) in crate::contrib::CONTRIB_MIGRATIONS {
        if universe.contrib.contains(*app) && !project_apps.contains(app) {
            g.add_node(&((*app).to_owned(), (*name).to_owned()), Origin::Contrib);
        }
    }
    for (app, names) in &universe.external {
        if project_apps.contains(app.as_str()) || universe.contrib.contains(app) {
            continue;
        }
        for n in names {
            g.add_node(&(app.clone(), n.clone()), Origin::External);
        }
    }
    let mut migrated: BTreeSet<String> = g.nodes.iter().map(|n| n.key.0.clone()).collect();
    migrated.extend(universe.project.iter().cloned());

    // 2. Internal (same-app) dependencies; `__first__` on the own app is ignored.
    for m in migrations {
        let key = m.key();
        for d in &m.dependencies {
            if d.key.0 == key.0 && d.key.1 != "__first__" {
                g.add_dependency(&key, &d.key);
            }
        }
    }
    // Contrib migrations' own dependencies.
    for (app, name, _, deps) in crate::contrib::CONTRIB_MIGRATIONS {
        if !universe.contrib.contains(*app) || project_apps.contains(app) {
            continue;
        }
        let key = ((*app).to_owned(), (*name).to_owned());
        for (dapp, dname) in deps.iter() {
            let dkey = if *dapp == "__setting__" {
                (user_app.to_owned(), "__first__".to_owned())
            } else {
                ((*dapp).to_owned(), (*dname).to_owned())
            };
            if let Ok(Some(parent)) = check_key(&g, &dkey, app, universe, &migrated) {
                if g.node(&parent).is_some() {
                    g.add_dependency(&key, &parent);
                }
            }
        }
    }

    // 3. External dependencies and run_before, through check_key.
    for (mi, m) in migrations.iter().enumerate() {
        let key = m.key();
        for (di, d) in m.dependencies.iter().enumerate() {
            if d.key.0 == key.0 {
                continue;
            }
            match check_key(&g, &d.key, &key.0, universe, &migrated) {
                Ok(Some(parent)) => g.add_dependency(&key, &parent),
                Ok(None) => {}
                Err(reason) => g.unresolved.push(Unresolved {
                    migration: mi,
                    kind: EdgeKind::Dependency(di),
                    target: d.key.clone(),
                    reason,
                }),
            }
        }
        for (ri, r) in m.run_before.iter().enumerate() {
            match check_key(&g, &r.key, &key.0, universe, &migrated) {
                Ok(Some(child)) => g.add_dependency(&child, &key),
                Ok(None) => {}
                Err(reason) => g.unresolved.push(Unresolved {
                    migration: mi,
                    kind: EdgeKind::RunBefore(ri),
                    target: r.key.clone(),
                    reason,
                }),
            }
        }
    }

    // 4. Replacements: nothing is applied, so every squash replaces its members.
    for m in migrations.iter().filter(|m| !m.replaces.is_empty()) {
        let rkey = m.key();
        let Some(r) = g.node(&rkey) else { continue };
        let replaced: BTreeSet<&Key> = m.replaces.iter().map(|k| &k.key).collect();
        for old in &replaced {
            g.replaced.insert((*old).clone(), rkey.clone());
            let Some(&o) = g.lookup.get(*old) else {
                continue;
            };
            if g.nodes[o].removed {
                continue;
            }
            g.nodes[o].removed = true;
            let children: Vec<usize> = g.nodes[o].children.iter().copied().collect();
            for c in children {
                g.nodes[c].parents.remove(&o);
                if !replaced.contains(&g.nodes[c].key) {
                    g.nodes[r].children.insert(c);
                    g.nodes[c].parents.insert(r);
                }
            }
            let parents: Vec<usize> = g.nodes[o].parents.iter().copied().collect();
            for p in parents {
                g.nodes[p].children.remove(&o);
                if !replaced.contains(&g.nodes[p].key) {
                    g.nodes[r].parents.insert(p);
                    g.nodes[p].children.insert(r);
                }
            }
        }
    }

    // 5. Consistency: references that still end on a dummy node.
    for (mi, m) in migrations.iter().enumerate() {
        let refs = m
            .dependencies
            .iter()
            .enumerate()
            .filter(|(_, d)| d.key.0 == m.app && d.key.1 != "__first__")
            .map(|(i, d)| (EdgeKind::Dependency(i), d.key.clone()));
        let ext: Vec<(EdgeKind, Key)> = m
            .dependencies
            .iter()
            .enumerate()
            .filter(|(_, d)| d.key.0 != m.app)
            .filter_map(
                |(i, d)| match check_key(&g, &d.key, &m.app, universe, &migrated) {
                    Ok(Some(k)) => Some((EdgeKind::Dependency(i), k)),
                    _ => None,
                },
            )
            .chain(m.run_before.iter().enumerate().filter_map(|(i, r)| {
                match check_key(&g, &r.key, &m.app, universe, &migrated) {
                    Ok(Some(k)) => Some((EdgeKind::RunBefore(i), k)),
                    _ => None,
                }
            }))
            .collect();
        for (kind, target) in refs.chain(ext) {
            let end = g.replacement_of(&target).clone();
            let dummy = g.node(&end).is_none_or(|i| g.nodes[i].origin.is_none());
            if dummy && !universe.opaque.contains(&end.0) {
                g.unresolved.push(Unresolved {
                    migration: mi,
                    kind,
                    target,
                    reason: UnresolvedReason::MissingNode,
                });
            }
        }
    }
    g.unresolved
        .sort_by_key(|u| (u.migration, edge_order(u.kind)));
    g.unresolved.dedup();

    // 6. Cycles among real nodes.
    g.cycles = find_cycles(&g);
    g.of_migration = migrations
        .iter()
        .map(|m| g.lookup.get(&m.key()).copied())
        .collect();
    g
}

fn edge_order(k: EdgeKind) -> (u8, usize) {
    match k {
        EdgeKind::Dependency(i) => (0, i),
        EdgeKind::RunBefore(i) => (1, i),
    }
}

/// Django's `MigrationLoader.check_key`, with "unknown app" only when the app is known to
/// be absent. `Ok(None)` means Django ignores the reference.
fn check_key(
    g: &Graph,
    key: &Key,
    current_app: &str,
    universe: &AppUniverse,
    migrated: &BTreeSet<String>,
) -> Result<Option<Key>, UnresolvedReason> {
    let special = key.1 == "__first__" || key.1 == "__latest__";
    if !special || g.node(key).is_some() {
        if !special && !migrated.contains(&key.0) && !universe.unmigrated.contains(&key.0) {
            // A dependency on an app that has no nodes at all.
            if universe.opaque.contains(&key.0) || !universe.complete {
                return Ok(None);
            }
            return Err(UnresolvedReason::UnknownApp);
        }
        return Ok(Some(key.clone()));
    }
    if key.0 == current_app {
        return Ok(None);
    }
    if universe.unmigrated.contains(&key.0) || universe.opaque.contains(&key.0) {
        return Ok(None);
    }
    if migrated.contains(&key.0) {
        if universe.external.contains_key(&key.0) && !universe.contrib.contains(&key.0) {
            // Third-party nodes have no edges read, so their roots/leaves are unknown.
            return Ok(None);
        }
        let pick = if key.1 == "__first__" {
            g.root_nodes(&key.0)
        } else {
            g.leaf_nodes(&key.0)
        };
        // Django takes the first of the sorted roots/leaves; with none, it ignores the
        // reference (ignore_no_migrations).
        let mut keys: Vec<&Key> = pick.iter().map(|&i| &g.nodes[i].key).collect();
        keys.sort();
        if keys.is_empty()
            && universe.project.contains(&key.0)
            && g.app_nodes(&key.0).next().is_none()
        {
            return Err(UnresolvedReason::AppWithoutMigrations);
        }
        return Ok(keys.first().map(|k| (*k).clone()));
    }
    if universe.complete {
        Err(UnresolvedReason::UnknownApp)
    } else {
        Ok(None)
    }
}

/// Strongly connected components with more than one node (or a self-loop), each turned
/// into one concrete cycle path, deterministic.
fn find_cycles(g: &Graph) -> Vec<Vec<usize>> {
    let n = g.nodes.len();
    let alive = |i: usize| !g.nodes[i].removed && g.nodes[i].origin.is_some();
    // Iterative Tarjan over parent edges.
    let mut index = vec![usize::MAX; n];
    let mut low = vec![0usize; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut next = 0usize;
    let mut sccs: Vec<Vec<usize>> = Vec::new();
    let succ = |i: usize| -> Vec<usize> {
        g.nodes[i]
            .parents
            .iter()
            .copied()
            .filter(|&p| alive(p))
            .collect()
    };
    for root in 0..n {
        if !alive(root) || index[root] != usize::MAX {
            continue;
        }
        let mut work: Vec<(usize, Vec<usize>, usize)> = vec![(root, succ(root), 0)];
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some((v, succs, pos)) = work.last_mut() {
            let v = *v;
            if *pos < succs.len() {
                let w = succs[*pos];
                *pos += 1;
                if index[w] == usize::MAX {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    let s = succ(w);
                    work.push((w, s, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
            } else {
                work.pop();
                if let Some((u, _, _)) = work.last() {
                    let u = *u;
                    low[u] = low[u].min(low[v]);
                }
                if low[v] == index[v] {
                    let mut comp = Vec::new();
                    while let Some(w) = stack.pop() {
                        on_stack[w] = false;
                        comp.push(w);
                        if w == v {
                            break;
                        }
                    }
                    let self_loop = g.nodes[v].parents.contains(&v);
                    if comp.len() > 1 || self_loop {
                        sccs.push(comp);
                    }
                }
            }
        }
    }
    let mut cycles: Vec<Vec<usize>> = sccs.into_iter().map(|comp| cycle_in(g, &comp)).collect();
    cycles.sort_by(|a, b| {
        let ka: Vec<&Key> = a.iter().map(|&i| &g.nodes[i].key).collect();
        let kb: Vec<&Key> = b.iter().map(|&i| &g.nodes[i].key).collect();
        ka.cmp(&kb)
    });
    cycles
}

/// One cycle through the smallest node of a strongly connected component, following
/// "depends on" edges: `a -> b` means `a` depends on `b`.
fn cycle_in(g: &Graph, comp: &[usize]) -> Vec<usize> {
    let members: BTreeSet<usize> = comp.iter().copied().collect();
    let Some(&start) = comp
        .iter()
        .min_by(|a, b| g.nodes[**a].key.cmp(&g.nodes[**b].key))
    else {
        return Vec::new();
    };
    // BFS from start back to start inside the component, smallest keys first.
    let mut prev: BTreeMap<usize, usize> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    let mut seen = BTreeSet::from([start]);
    while let Some(v) = queue.pop_front() {
        let mut next: Vec<usize> = g.nodes[v]
            .parents
            .iter()
            .copied()
            .filter(|p| members.contains(p))
            .collect();
        next.sort_by(|a, b| g.nodes[*a].key.cmp(&g.nodes[*b].key));
        for w in next {
            if w == start {
                let mut path = vec![v];
                let mut cur = v;
                while let Some(&p) = prev.get(&cur) {
                    path.push(p);
                    cur = p;
                }
                path.reverse();
                return path;
            }
            if seen.insert(w) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    vec![start]
}
