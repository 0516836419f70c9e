#!/usr/bin/env bash
# Check that gen_project.py writes a valid Django project, with real Django.
#
#   tests/bench/verify_project.sh [--apps N] [--migrations M] [--seed S]
#
# Generates a small project (default 3 apps x 5 migrations) into target/bench/verify and
# requires: `makemigrations --check --dry-run` says "No changes detected", `check` finds no
# issue, `migrate` applies every migration on sqlite and `migrate APP zero` reverses the
# first app (RunSQL reverse_sql, RunPython reverse_code), `ruff check --select DJ` passes,
# and djcheck reports nothing. Uses the virtualenv of run.sh (target/bench/venv).
set -euo pipefail
APPS=3 MIGRATIONS=5 SEED=20240108
while [ $# -gt 0 ]; do
    case "$1" in
        --apps) APPS="$2"; shift 2 ;;
        --migrations) MIGRATIONS="$2"; shift 2 ;;
        --seed) SEED="$2"; shift 2 ;;
        *) echo "verify_project.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="$ROOT/target/bench"
OUT="$BENCH/verify"
VENV="$BENCH/venv"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/python" -m pip install -q "django>=5.2,<5.3" ruff
fi
PY="$VENV/bin/python"
fail() { echo "FAIL: $*" >&2; exit 1; }

python3 "$HERE/gen_project.py" "$OUT" --apps "$APPS" --migrations "$MIGRATIONS" --seed "$SEED"
cd "$OUT"
out="$("$PY" manage.py makemigrations --check --dry-run 2>&1)" || fail "makemigrations --check: $out"
[ "$out" = "No changes detected" ] || fail "makemigrations --check: $out"
echo "ok: makemigrations --check --dry-run: $out"
out="$("$PY" manage.py check 2>&1)" || fail "check: $out"
echo "ok: check: $out"
"$PY" manage.py migrate -v0 || fail "migrate"
FIRST_APP="$(sed -n 's/^    path("\([a-z0-9_]*\)\/", include.*/\1/p' proj/urls.py | head -1)"
"$PY" manage.py migrate "$FIRST_APP" zero -v0 || fail "migrate $FIRST_APP zero"
"$PY" manage.py migrate -v0 || fail "migrate (again)"
echo "ok: migrate, migrate $FIRST_APP zero, migrate"
rm -f db.sqlite3
if [ -x "$VENV/bin/ruff" ]; then
    "$VENV/bin/ruff" check --select DJ --no-cache . >/dev/null || fail "ruff check --select DJ"
    echo "ok: ruff check --select DJ"
fi
DJCHECK="$ROOT/target/release/djcheck"
if [ -x "$DJCHECK" ]; then
    out="$("$DJCHECK" check . --no-config --fail-on info 2>&1)" || { echo "$out"; fail "djcheck reported findings"; }
    echo "ok: djcheck: $out"
fi
echo "valid: $OUT"
