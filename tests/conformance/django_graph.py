#!/usr/bin/env python3
"""Run Django's real MigrationLoader on a project, without a database, and print a verdict.

Usage:
    django_graph.py PROJECT_DIR [--settings-module M] [--installed-apps a,b,c]
                    [--migration-modules label=dotted,label2=,...] [--stub-missing-apps]
    django_graph.py --batch   < requests.jsonl   > results.jsonl

Single mode prints one JSON object:
    {"verdict": "ok"|"node_not_found"|"unknown_app"|"cycle"|"bad_migration"|"error",
     "detail": str, "conflicts": {app: [names]}, "stubbed": [labels]}
`conflicts` (Django's `loader.detect_conflicts()`) is filled only when the graph built. With
verdict "ok", "migrate_error" is added when the loader that `migrate` uses
(ignore_no_migrations=False) fails where makemigrations' loader does not.

Settings: with --installed-apps, `settings.configure(INSTALLED_APPS=..., MIGRATION_MODULES=...)`
is used directly. Otherwise the project's settings module (--settings-module, or the
DJANGO_SETTINGS_MODULE that PROJECT_DIR/manage.py sets, or `proj.settings`) is imported as a
plain module, its upper-case names are taken as settings, and DATABASES is replaced by an
in-memory SQLite database that is never opened. `--migration-modules label=` (empty value)
means None: migrations disabled for that app.

--stub-missing-apps: an INSTALLED_APPS entry whose module cannot be found (a third-party
app not installed here) is replaced by an empty stub package, and Django's `check_key` is
patched to ignore every reference to the stubbed labels: exactly how djcheck treats an
installed app it cannot inspect. The stubbed labels are listed in the result's "stubbed".
Without it such a project gives "error" (ModuleNotFoundError).

Batch mode reads JSON lines `{"id": any, "project": dir, "settings_module": str|null,
"installed_apps": [..]|null, "migration_modules": {label: dotted|null}|null,
"stub_missing_apps": bool}` and writes one line per request, in completion order: the
single-mode object plus "id". Django is imported once; every project runs in a forked
child, --jobs at a time (default: one per CPU), or in a fresh interpreter where fork is
unavailable, so settings and app registries never leak between projects.

Every exception is caught: anything that is not one of the graph errors is "error".
"""

import argparse
import importlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
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


def top_level_missing(dotted):
    """True when the top-level package of `dotted` cannot be found at all."""
    import importlib.util

    top = dotted.split(".")[0]
    try:
        return importlib.util.find_spec(top) is None
    except (ImportError, ValueError):
        return True


def stub_missing_apps(installed, stub_root):
    """Creates empty packages for uninstalled apps under stub_root; returns their labels.

    Only apps whose top-level package is missing are stubbed: a stub cannot be merged into
    a package that exists (Django then reports the missing submodule as an "error").
    """
    labels = []
    missing = {e.split(".")[0] for e in installed if top_level_missing(e)}
    for entry in installed:
        parts = entry.split(".")
        if parts[0] not in missing:
            continue
        config_class = None
        module = parts
        if len(parts) > 1 and parts[-1][:1].isupper():
            # `pkg.apps.SomeConfig` or `pkg.SomeConfig`: an AppConfig class.
            config_class = parts[-1]
            module = parts[:-1]
        package = module[:-1] if len(module) > 1 and module[-1] == "apps" else module
        path = stub_root
        for p in package:
            path = os.path.join(path, p)
            os.makedirs(path, exist_ok=True)
            init = os.path.join(path, "__init__.py")
            if not os.path.exists(init):
                open(init, "w").close()
        if config_class:
            target = "apps.py" if module is not package else "__init__.py"
            with open(os.path.join(path, target), "a") as f:
                f.write(
                    "from django.apps import AppConfig\n\n\nclass %s(AppConfig):\n"
                    "    name = %r\n" % (config_class, ".".join(package))
                )
        labels.append(package[-1])
    return labels


def ignore_references_to(labels):
    """Makes MigrationLoader ignore every dependency/run_before naming these apps."""
    from django.db.migrations.loader import MigrationLoader

    original = MigrationLoader.check_key
    ignored = set(labels)

    def check_key(self, key, current_app):
        if key[0] in ignored:
            return None
        return original(self, key, current_app)

    MigrationLoader.check_key = check_key


def run_one(req):
    """Configure Django for one project and build its migration graph."""
    stub_root = tempfile.mkdtemp(prefix="djcheck-stubs-")
    stubbed = []
    try:
        res = build_graph(req, stub_root, stubbed)
    finally:
        shutil.rmtree(stub_root, ignore_errors=True)
    res["stubbed"] = stubbed
    return res


def build_graph(req, stub_root, stubbed):
    from django.db.migrations.exceptions import (
        BadMigrationError,
        CircularDependencyError,
        NodeNotFoundError,
    )

    def result(verdict, detail, conflicts=None):
        return {"verdict": verdict, "detail": detail, "conflicts": conflicts or {}}

    project = os.path.abspath(req["project"])
    sys.path.insert(0, project)
    try:
        os.chdir(project)
    except OSError:
        pass
    try:
        import django
        from django.conf import settings

        conf = build_settings(req)
        if req.get("stub_missing_apps"):
            sys.path.append(stub_root)
            stubbed.extend(stub_missing_apps(conf.get("INSTALLED_APPS") or [], stub_root))
            ignore_references_to(stubbed)
        settings.configure(**conf)
        django.setup()
        from django.db.migrations.loader import MigrationLoader

        loader = MigrationLoader(None, ignore_no_migrations=True)
        conflicts = {
            app: sorted(names) for app, names in sorted(loader.detect_conflicts().items())
        }
    except NodeNotFoundError as e:
        return result("node_not_found", str(e))
    except CircularDependencyError as e:
        return result("cycle", str(e))
    except BadMigrationError as e:
        return result("bad_migration", str(e))
    except ValueError as e:
        if "Dependency on unknown app" in str(e):
            return result("unknown_app", str(e))
        return result("error", describe(e))
    except BaseException as e:  # noqa: BLE001 - every failure is a verdict
        return result("error", describe(e))
    res = result("ok", "%d nodes" % len(loader.graph.nodes), conflicts)
    # `migrate` builds its loader with ignore_no_migrations=False: a __first__/__latest__
    # dependency on an app whose migrations package is empty fails there only.
    try:
        MigrationLoader(None, ignore_no_migrations=False)
    except BaseException as e:  # noqa: BLE001
        res["migrate_error"] = "%s: %s" % (type(e).__name__, e)
    return res


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


def start_forked(req, out_path):
    """Starts run_quietly in a forked child that writes its result to out_path."""
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            data = json.dumps(run_quietly(req))
            with open(out_path, "w", encoding="utf-8") as f:
                f.write(data)
        except BaseException:  # noqa: BLE001
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    return pid


def collect(out_path, status):
    try:
        with open(out_path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return {
            "verdict": "error",
            "detail": "harness child died (wait status %d) without a result" % status,
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
    if req.get("stub_missing_apps"):
        args.append("--stub-missing-apps")
    p = subprocess.run(args, capture_output=True, text=True)
    try:
        return json.loads(p.stdout)
    except ValueError:
        return {
            "verdict": "error",
            "detail": "harness failed: %s" % p.stderr.strip()[-500:],
            "conflicts": {},
        }


def batch(jobs):
    reqs = [json.loads(line) for line in sys.stdin if line.strip()]

    def emit(req, res):
        res["id"] = req.get("id")
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()

    if not hasattr(os, "fork"):
        for req in reqs:
            emit(req, run_subprocess(req))
        return
    # Import what every child needs once, before forking. None of it reads settings.
    import django  # noqa: F401
    import django.db.migrations.loader  # noqa: F401

    tmp = tempfile.mkdtemp(prefix="djcheck-batch-")
    running = {}

    def reap():
        pid, status = os.wait()
        if pid in running:
            req, path = running.pop(pid)
            emit(req, collect(path, status))

    try:
        for i, req in enumerate(reqs):
            while len(running) >= jobs:
                reap()
            path = os.path.join(tmp, "%d.json" % i)
            running[start_forked(req, path)] = (req, path)
        while running:
            reap()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


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
    ap.add_argument("--stub-missing-apps", action="store_true")
    ap.add_argument("--batch", action="store_true")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    a = ap.parse_args(argv)
    if a.batch:
        batch(max(1, a.jobs))
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
        "stub_missing_apps": a.stub_missing_apps,
    }
    res = run_quietly(req)
    sys.stdout.write(json.dumps(res) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
