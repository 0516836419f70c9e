//! Routes as Django reads them: `path()` routes split into literal text and converters
//! (Django's `_route_to_regex`), the parameters a route captures, and the statically
//! decidable parts of Django's pattern checks (`RoutePattern.check`, `RegexPattern.check`).

/// How a route is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteKind {
    /// `path()`: a route with `<converter:name>` parameters.
    Path,
    /// `re_path()` (or the old `url()`): a regular expression.
    Regex,
    /// The language prefix `i18n_patterns()` adds.
    Locale,
}

/// Django's built-in path converters and the regular expressions they match.
pub const BUILTIN_CONVERTERS: &[(&str, &str)] = &[
    ("int", "[0-9]+"),
    ("path", ".+"),
    ("slug", "[-a-zA-Z0-9_]+"),
    ("str", "[^/]+"),
    (
        "uuid",
        "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    ),
];

/// A piece of a `path()` route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathPart {
    Literal(String),
    /// `<converter:name>`; the converter is `str` when not written.
    Param {
        converter: String,
        name: String,
    },
}

/// Routes longer than this, in characters, are not read (no parameters, no shadowing
/// comparison): real routes are a few dozen characters, and a route of megabytes is
/// either generated or hostile. Django's own checks on the route text still run.
pub const MAX_ROUTE_CHARS: usize = 4096;

/// How many characters of a route messages show before cutting it.
const SHOWN_ROUTE_CHARS: usize = 80;

/// A route as messages quote it: whole when short, else its first characters and `…`,
/// so a long route never fills the output.
pub fn shown(route: &str) -> std::borrow::Cow<'_, str> {
    match route.char_indices().nth(SHOWN_ROUTE_CHARS) {
        None => std::borrow::Cow::Borrowed(route),
        Some((cut, _)) => std::borrow::Cow::Owned(format!("{}…", &route[..cut])),
    }
}

/// Splits a `path()` route the way Django's `_route_to_regex` does, with the regular
/// expression `<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>`. Returns `None` where
/// Django raises `ImproperlyConfigured` for the syntax (whitespace inside `<...>`, a
/// parameter that is not an identifier), and for routes longer than
/// [`MAX_ROUTE_CHARS`]; an unknown converter is returned as written (it may be
/// registered with `register_converter`).
pub fn parse_path_route(route: &str) -> Option<Vec<PathPart>> {
    let chars: Vec<char> = route.chars().take(MAX_ROUTE_CHARS + 1).collect();
    if chars.len() > MAX_ROUTE_CHARS {
        return None;
    }
    // The next `>` and the next `:` at or after each index: one backward pass, so
    // matching a parameter never rescans the route (linear for any number of `<`).
    let mut next_gt = vec![chars.len(); chars.len() + 1];
    let mut next_colon = vec![chars.len(); chars.len() + 1];
    for i in (0..chars.len()).rev() {
        next_gt[i] = if chars[i] == '>' { i } else { next_gt[i + 1] };
        next_colon[i] = if chars[i] == ':' {
            i
        } else {
            next_colon[i + 1]
        };
    }
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '<' {
            if let Some((converter, name, end)) = match_parameter(&chars, i, &next_gt, &next_colon)
            {
                if chars[i..end].iter().any(|c| c.is_whitespace()) {
                    return None;
                }
                if !is_identifier(&name) {
                    return None;
                }
                if !literal.is_empty() {
                    parts.push(PathPart::Literal(std::mem::take(&mut literal)));
                }
                parts.push(PathPart::Param { converter, name });
                i = end;
                continue;
            }
        }
        literal.push(chars[i]);
        i += 1;
    }
    if !literal.is_empty() {
        parts.push(PathPart::Literal(literal));
    }
    Some(parts)
}

/// Matches `<(?:([^>:]+):)?([^>]+)>` at `start` (which holds `<`): the converter, the
/// parameter, and the index after `>`.
fn match_parameter(
    chars: &[char],
    start: usize,
    next_gt: &[usize],
    next_colon: &[usize],
) -> Option<(String, String, usize)> {
    let body_start = start + 1;
    let gt = next_gt[body_start.min(chars.len())];
    if gt == chars.len() {
        return None;
    }
    // With a converter: `[^>:]+` (greedy, it stops at the first `:` or `>`), then `:`,
    // then `[^>]+` up to the `>`.
    let colon = next_colon[body_start.min(chars.len())];
    if colon < gt && colon > body_start && gt > colon + 1 {
        let converter: String = chars[body_start..colon].iter().collect();
        let name: String = chars[colon + 1..gt].iter().collect();
        return Some((converter, name, gt + 1));
    }
    // Without a converter: `[^>]+` then `>`.
    if gt > body_start {
        let name: String = chars[body_start..gt].iter().collect();
        return Some(("str".to_owned(), name, gt + 1));
    }
    None
}

/// Python's `str.isidentifier()`, close enough for parameter names.
pub fn is_identifier(s: &str) -> bool {
    let mut c = s.chars();
    match c.next() {
        Some(f) if f == '_' || f.is_alphabetic() => c.all(|x| x == '_' || x.is_alphanumeric()),
        _ => false,
    }
}

/// The regular expression of a built-in converter.
pub fn converter_regex(name: &str) -> Option<&'static str> {
    BUILTIN_CONVERTERS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
}

/// A parameter a route captures, and what decides which values it accepts: the converter
/// name for `path()`, the group's regular expression for `re_path()`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Param {
    /// The name (`pk`), or the position of an unnamed regex group (`#0`).
    pub name: String,
    pub accepts: String,
}

/// The parameters a route captures, sorted by name, or `None` when they cannot be read
/// (a regex too intricate to scan, a `path()` route Django would refuse).
pub fn params(kind: RouteKind, route: &str) -> Option<Vec<Param>> {
    let mut out = match kind {
        RouteKind::Locale => Vec::new(),
        RouteKind::Path => parse_path_route(route)?
            .into_iter()
            .filter_map(|p| match p {
                PathPart::Param { converter, name } => Some(Param {
                    name,
                    accepts: converter,
                }),
                PathPart::Literal(_) => None,
            })
            .collect(),
        RouteKind::Regex => regex_groups(route)?,
    };
    out.sort();
    Some(out)
}

/// Capturing groups of a regular expression: the named ones when there are any (Django
/// then ignores unnamed groups), else the unnamed ones by position. One pass with a
/// stack of open groups, each body kept as a range until it is needed, so nested groups
/// cost linear time; `None` for a regex longer than [`MAX_ROUTE_CHARS`] or with an
/// unclosed group.
fn regex_groups(regex: &str) -> Option<Vec<Param>> {
    let chars: Vec<char> = regex.chars().take(MAX_ROUTE_CHARS + 1).collect();
    if chars.len() > MAX_ROUTE_CHARS {
        return None;
    }
    /// An open group: where its body starts, and its name (`None`: unnamed capturing,
    /// `Some("")`: not capturing).
    struct Open {
        body: usize,
        name: Option<String>,
    }
    let mut stack: Vec<Open> = Vec::new();
    // (position of the group's `(`, name, body range), in order of their `(`.
    let mut groups: Vec<(usize, Option<String>, usize, usize)> = Vec::new();
    let mut opened: Vec<usize> = Vec::new();
    let mut i = 0;
    let mut in_class = false;
    while i < chars.len() {
        let c = chars[i];
        if c == '\\' {
            i += 2;
            continue;
        }
        if in_class {
            if c == ']' {
                in_class = false;
            }
            i += 1;
            continue;
        }
        match c {
            '[' => {
                in_class = true;
                // `[]...]` and `[^]...]`: a leading `]` is a literal.
                if chars.get(i + 1) == Some(&']') {
                    i += 1;
                } else if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                    i += 2;
                }
            }
            '(' => {
                opened.push(i);
                if chars.get(i + 1) == Some(&'?')
                    && chars.get(i + 2) == Some(&'P')
                    && chars.get(i + 3) == Some(&'<')
                {
                    let name_start = i + 4;
                    let mut j = name_start;
                    while j < chars.len() && chars[j] != '>' {
                        j += 1;
                    }
                    stack.push(Open {
                        body: (j + 1).min(chars.len()),
                        name: Some(chars[name_start..j.min(chars.len())].iter().collect()),
                    });
                    i = j;
                } else if chars.get(i + 1) == Some(&'?') {
                    // A non-capturing group or an assertion: its inner groups still count.
                    stack.push(Open {
                        body: i + 1,
                        name: Some(String::new()),
                    });
                } else {
                    stack.push(Open {
                        body: i + 1,
                        name: None,
                    });
                }
            }
            ')' => {
                if let Some(open) = stack.pop() {
                    let at = opened.get(stack.len()).copied().unwrap_or(0);
                    opened.truncate(stack.len());
                    if open.name.as_deref() != Some("") {
                        groups.push((at, open.name, open.body.min(i), i));
                    }
                }
            }
            _ => {}
        }
        i += 1;
    }
    if !stack.is_empty() {
        return None;
    }
    // Closed groups were recorded innermost first: back to the order of their `(`.
    groups.sort_by_key(|g| g.0);
    let body = |s: usize, e: usize| -> String { chars[s..e].iter().collect() };
    let named: Vec<Param> = groups
        .iter()
        .filter_map(|(_, n, s, e)| {
            n.as_ref().map(|name| Param {
                name: name.clone(),
                accepts: body(*s, *e),
            })
        })
        .collect();
    if !named.is_empty() {
        return Some(named);
    }
    Some(
        groups
            .iter()
            .filter(|g| g.1.is_none())
            .enumerate()
            .map(|(n, (_, _, s, e))| Param {
                name: format!("#{n}"),
                accepts: body(*s, *e),
            })
            .collect(),
    )
}

/// A Django system check on a route that can be decided from its text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RouteCheck {
    /// urls.W001: an `include()` regex ending with `$`.
    W001,
    /// urls.W002: a route beginning with `/`.
    W002,
    /// urls.W010: an unmatched `<`.
    W010Open,
    /// urls.W010: an unmatched `>`.
    W010Close,
    /// 2_0.W001: a `path()` route containing `(?P<`, beginning with `^` or ending with `$`.
    Compat2_0W001,
}

impl RouteCheck {
    /// Django's check id.
    pub fn id(self) -> &'static str {
        match self {
            RouteCheck::W001 => "urls.W001",
            RouteCheck::W002 => "urls.W002",
            RouteCheck::W010Open | RouteCheck::W010Close => "urls.W010",
            RouteCheck::Compat2_0W001 => "2_0.W001",
        }
    }
}

/// What Django's `pattern.check()` reports for a route. `append_slash` is the
/// APPEND_SLASH setting (urls.W002 is skipped when it is false).
pub fn route_checks(
    kind: RouteKind,
    route: &str,
    is_endpoint: bool,
    append_slash: bool,
) -> Vec<RouteCheck> {
    let mut out = Vec::new();
    match kind {
        RouteKind::Locale => {}
        RouteKind::Regex => {
            // `CheckURLMixin._check_pattern_startswith_slash` on the raw regex.
            if append_slash
                && (route.starts_with('/') || route.starts_with("^/") || route.starts_with("^\\/"))
                && !route.ends_with('/')
            {
                out.push(RouteCheck::W002);
            }
            if !is_endpoint && route.ends_with('$') && !route.ends_with("\\$") {
                out.push(RouteCheck::W001);
            }
        }
        RouteKind::Path => {
            // Django checks the regex built from the route: `^` + the escaped route, `\Z`
            // for an endpoint. It begins with `^/` exactly when the route begins with `/`
            // (`re.escape` leaves `/` alone), and ends with `/` only for an include whose
            // route ends with `/`.
            if append_slash && route.starts_with('/') && (is_endpoint || !route.ends_with('/')) {
                out.push(RouteCheck::W002);
            }
            let mut open = 0i64;
            let mut unmatched_close = false;
            for c in route.chars() {
                if c == '<' {
                    open += 1;
                } else if c == '>' {
                    open -= 1;
                    if open < 0 {
                        unmatched_close = true;
                        open = 0;
                    }
                }
            }
            if unmatched_close {
                out.push(RouteCheck::W010Close);
            }
            if open > 0 {
                out.push(RouteCheck::W010Open);
            }
            if route.contains("(?P<") || route.starts_with('^') || route.ends_with('$') {
                out.push(RouteCheck::Compat2_0W001);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_path_routes_like_django() {
        assert_eq!(
            parse_path_route("blog/<int:pk>/<slug>/").unwrap(),
            vec![
                PathPart::Literal("blog/".into()),
                PathPart::Param {
                    converter: "int".into(),
                    name: "pk".into()
                },
                PathPart::Literal("/".into()),
                PathPart::Param {
                    converter: "str".into(),
                    name: "slug".into()
                },
                PathPart::Literal("/".into()),
            ]
        );
        // No closing bracket: plain text.
        assert_eq!(
            parse_path_route("a/<pk").unwrap(),
            vec![PathPart::Literal("a/<pk".into())]
        );
        assert!(parse_path_route("<int: pk>").is_none());
        assert!(parse_path_route("<int:1pk>").is_none());
    }

    #[test]
    fn django_route_checks() {
        use RouteCheck::*;
        assert_eq!(route_checks(RouteKind::Path, "/a/", true, true), vec![W002]);
        assert!(route_checks(RouteKind::Path, "/a/", false, true).is_empty());
        assert!(route_checks(RouteKind::Path, "/a/", true, false).is_empty());
        assert_eq!(
            route_checks(RouteKind::Regex, r"/url-starting-with-slash/$", true, true),
            vec![W002]
        );
        assert_eq!(
            route_checks(RouteKind::Regex, "^include-with-dollar$", false, true),
            vec![W001]
        );
        assert!(route_checks(RouteKind::Regex, r"^a\$", false, true).is_empty());
        assert_eq!(
            route_checks(RouteKind::Path, "closed_angle>/x/<opened_angle", true, true),
            vec![W010Close, W010Open]
        );
        assert_eq!(
            route_checks(RouteKind::Path, "^beginning-with-caret", true, true),
            vec![Compat2_0W001]
        );
    }

    #[test]
    fn parameters() {
        let p = params(RouteKind::Path, "<int:year>/<slug:slug>/").unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].name, "year");
        let p = params(RouteKind::Regex, r"^a/(?P<pk>[0-9]+)/(x|y)/$").unwrap();
        assert_eq!(
            p,
            vec![Param {
                name: "pk".into(),
                accepts: "[0-9]+".into()
            }]
        );
        let p = params(RouteKind::Regex, r"^no_kwargs/([0-9]+)/([0-9]+)/$").unwrap();
        assert_eq!(p.len(), 2);
        let p = params(RouteKind::Regex, r"^a/[(]x/$").unwrap();
        assert!(p.is_empty());
        // Nested groups, in the order of their `(`; non-capturing groups skipped.
        let p = regex_groups(r"^((a)(?:b(c))d)$").unwrap();
        let bodies: Vec<&str> = p.iter().map(|p| p.accepts.as_str()).collect();
        assert_eq!(bodies, ["(a)(?:b(c))d", "a", "c"]);
        let p = regex_groups(r"^(?P<outer>x(?P<inner>[0-9]+))$").unwrap();
        assert_eq!(p[0].name, "outer");
        assert_eq!(p[1].accepts, "[0-9]+");
        assert!(regex_groups("^(a").is_none());
        assert!(regex_groups("^(?P<a").is_none());
    }

    #[test]
    fn long_routes_are_not_read_and_cost_linear_time() {
        let t = std::time::Instant::now();
        // 50,000 nested groups and 100,000 unclosed `<`: refused by length, at once.
        let nested = format!("^{}x{}$", "(".repeat(50_000), ")".repeat(50_000));
        assert!(params(RouteKind::Regex, &nested).is_none());
        assert!(parse_path_route(&"<".repeat(100_000)).is_none());
        // Just under the cap: read, in linear time.
        let n = MAX_ROUTE_CHARS / 2 - 2;
        let nested = format!("^{}x{}", "(".repeat(n), ")".repeat(n));
        assert_eq!(params(RouteKind::Regex, &nested).unwrap().len(), n);
        let opens = "<".repeat(MAX_ROUTE_CHARS);
        assert_eq!(parse_path_route(&opens).unwrap().len(), 1);
        assert!(t.elapsed().as_secs() < 5, "{:?}", t.elapsed());
    }

    #[test]
    fn long_routes_are_cut_in_messages() {
        assert_eq!(shown("blog/<int:pk>/"), "blog/<int:pk>/");
        let long = "a".repeat(100_000);
        let s = shown(&long);
        assert_eq!(s.chars().count(), SHOWN_ROUTE_CHARS + 1);
        assert!(s.ends_with('…'));
    }
}
