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

/// Splits a `path()` route the way Django's `_route_to_regex` does, with the regular
/// expression `<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>`. Returns `None` where
/// Django raises `ImproperlyConfigured` for the syntax (whitespace inside `<...>`, a
/// parameter that is not an identifier); an unknown converter is returned as written
/// (it may be registered with `register_converter`).
pub fn parse_path_route(route: &str) -> Option<Vec<PathPart>> {
    let chars: Vec<char> = route.chars().collect();
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] == '<' {
            if let Some((converter, name, end)) = match_parameter(&chars, i) {
                let whole: String = chars[i..end].iter().collect();
                if whole.chars().any(char::is_whitespace) {
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
fn match_parameter(chars: &[char], start: usize) -> Option<(String, String, usize)> {
    let body_start = start + 1;
    // With a converter: `[^>:]+` (greedy, it stops at the first `:` or `>`), then `:`.
    let mut j = body_start;
    while j < chars.len() && chars[j] != '>' && chars[j] != ':' {
        j += 1;
    }
    if j > body_start && j < chars.len() && chars[j] == ':' {
        let mut k = j + 1;
        while k < chars.len() && chars[k] != '>' {
            k += 1;
        }
        if k > j + 1 && k < chars.len() {
            let converter: String = chars[body_start..j].iter().collect();
            let name: String = chars[j + 1..k].iter().collect();
            return Some((converter, name, k + 1));
        }
    }
    // Without a converter: `[^>]+` then `>`.
    let mut k = body_start;
    while k < chars.len() && chars[k] != '>' {
        k += 1;
    }
    if k > body_start && k < chars.len() {
        let name: String = chars[body_start..k].iter().collect();
        return Some(("str".to_owned(), name, k + 1));
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
/// then ignores unnamed groups), else the unnamed ones by position.
fn regex_groups(regex: &str) -> Option<Vec<Param>> {
    let chars: Vec<char> = regex.chars().collect();
    let mut named = Vec::new();
    let mut unnamed = Vec::new();
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
        if c == '[' {
            in_class = true;
            // `[]...]` and `[^]...]`: a leading `]` is a literal.
            if chars.get(i + 1) == Some(&']') {
                i += 1;
            } else if chars.get(i + 1) == Some(&'^') && chars.get(i + 2) == Some(&']') {
                i += 2;
            }
            i += 1;
            continue;
        }
        if c == '(' {
            let rest: String = chars[i..chars.len().min(i + 4)].iter().collect();
            if rest.starts_with("(?P<") {
                let name_start = i + 4;
                let mut j = name_start;
                while j < chars.len() && chars[j] != '>' {
                    j += 1;
                }
                let name: String = chars[name_start..j.min(chars.len())].iter().collect();
                let end = group_end(&chars, j + 1)?;
                let body: String = chars[(j + 1).min(end)..end].iter().collect();
                named.push(Param {
                    name,
                    accepts: body,
                });
            } else if chars.get(i + 1) == Some(&'?') {
                // A non-capturing group or an assertion: its inner groups still count.
            } else {
                let end = group_end(&chars, i + 1)?;
                let body: String = chars[i + 1..end].iter().collect();
                unnamed.push(body);
            }
        }
        i += 1;
    }
    if !named.is_empty() {
        return Some(named);
    }
    Some(
        unnamed
            .into_iter()
            .enumerate()
            .map(|(n, body)| Param {
                name: format!("#{n}"),
                accepts: body,
            })
            .collect(),
    )
}

/// The index of the `)` closing a group whose body starts at `start`.
fn group_end(chars: &[char], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
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
        } else if c == '[' {
            in_class = true;
            if chars.get(i + 1) == Some(&']') {
                i += 1;
            }
        } else if c == '(' {
            depth += 1;
        } else if c == ')' {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
        i += 1;
    }
    None
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
    }
}
