//! What Django's own classes do to the arguments they are given, so that a field, an
//! index or a constraint written in `models.py` and the one written in a migration can
//! be compared the way the autodetector compares them: by their `deconstruct()`.
//!
//! Each model field class of Django 5.2 is listed with its positional parameters, what
//! its `__init__` forces or defaults, and what its `deconstruct()` drops or adds
//! (`django/db/models/fields/__init__.py`, `related.py`, `files.py`, `json.py`,
//! `contrib/postgres/fields/`). Classes not listed are compared only when written with
//! the very same arguments.

use crate::pyvalue::{CallValue, PyValue};
use std::collections::BTreeMap;
use std::sync::Arc;

/// The parameters of `Field.__init__`, in order.
const FIELD_POS: &[&str] = &[
    "verbose_name",
    "name",
    "primary_key",
    "max_length",
    "unique",
    "blank",
    "null",
    "db_index",
    "rel",
    "default",
    "editable",
    "serialize",
    "unique_for_date",
    "unique_for_month",
    "unique_for_year",
    "choices",
    "help_text",
    "db_column",
    "db_tablespace",
    "auto_created",
    "validators",
    "error_messages",
    "db_comment",
    "db_default",
];

/// Django's model field classes djcheck knows the construction of, by canonical path.
const FIELD_CLASSES: &[&str] = &[
    "django.db.models.AutoField",
    "django.db.models.BigAutoField",
    "django.db.models.SmallAutoField",
    "django.db.models.BigIntegerField",
    "django.db.models.BinaryField",
    "django.db.models.BooleanField",
    "django.db.models.CharField",
    "django.db.models.CommaSeparatedIntegerField",
    "django.db.models.DateField",
    "django.db.models.DateTimeField",
    "django.db.models.DecimalField",
    "django.db.models.DurationField",
    "django.db.models.EmailField",
    "django.db.models.FileField",
    "django.db.models.FilePathField",
    "django.db.models.FloatField",
    "django.db.models.GenericIPAddressField",
    "django.db.models.IPAddressField",
    "django.db.models.ImageField",
    "django.db.models.IntegerField",
    "django.db.models.JSONField",
    "django.db.models.NullBooleanField",
    "django.db.models.PositiveBigIntegerField",
    "django.db.models.PositiveIntegerField",
    "django.db.models.PositiveSmallIntegerField",
    "django.db.models.SlugField",
    "django.db.models.SmallIntegerField",
    "django.db.models.TextField",
    "django.db.models.TimeField",
    "django.db.models.URLField",
    "django.db.models.UUIDField",
    "django.db.models.ForeignKey",
    "django.db.models.OneToOneField",
    "django.db.models.ManyToManyField",
    "django.contrib.postgres.fields.ArrayField",
    "django.contrib.postgres.fields.HStoreField",
    "django.contrib.postgres.fields.IntegerRangeField",
    "django.contrib.postgres.fields.BigIntegerRangeField",
    "django.contrib.postgres.fields.DecimalRangeField",
    "django.contrib.postgres.fields.DateTimeRangeField",
    "django.contrib.postgres.fields.DateRangeField",
];

/// Other field classes of Django: fields, but not deconstructed here.
const OTHER_FIELD_CLASSES: &[&str] = &[
    "django.db.models.Field",
    "django.db.models.ForeignObject",
    "django.db.models.GeneratedField",
    "django.db.models.CompositePrimaryKey",
    "django.contrib.postgres.fields.CICharField",
    "django.contrib.postgres.fields.CIEmailField",
    "django.contrib.postgres.fields.CITextField",
    "django.contrib.postgres.search.SearchVectorField",
];

/// A Django field class djcheck can deconstruct: its canonical path.
pub fn known_field_class(path: &str) -> Option<&'static str> {
    FIELD_CLASSES.iter().copied().find(|p| *p == path)
}

/// Whether `path` names a model field class of Django (known or not).
pub fn is_django_field_class(path: &str) -> bool {
    known_field_class(path).is_some()
        || OTHER_FIELD_CLASSES.contains(&path)
        || path.starts_with("django.contrib.gis.db.models.")
            && path.ends_with("Field")
            && !path.ends_with("Model")
}

/// Fields that are not columns of the model and never appear in migrations (private
/// fields).
pub fn is_private_field_class(path: &str) -> bool {
    matches!(
        path,
        "django.contrib.contenttypes.fields.GenericForeignKey"
            | "django.contrib.contenttypes.fields.GenericRelation"
    )
}

/// Managers of Django, with their `use_in_migrations`.
pub fn django_manager(path: &str) -> Option<bool> {
    match path {
        "django.db.models.Manager"
        | "django.db.models.BaseManager"
        | "django.contrib.auth.models.BaseUserManager"
        | "django.contrib.gis.db.models.Manager" => Some(false),
        "django.contrib.auth.models.UserManager" => Some(true),
        _ => None,
    }
}

/// Django's query set classes (`MyQuerySet.as_manager()`).
pub fn is_django_queryset(path: &str) -> bool {
    matches!(path, "django.db.models.QuerySet")
}

/// The `Choices` enumeration bases of Django.
pub fn is_django_choices(path: &str) -> bool {
    matches!(
        path,
        "django.db.models.TextChoices"
            | "django.db.models.IntegerChoices"
            | "django.db.models.Choices"
    )
}

/// `models.Model` (as every package re-exporting it names it).
pub fn is_model_root(path: &str) -> bool {
    matches!(
        path,
        "django.db.models.Model" | "django.contrib.gis.db.models.Model"
    )
}

/// Models of Django's contrib apps that projects point relations to, with their label.
pub fn contrib_model_label(path: &str) -> Option<&'static str> {
    Some(match path {
        "django.contrib.auth.models.User" => "auth.user",
        "django.contrib.auth.models.Group" => "auth.group",
        "django.contrib.auth.models.Permission" => "auth.permission",
        "django.contrib.contenttypes.models.ContentType" => "contenttypes.contenttype",
        "django.contrib.sites.models.Site" => "sites.site",
        "django.contrib.flatpages.models.FlatPage" => "flatpages.flatpage",
        "django.contrib.redirects.models.Redirect" => "redirects.redirect",
        "django.contrib.sessions.models.Session" => "sessions.session",
        "django.contrib.admin.models.LogEntry" => "admin.logentry",
        _ => return None,
    })
}

#[derive(Debug)]
/// An abstract model of Django: its local fields (as `makemigrations` of Django 5.2
/// writes them), its bases, its `Meta` options and its managers.
pub struct DjangoAbstract {
    pub path: &'static str,
    /// `(name, field call as migration source)`.
    pub fields: &'static [(&'static str, &'static str)],
    /// `Meta` options a subclass without a `Meta` of its own inherits.
    pub options: &'static [(&'static str, &'static str)],
    /// `(name, manager class, use_in_migrations)`.
    pub managers: &'static [(&'static str, &'static str, bool)],
}

const ABSTRACT_BASE_USER_FIELDS: &[(&str, &str)] = &[
    (
        "password",
        "models.CharField(max_length=128, verbose_name='password')",
    ),
    (
        "last_login",
        "models.DateTimeField(blank=True, null=True, verbose_name='last login')",
    ),
];

const PERMISSIONS_MIXIN_FIELDS: &[(&str, &str)] = &[
    ("is_superuser", "models.BooleanField(default=False, help_text='Designates that this user has all permissions without explicitly assigning them.', verbose_name='superuser status')"),
    ("groups", "models.ManyToManyField(blank=True, help_text='The groups this user belongs to. A user will get all permissions granted to each of their groups.', related_name='user_set', related_query_name='user', to='auth.group', verbose_name='groups')"),
    ("user_permissions", "models.ManyToManyField(blank=True, help_text='Specific permissions for this user.', related_name='user_set', related_query_name='user', to='auth.permission', verbose_name='user permissions')"),
];

const ABSTRACT_USER_FIELDS: &[(&str, &str)] = &[
    (
        "password",
        "models.CharField(max_length=128, verbose_name='password')",
    ),
    (
        "last_login",
        "models.DateTimeField(blank=True, null=True, verbose_name='last login')",
    ),
    ("is_superuser", "models.BooleanField(default=False, help_text='Designates that this user has all permissions without explicitly assigning them.', verbose_name='superuser status')"),
    ("username", "models.CharField(error_messages={'unique': 'A user with that username already exists.'}, help_text='Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.', max_length=150, unique=True, validators=[django.contrib.auth.validators.UnicodeUsernameValidator()], verbose_name='username')"),
    ("first_name", "models.CharField(blank=True, max_length=150, verbose_name='first name')"),
    ("last_name", "models.CharField(blank=True, max_length=150, verbose_name='last name')"),
    ("email", "models.EmailField(blank=True, max_length=254, verbose_name='email address')"),
    ("is_staff", "models.BooleanField(default=False, help_text='Designates whether the user can log into this admin site.', verbose_name='staff status')"),
    ("is_active", "models.BooleanField(default=True, help_text='Designates whether this user should be treated as active. Unselect this instead of deleting accounts.', verbose_name='active')"),
    ("date_joined", "models.DateTimeField(default=django.utils.timezone.now, verbose_name='date joined')"),
    ("groups", "models.ManyToManyField(blank=True, help_text='The groups this user belongs to. A user will get all permissions granted to each of their groups.', related_name='user_set', related_query_name='user', to='auth.group', verbose_name='groups')"),
    ("user_permissions", "models.ManyToManyField(blank=True, help_text='Specific permissions for this user.', related_name='user_set', related_query_name='user', to='auth.permission', verbose_name='user permissions')"),
];

const ABSTRACT_BASE_SESSION_FIELDS: &[(&str, &str)] = &[
    ("session_key", "models.CharField(max_length=40, primary_key=True, serialize=False, verbose_name='session key')"),
    ("session_data", "models.TextField(verbose_name='session data')"),
    ("expire_date", "models.DateTimeField(db_index=True, verbose_name='expire date')"),
];

const DJANGO_ABSTRACTS: &[DjangoAbstract] = &[
    DjangoAbstract {
        path: "django.contrib.auth.models.AbstractBaseUser",
        fields: ABSTRACT_BASE_USER_FIELDS,
        options: &[("abstract", "False")],
        managers: &[],
    },
    DjangoAbstract {
        path: "django.contrib.auth.models.PermissionsMixin",
        fields: PERMISSIONS_MIXIN_FIELDS,
        options: &[("abstract", "False")],
        managers: &[],
    },
    DjangoAbstract {
        path: "django.contrib.auth.models.AbstractUser",
        fields: ABSTRACT_USER_FIELDS,
        options: &[
            ("verbose_name", "'user'"),
            ("verbose_name_plural", "'users'"),
            ("abstract", "False"),
        ],
        managers: &[("objects", "django.contrib.auth.models.UserManager", true)],
    },
    DjangoAbstract {
        path: "django.contrib.sessions.base_session.AbstractBaseSession",
        fields: ABSTRACT_BASE_SESSION_FIELDS,
        options: &[
            ("verbose_name", "'session'"),
            ("verbose_name_plural", "'sessions'"),
            ("abstract", "False"),
        ],
        managers: &[(
            "objects",
            "django.contrib.sessions.base_session.BaseSessionManager",
            false,
        )],
    },
];

/// One of Django's abstract models.
pub fn django_abstract(path: &str) -> Option<&'static DjangoAbstract> {
    DJANGO_ABSTRACTS.iter().find(|a| a.path == path)
}

/// A value written as migration source (for the tables above).
pub fn parse_value(src: &str) -> PyValue {
    let text = format!(
        "import django.contrib.auth.validators\nimport django.utils.timezone\nfrom django.db import models\nX = {src}\n"
    );
    let p = djcheck_python::parse_module(&text);
    let names = crate::pyvalue::ImportMap::of_module(p.body());
    let b = djcheck_python::eval::ModuleBindings::new(p.body());
    match b.get("X") {
        Some(e) => crate::pyvalue::from_migration_expr(e, &names, &b),
        None => PyValue::Unknown,
    }
}

/// A field's `deconstruct()`: its path and keyword arguments, sorted by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Deconstructed {
    pub path: String,
    pub kwargs: BTreeMap<String, PyValue>,
}

impl Deconstructed {
    /// As a value (a field given as an argument, ArrayField's `base_field`).
    pub fn to_value(&self) -> PyValue {
        PyValue::Call(Arc::new(CallValue {
            path: self.path.clone(),
            args: Vec::new(),
            kwargs: self
                .kwargs
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            splat: false,
        }))
    }
}

/// What the deconstruction needs from the side it reads (models or migrations).
pub struct RelationCx<'a> {
    /// A relation's target, as `deconstruct()` writes `to` (`app.model`).
    pub to: &'a dyn Fn(&PyValue) -> PyValue,
    /// A `through` model, as `deconstruct()` writes it.
    pub through: &'a dyn Fn(&PyValue) -> PyValue,
    /// Whether `to_field` names the target's primary key (dropped then); `None`: unknown.
    pub to_field_is_pk: &'a dyn Fn(&PyValue, &PyValue) -> Option<bool>,
}

/// Parameters of each known class, in order.
fn positional(class: &str) -> &'static [&'static str] {
    match class {
        "DecimalField" => &["verbose_name", "name", "max_digits", "decimal_places"],
        "DateField" | "DateTimeField" | "TimeField" => {
            &["verbose_name", "name", "auto_now", "auto_now_add"]
        }
        "FilePathField" => &[
            "verbose_name",
            "name",
            "path",
            "match",
            "recursive",
            "allow_files",
            "allow_folders",
        ],
        "GenericIPAddressField" => &["verbose_name", "name", "protocol", "unpack_ipv4"],
        "URLField" => &["verbose_name", "name"],
        "UUIDField" => &["verbose_name"],
        "FileField" => &["verbose_name", "name", "upload_to", "storage"],
        "ImageField" => &["verbose_name", "name", "width_field", "height_field"],
        "JSONField" => &["verbose_name", "name", "encoder", "decoder"],
        "ForeignKey" => &[
            "to",
            "on_delete",
            "related_name",
            "related_query_name",
            "limit_choices_to",
            "parent_link",
            "to_field",
            "db_constraint",
        ],
        "OneToOneField" => &["to", "on_delete", "to_field"],
        "ManyToManyField" => &[
            "to",
            "related_name",
            "related_query_name",
            "limit_choices_to",
            "symmetrical",
            "through",
            "through_fields",
            "db_constraint",
            "db_table",
            "swappable",
        ],
        "ArrayField" => &["base_field", "size"],
        _ => FIELD_POS,
    }
}

fn is(v: Option<&PyValue>, lit: &PyValue) -> bool {
    v == Some(lit)
}

/// Python truthiness of a literal value: `None` when not known.
fn truthy(v: &PyValue) -> Option<bool> {
    Some(match v {
        PyValue::None => false,
        PyValue::Bool(b) => *b,
        PyValue::Int(i) => *i != 0,
        PyValue::Float(bits) => f64::from_bits(*bits) != 0.0,
        PyValue::Str(s) => !s.is_empty(),
        PyValue::Bytes(b) => !b.is_empty(),
        PyValue::List(v) | PyValue::Tuple(v) | PyValue::Set(v) => !v.is_empty(),
        PyValue::Dict(d) => !d.is_empty(),
        // Functions and classes are true; so are instances without `__bool__`/`__len__`
        // in practice, but a call may build anything.
        PyValue::Ref(_) => true,
        _ => return None,
    })
}

/// Django's `normalize_choices` (5.0+): a mapping's items, and an iterable of pairs as
/// a list of 2-tuples whose values are normalized in turn (groups).
pub fn normalize_choices(v: &PyValue, depth: usize) -> PyValue {
    let pairs: Vec<PyValue> = match v {
        PyValue::Str(_) | PyValue::Bytes(_) | PyValue::Unknown | PyValue::None => return v.clone(),
        PyValue::Dict(d) if depth < 2 => d
            .iter()
            .map(|(k, x)| PyValue::Tuple(vec![k.clone(), x.clone()]))
            .collect(),
        PyValue::List(items) | PyValue::Tuple(items) | PyValue::Set(items) if depth < 2 => {
            if items
                .iter()
                .any(|x| matches!(x, PyValue::Str(_) | PyValue::Bytes(_)))
            {
                return v.clone();
            }
            if items.iter().any(PyValue::has_unknown) && items.iter().any(|x| x.items().is_none()) {
                return PyValue::Unknown;
            }
            if matches!(v, PyValue::Set(_)) && items.len() > 1 {
                // A set's order is not the source's.
                return PyValue::Unknown;
            }
            items.clone()
        }
        PyValue::Ref(_) if depth == 0 => return v.clone(),
        _ => {
            return if depth == 0 {
                PyValue::Unknown
            } else {
                v.clone()
            }
        }
    };
    let mut out = Vec::with_capacity(pairs.len());
    for p in &pairs {
        match p.items() {
            Some([k, x]) if !matches!(p, PyValue::Set(_)) => out.push(PyValue::Tuple(vec![
                k.clone(),
                normalize_choices(x, depth + 1),
            ])),
            // Not pairs: the value is kept as it is (Django's check framework reports it).
            Some(_) => return v.clone(),
            None => return PyValue::Unknown,
        }
    }
    PyValue::List(out)
}

/// Binds positional arguments to the class's parameter names.
fn bind(class: &str, call: &CallValue) -> Result<BTreeMap<String, PyValue>, &'static str> {
    if call.splat {
        return Err("its arguments include `*args` or `**kwargs`");
    }
    let names = positional(class);
    let mut out = BTreeMap::new();
    if call.args.len() > names.len() {
        return Err("it has more positional arguments than the class takes");
    }
    for (v, n) in call.args.iter().zip(names) {
        out.insert((*n).to_owned(), v.clone());
    }
    for (k, v) in &call.kwargs {
        if out.insert(k.clone(), v.clone()).is_some() {
            return Err("an argument is given twice");
        }
    }
    Ok(out)
}

/// The `deconstruct()` of a field of one of Django's classes (`class_path` canonical),
/// built with `call`'s arguments; `path` is what `deconstruct()` reports (the project's
/// own subclass, for a field class of the project that changes nothing of its base).
pub fn deconstruct(
    class_path: &str,
    path: &str,
    call: &CallValue,
    cx: &RelationCx<'_>,
) -> Result<Deconstructed, &'static str> {
    let class = class_path.rsplit('.').next().unwrap_or(class_path);
    let mut a = bind(class, call)?;
    a.remove("name");
    let set = |a: &mut BTreeMap<String, PyValue>, k: &str, v: PyValue| {
        a.insert(k.to_owned(), v);
    };
    let setdefault = |a: &mut BTreeMap<String, PyValue>, k: &str, v: PyValue| {
        a.entry(k.to_owned()).or_insert(v);
    };
    // __init__: what each class forces or defaults.
    match class {
        "AutoField" | "BigAutoField" | "SmallAutoField" => {
            set(&mut a, "blank", PyValue::Bool(true))
        }
        "DateField" | "DateTimeField" | "TimeField" => {
            let on = |k: &str| a.get(k).map_or(Some(false), truthy);
            match (on("auto_now"), on("auto_now_add")) {
                (Some(false), Some(false)) => {}
                (Some(_), Some(_)) => {
                    set(&mut a, "editable", PyValue::Bool(false));
                    set(&mut a, "blank", PyValue::Bool(true));
                }
                _ => return Err("`auto_now`/`auto_now_add` is not a literal"),
            }
        }
        "EmailField" => setdefault(&mut a, "max_length", PyValue::Int(254)),
        "FilePathField" | "FileField" | "ImageField" => {
            setdefault(&mut a, "max_length", PyValue::Int(100))
        }
        "IPAddressField" => set(&mut a, "max_length", PyValue::Int(15)),
        "GenericIPAddressField" => set(&mut a, "max_length", PyValue::Int(39)),
        "NullBooleanField" => {
            set(&mut a, "null", PyValue::Bool(true));
            set(&mut a, "blank", PyValue::Bool(true));
        }
        "SlugField" => {
            setdefault(&mut a, "max_length", PyValue::Int(50));
            setdefault(&mut a, "db_index", PyValue::Bool(true));
        }
        "URLField" => setdefault(&mut a, "max_length", PyValue::Int(200)),
        "BinaryField" => setdefault(&mut a, "editable", PyValue::Bool(false)),
        "UUIDField" => set(&mut a, "max_length", PyValue::Int(32)),
        "ForeignKey" => setdefault(&mut a, "db_index", PyValue::Bool(true)),
        "OneToOneField" => {
            setdefault(&mut a, "db_index", PyValue::Bool(true));
            set(&mut a, "unique", PyValue::Bool(true));
        }
        _ => {}
    }
    let related = matches!(class, "ForeignKey" | "OneToOneField" | "ManyToManyField");
    // Field.deconstruct: every parameter that is not its default (by identity, as
    // Django compares; `choices` and `validators` by equality).
    let mut out: BTreeMap<String, PyValue> = BTreeMap::new();
    let none = PyValue::None;
    let f = PyValue::Bool(false);
    let t = PyValue::Bool(true);
    // Field's own parameters and their defaults. The arguments given are looked up here
    // (a few), not each parameter among them (twenty lookups per field).
    let default_of = |k: &str| -> Option<Option<&PyValue>> {
        Some(match k {
            "verbose_name" | "max_length" | "unique_for_date" | "unique_for_month"
            | "unique_for_year" | "db_column" | "db_comment" | "db_tablespace"
            | "error_messages" => Some(&none),
            "primary_key" | "unique" | "blank" | "null" | "db_index" | "auto_created" => Some(&f),
            "editable" | "serialize" => Some(&t),
            "default" | "db_default" | "help_text" => None,
            _ => return None,
        })
    };
    for (k, v) in &a {
        let Some(default) = default_of(k) else {
            continue;
        };
        let keep = match (k.as_str(), default) {
            ("default" | "db_default", _) => {
                !matches!(v, PyValue::Ref(r) if r == "django.db.models.NOT_PROVIDED")
            }
            ("help_text", _) => *v != PyValue::Str(String::new()),
            (_, Some(d)) => v != d,
            (_, None) => true,
        };
        if keep {
            out.insert(k.clone(), v.clone());
        }
    }
    if let Some(c) = a.get("choices") {
        let n = normalize_choices(c, 0);
        if n != PyValue::None {
            out.insert("choices".to_owned(), n);
        }
    }
    if let Some(v) = a.get("validators") {
        match v {
            PyValue::List(x) | PyValue::Tuple(x) if x.is_empty() => {}
            PyValue::List(x) | PyValue::Tuple(x) => {
                out.insert("validators".to_owned(), PyValue::List(x.clone()));
            }
            _ => {
                out.insert("validators".to_owned(), PyValue::Unknown);
            }
        }
    }
    // Subclasses.
    let get = |k: &str| a.get(k);
    match class {
        "CharField"
        | "TextField"
        | "EmailField"
        | "SlugField"
        | "URLField"
        | "CommaSeparatedIntegerField" => {
            if let Some(c) = get("db_collation") {
                match truthy(c) {
                    Some(true) => {
                        out.insert("db_collation".into(), c.clone());
                    }
                    Some(false) => {}
                    None => return Err("`db_collation` is not a literal"),
                }
            }
        }
        _ => {}
    }
    match class {
        "DateField" | "DateTimeField" => {
            let on = |k: &str| get(k).map_or(Some(false), truthy);
            if on("auto_now") == Some(true) {
                out.insert("auto_now".into(), PyValue::Bool(true));
            }
            if on("auto_now_add") == Some(true) {
                out.insert("auto_now_add".into(), PyValue::Bool(true));
            }
            if on("auto_now") == Some(true) || on("auto_now_add") == Some(true) {
                out.remove("editable");
                out.remove("blank");
            }
        }
        "TimeField" => {
            for k in ["auto_now", "auto_now_add"] {
                if let Some(v) = get(k) {
                    if *v != PyValue::Bool(false) {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
            let on = |k: &str| get(k).map_or(Some(false), truthy);
            if on("auto_now") == Some(true) || on("auto_now_add") == Some(true) {
                out.remove("editable");
                out.remove("blank");
            }
        }
        "DecimalField" => {
            for k in ["max_digits", "decimal_places"] {
                if let Some(v) = get(k) {
                    if *v != PyValue::None {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
        }
        "FilePathField" => {
            if let Some(v) = get("path") {
                if *v != PyValue::Str(String::new()) {
                    out.insert("path".into(), v.clone());
                }
            }
            for (k, d) in [
                ("match", PyValue::None),
                ("recursive", PyValue::Bool(false)),
                ("allow_files", PyValue::Bool(true)),
                ("allow_folders", PyValue::Bool(false)),
            ] {
                if let Some(v) = get(k) {
                    if *v != d {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
            if is(out.get("max_length"), &PyValue::Int(100)) {
                out.remove("max_length");
            }
        }
        "FileField" | "ImageField" => {
            if is(out.get("max_length"), &PyValue::Int(100)) {
                out.remove("max_length");
            }
            out.insert(
                "upload_to".into(),
                get("upload_to")
                    .cloned()
                    .unwrap_or(PyValue::Str(String::new())),
            );
            if let Some(s) = get("storage") {
                match s {
                    PyValue::None => {}
                    // `storage=default_storage` is the default; any other is kept.
                    PyValue::Ref(r) if r == "django.core.files.storage.default_storage" => {}
                    other => {
                        out.insert("storage".into(), other.clone());
                    }
                }
            }
            if class == "ImageField" {
                for k in ["width_field", "height_field"] {
                    if let Some(v) = get(k) {
                        match truthy(v) {
                            Some(true) => {
                                out.insert(k.into(), v.clone());
                            }
                            Some(false) => {}
                            None => return Err("an argument is not a literal"),
                        }
                    }
                }
            }
        }
        "IPAddressField" | "UUIDField" => {
            out.remove("max_length");
        }
        "GenericIPAddressField" => {
            if let Some(v) = get("unpack_ipv4") {
                if *v != PyValue::Bool(false) {
                    out.insert("unpack_ipv4".into(), v.clone());
                }
            }
            if let Some(v) = get("protocol") {
                if *v != PyValue::Str("both".into()) {
                    out.insert("protocol".into(), v.clone());
                }
            }
            out.remove("max_length");
        }
        "NullBooleanField" => {
            out.remove("null");
            out.remove("blank");
        }
        "SlugField" => {
            if is(out.get("max_length"), &PyValue::Int(50)) {
                out.remove("max_length");
            }
            match get("db_index").and_then(truthy) {
                Some(false) => {
                    out.insert("db_index".into(), PyValue::Bool(false));
                }
                Some(true) => {
                    out.remove("db_index");
                }
                None => return Err("`db_index` is not a literal"),
            }
            if let Some(v) = get("allow_unicode") {
                if *v != PyValue::Bool(false) {
                    out.insert("allow_unicode".into(), v.clone());
                }
            }
        }
        "URLField" if is(out.get("max_length"), &PyValue::Int(200)) => {
            out.remove("max_length");
        }
        "BinaryField" => match get("editable").and_then(truthy) {
            Some(true) => {
                out.insert("editable".into(), PyValue::Bool(true));
            }
            Some(false) => {
                out.remove("editable");
            }
            None => return Err("`editable` is not a literal"),
        },
        "AutoField" | "BigAutoField" | "SmallAutoField" => {
            out.remove("blank");
            out.insert("primary_key".into(), PyValue::Bool(true));
        }
        "JSONField" => {
            for k in ["encoder", "decoder"] {
                if let Some(v) = get(k) {
                    if *v != PyValue::None {
                        out.insert(k.into(), v.clone());
                    }
                }
            }
        }
        "ArrayField" => {
            let base = match get("base_field") {
                Some(PyValue::Call(c)) => match known_field_class(&c.path) {
                    Some(p) => deconstruct(p, p, c, cx)?.to_value(),
                    None => PyValue::Call(c.clone()),
                },
                Some(other) => other.clone(),
                None => return Err("ArrayField has no `base_field`"),
            };
            out.insert("base_field".into(), base);
            out.insert("size".into(), get("size").cloned().unwrap_or(PyValue::None));
        }
        "DecimalRangeField" | "DateTimeRangeField" => {
            if let Some(v) = get("default_bounds") {
                if truthy(v) == Some(true) && *v != PyValue::Str("[)".into()) {
                    out.insert("default_bounds".into(), v.clone());
                }
            }
        }
        _ => {}
    }
    if related {
        let Some(to) = get("to") else {
            return Err("the relation has no target");
        };
        if let Some(v) = get("limit_choices_to") {
            match truthy(v) {
                Some(false) => {}
                _ => {
                    out.insert("limit_choices_to".into(), v.clone());
                }
            }
        }
        for k in ["related_name", "related_query_name"] {
            if let Some(v) = get(k) {
                if *v != PyValue::None {
                    out.insert(k.into(), v.clone());
                }
            }
        }
        out.insert("to".into(), (cx.to)(to));
        if class == "ManyToManyField" {
            if let Some(v) = get("db_table") {
                if *v != PyValue::None {
                    out.insert("db_table".into(), v.clone());
                }
            }
            if let Some(v) = get("db_constraint") {
                if *v != PyValue::Bool(true) {
                    out.insert("db_constraint".into(), v.clone());
                }
            }
            if let Some(v) = get("through") {
                if *v != PyValue::None {
                    out.insert("through".into(), (cx.through)(v));
                }
            }
            if let Some(v) = get("through_fields") {
                match truthy(v) {
                    Some(false) => {}
                    _ => {
                        out.insert("through_fields".into(), v.clone());
                    }
                }
            }
        } else {
            let Some(on_delete) = get("on_delete") else {
                return Err("the relation has no `on_delete`");
            };
            out.insert("on_delete".into(), on_delete.clone());
            if let Some(v) = get("parent_link") {
                match truthy(v) {
                    Some(false) => {}
                    _ => {
                        out.insert("parent_link".into(), v.clone());
                    }
                }
            }
            match out.get("db_index").or(get("db_index")).and_then(truthy) {
                Some(true) => {
                    out.remove("db_index");
                }
                Some(false) => {
                    out.insert("db_index".into(), PyValue::Bool(false));
                }
                None => return Err("`db_index` is not a literal"),
            }
            if let Some(v) = get("db_constraint") {
                if *v != PyValue::Bool(true) {
                    out.insert("db_constraint".into(), v.clone());
                }
            }
            if let Some(tf) = get("to_field") {
                if *tf != PyValue::None {
                    match (cx.to_field_is_pk)(to, tf) {
                        Some(true) => {}
                        Some(false) => {
                            out.insert("to_field".into(), tf.clone());
                        }
                        None => return Err("`to_field` may or may not name the primary key"),
                    }
                }
            }
            if class == "OneToOneField" {
                out.remove("unique");
            }
        }
    }
    Ok(Deconstructed {
        path: path.to_owned(),
        kwargs: out,
    })
}

/// The `deconstruct()` of an index or a constraint of Django: `Index`,
/// `UniqueConstraint`, `CheckConstraint` (other classes are returned as written, to be
/// compared only with the very same call). `name` fills in a missing index name.
pub fn deconstruct_part(v: &PyValue, auto_name: &dyn Fn(&CallValue) -> Option<String>) -> PyValue {
    let PyValue::Call(c) = v else {
        return PyValue::Unknown;
    };
    if c.splat {
        return PyValue::Unknown;
    }
    let kw = |k: &str| c.kw(k);
    let exprs: Vec<PyValue> = c
        .args
        .iter()
        .map(|e| match e {
            PyValue::Str(s) => PyValue::Call(Arc::new(CallValue {
                path: "django.db.models.F".into(),
                args: vec![PyValue::Str(s.clone())],
                kwargs: Vec::new(),
                splat: false,
            })),
            other => other.clone(),
        })
        .collect();
    let mut out: Vec<(String, PyValue)> = Vec::new();
    let truthy_or_unknown = |v: &PyValue| truthy(v) != Some(false);
    let postgres_extra: &[&str] = match c.path.as_str() {
        "django.contrib.postgres.indexes.GinIndex" => &["fastupdate", "gin_pending_list_limit"],
        "django.contrib.postgres.indexes.GistIndex" => &["buffering", "fillfactor"],
        "django.contrib.postgres.indexes.BTreeIndex" => &["fillfactor", "deduplicate_items"],
        "django.contrib.postgres.indexes.HashIndex" => &["fillfactor"],
        "django.contrib.postgres.indexes.BrinIndex" => &["autosummarize", "pages_per_range"],
        "django.contrib.postgres.indexes.SpGistIndex" => &["fillfactor"],
        _ => &[],
    };
    let is_index = index_suffix(&c.path).is_some();
    match c.path.as_str() {
        _ if is_index => {
            let name = match kw("name") {
                Some(PyValue::Str(s)) if !s.is_empty() => PyValue::Str(s.clone()),
                Some(PyValue::Str(_)) | Some(PyValue::None) | None => match auto_name(c) {
                    Some(n) => PyValue::Str(n),
                    None => PyValue::Unknown,
                },
                Some(other) => other.clone(),
            };
            out.push(("name".into(), name));
            if let Some(f) = kw("fields") {
                match f.items() {
                    Some([]) => {}
                    Some(items) => out.push(("fields".into(), PyValue::List(items.to_vec()))),
                    None => out.push(("fields".into(), PyValue::Unknown)),
                }
            }
            if let Some(v) = kw("db_tablespace") {
                if *v != PyValue::None {
                    out.push(("db_tablespace".into(), v.clone()));
                }
            }
            for k in ["opclasses", "condition"] {
                if let Some(v) = kw(k) {
                    if truthy_or_unknown(v) {
                        out.push((k.into(), v.clone()));
                    }
                }
            }
            if let Some(v) = kw("include") {
                if truthy_or_unknown(v) {
                    out.push((
                        "include".into(),
                        v.items()
                            .map_or(PyValue::Unknown, |i| PyValue::Tuple(i.to_vec())),
                    ));
                }
            }
            for k in postgres_extra {
                if let Some(v) = kw(k) {
                    if *v != PyValue::None {
                        out.push(((*k).into(), v.clone()));
                    }
                }
            }
        }
        "django.db.models.UniqueConstraint" | "django.db.models.CheckConstraint" => {
            out.push((
                "name".into(),
                kw("name").cloned().unwrap_or(PyValue::Unknown),
            ));
            if let Some(v) = kw("violation_error_message") {
                if *v != PyValue::None
                    && *v != PyValue::Str("Constraint “%(name)s” is violated.".into())
                {
                    out.push(("violation_error_message".into(), v.clone()));
                }
            }
            if let Some(v) = kw("violation_error_code") {
                if *v != PyValue::None {
                    out.push(("violation_error_code".into(), v.clone()));
                }
            }
            if c.path.ends_with("CheckConstraint") {
                let cond = kw("condition").or(kw("check"));
                out.push((
                    "condition".into(),
                    cond.cloned().unwrap_or(PyValue::Unknown),
                ));
                return PyValue::Call(Arc::new(CallValue {
                    path: c.path.clone(),
                    args: Vec::new(),
                    kwargs: sorted(out),
                    splat: false,
                }));
            }
            for k in ["fields", "include"] {
                if let Some(v) = kw(k) {
                    if truthy_or_unknown(v) {
                        out.push((
                            k.into(),
                            v.items()
                                .map_or(PyValue::Unknown, |i| PyValue::Tuple(i.to_vec())),
                        ));
                    }
                }
            }
            for k in ["condition", "deferrable", "opclasses"] {
                if let Some(v) = kw(k) {
                    if truthy_or_unknown(v) {
                        out.push((k.into(), v.clone()));
                    }
                }
            }
            if let Some(v) = kw("nulls_distinct") {
                if *v != PyValue::None {
                    out.push(("nulls_distinct".into(), v.clone()));
                }
            }
        }
        // Another class: compared as written, and only when named (an unnamed one gets
        // a name djcheck does not compute).
        _ => {
            return match kw("name") {
                Some(PyValue::Str(_)) => v.clone(),
                _ => PyValue::Unknown,
            }
        }
    }
    PyValue::Call(Arc::new(CallValue {
        path: c.path.clone(),
        args: exprs,
        kwargs: sorted(out),
        splat: false,
    }))
}

/// The suffix of the names Django gives the indexes of a class (`idx`, `gin`...).
pub fn index_suffix(path: &str) -> Option<&'static str> {
    Some(match path {
        "django.db.models.Index" => "idx",
        "django.contrib.postgres.indexes.GinIndex" => "gin",
        "django.contrib.postgres.indexes.GistIndex" => "gist",
        "django.contrib.postgres.indexes.BTreeIndex" => "btree",
        "django.contrib.postgres.indexes.HashIndex" => "hash",
        "django.contrib.postgres.indexes.BrinIndex" => "brin",
        "django.contrib.postgres.indexes.SpGistIndex" => "spgist",
        _ => return None,
    })
}

fn sorted(mut v: Vec<(String, PyValue)>) -> Vec<(String, PyValue)> {
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// Python's `str.title()`: the first cased character of each run of letters upper, the
/// rest lower.
pub fn title(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut prev_cased = false;
    for c in s.chars() {
        if prev_cased {
            out.extend(c.to_lowercase());
        } else {
            out.extend(c.to_uppercase());
        }
        prev_cased = c.is_alphabetic();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(src: &str) -> Deconstructed {
        let PyValue::Call(c) = parse_value(src) else {
            panic!("{src}")
        };
        let to = |v: &PyValue| match v {
            PyValue::Str(s) => PyValue::Str(s.to_ascii_lowercase()),
            other => other.clone(),
        };
        let through = |v: &PyValue| v.clone();
        let pk = |_: &PyValue, _: &PyValue| Some(false);
        let cx = RelationCx {
            to: &to,
            through: &through,
            to_field_is_pk: &pk,
        };
        deconstruct(&c.path, &c.path, &c, &cx).unwrap()
    }

    #[test]
    fn defaults_are_dropped_as_django_drops_them() {
        assert_eq!(
            dec("models.CharField(max_length=10, null=False, blank=False)"),
            dec("models.CharField(max_length=10)")
        );
        assert_eq!(
            dec("models.SlugField(max_length=50)"),
            dec("models.SlugField()")
        );
        assert_eq!(
            dec("models.EmailField()"),
            dec("models.EmailField(max_length=254)")
        );
        assert_eq!(
            dec("models.DateTimeField(auto_now_add=True, blank=True)"),
            dec("models.DateTimeField(auto_now_add=True)")
        );
        assert_ne!(
            dec("models.CharField(max_length=10)"),
            dec("models.CharField(max_length=11)")
        );
        assert_eq!(
            dec("models.ForeignKey('a.B', models.CASCADE, db_index=True)"),
            dec("models.ForeignKey(on_delete=models.CASCADE, to='a.B')")
        );
        assert_eq!(
            dec("models.CharField('Title', max_length=5)").kwargs["verbose_name"],
            PyValue::Str("Title".into())
        );
        assert_eq!(
            dec("models.CharField(max_length=1, choices=(('a', 'A'),))"),
            dec("models.CharField(max_length=1, choices=[['a', 'A']])")
        );
    }

    #[test]
    fn python_title() {
        assert_eq!(
            title("IN_PROGRESS".replace('_', " ").as_str()),
            "In Progress"
        );
        assert_eq!(title("a1b"), "A1B");
    }
}
