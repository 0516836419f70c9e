"""Prints, as JSON, the settings Django itself reads from a project's settings module.

    python settings_values.py PROJECT_DIR SETTINGS_MODULE

PROJECT_DIR goes first on sys.path (Django runs from the folder holding manage.py);
DJANGO_SETTINGS_MODULE is set to SETTINGS_MODULE. Only django.conf.settings is touched:
the apps are not imported, so third-party apps need not be installed.
"""
import json
import os
import sys

project, module = sys.argv[1], sys.argv[2]
sys.path.insert(0, project)
os.chdir(project)
os.environ["DJANGO_SETTINGS_MODULE"] = module
from django.conf import settings  # noqa: E402

out = {}
try:
    out["INSTALLED_APPS"] = list(settings.INSTALLED_APPS)
    out["MIGRATION_MODULES"] = {
        k: v for k, v in dict(settings.MIGRATION_MODULES).items()
    } if isinstance(settings.MIGRATION_MODULES, dict) else None
    out["ROOT_URLCONF"] = getattr(settings, "ROOT_URLCONF", None)
    out["AUTH_USER_MODEL"] = settings.AUTH_USER_MODEL
except Exception as e:  # noqa: BLE001 - reported to the test, which fails on it
    out = {"error": f"{type(e).__name__}: {e}"}
print(json.dumps(out))
