#!/usr/bin/env python3
"""Generate a large, valid Django project for benchmarking djcheck.

    python3 tests/bench/gen_project.py OUT_DIR [--apps N] [--migrations M] [--seed S]

The project is what `django-admin startproject` + `startapp` + many rounds of
`makemigrations` would leave behind:

* `manage.py`, `proj/{settings,urls,wsgi,asgi}.py` (DJANGO_SETTINGS_MODULE=proj.settings,
  sqlite database, AUTH_USER_MODEL = "users.User");
* a `users` app whose `0001_initial` creates a custom user model (AbstractUser);
* N apps, each with `apps.py`, `models.py`, `admin.py`, `views.py`, `urls.py` (included by
  `proj/urls.py` under a namespace) and M migrations written the way `makemigrations`
  writes them: CreateModel, AddField, AlterField, RemoveField, ForeignKeys within the app,
  to other apps (with a dependency on that app's latest migration at the time) and to
  settings.AUTH_USER_MODEL (with `migrations.swappable_dependency`), ManyToManyFields,
  occasional parallel branches joined by a `makemigrations --merge` migration, and
  hand-edited data migrations (RunSQL with reverse_sql, RunPython with reverse_code).

Every app's `models.py` matches the final state of its migrations, so
`python manage.py makemigrations --check --dry-run` reports "No changes detected",
`python manage.py check` reports no issues and `python manage.py migrate` works on sqlite.

Migrations are generated in "time order" (one per app per round), so a cross-app
dependency always points at a migration that existed when the dependent one was made:
the graph is acyclic, while apps may depend on each other both ways.

The output depends only on the arguments (seeded PRNG, fixed timestamps).
Python 3.8+, standard library only.
"""

import argparse
import datetime
import keyword
import os
import random
import shutil
import sys

DJANGO_VERSION = "5.2"

# App labels. Names of standard-library modules are avoided (the project folder comes
# first on sys.path, so an app called `calendar` would shadow the stdlib module).
APP_WORDS = [
    "billing", "catalog", "inventory", "shipping", "reviews", "loyalty", "payroll",
    "crm", "helpdesk", "scheduling", "analytics", "marketing", "procurement",
    "warehouse", "invoicing", "subscriptions", "notifications", "documents",
    "projects", "timesheets", "recruiting", "onboarding", "assets", "fleet",
    "maintenance", "compliance", "auditing", "pricing", "promotions", "returns",
    "fulfillment", "suppliers", "contracts", "forecasting", "budgeting", "expenses",
    "treasury", "ledger", "taxes", "courses", "enrollment", "grading", "library",
    "events", "ticketing", "venues", "bookings", "rentals", "surveys", "feedback",
]

MODEL_WORDS = [
    "Invoice", "Customer", "Product", "Order", "Payment", "Shipment", "Ticket",
    "Account", "Address", "Category", "Tag", "Note", "Event", "Booking", "Contract",
    "Supplier", "Warehouse", "Report", "Task", "Project", "Asset", "Vendor", "Coupon",
    "Review", "Message", "Subscription", "Plan", "Profile", "Document", "Attachment",
    "Employee", "Department", "Team", "Schedule", "Vehicle", "Route", "Device",
    "Batch", "Lead", "Quote", "Carrier", "Voucher", "Budget", "Expense", "Course",
    "Lesson", "Venue", "Survey", "Answer", "Rental",
]

# Field names by kind, so that a field's name fits its type.
FIELD_WORDS = {
    "CharField": ["title", "code", "reference", "status", "label", "sku", "barcode",
                  "region", "country", "city", "phone", "currency", "locale", "channel",
                  "origin", "color", "external_id", "kind", "source", "website"],
    "TextField": ["notes", "summary", "comment", "description", "instructions",
                  "details", "remarks", "terms"],
    "IntegerField": ["priority", "rating", "score", "level", "position", "rank",
                     "version", "attempts", "sort_order", "year"],
    "PositiveIntegerField": ["quantity", "duration", "capacity", "stock", "threshold",
                             "seats", "minutes", "max_items"],
    "BooleanField": ["archived", "verified", "featured", "is_active", "is_public",
                     "is_default", "enabled", "approved"],
    "DecimalField": ["amount", "weight", "discount", "tax", "balance", "cost", "margin",
                     "price", "total", "rate"],
    "DateTimeField": ["starts_at", "ends_at", "published_at", "archived_at", "approved_at",
                      "due_at", "closed_at", "synced_at"],
    "SlugField": ["slug", "handle", "url_slug"],
    "USER": ["owner", "created_by", "updated_by", "assigned_to", "approved_by", "author",
             "reviewer", "manager"],
}

# Scalar field kinds. Every AddField is nullable or has a default, so makemigrations
# never has to ask for a one-off default.
SCALAR_KINDS = ["CharField", "TextField", "IntegerField", "PositiveIntegerField",
                "BooleanField", "DecimalField", "DateTimeField", "SlugField"]

PERMANENT = {"id", "name"}  # never removed or altered into something else


class Raw(str):
    """Python source to emit as is (not repr'd)."""


def q_mig(v):
    """A value as Django's MigrationWriter serializes it (repr: single quotes)."""
    if isinstance(v, Raw):
        return str(v)
    return repr(v)


def q_src(v):
    """A value as a person writes it in models.py (double quotes)."""
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, str):
        assert '"' not in v and "\\" not in v
        return '"%s"' % v
    return repr(v)


class Field:
    def __init__(self, kind, kw, target=None, on_delete=None):
        self.kind = kind          # e.g. "CharField", "ForeignKey", "ManyToManyField"
        self.kw = dict(kw)        # plain kwargs, in the order a person would write them
        self.target = target      # None | "USER" | (app_label, ModelName)
        self.on_delete = on_delete

    def copy(self):
        return Field(self.kind, self.kw, self.target, self.on_delete)

    @property
    def relational(self):
        return self.target is not None

    def mig(self):
        """`models.X(...)` as makemigrations writes it: kwargs sorted by name."""
        kw = dict(self.kw)
        if self.on_delete:
            kw["on_delete"] = Raw("django.db.models.deletion." + self.on_delete)
        if self.target == "USER":
            kw["to"] = Raw("settings.AUTH_USER_MODEL")
        elif self.target:
            kw["to"] = "%s.%s" % (self.target[0], self.target[1].lower())
        args = ", ".join("%s=%s" % (k, q_mig(v)) for k, v in sorted(kw.items()))
        return "models.%s(%s)" % (self.kind, args)

    def src(self, app):
        """The same field as written in models.py."""
        parts = []
        if self.target == "USER":
            parts.append("settings.AUTH_USER_MODEL")
        elif self.target:
            t_app, t_model = self.target
            parts.append(q_src(t_model if t_app == app else "%s.%s" % (t_app, t_model)))
        if self.on_delete:
            parts.append("on_delete=models." + self.on_delete)
        parts += ["%s=%s" % (k, q_src(v)) for k, v in self.kw.items()]
        return "models.%s(%s)" % (self.kind, ", ".join(parts))


ID_FIELD = ("id", "models.BigAutoField(auto_created=True, primary_key=True, "
            "serialize=False, verbose_name='ID')")


class Model:
    def __init__(self, name):
        self.name = name
        self.fields = {}  # field name -> Field, in order of creation

    @property
    def lower(self):
        return self.name.lower()


class App:
    def __init__(self, label, index, use_config):
        self.label = label
        self.index = index
        self.use_config = use_config   # INSTALLED_APPS entry "x.apps.XConfig" vs "x"
        self.models = {}               # name -> Model
        self.migrations = []           # (name, text)
        self.leaf = None               # latest migration name
        self.number = 0                # highest migration number used

    @property
    def config_class(self):
        return "".join(p.capitalize() for p in self.label.split("_")) + "Config"


class Generator:
    def __init__(self, n_apps, n_migrations, seed):
        if n_migrations < 1:
            raise SystemExit("--migrations must be at least 1")
        self.rng = random.Random(seed)
        self.n_migrations = n_migrations
        self.clock = datetime.datetime(2024, 1, 8, 9, 0)
        self.apps = []
        taken = {"users", "proj", "admin", "auth", "contenttypes", "sessions", "messages",
                 "staticfiles", "django"}
        stdlib = set(getattr(sys, "stdlib_module_names", ()))
        for i in range(n_apps):
            word = APP_WORDS[i % len(APP_WORDS)]
            label = word if i < len(APP_WORDS) else "%s%d" % (word, i // len(APP_WORDS) + 1)
            assert label not in taken and label not in stdlib, label
            taken.add(label)
            self.apps.append(App(label, i, use_config=(i % 3 == 2)))
        self.by_label = {a.label: a for a in self.apps}
        self.index_seq = 0

    # ----- helpers -------------------------------------------------------------------

    def tick(self):
        self.clock += datetime.timedelta(minutes=self.rng.randint(7, 600))
        return self.clock.strftime("%Y-%m-%d %H:%M")

    def stamp(self):
        return self.clock.strftime("%Y%m%d_%H%M")

    def name_field(self, app, model, f, avoid=()):
        """A free field name on `model` that suits `f`; sets a relation's related_name."""
        if f.target == "USER":
            pool = FIELD_WORDS["USER"]
        elif f.target:
            low = f.target[1].lower()
            if f.kind == "ManyToManyField":
                pool = [low + "s", "related_%ss" % low, "extra_%ss" % low]
            elif f.target[1] == model.name:
                pool = ["parent", "previous", "replaces"]
            else:
                pool = [low, "primary_" + low, "default_" + low, "source_" + low]
        else:
            pool = FIELD_WORDS[f.kind]
        free = lambda w: w not in model.fields and w not in avoid
        words = [w for w in pool if free(w)]
        if words:
            name = self.rng.choice(words)
        else:
            n = 2
            while not free("%s%d" % (pool[0], n)):
                n += 1
            name = "%s%d" % (pool[0], n)
        if f.relational:
            f.kw["related_name"] = self.related_name(app, model, name)
        return name

    def related_name(self, app, model, field):
        return "%s_%s_%s" % (app.label, model.lower, field)

    def scalar_field(self, kind=None):
        r = self.rng
        kind = kind or r.choice(SCALAR_KINDS)
        if kind == "CharField":
            kw = {"max_length": r.choice([32, 50, 64, 100, 120, 150, 200, 255])}
            if r.random() < 0.7:
                kw = {"blank": True, "default": "", **kw}
        elif kind == "TextField":
            kw = {"blank": True, "default": ""}
        elif kind in ("IntegerField", "PositiveIntegerField"):
            kw = {"default": r.choice([0, 0, 1, 10, 100])} if r.random() < 0.7 else \
                {"blank": True, "null": True}
        elif kind == "BooleanField":
            kw = {"default": r.random() < 0.3}
        elif kind == "DecimalField":
            kw = {"decimal_places": 2, "default": 0, "max_digits": r.choice([8, 10, 12])}
        elif kind == "DateTimeField":
            kw = {"blank": True, "null": True}
        elif kind == "SlugField":
            kw = {"blank": True, "default": ""}
        else:
            raise AssertionError(kind)
        return Field(kind, kw)

    def altered(self, f):
        """A changed copy of scalar or FK field `f` (something makemigrations detects)."""
        r = self.rng
        g = f.copy()
        kw = g.kw
        if f.kind in ("ForeignKey",):
            if f.on_delete == "CASCADE":
                g.on_delete = "PROTECT"
            elif f.on_delete == "PROTECT":
                g.on_delete = "CASCADE"
            else:  # SET_NULL: keep it nullable, toggle db_index
                kw["db_index"] = not kw.get("db_index", True)
                if kw["db_index"]:
                    del kw["db_index"]
            return g
        choice = r.random()
        if choice < 0.3 and f.kind != "BooleanField":
            # help_text / verbose_name edits are the most common AlterField in practice.
            if "help_text" in kw:
                del kw["help_text"]
            else:
                kw["help_text"] = r.choice(["Shown to staff only.", "Used in reports.",
                                            "Set by the importer.", "Optional."])
            return g
        if f.kind in ("CharField",):
            kw["max_length"] = r.choice([m for m in (32, 50, 64, 100, 120, 150, 200, 255)
                                         if m != kw["max_length"]])
        elif f.kind in ("TextField", "SlugField"):
            kw["help_text"] = kw.get("help_text", "") + "!" if "help_text" in kw else "Free text."
        elif f.kind in ("IntegerField", "PositiveIntegerField"):
            if kw.get("null"):
                kw["db_index"] = not kw.get("db_index", False)
                if not kw["db_index"]:
                    del kw["db_index"]
            else:
                kw["default"] = r.choice([d for d in (0, 1, 5, 10, 100) if d != kw["default"]])
        elif f.kind == "BooleanField":
            kw["default"] = not kw["default"]
        elif f.kind == "DecimalField":
            kw["max_digits"] = r.choice([d for d in (8, 10, 12, 14) if d != kw["max_digits"]])
        elif f.kind == "DateTimeField":
            kw["db_index"] = not kw.get("db_index", False)
            if not kw["db_index"]:
                del kw["db_index"]
        return g

    def existing_targets(self, exclude_app):
        return [(a, m) for a in self.apps if a is not exclude_app and a.leaf
                for m in a.models.values()]

    # ----- rendering -----------------------------------------------------------------

    def render_migration(self, app, header_time, deps, ops, initial=False, prelude="",
                         imports=()):
        """deps: list of ("__setting__", "AUTH_USER_MODEL") or (app, name); ops: source
        lines of operations (each a list of lines without the 8-space indent)."""
        imports = set(imports)
        body = "\n".join(ops)
        if "models." in body:
            imports.add("from django.db import migrations, models")
        else:
            imports.add("from django.db import migrations")
        if "django.db.models.deletion" in body:
            imports.add("import django.db.models.deletion")
        dep_lines = []
        for d in deps:
            if d[0] == "__setting__":
                dep_lines.append("        migrations.swappable_dependency(settings.%s)," % d[1])
            else:
                dep_lines.append("        %r," % (tuple(d),))
        if "settings." in body or any(d[0] == "__setting__" for d in deps):
            imports.add("from django.conf import settings")
        imports = sorted(imports, key=lambda i: (i.split()[0] == "from", i.split()[1]))
        out = ["# Generated by Django %s on %s" % (DJANGO_VERSION, header_time), ""]
        out += imports
        out += ["", ""]
        if prelude:
            out += [prelude.rstrip("\n"), "", ""]
        out += ["class Migration(migrations.Migration):", ""]
        if initial:
            out += ["    initial = True", ""]
        out += ["    dependencies = ["] + sorted(dep_lines) + ["    ]", ""]
        out += ["    operations = ["]
        out += ops
        out += ["    ]", ""]
        return "\n".join(out)

    @staticmethod
    def op_create(model, fields):
        lines = ["        migrations.CreateModel(",
                 "            name=%r," % model.name,
                 "            fields=[",
                 "                (%r, %s)," % ID_FIELD]
        plain = [(n, f) for n, f in fields if not f.relational]
        rel = [(n, f) for n, f in fields if f.relational]
        for n, f in plain + rel:
            lines.append("                (%r, %s)," % (n, f.mig()))
        lines += ["            ],", "        ),"]
        return "\n".join(lines)

    @staticmethod
    def op_field(op, model, name, field=None):
        lines = ["        migrations.%s(" % op,
                 "            model_name=%r," % model.lower,
                 "            name=%r," % name]
        if field is not None:
            lines.append("            field=%s," % field.mig())
        lines.append("        ),")
        return "\n".join(lines)

    # ----- migration contents --------------------------------------------------------

    def relation_deps(self, app, f):
        """What makemigrations adds to `dependencies` for an altered relation field."""
        if f.target == "USER":
            return [("__setting__", "AUTH_USER_MODEL")]
        if f.target and f.target[0] != app.label:
            t_app = self.by_label[f.target[0]]
            return [(t_app.label, t_app.leaf)]
        return []

    def new_relation(self, app, model, in_create, busy=()):
        """A ForeignKey (to this app, another app or the user model) or, outside
        CreateModel, sometimes a ManyToManyField. Returns (Field, extra deps); the
        related_name is set by name_field()."""
        r = self.rng
        roll = r.random()
        deps = []
        if roll < 0.3:
            target = "USER"
            deps.append(("__setting__", "AUTH_USER_MODEL"))
        elif roll < 0.65:
            others = self.existing_targets(app)
            if not others:
                target = "USER"
                deps.append(("__setting__", "AUTH_USER_MODEL"))
            else:
                t_app, t_model = r.choice(others)
                target = (t_app.label, t_model.name)
                deps.append((t_app.label, t_app.leaf))
        else:
            # Not a model created by a parallel branch (it would not exist on this one).
            same = [m for m in app.models.values()
                    if m is not model and m.name not in busy] or [model]
            target = (app.label, r.choice(same).name)
        if not in_create and r.random() < 0.2:
            return Field("ManyToManyField", {"blank": True}, target), deps
        if in_create and r.random() < 0.6:
            on_delete = r.choice(["CASCADE", "CASCADE", "PROTECT"])
            kw = {}
        else:
            # Added to an existing table: nullable, so no one-off default is needed.
            on_delete = r.choice(["SET_NULL", "SET_NULL", "CASCADE"])
            kw = {"blank": True, "null": True}
        return Field("ForeignKey", kw, target, on_delete), deps

    def schema_ops(self, app, busy):
        """1-3 schema operations on `app`. Mutates the app's state; `busy` holds the
        (model, field) pairs and new model names already used by this migration (or by a
        parallel branch), so no two operations in flight touch the same thing."""
        r = self.rng
        n_ops = r.choice([1, 1, 1, 1, 1, 2, 2, 3])
        # Operations in the order makemigrations writes them: created models, removed,
        # added, altered fields, each group sorted by (model, field); a created model
        # with a relation comes last (the optimizer folds its relation AddField into the
        # CreateModel at the AddField's place).
        ops_create, ops_remove, ops_add, ops_alter, ops_create_rel = [], [], [], [], []
        deps = []
        for _ in range(n_ops):
            roll = r.random()
            models_ = [m for m in app.models.values() if m.name not in busy]
            if roll < 0.12 or not models_:
                # CreateModel
                free = [w for w in MODEL_WORDS if w not in app.models and w not in busy]
                if not free:
                    continue
                m = Model(r.choice(free))
                busy.add(m.name)
                fields = []
                fields += self.initial_fields(app, m, r.randint(0, 3), r.random() < 0.5,
                                              busy, deps)
                app.models[m.name] = m
                has_rel = any(f.relational for _, f in fields)
                (ops_create_rel if has_rel else ops_create).append(
                    (m.lower, self.op_create(m, fields), m.lower))
                continue
            m = r.choice(models_)
            touchable = [n for n in m.fields if n not in PERMANENT and (m.name, n) not in busy]
            if roll < 0.55 or not touchable:
                # AddField (scalar or relation)
                if r.random() < 0.3:
                    f, d = self.new_relation(app, m, in_create=False, busy=busy)
                    deps += d
                else:
                    f = self.scalar_field()
                fn = self.name_field(app, m, f, {x[1] for x in busy
                                                 if isinstance(x, tuple) and x[0] == m.name})
                busy.add((m.name, fn))
                m.fields[fn] = f
                ops_add.append(((m.lower, fn), self.op_field("AddField", m, fn, f),
                                "%s_%s" % (m.lower, fn)))
            elif roll < 0.82:
                # AlterField (not on many-to-many fields)
                cands = [n for n in touchable if m.fields[n].kind != "ManyToManyField"]
                if not cands:
                    continue
                fn = r.choice(cands)
                busy.add((m.name, fn))
                g = self.altered(m.fields[fn])
                m.fields[fn] = g
                deps += self.relation_deps(app, g)
                ops_alter.append(((m.lower, fn), self.op_field("AlterField", m, fn, g),
                                  "alter_%s_%s" % (m.lower, fn)))
            else:
                # RemoveField
                fn = r.choice(touchable)
                busy.add((m.name, fn))
                del m.fields[fn]
                ops_remove.append(((m.lower, fn), self.op_field("RemoveField", m, fn),
                                   "remove_%s_%s" % (m.lower, fn)))
        ops = (sorted(ops_create) + sorted(ops_remove) + sorted(ops_add) + sorted(ops_alter)
               + sorted(ops_create_rel))
        return [o[1] for o in ops], deps, [o[2] for o in ops]

    def initial_fields(self, app, m, n_scalar, with_relation, busy, deps):
        """Fields of a new model `m` besides id: `name`, n_scalar scalars and maybe one
        relation. Fills m.fields, extends deps, returns [(name, Field)]."""
        m.fields["name"] = Field("CharField", {"max_length": 100})
        fields = [("name", m.fields["name"])]
        for _ in range(n_scalar):
            f = self.scalar_field()
            fn = self.name_field(app, m, f)
            m.fields[fn] = f
            fields.append((fn, f))
        if with_relation:
            f, d = self.new_relation(app, m, in_create=True, busy=busy)
            fn = self.name_field(app, m, f)
            m.fields[fn] = f
            fields.append((fn, f))
            deps += d
        return fields

    @staticmethod
    def suggest_name(fragments):
        # django.db.migrations.migration.Migration.suggest_name
        name = fragments[0]
        for frag in fragments[1:]:
            new = "%s_%s" % (name, frag)
            if len(new) > 52:
                return name + "_and_more"
            name = new
        return name

    def add_migration(self, app, name, text):
        app.migrations.append((name, text))

    def next_name(self, app, suffix):
        app.number += 1
        return "%04d_%s" % (app.number, suffix)

    def gen_initial(self, app):
        r = self.rng
        header = self.tick()
        created, deps = [], []
        for _ in range(r.randint(1, 3)):
            free = [w for w in MODEL_WORDS if w not in app.models]
            m = Model(r.choice(free))
            app.models[m.name] = m
            fields = self.initial_fields(app, m, r.randint(1, 4),
                                         len(app.models) > 1 or r.random() < 0.5, (), deps)
            created.append((m, fields))
        # makemigrations writes models without relations first, then those with one (as
        # in schema_ops), each by name, and a model after the models it points to (close
        # to Django's order; its optimizer sometimes orders or splits differently).
        ops, done = [], set()
        order = lambda c: (any(f.relational for _, f in c[1]), c[0].name)
        while created:
            for m, fields in sorted(created, key=order):
                needs = {f.target[1] for _, f in fields
                         if f.target not in (None, "USER") and f.target[0] == app.label}
                if needs <= done | {m.name}:
                    break
            created.remove((m, fields))
            done.add(m.name)
            ops.append(self.op_create(m, fields))
        name = self.next_name(app, "initial")
        text = self.render_migration(app, header, sorted(set(deps)), ops, initial=True)
        self.add_migration(app, name, text)
        app.leaf = name

    def gen_schema(self, app, busy=None, parent=None):
        header = self.tick()
        busy = set() if busy is None else busy
        ops, deps, frags = self.schema_ops(app, busy)
        if not ops:  # nothing possible (very small app): add a field instead
            return self.gen_schema(app, busy, parent)
        name = self.next_name(app, self.suggest_name(frags))
        deps = sorted(set(deps) | {(app.label, parent or app.leaf)})
        text = self.render_migration(app, header, deps, ops)
        self.add_migration(app, name, text)
        return name

    def gen_runsql(self, app):
        r = self.rng
        header = self.tick()
        m = r.choice(list(app.models.values()))
        name = self.next_name(app, r.choice(["auto_" + self.stamp(),
                                             "add_%s_name_index" % m.lower]))
        table = "%s_%s" % (app.label, m.lower)
        idx = "%s_name_%04d" % (table, app.number)
        if r.random() < 0.5:
            op = ("        migrations.RunSQL(\n"
                  "            sql='CREATE INDEX IF NOT EXISTS %s ON %s (name);',\n"
                  "            reverse_sql='DROP INDEX IF EXISTS %s;',\n"
                  "        ),") % (idx, table, idx)
        else:
            op = ("        migrations.RunSQL(\n"
                  "            sql=[\n"
                  "                \"UPDATE %s SET name = TRIM(name) WHERE name LIKE ' %%';\",\n"
                  "                'CREATE INDEX IF NOT EXISTS %s ON %s (name);',\n"
                  "            ],\n"
                  "            reverse_sql=[\n"
                  "                'DROP INDEX IF EXISTS %s;',\n"
                  "            ],\n"
                  "        ),") % (table, idx, table, idx)
        text = self.render_migration(app, header, [(app.label, app.leaf)], [op])
        self.add_migration(app, name, text)
        app.leaf = name

    def gen_runpython(self, app):
        r = self.rng
        header = self.tick()
        m = r.choice(list(app.models.values()))
        name = self.next_name(app, r.choice(["auto_" + self.stamp(),
                                             "backfill_%s_name" % m.lower]))
        prelude = (
            "def fill_blank_names(apps, schema_editor):\n"
            "    {M} = apps.get_model('{app}', '{M}')\n"
            "    db_alias = schema_editor.connection.alias\n"
            "    for obj in {M}.objects.using(db_alias).filter(name=''):\n"
            "        obj.name = '{lower}-%d' % obj.pk\n"
            "        obj.save(update_fields=['name'])\n"
            "\n"
            "\n"
            "def clear_generated_names(apps, schema_editor):\n"
            "    {M} = apps.get_model('{app}', '{M}')\n"
            "    db_alias = schema_editor.connection.alias\n"
            "    {M}.objects.using(db_alias).filter(name__startswith='{lower}-').update(name='')\n"
        ).format(M=m.name, app=app.label, lower=m.lower)
        op = "        migrations.RunPython(fill_blank_names, reverse_code=clear_generated_names),"
        text = self.render_migration(app, header, [(app.label, app.leaf)], [op], prelude=prelude)
        self.add_migration(app, name, text)
        app.leaf = name

    def gen_branch_and_merge(self, app):
        """Two migrations with the same number on parallel branches (two developers
        ran makemigrations on the same base), then `makemigrations --merge`."""
        base = app.leaf
        number = app.number
        busy = set()
        a = self.gen_schema(app, busy, parent=base)
        app.number = number  # the second branch gets the same number
        b = self.gen_schema(app, busy, parent=base)
        header = self.tick()
        leaves = sorted([a, b])
        suffix = "_".join(leaves)
        suffix = "merge_" + (suffix if len(suffix) <= 47 else self.stamp())
        name = self.next_name(app, suffix)
        text = self.render_migration(app, header, [(app.label, l) for l in leaves], [])
        self.add_migration(app, name, text)
        app.leaf = name

    def generate(self):
        remaining = {a.label: self.n_migrations for a in self.apps}
        rnd = 0
        while any(remaining.values()):
            for app in self.apps:
                left = remaining[app.label]
                if not left:
                    continue
                if rnd == 0:
                    self.gen_initial(app)
                    remaining[app.label] -= 1
                    continue
                roll = self.rng.random()
                if roll < 0.02 and left >= 3:
                    self.gen_branch_and_merge(app)
                    remaining[app.label] -= 3
                elif roll < 0.07:
                    self.gen_runsql(app)
                    remaining[app.label] -= 1
                elif roll < 0.12:
                    self.gen_runpython(app)
                    remaining[app.label] -= 1
                else:
                    app.leaf = self.gen_schema(app)
                    remaining[app.label] -= 1
            rnd += 1

    # ----- files -----------------------------------------------------------------------

    def models_py(self, app):
        uses_settings = any(f.target == "USER" for m in app.models.values()
                            for f in m.fields.values())
        out = []
        if uses_settings:
            out.append("from django.conf import settings")
        out += ["from django.db import models", ""]
        for m in sorted(app.models.values(), key=lambda m: m.name):
            out += ["", "class %s(models.Model):" % m.name]
            for fn, f in m.fields.items():
                out.append("    %s = %s" % (fn, f.src(app.label)))
            out += ["", "    def __str__(self):", "        return self.name", ""]
        return "\n".join(out)

    def admin_py(self, app):
        names = sorted(app.models)
        out = ["from django.contrib import admin", "",
               "from .models import %s" % ", ".join(names), ""]
        for n in names:
            out += ["", "@admin.register(%s)" % n,
                    "class %sAdmin(admin.ModelAdmin):" % n,
                    '    list_display = ("id", "name")',
                    '    search_fields = ("name",)', ""]
        return "\n".join(out)

    def views_py(self, app):
        names = sorted(app.models)
        out = ["from django.http import JsonResponse",
               "from django.shortcuts import get_object_or_404", "",
               "from .models import %s" % ", ".join(names), "", "",
               "def index(request):",
               "    return JsonResponse({\"app\": \"%s\", \"models\": %d})" % (
                   app.label, len(names)), ""]
        for n in names:
            low = n.lower()
            out += ["",
                    "def %s_list(request):" % low,
                    "    names = list(%s.objects.values_list(\"name\", flat=True)[:50])" % n,
                    "    return JsonResponse({\"results\": names})", "", "",
                    "def %s_detail(request, pk):" % low,
                    "    obj = get_object_or_404(%s, pk=pk)" % n,
                    "    return JsonResponse({\"id\": obj.pk, \"name\": obj.name})", ""]
        return "\n".join(out)

    def urls_py(self, app):
        out = ["from django.urls import path", "", "from . import views", "",
               "app_name = \"%s\"" % app.label, "", "urlpatterns = [",
               "    path(\"\", views.index, name=\"index\"),"]
        for n in sorted(app.models):
            low = n.lower()
            out.append("    path(\"%ss/\", views.%s_list, name=\"%s-list\")," % (low, low, low))
            out.append("    path(\"%ss/<int:pk>/\", views.%s_detail, name=\"%s-detail\"),"
                       % (low, low, low))
        out += ["]", ""]
        return "\n".join(out)

    def apps_py(self, app):
        return ("from django.apps import AppConfig\n\n\n"
                "class %s(AppConfig):\n"
                "    default_auto_field = \"django.db.models.BigAutoField\"\n"
                "    name = \"%s\"\n") % (app.config_class, app.label)

    def write(self, out_dir):
        if os.path.exists(out_dir):
            shutil.rmtree(out_dir)
        files = {}
        files["manage.py"] = MANAGE_PY
        files["proj/__init__.py"] = ""
        files["proj/wsgi.py"] = WSGI_PY
        files["proj/asgi.py"] = ASGI_PY
        entries = ["    \"users\","]
        for a in self.apps:
            entry = "%s.apps.%s" % (a.label, a.config_class) if a.use_config else a.label
            entries.append("    \"%s\"," % entry)
        files["proj/settings.py"] = SETTINGS_PY.replace("{APPS}", "\n".join(entries))
        includes = ["    path(\"%s/\", include(\"%s.urls\", namespace=\"%s\"))," %
                    (a.label, a.label, a.label) for a in self.apps]
        files["proj/urls.py"] = URLS_PY.replace("{INCLUDES}", "\n".join(includes))
        # users
        files["users/__init__.py"] = ""
        files["users/apps.py"] = ("from django.apps import AppConfig\n\n\n"
                                  "class UsersConfig(AppConfig):\n"
                                  "    default_auto_field = \"django.db.models.BigAutoField\"\n"
                                  "    name = \"users\"\n")
        files["users/models.py"] = USERS_MODELS_PY
        files["users/admin.py"] = USERS_ADMIN_PY
        files["users/migrations/__init__.py"] = ""
        files["users/migrations/0001_initial.py"] = USERS_0001 % {
            "version": DJANGO_VERSION, "time": "2024-01-08 08:30"}
        for a in self.apps:
            files["%s/__init__.py" % a.label] = ""
            files["%s/apps.py" % a.label] = self.apps_py(a)
            files["%s/models.py" % a.label] = self.models_py(a)
            files["%s/admin.py" % a.label] = self.admin_py(a)
            files["%s/views.py" % a.label] = self.views_py(a)
            files["%s/urls.py" % a.label] = self.urls_py(a)
            files["%s/migrations/__init__.py" % a.label] = ""
            for name, text in a.migrations:
                files["%s/migrations/%s.py" % (a.label, name)] = text
        for rel, text in files.items():
            path = os.path.join(out_dir, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
        return files


MANAGE_PY = '''#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    """Run administrative tasks."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    try:
        from django.core.management import execute_from_command_line
    except ImportError as exc:
        raise ImportError(
            "Couldn't import Django. Are you sure it's installed and "
            "available on your PYTHONPATH environment variable? Did you "
            "forget to activate a virtual environment?"
        ) from exc
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
'''

WSGI_PY = '''"""WSGI config for proj project."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")

application = get_wsgi_application()
'''

ASGI_PY = WSGI_PY.replace("WSGI", "ASGI").replace("wsgi", "asgi")

SETTINGS_PY = '''"""
Django settings for proj project (generated by djcheck's tests/bench/gen_project.py).
"""

from pathlib import Path

# Build paths inside the project like this: BASE_DIR / "subdir".
BASE_DIR = Path(__file__).resolve().parent.parent

# SECURITY WARNING: keep the secret key used in production secret!
SECRET_KEY = "django-insecure-benchmark-project-not-a-secret-0123456789"

# SECURITY WARNING: don't run with debug turned on in production!
DEBUG = True

ALLOWED_HOSTS = []


# Application definition

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
{APPS}
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "proj.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

WSGI_APPLICATION = "proj.wsgi.application"


# Database

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}


# Password validation

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
    },
    {
        "NAME": "django.contrib.auth.password_validation.CommonPasswordValidator",
    },
    {
        "NAME": "django.contrib.auth.password_validation.NumericPasswordValidator",
    },
]

AUTH_USER_MODEL = "users.User"


# Internationalization

LANGUAGE_CODE = "en-us"

TIME_ZONE = "UTC"

USE_I18N = True

USE_TZ = True


# Static files (CSS, JavaScript, Images)

STATIC_URL = "static/"

# Default primary key field type

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
'''

URLS_PY = '''"""URL configuration for proj project."""
from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
{INCLUDES}
]
'''

USERS_MODELS_PY = '''from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    pass
'''

USERS_ADMIN_PY = '''from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from .models import User

admin.site.register(User, UserAdmin)
'''

# Verbatim `makemigrations` output (Django 5.2) for `class User(AbstractUser): pass`.
USERS_0001 = '''# Generated by Django %(version)s on %(time)s

import django.contrib.auth.models
import django.contrib.auth.validators
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('auth', '0012_alter_user_first_name_max_length'),
    ]

    operations = [
        migrations.CreateModel(
            name='User',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('password', models.CharField(max_length=128, verbose_name='password')),
                ('last_login', models.DateTimeField(blank=True, null=True, verbose_name='last login')),
                ('is_superuser', models.BooleanField(default=False, help_text='Designates that this user has all permissions without explicitly assigning them.', verbose_name='superuser status')),
                ('username', models.CharField(error_messages={'unique': 'A user with that username already exists.'}, help_text='Required. 150 characters or fewer. Letters, digits and @/./+/-/_ only.', max_length=150, unique=True, validators=[django.contrib.auth.validators.UnicodeUsernameValidator()], verbose_name='username')),
                ('first_name', models.CharField(blank=True, max_length=150, verbose_name='first name')),
                ('last_name', models.CharField(blank=True, max_length=150, verbose_name='last name')),
                ('email', models.EmailField(blank=True, max_length=254, verbose_name='email address')),
                ('is_staff', models.BooleanField(default=False, help_text='Designates whether the user can log into this admin site.', verbose_name='staff status')),
                ('is_active', models.BooleanField(default=True, help_text='Designates whether this user should be treated as active. Unselect this instead of deleting accounts.', verbose_name='active')),
                ('date_joined', models.DateTimeField(default=django.utils.timezone.now, verbose_name='date joined')),
                ('groups', models.ManyToManyField(blank=True, help_text='The groups this user belongs to. A user will get all permissions granted to each of their groups.', related_name='user_set', related_query_name='user', to='auth.group', verbose_name='groups')),
                ('user_permissions', models.ManyToManyField(blank=True, help_text='Specific permissions for this user.', related_name='user_set', related_query_name='user', to='auth.permission', verbose_name='user permissions')),
            ],
            options={
                'verbose_name': 'user',
                'verbose_name_plural': 'users',
                'abstract': False,
            },
            managers=[
                ('objects', django.contrib.auth.models.UserManager()),
            ],
        ),
    ]
'''


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--apps", type=int, default=100, help="generated apps (default 100)")
    p.add_argument("--migrations", type=int, default=100,
                   help="migrations per generated app (default 100)")
    p.add_argument("--seed", type=int, default=20240108)
    a = p.parse_args(argv)
    if a.apps < 1:
        p.error("--apps must be at least 1")
    g = Generator(a.apps, a.migrations, a.seed)
    g.generate()
    files = g.write(a.out_dir)
    n_mig = sum(len(x.migrations) for x in g.apps) + 1
    n_models = sum(len(x.models) for x in g.apps) + 1
    print("generated %s: %d apps (+ users), %d migrations, %d models, %d files"
          % (a.out_dir, len(g.apps), n_mig, n_models, len(files)))


if __name__ == "__main__":
    main()
