#!/usr/bin/env bash
# Runs one fuzz target for a number of seconds and logs the run in fuzz/EXECUTIONS.md.
#
#   fuzz/run.sh TARGET SECONDS [libFuzzer options...]
#
# TARGET is python, sql or pipeline (see fuzz/README.md). Needs cargo-fuzz
# (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP=1 lets its -Z flags run on a stable
# toolchain. New inputs go to fuzz/corpus/TARGET (not committed); the committed seeds and
# regressions are read as extra corpora. A crash, hang (over 10 s) or blow-up (over
# 2 GiB) stops the run and is saved under fuzz/artifacts/TARGET/: copy it to
# fuzz/regressions/TARGET/ once fixed, and `cargo test` replays it from then on.
set -euo pipefail
cd "$(dirname "$0")"
if [ $# -lt 2 ]; then
    echo "usage: fuzz/run.sh TARGET SECONDS [libFuzzer options...]" >&2
    exit 2
fi
target=$1
seconds=$2
shift 2
case $target in python|sql|pipeline) ;; *) echo "unknown target: $target" >&2; exit 2 ;; esac
export RUSTC_BOOTSTRAP=1
mkdir -p "corpus/$target" "artifacts/$target"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
started=$(date -u +%Y-%m-%dT%H:%MZ)
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
# No sanitizer: djcheck forbids unsafe code, and AddressSanitizer would halve the
# executions per second. Panics, timeouts and memory limits are what the runs look for.
set +e
cargo fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" "regressions/$target" -- \
    -max_total_time="$seconds" -dict="dict/$target.dict" -timeout=10 -rss_limit_mb=2048 \
    -artifact_prefix="artifacts/$target/" -print_final_stats=1 "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
executions=$(grep -ao 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
if [ -z "$executions" ]; then
    executions=$(grep -aoE '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
fi
per_second=$(grep -ao 'stat::average_exec_per_sec: *[0-9]*' "$log" | tail -1 | grep -o '[0-9]*$' || true)
corpus=$(find "corpus/$target" -type f | wc -l)
if [ -z "$executions" ]; then
    # libFuzzer never started (a build or option error): nothing to log.
    echo "run.sh: the fuzzer did not start (exit $status); nothing logged" >&2
    exit "$status"
elif [ "$status" -eq 0 ]; then
    result="no crash"
else
    artifact=$(grep -aoE "artifacts/$target/[a-z]+-[0-9a-f]+" "$log" | tail -1 || true)
    kind=$(grep -aoE 'ERROR: libFuzzer: [a-z-]+|panicked at [^:]*' "$log" | head -1 || true)
    result="exit $status: ${kind:-failure} ${artifact}"
fi
printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$started" "$target" "$seconds" \
    "${executions:-?}" "${per_second:-?}" "$corpus" "$commit" "$result" >> EXECUTIONS.md
exit "$status"
