//! The functions module-level code calls: Python's builtins and standard library (paths,
//! listing folders, sorting, imports), the environment readers settings use (`os.environ`,
//! django-environ, environs, python-decouple, each giving its default), and
//! django-split-settings' `include()`.

use crate::interp::Interp;
use crate::value::{EnvLib, EnvRead, FsPath, Item, Val};
use djcheck_python::ast::{self, Expr};
use djcheck_python::Ranged;
use std::rc::Rc;

/// The value of a qualified name outside the project.
pub(crate) fn qual(q: &str) -> Val {
    match q {
        "django.conf.settings" => Val::Settings,
        "django.contrib.admin.site.urls" | "django.contrib.admin.sites.site.urls" => {
            Val::Admin(Some("admin".to_owned()))
        }
        "decouple.config" => Val::EnvReader(EnvLib::Decouple, Rc::new(Vec::new())),
        _ => Val::Qual(q.to_owned()),
    }
}

/// The builtins a name refers to when nothing binds it.
pub(crate) fn builtin_name(name: &str) -> Val {
    match name {
        "sorted" | "list" | "tuple" | "set" | "frozenset" | "reversed" | "str" | "enumerate"
        | "len" | "dict" | "filter" | "bool" | "int" | "globals" => {
            Val::Qual(format!("builtins.{name}"))
        }
        _ => Val::Unknown,
    }
}

impl Interp<'_> {
    pub(crate) fn builtin(&mut self, q: &str, call: &ast::ExprCall) -> Val {
        if let Some(v) = self.django_call(q, call) {
            return v;
        }
        match q {
            "pathlib.Path" | "pathlib.PurePath" | "pathlib.PosixPath" => {
                let (args, _) = self.eval_args(call);
                match args.split_first() {
                    Some((first @ Val::Path(_), rest)) => self.path_join(first.clone(), rest),
                    _ => Val::Unknown,
                }
            }
            "os.path.join" => {
                let (args, _) = self.eval_args(call);
                match args.split_first() {
                    Some((first, rest)) => self.path_join(first.clone(), rest),
                    None => Val::Unknown,
                }
            }
            "os.path.dirname" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(p)) => self.path_parent(p),
                    _ => Val::Unknown,
                }
            }
            "os.path.basename" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(p)) => self.attr(Val::Path(p.clone()), "name"),
                    Some(Val::Str(s)) => Val::Str(s.rsplit('/').next().unwrap_or(s).to_owned()),
                    _ => Val::Unknown,
                }
            }
            "os.path.abspath" | "os.path.realpath" | "os.path.normpath" | "os.path.expanduser"
            | "os.fspath" | "builtins.str" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(v @ (Val::Path(_) | Val::Str(_))) => v.clone(),
                    Some(v @ (Val::Int(_) | Val::Bool(_) | Val::None)) if q == "builtins.str" => {
                        self.text_of(v).map_or(Val::Unknown, Val::Str)
                    }
                    _ => Val::Unknown,
                }
            }
            "os.path.exists" | "os.path.isdir" | "os.path.isfile" => {
                let (args, _) = self.eval_args(call);
                let m = match q {
                    "os.path.exists" => "exists",
                    "os.path.isdir" => "is_dir",
                    _ => "is_file",
                };
                match args.first() {
                    Some(Val::Path(p)) => self.path_method(&p.clone(), m, &[]),
                    _ => Val::Unknown,
                }
            }
            "os.listdir" | "os.scandir" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(p)) => {
                        let listing = self.path_method(&p.clone(), "iterdir", &[]);
                        if q == "os.listdir" {
                            self.names_of(listing)
                        } else {
                            listing
                        }
                    }
                    _ => Val::Unknown,
                }
            }
            "glob.glob" | "glob.iglob" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Path(FsPath::Known(p))) => self.glob("", &p.clone()),
                    _ => Val::Unknown,
                }
            }
            "builtins.sorted" | "builtins.list" | "builtins.tuple" | "builtins.set"
            | "builtins.frozenset" | "builtins.reversed" => {
                let (args, kwargs) = self.eval_args(call);
                let Some(arg) = args.first().cloned() else {
                    return self.new_list(Vec::new(), q == "builtins.tuple");
                };
                let Some(mut items) = self.iter_items(arg) else {
                    return Val::Unknown;
                };
                if q == "builtins.sorted" {
                    if kwargs.contains_key("key") {
                        return Val::Unknown;
                    }
                    sort_items(&mut items);
                    if matches!(kwargs.get("reverse"), Some(Val::Bool(true))) {
                        items.reverse();
                    }
                } else if q == "builtins.reversed" {
                    items.reverse();
                } else if matches!(q, "builtins.set" | "builtins.frozenset") {
                    // A set's order is not the list's: only membership is kept.
                    dedup_items(&mut items);
                }
                Val::List(self.alloc(items, q == "builtins.tuple"))
            }
            "builtins.dict" => {
                let (args, kwargs) = self.eval_args(call);
                let mut pairs: Vec<(Val, Val)> = match args.first() {
                    None => Vec::new(),
                    Some(v) => match self.force(v.clone()) {
                        Val::Dict(d) => d.as_ref().clone(),
                        _ => return Val::Unknown,
                    },
                };
                for (k, v) in kwargs {
                    pairs.push((Val::Str(k), v));
                }
                Val::Dict(Rc::new(crate::expr::dedup_keys(pairs)))
            }
            "builtins.dict.fromkeys" => {
                let (args, _) = self.eval_args(call);
                let Some(items) = args.first().cloned().and_then(|a| self.iter_items(a)) else {
                    return Val::Unknown;
                };
                if items
                    .iter()
                    .any(|i| !self.definite(&i.cond) || i.val.is_unknown())
                {
                    return Val::Unknown;
                }
                let value = args.get(1).cloned().unwrap_or(Val::None);
                let pairs = items.into_iter().map(|i| (i.val, value.clone())).collect();
                Val::Dict(Rc::new(crate::expr::dedup_keys(pairs)))
            }
            "builtins.filter" => self.filter(call),
            "builtins.len" => {
                let (args, _) = self.eval_args(call);
                match args.first().map(|a| self.force(a.clone())) {
                    Some(Val::Str(s)) => {
                        i64::try_from(s.chars().count()).map_or(Val::Unknown, Val::Int)
                    }
                    Some(Val::List(id)) => {
                        let items = self.list_items(id);
                        if items
                            .iter()
                            .any(|i| !self.definite(&i.cond) || i.val.is_unknown())
                        {
                            Val::Unknown
                        } else {
                            i64::try_from(items.len()).map_or(Val::Unknown, Val::Int)
                        }
                    }
                    _ => Val::Unknown,
                }
            }
            "builtins.bool" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    None => Val::Bool(false),
                    Some(v) => {
                        let v = self.force(v.clone());
                        self.truth(&v).map_or(Val::Unknown, Val::Bool)
                    }
                }
            }
            "builtins.int" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Int(i)) => Val::Int(*i),
                    Some(Val::Bool(b)) => Val::Int(i64::from(*b)),
                    Some(Val::Str(s)) => s.trim().parse::<i64>().map_or(Val::Unknown, Val::Int),
                    _ => Val::Unknown,
                }
            }
            "builtins.enumerate" => {
                let (args, _) = self.eval_args(call);
                let Some(items) = args.first().cloned().and_then(|a| self.iter_items(a)) else {
                    return Val::Unknown;
                };
                let mut out = Vec::new();
                for (i, it) in items.into_iter().enumerate() {
                    let pair =
                        self.new_list(vec![Val::Int(i64::try_from(i).unwrap_or(0)), it.val], true);
                    out.push(Item { val: pair, ..it });
                }
                Val::List(self.alloc(out, false))
            }
            "importlib.import_module" => {
                let (args, _) = self.eval_args(call);
                match args.first().and_then(|a| a.as_str().map(str::to_owned)) {
                    Some(m) => {
                        self.note_import(&m);
                        self.module_value(&m)
                    }
                    None => {
                        if self.try_depth > 0 {
                            self.may_raise = true;
                        }
                        Val::Unknown
                    }
                }
            }
            "importlib.util.find_spec" => {
                let (args, _) = self.eval_args(call);
                match args.first().and_then(|a| a.as_str().map(str::to_owned)) {
                    Some(m) if self.resolves(&m) => Val::Bool(true),
                    Some(m) if self.src.is_missing_project_module(&m) => Val::None,
                    _ => Val::Unknown,
                }
            }
            // Environment readers.
            "os.environ.get" | "os.getenv" | "os.environ.setdefault" => {
                let (args, kwargs) = self.eval_args(call);
                let var = args.first().and_then(|v| v.as_str().map(str::to_owned));
                let default = args.get(1).or_else(|| kwargs.get("default")).cloned();
                self.env_value(var, default)
            }
            "environ.Env" | "environ.FileAwareEnv" | "environ.environ.Env" => {
                let (_, kwargs) = self.eval_args(call);
                let mut scheme = Vec::new();
                for (k, v) in kwargs {
                    // `DEBUG=(bool, False)`: the default is the tuple's second item.
                    if let Val::List(id) = v {
                        let items = self.list_items(id);
                        if let Some(d) = items.get(1) {
                            scheme.push((k, d.val.clone()));
                        }
                    }
                }
                Val::EnvReader(EnvLib::DjangoEnviron, Rc::new(scheme))
            }
            "environs.Env" => {
                self.eval_args(call);
                Val::EnvReader(EnvLib::Environs, Rc::new(Vec::new()))
            }
            "decouple.AutoConfig" | "decouple.Config" => {
                self.eval_args(call);
                Val::EnvReader(EnvLib::Decouple, Rc::new(Vec::new()))
            }
            // django-split-settings.
            "split_settings.tools.optional" => {
                let (args, _) = self.eval_args(call);
                match args.first() {
                    Some(Val::Str(s)) => Val::OptionalFile(s.clone()),
                    Some(Val::None) => Val::OptionalFile(String::new()),
                    _ => Val::Unknown,
                }
            }
            "split_settings.tools.include" => self.split_include(call),
            q if q.starts_with("os.environ.") || q == "os.environ" => {
                self.eval_args(call);
                Val::Unknown
            }
            _ => self.opaque_call(call),
        }
    }

    /// Names of the entries of a listing (`os.listdir`), not their paths.
    fn names_of(&mut self, listing: Val) -> Val {
        match listing {
            Val::List(id) => {
                let items = self.list_items(id);
                let names: Vec<Val> = items
                    .into_iter()
                    .map(|i| match i.val {
                        Val::Path(FsPath::Known(s)) => {
                            Val::Str(s.rsplit('/').next().unwrap_or(&s).to_owned())
                        }
                        // The name of an entry djcheck does not know: joined to its
                        // folder, it is such an entry.
                        other => other,
                    })
                    .collect();
                self.new_list(names, false)
            }
            other => other,
        }
    }

    /// `filter(f, items)` with `None`, a lambda of one parameter, or a function of the
    /// module.
    fn filter(&mut self, call: &ast::ExprCall) -> Val {
        let [func, iterable] = call.arguments.args.as_ref() else {
            self.eval_args(call);
            return Val::Unknown;
        };
        let iterable = self.eval(iterable);
        let Some(items) = self.iter_items(iterable) else {
            return Val::Unknown;
        };
        let lambda = match func {
            Expr::NoneLiteral(_) => None,
            Expr::Lambda(l) => {
                let params = l.parameters.as_deref();
                match params.map(|p| (p.posonlyargs.len() + p.args.len(), p)) {
                    Some((1, p)) => {
                        let param = p
                            .posonlyargs
                            .iter()
                            .chain(p.args.iter())
                            .next()
                            .map(|a| a.parameter.name.id.as_str().to_owned());
                        param.map(|n| (n, l.body.as_ref()))
                    }
                    _ => return Val::Unknown,
                }
            }
            _ => return Val::Unknown,
        };
        let mut out = Vec::new();
        for it in items {
            let keep = match &lambda {
                None => {
                    let v = self.force(it.val.clone());
                    self.truth(&v)
                }
                Some((param, body)) => {
                    let mut frame = crate::interp::Frame::new(crate::interp::FrameKind::Function);
                    if let Some(f) = self.st.frames.last() {
                        if f.kind == crate::interp::FrameKind::Function {
                            frame.locals = f.locals.clone();
                        }
                    }
                    frame.locals.insert(param.clone(), it.val.clone());
                    self.st.frames.push(frame);
                    let v = self.eval(body);
                    self.st.frames.pop();
                    self.truth(&v)
                }
            };
            match keep {
                Some(true) => out.push(it),
                Some(false) => {}
                None => {
                    let b = self.new_branch(self.span(call.range()));
                    let mut it = it;
                    it.cond = it.cond.and(&crate::cond::Cond::arm(b, 1));
                    out.push(it);
                }
            }
        }
        Val::List(self.alloc(out, false))
    }

    /// The value an environment read gives: its default (remembered as such), or
    /// unknown when there is none.
    pub(crate) fn env_value(&mut self, var: Option<String>, default: Option<Val>) -> Val {
        let has_default = default.is_some();
        self.env_read = Some(EnvRead { var, has_default });
        default.unwrap_or(Val::Unknown)
    }

    /// A call of an environment reader object, or of one of its methods (`method`).
    pub(crate) fn env_reader_call(
        &mut self,
        lib: EnvLib,
        scheme: &[(String, Val)],
        method: Option<&str>,
        call: &ast::ExprCall,
    ) -> Val {
        let (args, kwargs) = self.eval_args(call);
        let var = args.first().and_then(|v| v.as_str().map(str::to_owned));
        let positional_default = match (lib, method) {
            // django-environ's `env(var, cast, default)`.
            (EnvLib::DjangoEnviron, None) => None,
            // python-decouple's `config(var, default, cast)`.
            _ => args.get(1).cloned(),
        };
        let mut default = kwargs.get("default").cloned().or(positional_default);
        if default.is_none() {
            if let Some(v) = &var {
                default = scheme.iter().find(|(k, _)| k == v).map(|(_, d)| d.clone());
            }
        }
        let cast = kwargs.get("cast").cloned().or_else(|| match (lib, method) {
            (EnvLib::Decouple, None) => args.get(2).cloned(),
            _ => None,
        });
        let default = match (lib, default, cast) {
            // python-decouple applies the cast to the default too.
            (EnvLib::Decouple, Some(d), Some(c)) => Some(decouple_cast(&d, &c)),
            (_, d, _) => d,
        };
        self.env_value(var, default)
    }

    /// django-split-settings' `include(*patterns)`: each file matching, in order, run in
    /// this module's namespace; `optional()` ones may be missing.
    fn split_include(&mut self, call: &ast::ExprCall) -> Val {
        let (args, _) = self.eval_args(call);
        let Some(cx) = self.cx() else {
            return Val::None;
        };
        let dir = cx
            .rel
            .rsplit_once('/')
            .map_or(String::new(), |(d, _)| d.to_owned());
        for a in args {
            let (pattern, optional) = match self.force(a) {
                Val::Str(s) => (s, false),
                Val::OptionalFile(s) if s.is_empty() => continue,
                Val::OptionalFile(s) => (s, true),
                _ => {
                    self.unknown_include(call.range());
                    continue;
                }
            };
            let joined =
                match self.path_join(Val::Path(FsPath::Known(dir.clone())), &[Val::Str(pattern)]) {
                    Val::Path(FsPath::Known(p)) => p,
                    _ => {
                        self.unknown_include(call.range());
                        continue;
                    }
                };
            let files: Vec<String> = match self.glob("", &joined) {
                Val::List(id) => self
                    .list_items(id)
                    .into_iter()
                    .filter_map(|i| match i.val {
                        Val::Path(FsPath::Known(p)) if p.ends_with(".py") => Some(p),
                        _ => None,
                    })
                    .collect(),
                _ => {
                    self.unknown_include(call.range());
                    continue;
                }
            };
            if files.is_empty() && !optional {
                // Python raises here; the settings the project runs with are elsewhere.
                self.unknown_include(call.range());
            }
            for f in files {
                if !self.exec_file_here(&f) {
                    self.unknown_include(call.range());
                }
            }
        }
        Val::None
    }

    /// A settings file that should be run here but can't be read: like a star import of
    /// an unreadable module, it may rebind anything.
    fn unknown_include(&mut self, range: djcheck_python::TextRange) {
        let span = self.span(range);
        if self.st.frames.is_empty() {
            for o in self.st.origins.values_mut() {
                o.overridden_at = Some(span);
            }
        }
        self.st.star_unknown = Some(span);
    }

    /// Methods of strings.
    pub(crate) fn str_method(&mut self, s: &str, name: &str, args: &[Val]) -> Val {
        let arg = |i: usize| args.get(i).and_then(Val::as_str);
        match name {
            "startswith" | "endswith" => {
                let test = |p: &str| {
                    if name == "startswith" {
                        s.starts_with(p)
                    } else {
                        s.ends_with(p)
                    }
                };
                match args.first() {
                    Some(Val::Str(p)) => Val::Bool(test(p)),
                    Some(Val::List(id)) => {
                        let items = self.list_items(*id);
                        let mut any = false;
                        for i in &items {
                            match i.val.as_str() {
                                Some(p) => any |= test(p),
                                None => return Val::Unknown,
                            }
                        }
                        Val::Bool(any)
                    }
                    _ => Val::Unknown,
                }
            }
            "replace" => match (arg(0), arg(1)) {
                (Some(a), Some(b)) if args.len() == 2 && !a.is_empty() => {
                    let out = s.replace(a, b);
                    self.text(out)
                }
                _ => Val::Unknown,
            },
            "lower" => Val::Str(s.to_lowercase()),
            "upper" => Val::Str(s.to_uppercase()),
            "title" | "capitalize" | "casefold" | "swapcase" => Val::Unknown,
            "strip" | "lstrip" | "rstrip" => {
                let chars: Option<Vec<char>> = match args.first() {
                    None | Some(Val::None) => None,
                    Some(Val::Str(c)) => Some(c.chars().collect()),
                    _ => return Val::Unknown,
                };
                let pred = |c: char| match &chars {
                    None => c.is_whitespace(),
                    Some(cs) => cs.contains(&c),
                };
                Val::Str(match name {
                    "strip" => s.trim_matches(pred).to_owned(),
                    "lstrip" => s.trim_start_matches(pred).to_owned(),
                    _ => s.trim_end_matches(pred).to_owned(),
                })
            }
            "removeprefix" => arg(0).map_or(Val::Unknown, |p| {
                Val::Str(s.strip_prefix(p).unwrap_or(s).to_owned())
            }),
            "removesuffix" => arg(0).map_or(Val::Unknown, |p| {
                Val::Str(s.strip_suffix(p).unwrap_or(s).to_owned())
            }),
            "split" | "rsplit" => {
                let Some(sep) = arg(0) else {
                    return Val::Unknown;
                };
                if sep.is_empty() {
                    return Val::Unknown;
                }
                let max = match args.get(1) {
                    None => None,
                    Some(Val::Int(n)) if *n >= 0 => usize::try_from(*n).ok(),
                    Some(Val::Int(_)) => None,
                    _ => return Val::Unknown,
                };
                let parts: Vec<String> = match (name, max) {
                    ("split", None) => s.split(sep).map(str::to_owned).collect(),
                    ("split", Some(n)) => s.splitn(n + 1, sep).map(str::to_owned).collect(),
                    (_, None) => s.split(sep).map(str::to_owned).collect(),
                    (_, Some(n)) => {
                        let mut v: Vec<String> = s.rsplitn(n + 1, sep).map(str::to_owned).collect();
                        v.reverse();
                        v
                    }
                };
                self.new_list(parts.into_iter().map(Val::Str).collect(), false)
            }
            "format" => {
                let mut texts = Vec::with_capacity(args.len());
                for a in args {
                    texts.push(self.text_of(a));
                }
                match str_format(s, &texts) {
                    Some(out) => self.text(out),
                    None => Val::Unknown,
                }
            }
            "join" => match args.first() {
                Some(Val::List(id)) => {
                    let items = self.list_items(*id);
                    let mut parts = Vec::new();
                    for i in items {
                        if !self.definite(&i.cond) {
                            return Val::Unknown;
                        }
                        match self.text_of(&i.val) {
                            Some(p) if matches!(i.val, Val::Str(_) | Val::Translated(_)) => {
                                parts.push(p)
                            }
                            _ => return Val::Unknown,
                        }
                    }
                    let out = parts.join(s);
                    self.text(out)
                }
                _ => Val::Unknown,
            },
            _ => Val::Unknown,
        }
    }
}

/// python-decouple's cast of a default: `bool` of a string uses its `strtobool`, `int`,
/// `Csv()`; other casts are unknown.
fn decouple_cast(default: &Val, cast: &Val) -> Val {
    match (cast, default) {
        (Val::Qual(q), Val::Bool(b)) if q == "builtins.bool" => Val::Bool(*b),
        (Val::Qual(q), Val::Str(s)) if q == "builtins.bool" => match s.to_lowercase().as_str() {
            "y" | "yes" | "t" | "true" | "on" | "1" => Val::Bool(true),
            "n" | "no" | "f" | "false" | "off" | "0" | "" => Val::Bool(false),
            _ => Val::Unknown,
        },
        (Val::Qual(q), Val::Int(i)) if q == "builtins.int" => Val::Int(*i),
        (Val::Qual(q), Val::Str(s)) if q == "builtins.int" => {
            s.trim().parse::<i64>().map_or(Val::Unknown, Val::Int)
        }
        (Val::Qual(q), v @ Val::Str(_)) if q == "builtins.str" => v.clone(),
        _ => Val::Unknown,
    }
}

/// `str.format` with positional and automatic fields and no format specs.
fn str_format(fmt: &str, args: &[Option<String>]) -> Option<String> {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let mut field = String::new();
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                    field.push(c);
                }
                let idx = if field.is_empty() {
                    next += 1;
                    next - 1
                } else {
                    field.parse::<usize>().ok()?
                };
                out.push_str(args.get(idx)?.as_deref()?);
                if out.len() > crate::interp::MAX_STR_BYTES {
                    return None;
                }
            }
            c => out.push(c),
        }
    }
    Some(out)
}

/// `fmt % args` with `%s` (and `%d` of integers written as text) only.
pub(crate) fn percent_format(fmt: &str, args: &[String]) -> Option<String> {
    let mut out = String::new();
    let mut it = args.iter();
    let mut chars = fmt.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('s') => out.push_str(it.next()?),
            Some('d') => {
                let a = it.next()?;
                a.parse::<i64>().ok()?;
                out.push_str(a);
            }
            _ => return None,
        }
        if out.len() > crate::interp::MAX_STR_BYTES {
            return None;
        }
    }
    if it.next().is_some() {
        return None;
    }
    Some(out)
}

pub(crate) fn sort_items(items: &mut [Item]) {
    fn key(v: &Val) -> Option<String> {
        match v {
            Val::Str(s) => Some(s.clone()),
            Val::Path(FsPath::Known(p)) => Some(p.clone()),
            _ => None,
        }
    }
    // Unknown values cannot be placed; they go last, in order.
    items.sort_by(|a, b| match (key(&a.val), key(&b.val)) {
        (Some(x), Some(y)) => x.cmp(&y),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    });
}

/// Drops later duplicates of plain values (a `set()` of a list).
fn dedup_items(items: &mut Vec<Item>) {
    let mut seen: Vec<Val> = Vec::new();
    items.retain(|i| {
        if !i.val.is_plain() || !i.cond.is_always() {
            return true;
        }
        if seen.contains(&i.val) {
            return false;
        }
        seen.push(i.val.clone());
        true
    });
}
