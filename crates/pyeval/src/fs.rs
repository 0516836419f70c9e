//! Paths in the project tree: `__file__`, `pathlib`, `os.path`, listing folders and
//! `glob`, evaluated against the files djcheck found (a Python file it does not list
//! does not exist; other files are unknown).

use crate::interp::Interp;
use crate::value::{FsPath, Val};

impl Interp<'_> {
    pub(crate) fn path_attr(&mut self, p: &FsPath, attr: &str) -> Val {
        match attr {
            "parent" => self.path_parent(p),
            "name" => match p {
                FsPath::Known(s) => Val::Str(s.rsplit('/').next().unwrap_or(s).to_owned()),
                FsPath::OtherChild(s) => Val::Str(s.rsplit('/').next().unwrap_or(s).to_owned()),
                FsPath::Other => Val::Unknown,
            },
            "stem" => match p {
                FsPath::Known(s) => {
                    let name = s.rsplit('/').next().unwrap_or(s);
                    Val::Str(name.split_once('.').map_or(name, |(a, _)| a).to_owned())
                }
                _ => Val::Unknown,
            },
            // `os.DirEntry.path`
            "path" => Val::Path(p.clone()),
            _ => Val::Unknown,
        }
    }

    pub(crate) fn path_parent(&self, p: &FsPath) -> Val {
        match p {
            FsPath::Known(s) if s.is_empty() => Val::Unknown,
            FsPath::Known(s) => Val::Path(FsPath::Known(
                s.rsplit_once('/')
                    .map_or(String::new(), |(d, _)| d.to_owned()),
            )),
            _ => Val::Unknown,
        }
    }

    pub(crate) fn path_join(&mut self, base: Val, parts: &[Val]) -> Val {
        let mut cur = match self.force(base) {
            Val::Path(p) => p,
            _ => return Val::Unknown,
        };
        for part in parts {
            let seg = match self.force(part.clone()) {
                Val::Str(s) => s,
                Val::Path(FsPath::Other) if matches!(cur, FsPath::Known(_)) => {
                    cur = FsPath::Other;
                    continue;
                }
                _ => return Val::Unknown,
            };
            if seg.starts_with('/') {
                return Val::Unknown;
            }
            for piece in seg.split('/') {
                match (&mut cur, piece) {
                    (_, "" | ".") => {}
                    (FsPath::Known(s), "..") => {
                        if s.is_empty() {
                            return Val::Unknown;
                        }
                        *s = s
                            .rsplit_once('/')
                            .map_or(String::new(), |(d, _)| d.to_owned());
                    }
                    (FsPath::Known(s), p) => {
                        if !s.is_empty() {
                            s.push('/');
                        }
                        s.push_str(p);
                    }
                    (FsPath::Other, p) => cur = FsPath::OtherChild(p.to_owned()),
                    (FsPath::OtherChild(s), p) => {
                        s.push('/');
                        s.push_str(p);
                    }
                }
            }
        }
        Val::Path(cur)
    }

    pub(crate) fn is_dir(&self, p: &str) -> bool {
        if p.is_empty() {
            return true;
        }
        let prefix = format!("{p}/");
        self.src
            .files()
            .range(prefix.clone()..)
            .next()
            .is_some_and(|f| f.starts_with(&prefix))
    }

    pub(crate) fn path_method(&mut self, p: &FsPath, name: &str, args: &[Val]) -> Val {
        match name {
            "resolve" | "absolute" | "expanduser" => Val::Path(p.clone()),
            "joinpath" => self.path_join(Val::Path(p.clone()), args),
            "exists" | "is_dir" | "is_file" => match p {
                FsPath::Known(s) => {
                    let file = self.src.files().contains(s);
                    let dir = self.is_dir(s);
                    match name {
                        "exists" if file || dir => Val::Bool(true),
                        "is_dir" if dir => Val::Bool(true),
                        "is_dir" if file => Val::Bool(false),
                        "is_file" if file => Val::Bool(true),
                        "is_file" if dir => Val::Bool(false),
                        // A Python file djcheck does not list does not exist; other files
                        // and empty folders are not listed.
                        _ if s.ends_with(".py") && !self.src.exists_unlisted(s) => Val::Bool(false),
                        _ => Val::Unknown,
                    }
                }
                FsPath::OtherChild(s) if s.ends_with(".py") && name != "is_dir" => Val::Bool(false),
                _ => Val::Unknown,
            },
            "iterdir" => match p {
                FsPath::Known(dir) => {
                    let children = self.children(dir);
                    let mut vals: Vec<Val> = children
                        .into_iter()
                        .map(|c| Val::Path(FsPath::Known(c)))
                        .collect();
                    vals.push(Val::Path(FsPath::Other));
                    self.new_list(vals, false)
                }
                _ => Val::Unknown,
            },
            "glob" => match (p, args.first()) {
                (FsPath::Known(dir), Some(Val::Str(pat))) => {
                    let (dir, pat) = (dir.clone(), pat.clone());
                    self.glob(&dir, &pat)
                }
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }

    /// The files and folders djcheck knows directly inside `dir`, sorted.
    pub(crate) fn children(&self, dir: &str) -> Vec<String> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<String> = Vec::new();
        for f in self.src.files().range(prefix.clone()..) {
            let Some(rest) = f.strip_prefix(&prefix) else {
                break;
            };
            let first = rest.split('/').next().unwrap_or(rest);
            let child = format!("{prefix}{first}");
            if out.last() != Some(&child) {
                out.push(child);
            }
        }
        out
    }

    /// `glob` of `pattern` under `dir`: `*` and `?` within one path segment. Matches are
    /// sorted; a pattern that could also match files djcheck does not list (anything but
    /// `.py` files) gets an unknown entry.
    pub(crate) fn glob(&mut self, dir: &str, pattern: &str) -> Val {
        if pattern.contains("**") || pattern.contains('[') || pattern.starts_with('/') {
            return Val::Unknown;
        }
        let mut cur: Vec<String> = vec![dir.to_owned()];
        let segs: Vec<&str> = pattern.split('/').filter(|s| !s.is_empty()).collect();
        for seg in &segs {
            let mut next = Vec::new();
            for d in &cur {
                if *seg == ".." {
                    match self.path_parent(&FsPath::Known(d.clone())) {
                        Val::Path(FsPath::Known(p)) => next.push(p),
                        _ => return Val::Unknown,
                    }
                } else if *seg == "." {
                    next.push(d.clone());
                } else if seg.contains('*') || seg.contains('?') {
                    for c in self.children(d) {
                        let name = c.rsplit('/').next().unwrap_or(&c);
                        if wildcard(seg, name) {
                            next.push(c);
                        }
                    }
                } else {
                    let c = if d.is_empty() {
                        (*seg).to_owned()
                    } else {
                        format!("{d}/{seg}")
                    };
                    if self.src.files().contains(&c) || self.is_dir(&c) {
                        next.push(c);
                    }
                }
            }
            cur = next;
        }
        let mut vals: Vec<Val> = cur
            .into_iter()
            .map(|c| Val::Path(FsPath::Known(c)))
            .collect();
        if !segs.last().is_some_and(|s| s.ends_with(".py")) {
            vals.push(Val::Path(FsPath::Other));
        }
        self.new_list(vals, false)
    }
}

/// `fnmatch` of one path segment with `*` and `?`.
pub(crate) fn wildcard(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Hidden entries are not matched by a leading wildcard, as in `glob`.
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    let (mut pi, mut ni) = (0usize, 0usize);
    let (mut star, mut mark) = (None, 0usize);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == '*' {
        pi += 1;
    }
    pi == p.len()
}
