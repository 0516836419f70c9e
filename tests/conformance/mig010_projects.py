#!/usr/bin/env python3
"""Projects for MIG010's differential test, and Django's verdict on each.

    python mig010_projects.py generate OUT_DIR [--projects 25] [--apps 12] [--seed 1710]
    python mig010_projects.py driver makemigrations|verdict PROJECT_DIR   (internal)

`generate` writes OUT_DIR/pNN/ projects. Each has a `core` app (abstract models, a
Choices enumeration, a field class, models others point to; never edited at the end)
and N apps of random models. For each project:

1. models.py of every app is generated, and Django's own `makemigrations` writes the
   initial migrations;
2. zero to two rounds of history: random changes to some apps' models, each followed by
   `makemigrations` (with a questioner that answers "yes" to renames and gives one-off
   defaults, so the history holds RenameField, RenameModel, AlterField, AddField with
   `preserve_default=False`, AlterModelOptions, AddIndex...);
3. the last round changes some apps' models.py without a migration: edits Django
   reports (decidable: `D`), edits Django ignores (`I`), and edits djcheck cannot decide
   statically (`U`: values computed at run time, conditional fields...);
4. Django's verdict per app: `MigrationAutodetector` as `makemigrations` runs it (the
   questioner records instead of exiting), checked against the exit code of the real
   `makemigrations --check --dry-run`.

OUT_DIR/manifest.json lists every project and app: the edits of the last round and
Django's verdict. Output depends only on the arguments (seeded; Django's timestamps in
migration headers aside). One Python process runs per project and step.
"""

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.abspath(__file__)

# ---------------------------------------------------------------------------------------
# Model specifications
# ---------------------------------------------------------------------------------------


class Field:
    def __init__(self, name, cls, kwargs, args=None):
        self.name = name
        self.cls = cls  # "models.CharField", "TrimmedCharField", ...
        self.kwargs = dict(kwargs)  # name -> Python source
        self.args = list(args or [])
        self.raw = None  # a whole line of source instead (undecidable edits)

    def render(self):
        if self.raw is not None:
            return self.raw
        parts = list(self.args) + ["%s=%s" % (k, v) for k, v in self.kwargs.items()]
        return "    %s = %s(%s)" % (self.name, self.cls, ", ".join(parts))


class Model:
    def __init__(self, name, base="models.Model"):
        self.name = name
        self.base = base
        self.fields = []
        self.meta = {}  # name -> source
        self.meta_base = None
        self.extra = []  # other body lines (managers, methods, conditions)
        self.kind = "concrete"  # concrete, abstract, proxy, unmanaged, child

    def field(self, name):
        for f in self.fields:
            if f.name == name:
                return f
        return None

    def render(self):
        lines = ["class %s(%s):" % (self.name, self.base)]
        for f in self.fields:
            lines.append(f.render())
        lines.extend(self.extra)
        if self.meta or self.meta_base:
            lines.append("")
            lines.append("    class Meta%s:" % ("(%s)" % self.meta_base if self.meta_base else ""))
            for k, v in self.meta.items():
                lines.append("        %s = %s" % (k, v))
            if not self.meta:
                lines.append("        pass")
        if len(lines) == 1:
            lines.append("    pass")
        return "\n".join(lines)


class App:
    def __init__(self, label):
        self.label = label
        self.models = []
        self.header = []  # module-level code after the imports
        self.footer = []  # module-level code after the classes
        self.auto_field = None  # AppConfig.default_auto_field

    def model(self, name):
        for m in self.models:
            if m.name == name:
                return m
        return None

    def render(self):
        out = [
            "import os",
            "import uuid",
            "from decimal import Decimal",
            "",
            "from django.conf import settings",
            "from django.db import models",
            "from django.utils import timezone",
            "from django.utils.translation import gettext_lazy as _",
            "",
            "from core.fields import TrimmedCharField",
            "from core.models import Color, Stamped",
            "",
            "",
            "def default_code():",
            '    return "new"',
            "",
            "",
            "def other_code():",
            '    return "other"',
            "",
            "",
            "def make_limit():",
            "    return 40",
            "",
            "",
            "class PublishedManager(models.Manager):",
            "    use_in_migrations = True",
            "",
            "",
            "class PlainManager(models.Manager):",
            "    pass",
            "",
        ]
        out.extend(self.header)
        for m in self.models:
            out.append("")
            out.append("")
            out.append(m.render())
        out.extend(self.footer)
        return "\n".join(out) + "\n"


CORE_MODELS = '''from django.db import models
from django.utils.translation import gettext_lazy as _


class Color(models.TextChoices):
    RED = "r", _("Red")
    GREEN = "g", _("Green")
    BLUE = "b"


class Stamped(models.Model):
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
        ordering = ["-created"]


class Country(models.Model):
    code = models.CharField(max_length=2, unique=True)
    name = models.CharField(_("name"), max_length=80)

    class Meta:
        verbose_name_plural = _("countries")


class Owner(Stamped):
    name = models.CharField(max_length=50)
    country = models.ForeignKey(Country, on_delete=models.PROTECT)
'''

CORE_FIELDS = '''from django.db import models


class TrimmedCharField(models.CharField):
    """A CharField whose values are stripped (no construction of its own)."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.strip() if isinstance(value, str) else value
'''


def py_str(s):
    return repr(s)


class Gen:
    """Random model generation and edits, all from one seeded PRNG."""

    def __init__(self, rng, app):
        self.r = rng
        self.app = app
        self.counter = 0

    def fresh(self, prefix):
        self.counter += 1
        return "%s%d" % (prefix, self.counter)

    def model_name(self):
        words = ["Item", "Order", "Entry", "Note", "Ticket", "Batch", "Slot", "Visit", "Offer", "Event"]
        while True:
            name = "%s%s" % (self.app.label.capitalize(), self.r.choice(words) + str(self.r.randint(1, 99)))
            if not any(m.name == name for m in self.app.models):
                return name

    def targets(self, model):
        """Models a relation of `model` may point to (same app, core, the user model)."""
        own = [m.name for m in self.app.models if m.kind in ("concrete", "child") and m is not model]
        return own

    def field(self, model, name=None, allow_rel=True):
        r = self.r
        name = name or self.fresh("f")
        kind = r.choice(
            ["char", "char", "text", "int", "bool", "decimal", "dt", "date", "slug", "email", "url",
             "uuid", "json", "float", "bigint", "trimmed", "choice", "file", "posint"]
            + (["fk", "fk", "fkuser", "fkcore", "o2o", "m2m"] if allow_rel else [])
        )
        kw = {}
        cls = None
        if kind == "char":
            cls = "models.CharField"
            kw["max_length"] = str(r.choice([20, 50, 100, 200]))
            if r.random() < 0.3:
                kw["blank"] = "True"
            if r.random() < 0.2:
                kw["default"] = py_str(r.choice(["", "x", "none"]))
            if r.random() < 0.2:
                kw["help_text"] = r.choice(['_("Shown to users")', '"Internal"'])
        elif kind == "text":
            cls, kw = "models.TextField", {"blank": "True"}
        elif kind == "int":
            cls, kw = "models.IntegerField", {"default": str(r.randint(0, 9))}
        elif kind == "posint":
            cls, kw = "models.PositiveIntegerField", {"null": "True"}
        elif kind == "bigint":
            cls, kw = "models.BigIntegerField", {"null": "True", "blank": "True"}
        elif kind == "bool":
            cls, kw = "models.BooleanField", {"default": r.choice(["True", "False"])}
        elif kind == "decimal":
            cls = "models.DecimalField"
            kw = {"max_digits": "8", "decimal_places": "2", "default": 'Decimal("0.00")'}
        elif kind == "dt":
            cls = "models.DateTimeField"
            kw = r.choice([{"default": "timezone.now"}, {"null": "True", "blank": "True"}])
        elif kind == "date":
            cls, kw = "models.DateField", {"null": "True"}
        elif kind == "slug":
            cls, kw = "models.SlugField", r.choice([{"unique": "True"}, {"max_length": "80", "blank": "True"}, {}])
        elif kind == "email":
            cls, kw = "models.EmailField", {"blank": "True"}
        elif kind == "url":
            cls, kw = "models.URLField", {"blank": "True"}
        elif kind == "uuid":
            cls, kw = "models.UUIDField", {"default": "uuid.uuid4", "editable": "False"}
        elif kind == "json":
            cls, kw = "models.JSONField", {"default": "dict", "blank": "True"}
        elif kind == "float":
            cls, kw = "models.FloatField", {"default": "0.0"}
        elif kind == "trimmed":
            cls, kw = "TrimmedCharField", {"max_length": "40", "blank": "True"}
        elif kind == "choice":
            cls = "models.CharField"
            kw = {"max_length": "1"}
            style = r.choice(["enum", "enumclass", "list"])
            if style == "enum":
                kw["choices"] = "Color.choices"
                kw["default"] = "Color.RED"
            elif style == "enumclass":
                kw["choices"] = "Color"
                kw["default"] = '"g"'
            else:
                kw["choices"] = '[("a", "Alpha"), ("b", _("Beta"))]'
                kw["default"] = '"a"'
        elif kind == "file":
            cls, kw = "models.FileField", {"upload_to": '"files/"', "blank": "True"}
        elif kind in ("fk", "o2o"):
            targets = self.targets(model)
            if not targets:
                return self.field(model, name, allow_rel=False)
            cls = "models.ForeignKey" if kind == "fk" else "models.OneToOneField"
            target = r.choice(targets)
            names = [x.name for x in self.app.models]
            before = model.name not in names or names.index(target) < names.index(model.name)
            forms = [py_str(target), py_str("%s.%s" % (self.app.label, target))]
            ref = r.choice(forms + [target] if before else forms)
            kw = {"on_delete": r.choice(["models.CASCADE", "models.PROTECT", "models.SET_NULL"])}
            if kw["on_delete"] == "models.SET_NULL":
                kw["null"] = "True"
            if r.random() < 0.3:
                kw["related_name"] = py_str(self.fresh("rel_"))
            else:
                kw["related_name"] = '"+"'
            f = Field(name, cls, kw, [ref])
            return f
        elif kind == "fkuser":
            cls = "models.ForeignKey"
            kw = {"on_delete": "models.CASCADE", "related_name": '"+"'}
            return Field(name, cls, kw, ["settings.AUTH_USER_MODEL"])
        elif kind == "fkcore":
            cls = "models.ForeignKey"
            kw = {"on_delete": "models.PROTECT", "related_name": '"+"', "null": "True", "blank": "True"}
            return Field(name, cls, kw, [r.choice(['"core.Country"', '"core.owner"'])])
        elif kind == "m2m":
            targets = self.targets(model)
            if not targets:
                return self.field(model, name, allow_rel=False)
            return Field(name, "models.ManyToManyField", {"blank": "True", "related_name": '"+"'}, [py_str(r.choice(targets))])
        return Field(name, cls, kw)

    def new_model(self, kind=None):
        r = self.r
        kind = kind or r.choice(["concrete"] * 6 + ["stamped", "child", "proxy", "unmanaged"])
        concrete = [m for m in self.app.models if m.kind == "concrete"]
        if kind in ("child", "proxy") and not concrete:
            kind = "concrete"
        m = Model(self.model_name())
        if kind == "stamped":
            m.base = "Stamped"
            m.kind = "concrete"
            if r.random() < 0.5:
                m.meta_base = "Stamped.Meta"
                m.meta["verbose_name"] = '_("%s")' % m.name.lower()
        elif kind == "child":
            m.base = r.choice(concrete).name
            m.kind = "child"
        elif kind == "proxy":
            m.base = r.choice(concrete).name
            m.kind = "proxy"
            m.meta["proxy"] = "True"
            if r.random() < 0.5:
                m.meta["ordering"] = '["-id"]'
            return m
        elif kind == "unmanaged":
            m.kind = "unmanaged"
            m.meta["managed"] = "False"
            m.meta["db_table"] = py_str("legacy_%s" % m.name.lower())
        for _ in range(r.randint(1, 5)):
            m.fields.append(self.field(m))
        if m.kind in ("concrete",) and r.random() < 0.4:
            self.add_meta(m)
        if m.kind == "concrete" and r.random() < 0.2:
            m.extra.append("")
            m.extra.append("    objects = PublishedManager()")
        return m

    def add_meta(self, m):
        r = self.r
        names = [f.name for f in m.fields if f.raw is None and f.cls in ("models.CharField", "models.IntegerField", "models.BooleanField")]
        choice = r.choice(["ordering", "verbose_name", "db_table", "index", "unique", "constraint", "permissions"])
        if choice == "ordering":
            m.meta["ordering"] = py_str(["-id"] + names[:1])
        elif choice == "verbose_name":
            m.meta["verbose_name"] = '_("%s record")' % m.name.lower()
        elif choice == "db_table":
            m.meta["db_table"] = py_str("t_%s" % m.name.lower())
        elif choice == "permissions":
            m.meta["permissions"] = '[("export_%s", "Can export")]' % m.name.lower()
        elif choice == "index" and names:
            named = r.random() < 0.5
            idx = "models.Index(fields=[%s]%s)" % (py_str(names[0]), ", name=%s" % py_str("%s_idx" % m.name.lower()[:20]) if named else "")
            m.meta["indexes"] = "[%s]" % idx
        elif choice == "unique" and len(names) >= 2:
            m.meta["unique_together"] = "[(%s, %s)]" % (py_str(names[0]), py_str(names[1]))
        elif choice == "constraint" and names:
            ints = [f.name for f in m.fields if f.raw is None and f.cls == "models.IntegerField"]
            if ints:
                m.meta["constraints"] = '[models.CheckConstraint(condition=models.Q(%s__gte=0), name=%s)]' % (ints[0], py_str("%s_pos" % m.name.lower()[:20]))
            else:
                m.meta["constraints"] = "[models.UniqueConstraint(fields=[%s], name=%s)]" % (py_str(names[0]), py_str("%s_uniq" % m.name.lower()[:20]))

    # ----- edits ------------------------------------------------------------------------

    def plain_fields(self, m):
        return [f for f in m.fields if f.raw is None]

    def pick_model(self, kinds=("concrete", "child")):
        ms = [m for m in self.app.models if m.kind in kinds]
        return self.r.choice(ms) if ms else None

    def referenced(self, name):
        for m in self.app.models:
            if m.base == name:
                return True
            for f in m.fields:
                if f.raw is None and f.args and f.args[0].strip("'\"").split(".")[-1].lower() == name.lower():
                    return True
        return False

    def rename_model(self, m):
        old = m.name
        new = self.model_name()
        m.name = new
        for x in self.app.models:
            if x.base == old:
                x.base = new
            for f in x.fields:
                if f.raw is None and f.args:
                    a = f.args[0]
                    q = a[0] if a[0] in "'\"" else ""
                    bare = a.strip("'\"")
                    if bare == old:
                        f.args[0] = q + new + q
                    elif bare.lower() == ("%s.%s" % (self.app.label, old)).lower():
                        f.args[0] = q + "%s.%s" % (self.app.label, new.lower() if bare.split(".")[1].islower() else new) + q
        for k, v in list(m.meta.items()):
            if k == "db_table" and old.lower() in v:
                pass

    def edit(self, category, history=False):
        """Applies one edit of `category` (D, I or U); returns its name or None."""
        r = self.r
        app = self.app
        m = self.pick_model()
        if category == "D":
            kinds = ["add_field", "remove_field", "max_length", "null", "blank", "default", "choices",
                     "db_index", "related_name", "on_delete", "class", "help_text", "add_model",
                     "remove_model", "ordering", "verbose_name", "db_table", "index", "unique",
                     "managed", "rename_field", "enum_member", "default_callable", "manager",
                     "verbose_name_field", "decimal", "rename_model"]
            if history:
                kinds = [k for k in kinds if k not in ("enum_member",)]
            kind = r.choice(kinds)
            return self.edit_d(kind, m, history)
        if category == "I":
            kind = r.choice(["reorder", "translate", "method", "explicit_default", "enum_equivalent",
                             "class_ref", "plain_manager", "slug_default", "fk_index", "email_default",
                             "db_tablespace", "move_to_abstract", "bool_int", "to_string"])
            return self.edit_i(kind, m)
        kind = r.choice(["computed_kwarg", "conditional_field", "called_default", "computed_ordering",
                         "add_to_class", "custom_init_field", "starred_kwargs"])
        return self.edit_u(kind, m)

    def edit_d(self, kind, m, history):
        r = self.r
        if m is None and kind not in ("add_model",):
            kind = "add_model"
        if kind == "add_field":
            f = self.field(m)
            if history and "default" not in f.kwargs and "null" not in f.kwargs and f.cls not in ("models.ManyToManyField",):
                f.kwargs["null"] = "True"
            m.fields.append(f)
        elif kind == "remove_field":
            fs = self.plain_fields(m)
            if len(fs) < 2:
                return None
            f = r.choice(fs)
            if any(f.name in v for v in m.meta.values()):
                return None
            m.fields.remove(f)
        elif kind == "rename_field":
            fs = [f for f in self.plain_fields(m) if not any(f.name in v for v in m.meta.values())]
            if not fs:
                return None
            f = r.choice(fs)
            f.name = self.fresh("renamed")
        elif kind in ("max_length", "null", "blank", "default", "db_index", "help_text", "verbose_name_field"):
            fs = [f for f in self.plain_fields(m) if f.cls in ("models.CharField", "TrimmedCharField") and "choices" not in f.kwargs]
            if not fs:
                return None
            f = r.choice(fs)
            if kind == "max_length":
                f.kwargs["max_length"] = str(int(f.kwargs.get("max_length", "40")) + r.choice([10, 25, 60]))
            elif kind == "null":
                f.kwargs["null"] = "False" if f.kwargs.get("null") == "True" else "True"
                if f.kwargs["null"] == "False" and history:
                    f.kwargs["null"] = "True"
            elif kind == "blank":
                f.kwargs["blank"] = "False" if f.kwargs.get("blank") == "True" else "True"
            elif kind == "default":
                f.kwargs["default"] = py_str(self.fresh("d"))
            elif kind == "db_index":
                if f.kwargs.get("db_index") == "True":
                    del f.kwargs["db_index"]
                else:
                    f.kwargs["db_index"] = "True"
            elif kind == "help_text":
                f.kwargs["help_text"] = '_("%s")' % self.fresh("Help ")
            else:
                f.kwargs["verbose_name"] = py_str(self.fresh("Label "))
        elif kind == "decimal":
            fs = [f for f in self.plain_fields(m) if f.cls == "models.DecimalField"]
            if not fs:
                return None
            fs[0].kwargs["decimal_places"] = "3"
            fs[0].kwargs["max_digits"] = "10"
        elif kind == "choices":
            fs = [f for f in self.plain_fields(m) if f.cls == "models.CharField" and "choices" not in f.kwargs]
            if not fs:
                return None
            f = fs[0]
            f.kwargs["choices"] = '[("x", "X"), ("y", "Y")]'
            f.kwargs["max_length"] = str(max(int(f.kwargs.get("max_length", "1")), 1))
            f.kwargs.pop("default", None)
        elif kind in ("related_name", "on_delete"):
            fs = [f for f in self.plain_fields(m) if f.cls in ("models.ForeignKey", "models.OneToOneField")]
            if not fs:
                return None
            f = r.choice(fs)
            if kind == "related_name":
                f.kwargs["related_name"] = py_str(self.fresh("rn_"))
            else:
                cur = f.kwargs["on_delete"]
                f.kwargs["on_delete"] = "models.DO_NOTHING" if cur != "models.DO_NOTHING" else "models.CASCADE"
        elif kind == "class":
            fs = [f for f in self.plain_fields(m) if f.cls in ("models.IntegerField", "models.TextField", "models.CharField") and "choices" not in f.kwargs]
            if not fs:
                return None
            f = r.choice(fs)
            if f.cls == "models.IntegerField":
                f.cls = "models.BigIntegerField"
            elif f.cls == "models.TextField":
                f.cls = "models.CharField"
                f.kwargs["max_length"] = "300"
            else:
                f.cls = "models.TextField"
                f.kwargs.pop("max_length", None)
        elif kind == "default_callable":
            fs = [f for f in self.plain_fields(m) if f.cls == "models.CharField" and "choices" not in f.kwargs]
            if not fs:
                return None
            f = fs[0]
            f.kwargs["default"] = "default_code" if f.kwargs.get("default") != "default_code" else "other_code"
        elif kind == "add_model":
            self.app.models.append(self.new_model())
        elif kind == "rename_model":
            if m.kind != "concrete" or any(x.base == m.name for x in self.app.models):
                return None
            self.rename_model(m)
        elif kind == "remove_model":
            ms = [x for x in self.app.models if x.kind in ("concrete", "unmanaged", "proxy") and not self.referenced(x.name)]
            if not ms:
                return None
            self.app.models.remove(r.choice(ms))
        elif kind in ("ordering", "verbose_name", "db_table", "managed"):
            if m.kind != "concrete" or m.meta_base:
                return None
            if kind == "ordering":
                m.meta["ordering"] = py_str(["id"] if m.meta.get("ordering") != "['id']" else ["-id"])
            elif kind == "verbose_name":
                m.meta["verbose_name"] = '_("%s")' % self.fresh("thing ")
            elif kind == "db_table":
                m.meta["db_table"] = py_str(self.fresh("%s_tbl_" % self.app.label))
            else:
                if self.referenced(m.name):
                    return None
                m.meta["managed"] = "False"
                m.kind = "unmanaged"
        elif kind in ("index", "unique"):
            if m.kind != "concrete":
                return None
            names = [f.name for f in self.plain_fields(m) if f.cls in ("models.CharField", "models.IntegerField", "models.BooleanField", "models.SlugField")]
            if len(names) < 2:
                return None
            if kind == "index":
                if "indexes" in m.meta:
                    del m.meta["indexes"]
                else:
                    m.meta["indexes"] = "[models.Index(fields=[%s, %s])]" % (py_str(names[0]), py_str("-" + names[1]))
            else:
                if "unique_together" in m.meta:
                    del m.meta["unique_together"]
                else:
                    m.meta["unique_together"] = "[(%s, %s)]" % (py_str(names[0]), py_str(names[1]))
        elif kind == "manager":
            if m.kind != "concrete":
                return None
            line = "    objects = PublishedManager()"
            if line in m.extra:
                m.extra.remove(line)
            else:
                m.extra.extend(["", line])
        elif kind == "enum_member":
            # The shared enumeration is in core, which is not edited: use an app enum.
            if any("class AppKind" in h for h in self.app.header):
                return None
            self.app.header.extend([
                "",
                "",
                "class AppKind(models.IntegerChoices):",
                "    ONE = 1",
                "    TWO = 2, _(\"Two\")",
            ])
            fs = self.plain_fields(m)
            m.fields.append(Field(self.fresh("kind"), "models.IntegerField", {"choices": "AppKind", "default": "AppKind.ONE"}))
        return kind

    def edit_i(self, kind, m):
        r = self.r
        if m is None:
            return None
        fs = self.plain_fields(m)
        if kind == "reorder":
            if len(fs) < 2:
                return None
            m.fields.reverse()
        elif kind == "translate":
            for f in fs:
                for k in ("verbose_name", "help_text"):
                    v = f.kwargs.get(k)
                    if v and v.startswith(("'", '"')):
                        f.kwargs[k] = "_(%s)" % v
                        return kind
            if m.meta.get("verbose_name", "").startswith('_("'):
                m.meta["verbose_name"] = m.meta["verbose_name"][2:-1]
                return kind
            return None
        elif kind == "method":
            m.extra.extend(["", "    def __str__(self):", "        return str(self.pk)", "", "    @property", "    def label(self):", '        return "x"'])
        elif kind == "explicit_default":
            cands = [f for f in fs if f.cls in ("models.CharField", "models.TextField", "models.IntegerField") and "null" not in f.kwargs]
            if not cands:
                return None
            f = r.choice(cands)
            f.kwargs["null"] = "False"
            f.kwargs.setdefault("unique", "False")
            f.kwargs.setdefault("db_column", "None")
        elif kind == "enum_equivalent":
            cands = [f for f in fs if f.kwargs.get("choices") in ("Color.choices", "Color")]
            if not cands:
                return None
            f = cands[0]
            f.kwargs["choices"] = '[("r", "Red"), ("g", _("Green")), ("b", "B")]'
        elif kind == "class_ref":
            cands = [f for f in fs if f.cls in ("models.ForeignKey", "models.OneToOneField") and f.args and f.args[0].startswith(("'", '"')) and "." not in f.args[0]]
            if not cands:
                return None
            f = cands[0]
            target = f.args[0].strip("'\"")
            names = [x.name for x in self.app.models]
            # A class defined later in the module can't be named directly: use the label.
            f.args[0] = py_str("%s.%s" % (self.app.label, target)) if names.index(target) > names.index(m.name) else target
        elif kind == "plain_manager":
            if any("objects" in e for e in m.extra):
                return None
            m.extra.extend(["", "    objects = models.Manager()"])
        elif kind == "slug_default":
            cands = [f for f in fs if f.cls == "models.SlugField" and "max_length" not in f.kwargs]
            if not cands:
                return None
            cands[0].kwargs["max_length"] = "50"
            cands[0].kwargs["db_index"] = "True"
        elif kind == "fk_index":
            cands = [f for f in fs if f.cls == "models.ForeignKey" and "db_index" not in f.kwargs]
            if not cands:
                return None
            cands[0].kwargs["db_index"] = "True"
        elif kind == "email_default":
            cands = [f for f in fs if f.cls == "models.EmailField"]
            if not cands:
                return None
            cands[0].kwargs["max_length"] = "254"
        elif kind == "db_tablespace":
            if m.kind != "concrete" or m.meta_base:
                return None
            m.meta["required_db_vendor"] = '"postgresql"' if False else '"sqlite"'
        elif kind == "move_to_abstract":
            if m.kind != "concrete" or m.base != "models.Model" or len(fs) < 2 or m.meta:
                return None
            moved = fs[0]
            if moved.cls in ("models.ForeignKey", "models.OneToOneField", "models.ManyToManyField"):
                return None
            base = Model(m.name + "Base")
            base.kind = "abstract"
            base.meta["abstract"] = "True"
            base.fields.append(moved)
            m.fields.remove(moved)
            m.base = base.name
            self.app.models.insert(self.app.models.index(m), base)
        elif kind == "bool_int":
            cands = [f for f in fs if f.cls == "models.BooleanField"]
            if not cands:
                return None
            f = cands[0]
            f.kwargs["default"] = "1" if f.kwargs.get("default") == "True" else "0"
        elif kind == "to_string":
            cands = [f for f in fs if f.cls in ("models.ForeignKey", "models.OneToOneField") and f.args and not f.args[0].startswith(("'", '"', "settings"))]
            if not cands:
                return None
            f = cands[0]
            f.args[0] = py_str("%s.%s" % (self.app.label, f.args[0].lower()))
        return kind

    def edit_u(self, kind, m):
        r = self.r
        if m is None:
            return None
        fs = self.plain_fields(m)
        if kind == "computed_kwarg":
            cands = [f for f in fs if f.cls == "models.CharField" and "choices" not in f.kwargs]
            if not cands:
                return None
            cands[0].kwargs["max_length"] = 'int(os.environ.get("DJCHECK_MAXLEN", "%d"))' % r.choice([40, 77])
        elif kind == "conditional_field":
            m.extra.extend(["", "    if settings.DEBUG:", "        debug_note = models.TextField(blank=True)"])
        elif kind == "called_default":
            cands = [f for f in fs if f.cls == "models.IntegerField"]
            if not cands:
                m.fields.append(Field(self.fresh("n"), "models.IntegerField", {"default": "make_limit()"}))
            else:
                cands[0].kwargs["default"] = "make_limit()"
        elif kind == "computed_ordering":
            if m.kind != "concrete" or m.meta_base:
                return None
            m.meta["ordering"] = 'list(reversed(["id", "-id"]))'
        elif kind == "add_to_class":
            if m.kind != "concrete":
                return None
            self.app.footer.extend(["", "", '%s.add_to_class("%s", models.IntegerField(default=0))' % (m.name, self.fresh("late"))])
        elif kind == "custom_init_field":
            if not any("class UpperField" in h for h in self.app.header):
                self.app.header.extend([
                    "",
                    "",
                    "class UpperField(models.CharField):",
                    "    def __init__(self, *args, **kwargs):",
                    '        kwargs.setdefault("max_length", 30)',
                    "        super().__init__(*args, **kwargs)",
                ])
            m.fields.append(Field(self.fresh("upper"), "UpperField", {"blank": "True"}))
        elif kind == "starred_kwargs":
            cands = [f for f in fs if f.cls == "models.CharField" and "choices" not in f.kwargs]
            if not cands:
                return None
            f = cands[0]
            extra = "**{%s: %s}" % (py_str("null"), r.choice(["True", "False"]))
            f.args.append(extra)
        return kind


# ---------------------------------------------------------------------------------------
# Projects
# ---------------------------------------------------------------------------------------


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def write_project(root, apps):
    write(os.path.join(root, "manage.py"), MANAGE)
    installed = ['"django.contrib.auth"', '"django.contrib.contenttypes"', '"core"']
    for a in apps:
        installed.append('"%s.apps.%sConfig"' % (a.label, a.label.capitalize()) if a.auto_field else '"%s"' % a.label)
    write(os.path.join(root, "proj", "__init__.py"), "")
    write(
        os.path.join(root, "proj", "settings.py"),
        "import os\n\nSECRET_KEY = \"mig010\"\nDEBUG = False\nUSE_TZ = True\n"
        "DATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.sqlite3\", \"NAME\": \":memory:\"}}\n"
        "INSTALLED_APPS = [\n    %s,\n]\nDEFAULT_AUTO_FIELD = \"django.db.models.BigAutoField\"\nROOT_URLCONF = \"proj.urls\"\n"
        % ",\n    ".join(installed),
    )
    write(os.path.join(root, "proj", "urls.py"), "urlpatterns = []\n")
    write(os.path.join(root, "core", "__init__.py"), "")
    write(os.path.join(root, "core", "models.py"), CORE_MODELS)
    write(os.path.join(root, "core", "fields.py"), CORE_FIELDS)
    os.makedirs(os.path.join(root, "core", "migrations"), exist_ok=True)
    write(os.path.join(root, "core", "migrations", "__init__.py"), "")
    for a in apps:
        write_app(root, a)


def write_app(root, a):
    d = os.path.join(root, a.label)
    write(os.path.join(d, "__init__.py"), "")
    migrations = os.path.join(d, "migrations")
    os.makedirs(migrations, exist_ok=True)
    if not os.path.exists(os.path.join(migrations, "__init__.py")):
        write(os.path.join(migrations, "__init__.py"), "")
    if a.auto_field:
        write(
            os.path.join(d, "apps.py"),
            "from django.apps import AppConfig\n\n\nclass %sConfig(AppConfig):\n    name = \"%s\"\n    default_auto_field = \"%s\"\n"
            % (a.label.capitalize(), a.label, a.auto_field),
        )
    write(os.path.join(d, "models.py"), a.render())


MANAGE = """#!/usr/bin/env python
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "proj.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


def run_driver(python, root, step):
    out = subprocess.run(
        [python, HERE, "driver", step, root],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if out.returncode != 0:
        raise RuntimeError("%s on %s failed:\n%s\n%s" % (step, root, out.stdout, out.stderr))
    return out.stdout


def generate_project(python, root, seed, n_apps):
    rng = random.Random(seed)
    if os.path.exists(root):
        shutil.rmtree(root)
    labels = ["a%02d" % i for i in range(n_apps)]
    apps = []
    for label in labels:
        a = App(label)
        if rng.random() < 0.25:
            a.auto_field = "django.db.models.AutoField"
        g = Gen(rng, a)
        for _ in range(rng.randint(2, 5)):
            a.models.append(g.new_model("concrete" if not a.models else None))
        a.gen = g
        apps.append(a)
    write_project(root, apps)
    run_driver(python, root, "makemigrations")
    # History: rounds of changes with their migrations.
    for _ in range(rng.randint(0, 2)):
        for a in apps:
            if rng.random() < 0.5:
                for _ in range(rng.randint(1, 3)):
                    a.gen.edit("D", history=True)
                write_app(root, a)
        run_driver(python, root, "makemigrations")
    # The last round: models.py changed without migrations.
    edits = {}
    for a in apps:
        done = []
        x = rng.random()
        if x < 0.2:
            plan = []
        elif x < 0.55:
            plan = ["D"] * rng.randint(1, 2)
        elif x < 0.8:
            plan = ["I"] * rng.randint(1, 2)
        elif x < 0.92:
            plan = ["U"]
        else:
            plan = [rng.choice("DI"), "U"]
        for cat in plan:
            for _ in range(5):
                k = a.gen.edit(cat)
                if k:
                    done.append([cat, k])
                    break
        write_app(root, a)
        edits[a.label] = done
    verdict = json.loads(run_driver(python, root, "verdict"))
    return {"apps": {l: {"edits": edits[l], "django": verdict["apps"].get(l, "none")} for l in labels},
            "core": verdict["apps"].get("core", "none"),
            "check_exit": verdict["check_exit"]}


def generate(args):
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    python = sys.executable
    names = ["p%02d" % i for i in range(args.projects)]

    def one(i):
        return generate_project(python, os.path.join(out, names[i]), args.seed * 1000 + i, args.apps)

    with ThreadPoolExecutor(max_workers=args.jobs) as ex:
        results = list(ex.map(one, range(args.projects)))
    manifest = {"seed": args.seed, "projects": dict(zip(names, results))}
    with open(os.path.join(out, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, sort_keys=True)


# ---------------------------------------------------------------------------------------
# The Django side (run inside one project)
# ---------------------------------------------------------------------------------------


def driver(step, root):
    sys.path.insert(0, root)
    os.chdir(root)
    os.environ["DJANGO_SETTINGS_MODULE"] = "proj.settings"
    os.environ.pop("DJCHECK_MAXLEN", None)
    import django

    django.setup()
    from django.apps import apps
    from django.core.management import call_command
    from django.core.management.commands import makemigrations as mm
    from django.db.migrations import questioner
    from django.db.models import NOT_PROVIDED
    from django.utils import timezone

    if step == "makemigrations":

        class Yes(questioner.NonInteractiveMigrationQuestioner):
            """Answers as a developer would: yes to renames, a one-off default."""

            def ask_rename(self, model_name, old_name, new_name, field_instance):
                return True

            def ask_rename_model(self, old_model_state, new_model_state):
                return True

            def ask_not_null_addition(self, field_name, model_name):
                for m in apps.get_models():
                    if m._meta.model_name == model_name:
                        try:
                            f = m._meta.get_field(field_name)
                        except Exception:
                            break
                        t = f.get_internal_type()
                        if "Integer" in t or t in ("FloatField", "DecimalField"):
                            return 0
                        if t == "BooleanField":
                            return False
                        if "Date" in t:
                            return timezone.now
                        return ""
                return ""

            def ask_not_null_alteration(self, field_name, model_name):
                return NOT_PROVIDED

            def ask_auto_now_add_addition(self, field_name, model_name):
                return timezone.now

        mm.NonInteractiveMigrationQuestioner = Yes
        call_command("makemigrations", interactive=False, verbosity=0)
        return

    from django.db.migrations.autodetector import MigrationAutodetector
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.state import ProjectState

    exited = set()

    class Recording(questioner.NonInteractiveMigrationQuestioner):
        """makemigrations' questioner, recording where it would exit instead."""

        def _app_of(self, model_name):
            for m in apps.get_models():
                if m._meta.model_name == model_name:
                    return m._meta.app_label
            return "?"

        def ask_not_null_addition(self, field_name, model_name):
            exited.add(self._app_of(model_name))
            return None

        def ask_auto_now_add_addition(self, field_name, model_name):
            exited.add(self._app_of(model_name))
            return None

    loader = MigrationLoader(None, ignore_no_migrations=True)
    q = Recording(specified_apps=set(), dry_run=True, verbosity=0, log=lambda *a: None)
    detector = MigrationAutodetector(loader.project_state(), ProjectState.from_apps(apps), q)
    changes = detector.changes(graph=loader.graph)
    changed = set(changes) | exited
    # The real command: it must fail exactly when some app changed.
    code = 0
    try:
        call_command("makemigrations", check=True, dry_run=True, interactive=False, verbosity=0)
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else 1
    if bool(code) != bool(changed):
        raise SystemExit("makemigrations --check exited %s but the autodetector found changes in %s" % (code, sorted(changed)))
    sys.stdout.write(json.dumps({"apps": {a: "changes" for a in sorted(changed)}, "check_exit": code}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("out")
    g.add_argument("--projects", type=int, default=25)
    g.add_argument("--apps", type=int, default=12)
    g.add_argument("--seed", type=int, default=1710)
    g.add_argument("--jobs", type=int, default=2)
    d = sub.add_parser("driver")
    d.add_argument("step", choices=["makemigrations", "verdict"])
    d.add_argument("root")
    args = p.parse_args()
    if args.cmd == "generate":
        generate(args)
    else:
        driver(args.step, os.path.abspath(args.root))


if __name__ == "__main__":
    main()
