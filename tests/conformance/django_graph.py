#!/usr/bin/env python3
"""Run Django's real MigrationLoader on a project, without a database, and print a verdict.

Usage:
    django_graph.py PROJECT_DIR [--settings-module M] [--installed-apps a,b,c]
                    [--migration-modules label=dotted,label2=,...]
    django_graph.py --batch   < requests.jsonl   > results.jsonl

Single mode prints one JSON object:
    {"verdict": "ok"|"node_not_found"|"unknown_app"|"cycle"|"error",
     "detail": str, "conflicts": {app: [names]}}
`conflicts` (Django's `loader.detect_conflicts()`) is filled only when the graph built.

Settings: with --installed-apps, `settings.configure(INSTALLED_APPS=..., MIGRATION_MODULES=...)`
is used directly. Otherwise the project's settings module (--settings-module, or the
DJANGO_SETTINGS_MODULE that PROJECT_DIR/manage.py sets, or `proj.settings`) is imported as a
plain module, its upper-case names are taken as settings, and DATABASES is replaced by an
in-memory SQLite database that is never opened. `--migration-modules label=` (empty value)
means None: migrations disabled for that app.

Batch mode reads JSON lines `{"id": any, "project": dir, "settings_module": str|null,
"installed_apps": [..]|null, "migration_modules": {label: dotted|null}|null}` and writes one
line per request: the single-mode object plus "id". Django is imported once; every project
runs in a forked child (a fresh process where fork is unavailable), so settings and app
registries never leak between projects.

Every exception is caught: anything that is not one of the graph errors is "error".
"""

import argparse
import importlib
import io
import json
import os
import re
import subprocess
import sys
import traceback

SQLITE = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}


def settings_module_from_manage_py(project):
    path = os.path.join(project, "manage.py")
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return None
    m = re.search(
        r"""DJANGO_SETTINGS_MODULE['"]\s*,\s*['"]([A-Za-z0-9_.]+)['"]""", text
    )
    return m.group(1) if m else None


def build_settings(req):
    """The keyword arguments for settings.configure()."""
    installed = req.get("installed_apps")
    modules = req.get("migration_modules")
    if installed is not None:
        conf = {"INSTALLED_APPS": list(installed)}
    else:
        name = (
            req.get("settings_module")
            or settings_module_from_manage_py(req["project"])
            or "proj.settings"
        )
        mod = importlib.import_module(name)
        conf = {k: getattr(mod, k) for k in dir(mod) if k.isupper()}
    if modules is not None:
        merged = dict(conf.get("MIGRATION_MODULES") or {})
        merged.update(modules)
        conf["MIGRATION_MODULES"] = merged
    conf["DATABASES"] = SQLITE
    conf.setdefault("SECRET_KEY", "djcheck-conformance")
    conf.setdefault("USE_TZ", True)
    # DATABASE_ROUTERS could name modules of the project that expect a database.
    conf["DATABASE_ROUTERS"] = []
    return conf


def run_one(req):
    """Configure Django for one project and build its migration graph."""
    from django.db.migrations.exceptions import (
        CircularDependencyError,
        NodeNotFoundError,
    )

    project = os.path.abspath(req["project"])
    sys.path.insert(0, project)
    try:
        os.chdir(project)
    except OSError:
        pass
    try:
        import django
        from django.conf import settings

        settings.configure(**build_settings(req))
        django.setup()
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
    except NodeNotFoundError as e:
        return {"verdict": "node_not_found", "detail": str(e), "conflicts": {}}
    except CircularDependencyError as e:
        return {"verdict": "cycle", "detail": str(e), "conflicts": {}}
    except ValueError as e:
        if "Dependency on unknown app" in str(e):
            return {"verdict": "unknown_app", "detail": str(e), "conflicts": {}}
        return {"verdict": "error", "detail": describe(e), "conflicts": {}}
    except BaseException as e:  # noqa: BLE001 - every failure is a verdict
        return {"verdict": "error", "detail": describe(e), "conflicts": {}}
    try:
        conflicts = {
            app: sorted(names) for app, names in sorted(loader.detect_conflicts().items())
        }
    except BaseException as e:  # noqa: BLE001
        return {"verdict": "error", "detail": describe(e), "conflicts": {}}
    return {
        "verdict": "ok",
        "detail": "%d nodes" % len(loader.graph.nodes),
        "conflicts": conflicts,
    }


def describe(e):
    tb = traceback.extract_tb(e.__traceback__)
    where = ""
    if tb:
        last = tb[-1]
        where = " (at %s:%s)" % (os.path.basename(last.filename), last.lineno)
    return "%s: %s%s" % (type(e).__name__, e, where)


def run_quietly(req):
    """run_one with anything the project prints sent to stderr, never to our stdout."""
    saved = sys.stdout
    sys.stdout = sys.stderr
    try:
        return run_one(req)
    except BaseException as e:  # noqa: BLE001
        return {"verdict": "error", "detail": describe(e), "conflicts": {}}
    finally:
        sys.stdout = saved


def run_forked(req):
    """run_quietly in a forked child; the result comes back through a pipe."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 0
        try:
            out = json.dumps(run_quietly(req)).encode()
            with os.fdopen(w, "wb") as f:
                f.write(out)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        data = f.read()
    _, status = os.waitpid(pid, 0)
    try:
        return json.loads(data.decode())
    except ValueError:
        return {
            "verdict": "error",
            "detail": "harness child died (status %d) without a result" % status,
            "conflicts": {},
        }


def run_subprocess(req):
    """Fallback without fork: one fresh interpreter per project."""
    args = [sys.executable, os.path.abspath(__file__), req["project"]]
    if req.get("settings_module"):
        args += ["--settings-module", req["settings_module"]]
    if req.get("installed_apps") is not None:
        args += ["--installed-apps", ",".join(req["installed_apps"])]
    if req.get("migration_modules") is not None:
        args += [
            "--migration-modules",
            ",".join("%s=%s" % (k, v or "") for k, v in req["migration_modules"].items()),
        ]
    p = subprocess.run(args, capture_output=True, text=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {
            "verdict": "error",
            "detail": "harness failed: %s" % p.stderr.strip()[-500:],
            "conflicts": {},
        }


def batch():
    # Import what every child needs once, before forking. None of it reads settings.
    import django  # noqa: F401
    import django.db.migrations.loader  # noqa: F401

    run = run_forked if hasattr(os, "fork") else run_subprocess
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        req = json.loads(line)
        res = run(req)
        res["id"] = req.get("id")
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


def parse_modules(text):
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        label, _, dotted = part.partition("=")
        out[label.strip()] = dotted.strip() or None
    return out


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("project", nargs="?")
    ap.add_argument("--settings-module")
    ap.add_argument("--installed-apps")
    ap.add_argument("--migration-modules")
    ap.add_argument("--batch", action="store_true")
    a = ap.parse_args(argv)
    if a.batch:
        batch()
        return 0
    if not a.project:
        ap.error("PROJECT_DIR is required (or --batch)")
    req = {
        "project": a.project,
        "settings_module": a.settings_module,
        "installed_apps": (
            [x.strip() for x in a.installed_apps.split(",") if x.strip()]
            if a.installed_apps is not None
            else None
        ),
        "migration_modules": (
            parse_modules(a.migration_modules) if a.migration_modules is not None else None
        ),
    }
    res = run_quietly(req)
    sys.stdout.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
