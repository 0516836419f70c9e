//! Expanding the evaluated URL modules into the tree: the root URLconf's `urlpatterns`,
//! then each `include()` down from it, each pattern at its place.

use super::{
    Include, IncludeCycle, IncludeTarget, LoopItem, NodeKind, Root, Route, RouteKind, UrlNode,
    UrlTree, KNOWN_EXTERNAL, KNOWN_NAMESPACED,
};
use djcheck_diagnostics::Span;
use djcheck_pyeval::{
    self as pyeval, Cond, IncTarget, IncludeVal, ListId, ModResult, Name, PatternKind, Target, Val,
    ViewKind,
};
use std::rc::Rc;

/// Nodes of the expanded tree, at most (a module included many times, many levels deep).
const MAX_NODES: usize = 200_000;
/// Include nesting, at most.
const MAX_DEPTH: usize = 40;

/// Where a view of a node must be looked up after the tree is built.
pub(super) struct ViewRequest {
    pub node: super::NodeId,
    pub kind: ViewKind,
}

pub(super) struct Expander<'i, 'a> {
    pub it: &'i mut pyeval::Interp<'a>,
    pub views: Vec<ViewRequest>,
}

impl Expander<'_, '_> {
    /// Evaluates the root URLconf and expands its includes into `tree`.
    pub(super) fn expand_root(&mut self, root: &Root, tree: &mut UrlTree) {
        let res = match self.it.module(&root.module) {
            Ok(r) => r,
            Err(pyeval::Fail::NotFound) => {
                tree.mark_incomplete(
                    format!(
                        "root URLconf `{}` is not a module of the project",
                        root.module
                    ),
                    None,
                );
                return;
            }
            Err(_) => {
                tree.mark_incomplete(
                    format!("root URLconf `{}` could not be read", root.module),
                    None,
                );
                return;
            }
        };
        tree.root_readable = true;
        let mut stack = vec![root.module.clone()];
        let (top, complete) = match res.env.get("urlpatterns") {
            Some(Val::List(id)) => {
                let id = *id;
                let mut top = Vec::new();
                let complete =
                    self.expand_list(&res, id, None, &Cond::always(), &mut stack, tree, &mut top);
                (top, complete)
            }
            _ => {
                tree.mark_incomplete(
                    format!(
                        "`urlpatterns` of `{}` cannot be read statically",
                        root.module
                    ),
                    urlpatterns_span(&res),
                );
                (Vec::new(), false)
            }
        };
        tree.top = top;
        tree.top_complete = complete;
        if !complete && tree.incomplete.is_empty() {
            tree.mark_incomplete(
                "some URL patterns cannot be read statically".to_owned(),
                urlpatterns_span(&res),
            );
        }
    }

    /// Adds the nodes of list `id` (of `res`'s heap) under `parent`. Returns whether the
    /// level is completely known.
    #[allow(clippy::too_many_arguments)]
    fn expand_list(
        &mut self,
        res: &Rc<ModResult>,
        id: ListId,
        parent: Option<super::NodeId>,
        cond: &Cond,
        stack: &mut Vec<String>,
        tree: &mut UrlTree,
        out: &mut Vec<super::NodeId>,
    ) -> bool {
        let Some(list) = res.list(id) else {
            return false;
        };
        let items = list.items.clone();
        let mut complete = true;
        for item in items {
            if tree.nodes.len() >= MAX_NODES || stack.len() > MAX_DEPTH {
                let why = if stack.len() > MAX_DEPTH {
                    format!(
                        "include() chains nested deeper than {MAX_DEPTH} levels are not followed"
                    )
                } else {
                    format!("the URL tree has more than {MAX_NODES} patterns")
                };
                tree.mark_incomplete(why, None);
                return false;
            }
            let c = cond.and(&item.cond);
            if c.is_impossible() {
                continue;
            }
            let via = item.via.as_ref().map(|v| LoopItem {
                loop_span: v.loop_span,
                item: v.item.clone(),
            });
            let Val::Entry(e) = &item.val else {
                complete = false;
                let nid = tree.nodes.len();
                tree.nodes.push(UrlNode {
                    parent,
                    call: None,
                    route: None,
                    cond: c,
                    via,
                    kind: NodeKind::Opaque,
                });
                out.push(nid);
                continue;
            };
            let route = Route {
                kind: match e.kind {
                    PatternKind::Path => RouteKind::Path,
                    PatternKind::Regex => RouteKind::Regex,
                    PatternKind::Locale => RouteKind::Locale,
                },
                text: e.route.clone(),
                span: e.route_span,
                translated: e.translated,
            };
            let nid = tree.nodes.len();
            match &e.target {
                Target::Unknown => {
                    complete = false;
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c,
                        via,
                        kind: NodeKind::Opaque,
                    });
                }
                Target::View(v) => {
                    let (certain, request) = match &v.kind {
                        ViewKind::Callable => (true, None),
                        ViewKind::Other => (false, None),
                        ViewKind::Symbol(m, n) => {
                            (false, Some(ViewKind::Symbol(m.clone(), n.clone())))
                        }
                        ViewKind::Qual(q) => (false, Some(ViewKind::Qual(q.clone()))),
                    };
                    if let Some(kind) = request {
                        self.views.push(ViewRequest { node: nid, kind });
                    }
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c,
                        via,
                        kind: NodeKind::Endpoint(super::Endpoint {
                            name: e.name.clone(),
                            view: v.span,
                            certain,
                            class_without_as_view: None,
                            has_kwargs: e.has_kwargs,
                        }),
                    });
                }
                Target::Admin(site) => {
                    let ns = match site {
                        Some(s) => Name::Known(s.clone(), None),
                        None => Name::Unknown,
                    };
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c,
                        via,
                        kind: NodeKind::Include(Include {
                            include_call: None,
                            target: IncludeTarget::External {
                                module: Some("django.contrib.admin".to_owned()),
                            },
                            namespace_arg: None,
                            app_name: Name::Known("admin".to_owned(), None),
                            namespace: ns,
                            children: Vec::new(),
                            complete: false,
                            external_names: Vec::new(),
                        }),
                    });
                }
                Target::Include(inc) => {
                    tree.nodes.push(UrlNode {
                        parent,
                        call: Some(e.call),
                        route: Some(route),
                        cond: c.clone(),
                        via,
                        kind: NodeKind::Opaque,
                    });
                    let include = self.expand_include(res, inc, nid, &c, stack, tree);
                    tree.nodes[nid].kind = NodeKind::Include(include);
                }
            }
            out.push(nid);
        }
        complete
    }

    fn expand_include(
        &mut self,
        res: &Rc<ModResult>,
        inc: &IncludeVal,
        nid: super::NodeId,
        cond: &Cond,
        stack: &mut Vec<String>,
        tree: &mut UrlTree,
    ) -> Include {
        let mut children = Vec::new();
        let mut complete = false;
        let mut external_names = Vec::new();
        let mut app_name = inc.tuple_app_name.clone().unwrap_or(Name::Absent);
        let target = match &inc.target {
            IncTarget::Inline(id) => {
                complete = self.expand_list(res, *id, Some(nid), cond, stack, tree, &mut children);
                IncludeTarget::Inline
            }
            IncTarget::Missing(m) => IncludeTarget::Missing {
                module: m.clone(),
                suggestion: super::suggest_module(&*self.it.source(), m),
            },
            IncTarget::External(m) => {
                match m
                    .as_deref()
                    .and_then(|m| KNOWN_EXTERNAL.iter().find(|(k, _)| *k == m))
                {
                    Some((_, names)) => {
                        external_names = names.to_vec();
                        complete = true;
                        if inc.tuple_app_name.is_none() {
                            app_name = Name::Absent;
                        }
                    }
                    None => {
                        let namespaced = m
                            .as_deref()
                            .and_then(|m| KNOWN_NAMESPACED.iter().find(|(k, _)| *k == m));
                        app_name = match namespaced {
                            Some((_, app)) => Name::Known((*app).to_owned(), None),
                            None if inc.tuple_app_name.is_none() => Name::Unknown,
                            None => app_name,
                        };
                    }
                }
                IncludeTarget::External { module: m.clone() }
            }
            IncTarget::Module(m) => {
                if stack.iter().any(|s| s == m) {
                    let start = stack.iter().position(|s| s == m).unwrap_or(0);
                    let mut chain: Vec<String> = stack[start..].to_vec();
                    chain.push(m.clone());
                    if !tree.cycles.iter().any(|c| c.site == inc.call) {
                        tree.cycles.push(IncludeCycle {
                            chain,
                            site: inc.call,
                        });
                    }
                    // The module's app_name is still read by Django before the cycle bites.
                    if let Ok(r) = self.it.module(m) {
                        app_name = module_app_name(&r, app_name);
                    } else {
                        app_name = Name::Unknown;
                    }
                    tree.mark_incomplete(format!("include cycle through `{m}`"), Some(inc.call));
                    IncludeTarget::Cycle { module: m.clone() }
                } else {
                    match self.it.module(m) {
                        Ok(r) => {
                            app_name = module_app_name(&r, app_name);
                            match r.env.get("urlpatterns") {
                                Some(Val::List(id)) => {
                                    let id = *id;
                                    stack.push(m.clone());
                                    complete = self.expand_list(
                                        &r,
                                        id,
                                        Some(nid),
                                        cond,
                                        stack,
                                        tree,
                                        &mut children,
                                    );
                                    stack.pop();
                                }
                                _ => {
                                    tree.mark_incomplete(
                                        format!("`urlpatterns` of `{m}` cannot be read statically"),
                                        urlpatterns_span(&r),
                                    );
                                }
                            }
                            IncludeTarget::Module {
                                module: m.clone(),
                                file: r.file,
                            }
                        }
                        Err(_) => {
                            app_name = Name::Unknown;
                            let src = self.it.source();
                            match src.resolve(m).map(|rel| src.register(&rel)) {
                                Some(file) => IncludeTarget::Module {
                                    module: m.clone(),
                                    file,
                                },
                                None => IncludeTarget::External {
                                    module: Some(m.clone()),
                                },
                            }
                        }
                    }
                }
            }
        };
        if inc.locale {
            app_name = Name::Absent;
        }
        let namespace = match &inc.namespace {
            Some((Name::Known(ns, s), _)) if !ns.is_empty() => Name::Known(ns.clone(), *s),
            Some((Name::Unknown, _)) => Name::Unknown,
            _ => app_name.clone(),
        };
        if !complete {
            if let IncludeTarget::External { module } = &target {
                let why = match module {
                    Some(m) => format!("`{m}` is outside the project"),
                    None => "an include of a value that cannot be read statically".to_owned(),
                };
                tree.mark_incomplete(why, Some(inc.call));
            }
        }
        Include {
            include_call: Some(inc.call),
            target,
            namespace_arg: inc.namespace.clone(),
            app_name,
            namespace,
            children,
            complete,
            external_names,
        }
    }
}

/// The app name a module gives an include (its `app_name` attribute wins over the
/// tuple's).
fn module_app_name(res: &ModResult, tuple: Name) -> Name {
    match res.env.get("app_name") {
        Some(Val::Str(s)) => Name::Known(s.clone(), res.origins.get("app_name").map(|o| o.span)),
        Some(Val::None) => tuple,
        Some(_) => Name::Unknown,
        None if res.star_unknown.is_some() => Name::Unknown,
        None => tuple,
    }
}

/// The statement that last bound `urlpatterns` in a module, or the module's first line
/// when it binds none (the user is pointed at the file either way).
fn urlpatterns_span(res: &ModResult) -> Option<Span> {
    Some(match res.origins.get("urlpatterns") {
        Some(o) => o.span,
        None => Span {
            file: res.file,
            range: djcheck_python::TextRange::default(),
        },
    })
}
