#!/usr/bin/env python3
"""Run Django's real `migrate` on a project in several ways, each on a fresh database.

Usage:
    migrate_check.py PROJECT_DIR [--db sqlite,postgres] [--pg-dsn DSN] [--timeout S]

PROJECT_DIR is a Django project whose manage.py sets DJANGO_SETTINGS_MODULE (default
`proj.settings`). Its settings module is imported as a plain module, its upper-case names
become the settings (`settings.configure`), and DATABASES is replaced by the database of
each way. Prints one JSON object:

    {"project": dir, "settings_module": str, "user_model": "users.User" | null,
     "apps": [labels of the project's apps with migrations],
     "loader": "ok" | "<Exception>: <message>"  (MigrationLoader without a database),
     "synthesized_user_model": bool,
     "upgrade": null | {"user_app", "creating", "before_user_model", "before_user_app"},
     "ways": [{"db": "sqlite"|"postgres", "way": str, "result": "ok"|"error"|"n/a",
               "exception": str|null, "message": str|null,
               "steps": [{"step", "ok", "exception", "message"}]}],
     "seconds": float}

The ways, on every database asked for:

- `migrate`: `call_command("migrate")`, everything, as a deployment on an empty database.
- `migrate <app>`: each project app alone (an app whose folder is inside PROJECT_DIR and
  that has migrations), as `manage.py migrate <app>` on an empty database.
- `migrate <app> <name>`: each non-leaf migration of a project app as the target, as a
  database deployed when that migration was the newest would have got it. A dependency
  that only a later migration declares is missing here.
- `migrate, unapply, migrate again` (with `--reapply`): `migrate`, then `migrate <app>
  zero` for each project app, last app first, then `migrate` once more, on one database:
  a rollback and a redeploy. It proves that what the reverse operations leave behind
  (an empty `reverse_sql` included) lets the migrations run again.
- Upgrades, only when the custom user model is created by a migration that is not its
  app's first one (the AUTH003 situation). Django can only raise
  InconsistentMigrationHistory on a database that already has a history, so each upgrade
  runs `migrate` twice on one database: first the OLD project, then the project as it is:
  - `upgrade from before the user model`: the OLD project is the same files without the
    migration that creates the user model and every migration that depends on it,
    explicitly and transitively, and without AUTH_USER_MODEL (Django's default
    `auth.User`): the project as it was before the model was added and made the user model.
  - `upgrade from before the user app`: the OLD project has no user app in INSTALLED_APPS
    (and none of the migrations that depend on one of its migrations by name), and no
    AUTH_USER_MODEL: the user app and its model were added later. This is the incident
    `Migration admin.0001_initial is applied before its dependency users.0001_initial`.
  The OLD project is a copy of PROJECT_DIR in a temporary folder, with those migration
  files deleted. A way whose OLD phase fails is "n/a".

Each way runs in a forked child (so settings and app registries never leak) on its own
database: a new SQLite file in a temporary folder (never `:memory:`, which is one database
per connection), or a new PostgreSQL database created through --pg-dsn (a libpq
connection string to an existing database of a server we may create databases on, e.g.
`host=127.0.0.1 port=5432 user=postgres dbname=postgres`) and dropped afterwards.
`migrate` is `call_command("migrate", ..., interactive=False, verbosity=0)`: no system
checks (as call_command does by default), every exception caught and reported with its
class and message.

The user model: Django refuses to start when AUTH_USER_MODEL names a model its app does
not define (auth's ready() calls get_user_model()). Fixture projects carry migrations but
no models.py, so when the user app has no `models` module one is provided in memory with
a minimal `AbstractBaseUser` subclass of that name ("synthesized_user_model": true).
`migrate` itself works on the models the migrations build, never on this class.
"""

import argparse
import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import io
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import time
import traceback

# Imported once in the parent so that every forked child starts with them loaded. None of
# them reads settings at import time.
import django  # noqa: E402
import django.core.management  # noqa: E402
import django.db.migrations.executor  # noqa: E402
import django.db.migrations.loader  # noqa: E402
import django.db.backends.sqlite3.base  # noqa: E402
import django.db.backends.sqlite3.schema  # noqa: E402

try:
    import psycopg2  # noqa: E402
    import psycopg2.extensions  # noqa: E402
    import django.db.backends.postgresql.base  # noqa: E402
    import django.db.backends.postgresql.schema  # noqa: E402
except ImportError:  # PostgreSQL is optional
    psycopg2 = None

MESSAGE_LIMIT = 600


def settings_module_from_manage_py(project):
    try:
        with open(os.path.join(project, "manage.py"), encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z0-9_.]+)['"]""", text)
    return m.group(1) if m else None


def describe(exc):
    return type(exc).__name__, str(exc)[:MESSAGE_LIMIT]


class UserModelFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Provides `<user app>.models` with a minimal user model when the app has none."""

    def __init__(self, fullname, model_name, app_label):
        self.fullname = fullname
        self.model_name = model_name
        self.app_label = app_label

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.fullname:
            return None
        return importlib.machinery.ModuleSpec(fullname, self, origin="<synthesized>")

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        from django.contrib.auth.base_user import AbstractBaseUser
        from django.db import models

        meta = type("Meta", (), {"app_label": self.app_label})
        attrs = {
            "__module__": self.fullname,
            "username": models.CharField(max_length=150, unique=True),
            "USERNAME_FIELD": "username",
            "Meta": meta,
        }
        setattr(module, self.model_name, type(self.model_name, (AbstractBaseUser,), attrs))


def app_entry_module(entry):
    """The package of an INSTALLED_APPS entry: the entry itself when it is a module
    (`users`), else the package its AppConfig class lives in (`users.apps.UsersConfig`,
    `users.UsersConfig`)."""
    if ".apps." in entry:
        return entry.split(".apps.", 1)[0]
    try:
        if importlib.util.find_spec(entry) is not None:
            return entry
    except (ImportError, ValueError):
        pass
    return entry.rsplit(".", 1)[0]


def setup_django(project, settings_module, databases, overrides):
    """Configures settings from the project's module plus overrides, and sets Django up.
    Returns whether a user model was synthesized."""
    sys.path.insert(0, project)
    mod = importlib.import_module(settings_module)
    conf = {k: getattr(mod, k) for k in dir(mod) if k.isupper()}
    conf.pop("DATABASE_ROUTERS", None)
    conf["DATABASES"] = databases
    for k, v in overrides.items():
        if v is None:
            conf.pop(k, None)
        else:
            conf[k] = v
    synthesized = False
    user_model = conf.get("AUTH_USER_MODEL")
    if user_model and user_model.count(".") == 1:
        app_label, model_name = user_model.split(".")
        for entry in conf.get("INSTALLED_APPS", []):
            module = app_entry_module(entry)
            if module.rsplit(".", 1)[-1] != app_label:
                continue
            try:
                has_models = importlib.util.find_spec(module + ".models") is not None
            except ImportError:
                has_models = True
            if not has_models:
                sys.meta_path.insert(0, UserModelFinder(module + ".models", model_name, app_label))
                synthesized = True
            break
    from django.conf import settings

    settings.configure(**conf)
    django.setup()
    return synthesized


def in_child(fn, timeout):
    """Runs fn() in a forked child; returns what it returns (JSON-able) or an error."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        signal.alarm(timeout)
        try:
            out = {"ok": True, "value": fn()}
        except BaseException as e:  # noqa: BLE001 - report everything
            name, msg = describe(e)
            out = {"ok": False, "exception": name, "message": msg,
                   "traceback": traceback.format_exc()[-2000:]}
        try:
            data = json.dumps(out, default=str).encode()
        except Exception as e:  # noqa: BLE001
            data = json.dumps({"ok": False, "exception": "HarnessError",
                               "message": "unserializable result: %s" % e}).encode()
        with os.fdopen(w, "wb") as f:
            f.write(data)
        os._exit(0)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    if not data:
        sig = os.WTERMSIG(status) if os.WIFSIGNALED(status) else None
        why = "killed by signal %s" % sig if sig else "exit status %s" % os.WEXITSTATUS(status)
        if sig == signal.SIGALRM:
            why = "timed out after %ss" % timeout
        return {"ok": False, "exception": "HarnessError", "message": "child died: " + why}
    return json.loads(data)


# ----------------------------------------------------------------------------- preflight


def preflight(project, settings_module):
    """Under the project's own settings, without a database: its apps, the user model,
    where it is created, and what the OLD projects of the upgrade ways leave out."""
    synthesized = setup_django(project, settings_module, sqlite_databases(":memory:"), {})
    from django.apps import apps
    from django.conf import settings
    from django.db.migrations.loader import MigrationLoader
    from django.db.migrations.operations import CreateModel

    real_project = os.path.realpath(project)
    out = {
        "synthesized_user_model": synthesized,
        "user_model": getattr(settings, "AUTH_USER_MODEL", None),
        "apps": [],
        "loader": "ok",
        "upgrade": None,
        "targets": [],
    }
    project_labels = [
        cfg.label
        for cfg in apps.get_app_configs()
        if os.path.realpath(cfg.path).startswith(real_project + os.sep)
    ]
    try:
        loader = MigrationLoader(None, ignore_no_migrations=True)
        graph = loader.graph
    except Exception as e:  # noqa: BLE001
        out["loader"] = "%s: %s" % describe(e)
        out["apps"] = project_labels
        return out
    out["apps"] = [label for label in project_labels if label in loader.migrated_apps]
    leaves = set(graph.leaf_nodes())
    for key in sorted(loader.disk_migrations):
        if key[0] in out["apps"] and key not in leaves:
            out["targets"].append(list(key))

    user_app, _, user_name = (out["user_model"] or "auth.User").partition(".")
    if user_app == "auth" or user_app not in loader.migrated_apps:
        return out
    app_nodes = [k for k in graph.nodes if k[0] == user_app]
    creating = None
    for key in sorted(app_nodes):
        for op in loader.disk_migrations[key].operations:
            if isinstance(op, CreateModel) and op.name.lower() == user_name.lower():
                creating = key
    if creating is None:
        return out
    in_app_parents = [p for p in graph.node_map[creating].parents if p.key[0] == user_app]
    if not in_app_parents:
        return out

    def files(keys):
        return sorted(
            os.path.relpath(sys.modules[loader.disk_migrations[k].__module__].__file__, real_project)
            for k in keys
        )

    roots = {}
    for key in graph.nodes:
        if not any(p.key[0] == key[0] for p in graph.node_map[key].parents):
            roots.setdefault(key[0], set()).add(key)

    def explicit_dependents(removed, removed_apps):
        """Closes `removed` over migrations that depend on it by name (swappable
        dependencies resolve differently in the OLD settings, so they are not followed)."""
        removed = set(removed)
        changed = True
        while changed:
            changed = False
            for key, migration in loader.disk_migrations.items():
                if key in removed or key[0] in removed_apps:
                    continue
                for dep in migration.dependencies:
                    if getattr(dep, "setting", None) == "AUTH_USER_MODEL":
                        continue
                    app, name = dep[0], dep[1]
                    if name == "__first__":
                        hit = app in removed_apps or any(
                            r in removed for r in roots.get(app, ()))
                    elif name == "__latest__":
                        hit = app in removed_apps
                    else:
                        hit = app in removed_apps or (app, name) in removed
                    if hit:
                        removed.add(key)
                        changed = True
                        break
        return removed

    before = explicit_dependents({creating}, set())
    after_app = explicit_dependents(set(), {user_app})
    cfg = apps.get_app_config(user_app)
    installed = [
        e for e in settings.INSTALLED_APPS
        if app_entry_module(e) != cfg.name
    ]
    out["upgrade"] = {
        "user_app": user_app,
        "creating": "%s.%s" % creating,
        "before_user_model": {"delete": files(before & set(loader.disk_migrations)),
                              "overrides": {"AUTH_USER_MODEL": None}},
        "before_user_app": {
            "delete": files({k for k in after_app if k[0] != user_app and k in loader.disk_migrations}),
            "overrides": {"AUTH_USER_MODEL": None, "INSTALLED_APPS": installed},
        },
    }
    return out


# ----------------------------------------------------------------------------- databases


def sqlite_databases(name):
    # Durability does not matter for a throwaway database; `synchronous=OFF` only spares
    # the fsyncs.
    return {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": name,
                        "OPTIONS": {"init_command": "PRAGMA synchronous=OFF"}}}


class Postgres:
    def __init__(self, dsn):
        if psycopg2 is None:
            raise RuntimeError("psycopg2 is not installed in this Python")
        self.params = psycopg2.extensions.parse_dsn(dsn)
        self.dsn = dsn
        self.counter = 0

    def _admin(self, sql):
        conn = psycopg2.connect(self.dsn)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute(sql)
        finally:
            conn.close()

    def create(self):
        self.counter += 1
        name = "djcheck_mc_%d_%d" % (os.getpid(), self.counter)
        self._admin('DROP DATABASE IF EXISTS "%s"' % name)
        self._admin('CREATE DATABASE "%s" TEMPLATE template0' % name)
        p = self.params
        return name, {"default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": name,
            "USER": p.get("user", ""),
            "PASSWORD": p.get("password", ""),
            "HOST": p.get("host", ""),
            "PORT": p.get("port", ""),
        }}

    def drop(self, name):
        try:
            self._admin('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % name)
        except Exception:  # noqa: BLE001 - best effort: the server is thrown away anyway
            pass


# ----------------------------------------------------------------------------- ways


def run_migrate(project, settings_module, databases, overrides, args, timeout):
    def body():
        setup_django(project, settings_module, databases, overrides)
        from django.core.management import call_command

        buf = io.StringIO()
        try:
            call_command("migrate", *args, interactive=False, verbosity=0,
                         stdout=buf, stderr=buf)
        finally:
            from django.db import connections

            connections.close_all()
        return buf.getvalue()[-MESSAGE_LIMIT:]

    return in_child(body, timeout)


def step(label, res):
    s = {"step": label, "ok": res["ok"]}
    if not res["ok"]:
        s["exception"] = res.get("exception")
        s["message"] = res.get("message")
    return s


def way_result(name, db, steps, old_steps=0):
    """A way fails when a step fails; an upgrade whose OLD phase fails is n/a."""
    out = {"db": db, "way": name, "result": "ok", "exception": None, "message": None,
           "steps": steps}
    for i, s in enumerate(steps):
        if not s["ok"]:
            out["result"] = "n/a" if i < old_steps else "error"
            out["exception"] = s["exception"]
            out["message"] = s["message"]
            if i < old_steps:
                out["message"] = "the OLD project fails: " + (s["message"] or "")
            break
    return out


def old_project(project, delete):
    """A copy of the project without the given migration files."""
    tmp = tempfile.mkdtemp(prefix="djcheck-old-")
    dst = os.path.join(tmp, "project")
    shutil.copytree(project, dst, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for rel in delete:
        try:
            os.remove(os.path.join(dst, rel))
        except OSError:
            pass
    return tmp, dst


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("project")
    ap.add_argument("--db", default=None,
                    help="comma-separated: sqlite, postgres (default: sqlite, plus "
                         "postgres when --pg-dsn is given)")
    ap.add_argument("--pg-dsn", default=None)
    ap.add_argument("--settings-module", default=None)
    ap.add_argument("--timeout", type=int, default=120, help="seconds per way")
    ap.add_argument("--no-targets", action="store_true",
                    help="leave out the `migrate <app> <name>` ways")
    ap.add_argument("--reapply", action="store_true",
                    help="add the way `migrate, unapply, migrate again`")
    opts = ap.parse_args()
    sys.dont_write_bytecode = True
    os.environ.pop("DJANGO_SETTINGS_MODULE", None)

    project = os.path.abspath(opts.project)
    settings_module = (opts.settings_module or settings_module_from_manage_py(project)
                       or "proj.settings")
    dbs = (opts.db or ("sqlite,postgres" if opts.pg_dsn else "sqlite")).split(",")
    pg = None
    if "postgres" in dbs:
        if not opts.pg_dsn:
            ap.error("--db postgres needs --pg-dsn")
        pg = Postgres(opts.pg_dsn)

    started = time.time()
    pre = in_child(lambda: preflight(project, settings_module), opts.timeout)
    report = {"project": project, "settings_module": settings_module}
    if not pre["ok"]:
        report.update({"user_model": None, "apps": [], "upgrade": None,
                       "synthesized_user_model": False,
                       "loader": "setup failed: %s: %s" % (pre["exception"], pre["message"]),
                       "ways": []})
        print(json.dumps(report, indent=1))
        return
    info = pre["value"]
    report.update({k: info[k] for k in
                   ("user_model", "apps", "loader", "upgrade", "synthesized_user_model")})

    plans = [("migrate", [])]
    plans += [("migrate %s" % a, [a]) for a in info["apps"]]
    if not opts.no_targets:
        plans += [("migrate %s %s" % (a, n), [a, n]) for a, n in info["targets"]]

    if opts.reapply:
        # Applied, unapplied app by app (dependents first), applied again, on one
        # database: what a rollback and a redeploy do.
        steps = [("migrate", [])]
        steps += [("migrate %s zero" % a, [a, "zero"]) for a in reversed(info["apps"])]
        steps += [("migrate again", [])]
        plans.append(("migrate, unapply, migrate again", {"steps": steps}))

    tmpdir = tempfile.mkdtemp(prefix="djcheck-migrate-")
    olds = []
    try:
        upgrade = info["upgrade"]
        if upgrade:
            for key, label in (("before_user_model", "upgrade from before the user model"),
                               ("before_user_app", "upgrade from before the user app")):
                tmp, dst = old_project(project, upgrade[key]["delete"])
                olds.append(tmp)
                plans.append((label, {"old": dst, "overrides": upgrade[key]["overrides"]}))
        ways = []
        for db in dbs:
            for n, (name, spec) in enumerate(plans):
                if db == "sqlite":
                    dbname = None
                    databases = sqlite_databases(os.path.join(tmpdir, "%s-%d.sqlite3" % (db, n)))
                else:
                    dbname, databases = pg.create()
                try:
                    if isinstance(spec, dict) and "steps" in spec:
                        steps = []
                        for label, args in spec["steps"]:
                            res = run_migrate(project, settings_module, databases, {}, args,
                                              opts.timeout)
                            steps.append(step(label, res))
                            if not res["ok"]:
                                break
                        ways.append(way_result(name, db, steps))
                    elif isinstance(spec, dict):
                        old = run_migrate(spec["old"], settings_module, databases,
                                          spec["overrides"], [], opts.timeout)
                        steps = [step("OLD project: migrate", old)]
                        if old["ok"]:
                            new = run_migrate(project, settings_module, databases, {}, [],
                                              opts.timeout)
                            steps.append(step("migrate", new))
                        ways.append(way_result(name, db, steps, old_steps=1))
                    else:
                        res = run_migrate(project, settings_module, databases, {}, spec,
                                          opts.timeout)
                        ways.append(way_result(name, db, [step(name, res)]))
                finally:
                    if dbname:
                        pg.drop(dbname)
        report["ways"] = ways
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
        for t in olds:
            shutil.rmtree(t, ignore_errors=True)
    report["seconds"] = round(time.time() - started, 2)
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
