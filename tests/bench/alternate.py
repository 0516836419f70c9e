#!/usr/bin/env python3
"""Time several commands side by side, alternating: run 1 of each, then run 2 of each...

    python3 tests/bench/alternate.py RES RUNS SPEC.json

SPEC.json is a list of {"id", "label", "cmd": [...], "cwd", "stdin": path or null}.
Load on a shared machine changes over minutes; alternating puts every command under the
same load, so their ratios hold even when the absolute times move. Each command first
gets one run whose output is kept (RES/<id>/check.{out,err,exit}); then RUNS timed runs.
For each run: wall time (perf_counter), CPU time (user + system) and peak RSS (wait4).
Writes RES/<id>/{label,cmd,status,walls,check.cpu,rssN.rss}, the files report.py reads.
"""

import json
import os
import shlex
import subprocess
import sys
import time


def run(spec, out=None, err=None):
    stdin = open(spec["stdin"], "rb") if spec.get("stdin") else subprocess.DEVNULL
    t0 = time.perf_counter()
    p = subprocess.Popen(spec["cmd"], cwd=spec.get("cwd"), stdin=stdin,
                         stdout=out or subprocess.DEVNULL, stderr=err or subprocess.DEVNULL)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t0
    if stdin is not subprocess.DEVNULL:
        stdin.close()
    code = os.waitstatus_to_exitcode(status)
    return wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss, code


def main():
    res, runs, spec_path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    with open(spec_path) as fh:
        specs = json.load(fh)
    for s in specs:
        d = os.path.join(res, s["id"])
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, "label"), "w") as fh:
            fh.write(s["label"] + "\n")
        with open(os.path.join(d, "cmd"), "w") as fh:
            cmd = " ".join(shlex.quote(c) for c in s["cmd"])
            if s.get("stdin"):
                cmd += " < " + shlex.quote(s["stdin"])
            fh.write(cmd + "\n")
        with open(os.path.join(d, "check.out"), "wb") as o, \
                open(os.path.join(d, "check.err"), "wb") as e:
            wall, cpu, rss, code = run(s, o, e)
        for name, v in (("check.exit", code), ("check.wall", "%.6f" % wall),
                        ("rss0.rss", rss)):
            with open(os.path.join(d, name), "w") as fh:
                fh.write("%s\n" % v)
        print("-- %s\n   $ %s\n   first run: exit %d, %.3f s, %d KB" % (
            s["label"], cmd, code, wall, rss), flush=True)
        s["_walls"], s["_cpus"], s["_rss"] = [], [], []
    for i in range(runs):
        for s in specs:
            wall, cpu, rss, _ = run(s)
            s["_walls"].append(wall)
            s["_cpus"].append(cpu)
            s["_rss"].append(rss)
    for s in specs:
        d = os.path.join(res, s["id"])
        with open(os.path.join(d, "walls"), "w") as fh:
            fh.write("".join("%.6f\n" % w for w in s["_walls"]))
        with open(os.path.join(d, "check.cpu"), "w") as fh:
            fh.write("%.4f\n" % (sum(s["_cpus"]) / max(1, len(s["_cpus"]))))
        for i, r in enumerate(s["_rss"][:3]):
            with open(os.path.join(d, "rss%d.rss" % (i + 1)), "w") as fh:
                fh.write("%d\n" % r)
        with open(os.path.join(d, "status"), "w") as fh:
            fh.write("ok\n")
        w = sorted(s["_walls"])
        print("   %-44s median %.3f s (min %.3f, max %.3f)" % (
            s["label"], w[len(w) // 2], w[0], w[-1]), flush=True)


if __name__ == "__main__":
    main()
