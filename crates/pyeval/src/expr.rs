//! Expressions: literals, names, attributes, operators, comparisons, subscripts,
//! comprehensions, calls and the methods of known values.

use crate::cond::Cond;
use crate::interp::{
    describe, is_uncertain_item, Frame, FrameKind, Interp, MAX_ITERATIONS, MAX_STR_BYTES,
};
use crate::value::{FsPath, Item, Val, Via};
use crate::Limit;
use djcheck_python::ast::{self, Expr};
use djcheck_python::{eval, Ranged};
use std::collections::BTreeMap;
use std::rc::Rc;

impl Interp<'_> {
    /// Evaluates an expression; anything not statically known is [`Val::Unknown`].
    pub(crate) fn eval(&mut self, e: &Expr) -> Val {
        if !self.step() {
            return Val::Unknown;
        }
        match e {
            Expr::StringLiteral(s) => self.text(s.value.to_str().to_owned()),
            Expr::NumberLiteral(_) => eval::int_value(e).map_or(Val::Unknown, Val::Int),
            Expr::BooleanLiteral(b) => Val::Bool(b.value),
            Expr::NoneLiteral(_) => Val::None,
            Expr::FString(f) => self.fstring(f),
            Expr::Name(n) => self.lookup(n.id.as_str()),
            Expr::Attribute(a) => {
                let base = self.eval(&a.value);
                self.attr(base, a.attr.id.as_str())
            }
            Expr::List(_) | Expr::Tuple(_) | Expr::Set(_) => {
                let elts: &[Expr] = match e {
                    Expr::List(l) => &l.elts,
                    Expr::Tuple(t) => &t.elts,
                    Expr::Set(s) => &s.elts,
                    _ => &[],
                };
                let mut items = Vec::new();
                for el in elts {
                    if let Expr::Starred(s) = el {
                        let v = self.eval(&s.value);
                        match self.force(v) {
                            Val::List(id) => {
                                let reach = self.st.reach.clone();
                                for mut it in self.list_items(id) {
                                    it.cond = it.cond.and(&reach);
                                    items.push(it);
                                }
                            }
                            _ => items.push(self.item(Val::Unknown)),
                        }
                        continue;
                    }
                    let v = self.eval(el);
                    items.push(self.item(v));
                }
                Val::List(self.alloc(items, matches!(e, Expr::Tuple(_))))
            }
            Expr::Dict(d) => {
                let mut pairs = Vec::new();
                for it in &d.items {
                    match &it.key {
                        Some(k) => {
                            let k = self.eval(k);
                            let v = self.eval(&it.value);
                            pairs.push((k, v));
                        }
                        None => {
                            let v = self.eval(&it.value);
                            match self.force(v) {
                                Val::Dict(more) => pairs.extend(more.iter().cloned()),
                                _ => pairs.push((Val::Unknown, Val::Unknown)),
                            }
                        }
                    }
                }
                Val::Dict(Rc::new(dedup_keys(pairs)))
            }
            Expr::Call(c) => self.eval_call(c),
            Expr::BinOp(b) => {
                let l = self.eval(&b.left);
                let r = self.eval(&b.right);
                match b.op {
                    ast::Operator::Add => self.binop_add(l, r),
                    ast::Operator::Div => self.path_join(l, &[r]),
                    ast::Operator::Mod => self.percent(l, r),
                    ast::Operator::BitOr => match (self.force(l), self.force(r)) {
                        // `d1 | d2`: the right-hand dict wins.
                        (Val::Dict(a), Val::Dict(b)) => {
                            let mut items = a.as_ref().clone();
                            items.extend(b.iter().cloned());
                            Val::Dict(Rc::new(dedup_keys(items)))
                        }
                        _ => Val::Unknown,
                    },
                    _ => Val::Unknown,
                }
            }
            Expr::Compare(c) => self.compare(c),
            Expr::BoolOp(b) => {
                let is_and = matches!(b.op, ast::BoolOp::And);
                let mut result = Some(is_and);
                let mut last = Val::Unknown;
                for v in &b.values {
                    let v = self.eval(v);
                    match self.truth(&v) {
                        Some(t) if t != is_and => return v,
                        Some(_) => {}
                        None => result = None,
                    }
                    last = v;
                }
                // All operands decided and none short-circuited: the last one's value.
                match result {
                    Some(_) => last,
                    None => Val::Unknown,
                }
            }
            Expr::UnaryOp(u) => {
                let v = self.eval(&u.operand);
                match u.op {
                    ast::UnaryOp::Not => self.truth(&v).map_or(Val::Unknown, |t| Val::Bool(!t)),
                    ast::UnaryOp::USub => match v {
                        Val::Int(i) => i.checked_neg().map_or(Val::Unknown, Val::Int),
                        _ => Val::Unknown,
                    },
                    _ => Val::Unknown,
                }
            }
            Expr::If(i) => {
                let t = self.eval(&i.test);
                match self.truth(&t) {
                    Some(true) => self.eval(&i.body),
                    Some(false) => self.eval(&i.orelse),
                    None => {
                        let a = self.eval(&i.body);
                        let b = self.eval(&i.orelse);
                        if a == b {
                            a
                        } else {
                            Val::one_of(vec![a, b])
                        }
                    }
                }
            }
            Expr::ListComp(c) => self.comprehension(&c.elt, &c.generators),
            Expr::SetComp(c) => self.comprehension(&c.elt, &c.generators),
            Expr::Generator(g) => self.comprehension(&g.elt, &g.generators),
            Expr::Subscript(s) => self.subscript(s),
            Expr::Lambda(_) => Val::Callable { certain: true },
            Expr::Named(n) => {
                let v = self.eval(&n.value);
                self.assign(&n.target, v.clone(), n.range());
                v
            }
            _ => Val::Unknown,
        }
    }

    /// A string value, unless it is larger than the evaluator keeps.
    pub(crate) fn text(&mut self, s: String) -> Val {
        if s.len() > MAX_STR_BYTES {
            let span = self.cx.as_ref().map(|c| {
                djcheck_diagnostics::Span::new(c.file, djcheck_python::TextRange::default())
            });
            self.hit(Limit::StrSize, span);
            return Val::Unknown;
        }
        Val::Str(s)
    }

    fn fstring(&mut self, f: &ast::ExprFString) -> Val {
        let mut out = String::new();
        for part in f.value.iter() {
            match part {
                ast::FStringPart::Literal(l) => out.push_str(&l.value),
                ast::FStringPart::FString(fs) => {
                    for el in &fs.elements {
                        match el {
                            ast::InterpolatedStringElement::Literal(l) => out.push_str(&l.value),
                            ast::InterpolatedStringElement::Interpolation(i) => {
                                if i.format_spec.is_some()
                                    || i.debug_text.is_some()
                                    || !matches!(
                                        i.conversion,
                                        ast::ConversionFlag::None | ast::ConversionFlag::Str
                                    )
                                {
                                    return Val::Unknown;
                                }
                                let v = self.eval(&i.expression);
                                match self.text_of(&v) {
                                    Some(s) => out.push_str(&s),
                                    None => return Val::Unknown,
                                }
                                if out.len() > MAX_STR_BYTES {
                                    return self.text(out);
                                }
                            }
                        }
                    }
                }
            }
        }
        self.text(out)
    }

    /// `str(v)`, when known.
    pub(crate) fn text_of(&mut self, v: &Val) -> Option<String> {
        match self.force(v.clone()) {
            Val::Str(s) | Val::Translated(s) => Some(s),
            Val::Int(i) => Some(i.to_string()),
            Val::Bool(b) => Some(if b { "True" } else { "False" }.to_owned()),
            Val::None => Some("None".to_owned()),
            Val::AppConfig(a) => Some(a.name.clone()),
            Val::Path(FsPath::Known(p)) => Some(p),
            _ => None,
        }
    }

    /// Applies `f` to each alternative of a [`Val::OneOf`] operand (to the value itself
    /// otherwise), giving the alternatives of the result.
    fn map_alts(&mut self, l: Val, r: Val, f: fn(&mut Self, Val, Val) -> Val) -> Val {
        if !matches!(l, Val::OneOf(_)) && !matches!(r, Val::OneOf(_)) {
            return f(self, l, r);
        }
        let mut out = Vec::new();
        for a in l.alternatives() {
            for b in r.alternatives() {
                out.push(f(self, a.clone(), b));
            }
        }
        Val::one_of(out)
    }

    pub(crate) fn binop_add(&mut self, l: Val, r: Val) -> Val {
        let l = self.force(l);
        let r = self.force(r);
        self.map_alts(l, r, Self::add_one)
    }

    fn add_one(&mut self, l: Val, r: Val) -> Val {
        match (&l, &r) {
            (Val::Str(a), Val::Str(b)) => {
                if a.len() + b.len() > MAX_STR_BYTES {
                    return self.text(String::new() + a + b);
                }
                Val::Str(format!("{a}{b}"))
            }
            (Val::Int(a), Val::Int(b)) => a.checked_add(*b).map_or(Val::Unknown, Val::Int),
            (Val::List(a), Val::List(b)) => {
                let mut items = self.list_items(*a);
                items.extend(self.list_items(*b));
                let tuple = self.is_tuple(*a);
                let open = self.st.heap.get(a).is_some_and(|l| l.open)
                    || self.st.heap.get(b).is_some_and(|l| l.open);
                let id = self.alloc(items, tuple);
                if open {
                    self.open_list(id);
                }
                Val::List(id)
            }
            (Val::List(a), _) => {
                let mut items = self.list_items(*a);
                items.push(self.item(Val::Unknown));
                Val::List(self.alloc(items, false))
            }
            (_, Val::List(b)) => {
                let mut items = vec![self.item(Val::Unknown)];
                items.extend(self.list_items(*b));
                Val::List(self.alloc(items, false))
            }
            _ => Val::Unknown,
        }
    }

    /// `fmt % args`.
    fn percent(&mut self, l: Val, r: Val) -> Val {
        let l = self.force(l);
        let Some(fmt) = l.as_str().map(str::to_owned) else {
            return Val::Unknown;
        };
        let args: Option<Vec<String>> = match self.force(r) {
            Val::List(id) => {
                let items = self.list_items(id);
                items.iter().map(|i| self.text_of(&i.val)).collect()
            }
            Val::Dict(_) => None,
            other => self.text_of(&other).map(|s| vec![s]),
        };
        match args.and_then(|a| crate::builtins::percent_format(&fmt, &a)) {
            Some(s) => self.text(s),
            None => Val::Unknown,
        }
    }

    fn compare(&mut self, c: &ast::ExprCompare) -> Val {
        let mut left = self.eval(&c.left);
        let mut result = Some(true);
        for (op, right) in c.ops.iter().zip(c.comparators.iter()) {
            let r = self.eval(right);
            let l = self.force(left.clone());
            let rf = self.force(r.clone());
            let v = match op {
                ast::CmpOp::Eq => self.equals(&l, &rf),
                ast::CmpOp::NotEq => self.equals(&l, &rf).map(|b| !b),
                ast::CmpOp::In => self.contains(&rf, &l),
                ast::CmpOp::NotIn => self.contains(&rf, &l).map(|b| !b),
                ast::CmpOp::Is => match (&l, &rf) {
                    (Val::None, Val::None) => Some(true),
                    (Val::None, x) | (x, Val::None) if is_known_not_none(x) => Some(false),
                    _ => None,
                },
                ast::CmpOp::IsNot => match (&l, &rf) {
                    (Val::None, Val::None) => Some(false),
                    (Val::None, x) | (x, Val::None) if is_known_not_none(x) => Some(true),
                    _ => None,
                },
                _ => None,
            };
            match v {
                Some(false) => return Val::Bool(false),
                Some(true) => {}
                None => result = None,
            }
            left = r;
        }
        result.map_or(Val::Unknown, Val::Bool)
    }

    pub(crate) fn equals(&self, a: &Val, b: &Val) -> Option<bool> {
        match (a, b) {
            (Val::OneOf(xs), y) | (y, Val::OneOf(xs)) => {
                let mut out = None;
                for x in xs.iter() {
                    let e = self.equals(x, y)?;
                    if out.is_some_and(|o| o != e) {
                        return None;
                    }
                    out = Some(e);
                }
                out
            }
            (Val::Str(x), Val::Str(y)) => Some(x == y),
            (Val::Int(x), Val::Int(y)) => Some(x == y),
            (Val::Bool(x), Val::Bool(y)) => Some(x == y),
            (Val::None, Val::None) => Some(true),
            (Val::Str(_), Val::Int(_) | Val::None | Val::Bool(_))
            | (Val::Int(_) | Val::None | Val::Bool(_), Val::Str(_)) => Some(false),
            _ => None,
        }
    }

    pub(crate) fn contains(&mut self, container: &Val, needle: &Val) -> Option<bool> {
        match container {
            Val::Str(hay) => needle.as_str().map(|n| hay.contains(n)),
            Val::List(id) => {
                let items = self.list_items(*id);
                let mut unknown = self.st.heap.get(id).is_some_and(|l| l.open);
                for it in &items {
                    let v = self.force(it.val.clone());
                    match self.equals(&v, needle) {
                        Some(true) if self.definite(&it.cond) => return Some(true),
                        Some(false) => {}
                        _ => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Val::Dict(d) => {
                let mut unknown = false;
                for (k, _) in d.iter() {
                    match self.equals(k, needle) {
                        Some(true) => return Some(true),
                        Some(false) => {}
                        None => unknown = true,
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            _ => None,
        }
    }

    fn subscript(&mut self, s: &ast::ExprSubscript) -> Val {
        let base = self.eval(&s.value);
        let base = self.force(base);
        if let Expr::Slice(sl) = s.slice.as_ref() {
            return self.slice(base, sl);
        }
        let key = self.eval(&s.slice);
        if matches!(&base, Val::Qual(q) if q == "os.environ") {
            // `os.environ["X"]`: set where the project runs, unknown here.
            let var = key.as_str().map(str::to_owned);
            return self.env_value(var, None);
        }
        match (&base, &key) {
            (Val::List(id), Val::Int(i)) => {
                let items = self.list_items(*id);
                if items
                    .iter()
                    .any(|it| !self.definite(&it.cond) || it.val.is_unknown())
                {
                    return Val::Unknown;
                }
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let idx = if *i < 0 { len + i } else { *i };
                usize::try_from(idx)
                    .ok()
                    .and_then(|x| items.get(x))
                    .map_or(Val::Unknown, |it| it.val.clone())
            }
            (Val::Dict(d), k) => {
                // The last entry with that key wins, as in a dict display.
                for (dk, dv) in d.iter().rev() {
                    match self.equals(dk, k) {
                        Some(true) => return dv.clone(),
                        Some(false) => {}
                        None => return Val::Unknown,
                    }
                }
                Val::Unknown
            }
            (Val::Str(st), Val::Int(i)) => {
                let chars: Vec<char> = st.chars().collect();
                let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
                let idx = if *i < 0 { len + i } else { *i };
                usize::try_from(idx)
                    .ok()
                    .and_then(|x| chars.get(x))
                    .map_or(Val::Unknown, |c| Val::Str(c.to_string()))
            }
            _ => Val::Unknown,
        }
    }

    /// `seq[a:b]` with literal bounds and no step, on lists known item by item.
    fn slice(&mut self, base: Val, sl: &ast::ExprSlice) -> Val {
        if sl.step.is_some() {
            return Val::Unknown;
        }
        let bound = |e: &Option<Box<Expr>>, it: &mut Self| -> Option<Option<i64>> {
            match e {
                None => Some(None),
                Some(e) => match it.eval(e) {
                    Val::Int(i) => Some(Some(i)),
                    Val::None => Some(None),
                    _ => None,
                },
            }
        };
        let (Some(lo), Some(hi)) = (bound(&sl.lower, self), bound(&sl.upper, self)) else {
            return Val::Unknown;
        };
        let clamp = |v: Option<i64>, len: i64, default: i64| -> usize {
            let v = v.unwrap_or(default);
            let v = if v < 0 { (len + v).max(0) } else { v.min(len) };
            usize::try_from(v).unwrap_or(0)
        };
        match base {
            Val::List(id) => {
                let items = self.list_items(id);
                if items.iter().any(|it| !self.definite(&it.cond)) {
                    return Val::Unknown;
                }
                let len = i64::try_from(items.len()).unwrap_or(i64::MAX);
                let (a, b) = (clamp(lo, len, 0), clamp(hi, len, len));
                let picked = if a < b {
                    items[a..b].to_vec()
                } else {
                    Vec::new()
                };
                let tuple = self.is_tuple(id);
                Val::List(self.alloc(picked, tuple))
            }
            Val::Str(s) => {
                let chars: Vec<char> = s.chars().collect();
                let len = i64::try_from(chars.len()).unwrap_or(i64::MAX);
                let (a, b) = (clamp(lo, len, 0), clamp(hi, len, len));
                Val::Str(if a < b {
                    chars[a..b].iter().collect()
                } else {
                    String::new()
                })
            }
            _ => Val::Unknown,
        }
    }

    fn comprehension(&mut self, elt: &Expr, gens: &[ast::Comprehension]) -> Val {
        let mut out = Vec::new();
        let saved = self.st.frames.len();
        // Comprehension variables live in their own scope; names not bound there are
        // looked up in the enclosing function's scope, then the module's.
        let mut frame = Frame::new(FrameKind::Function);
        if saved > 0 {
            if let Some(f) = self.st.frames.get(saved - 1) {
                if f.kind == FrameKind::Function {
                    frame.locals = f.locals.clone();
                }
            }
        }
        self.st.frames.push(frame);
        self.comp_level(elt, gens, &mut out);
        self.st.frames.truncate(saved);
        Val::List(self.alloc(out, false))
    }

    fn comp_level(&mut self, elt: &Expr, gens: &[ast::Comprehension], out: &mut Vec<Item>) {
        let Some((g, rest)) = gens.split_first() else {
            let v = self.eval(elt);
            out.push(self.item(v));
            return;
        };
        let iterable = self.eval(&g.iter);
        let loop_span = self.span(g.iter.range());
        let Some(items) = self.iter_items(iterable) else {
            out.push(self.item(Val::Unknown));
            return;
        };
        let outer = self.st.reach.clone();
        for (n, it) in items.into_iter().enumerate() {
            if n >= MAX_ITERATIONS || is_uncertain_item(&it.val) {
                out.push(self.item(Val::Unknown));
                if n >= MAX_ITERATIONS {
                    self.hit(Limit::Iterations, Some(loop_span));
                    break;
                }
                continue;
            }
            self.st.reach = outer.and(&it.cond);
            self.assign(&g.target, it.val.clone(), g.range());
            let mut keep = true;
            for cond in &g.ifs {
                let v = self.eval(cond);
                match self.truth(&v) {
                    Some(true) => {}
                    Some(false) => {
                        keep = false;
                        break;
                    }
                    None => {
                        let b = self.new_branch(self.span(cond.range()));
                        self.st.reach = self.st.reach.and(&Cond::arm(b, 1));
                    }
                }
            }
            if keep {
                self.via.push(Rc::new(Via {
                    loop_span,
                    item: describe(&it.val),
                }));
                self.comp_level(elt, rest, out);
                self.via.pop();
            }
        }
        self.st.reach = outer;
    }

    pub(crate) fn attr(&mut self, base: Val, attr: &str) -> Val {
        match base {
            Val::Module(m) => {
                let full = format!("{m}.{attr}");
                if self.resolves(&full) {
                    Val::Module(full)
                } else {
                    Val::Symbol(m, attr.to_owned())
                }
            }
            Val::Symbol(m, n) => Val::Symbol(m, format!("{n}.{attr}")),
            Val::Qual(q) => crate::builtins::qual(&format!("{q}.{attr}")),
            Val::Path(p) => self.path_attr(&p, attr),
            Val::Settings => self.setting(attr),
            Val::AppConfig(a) => match attr {
                "name" => Val::Str(a.name.clone()),
                "label" => a.label.clone().map_or(Val::Unknown, Val::Str),
                "path" => a
                    .dir
                    .clone()
                    .map_or(Val::Unknown, |d| Val::Path(FsPath::Known(d))),
                "module" => self.module_value(&a.name),
                _ => Val::Unknown,
            },
            Val::Class(c) => self.class_attr(&c, attr, 0),
            _ => Val::Unknown,
        }
    }

    /// An attribute of a class: its own, else its bases' (in order; unknown as soon as
    /// a base is not a class known here).
    fn class_attr(&mut self, c: &crate::value::ClassVal, attr: &str, depth: usize) -> Val {
        if let Some(v) = c.attrs.get(attr) {
            return v.clone();
        }
        if depth > 8 {
            return Val::Unknown;
        }
        for b in c.bases.clone() {
            match self.force(b) {
                Val::Class(bc) => {
                    let v = self.class_attr(&bc, attr, depth + 1);
                    if !matches!(v, Val::Unknown) {
                        return v;
                    }
                    if !bc.attrs.contains_key(attr) {
                        continue;
                    }
                    return v;
                }
                // `object` and Django's own bases rarely define what is asked here, but
                // they may: unknown.
                _ => return Val::Unknown,
            }
        }
        Val::Unknown
    }

    /// `django.conf.settings.NAME` in a module other than the settings: only the
    /// settings that do not vary between the places a project runs are decided here
    /// (INSTALLED_APPS, BASE_DIR); the others (DEBUG above all) stay unknown, so both
    /// arms of `if settings.DEBUG:` are kept.
    fn setting(&mut self, name: &str) -> Val {
        if !matches!(name, "INSTALLED_APPS" | "BASE_DIR") {
            return Val::Unknown;
        }
        let Some(module) = self.mem.settings_module.clone() else {
            return Val::Unknown;
        };
        let Ok(res) = self.module(&module) else {
            return Val::Unknown;
        };
        let Some(v) = res.env.get(name).cloned() else {
            return Val::Unknown;
        };
        let v = self.import_val(&res.heap, &v, &mut BTreeMap::new());
        match (name, v) {
            ("INSTALLED_APPS", Val::List(id)) => {
                // Deployments add apps: never decide that one is absent.
                self.open_list(id);
                Val::List(id)
            }
            ("BASE_DIR", v @ Val::Path(_)) => v,
            _ => Val::Unknown,
        }
    }

    pub(crate) fn eval_args(&mut self, call: &ast::ExprCall) -> (Vec<Val>, BTreeMap<String, Val>) {
        let mut args = Vec::new();
        for a in &call.arguments.args {
            if let Expr::Starred(s) = a {
                let v = self.eval(&s.value);
                match self.force(v) {
                    Val::List(id) => {
                        for it in self.list_items(id) {
                            args.push(it.val);
                        }
                    }
                    _ => args.push(Val::Unknown),
                }
                continue;
            }
            args.push(self.eval(a));
        }
        let mut kwargs = BTreeMap::new();
        for k in &call.arguments.keywords {
            let v = self.eval(&k.value);
            if let Some(name) = &k.arg {
                kwargs.insert(name.id.as_str().to_owned(), v);
            }
        }
        (args, kwargs)
    }

    /// A call we cannot follow: lists passed to it may be changed.
    pub(crate) fn opaque_call(&mut self, call: &ast::ExprCall) -> Val {
        let (args, kwargs) = self.eval_args(call);
        for v in args.iter().chain(kwargs.values()) {
            if let Val::List(id) = v {
                self.taint_list(*id);
            }
        }
        Val::Callable { certain: false }
    }

    pub(crate) fn eval_call(&mut self, call: &ast::ExprCall) -> Val {
        if let Expr::Attribute(a) = call.func.as_ref() {
            let recv = match a.value.as_ref() {
                // A name bound to another module's list or dict, changed in place.
                Expr::Name(n) if is_mutator(a.attr.id.as_str()) => self.materialize(n.id.as_str()),
                other => self.eval(other),
            };
            if let Val::EnvReader(lib, scheme) = &recv {
                let (lib, scheme) = (*lib, scheme.clone());
                return match a.attr.id.as_str() {
                    "read_env" | "read_dotenv" | "smart_cast" | "prefixed" | "escape_proxy" => {
                        self.eval_args(call);
                        Val::None
                    }
                    m => self.env_reader_call(lib, &scheme, Some(m), call),
                };
            }
            if let Some(v) = self.method(&recv, a.attr.id.as_str(), call) {
                return v;
            }
            let callee = self.attr(recv, a.attr.id.as_str());
            return self.call_value(callee, call);
        }
        let callee = self.eval(&call.func);
        self.call_value(callee, call)
    }

    fn call_value(&mut self, callee: Val, call: &ast::ExprCall) -> Val {
        match callee {
            Val::Qual(q) => self.builtin(&q, call),
            Val::Func(i) => self.call_func(i, call),
            Val::EnvReader(lib, scheme) => self.env_reader_call(lib, &scheme, None, call),
            // An instance: nothing the evaluator follows.
            Val::Class(_) => {
                self.eval_args(call);
                Val::Unknown
            }
            _ => self.opaque_call(call),
        }
    }

    /// Methods of known values. `None` when `recv.name` is not a method handled here.
    fn method(&mut self, recv: &Val, name: &str, call: &ast::ExprCall) -> Option<Val> {
        if name == "as_view" {
            self.eval_args(call);
            return Some(Val::Callable { certain: true });
        }
        let recv = match recv {
            Val::Symbol(..) => return None,
            other => other.clone(),
        };
        match recv {
            Val::List(id) => {
                let (args, _) = self.eval_args(call);
                Some(match (name, args.as_slice()) {
                    ("append", [x]) => {
                        let it = self.item(x.clone());
                        self.push_items(id, vec![it]);
                        Val::None
                    }
                    ("extend", [x]) => {
                        self.extend(id, x.clone());
                        Val::None
                    }
                    ("insert", [Val::Int(i), x]) => {
                        let it = self.item(x.clone());
                        if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
                            let len = i64::try_from(l.items.len()).unwrap_or(i64::MAX);
                            let at = if *i < 0 {
                                (len + i).max(0)
                            } else {
                                (*i).min(len)
                            };
                            let at = usize::try_from(at).unwrap_or(0);
                            l.items.insert(at, it);
                        }
                        Val::None
                    }
                    ("remove", [x]) => {
                        let items = self.list_items(id);
                        let mut removed = false;
                        let mut decided = true;
                        let mut keep = Vec::with_capacity(items.len());
                        for it in items {
                            if removed {
                                keep.push(it);
                                continue;
                            }
                            match self.equals(&it.val, x) {
                                Some(true) if self.definite(&it.cond) => removed = true,
                                Some(false) => keep.push(it),
                                _ => {
                                    decided = false;
                                    keep.push(it);
                                }
                            }
                        }
                        if decided {
                            if let Some(l) = self.st.heap.get_mut(&id).map(Rc::make_mut) {
                                l.items = keep;
                            }
                        } else {
                            self.taint_list(id);
                        }
                        Val::None
                    }
                    ("copy", []) => {
                        let items = self.list_items(id);
                        let tuple = self.is_tuple(id);
                        Val::List(self.alloc(items, tuple))
                    }
                    ("index" | "count", _) => Val::Unknown,
                    _ => {
                        self.taint_list(id);
                        Val::Unknown
                    }
                })
            }
            Val::Str(s) | Val::Translated(s) => {
                let (args, _) = self.eval_args(call);
                Some(self.str_method(&s, name, &args))
            }
            Val::OneOf(alts) if alts.iter().all(|a| a.as_str().is_some()) => {
                let (args, _) = self.eval_args(call);
                let mut out = Vec::new();
                for a in alts.iter() {
                    let s = a.as_str().unwrap_or_default().to_owned();
                    out.push(self.str_method(&s, name, &args));
                }
                Some(Val::one_of(out))
            }
            Val::Path(p) => {
                let (args, _) = self.eval_args(call);
                Some(self.path_method(&p, name, &args))
            }
            Val::Dict(d) => {
                let (args, _) = self.eval_args(call);
                Some(match name {
                    "items" => {
                        let pairs: Vec<(Val, Val)> = d.as_ref().clone();
                        let mut vals = Vec::new();
                        for (k, v) in pairs {
                            vals.push(self.new_list(vec![k, v], true));
                        }
                        self.new_list(vals, false)
                    }
                    "keys" => {
                        let keys: Vec<Val> = d.iter().map(|(k, _)| k.clone()).collect();
                        self.new_list(keys, false)
                    }
                    "values" => {
                        let vals: Vec<Val> = d.iter().map(|(_, v)| v.clone()).collect();
                        self.new_list(vals, false)
                    }
                    "get" => match args.first() {
                        Some(k) => {
                            for (dk, dv) in d.iter().rev() {
                                match self.equals(dk, k) {
                                    Some(true) => return Some(dv.clone()),
                                    Some(false) => {}
                                    None => return Some(Val::Unknown),
                                }
                            }
                            args.get(1).cloned().unwrap_or(Val::None)
                        }
                        None => Val::Unknown,
                    },
                    "copy" => Val::Dict(d.clone()),
                    "update" => {
                        if let Expr::Attribute(a) = call.func.as_ref() {
                            if let Expr::Name(n) = a.value.as_ref() {
                                let new = match args.as_slice() {
                                    [Val::Dict(more)] => {
                                        let mut items = d.as_ref().clone();
                                        items.extend(more.iter().cloned());
                                        Val::Dict(Rc::new(dedup_keys(items)))
                                    }
                                    _ => Val::Unknown,
                                };
                                let name = n.id.as_str().to_owned();
                                self.rebind_mutated(&name, new, call.range());
                            }
                        }
                        Val::None
                    }
                    "setdefault" => {
                        if let (Expr::Attribute(a), [k, v]) = (call.func.as_ref(), args.as_slice())
                        {
                            if let Expr::Name(n) = a.value.as_ref() {
                                let present =
                                    d.iter().any(|(dk, _)| self.equals(dk, k) == Some(true));
                                let decided = present
                                    || d.iter().all(|(dk, _)| self.equals(dk, k) == Some(false));
                                let new = if !decided {
                                    Val::Unknown
                                } else if present {
                                    Val::Dict(d.clone())
                                } else {
                                    let mut items = d.as_ref().clone();
                                    items.push((k.clone(), v.clone()));
                                    Val::Dict(Rc::new(items))
                                };
                                let name = n.id.as_str().to_owned();
                                self.rebind_mutated(&name, new, call.range());
                            }
                        }
                        Val::Unknown
                    }
                    _ => Val::Unknown,
                })
            }
            _ => None,
        }
    }
}

/// Methods that change their receiver in place.
fn is_mutator(name: &str) -> bool {
    matches!(
        name,
        "append" | "extend" | "insert" | "remove" | "update" | "setdefault" | "pop" | "clear"
    )
}

fn is_known_not_none(v: &Val) -> bool {
    !matches!(
        v,
        Val::Unknown | Val::Callable { certain: false } | Val::None | Val::Symbol(..)
    )
}

/// Keeps one entry per known key, at the place of its first occurrence with the value
/// of its last, as a dict display or `update()` does (unknown keys are kept as they are).
pub(crate) fn dedup_keys(items: Vec<(Val, Val)>) -> Vec<(Val, Val)> {
    let mut out: Vec<(Val, Val)> = Vec::with_capacity(items.len());
    let mut at: BTreeMap<String, usize> = BTreeMap::new();
    for (k, v) in items {
        let key = match &k {
            Val::Str(s) => Some(format!("s{s}")),
            Val::Int(i) => Some(format!("i{i}")),
            Val::Bool(b) => Some(format!("b{b}")),
            Val::None => Some("n".to_owned()),
            _ => None,
        };
        match key {
            Some(key) => match at.get(&key) {
                Some(&i) => out[i].1 = v,
                None => {
                    at.insert(key, out.len());
                    out.push((k, v));
                }
            },
            None => out.push((k, v)),
        }
    }
    out
}
