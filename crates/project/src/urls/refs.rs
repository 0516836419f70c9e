//! Literal URL names used by the project: `reverse()`, `reverse_lazy()`, `redirect()` and
//! `resolve_url()` calls in its Python files, `{% url %}` tags in its templates.
//!
//! Reading every Python file of a large project is the cost here, so each file is first
//! searched for the function names as bytes and only the few that mention one are
//! parsed; files and templates are read in parallel, through [`crate::fs`].

use super::{ReferenceKind, UrlReference, UrlTree};
use crate::load::Loader;
use djcheck_diagnostics::Span;
use djcheck_python::ast::visitor::{self, Visitor};
use djcheck_python::ast::{self, Expr, Stmt};
use djcheck_python::{eval, Ranged, TextRange, TextSize};
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;

/// What scanning one file found: its text (kept only when there are references and the
/// loader did not hold it already), the references, and whether it switches URLconfs at
/// run time.
struct Scan {
    rel: String,
    text: Option<String>,
    refs: Vec<(TextRange, String, ReferenceKind)>,
    per_request: bool,
    /// It imports a list of a URL module of the tree and changes it (at run time, as an
    /// `AppConfig.ready()` may): the module and the name.
    extends_url_list: Option<(String, String)>,
    /// Not read: not a regular file (the message says what it is).
    refused: Option<String>,
}

impl Scan {
    fn refused(rel: &str, e: &crate::fs::ReadProblem) -> Option<Scan> {
        matches!(e, crate::fs::ReadProblem::NotRegular(_)).then(|| Scan {
            rel: rel.to_owned(),
            text: None,
            refs: Vec::new(),
            per_request: false,
            extends_url_list: None,
            refused: Some(e.to_string()),
        })
    }
}

pub(super) fn collect(ld: &mut Loader<'_>, tree: &mut UrlTree) {
    let ldr: &Loader<'_> = ld;
    // Migrations are read by the loader already and never hold URL lookups worth checking:
    // on a large project they are most of the files.
    let py: Vec<&String> = ldr
        .files
        .iter()
        .filter(|f| !f.split('/').any(|c| c == "migrations"))
        .collect();
    // The modules the tree was built from: a list of one of them changed from another
    // module at run time (in a function, an `AppConfig.ready()`; the evaluator does not
    // carry a change made through an imported name back to the module that owns the
    // list) makes the tree incomplete.
    let url_modules = UrlModules::new(&tree.modules_read);
    let mut scans: Vec<Scan> = py
        .par_iter()
        .filter_map(|rel| scan_python(ldr, rel, &url_modules))
        .collect();
    let templates: Vec<Scan> = tree
        .templates
        .par_iter()
        .filter_map(|rel| scan_template(ldr, rel))
        .collect();
    scans.extend(templates);
    // A named pipe or device among them was refused without being opened: say so once.
    for s in &scans {
        if let Some(message) = &s.refused {
            let role = if s.rel.ends_with(".py") {
                crate::FileRole::Source
            } else {
                crate::FileRole::Template
            };
            let known = ld.problems.iter().any(|p| ld.db.file(p.file).path == s.rel);
            if !known {
                let id = ld.register(&s.rel);
                ld.problems.push(crate::FileProblem {
                    file: id,
                    role,
                    kind: crate::ProblemKind::Unreadable {
                        message: message.clone(),
                        offset: None,
                    },
                });
            }
        }
    }
    scans.sort_by(|a, b| a.rel.cmp(&b.rel));
    for s in scans {
        tree.per_request_urlconf |= s.per_request;
        if let Some((module, name)) = &s.extends_url_list {
            tree.mark_incomplete(
                format!(
                    "`{name}` of `{module}` is changed at run time by `{}`",
                    s.rel
                ),
                None,
            );
            tree.complete = false;
            tree.top_complete = false;
            tree.extended_at_run_time = true;
        }
        if s.refs.is_empty() {
            continue;
        }
        let id = ld.register(&s.rel);
        if let Some(text) = s.text {
            ld.db.set_text(id, text);
        }
        for (range, name, kind) in s.refs {
            tree.references.push(UrlReference {
                span: Span::new(id, range),
                name,
                kind,
            });
        }
    }
}

/// Text whose presence makes a file worth parsing (`reverse(` also covers
/// `reverse_lazy(`'s prefix only, so both are listed).
const CALL_WORDS: &[&str] = &["reverse(", "reverse_lazy(", "redirect(", "resolve_url("];

/// The URL modules of the tree, for [`extended_list`]: a file changes one of their lists
/// only when it imports from one of them.
struct UrlModules<'t> {
    /// Module to its position in the order the tree read them (the first one found is
    /// reported).
    order: FxHashMap<&'t str, usize>,
}

impl<'t> UrlModules<'t> {
    fn new(modules: &'t [String]) -> Self {
        let mut order = FxHashMap::default();
        for (i, m) in modules.iter().enumerate() {
            order.entry(m.as_str()).or_insert(i);
        }
        UrlModules { order }
    }

    /// The first URL module (in the tree's order) whose list `text` changes, and the
    /// list's name.
    fn extended(&self, text: &str) -> Option<(String, String)> {
        // Cheap first: no call that changes a list, no import to look at.
        if !LIST_CHANGES.iter().any(|op| text.contains(op)) {
            return None;
        }
        let mut found: Option<(usize, &str, String)> = None;
        let mut rest = text;
        while let Some(pos) = rest.find("from ") {
            let after = &rest[pos + 5..];
            rest = after;
            let Some((module, _)) = after.split_once(" import ") else {
                break;
            };
            let Some(&i) = self.order.get(module.trim_start()) else {
                continue;
            };
            if found.as_ref().is_some_and(|f| f.0 <= i) {
                continue;
            }
            if let Some(name) = extended_list(text, module.trim_start()) {
                found = Some((i, module.trim_start(), name));
            }
        }
        found.map(|(_, m, n)| (m.to_owned(), n))
    }
}

/// How a list is changed in place.
const LIST_CHANGES: &[&str] = &[".append(", ".extend(", ".insert(", " +="];

fn scan_python(ld: &Loader<'_>, rel: &str, url_modules: &UrlModules<'_>) -> Option<Scan> {
    // A file the loader read already (a settings or URL module) is not read again.
    let held = ld
        .file_id(rel)
        .filter(|id| ld.read_ok.contains(id))
        .map(|id| ld.db.file(id).text.as_str());
    let owned;
    let text: &str = match held {
        Some(t) => t,
        None => {
            owned = match ld.read(rel) {
                Ok(t) => t,
                Err(e) => return Scan::refused(rel, &e),
            };
            &owned
        }
    };
    let keep = |t: &str| held.is_none().then(|| t.to_owned());
    // A project that sets `request.urlconf` (or uses django-hosts) resolves names
    // against other URLconfs at run time.
    let per_request = text.contains(".urlconf =")
        || text.contains("set_urlconf(")
        || text.contains("ROOT_HOSTCONF");
    let extends_url_list = url_modules.extended(text);
    let flags_only = |per_request: bool| {
        (per_request || extends_url_list.is_some()).then(|| Scan {
            rel: rel.to_owned(),
            text: None,
            refs: Vec::new(),
            per_request,
            extends_url_list: extends_url_list.clone(),
            refused: None,
        })
    };
    if !CALL_WORDS.iter().any(|w| text.contains(w)) {
        return flags_only(per_request);
    }
    // Tests run against URLconfs of their own (`override_settings(ROOT_URLCONF=...)`,
    // `reverse(..., urlconf=...)`).
    if text.contains("override_settings")
        || text.contains("urlconf=")
        || text.contains("ROOT_URLCONF=")
    {
        return flags_only(per_request);
    }
    let parsed = crate::load::parse_checked(text, &ld.opts.limits).ok()?;
    if !parsed.errors.is_empty() {
        return flags_only(per_request);
    }
    let mut imports = Imports::default();
    for s in parsed.body() {
        imports.visit_stmt(s);
    }
    if imports.functions.is_empty() && imports.modules.is_empty() {
        return flags_only(per_request);
    }
    let mut finder = Finder {
        imports: &imports,
        refs: Vec::new(),
        guarded: 0,
    };
    for s in parsed.body() {
        finder.visit_stmt(s);
    }
    let text = if finder.refs.is_empty() {
        None
    } else {
        keep(text)
    };
    Some(Scan {
        rel: rel.to_owned(),
        refs: finder.refs,
        text,
        per_request,
        extends_url_list,
        refused: None,
    })
}

/// When `text` imports names from `module` and changes one of them in place (`.append(`,
/// `.extend(`, `.insert(`, `+=`): the name as `module` binds it.
fn extended_list(text: &str, module: &str) -> Option<String> {
    let needle = format!("from {module} import ");
    let mut rest = text;
    while let Some(pos) = rest.find(&needle) {
        let after = &rest[pos + needle.len()..];
        let names = match after.strip_prefix('(') {
            Some(inner) => inner.split(')').next().unwrap_or(""),
            None => after.split(['\n', '\r']).next().unwrap_or(""),
        };
        for item in names.split(',') {
            let item = item.trim().trim_end_matches('\\').trim();
            let (name, bound) = match item.split_once(" as ") {
                Some((n, a)) => (n.trim(), a.trim()),
                None => (item, item),
            };
            if bound.is_empty() || !bound.chars().all(|c| c.is_alphanumeric() || c == '_') {
                continue;
            }
            let changed = LIST_CHANGES
                .iter()
                .any(|op| text.contains(&format!("{bound}{op}")));
            if changed {
                return Some(name.to_owned());
            }
        }
        rest = after;
    }
    None
}

/// The canonical function names of Django's URL-reversing functions.
fn canonical(qualified: &str) -> Option<&'static str> {
    let (module, name) = qualified.rsplit_once('.')?;
    let urls = matches!(
        module,
        "django.urls" | "django.urls.base" | "django.core.urlresolvers"
    );
    let shortcuts = module == "django.shortcuts" || module == "django.shortcuts.base";
    match name {
        "reverse" if urls => Some("reverse"),
        "reverse_lazy" if urls => Some("reverse_lazy"),
        "redirect" if shortcuts => Some("redirect"),
        "resolve_url" if shortcuts || module == "django.shortcuts" => Some("resolve_url"),
        _ => None,
    }
}

/// Names bound to Django's reversing functions (and modules holding them) anywhere in
/// the file.
#[derive(Default)]
struct Imports {
    functions: BTreeMap<String, &'static str>,
    modules: BTreeMap<String, String>,
}

impl<'a> Visitor<'a> for Imports {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::ImportFrom(i) if i.level == 0 => {
                let Some(m) = &i.module else { return };
                for a in &i.names {
                    let q = format!("{}.{}", m.id.as_str(), a.name.id.as_str());
                    let bound = a
                        .asname
                        .as_ref()
                        .map_or(a.name.id.as_str(), |n| n.id.as_str());
                    if let Some(c) = canonical(&q) {
                        self.functions.insert(bound.to_owned(), c);
                    } else if matches!(
                        q.as_str(),
                        "django.urls" | "django.shortcuts" | "django.core.urlresolvers"
                    ) {
                        self.modules.insert(bound.to_owned(), q);
                    }
                }
            }
            Stmt::Import(i) => {
                for a in &i.names {
                    let dotted = a.name.id.as_str();
                    if !matches!(
                        dotted,
                        "django" | "django.urls" | "django.shortcuts" | "django.core.urlresolvers"
                    ) {
                        continue;
                    }
                    match &a.asname {
                        Some(n) => {
                            self.modules
                                .insert(n.id.as_str().to_owned(), dotted.to_owned());
                        }
                        None => {
                            self.modules
                                .insert("django".to_owned(), "django".to_owned());
                        }
                    }
                }
            }
            _ => visitor::walk_stmt(self, stmt),
        }
    }
}

struct Finder<'i> {
    imports: &'i Imports,
    refs: Vec<(TextRange, String, ReferenceKind)>,
    /// Inside a `try` that handles `NoReverseMatch`: a failing name is expected there.
    guarded: usize,
}

impl Finder<'_> {
    fn function(&self, callee: &Expr) -> Option<&'static str> {
        match callee {
            Expr::Name(n) => self.imports.functions.get(n.id.as_str()).copied(),
            Expr::Attribute(_) => {
                let dotted = eval::dotted_name(callee)?;
                let (head, rest) = dotted.split_once('.')?;
                let module = self.imports.modules.get(head)?;
                canonical(&format!("{module}.{rest}"))
            }
            _ => None,
        }
    }
}

fn handles_no_reverse_match(t: &ast::StmtTry) -> bool {
    t.handlers.iter().any(|h| {
        let ast::ExceptHandler::ExceptHandler(h) = h;
        match &h.type_ {
            None => true,
            Some(ty) => {
                let names: Vec<String> = match ty.as_ref() {
                    Expr::Tuple(tu) => tu.elts.iter().filter_map(eval::dotted_name).collect(),
                    other => eval::dotted_name(other).into_iter().collect(),
                };
                names.iter().any(|n| {
                    let last = n.rsplit('.').next().unwrap_or(n);
                    matches!(last, "NoReverseMatch" | "Exception" | "BaseException")
                })
            }
        }
    })
}

impl<'a> Visitor<'a> for Finder<'_> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        if let Stmt::Try(t) = stmt {
            if handles_no_reverse_match(t) {
                self.guarded += 1;
                for s in &t.body {
                    self.visit_stmt(s);
                }
                self.guarded -= 1;
                for h in &t.handlers {
                    let ast::ExceptHandler::ExceptHandler(h) = h;
                    for s in &h.body {
                        self.visit_stmt(s);
                    }
                }
                for s in t.orelse.iter().chain(t.finalbody.iter()) {
                    self.visit_stmt(s);
                }
                return;
            }
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Call(call) = expr {
            if self.guarded == 0 {
                if let Some(f) = self.function(&call.func) {
                    let kw = if f.starts_with("reverse") {
                        "viewname"
                    } else {
                        "to"
                    };
                    let urlconf = eval::keyword(call, "urlconf").is_some();
                    if let Some(arg) = eval::argument(call, 0, kw) {
                        if let (Some(name), false) = (eval::str_value(arg), urlconf) {
                            // `redirect()`/`resolve_url()` return a string holding `/` or
                            // `.` as it is when it names no URL.
                            let passthrough = !f.starts_with("reverse")
                                && (name.contains('/') || name.contains('.'));
                            if !passthrough && !name.is_empty() {
                                self.refs.push((arg.range(), name, ReferenceKind::Call(f)));
                            }
                        }
                    }
                }
            }
        }
        visitor::walk_expr(self, expr);
    }
}

fn scan_template(ld: &Loader<'_>, rel: &str) -> Option<Scan> {
    let text = match ld.read(rel) {
        Ok(t) => t,
        Err(e) => return Scan::refused(rel, &e),
    };
    if !text.contains("url") {
        return None;
    }
    let refs = template_refs(&text);
    if refs.is_empty() {
        return None;
    }
    Some(Scan {
        rel: rel.to_owned(),
        text: Some(text),
        refs,
        per_request: false,
        extends_url_list: None,
        refused: None,
    })
}

/// `{% url "name" ... %}` tags with a literal name, outside `{% comment %}`,
/// `{% verbatim %}` and `{# #}`, and not the `... as var` form (which never fails).
fn template_refs(text: &str) -> Vec<(TextRange, String, ReferenceKind)> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut i = 0usize;
    let mut skip_until: Option<&str> = None;
    while i + 1 < bytes.len() {
        if bytes[i] == b'{' && bytes[i + 1] == b'#' {
            match text[i..].find("#}") {
                Some(end) => {
                    i += end + 2;
                    continue;
                }
                None => break,
            }
        }
        if !(bytes[i] == b'{' && bytes[i + 1] == b'%') {
            i += 1;
            continue;
        }
        let Some(end) = text[i + 2..].find("%}") else {
            break;
        };
        let inner_start = i + 2;
        let inner_end = inner_start + end;
        let inner = &text[inner_start..inner_end];
        let tag = inner.trim_start();
        let lead = inner.len() - tag.len();
        let word = tag.split_whitespace().next().unwrap_or("");
        i = inner_end + 2;
        if let Some(closing) = skip_until {
            if word == closing {
                skip_until = None;
            }
            continue;
        }
        match word {
            "comment" => {
                skip_until = Some("endcomment");
                continue;
            }
            "verbatim" => {
                skip_until = Some("endverbatim");
                continue;
            }
            "url" => {}
            _ => continue,
        }
        let after = &tag[3..];
        let arg = after.trim_start();
        let Some(quote) = arg.chars().next().filter(|c| *c == '"' || *c == '\'') else {
            continue;
        };
        let Some(close) = arg[1..].find(quote) else {
            continue;
        };
        let name = &arg[1..1 + close];
        let tokens: Vec<&str> = arg[close + 2..].split_whitespace().collect();
        if tokens.len() >= 2 && tokens[tokens.len() - 2] == "as" {
            continue;
        }
        if name.is_empty() || name.contains('{') {
            continue;
        }
        let start = inner_start + lead + 3 + (after.len() - arg.len());
        let end = start + close + 2;
        let (Ok(s), Ok(e)) = (u32::try_from(start), u32::try_from(end)) else {
            continue;
        };
        out.push((
            TextRange::new(TextSize::new(s), TextSize::new(e)),
            name.to_owned(),
            ReferenceKind::TemplateTag,
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_tags() {
        let t = "{% load static %}<a href=\"{% url 'blog:post' pk=1 %}\">\n{# {% url 'x' %} #}{% comment %}{% url 'y' %}{% endcomment %}{% url \"a:b\" as u %}{% url  \"shop:cart\" %}{% url var %}";
        let refs = template_refs(t);
        let names: Vec<&str> = refs.iter().map(|r| r.1.as_str()).collect();
        assert_eq!(names, vec!["blog:post", "shop:cart"]);
        let r = refs[0].0;
        assert_eq!(&t[r.start().to_usize()..r.end().to_usize()], "'blog:post'");
        let r = refs[1].0;
        assert_eq!(
            &t[r.start().to_usize()..r.end().to_usize()],
            "\"shop:cart\""
        );
    }
}
