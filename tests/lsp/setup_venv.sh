#!/usr/bin/env bash
# Sets up the language server test's client: a virtualenv under DEST (default: the
# workspace's target/lsp) with pytest-lsp (pygls's client and pytest) from PyPI, reused
# when it imports. Prints `python=PATH` on success.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="${1:-${CARGO_TARGET_DIR:-$(cd "$here/../.." && pwd)/target}/lsp}"
spec='pytest-lsp>=1.0,<2'
python="${PYTHON:-python3}"
venv="$dest/venv"
mkdir -p "$dest"
if command -v flock >/dev/null 2>&1; then
    exec 9>"$dest/.venv.lock"
    flock 9
fi
if ! "$venv/bin/python" -c 'import pytest_lsp' 2>/dev/null; then
    echo "lsp: creating $venv with $spec" >&2
    rm -rf "$venv"
    "$python" -m venv "$venv" || { echo "lsp: '$python -m venv' failed" >&2; exit 1; }
    "$venv/bin/python" -m pip install --disable-pip-version-check --quiet --retries 2 --timeout 30 "$spec" \
        || { echo "lsp: 'pip install $spec' failed (is PyPI reachable?)" >&2; exit 1; }
fi
echo "python=$venv/bin/python"
