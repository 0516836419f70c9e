//! Which views passed to `path()` are class-based views missing `.as_view()` (Django's
//! urls.E009), and which are certainly views at all.
//!
//! Views are usually names imported from a views module. Those modules are read only for
//! their top-level definitions (functions, classes and their bases, imports), in parallel,
//! and a class is a view class when one of its bases is Django's `View` (or one of
//! Django's or Django REST framework's view classes), directly or through classes of the
//! project.

use super::expand::ViewRequest;
use super::{NodeKind, UrlTree};
use crate::load::Loader;
use crate::modules::Modules;
use djcheck_pyeval::ViewKind;
use djcheck_python::ast::{Expr, Stmt};
use djcheck_python::eval;
use rayon::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

/// Rounds of reading modules named by base classes, at most.
const MAX_ROUNDS: usize = 5;

/// What a module defines at its top level.
#[derive(Debug, Default)]
struct Summary {
    functions: BTreeSet<String>,
    /// Classes and their bases, as written (`generic.ListView`).
    classes: BTreeMap<String, Vec<String>>,
    /// Local name to the qualified name it was imported as.
    imports: BTreeMap<String, String>,
    /// Modules star-imported, absolute.
    star: Vec<String>,
}

/// Fills `class_without_as_view` and `certain` of the endpoints named in `requests`.
pub(super) fn resolve(ld: &mut Loader<'_>, tree: &mut UrlTree, requests: Vec<ViewRequest>) {
    let mut sums: BTreeMap<String, Option<Summary>> = BTreeMap::new();
    let mut outcome: BTreeMap<usize, Verdict> = BTreeMap::new();
    for _ in 0..MAX_ROUNDS {
        let mut missing = BTreeSet::new();
        outcome.clear();
        for r in &requests {
            let mut cx = Cx {
                sums: &sums,
                missing: &mut missing,
                ld,
            };
            let v = match &r.kind {
                ViewKind::Symbol(m, n) => cx.name(m, n, 0),
                ViewKind::Qual(q) => cx.qual(q, 0),
                _ => Verdict::Unknown,
            };
            outcome.insert(r.node, v);
        }
        if missing.is_empty() {
            break;
        }
        let ldr: &Loader<'_> = ld;
        let read: Vec<(String, Option<Summary>)> = missing
            .into_par_iter()
            .map(|m| {
                let s = summarize(ldr, &m);
                (m, s)
            })
            .collect();
        sums.extend(read);
    }
    for r in &requests {
        let v = outcome.get(&r.node).copied().unwrap_or(Verdict::Unknown);
        let name = match &r.kind {
            ViewKind::Symbol(_, n) => n.clone(),
            ViewKind::Qual(q) => q.rsplit('.').next().unwrap_or(q).to_owned(),
            _ => continue,
        };
        if let NodeKind::Endpoint(e) = &mut tree.nodes[r.node].kind {
            match v {
                Verdict::ViewClass => {
                    e.certain = true;
                    e.class_without_as_view = Some(name);
                }
                Verdict::Callable => e.certain = true,
                Verdict::Unknown => {
                    // Names outside the project passed as views are views.
                    if matches!(r.kind, ViewKind::Qual(_)) {
                        e.certain = true;
                    }
                }
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// A subclass of Django's `View`.
    ViewClass,
    /// A function, or a class that is not a view class.
    Callable,
    Unknown,
}

struct Cx<'a, 'l, 'o> {
    sums: &'a BTreeMap<String, Option<Summary>>,
    missing: &'a mut BTreeSet<String>,
    ld: &'l Loader<'o>,
}

impl Cx<'_, '_, '_> {
    fn summary(&mut self, module: &str) -> Option<&Summary> {
        match self.sums.get(module) {
            Some(s) => s.as_ref(),
            None => {
                self.missing.insert(module.to_owned());
                None
            }
        }
    }

    /// What `name` is in project module `module`.
    fn name(&mut self, module: &str, name: &str, depth: usize) -> Verdict {
        if depth > 12 {
            return Verdict::Unknown;
        }
        let sums = self.sums;
        let Some(s) = sums.get(module) else {
            self.missing.insert(module.to_owned());
            return Verdict::Unknown;
        };
        let Some(s) = s.as_ref() else {
            return Verdict::Unknown;
        };
        if s.functions.contains(name) {
            return Verdict::Callable;
        }
        if let Some(bases) = s.classes.get(name) {
            for b in bases {
                if self.base(module, b, depth + 1) == Verdict::ViewClass {
                    return Verdict::ViewClass;
                }
            }
            return Verdict::Callable;
        }
        if let Some(q) = s.imports.get(name) {
            return self.qual(q, depth + 1);
        }
        for m in &s.star {
            let v = if self.resolves(m) {
                self.name(m, name, depth + 1)
            } else {
                self.qual(&format!("{m}.{name}"), depth + 1)
            };
            if v != Verdict::Unknown {
                return v;
            }
        }
        Verdict::Unknown
    }

    /// A base class as written in `module`.
    fn base(&mut self, module: &str, base: &str, depth: usize) -> Verdict {
        let (head, rest) = match base.split_once('.') {
            Some((h, r)) => (h, Some(r)),
            None => (base, None),
        };
        let imported = self
            .summary(module)
            .and_then(|s| s.imports.get(head).cloned());
        match (imported, rest) {
            (Some(q), Some(r)) => self.qual(&format!("{q}.{r}"), depth),
            (Some(q), None) => self.qual(&q, depth),
            (None, None) => self.name(module, head, depth),
            (None, Some(_)) => Verdict::Unknown,
        }
    }

    fn resolves(&self, dotted: &str) -> bool {
        self.ld.resolve_module(dotted).is_some()
    }

    /// A qualified name: one of Django's view classes, or a name of a project module.
    fn qual(&mut self, q: &str, depth: usize) -> Verdict {
        if is_known_view_class(q) {
            return Verdict::ViewClass;
        }
        if self.resolves(q) {
            // A module passed as a view.
            return Verdict::Unknown;
        }
        let Some((module, name)) = q.rsplit_once('.') else {
            return Verdict::Unknown;
        };
        if self.resolves(module) {
            return self.name(module, name, depth + 1);
        }
        // `pkg.mod.Class.attr`: a nested name.
        Verdict::Unknown
    }
}

/// Django's (and Django REST framework's) class-based views, by qualified name.
fn is_known_view_class(q: &str) -> bool {
    let Some((module, name)) = q.rsplit_once('.') else {
        return false;
    };
    let django_views = module == "django.views" || module.starts_with("django.views.");
    let contrib_views = module.starts_with("django.contrib.")
        && (module.ends_with(".views") || module.contains(".views."));
    ((django_views || contrib_views) && (name == "View" || name.ends_with("View")))
        || (module == "rest_framework.views" && name == "APIView")
        || (module == "rest_framework.generics" && name.ends_with("APIView"))
        || (module == "rest_framework.viewsets" && name.ends_with("ViewSet"))
}

fn summarize(ld: &Loader<'_>, module: &str) -> Option<Summary> {
    let rel = ld.resolve_module(module)?;
    let text = ld.read(&rel).ok()?;
    let parsed = crate::load::parse_checked(&text, &ld.opts.limits).ok()?;
    if !parsed.errors.is_empty() {
        return None;
    }
    let is_package = rel.ends_with("/__init__.py");
    let mut s = Summary::default();
    for stmt in parsed.body() {
        match stmt {
            Stmt::FunctionDef(f) => {
                s.functions.insert(f.name.id.as_str().to_owned());
            }
            Stmt::ClassDef(c) => {
                let bases = c
                    .arguments
                    .as_ref()
                    .map(|a| a.args.iter().filter_map(eval::dotted_name).collect())
                    .unwrap_or_default();
                s.classes.insert(c.name.id.as_str().to_owned(), bases);
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let dotted = a.name.id.as_str();
                    match &a.asname {
                        Some(n) => {
                            s.imports
                                .insert(n.id.as_str().to_owned(), dotted.to_owned());
                        }
                        None => {
                            let first = dotted.split('.').next().unwrap_or(dotted);
                            s.imports.insert(first.to_owned(), first.to_owned());
                        }
                    }
                }
            }
            Stmt::ImportFrom(i) => {
                let Some(base) = Modules::absolute(
                    module,
                    is_package,
                    i.level,
                    i.module.as_ref().map(|m| m.id.as_str()),
                ) else {
                    continue;
                };
                for a in &i.names {
                    let name = a.name.id.as_str();
                    if name == "*" {
                        s.star.push(base.clone());
                        continue;
                    }
                    let bound = a.asname.as_ref().map_or(name, |n| n.id.as_str());
                    s.imports.insert(bound.to_owned(), format!("{base}.{name}"));
                }
            }
            Stmt::Assign(a) => {
                // A name rebound at the top level is no longer what was defined or
                // imported under it.
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        let n = n.id.as_str();
                        s.functions.remove(n);
                        s.classes.remove(n);
                        s.imports.remove(n);
                    }
                }
            }
            _ => {}
        }
    }
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_view_classes() {
        assert!(is_known_view_class("django.views.generic.TemplateView"));
        assert!(is_known_view_class("django.views.View"));
        assert!(is_known_view_class("django.contrib.auth.views.LoginView"));
        assert!(is_known_view_class("rest_framework.views.APIView"));
        assert!(!is_known_view_class(
            "django.views.generic.GenericViewError"
        ));
        assert!(!is_known_view_class(
            "django.contrib.syndication.views.Feed"
        ));
        assert!(!is_known_view_class(
            "django.contrib.auth.mixins.LoginRequiredMixin"
        ));
    }
}
