#!/usr/bin/env python3
"""Generate a small Django project whose one URL module holds a long list of routes.

    python3 tests/bench/gen_urls.py OUT_DIR --routes N

The URL rules compare routes with each other (URL003: an earlier route that matches
every path a later one matches); this project measures how their time grows with the
length of one list. The routes are what a large site's flat URLconf holds: literal
routes, routes with converters (`<int:pk>/`, `<slug:slug>/`), nested prefixes and
`re_path()` patterns, each named. Every 100th route is registered a second time for
another view (URL003 reports it: 1% of the routes are findings).

Python 3.8+, standard library only. The output depends only on the arguments.
"""

import argparse
import os
import shutil

WORDS = ["orders", "invoices", "customers", "products", "reports", "tickets", "users",
         "teams", "events", "articles", "files", "tags", "notes", "plans", "offers"]


def route(i):
    w = WORDS[i % len(WORDS)]
    kind = i % 6
    if kind == 0:
        return 'path("%s%d/", views.page, name="r%d")' % (w, i, i)
    if kind == 1:
        return 'path("%s%d/<int:pk>/", views.page, name="r%d")' % (w, i, i)
    if kind == 2:
        return 'path("%s%d/<slug:slug>/edit/", views.page, name="r%d")' % (w, i, i)
    if kind == 3:
        return 'path("api/v%d/%s/<uuid:id>/", views.page, name="r%d")' % (i, w, i)
    if kind == 4:
        return 're_path(r"^legacy/%s/(?P<n>[0-9]+)/%d/$", views.page, name="r%d")' % (w, i, i)
    return 'path("%s/%d/<str:part>/<int:n>/", views.page, name="r%d")' % (w, i, i)


def routes(n):
    out = []
    for i in range(n):
        out.append(route(i))
        if i % 100 == 99:
            out.append(route(i).replace("views.page", "views.other").replace('name="r', 'name="dup'))
    return out[:n]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out_dir")
    p.add_argument("--routes", type=int, default=3000)
    a = p.parse_args(argv)
    out = a.out_dir
    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "proj"))
    files = {
        "manage.py": "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings')\n",
        "proj/__init__.py": "",
        "proj/settings.py": (
            "SECRET_KEY = 'bench-not-secret'\nROOT_URLCONF = 'proj.urls'\n"
            "INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth']\n"
        ),
        "proj/views.py": "from django.http import HttpResponse\n\n\n"
                         "def page(request, **kwargs):\n    return HttpResponse('ok')\n\n\n"
                         "def other(request, **kwargs):\n    return HttpResponse('other')\n",
        "proj/urls.py": (
            "from django.urls import path, re_path\n\nfrom . import views\n\nurlpatterns = [\n"
            + "".join("    %s,\n" % r for r in routes(a.routes))
            + "]\n"
        ),
    }
    for rel, text in files.items():
        with open(os.path.join(out, rel), "w", encoding="utf-8") as fh:
            fh.write(text)
    print("generated %s: %d routes in proj/urls.py" % (out, a.routes))


if __name__ == "__main__":
    main()
