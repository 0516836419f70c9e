#!/usr/bin/env python3
"""Runs djcheck on every project of the corpus and prints one table.

    tests/sweep/run.py BINARY [CORPUS] [--json OUT] [--only NAME,...] [-- EXTRA ARGS]

For each project: findings per severity and per rule, and (when the binary reports it)
what was analysed: settings module, apps, migrations, URL tree, and what was not. The
full JSON output of each run is kept under CORPUS/out/<binary name>/ for review.
"""
import collections
import json
import pathlib
import subprocess
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1 :]
    out_json = None
    only = None
    if "--json" in args:
        i = args.index("--json")
        out_json = args[i + 1]
        del args[i : i + 2]
    if "--only" in args:
        i = args.index("--only")
        only = set(args[i + 1].split(","))
        del args[i : i + 2]
    binary = pathlib.Path(args[0]).resolve()
    corpus = pathlib.Path(args[1]) if len(args) > 1 else HERE.parents[2] / "corpus"
    keep = corpus / "out" / binary.parent.parent.parent.name
    keep.mkdir(parents=True, exist_ok=True)
    rows = []
    totals = collections.Counter()
    for proj in sorted((corpus / "src").iterdir()):
        if only and not any(proj.name.startswith(o) for o in only):
            continue
        t0 = time.monotonic()
        p = subprocess.run(
            [str(binary), "check", "--format", "json", "--exit-zero", *extra, str(proj)],
            capture_output=True,
            text=True,
            timeout=600,
        )
        dt = time.monotonic() - t0
        try:
            data = json.loads(p.stdout)
        except json.JSONDecodeError:
            rows.append({"project": proj.name, "failed": p.returncode, "stderr": p.stderr[-500:]})
            continue
        (keep / f"{proj.name}.json").write_text(p.stdout)
        sev = collections.Counter(d["severity"] for d in data["diagnostics"])
        codes = collections.Counter(d["code"] for d in data["diagnostics"])
        totals.update(codes)
        row = {
            "project": proj.name,
            "seconds": round(dt, 2),
            "error": sev["error"],
            "warning": sev["warning"],
            "info": sev["info"],
            "codes": dict(sorted(codes.items())),
        }
        pj = data.get("summary", {}).get("project")
        if pj:
            row["project_report"] = pj
        rows.append(row)
    if out_json:
        pathlib.Path(out_json).write_text(json.dumps(rows, indent=1))
    print(f"{'project':36} {'err':>4} {'warn':>5} {'info':>5} {'sec':>6}  analysed")
    for r in rows:
        if "failed" in r:
            print(f"{r['project']:36} FAILED (exit {r['failed']}): {r['stderr']}")
            continue
        pj = r.get("project_report") or {}
        what = ""
        if pj:
            what = (
                f"settings={pj.get('settings')} apps={pj.get('apps')} "
                f"migrations={pj.get('migrations')} urls={pj.get('url_tree')} "
                f"not_analysed={len(pj.get('not_analysed') or [])}"
            )
        print(f"{r['project']:36} {r['error']:>4} {r['warning']:>5} {r['info']:>5} {r['seconds']:>6}  {what}")
    print()
    print("findings per rule:", ", ".join(f"{k} {v}" for k, v in sorted(totals.items())))


if __name__ == "__main__":
    main()
