#!/usr/bin/env python3
"""What Django and PostgreSQL really do with a deploy-safety fixture's leaf migration.

Usage:
    safe_check.py PROJECT_DIR --pg-dsn DSN [--locks TABLE,...] [--then SQL]...

PROJECT_DIR is a fixture project (settings `proj.settings`, one app with migrations).
Its settings module is imported as a plain module, its upper-case names become the
settings (`settings.configure`), and DATABASES is replaced by a new PostgreSQL database
created through DSN (a libpq connection string) and dropped afterwards. Then:

1. `migrate APP PREVIOUS`: the database as the running release has it (every migration
   but the app's leaf);
2. `sqlmigrate APP LEAF`: the SQL Django would run, or the exception it raises;
3. for each table of --locks: the leaf's SQL runs in an open transaction on one
   connection (as `migrate` runs an atomic migration), and a second connection, with
   `lock_timeout = 300ms`, asks for the locks a read (ACCESS SHARE) and a write (ROW
   EXCLUSIVE) of the table take: whether each had to wait. The first transaction is then
   rolled back. Only for migrations whose SQL can run in a transaction;
4. `migrate APP LEAF`, then each --then statement on a new connection, as the running
   release's code would send it: whether it succeeds.

Prints one JSON object:
    {"app", "leaf", "sql": str | null, "sql_error": str | null,
     "locks": {table: {"reads": "blocked"|"ok", "writes": "blocked"|"ok"} | {"error": str}},
     "then": [{"sql", "ok": bool, "error": str | null}], "error": str | null}
"""

import argparse
import importlib
import io
import json
import os
import sys


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("project")
    ap.add_argument("--pg-dsn", required=True)
    ap.add_argument("--locks", default="")
    ap.add_argument("--then", action="append", default=[])
    args = ap.parse_args()
    out = {"app": None, "leaf": None, "sql": None, "sql_error": None, "locks": {},
           "then": [], "error": None}
    try:
        run(args, out)
    except Exception as e:  # report, never crash: the test reads the JSON
        out["error"] = "%s: %s" % (type(e).__name__, e)
    print(json.dumps(out))


def run(args, out):
    import psycopg2

    project = os.path.abspath(args.project)
    sys.path.insert(0, project)
    mod = importlib.import_module("proj.settings")
    values = {k: getattr(mod, k) for k in dir(mod) if k.isupper()}
    dbname = "djcheck_safe_%d" % os.getpid()
    admin = psycopg2.connect(args.pg_dsn)
    admin.autocommit = True
    admin.cursor().execute('DROP DATABASE IF EXISTS "%s"' % dbname)
    admin.cursor().execute('CREATE DATABASE "%s"' % dbname)
    params = dict(p.split("=", 1) for p in args.pg_dsn.split())
    values["DATABASES"] = {"default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": dbname,
        "USER": params.get("user", "postgres"),
        "HOST": params.get("host", "127.0.0.1"),
        "PORT": params.get("port", "5432"),
    }}
    dsn = "host=%s port=%s user=%s dbname=%s" % (
        params.get("host", "127.0.0.1"), params.get("port", "5432"),
        params.get("user", "postgres"), dbname)
    try:
        check(values, dsn, args, out, psycopg2)
    finally:
        from django.db import connections
        connections.close_all()
        admin.cursor().execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % dbname)


def check(values, dsn, args, out, psycopg2):
    import django
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.migrations.loader import MigrationLoader

    settings.configure(**values)
    django.setup()
    loader = MigrationLoader(None, ignore_no_migrations=True)
    project = os.path.abspath(args.project)
    app = sorted(d for d in os.listdir(project)
                 if os.path.isfile(os.path.join(project, d, "migrations", "__init__.py")))[0]
    leaves = loader.graph.leaf_nodes(app)
    leaf = leaves[0][1]
    parents = [p for p in loader.graph.node_map[(app, leaf)].parents if p.key[0] == app]
    out["app"], out["leaf"] = app, leaf
    quiet = {"verbosity": 0, "interactive": False}
    if parents:
        call_command("migrate", app, parents[0].key[1], **quiet)
    else:
        call_command("migrate", app, "zero", **quiet)

    buf = io.StringIO()
    try:
        call_command("sqlmigrate", app, leaf, stdout=buf)
        out["sql"] = buf.getvalue()
    except Exception as e:
        out["sql_error"] = "%s: %s" % (type(e).__name__, e)
    connection.close()

    tables = [t for t in args.locks.split(",") if t]
    if tables and out["sql"] is not None:
        statements = [l for l in out["sql"].splitlines()
                      if l.strip() not in ("BEGIN;", "COMMIT;")]
        script = "\n".join(statements)
        for table in tables:
            holder = psycopg2.connect(dsn)
            try:
                holder.cursor().execute(script)
            except Exception as e:
                out["locks"][table] = {"error": "%s: %s" % (type(e).__name__, e)}
                holder.rollback()
                holder.close()
                continue
            result = {}
            for what, mode in (("reads", "ACCESS SHARE"), ("writes", "ROW EXCLUSIVE")):
                probe = psycopg2.connect(dsn)
                cur = probe.cursor()
                cur.execute("SET lock_timeout = '300ms'")
                try:
                    cur.execute('LOCK TABLE "%s" IN %s MODE' % (table, mode))
                    result[what] = "ok"
                except psycopg2.errors.LockNotAvailable:
                    result[what] = "blocked"
                probe.rollback()
                probe.close()
            holder.rollback()
            holder.close()
            out["locks"][table] = result

    if args.then:
        call_command("migrate", app, leaf, **quiet)
        connection.close()
        for sql in args.then:
            conn = psycopg2.connect(dsn)
            conn.autocommit = True
            try:
                conn.cursor().execute(sql)
                out["then"].append({"sql": sql, "ok": True, "error": None})
            except Exception as e:
                out["then"].append({"sql": sql, "ok": False,
                                    "error": "%s: %s" % (type(e).__name__, str(e).strip())})
            conn.close()


if __name__ == "__main__":
    main()
