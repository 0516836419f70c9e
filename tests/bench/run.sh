#!/usr/bin/env bash
# Benchmark djcheck against the tools a Django team would otherwise run on a large project.
#
#   tests/bench/run.sh [--apps N] [--migrations M] [--runs R] [--slow-runs S]
#                      [--lint-timeout SECS] [--no-lint] [--no-scale]
#
# Builds djcheck (release), generates a valid Django project of N apps x M migrations
# (default 100 x 100 = 10,000 migrations, plus the custom user app) into
# target/bench/project, makes a virtualenv in target/bench/venv with Django 5.2, ruff and
# django-migration-linter, then measures, in this one run, the median wall time and the
# peak RSS of each tool: djcheck cold (no cache) and warm (cache present), one changed
# migration in stdin mode, ruff without and with its cache (these alternating, run by
# run), URL lists of 300 and 3,000 routes, the project at twice the size (--no-scale
# skips it), and Django's commands. The table, with every target ratio, goes to stdout
# and target/bench/results.txt; raw data, logs and outputs of every tool stay in
# target/bench/results/. See tests/bench/README.md.
set -euo pipefail

APPS=100
MIGRATIONS=100
RUNS=10          # timed runs of the fast tools (djcheck, ruff)
SLOW_RUNS=3      # timed runs of each Django management command
LINT_TIMEOUT=600 # seconds; lintmigrations on a big project may not finish
LINT=1
SCALE=1

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
    case "$1" in
        --apps) APPS="$2"; shift 2 ;;
        --migrations) MIGRATIONS="$2"; shift 2 ;;
        --runs) RUNS="$2"; shift 2 ;;
        --slow-runs) SLOW_RUNS="$2"; shift 2 ;;
        --lint-timeout) LINT_TIMEOUT="$2"; shift 2 ;;
        --no-lint) LINT=0; shift ;;
        --no-scale) SCALE=0; shift ;;
        -h|--help) usage 0 ;;
        *) echo "run.sh: unknown argument $1" >&2; usage 2 >&2 ;;
    esac
done

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BENCH="${BENCH_DIR:-$ROOT/target/bench}"   # BENCH_DIR: another output folder
PROJECT="$BENCH/project"
VENV="$BENCH/venv"
RES="$BENCH/results"
PY_SYS="${PYTHON:-python3}"
mkdir -p "$BENCH"
rm -rf "$RES"
mkdir -p "$RES"

say() { printf '\n== %s\n' "$*"; }
warn() { printf 'run.sh: %s\n' "$*" >&2; }

# ---------------------------------------------------------------------------------------
say "building djcheck (release)"
tries=0
until (cd "$ROOT" && cargo build --release -p djcheck_cli --bin djcheck); do
    tries=$((tries + 1))
    if [ "$tries" -ge "${BENCH_BUILD_RETRIES:-3}" ]; then
        warn "cargo build --release failed $tries times"; exit 1
    fi
    warn "cargo build failed (a tree being edited?); retrying in 60 s"
    sleep 60
done
# Benchmark a copy: a rebuild during the run must not swap the binary under us.
mkdir -p "$BENCH/bin"
cp "$ROOT/target/release/djcheck" "$BENCH/bin/djcheck"
DJCHECK="$BENCH/bin/djcheck"
GIT_REV="$(cd "$ROOT" && git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(cd "$ROOT" && git status --porcelain --untracked-files=no 2>/dev/null)" ]; then
    GIT_REV="$GIT_REV+dirty"
fi

# ---------------------------------------------------------------------------------------
say "project: $APPS apps x $MIGRATIONS migrations"
GEN_SUM="$(sha256sum "$HERE/gen_project.py" | cut -c1-16)"
PARAMS="apps=$APPS migrations=$MIGRATIONS generator=$GEN_SUM"
if [ -f "$PROJECT/manage.py" ] && [ "$(cat "$BENCH/project.params" 2>/dev/null)" = "$PARAMS" ]; then
    echo "reusing $PROJECT ($PARAMS)"
else
    rm -f "$BENCH/project.params"
    "$PY_SYS" "$HERE/gen_project.py" "$PROJECT" --apps "$APPS" --migrations "$MIGRATIONS"
    echo "$PARAMS" > "$BENCH/project.params"
fi
# makemigrations/check open the sqlite database (creating an empty file): start clean.
rm -f "$PROJECT/db.sqlite3"
N_MIG="$(find "$PROJECT" -path '*/migrations/[0-9]*.py' | wc -l)"
N_PY="$(find "$PROJECT" -name '*.py' | wc -l)"
SIZE="$(du -sh --apparent-size "$PROJECT" | cut -f1)"
echo "$N_MIG migrations, $N_PY Python files, $SIZE"

# URL lists of 300 and 3,000 routes in one module (URL003 compares routes of a list).
URL_SUM="$(sha256sum "$HERE/gen_urls.py" | cut -c1-16)"
for n in 300 3000; do
    if [ ! -f "$BENCH/urls$n/proj/urls.py" ] || [ "$(cat "$BENCH/urls$n.params" 2>/dev/null)" != "$URL_SUM" ]; then
        "$PY_SYS" "$HERE/gen_urls.py" "$BENCH/urls$n" --routes "$n"
        echo "$URL_SUM" >"$BENCH/urls$n.params"
    fi
done
# The project at twice the size: the time must grow linearly.
PROJECT2="$BENCH/project2x"
if [ "$SCALE" = 1 ]; then
    PARAMS2="apps=$((APPS * 2)) migrations=$MIGRATIONS generator=$GEN_SUM"
    if [ ! -f "$PROJECT2/manage.py" ] || [ "$(cat "$BENCH/project2x.params" 2>/dev/null)" != "$PARAMS2" ]; then
        "$PY_SYS" "$HERE/gen_project.py" "$PROJECT2" --apps "$((APPS * 2))" --migrations "$MIGRATIONS"
        echo "$PARAMS2" >"$BENCH/project2x.params"
    fi
fi

# ---------------------------------------------------------------------------------------
say "virtualenv: $VENV"
if [ ! -x "$VENV/bin/python" ]; then
    "$PY_SYS" -m venv "$VENV" || { warn "cannot create a virtualenv"; }
fi
PY="$VENV/bin/python"
HAVE_DJANGO=0 HAVE_RUFF=0 HAVE_LINTER=0
if [ -x "$PY" ]; then
    "$PY" -c 'import django, sys; sys.exit(django.VERSION[:2] != (5, 2))' 2>/dev/null ||
        "$PY" -m pip install -q "django>=5.2,<5.3" || warn "cannot install django>=5.2,<5.3"
    [ -x "$VENV/bin/ruff" ] || "$PY" -m pip install -q ruff || warn "cannot install ruff"
    "$PY" -c 'import django_migration_linter' 2>/dev/null ||
        "$PY" -m pip install -q django-migration-linter || warn "cannot install django-migration-linter"
    "$PY" -c 'import django' 2>/dev/null && HAVE_DJANGO=1
    "$VENV/bin/ruff" --version >/dev/null 2>&1 && HAVE_RUFF=1
    "$PY" -c 'import django_migration_linter' 2>/dev/null && HAVE_LINTER=1
fi
[ "$HAVE_DJANGO" = 1 ] || warn "Django is not available: makemigrations/check/lintmigrations skipped"
[ "$HAVE_RUFF" = 1 ] || warn "ruff is not available: skipped"
[ "$HAVE_LINTER" = 1 ] || warn "django-migration-linter is not available: skipped"

# ---------------------------------------------------------------------------------------
# Measuring. Wall time: hyperfine if installed, else a loop around `date +%s.%N`.
# Peak RSS: GNU time (`/usr/bin/time -v`, "Maximum resident set size"), else wait4() from
# Python. Every tool first gets one checked run whose output is kept (and which warms the
# page cache); peak RSS is the largest of that run and (fast tools) two more.
# BENCH_NO_HYPERFINE=1 / BENCH_NO_GNU_TIME=1 force the fallbacks.
HYPERFINE="$(command -v hyperfine || true)"
[ -z "${BENCH_NO_HYPERFINE:-}" ] || HYPERFINE=""
GNU_TIME=""
if [ -x /usr/bin/time ] && /usr/bin/time -v true >/dev/null 2>&1; then GNU_TIME=/usr/bin/time; fi
[ -z "${BENCH_NO_GNU_TIME:-}" ] || GNU_TIME=""
[ -n "$HYPERFINE" ] || warn "hyperfine not found (apt-get install hyperfine): timing with a date loop"
[ -n "$GNU_TIME" ] || warn "GNU time not found (apt-get install time): peak RSS from Python's wait4()"

# rss_run OUTFILE_PREFIX TIMEOUT CMD...: one run; writes PREFIX.out/.err/.exit/.rss/.wall
rss_run() {
    local pre="$1" tmo="$2"; shift 2
    local t0 t1 rc=0
    t0="$(date +%s.%N)"
    if [ -n "$GNU_TIME" ]; then
        # timeout inside time: it kills the tool itself, and wait4() still reports the
        # tool's peak RSS (the largest of the waited-for descendants).
        "$GNU_TIME" -v -o "$pre.time" timeout "$tmo" "$@" >"$pre.out" 2>"$pre.err" || rc=$?
        t1="$(date +%s.%N)"
        sed -n 's/.*Maximum resident set size (kbytes): *//p' "$pre.time" 2>/dev/null >"$pre.rss" || true
    else
        "$PY_SYS" - "$pre.rss" timeout "$tmo" "$@" >"$pre.out" 2>"$pre.err" <<'EOF' || rc=$?
import os, subprocess, sys
p = subprocess.Popen(sys.argv[2:])
_, status, ru = os.wait4(p.pid, 0)
open(sys.argv[1], "w").write("%d\n" % ru.ru_maxrss)
open(sys.argv[1][:-4] + ".cpu", "w").write("%.3f\n" % (ru.ru_utime + ru.ru_stime))
sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))
EOF
        t1="$(date +%s.%N)"
    fi
    echo "$rc" >"$pre.exit"
    echo "$t0 $t1" | awk '{printf "%.6f\n", $2 - $1}' >"$pre.wall"
    return 0
}

# bench ID LABEL RUNS WARMUP RSS_RUNS TIMEOUT CMD...  (in the current directory)
bench() {
    local id="$1" label="$2" runs="$3" warmup="$4" rss_runs="$5" tmo="$6"; shift 6
    local d="$RES/$id"
    mkdir -p "$d"
    printf '%s\n' "$label" >"$d/label"
    printf '%q ' "$@" >"$d/cmd"; echo >>"$d/cmd"
    echo "-- $label"
    echo "   \$ $(cat "$d/cmd")"
    rss_run "$d/check" "$tmo" "$@"
    local rc; rc="$(cat "$d/check.exit")"
    if [ "$rc" = 124 ]; then
        echo "   did not finish within $tmo s: not timed further"
        echo "timeout $tmo" >"$d/status"
        return 0
    fi
    echo "   first run: exit $rc, $(cat "$d/check.wall") s, $(cat "$d/check.rss") KB; output in $d/check.out"
    local i
    for i in $(seq 2 "$rss_runs"); do rss_run "$d/rss$i" "$tmo" "$@"; done
    if [ "$runs" -le 1 ]; then
        cp "$d/check.wall" "$d/walls"      # one run: the checked one is the timing
    elif [ -n "$HYPERFINE" ]; then
        local cmdline; cmdline="$(cat "$d/cmd")"
        "$HYPERFINE" -N -i --style basic --runs "$runs" --warmup "$warmup" \
            --command-name "$label" --export-json "$d/hyperfine.json" -- "$cmdline" \
            >"$d/hyperfine.txt" 2>&1 || { warn "hyperfine failed for $label"; cat "$d/hyperfine.txt" >&2; }
        grep -E 'Time|Range' "$d/hyperfine.txt" | sed 's/^/   /' || true
    else
        for i in $(seq 1 "$warmup"); do "$@" >/dev/null 2>&1 || true; done
        : >"$d/walls"
        for i in $(seq 1 "$runs"); do
            local t0 t1
            t0="$(date +%s.%N)"; "$@" >/dev/null 2>&1 || true; t1="$(date +%s.%N)"
            echo "$t0 $t1" | awk '{printf "%.6f\n", $2 - $1}' >>"$d/walls"
        done
    fi
    echo ok >"$d/status"
}

uptime >"$RES/load_before"
date -u '+%Y-%m-%d %H:%M UTC' >"$RES/date"

# djcheck runs every rule (`--select ALL`, those off by default included): the worst case.
say "measuring (fast tools: $RUNS runs, alternating; Django commands: $SLOW_RUNS runs)"
cd "$PROJECT"
# The caches live outside the project; the warm runs find them filled by a first run.
CACHE="$BENCH/djcheck_cache"
RUFF_CACHE="$BENCH/ruff_cache"
rm -rf "$CACHE" "$RUFF_CACHE"
DJ=("$DJCHECK" check --no-config --select ALL --exit-zero --quiet)
"${DJ[@]}" "$PROJECT" --cache-dir "$CACHE" >/dev/null
if [ "$HAVE_RUFF" = 1 ]; then
    "$VENV/bin/ruff" check --select DJ --cache-dir "$RUFF_CACHE" "$PROJECT" >/dev/null 2>&1 || true
fi
# One changed migration, as an editor sends it: the buffer on stdin, the rest cached.
EDITED_REL="$(cd "$PROJECT" && find . -path '*/migrations/0050_*.py' | sort | sed -n 1p | sed 's|^\./||')"
EDITED="$BENCH/edited_migration.py"
{ cat "$PROJECT/$EDITED_REL"; printf '\n# edited in the editor\n'; } >"$EDITED"
"$PY_SYS" - "$BENCH/alternate.json" "$PROJECT" "$CACHE" "$EDITED" "$EDITED_REL" \
    "$HAVE_RUFF" "$VENV/bin/ruff" "$RUFF_CACHE" "${DJ[@]}" <<'EOF'
import json, sys
out, project, cache, edited, edited_rel, have_ruff, ruff, ruff_cache = sys.argv[1:9]
dj = sys.argv[9:]
specs = [
    {"id": "djcheck", "label": "djcheck check, cold (--no-cache)", "cwd": project,
     "cmd": dj + [project, "--no-cache"]},
    {"id": "djcheck_warm", "label": "djcheck check, warm (cache present)", "cwd": project,
     "cmd": dj + [project, "--cache-dir", cache]},
    {"id": "djcheck_stdin", "label": "djcheck, one changed migration (stdin), warm",
     "cwd": project, "stdin": edited,
     "cmd": dj + ["--cache-dir", cache, "--stdin-filename", edited_rel, "-"]},
]
if have_ruff == "1":
    specs += [
        {"id": "ruff", "label": "ruff check --select DJ --no-cache", "cwd": project,
         "cmd": [ruff, "check", "--select", "DJ", "--no-cache", project]},
        {"id": "ruff_cached", "label": "ruff check --select DJ (its cache)", "cwd": project,
         "cmd": [ruff, "check", "--select", "DJ", "--cache-dir", ruff_cache, project]},
    ]
json.dump(specs, open(out, "w"), indent=1)
EOF
"$PY_SYS" "$HERE/alternate.py" "$RES" "$RUNS" "$BENCH/alternate.json"
if [ "$HAVE_RUFF" = 1 ]; then
    "$VENV/bin/ruff" check --select DJ --no-cache --show-files "$PROJECT" 2>/dev/null |
        grep -c '\.py$' >"$RES/ruff/files" || true
fi
bench djcheck_json "djcheck check --format json (cold)" "$RUNS" 2 3 600 \
    "${DJ[@]}" "$PROJECT" --no-cache --format json
for n in 300 3000; do
    bench "urls$n" "djcheck, one URL list of $n routes (cold)" "$RUNS" 1 1 600 \
        "${DJ[@]}" "$BENCH/urls$n" --no-cache
done
if [ "$SCALE" = 1 ]; then
    bench djcheck_2x "djcheck, $((APPS * 2)) x $MIGRATIONS migrations (cold)" "$RUNS" 1 1 600 \
        "${DJ[@]}" "$PROJECT2" --no-cache
fi
if [ "$HAVE_DJANGO" = 1 ]; then
    bench makemigrations "manage.py makemigrations --check --dry-run" "$SLOW_RUNS" 0 1 3600 \
        "$PY" manage.py makemigrations --check --dry-run
    bench check "manage.py check" "$SLOW_RUNS" 0 1 3600 \
        "$PY" manage.py check
fi
if [ "$HAVE_DJANGO" = 1 ] && [ "$HAVE_LINTER" = 1 ] && [ "$LINT" = 1 ]; then
    # django-migration-linter must be in INSTALLED_APPS: add it through a settings module
    # outside the project, so the project itself stays as generated.
    OVR="$BENCH/lint_settings"
    mkdir -p "$OVR"
    cat >"$OVR/bench_lint_settings.py" <<'EOF'
from proj.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_migration_linter"]  # noqa: F405
EOF
    # It runs `sqlmigrate` for every migration (sqlite: no database server needed). Its
    # verdicts (backward-incompatible operations) are expected on this project: only the
    # time is of interest. One run, bounded by --lint-timeout.
    (
        export DJANGO_SETTINGS_MODULE=bench_lint_settings PYTHONPATH="$OVR"
        bench lintmigrations "manage.py lintmigrations" 1 0 1 "$LINT_TIMEOUT" \
            "$PY" manage.py lintmigrations --no-cache -q ok ignore warning error
        # The same on one app only (what a team linting the app it changed would run).
        FIRST_APP="$(sed -n 's/^    path("\([a-z0-9_]*\)\/", include.*/\1/p' proj/urls.py | sed -n 1p)"
        bench lintmigrations_app "manage.py lintmigrations --include-apps $FIRST_APP" 1 0 1 \
            "$LINT_TIMEOUT" "$PY" manage.py lintmigrations --no-cache \
            --include-apps "$FIRST_APP" -q ok ignore warning error
    )
fi
rm -f "$PROJECT/db.sqlite3"
cd "$ROOT"
uptime >"$RES/load_after"

# ---------------------------------------------------------------------------------------
{
    echo "djcheck $GIT_REV; $("$DJCHECK" --version 2>/dev/null || true)"
    [ "$HAVE_RUFF" = 1 ] && "$VENV/bin/ruff" --version
    [ "$HAVE_DJANGO" = 1 ] && echo "Django $("$PY" -c 'import django; print(django.get_version())')"
    [ "$HAVE_LINTER" = 1 ] && echo "django-migration-linter $("$PY" -m pip show django-migration-linter 2>/dev/null | sed -n 's/^Version: //p')"
    "$PY_SYS" --version 2>&1 | sed 's/^/system /'
    [ -x "$PY" ] && "$PY" --version 2>&1 | sed 's/^/venv /'
    [ -n "$HYPERFINE" ] && "$HYPERFINE" --version
    echo "project: $PARAMS; $N_MIG migrations, $N_PY Python files, $SIZE"
    echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | sed -n 1p), $(free -g | awk '/^Mem:/ {print $2}') GiB"
} >"$RES/env" 2>/dev/null || true

"$PY_SYS" "$HERE/report.py" "$RES" | tee "$BENCH/results.txt"
echo
echo "written: $BENCH/results.txt (raw data and every tool's output: $RES/)"
