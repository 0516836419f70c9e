use crate::formats;
use crate::literal::{lit_of, mask_range, other_occurrences, redacted, LitText};
use djcheck_linter::{declare_rule, Diagnostic, FileContext, Rule, RuleMeta, Span};
use djcheck_project::facts::RunPythonScope;
use djcheck_python::ast::visitor::{self, Visitor};
use djcheck_python::ast::{self, Expr, ExprContext, Stmt};
use djcheck_python::eval;
use djcheck_python::functions::{root_of, Func, ModuleScope};
use djcheck_python::literal::StringLit;
use djcheck_python::{ParsedModule, Ranged, TextRange};
use std::collections::{BTreeMap, BTreeSet};

declare_rule! {
    /// ## What it finds
    /// A non-empty string literal used as a password or secret in the code a `RunPython`
    /// operation runs: its forward and reverse functions (names, lambdas,
    /// `functools.partial(f, ...)`, methods of a class of the module), and every function
    /// of the migration module they call, transitively. The literal is found where it is
    /// written, whether it is given directly or through a local variable, a module-level
    /// constant, or as the fallback of `os.environ.get("X", "...")` / `os.getenv("X",
    /// "...")`:
    ///
    /// - the password of `create_user()` / `create_superuser()` (keyword `password=`, or
    ///   the third positional argument, as in Django's
    ///   `create_user(username, email=None, password=None, **extra_fields)`),
    ///   `set_password()`, `make_password()` and `check_password()`;
    /// - a value given to a keyword argument, dictionary key, parameter default, or
    ///   assigned to a variable or attribute named like a secret: `password`, `passwd`,
    ///   `pwd`, `secret`, `token`, `api_key`, `apikey`, `access_key`, `private_key`,
    ///   `client_secret`, `secret_key` (also as the end of a longer name, such as
    ///   `ADMIN_PASSWORD` or `clientSecret`), which covers `User(password=...)`,
    ///   `.create(password=...)`, `.update(...)` and `defaults={"password": ...}`;
    /// - a Django password hash (`pbkdf2_sha256$...`, `argon2$...`, `bcrypt_sha256$...`,
    ///   `scrypt$...`, `sha1$...`, `md5$...`) anywhere in the migration file, RunSQL
    ///   strings included;
    /// - a password in a SQL password clause anywhere in the migration file (RunSQL,
    ///   `schema_editor.execute()`): `CREATE`/`ALTER ROLE`/`USER ... [ENCRYPTED] PASSWORD
    ///   '...'`, MySQL's `IDENTIFIED [WITH plugin] BY '...'` and `SET PASSWORD [FOR u] =
    ///   '...'`;
    /// - anywhere in the migration module, reached by `RunPython` or not: a module
    ///   constant or a class attribute named like a secret (`password = "..."` in a class
    ///   body), and the fallback of an environment lookup of a variable named like a
    ///   secret (`os.environ.get("DB_PASSWORD", "...")`).
    ///
    /// A value written as a concatenation of literals (`"hun" + "ter2"`) is read whole.
    ///
    /// Not secrets: `""`, unusable-password markers (values starting with `!`), `None`,
    /// and values read at run time (`os.environ[...]`, settings, function calls). For
    /// names that merely look like secrets (not the password arguments above), values
    /// that are clearly not secrets are skipped: text with spaces, templates (`{...}`,
    /// `<...>`, `%(...)s`), placeholders (`example`, `changeme`, `xxxx`, `dummy`...),
    /// field names (`"reset_token"`, a value equal to the name), URLs, Stripe publishable
    /// and test-mode keys (`pk_live_`, `pk_test_`, `sk_test_`), values of a secret-named
    /// place other than a password that are shorter than 8 characters or use a single
    /// class of characters (`token="bearer"`), and values in a known credential format
    /// (SEC002 reports those). A literal given as a password
    /// argument is always reported, however weak: `"admin"` or `"changeme"` shipped to
    /// production is the incident this rule exists for.
    ///
    /// The secret is never printed whole, in any output format: messages show at most
    /// its first four characters (never more than half of it), then `…` and its length,
    /// and source snippets show the literal masked.
    ///
    /// ## Why it matters
    /// A migration runs on every database: a data migration that creates an admin account
    /// with `create_superuser("admin", "admin@example.com", "Adm1n-2024")` gives every
    /// environment, production included, an account whose password anyone with read
    /// access to the repository knows, and the literal stays in the history after it is
    /// removed. Password hashes are no better: they can be cracked offline, and Django
    /// accepts them as the stored password as they are.
    ///
    /// ## Example
    /// ```python
    /// def create_admin(apps, schema_editor):
    ///     User = apps.get_model("auth", "User")
    ///     User.objects.create_superuser("admin", "admin@example.com", "Adm1n-2024")
    /// ```
    ///
    /// ## How to fix
    /// Read the secret at run time without a default, or create the account without a
    /// usable password and set it outside the repository:
    /// ```python
    /// def create_admin(apps, schema_editor):
    ///     User = apps.get_model("auth", "User")
    ///     user = User(username="admin", email="admin@example.com", is_staff=True, is_superuser=True)
    ///     user.password = make_password(None)  # unusable; set it with `changepassword`
    ///     user.save()
    /// ```
    /// Then change the leaked password wherever the migration ran: it stays in the
    /// repository's history.
    pub struct HardcodedPassword { code: "SEC001", name: "hardcoded-password", severity: Error }
}

/// Names that mark a value as a secret (matched on the name, or on its last words once
/// `camelCase` is split into `snake_case`).
///
/// This list is the rule's documented default; a configuration key to extend it belongs
/// in the config crate and [`djcheck_linter::FileContext::options`].
pub const SECRET_NAMES: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "api_key",
    "apikey",
    "access_key",
    "private_key",
    "client_secret",
    "secret_key",
];

/// Calls whose arguments are passwords: `(callee, positional index, keyword names)`.
/// `create_user`/`create_superuser` take the password third, as Django's signatures do;
/// their positional use is checked separately (see [`password_positional`]).
const PASSWORD_CALLS: &[(&str, Option<usize>, &[&str])] = &[
    ("create_user", Some(2), &["password"]),
    ("create_superuser", Some(2), &["password"]),
    ("set_password", Some(0), &["raw_password"]),
    ("make_password", Some(0), &["password"]),
    ("check_password", Some(0), &["password", "raw_password"]),
];

/// Functions returning an environment variable, whose second argument is the default.
const ENV_GETTERS: &[&str] = &[
    "os.environ.get",
    "environ.get",
    "os.getenv",
    "getenv",
    "os.environ.setdefault",
    "environ.setdefault",
];

impl Rule for HardcodedPassword {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn finds_secrets(&self) -> bool {
        true
    }

    /// Any secret-named literal, password argument, SQL password or hash of the file,
    /// wherever it is (not only in the code `RunPython` runs).
    fn secret_ranges(&self, text: &str, parsed: &ParsedModule, out: &mut Vec<TextRange>) {
        let scope = ModuleScope::new(parsed.body());
        let mut findings = Findings::default();
        let mut w = Walker::new(text, &scope, None, &mut findings, None);
        w.visit_body(parsed.body());
        scan_module(text, &scope, &mut findings);
        let lits = djcheck_python::literal::string_literals(parsed.body());
        scan_literals(text, &lits, &mut findings);
        for f in findings.list.values() {
            out.extend(f.masks(text));
        }
    }

    fn check_file(&self, cx: &FileContext<'_>, out: &mut Vec<Diagnostic>) {
        let Some(rp) = cx.run_python() else {
            return;
        };
        let mut findings = Findings::default();
        scan_run_python(cx.text, rp, &mut findings);
        scan_module(cx.text, &rp.scope, &mut findings);
        scan_literals(cx.text, cx.string_literals(), &mut findings);
        for f in findings.list.into_values() {
            out.push(f.diagnostic(cx));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Password,
    Secret,
    Hash,
}

#[derive(Debug)]
struct Finding {
    secret: String,
    /// Where the secret's characters are in the source.
    secret_range: TextRange,
    /// The literal (or, inside a longer string, the secret itself).
    primary: TextRange,
    what: Kind,
    /// ` passed to `create_user()``, ` assigned to `api_key``...
    place: String,
    labels: Vec<(TextRange, String)>,
    notes: Vec<String>,
    /// 2 for a password argument, 1 for a secret-like name, 0 for a hash found by format.
    strength: u8,
}

impl Finding {
    fn diagnostic(&self, cx: &FileContext<'_>) -> Diagnostic {
        let (noun, label) = match self.what {
            Kind::Password => ("password", "a password in clear text"),
            Kind::Secret => ("secret", "a secret in clear text"),
            Kind::Hash => (
                "password hash",
                "a password hash: the password can be cracked offline from it",
            ),
        };
        let mut d = HardcodedPassword::META
            .diagnostic(format!(
                "hardcoded {noun} {}{}",
                redacted(&self.secret),
                self.place
            ))
            .at(Span::new(cx.file, self.primary), label);
        for (r, m) in &self.labels {
            d = d.label(Span::new(cx.file, *r), m.clone());
        }
        for n in &self.notes {
            d = d.note(n.clone());
        }
        d = d.help(match self.what {
            Kind::Password | Kind::Hash => "read the password at run time without a default (`os.environ[\"ADMIN_PASSWORD\"]`), or create the account with an unusable password (`make_password(None)`) and set the real one outside the repository; then change this password wherever the migration ran: it stays in the repository's history",
            Kind::Secret => "read the secret at run time (`os.environ[\"NAME\"]` or a setting) and rotate this one: it stays in the repository's history",
        });
        for m in self.masks(cx.text) {
            d = d.redact(Span::new(cx.file, m));
        }
        d
    }

    /// Where the secret is, and wherever else it is written: masked in snippets.
    fn masks(&self, text: &str) -> Vec<TextRange> {
        let mask = mask_range(text, self.secret_range);
        let mut out = vec![mask];
        out.extend(
            other_occurrences(text, &self.secret, mask)
                .into_iter()
                .map(|r| mask_range(text, r)),
        );
        out
    }
}

/// Findings by secret position. A literal found both as a password argument and under a
/// secret-like name keeps the password argument (the more precise message); otherwise
/// the first reason found wins.
#[derive(Default)]
struct Findings {
    list: BTreeMap<(u32, u32), Finding>,
}

impl Findings {
    fn add(&mut self, f: Finding) {
        let key = (f.secret_range.start().into(), f.secret_range.end().into());
        match self.list.get(&key) {
            Some(old) if old.strength >= f.strength => {}
            _ => {
                self.list.insert(key, f);
            }
        }
    }
}

/// `ADMIN_PASSWORD`, `clientSecret`, `api_key2` → the secret word it ends with.
pub fn secret_name(name: &str) -> Option<&'static str> {
    let mut snake = String::with_capacity(name.len() + 4);
    let mut prev_lower = false;
    for c in name.chars() {
        if c.is_ascii_uppercase() && prev_lower {
            snake.push('_');
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        snake.push(if c == '-' || c == ' ' {
            '_'
        } else {
            c.to_ascii_lowercase()
        });
    }
    let trimmed = snake.trim_end_matches(|c: char| c.is_ascii_digit() || c == '_');
    let trimmed = trimmed.trim_start_matches('_');
    SECRET_NAMES
        .iter()
        .copied()
        .filter(|k| {
            trimmed
                .strip_suffix(*k)
                .is_some_and(|rest| rest.is_empty() || rest.ends_with('_'))
        })
        .max_by_key(|k| k.len())
        .or_else(|| {
            ["password", "passwd"]
                .into_iter()
                .find(|k| trimmed.ends_with(k))
        })
}

fn is_password_word(key: &str) -> bool {
    matches!(key, "password" | "passwd" | "pwd")
}

/// A literal given as a password argument: anything but the empty string and Django's
/// unusable-password marker.
fn is_password_literal(value: &str) -> bool {
    !value.is_empty() && !value.starts_with('!')
}

/// A literal given to something merely named like a secret: only values that look like
/// one (see the rule's documentation).
fn looks_like_secret(value: &str, name: &str, key: &str) -> bool {
    if !is_password_literal(value) || value.chars().any(char::is_whitespace) {
        return false;
    }
    let n = value.chars().count();
    let lower = value.to_ascii_lowercase();
    if n < 4 || lower == key || lower == name.to_ascii_lowercase() || value.contains("://") {
        return false;
    }
    // Field and setting names: `reset_token`, `auth.token`, `x-api-key`.
    if value
        .chars()
        .all(|c| c.is_ascii_lowercase() || matches!(c, '_' | '.' | '-'))
        && value.contains(['_', '.', '-'])
    {
        return false;
    }
    if value
        .chars()
        .all(|c| c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit())
        && value.contains('_')
    {
        return false;
    }
    let lower_words = [
        "example",
        "sample",
        "dummy",
        "placeholder",
        "changeme",
        "change_me",
        "fake",
        "xxxx",
        "****",
        "...",
        "your_",
        "redacted",
    ];
    if lower_words.iter().any(|w| lower.contains(w))
        || value.contains(['<', '>', '{', '}'])
        || value.contains("%(")
        || value.contains("%s")
    {
        return false;
    }
    // SEC002 reports values in a known format, and AWS secret keys under an AWS name.
    if !formats::credentials(value).is_empty()
        || (formats::looks_like_aws_secret(value) && name.to_ascii_lowercase().contains("aws"))
    {
        return false;
    }
    // Stripe publishable keys are public by design, and test-mode keys reach no money.
    if ["pk_live_", "pk_test_", "sk_test_", "rk_test_"]
        .iter()
        .any(|p| value.starts_with(p))
    {
        return false;
    }
    if !is_password_word(key) {
        // Tokens and keys are long and mix character classes; a short word is a label.
        let classes = [
            value.chars().any(|c| c.is_ascii_lowercase()),
            value.chars().any(|c| c.is_ascii_uppercase()),
            value.chars().any(|c| c.is_ascii_digit()),
            value.chars().any(|c| !c.is_ascii_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if n < 8 || classes < 2 {
            return false;
        }
    }
    true
}

/// Whether the third positional argument of `create_user(...)` is Django's `password`.
/// A custom manager whose first argument is an email (`create_user(email, password)`)
/// has another signature: its positional arguments are not read.
fn password_positional(call: &ast::ExprCall) -> bool {
    let args = &call.arguments.args;
    let email_like = |e: &Expr| eval::str_value(e).is_some_and(|s| s.contains('@'));
    match (args.first(), args.get(1)) {
        (Some(a0), Some(a1)) => !(email_like(a0) && !email_like(a1) && !a1.is_none_literal_expr()),
        _ => true,
    }
}

fn scan_run_python<'a>(text: &'a str, rp: &RunPythonScope<'a>, findings: &mut Findings) {
    let mut module_names: BTreeSet<&'a str> = BTreeSet::new();
    let reached = rp.reached();
    for (i, r) in reached.iter().enumerate() {
        let root = root_of(reached, i);
        let note = (root != i).then(|| {
            format!(
                "`{}` runs in the migration: it is called from the `RunPython` function `{}`",
                r.func.name(),
                reached[root].func.name()
            )
        });
        let mut w = Walker::new(text, &rp.scope, Some(&r.func), findings, note);
        r.func.walk(&mut w);
        module_names.extend(w.module_refs.iter().copied());
    }
    // The RunPython arguments themselves (`partial(f, password="...")`).
    for e in rp.args() {
        let mut w = Walker::new(text, &rp.scope, None, findings, None);
        w.visit_expr(e);
        module_names.extend(w.module_refs.iter().copied());
    }
    // Module-level bindings the reached code reads: `ADMIN = {"password": "..."}`.
    let mut seen = BTreeSet::new();
    for stmt in rp.scope.body {
        let targets: Vec<&Expr> = match stmt {
            Stmt::Assign(a) => a.targets.iter().collect(),
            Stmt::AnnAssign(a) if a.value.is_some() => vec![a.target.as_ref()],
            _ => continue,
        };
        let used = targets
            .iter()
            .any(|t| matches!(t, Expr::Name(n) if module_names.contains(n.id.as_str())));
        if used && seen.insert(stmt.range().start()) {
            let mut w = Walker::new(text, &rp.scope, None, findings, None);
            w.visit_stmt(stmt);
        }
    }
}

/// Literals holding a password whatever the code around them: Django password hashes
/// and SQL password clauses (`CREATE USER ... PASSWORD '...'`), in RunSQL and
/// `execute()` alike.
fn scan_literals(text: &str, lits: &[StringLit<'_>], findings: &mut Findings) {
    // Only literals holding a hash or a SQL password clause are mapped to the source.
    let worth = |v: &str| {
        !formats::password_hashes(v).is_empty() || !formats::sql_password_clauses(v).is_empty()
    };
    for lit in crate::literal::literals_where(lits, text, &worth) {
        for h in formats::password_hashes(lit.value()) {
            let secret = lit.value()[h.start..h.end].to_owned();
            let range = lit.source_range(h.start, h.end);
            let primary = if range == lit.content() {
                lit.range
            } else {
                range
            };
            findings.add(Finding {
                secret,
                secret_range: range,
                primary,
                what: Kind::Hash,
                place: String::new(),
                labels: Vec::new(),
                notes: Vec::new(),
                strength: 0,
            });
        }
        for c in formats::sql_password_clauses(lit.value()) {
            let secret = lit.value()[c.start..c.end].to_owned();
            // A hash there is reported as a hash, above.
            if !is_password_literal(&secret) || is_hash(&secret) {
                continue;
            }
            let range = lit.source_range(c.start, c.end);
            findings.add(Finding {
                secret,
                secret_range: range,
                primary: range,
                what: Kind::Password,
                place: " in a SQL password clause".to_owned(),
                labels: Vec::new(),
                notes: vec!["the statement runs, and may be logged, on every database the migration is applied to".to_owned()],
                strength: 2,
            });
        }
    }
}

/// What the module itself holds, reached or not: secret-named module constants and class
/// attributes (`password = "..."` in a class body), and the fallbacks of environment
/// lookups of secret-named variables (`os.environ.get("DB_PASSWORD", "...")`) anywhere in
/// the file.
fn scan_module<'a>(text: &'a str, scope: &ModuleScope<'a>, findings: &mut Findings) {
    for stmt in scope.body {
        match stmt {
            Stmt::Assign(_) | Stmt::AnnAssign(_) => {
                let mut w = Walker::new(text, scope, None, findings, None);
                w.assignment_only(stmt);
            }
            Stmt::ClassDef(c) => {
                for s in &c.body {
                    if matches!(s, Stmt::Assign(_) | Stmt::AnnAssign(_)) {
                        let mut w = Walker::new(text, scope, None, findings, None);
                        w.assignment_only(s);
                    }
                }
            }
            _ => {}
        }
    }
    struct EnvCalls<'a> {
        calls: Vec<&'a ast::ExprCall>,
    }
    impl<'a> Visitor<'a> for EnvCalls<'a> {
        fn visit_expr(&mut self, expr: &'a Expr) {
            if let Expr::Call(c) = expr {
                if ENV_GETTERS.iter().any(|g| eval::is_dotted(&c.func, g)) {
                    self.calls.push(c);
                }
            }
            visitor::walk_expr(self, expr);
        }
    }
    // Every getter is spelled with `env` (`environ`, `getenv`); identifiers written with
    // other characters (which the parser normalizes) are the only way around that.
    if !text.contains("env") && text.is_ascii() {
        return;
    }
    let mut env = EnvCalls { calls: Vec::new() };
    env.visit_body(scope.body);
    for c in env.calls {
        let Some(var) = c.arguments.args.first().and_then(eval::str_value) else {
            continue;
        };
        let Some(default) = eval::argument(c, 1, "default") else {
            continue;
        };
        let mut w = Walker::new(text, scope, None, findings, None);
        // The variable's name says what the fallback is.
        w.name_sink_flowed(c.range(), default, &var);
    }
}

/// How a local name of a function is bound.
enum Local<'a> {
    /// Only by plain assignments (and, for a parameter, its default).
    Values(Vec<&'a Expr>),
    /// In some other way (a loop, `with`, unpacking, an import): unknown.
    Other,
}

struct Walker<'s, 'a> {
    text: &'a str,
    scope: &'s ModuleScope<'a>,
    locals: BTreeMap<&'a str, Local<'a>>,
    findings: &'s mut Findings,
    note: Option<String>,
    module_refs: BTreeSet<&'a str>,
}

/// A literal a value expression may evaluate to, with the environment lookup whose
/// fallback it is, if any.
struct Flowed {
    lit: LitText,
    env: Option<(TextRange, Option<String>)>,
}

impl<'s, 'a> Walker<'s, 'a> {
    fn new(
        text: &'a str,
        scope: &'s ModuleScope<'a>,
        func: Option<&Func<'a>>,
        findings: &'s mut Findings,
        note: Option<String>,
    ) -> Self {
        let mut locals = BTreeMap::new();
        if let Some(f) = func {
            let mut stores = StoreCounter::default();
            f.walk(&mut stores);
            let mut defaults: BTreeMap<&'a str, &'a Expr> = BTreeMap::new();
            if let Some(p) = f.parameters() {
                for pw in p.posonlyargs.iter().chain(&p.args).chain(&p.kwonlyargs) {
                    if let Some(d) = pw.default.as_deref() {
                        defaults.insert(pw.parameter.name.id.as_str(), d);
                    }
                }
            }
            for name in f.local_names() {
                let plain = stores.plain.get(name).cloned().unwrap_or_default();
                let total = stores.total.get(name).copied().unwrap_or(0);
                let local = if total == plain.len() {
                    let mut values = plain;
                    if let Some(d) = defaults.get(name) {
                        values.push(d);
                    }
                    Local::Values(values)
                } else {
                    Local::Other
                };
                // A parameter without a default and never assigned holds whatever the
                // caller passes, and an import or a definition is no literal: unknown.
                let local = match local {
                    Local::Values(v) if v.is_empty() => Local::Other,
                    other => other,
                };
                locals.insert(name, local);
            }
        }
        Walker {
            text,
            scope,
            locals,
            findings,
            note,
            module_refs: BTreeSet::new(),
        }
    }

    /// The literals `e` may evaluate to, following local assignments, module constants,
    /// environment fallbacks, `or` and conditional expressions.
    fn flow(&self, e: &'a Expr, depth: usize, module_only: bool, out: &mut Vec<Flowed>) {
        if depth > 6 {
            return;
        }
        match e {
            Expr::StringLiteral(_) | Expr::BinOp(_) => {
                if let Some(lit) = lit_of(e, self.text) {
                    out.push(Flowed { lit, env: None });
                }
            }
            Expr::Name(n) => {
                let name = n.id.as_str();
                match self.locals.get(name).filter(|_| !module_only) {
                    Some(Local::Values(values)) => {
                        for v in values.clone() {
                            self.flow(v, depth + 1, false, out);
                        }
                    }
                    Some(Local::Other) => {}
                    None => {
                        if let Some(v) = self.scope.bindings().get(name) {
                            self.flow(v, depth + 1, true, out);
                        }
                    }
                }
            }
            Expr::Call(c) => {
                let Some(callee) = eval::dotted_name(&c.func) else {
                    return;
                };
                if ENV_GETTERS.contains(&callee.as_str()) {
                    if let Some(default) = eval::argument(c, 1, "default") {
                        let var = c.arguments.args.first().and_then(eval::str_value);
                        let mut inner = Vec::new();
                        self.flow(default, depth + 1, module_only, &mut inner);
                        for mut f in inner {
                            f.env.get_or_insert((c.range(), var.clone()));
                            out.push(f);
                        }
                    }
                }
            }
            Expr::BoolOp(b) if matches!(b.op, ast::BoolOp::Or) => {
                for v in &b.values {
                    self.flow(v, depth + 1, module_only, out);
                }
            }
            Expr::If(i) => {
                self.flow(&i.body, depth + 1, module_only, out);
                self.flow(&i.orelse, depth + 1, module_only, out);
            }
            _ => {}
        }
    }

    /// A value given as a password argument.
    fn password_sink(&mut self, value: &'a Expr, callee: &str, call_range: TextRange) {
        let mut flowed = Vec::new();
        self.flow(value, 0, false, &mut flowed);
        for f in flowed {
            if !is_password_literal(f.lit.value()) {
                continue;
            }
            let kind = if is_hash(f.lit.value()) {
                Kind::Hash
            } else {
                Kind::Password
            };
            let mut labels = Vec::new();
            if !call_range.contains_range(f.lit.range) {
                labels.push((
                    call_range,
                    format!("used as the password of `{callee}()` here"),
                ));
            }
            self.push(f, kind, format!(" passed to `{callee}()`"), labels, 2);
        }
    }

    /// A module-level or class-level assignment: its targets, not the calls in its value.
    fn assignment_only(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    self.check_target(t, &a.value);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.check_target(&a.target, v);
                }
            }
            _ => {}
        }
    }

    /// The fallback of an environment lookup of a secret-named variable.
    fn name_sink_flowed(&mut self, call: TextRange, default: &'a Expr, var: &str) {
        let Some(key) = secret_name(var) else {
            return;
        };
        let Some(lit) = lit_of(default, self.text) else {
            return;
        };
        if !looks_like_secret(lit.value(), var, key) {
            return;
        }
        let kind = if is_hash(lit.value()) {
            Kind::Hash
        } else if is_password_word(key) {
            Kind::Password
        } else {
            Kind::Secret
        };
        let f = Flowed {
            lit,
            env: Some((call, Some(var.to_owned()))),
        };
        self.push(
            f,
            kind,
            format!(" as the fallback of `{var}`"),
            Vec::new(),
            1,
        );
    }

    /// A value given to something named like a secret.
    fn name_sink(
        &mut self,
        value: &'a Expr,
        name: &str,
        place: impl FnOnce() -> String,
        use_range: TextRange,
    ) {
        // Checked first: most names are not secret-like, and their place is never shown.
        let Some(key) = secret_name(name) else {
            return;
        };
        let place = place();
        let mut flowed = Vec::new();
        self.flow(value, 0, false, &mut flowed);
        for f in flowed {
            if !looks_like_secret(f.lit.value(), name, key) {
                continue;
            }
            let kind = if is_hash(f.lit.value()) {
                Kind::Hash
            } else if is_password_word(key) {
                Kind::Password
            } else {
                Kind::Secret
            };
            let mut labels = Vec::new();
            if !use_range.contains_range(f.lit.range) {
                labels.push((use_range, format!("used as `{name}` here")));
            }
            self.push(f, kind, place.clone(), labels, 1);
        }
    }

    fn push(
        &mut self,
        f: Flowed,
        what: Kind,
        place: String,
        mut labels: Vec<(TextRange, String)>,
        strength: u8,
    ) {
        let mut notes = Vec::new();
        if let Some((env_range, var)) = &f.env {
            let var = var.clone().unwrap_or_else(|| "the variable".to_owned());
            labels.push((*env_range, format!("the fallback when `{var}` is not set")));
            notes.push(format!(
                "every environment where `{var}` is not set gets this value, and anyone who reads the repository knows it"
            ));
        }
        if let Some(n) = &self.note {
            notes.push(n.clone());
        }
        self.findings.add(Finding {
            secret: f.lit.value().to_owned(),
            secret_range: f.lit.content(),
            primary: f.lit.range,
            what,
            place,
            labels,
            notes,
            strength,
        });
    }

    fn check_call(&mut self, call: &'a ast::ExprCall) {
        let callee = eval::callee_last(call).unwrap_or("");
        if let Some((name, pos, kws)) = PASSWORD_CALLS.iter().find(|c| c.0 == callee) {
            let positional_ok =
                !matches!(*name, "create_user" | "create_superuser") || password_positional(call);
            let mut values: Vec<&'a Expr> =
                kws.iter().filter_map(|k| eval::keyword(call, k)).collect();
            if let (Some(p), true) = (pos, positional_ok) {
                if let Some(v) = positional(call, *p) {
                    values.push(v);
                }
            }
            for v in values {
                self.password_sink(v, name, call.func.range());
            }
        }
        for k in &call.arguments.keywords {
            if let Some(arg) = &k.arg {
                let name = arg.id.as_str();
                self.name_sink(&k.value, name, || format!(" passed as `{name}=`"), k.range);
            }
        }
        // A function of the module with a parameter named like a secret.
        if let Expr::Name(n) = call.func.as_ref() {
            let local = self.locals.contains_key(n.id.as_str());
            if !local {
                if let Some(f) = self.scope.function(n.id.as_str()) {
                    if let Some(params) = f.parameters() {
                        let positional: Vec<&ast::ParameterWithDefault> =
                            params.posonlyargs.iter().chain(&params.args).collect();
                        for (i, a) in call.arguments.args.iter().enumerate() {
                            if a.is_starred_expr() {
                                break;
                            }
                            if let Some(p) = positional.get(i) {
                                let pname = p.parameter.name.id.as_str();
                                self.name_sink(
                                    a,
                                    pname,
                                    || format!(" passed as `{pname}` to `{}()`", n.id.as_str()),
                                    a.range(),
                                );
                            }
                        }
                    }
                }
            }
        }
    }

    fn check_target(&mut self, target: &'a Expr, value: &'a Expr) {
        match target {
            Expr::Name(n) => {
                let name = n.id.as_str();
                self.name_sink(value, name, || format!(" assigned to `{name}`"), n.range);
            }
            Expr::Attribute(a) => {
                let name = a.attr.id.as_str();
                self.name_sink(value, name, || format!(" assigned to `.{name}`"), a.range);
            }
            Expr::Subscript(s) => {
                if let Some(key) = eval::str_value(&s.slice) {
                    self.name_sink(
                        value,
                        &key,
                        || format!(" stored under the key \"{key}\""),
                        s.range,
                    );
                }
            }
            _ => {}
        }
    }
}

/// The argument at position `pos`, unless a `*args` splat comes first.
fn positional(call: &ast::ExprCall, pos: usize) -> Option<&Expr> {
    let args = &call.arguments.args;
    if args.iter().take(pos + 1).any(Expr::is_starred_expr) {
        return None;
    }
    args.get(pos)
}

fn is_hash(value: &str) -> bool {
    formats::password_hashes(value)
        .first()
        .is_some_and(|h| h.start == 0 && h.end == value.len())
}

impl<'a> Visitor<'a> for Walker<'_, 'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    self.check_target(t, &a.value);
                }
            }
            Stmt::AnnAssign(a) => {
                if let Some(v) = &a.value {
                    self.check_target(&a.target, v);
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        match expr {
            Expr::Call(c) => self.check_call(c),
            Expr::Dict(d) => {
                for item in &d.items {
                    if let Some(key) = item.key.as_ref().and_then(eval::str_value) {
                        self.name_sink(
                            &item.value,
                            &key,
                            || format!(" under the key \"{key}\""),
                            item.value.range(),
                        );
                    }
                }
            }
            Expr::Name(n)
                if n.ctx == ExprContext::Load && !self.locals.contains_key(n.id.as_str()) =>
            {
                self.module_refs.insert(n.id.as_str());
            }
            _ => {}
        }
        visitor::walk_expr(self, expr);
    }

    fn visit_parameters(&mut self, params: &'a ast::Parameters) {
        for p in params
            .posonlyargs
            .iter()
            .chain(&params.args)
            .chain(&params.kwonlyargs)
        {
            if let Some(d) = p.default.as_deref() {
                let name = p.parameter.name.id.as_str();
                self.name_sink(
                    d,
                    name,
                    || format!(" as the default of parameter `{name}`"),
                    p.parameter.range,
                );
            }
        }
        visitor::walk_parameters(self, params);
    }
}

/// Counts, per name, its stores and which of them are plain `NAME = value` assignments.
#[derive(Default)]
struct StoreCounter<'a> {
    total: BTreeMap<&'a str, usize>,
    plain: BTreeMap<&'a str, Vec<&'a Expr>>,
}

impl<'a> Visitor<'a> for StoreCounter<'a> {
    fn visit_stmt(&mut self, stmt: &'a Stmt) {
        match stmt {
            Stmt::Assign(a) => {
                for t in &a.targets {
                    if let Expr::Name(n) = t {
                        self.plain.entry(n.id.as_str()).or_default().push(&a.value);
                    }
                }
            }
            Stmt::AnnAssign(a) => {
                if let (Expr::Name(n), Some(v)) = (a.target.as_ref(), a.value.as_deref()) {
                    self.plain.entry(n.id.as_str()).or_default().push(v);
                }
            }
            Stmt::Import(_) | Stmt::ImportFrom(_) | Stmt::FunctionDef(_) | Stmt::ClassDef(_) => {
                // Bound, but never to a literal.
                let names: Vec<&'a str> = match stmt {
                    Stmt::FunctionDef(f) => vec![f.name.id.as_str()],
                    Stmt::ClassDef(c) => vec![c.name.id.as_str()],
                    _ => Vec::new(),
                };
                for n in names {
                    *self.total.entry(n).or_default() += 1;
                }
            }
            _ => {}
        }
        visitor::walk_stmt(self, stmt);
    }

    fn visit_expr(&mut self, expr: &'a Expr) {
        if let Expr::Name(n) = expr {
            if matches!(n.ctx, ExprContext::Store | ExprContext::Del) {
                *self.total.entry(n.id.as_str()).or_default() += 1;
            }
        }
        visitor::walk_expr(self, expr);
    }

    fn visit_except_handler(&mut self, h: &'a ast::ExceptHandler) {
        let ast::ExceptHandler::ExceptHandler(eh) = h;
        if let Some(n) = &eh.name {
            *self.total.entry(n.id.as_str()).or_default() += 1;
        }
        visitor::walk_except_handler(self, h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{check, fires, migration, silent};

    const RULE: HardcodedPassword = HardcodedPassword;

    #[test]
    fn every_environment_getter_passes_the_text_test() {
        // `scan_module` walks for getters only in texts holding `env`.
        for g in ENV_GETTERS {
            assert!(g.contains("env"), "{g}");
        }
    }

    fn run(functions: &str, operations: &str) -> Vec<(String, String)> {
        let src = migration(functions, operations);
        let out = fires(&RULE, &src);
        for (lit, message) in &out {
            let secret = lit.trim_matches(|c| c == '"' || c == '\'');
            assert!(!message.contains(secret), "secret in message: {message}");
        }
        out
    }

    fn literals(out: &[(String, String)]) -> Vec<&str> {
        out.iter().map(|(l, _)| l.as_str()).collect()
    }

    #[test]
    fn the_incident() {
        let out = run(
            r#"def create_admin(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.create_user(username="admin", password="admin123")"#,
            "migrations.RunPython(create_admin, migrations.RunPython.noop),",
        );
        assert_eq!(
            out,
            [(
                "\"admin123\"".to_owned(),
                "hardcoded password \"admi…\" (8 characters) passed to `create_user()`".to_owned()
            )]
        );
    }

    #[test]
    fn positional_passwords_follow_djangos_signatures() {
        let out = run(
            r#"def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.create_superuser("admin", "admin@x.io", "hunter2")
    User.objects.create_user("bob", None, "b0bpass")
    u = User.objects.get(username="bob")
    u.set_password("n3wpass")
    u.password = make_password("other1")
    u.check_password("guess1")"#,
            "migrations.RunPython(forwards, migrations.RunPython.noop),",
        );
        assert_eq!(
            literals(&out),
            [
                "\"hunter2\"",
                "\"b0bpass\"",
                "\"n3wpass\"",
                "\"other1\"",
                "\"guess1\""
            ]
        );
    }

    #[test]
    fn helpers_lambdas_partials_and_methods() {
        let out = run(
            r#"def make_admin(User, password):
    User.objects.create_superuser("root", "root@x.io", password)

def forwards(apps, schema_editor):
    make_admin(apps.get_model("auth", "User"), "t0psecret")

def with_password(apps, schema_editor, password):
    pass

class Seed:
    @staticmethod
    def run(apps, schema_editor):
        apps.get_model("auth", "User")(username="x", password="m3thod!")"#,
            r#"migrations.RunPython(forwards, lambda apps, se: apps.get_model("auth", "User").objects.create_user("a", "a@x.io", "l4mbda!")),
        migrations.RunPython(partial(with_password, password="p4rtial"), Seed.run),"#,
        );
        assert_eq!(
            literals(&out),
            ["\"t0psecret\"", "\"m3thod!\"", "\"l4mbda!\"", "\"p4rtial\""]
        );
    }

    #[test]
    fn environment_fallbacks_and_constants() {
        let out = run(
            r#"ADMIN_PASSWORD = "m0dule-pw"

def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    pw = os.environ.get("ADMIN_PASSWORD", "admin123")
    User.objects.create_superuser("admin", "a@x.io", pw)
    User.objects.create_user("b", "b@x.io", os.getenv("B_PASSWORD") or "fallb4ck")
    User.objects.create_user("c", "c@x.io", ADMIN_PASSWORD)"#,
            "migrations.RunPython(forwards, migrations.RunPython.noop),",
        );
        assert_eq!(
            literals(&out),
            ["\"m0dule-pw\"", "\"admin123\"", "\"fallb4ck\""]
        );
    }

    #[test]
    fn names_keys_and_hashes() {
        let out = run(
            r#"ACCOUNTS = [{"username": "ops", "password": "0ps-pass"}]

def forwards(apps, schema_editor):
    App = apps.get_model("oauth", "Application")
    App.objects.create(name="crm", client_secret="Zk2vX9qL4tW7nZ1cF6hJ")
    App.objects.update_or_create(name="erp", defaults={"api_key": "Q8mR2vL9xT4pW7nK"})
    for row in ACCOUNTS:
        pass
    user = apps.get_model("auth", "User")(username="h")
    user.password = "pbkdf2_sha256$600000$Rk2vX9qL4tW7$Y5dG0sAeUiO2r8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sA="
    settings_token = "tok-9f3a1c7e2b"

def reverse(apps, schema_editor, admin_password="def4ult!"):
    pass"#,
            "migrations.RunPython(forwards, reverse),",
        );
        assert_eq!(
            literals(&out),
            [
                "\"0ps-pass\"",
                "\"Zk2vX9qL4tW7nZ1cF6hJ\"",
                "\"Q8mR2vL9xT4pW7nK\"",
                "\"pbkdf2_sha256$600000$Rk2vX9qL4tW7$Y5dG0sAeUiO2r8mK2vX9qL4tW7nZ1cF6hJ3bY5dG0sA=\"",
                "\"tok-9f3a1c7e2b\"",
                "\"def4ult!\"",
            ]
        );
        assert!(out[3].1.starts_with("hardcoded password hash \"pbkd…\""));
        assert!(out[1].1.contains("passed as `client_secret=`"));
    }

    #[test]
    fn hashes_in_sql() {
        let src = migration(
            "",
            r#"migrations.RunSQL("UPDATE auth_user SET password = 'argon2$argon2id$v=19$m=102400,t=2,p=8$Rk2vX9qL4tW7$Y5dG0sAeUiO2r8mK2vX9qL4tW7nZ1c'", migrations.RunSQL.noop),"#,
        );
        let out = fires(&RULE, &src);
        assert_eq!(out.len(), 1);
        assert!(out[0].0.starts_with("argon2$"), "{:?}", out[0]);
    }

    #[test]
    fn recall_gaps() {
        let out = run(
            r#"DB = os.environ.get("DB_PASSWORD", "s3rv1ce-pw")

class Seed:
    password = "cl4ss-attr"

def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.create_user(username="a", password="hun" + "ter-22")
    schema_editor.execute("CREATE USER report WITH PASSWORD 'R3port-pw'")"#,
            r#"migrations.RunPython(forwards, migrations.RunPython.noop),
        migrations.RunSQL("ALTER ROLE app ENCRYPTED PASSWORD 'Sq1-r0le-pw'", migrations.RunSQL.noop),"#,
        );
        let lits = literals(&out);
        assert_eq!(
            lits,
            [
                "\"s3rv1ce-pw\"",
                "\"cl4ss-attr\"",
                "\"hun\" + \"ter-22\"",
                "R3port-pw",
                "Sq1-r0le-pw"
            ],
            "{out:?}"
        );
        assert!(
            out[0].1.contains("as the fallback of `DB_PASSWORD`"),
            "{}",
            out[0].1
        );
        assert!(out[2]
            .1
            .starts_with("hardcoded password \"hunt…\" (9 characters)"));
        assert!(
            out[4].1.ends_with("in a SQL password clause"),
            "{}",
            out[4].1
        );
    }

    #[test]
    fn values_read_at_run_time_are_not_secrets() {
        silent(
            &RULE,
            &migration(
                r#"def forwards(apps, schema_editor):
    User = apps.get_model("auth", "User")
    User.objects.create_superuser("admin", "a@x.io", os.environ["ADMIN_PASSWORD"])
    User.objects.create_user("b", "b@x.io", os.environ.get("B_PASSWORD"))
    User.objects.create_user("c", "c@x.io", settings.DEFAULT_PASSWORD)
    User.objects.create_user("d", "d@x.io", None)
    User.objects.create_user("e", "e@x.io", "")
    u = User(username="f", password="!")
    u.password = make_password(None)
    u.set_unusable_password()
    User.objects.create_user("g", "g@x.io", password=os.getenv("G", ""))
    token = generate_token()
    data = {"password": "password", "token": "{{ token }}", "secret": "Enter your secret"}
    api_key_field = "api_key"
    reset_token = "reset_token"
    Option = apps.get_model("conf", "Option")
    Option.objects.create(name="token_ttl", token_type="bearer")"#,
                "migrations.RunPython(forwards, migrations.RunPython.noop),",
            ),
        );
    }

    #[test]
    fn unreachable_functions_and_custom_signatures() {
        silent(
            &RULE,
            &migration(
                r#"def unused(apps, schema_editor):
    apps.get_model("auth", "User").objects.create_user("x", "x@x.io", "n0treached")

def forwards(apps, schema_editor):
    Account = apps.get_model("accounts", "Account")
    # A custom manager: create_user(email, full_name, ...): no positional password.
    Account.objects.create_user("ops@x.io", "Ops Team", "staff")"#,
                "migrations.RunPython(forwards, migrations.RunPython.noop),",
            ),
        );
    }

    #[test]
    fn short_secrets_are_masked_whole() {
        let src = migration(
            r#"def forwards(apps, schema_editor):
    apps.get_model("auth", "User").objects.create_user("a", "a@x.io", "abc")"#,
            "migrations.RunPython(forwards, migrations.RunPython.noop),",
        );
        let out = check(&RULE, &src);
        assert_eq!(out.len(), 1);
        assert_eq!(
            out[0].message,
            "hardcoded password \"a…\" (3 characters) passed to `create_user()`"
        );
        let mask = out[0].redact[0].range;
        let masked = &src[usize::from(mask.start())..usize::from(mask.end())];
        // The renderer keeps four characters of the masked range: one of the secret.
        assert_eq!(masked, ", \"abc");
    }

    #[test]
    fn names() {
        for (name, key) in [
            ("password", "password"),
            ("ADMIN_PASSWORD", "password"),
            ("clientSecret", "client_secret"),
            ("api_key2", "api_key"),
            ("adminpassword", "password"),
            ("AWS_SECRET_ACCESS_KEY", "access_key"),
        ] {
            assert_eq!(secret_name(name), Some(key), "{name}");
        }
        for name in [
            "password_reset_timeout",
            "token_type",
            "secretary",
            "keyword",
            "tokens_used",
        ] {
            assert_eq!(secret_name(name), None, "{name}");
        }
    }
}
