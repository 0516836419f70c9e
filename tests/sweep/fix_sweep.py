#!/usr/bin/env python3
"""Runs the fixes on every project of the corpus, on a copy, and checks what they write.

    tests/sweep/fix_sweep.py BINARY [CORPUS] [--only NAME,...] [-- EXTRA ARGS]

For each project: `check --diff --unsafe-fixes` (the fixes offered: files in the diff),
then, when there is any, `check --fix --unsafe-fixes --show-fixes` on a copy of the
project. It counts the fixes applied and rolled back, parses every file written with
Python's own parser (`ast.parse`), and checks that no file disappeared. EXTRA ARGS go
to both runs (e.g. `--extend-select SQL001,SQL002,SQL005,PY001` for the rules that are
off by default and have fixes). Not a test.
"""
import ast
import filecmp
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent


def tree(root):
    return {p.relative_to(root).as_posix(): p for p in root.rglob("*")
            if p.is_file() and not p.is_symlink()}


def main():
    args = sys.argv[1:]
    extra = []
    if "--" in args:
        i = args.index("--")
        args, extra = args[:i], args[i + 1:]
    only = None
    if "--only" in args:
        i = args.index("--only")
        only = set(args[i + 1].split(","))
        del args[i:i + 2]
    binary = str(pathlib.Path(args[0]).resolve())
    corpus = pathlib.Path(args[1]) if len(args) > 1 else HERE.parents[2] / "corpus"
    totals = {"projects": 0, "with_fixes": 0, "applied": 0, "unsafe": 0,
              "rolled_back": 0, "files": 0, "broken": 0, "stray": 0}
    per_code = {}
    for proj in sorted((corpus / "src").iterdir()):
        if not proj.is_dir() or (only and not any(proj.name.startswith(o) for o in only)):
            continue
        totals["projects"] += 1
        d = subprocess.run([binary, "check", "--diff", "--unsafe-fixes", *extra, str(proj)],
                           capture_output=True, text=True, timeout=600)
        offered = d.stdout.count("\n+++ b/") + d.stdout.startswith("+++ b/")
        if d.returncode not in (0, 1):
            print(f"{proj.name}: --diff exit {d.returncode}: {d.stderr[-300:]}")
        if not offered:
            continue
        totals["with_fixes"] += 1
        with tempfile.TemporaryDirectory(prefix="djcheck-fix-sweep-") as tmp:
            copy = pathlib.Path(tmp) / proj.name
            shutil.copytree(proj, copy, symlinks=True)
            before = tree(copy)
            f = subprocess.run([binary, "check", "--fix", "--unsafe-fixes", "--show-fixes",
                                "--exit-zero", *extra, str(copy)],
                               capture_output=True, text=True, timeout=600)
            applied = re.findall(r"^  (\w+) \S+ \((safe|unsafe)\): ", f.stderr, re.M)
            rolled = re.findall(r"^djcheck: fix for .* not applied .*$", f.stderr, re.M)
            after = tree(copy)
            written = [p for p in after if p not in before
                       or not filecmp.cmp(before[p], proj / p, shallow=False)]
            stray = [p for p in before if p not in after]
            broken = []
            for p in written:
                if p.endswith(".py"):
                    try:
                        ast.parse((copy / p).read_bytes(), filename=p)
                    except (SyntaxError, ValueError) as e:
                        broken.append(f"{p}: {e}")
            for code, kind in applied:
                per_code[code] = per_code.get(code, 0) + 1
            totals["applied"] += len(applied)
            totals["unsafe"] += sum(1 for _, k in applied if k == "unsafe")
            totals["rolled_back"] += len(rolled)
            totals["files"] += len(written)
            totals["broken"] += len(broken)
            totals["stray"] += len(stray)
            print(f"{proj.name}: {offered} file(s) in the diff, {len(applied)} applied "
                  f"({sum(1 for _, k in applied if k == 'unsafe')} unsafe), "
                  f"{len(rolled)} rolled back, {len(written)} written")
            for r in rolled:
                print(f"    {r}")
            for b in broken:
                print(f"    BROKEN {b}")
            for s in stray:
                print(f"    REMOVED {s}")
    print("totals:", totals)
    print("applied per rule:", dict(sorted(per_code.items())))
    return 1 if totals["broken"] or totals["stray"] else 0


if __name__ == "__main__":
    sys.exit(main())
