#!/usr/bin/env bash
# Sets up what the Django conformance suite needs, cached under DEST (default: the
# workspace's target/conformance):
#   DEST/venv                      a virtualenv with Django 5.2 (reused when it imports)
#   DEST/sdist/django-X.tar.gz     Django's source distribution, same version
#   DEST/django-X-tests/tests/...  its tests/migrations and tests/migrations2 folders
# On success prints two lines: `python=PATH` and `tests=PATH`. Exits non-zero with a
# message on stderr when anything fails (no network to PyPI, no venv module...).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${1:-${CARGO_TARGET_DIR:-$(cd "$here/../.." && pwd)/target}/conformance}"
spec='django>=5.2,<5.3'
python="${PYTHON:-python3}"
venv="$dest/venv"
pip_opts=(--disable-pip-version-check --quiet --retries 2 --timeout 30)

mkdir -p "$dest"
# Other conformance tests may set up the same venv at the same time: they take these
# flock(2) locks too (Rust's File::lock).
lock() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>"$dest/$1"
        flock 9
    fi
}
unlock() {
    if command -v flock >/dev/null 2>&1; then
        exec 9>&-
    fi
}
venv_ok() {
    "$venv/bin/python" -c 'import django, sys; sys.exit(django.VERSION[:2] != (5, 2))' 2>/dev/null
}
venv_ok || lock .venv.lock
if ! venv_ok; then
    echo "conformance: creating $venv with $spec" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" || { echo "conformance: '$python -m venv' failed" >&2; exit 1; }
    "$venv/bin/python" -m pip install "${pip_opts[@]}" "$spec" \
        || { echo "conformance: 'pip install $spec' failed (is PyPI reachable?)" >&2; exit 1; }
fi
# The settings libraries real projects use (their settings import them), and a
# third-party app whose AppConfig a fixture subclasses.
settings_libs='django-split-settings>=1.3,<2 django-environ>=0.11,<1 python-decouple>=3.8,<4 django-constance>=4,<5'
if ! "$venv/bin/python" -c 'import split_settings, environ, decouple, constance' 2>/dev/null; then
    "$venv/bin/python" -m pip install "${pip_opts[@]}" $settings_libs \
        || { echo "conformance: 'pip install $settings_libs' failed (is PyPI reachable?)" >&2; exit 1; }
fi
unlock
version="$("$venv/bin/python" -c 'import django; print(django.__version__)')"

src="$dest/django-$version-tests"
[ -f "$src/.complete" ] || lock .sdist.lock
if [ ! -f "$src/.complete" ]; then
    mkdir -p "$dest/sdist"
    tarball="$(ls "$dest"/sdist/[dD]jango-"$version".tar.gz 2>/dev/null | head -n1 || true)"
    if [ -z "$tarball" ]; then
        echo "conformance: downloading Django $version's sdist" >&2
        "$venv/bin/python" -m pip download "${pip_opts[@]}" --no-binary :all: --no-deps \
            "django==$version" -d "$dest/sdist" \
            || { echo "conformance: 'pip download django==$version' failed (is PyPI reachable?)" >&2; exit 1; }
        tarball="$(ls "$dest"/sdist/[dD]jango-"$version".tar.gz 2>/dev/null | head -n1 || true)"
        [ -n "$tarball" ] || { echo "conformance: no sdist in $dest/sdist after download" >&2; exit 1; }
    fi
    rm -rf "$src"
    "$venv/bin/python" - "$tarball" "$src" <<'PY'
import os, sys, tarfile
tarball, out = sys.argv[1], sys.argv[2]
wanted = ("tests/migrations/", "tests/migrations2/")
with tarfile.open(tarball) as tar:
    members = []
    for m in tar.getmembers():
        parts = m.name.split("/", 1)
        if len(parts) == 2 and parts[1].startswith(wanted) and (m.isfile() or m.isdir()):
            m.name = parts[1]
            members.append(m)
    if not members:
        sys.exit("conformance: %s has no tests/migrations folder" % tarball)
    kw = {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
    tar.extractall(out, members=members, **kw)
PY
    touch "$src/.complete"
fi
unlock
echo "python=$venv/bin/python"
echo "tests=$src/tests"
