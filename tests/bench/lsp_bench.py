#!/usr/bin/env python3
"""Benchmark of `djcheck server` on a generated project (not a test).

    python3 tests/bench/lsp_bench.py DJCHECK_BINARY PROJECT_DIR [--edits N] [--no-watchers]

PROJECT_DIR is a project from gen_project.py (default size: 100 apps x 100 migrations).
Results and targets: tests/bench/README.md, "The language server".
Measures, over the Language Server Protocol on stdio (standard library only):

* the first check of the workspace folder, started by `initialized` (cold);
* first diagnostics after opening a migration, the server warm (`didOpen` to its
  `publishDiagnostics`);
* re-check after an edit to that migration (`didChange` to `publishDiagnostics`, with
  `debounceMs` 0), N times, median and worst; then N edits that each add an operation
  that changes no model (its facts change, the state does not), median; then N edits
  that each change a field of the model it creates (the state after it changes),
  median; then N edits that each add a field to that model, median; then N edits that
  each leave a syntax error in it (half-typed), the first (it
  stops being readable) and the median; then
  N edits adding an operation to the latest migration of its app (the one being
  written, the common case), median;
* the server's peak resident memory (VmHWM), next to `djcheck check`'s on the same
  project (wait4's ru_maxrss).

With --no-watchers the client does not offer to watch files for the server (as some
editors' clients), which then looks at the files the last check read before each
re-check.
"""

import argparse
import json
import re
import pathlib
import resource
import statistics
import subprocess
import sys
import threading
import time


def frame(obj):
    body = json.dumps(obj).encode()
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


class Server:
    def __init__(self, binary, cwd):
        self.p = subprocess.Popen([binary, "server"], cwd=cwd, stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        self.msgs = []
        self.cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.p.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    return
                line = line.strip()
                if not line:
                    break
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            body = out.read(length)
            with self.cv:
                self.msgs.append((time.perf_counter(), json.loads(body)))
                self.cv.notify_all()

    def send(self, obj):
        self.p.stdin.write(frame(obj))
        self.p.stdin.flush()

    def wait(self, pred, since, timeout=600):
        deadline = time.perf_counter() + timeout
        with self.cv:
            while True:
                for i in range(since, len(self.msgs)):
                    t, m = self.msgs[i]
                    if pred(m):
                        return t, i + 1
                if not self.cv.wait(deadline - time.perf_counter()):
                    raise TimeoutError("no answer")

    def mark(self):
        with self.cv:
            return len(self.msgs)

    def peak_rss_kib(self):
        for line in pathlib.Path(f"/proc/{self.p.pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        return 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("project")
    ap.add_argument("--edits", type=int, default=10)
    ap.add_argument("--no-watchers", action="store_true")
    a = ap.parse_args()
    root = pathlib.Path(a.project).resolve()
    migs = sorted((root / "app_001" / "migrations").glob("00*.py"))
    if not migs:
        migs = sorted(root.glob("*/migrations/00*.py"))
    target = migs[len(migs) // 2]
    uri = target.as_uri()
    text = target.read_text()

    # The CLI's peak memory on the same project.
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    subprocess.run([a.binary, "check", str(root), "--exit-zero", "--quiet"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    cli_time = time.perf_counter() - t0
    cli_rss = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    s = Server(a.binary, root)
    s.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        # As editors that watch files for the server (VS Code, Neovim, Zed, Helix, Emacs),
        # or not.
        "capabilities": {"workspace": {"didChangeWatchedFiles": {
            "dynamicRegistration": not a.no_watchers}}},
        "workspaceFolders": [{"uri": root.as_uri(), "name": "bench"}],
        "initializationOptions": {"run": "onChange", "debounceMs": 0}}})
    m = s.mark()
    _, m = s.wait(lambda x: x.get("id") == 1, 0)
    t0 = time.perf_counter()
    s.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    is_pub = lambda x: x.get("method") == "textDocument/publishDiagnostics"
    # The workspace check publishes for files with findings, maybe none: wait for the log
    # line's effect by opening the document right after and timing both.
    s.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 1, "text": text}}})
    t, m = s.wait(lambda x: is_pub(x) and x["params"]["uri"] == uri, m)
    cold = t - t0

    # Warm: close and open again (closing an unchanged file publishes nothing).
    s.send({"jsonrpc": "2.0", "method": "textDocument/didClose", "params": {"textDocument": {"uri": uri}}})
    m = s.mark()
    t0 = time.perf_counter()
    s.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "python", "version": 2, "text": text}}})
    t, m = s.wait(lambda x: is_pub(x) and x["params"]["uri"] == uri, m)
    warm_open = t - t0

    def timed_edits(uri, texts, first_version):
        """Sends each text as the document's new content; the time to its diagnostics."""
        out = []
        for i, edited in enumerate(texts):
            m = s.mark()
            t0 = time.perf_counter()
            s.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
                "textDocument": {"uri": uri, "version": first_version + i},
                "contentChanges": [{"text": edited}]}})
            t, m = s.wait(lambda x: is_pub(x) and x["params"]["uri"] == uri, m)
            out.append(t - t0)
        return out

    def operation_added(text):
        """N texts, each with an operation added (what the migration does changes)."""
        if "operations = [" not in text:
            return []
        return [text.replace(
            "operations = [",
            f"operations = [\n        migrations.RunSQL('SELECT {i}', migrations.RunSQL.noop),",
            1) for i in range(a.edits)]

    def field_changed(text):
        """N texts, each with a field's `max_length` changed: the model the migration
        creates changes, and with it the state after it."""
        found = re.search(r"max_length=(\d+)", text)
        if not found:
            return []
        return [text.replace(found.group(0), f"max_length={int(found.group(1)) + 1 + i}", 1)
                for i in range(a.edits)]

    def model_op_added(text):
        """N texts, each with a field added to the model the migration creates, after the
        other operations (the model's later events are numbered again)."""
        found = re.search(r"CreateModel\(\s*name='(\w+)'", text)
        end = text.rfind("\n    ]")
        if not found or end < 0:
            return []
        model = found.group(1).lower()
        return [text[:end] + f"\n        migrations.AddField(model_name='{model}', name='f{i}', "
                f"field=models.IntegerField(null=True)),{text[end:]}" for i in range(a.edits)]

    times = timed_edits(uri, [text + f"\n# edit {i}\n" for i in range(a.edits)], 3)
    # The same, each edit changing the migration's operations (one added above the
    # others), so that its facts differ from the last check's.
    changed = timed_edits(uri, operation_added(text), 3 + a.edits)
    # Each edit changing what the migration does to a model.
    altered = timed_edits(uri, field_changed(text), 3 + 2 * a.edits)
    # Each edit adding an operation on that model.
    model_ops = timed_edits(uri, model_op_added(text), 3 + 3 * a.edits)
    # Half-typed: each edit leaves a syntax error (the migration can't be read).
    broken = timed_edits(uri, [text.replace("operations = [", f"operations = [ ({i}", 1)
                               for i in range(a.edits)], 3 + 4 * a.edits)
    # The common case: the latest migration of that app (the one being written), opened
    # and edited (an operation added each time).
    latest_path = sorted(target.parent.glob("0*.py"))[-1]
    latest_uri, latest_text = latest_path.as_uri(), latest_path.read_text()
    s.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": latest_uri, "languageId": "python", "version": 1, "text": latest_text}}})
    latest = timed_edits(latest_uri, operation_added(latest_text), 2)
    rss = s.peak_rss_kib()
    s.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    s.wait(lambda x: x.get("id") == 2, 0)
    s.send({"jsonrpc": "2.0", "method": "exit"})
    s.p.wait(timeout=60)
    print(json.dumps({
        "project": str(root),
        "migrations": len(list(root.glob("*/migrations/0*.py"))),
        "cli_check_s": round(cli_time, 3),
        "cli_peak_rss_mib": round(cli_rss / 1024, 1),
        "server_first_diagnostics_cold_s": round(cold, 3),
        "server_first_diagnostics_warm_s": round(warm_open, 3),
        "server_recheck_median_s": round(statistics.median(times), 3),
        "server_recheck_max_s": round(max(times), 3),
        "server_recheck_operation_added_median_s":
            round(statistics.median(changed), 3) if changed else None,
        "server_recheck_field_changed_median_s":
            round(statistics.median(altered), 3) if altered else None,
        "server_recheck_model_operation_added_median_s":
            round(statistics.median(model_ops), 3) if model_ops else None,
        "server_recheck_syntax_error_first_s": round(broken[0], 3),
        "server_recheck_syntax_error_median_s": round(statistics.median(broken), 3),
        "server_recheck_latest_migration_median_s":
            round(statistics.median(latest), 3) if latest else None,
        "server_peak_rss_mib": round(rss / 1024, 1),
        "server_exit_code": s.p.returncode,
    }, indent=2))


if __name__ == "__main__":
    sys.exit(main())
