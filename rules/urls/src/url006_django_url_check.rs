use crate::util::key;
use djcheck_linter::{declare_rule, Diagnostic, Project, Rule, RuleMeta, Severity, Span};
use djcheck_project::urls::route::{self, route_checks, RouteCheck};
use djcheck_project::urls::{Name, NodeKind, RouteKind};
use std::collections::BTreeSet;

declare_rule! {
    /// ## What it finds
    /// The parts of Django's URL system checks that can be decided from the source, with
    /// Django's check id in the message:
    /// - `urls.W001`: a `re_path()` include whose regex ends with `$`;
    /// - `urls.W002`: a route beginning with `/` (unless APPEND_SLASH is false);
    /// - `urls.W003`: a URL name containing `:`;
    /// - `urls.E009`: a class-based view passed without `.as_view()` (reported as an
    ///   error, as Django does);
    /// - `urls.W010`: an unmatched `<` or `>` in a `path()` route;
    /// - `2_0.W001`: a `path()` route that contains `(?P<`, begins with `^` or ends with
    ///   `$`, a regex left over from `url()`.
    ///
    /// Django stops checking an include's own route when a pattern inside it has a
    /// problem; djcheck reports both. Checks the project lists in
    /// `SILENCED_SYSTEM_CHECKS` are left out, as `manage.py check` leaves them out (all of
    /// them when that setting cannot be read completely).
    ///
    /// ## Why it matters
    /// Each of these is a URL that does not work as written: `path("^about/$", ...)`
    /// matches the literal text `^about/$`, `path("/about/", ...)` never matches (request
    /// paths are matched without their leading slash), a name with `:` cannot be
    /// reversed, and a view class without `.as_view()` fails on every request. Django
    /// only reports them when `manage.py check` runs with the whole project importable.
    ///
    /// ## Example
    /// ```python
    /// urlpatterns = [
    ///     path("^about/$", views.about),  # 2_0.W001
    ///     path("contact/", ContactView),  # urls.E009
    /// ]
    /// ```
    ///
    /// ## How to fix
    /// Write `path()` routes without regex syntax (or use `re_path()`), drop the leading
    /// `/`, remove `:` from names and `$` from include regexes, and pass
    /// `ContactView.as_view()`.
    pub struct DjangoUrlCheck { code: "URL006", name: "django-url-check", severity: Warning }
}

impl Rule for DjangoUrlCheck {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    /// The URL tree and settings only.
    fn reads_migrations(&self) -> bool {
        false
    }

    fn check_project(&self, project: &Project, out: &mut Vec<Diagnostic>) {
        let tree = &project.urls;
        let append_slash = tree.append_slash;
        // Django's `check` leaves out what SILENCED_SYSTEM_CHECKS lists; a value that
        // cannot be read completely may list anything.
        let silenced = |id: &str| match project.settings.get("SILENCED_SYSTEM_CHECKS") {
            None => false,
            Some(_) => match project.settings.str_list("SILENCED_SYSTEM_CHECKS") {
                Some((ids, complete)) => !complete || ids.iter().any(|s| s == id),
                None => true,
            },
        };
        let mut seen: BTreeSet<((u32, u32, u32), &'static str, String)> = BTreeSet::new();
        for node in &tree.nodes {
            let (endpoint, name, class_view, view) = match &node.kind {
                NodeKind::Endpoint(e) => (
                    true,
                    Some(&e.name),
                    e.class_without_as_view.as_deref(),
                    Some(e.view),
                ),
                NodeKind::Include(_) => (false, None, None, None),
                NodeKind::Opaque => continue,
            };
            let Some(call) = node.call else { continue };
            let route = node.route.as_ref();
            let route_text = route.and_then(|r| r.text.clone());
            // Long routes are cut in messages (the snippet shows where the route is).
            let shown = route_text
                .as_deref()
                .map_or_else(|| "…".to_owned(), |t| route::shown(t).into_owned());
            if let (Some(r), Some(text)) = (route, &route_text) {
                if r.kind != RouteKind::Locale {
                    // Without a known APPEND_SLASH, W002 cannot be decided.
                    let checks = route_checks(r.kind, text, endpoint, append_slash.unwrap_or(true));
                    for c in checks {
                        if (c == RouteCheck::W002 && append_slash.is_none()) || silenced(c.id()) {
                            continue;
                        }
                        let span = r.span.unwrap_or(call);
                        if !seen.insert((key(span), c.id(), format!("{c:?}{text}"))) {
                            continue;
                        }
                        out.push(route_diagnostic(c, r.kind, &shown, span));
                    }
                }
            }
            if let Some(Name::Known(n, s)) = name {
                if n.contains(':') && !silenced("urls.W003") {
                    let span = s.unwrap_or(call);
                    if seen.insert((key(span), "urls.W003", n.clone())) {
                        out.push(
                            Self::META
                                .diagnostic(format!(
                                    "name `{n}` of route `{shown}` contains a `:` (Django's `urls.W003`)"
                                ))
                                .at(span, "`:` separates namespaces in `reverse()`: this name cannot be reversed")
                                .help("remove the `:` from the name"),
                        );
                    }
                }
            }
            if let (Some(cls), Some(v), false) = (class_view, view, silenced("urls.E009")) {
                if seen.insert((key(v), "urls.E009", cls.to_owned())) {
                    let mut d = Self::META
                        .diagnostic(format!(
                            "route `{shown}` passes the class-based view `{cls}` without `.as_view()` (Django's `urls.E009`)"
                        ))
                        .at(v, format!("pass `{cls}.as_view()`"))
                        .note("Django reports an error: the view class is called with the request and fails on every request");
                    d.severity = Severity::Error;
                    out.push(d.help(format!("pass `{cls}.as_view()`")));
                }
            }
        }
    }
}

fn route_diagnostic(c: RouteCheck, kind: RouteKind, route: &str, span: Span) -> Diagnostic {
    let m = &DjangoUrlCheck::META;
    match c {
        RouteCheck::W001 => m
            .diagnostic(format!(
                "route `{route}` of an `include()` ends with `$` (Django's `urls.W001`)"
            ))
            .at(span, "`$` ends the match here: nothing inside the include can match")
            .help("remove the `$` from the include's regex"),
        RouteCheck::W002 => m
            .diagnostic(format!(
                "route `{route}` begins with a `/` (Django's `urls.W002`)"
            ))
            .at(span, "paths are matched without their leading `/`")
            .help(if kind == RouteKind::Path {
                "remove the leading `/`; if this route is inside an include, end the include's route with `/` instead"
            } else {
                "remove the `/` after `^`; if this route is inside an include, end the include's route with `/` instead"
            }),
        RouteCheck::W010Open => m
            .diagnostic(format!(
                "route `{route}` has an unmatched `<` (Django's `urls.W010`)"
            ))
            .at(span, "`<` opens a parameter that is never closed: it is matched literally")
            .help("close the parameter with `>`, as in `<int:pk>`"),
        RouteCheck::W010Close => m
            .diagnostic(format!(
                "route `{route}` has an unmatched `>` (Django's `urls.W010`)"
            ))
            .at(span, "this `>` closes no parameter: it is matched literally")
            .help("open the parameter with `<`, as in `<int:pk>`"),
        RouteCheck::Compat2_0W001 => m
            .diagnostic(format!(
                "route `{route}` of `path()` looks like a regular expression (Django's `2_0.W001`)"
            ))
            .at(span, "`path()` matches this text literally")
            .help("write the route without `^`, `$` and `(?P<...>)` (use `<int:pk>` parameters), or use `re_path()`"),
    }
}

#[cfg(test)]
mod tests {
    use super::DjangoUrlCheck;
    use crate::testing::{fires, silent};

    #[test]
    fn each_check() {
        let d = fires(
            &DjangoUrlCheck,
            &[
                ("app/__init__.py", ""),
                (
                    "app/views.py",
                    "from django.views.generic import TemplateView\nclass Home(TemplateView):\n    pass\ndef f(r):\n    pass\n",
                ),
                (
                    "proj/urls.py",
                    "from django.urls import include, path, re_path\nfrom app import views\nfrom app.views import Home\nurlpatterns = [\n    path('/a/', views.f),\n    re_path(r'^b$', include([])),\n    path('c/', views.f, name='x:y'),\n    path('d/', Home),\n    path('e/<pk', views.f),\n    path('^f/$', views.f),\n    path('g/', views.Home),\n]\n",
                ),
            ],
        );
        let ids: Vec<&str> = d
            .iter()
            .map(|x| {
                let m = &x.message;
                let s = m.find("(Django's `").map_or(0, |i| i + 11);
                &m[s..m.len() - 2]
            })
            .collect();
        assert_eq!(
            ids,
            vec![
                "urls.W002",
                "urls.W001",
                "urls.W003",
                "urls.E009",
                "urls.W010",
                "2_0.W001",
                "urls.E009"
            ]
        );
    }

    #[test]
    fn clean_routes() {
        silent(
            &DjangoUrlCheck,
            &[
                ("app/__init__.py", ""),
                ("app/views.py", "class Home:\n    pass\n"),
                (
                    "proj/urls.py",
                    "from django.urls import include, path, re_path\nfrom app.views import Home\nurlpatterns = [\n    path('a/', Home.as_view()),\n    path('/', include([])),\n    re_path(r'^b/\\$', include([])),\n    path('c/<int:pk>/', Home, name='c'),\n]\n",
                ),
            ],
        );
    }
}
