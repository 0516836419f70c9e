//! The Django functions URL modules call: `path()`, `re_path()`, `url()`, `include()`,
//! `i18n_patterns()`, `static()`, `admin.site.urls`, `apps.get_app_configs()`, the
//! translation functions.

use crate::interp::Interp;
use crate::value::{
    Entry, IncTarget, IncludeVal, Name, PatternKind, Target, Val, ViewKind, ViewVal,
};
use djcheck_python::ast::{self, Expr};
use djcheck_python::{eval, Ranged};
use std::rc::Rc;

impl Interp<'_> {
    /// A Django function by its qualified name, or `None` when `q` is not one.
    pub(crate) fn django_call(&mut self, q: &str, call: &ast::ExprCall) -> Option<Val> {
        Some(match q {
            "django.urls.path" | "django.urls.conf.path" => {
                self.make_entry(PatternKind::Path, call)
            }
            "django.urls.re_path"
            | "django.urls.conf.re_path"
            | "django.conf.urls.url"
            | "django.conf.urls.re_path" => self.make_entry(PatternKind::Regex, call),
            "django.urls.include" | "django.urls.conf.include" | "django.conf.urls.include" => {
                self.make_include(call)
            }
            "django.conf.urls.i18n.i18n_patterns" => self.i18n(call),
            "django.conf.urls.static.static"
            | "django.contrib.staticfiles.urls.staticfiles_urlpatterns" => {
                // Unnamed, un-namespaced patterns (and none unless DEBUG): nothing the
                // rules need.
                self.eval_args(call);
                self.new_list(Vec::new(), false)
            }
            "django.utils.module_loading.module_has_submodule" => {
                let (args, _) = self.eval_args(call);
                match (args.first(), args.get(1).and_then(Val::as_str)) {
                    (Some(Val::Module(m)), Some(sub)) => {
                        let full = format!("{m}.{sub}");
                        Val::Bool(self.resolves(&full))
                    }
                    _ => Val::Unknown,
                }
            }
            "django.apps.apps.get_app_configs" => self.app_configs(),
            "django.apps.apps.is_installed" => {
                let (args, _) = self.eval_args(call);
                let Some(name) = args.first().and_then(Val::as_str) else {
                    return Some(Val::Unknown);
                };
                let found = self
                    .mem
                    .app_configs
                    .as_ref()
                    .is_some_and(|(apps, _)| apps.iter().any(|a| a.name == name));
                // Absent from these settings may still mean installed where the
                // project runs.
                if found {
                    Val::Bool(true)
                } else {
                    Val::Unknown
                }
            }
            "django.utils.translation.gettext_lazy"
            | "django.utils.translation.gettext"
            | "django.utils.translation.ugettext_lazy"
            | "django.utils.translation.ugettext"
            | "django.utils.translation.pgettext_lazy" => {
                let (args, _) = self.eval_args(call);
                let msg = if q.ends_with("pgettext_lazy") {
                    args.get(1)
                } else {
                    args.first()
                };
                match msg {
                    Some(Val::Str(s)) => Val::Translated(s.clone()),
                    _ => Val::Unknown,
                }
            }
            "django.contrib.admin.autodiscover" => Val::None,
            _ => return None,
        })
    }

    fn app_configs(&mut self) -> Val {
        let Some((apps, complete)) = self.mem.app_configs.clone() else {
            return Val::Unknown;
        };
        let mut vals: Vec<Val> = apps.into_iter().map(Val::AppConfig).collect();
        if !complete {
            vals.push(Val::Unknown);
        }
        self.new_list(vals, false)
    }

    fn make_entry(&mut self, kind: PatternKind, call: &ast::ExprCall) -> Val {
        if eval::has_splat(call) {
            self.eval_args(call);
            return Val::Unknown;
        }
        let call_span = self.span(call.range());
        let (Some(route_expr), Some(view_expr)) = (
            eval::argument(call, 0, "route"),
            eval::argument(call, 1, "view"),
        ) else {
            return Val::Unknown;
        };
        let rv = self.eval(route_expr);
        let (route, translated) = match self.force(rv) {
            Val::Str(s) => (Some(s), false),
            Val::Translated(s) => (Some(s), true),
            _ => (None, false),
        };
        let view_val = self.eval(view_expr);
        let target = self.classify_view(view_expr, view_val);
        let has_kwargs =
            eval::argument(call, 2, "kwargs").is_some_and(|k| !matches!(k, Expr::NoneLiteral(_)));
        if let Some(k) = eval::argument(call, 2, "kwargs") {
            self.eval(k);
        }
        let name = match eval::argument(call, 3, "name") {
            None | Some(Expr::NoneLiteral(_)) => Name::Absent,
            Some(n) => {
                let v = self.eval(n);
                let span = self.span(n.range());
                match self.force(v) {
                    Val::Str(s) => Name::Known(s, Some(span)),
                    Val::None => Name::Absent,
                    _ => Name::Unknown,
                }
            }
        };
        Val::Entry(Rc::new(Entry {
            call: call_span,
            kind,
            route,
            route_span: Some(self.span(route_expr.range())),
            translated,
            target,
            name,
            has_kwargs,
        }))
    }

    fn classify_view(&mut self, expr: &Expr, v: Val) -> Target {
        let span = self.span(expr.range());
        let view = |kind| Target::View(ViewVal { span, kind });
        match v {
            Val::Include(i) => Target::Include(i),
            Val::Admin(site) => Target::Admin(site),
            Val::Callable { certain: true } | Val::Func(_) => view(ViewKind::Callable),
            Val::Callable { certain: false } => view(ViewKind::Other),
            Val::Class(c) => view(ViewKind::Symbol(c.module.clone(), c.name.clone())),
            Val::Symbol(m, n) => {
                if n.contains('.') {
                    if n.ends_with(".urls") {
                        Target::Unknown
                    } else {
                        view(ViewKind::Other)
                    }
                } else {
                    view(ViewKind::Symbol(m, n))
                }
            }
            Val::Qual(q) => {
                if q.ends_with(".urls") {
                    Target::Unknown
                } else {
                    view(ViewKind::Qual(q))
                }
            }
            Val::List(id) => {
                // `(patterns, app_name, namespace)`, as `admin.site.urls` returns.
                let items = self.list_items(id);
                let tuple = self.is_tuple(id);
                if tuple && items.len() == 3 && items.iter().all(|i| self.definite(&i.cond)) {
                    let target = match self.force(items[0].val.clone()) {
                        Val::List(l) => IncTarget::Inline(l),
                        Val::Module(m) => IncTarget::Module(m),
                        _ => IncTarget::External(None),
                    };
                    let app = name_of(&items[1].val);
                    let ns = name_of(&items[2].val);
                    Target::Include(Rc::new(IncludeVal {
                        call: span,
                        target,
                        tuple_app_name: Some(app),
                        namespace: Some((ns, span)),
                        locale: false,
                    }))
                } else {
                    Target::Unknown
                }
            }
            Val::Unknown => match expr {
                Expr::Call(_) => view(ViewKind::Other),
                Expr::Attribute(a) if a.attr.id.as_str() != "urls" => view(ViewKind::Other),
                _ => Target::Unknown,
            },
            _ => Target::Unknown,
        }
    }

    fn make_include(&mut self, call: &ast::ExprCall) -> Val {
        let call_span = self.span(call.range());
        if eval::has_splat(call) {
            self.eval_args(call);
            return Val::Include(Rc::new(IncludeVal {
                call: call_span,
                target: IncTarget::External(None),
                tuple_app_name: Some(Name::Unknown),
                namespace: Some((Name::Unknown, call_span)),
                locale: false,
            }));
        }
        let Some(arg_expr) = eval::argument(call, 0, "arg") else {
            return Val::Unknown;
        };
        let namespace = match eval::argument(call, 1, "namespace") {
            None | Some(Expr::NoneLiteral(_)) => None,
            Some(e) => {
                let v = self.eval(e);
                let span = self.span(e.range());
                match self.force(v) {
                    Val::Str(s) => Some((Name::Known(s, Some(span)), span)),
                    Val::None => None,
                    _ => Some((Name::Unknown, span)),
                }
            }
        };
        let arg = self.eval(arg_expr);
        let arg = self.force(arg);
        let (target, tuple_app_name) = match arg {
            Val::Str(s) => (self.module_target(&s), None),
            Val::Module(m) => (IncTarget::Module(m), None),
            Val::Qual(q) => (IncTarget::External(Some(q)), None),
            Val::List(id) => {
                if self.is_tuple(id) {
                    let items = self.list_items(id);
                    if items.len() == 2 && items.iter().all(|i| self.definite(&i.cond)) {
                        let first = self.force(items[0].val.clone());
                        let target = match first {
                            Val::Str(s) => self.module_target(&s),
                            Val::Module(m) => IncTarget::Module(m),
                            Val::List(l) => IncTarget::Inline(l),
                            Val::Qual(q) => IncTarget::External(Some(q)),
                            _ => IncTarget::External(None),
                        };
                        let app = self.force(items[1].val.clone());
                        (target, Some(name_of(&app)))
                    } else {
                        (IncTarget::External(None), Some(Name::Unknown))
                    }
                } else {
                    (IncTarget::Inline(id), None)
                }
            }
            _ => (IncTarget::External(None), None),
        };
        Val::Include(Rc::new(IncludeVal {
            call: call_span,
            target,
            tuple_app_name,
            namespace,
            locale: false,
        }))
    }

    fn module_target(&self, dotted: &str) -> IncTarget {
        if self.resolves(dotted) {
            IncTarget::Module(dotted.to_owned())
        } else if self.src.is_missing_project_module(dotted) {
            IncTarget::Missing(dotted.to_owned())
        } else {
            IncTarget::External(Some(dotted.to_owned()))
        }
    }

    fn i18n(&mut self, call: &ast::ExprCall) -> Val {
        let call_span = self.span(call.range());
        let mut items = Vec::new();
        for a in &call.arguments.args {
            if let Expr::Starred(s) = a {
                let v = self.eval(&s.value);
                match self.force(v) {
                    Val::List(id) => items.extend(self.list_items(id)),
                    _ => items.push(self.item(Val::Unknown)),
                }
                continue;
            }
            let v = self.eval(a);
            items.push(self.item(v));
        }
        for k in &call.arguments.keywords {
            self.eval(&k.value);
        }
        let inner = self.alloc(items, false);
        let entry = Entry {
            call: call_span,
            kind: PatternKind::Locale,
            route: None,
            route_span: None,
            translated: false,
            target: Target::Include(Rc::new(IncludeVal {
                call: call_span,
                target: IncTarget::Inline(inner),
                tuple_app_name: None,
                namespace: None,
                locale: true,
            })),
            name: Name::Absent,
            has_kwargs: false,
        };
        self.new_list(vec![Val::Entry(Rc::new(entry))], false)
    }
}

fn name_of(v: &Val) -> Name {
    match v {
        Val::Str(s) => Name::Known(s.clone(), None),
        Val::None => Name::Absent,
        _ => Name::Unknown,
    }
}
