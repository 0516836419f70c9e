"""Runs Django's own URL system checks on one project and prints what they report, as
JSON, for tests/tests/url_conformance.rs.

Usage: url_checks.py PROJECT_DIR SETTINGS_MODULE [ROOT_URLCONF|-] [NAME...]

SETTINGS_MODULE is imported from PROJECT_DIR (split settings with `from .base import *`
work as they do in the project) and its upper-case names configure Django in-process;
`-` means minimal settings (the contrib auth and contenttypes apps). ROOT_URLCONF, when
given (not `-`), overrides the settings'. Each NAME is passed to `reverse()`. No database
is touched.

Output, one JSON object:
- {"status": "ok", "messages": [...], "masked": [...]}: every message of
  `run_checks(tags=["urls"])` as {"id", "msg", "route", "name", "namespace"}, and in
  "masked" the checks of an include's own route that Django skips because a pattern
  inside the include already has a message (`URLResolver.check` returns
  `messages or self.pattern.check()`), and in "names" each NAME's verdict: "unknown"
  when `reverse()` says the name or a namespace does not exist, else "known" (it may
  still need arguments);
- {"status": "error", "type": ..., "message": ...}: the URLconf could not be loaded.
"""

import importlib
import json
import re
import sys

PATTERN = re.compile(
    r"^Your URL pattern '(?P<route>.*?)'(?: \[name='(?P<name>[^']*)'\])? (?:has|uses) ",
    re.S,
)
NAMESPACE = re.compile(r"^URL namespace '(?P<ns>.*)' isn't unique")


def describe(message):
    out = {"id": message.id, "msg": message.msg, "route": None, "name": None, "namespace": None}
    m = PATTERN.match(message.msg)
    if m:
        out["route"] = m.group("route")
        out["name"] = m.group("name")
    m = NAMESPACE.match(message.msg)
    if m:
        out["namespace"] = m.group("ns")
    return out


def masked_checks(resolver):
    from django.core.checks.urls import check_resolver

    out = []
    seen = set()

    def walk(r, depth):
        if depth > 50 or id(r) in seen:
            return
        seen.add(id(r))
        for p in getattr(r, "url_patterns", []):
            if not hasattr(p, "url_patterns"):
                continue
            inner = []
            for q in p.url_patterns:
                inner.extend(check_resolver(q))
            if inner:
                out.extend(describe(m) for m in p.pattern.check())
            walk(p, depth + 1)

    walk(resolver, 0)
    return out


def reverse_verdict(name):
    from django.urls import NoReverseMatch, reverse

    try:
        reverse(name)
    except NoReverseMatch as e:
        text = str(e)
        if "is not a valid view function or pattern name" in text or (
            "is not a registered namespace" in text
        ):
            return "unknown"
    return "known"


def main():
    project, settings_module = sys.argv[1], sys.argv[2]
    root_urlconf = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] != "-" else None
    names = sys.argv[4:]
    sys.path.insert(0, project)
    sys.setrecursionlimit(3000)

    import django
    from django.conf import settings

    if settings_module == "-":
        values = {
            "SECRET_KEY": "conformance",
            "INSTALLED_APPS": ["django.contrib.auth", "django.contrib.contenttypes"],
        }
    else:
        module = importlib.import_module(settings_module)
        values = {k: getattr(module, k) for k in dir(module) if k.isupper()}
    if root_urlconf:
        values["ROOT_URLCONF"] = root_urlconf
    values.setdefault("DATABASES", {})
    settings.configure(**values)
    try:
        django.setup()
        from django.core import checks
        from django.urls import get_resolver

        # As `manage.py check`: what SILENCED_SYSTEM_CHECKS lists is left out.
        messages = [m for m in checks.run_checks(tags=["urls"]) if not m.is_silenced()]
        masked = masked_checks(get_resolver())
        verdicts = {n: reverse_verdict(n) for n in names}
    except BaseException as e:  # noqa: BLE001 - every failure is reported, not raised
        print(json.dumps({"status": "error", "type": type(e).__name__, "message": str(e)[:500]}))
        return
    print(
        json.dumps(
            {
                "status": "ok",
                "messages": [describe(m) for m in messages],
                "masked": masked,
                "names": verdicts,
            }
        )
    )


if __name__ == "__main__":
    main()
