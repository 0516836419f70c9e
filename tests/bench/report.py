#!/usr/bin/env python3
"""Turn the raw measurements of tests/bench/run.sh into the results table.

    python3 tests/bench/report.py target/bench/results

Reads, for each tool, RES/<id>/: label, cmd, status, check.{exit,wall,rss,out,err,time},
rss*.rss, and hyperfine.json (hyperfine) or walls (date loop / single run).
"""

import json
import os
import statistics
import sys

ORDER = ["djcheck", "djcheck_warm", "djcheck_stdin", "ruff", "ruff_cached", "djcheck_json",
         "urls300", "urls3000", "djcheck_2x", "makemigrations", "check", "lintmigrations",
         "lintmigrations_app"]

# (label, numerator id, denominator id or None for seconds, what, target,
# higher_is_better). The targets of issue 13.
TARGETS = [
    ("djcheck cold / ruff --no-cache (wall)", "djcheck", "ruff", "wall", 1.0, False),
    ("djcheck cold / ruff (peak RSS)", "djcheck", "ruff", "rss", 1.5, False),
    ("djcheck warm / ruff --no-cache (wall)", "djcheck_warm", "ruff", "wall", 0.25, False),
    ("djcheck warm / ruff cached (wall)", "djcheck_warm", "ruff_cached", "wall", 1.0, False),
    ("one changed migration, stdin (s)", "djcheck_stdin", None, "wall", 0.05, False),
    ("3,000 routes (s)", "urls3000", None, "wall", 0.3, False),
    ("3,000 routes / 300 routes (wall)", "urls3000", "urls300", "wall", 5.0, False),
    ("2x migrations / 1x (wall)", "djcheck_2x", "djcheck", "wall", 2.1, False),
    ("manage.py check / djcheck (wall)", "check", "djcheck", "wall", 15.0, True),
    ("makemigrations / djcheck (wall)", "makemigrations", "djcheck", "wall", 60.0, True),
]


def read(path, default=None):
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().strip()
    except OSError:
        return default


def gnu_time_field(text, name):
    for line in (text or "").splitlines():
        line = line.strip()
        if line.startswith(name + ":"):
            try:
                return float(line.split(":", 1)[1])
            except ValueError:
                return None
    return None


def summary_line(tool, d):
    """One line saying what the tool reported in its checked run."""
    out = read(os.path.join(d, "check.out"), "") or ""
    err = read(os.path.join(d, "check.err"), "") or ""
    if tool == "djcheck_json":
        try:
            data = json.loads(out)
        except ValueError:
            return "output is not JSON"
        codes = {}
        for diag in data.get("diagnostics", []):
            codes[diag.get("code", "?")] = codes.get(diag.get("code", "?"), 0) + 1
        s = data.get("summary", {})
        found = ", ".join("%s x%d" % kv for kv in sorted(codes.items())) or "no findings"
        return "%s in %s files" % (found, s.get("files", "?"))
    if tool == "djcheck":
        lines = [l for l in out.splitlines() if l.strip()]
        return "%d lines of findings" % len(lines) if lines else "no findings"
    if tool.startswith("lintmigrations"):
        keep = [l for l in out.splitlines() if "migrations:" in l]
        return "; ".join(l.strip() for l in keep) or (err.splitlines() or ["?"])[-1]
    lines = [l for l in (out + "\n" + err).splitlines() if l.strip()]
    return lines[-1].strip() if lines else ""


def load(res, tool):
    d = os.path.join(res, tool)
    if not os.path.isdir(d):
        return None
    r = {"id": tool, "label": read(os.path.join(d, "label"), tool),
         "cmd": read(os.path.join(d, "cmd"), ""), "status": read(os.path.join(d, "status"), "?"),
         "exit": read(os.path.join(d, "check.exit"), "?"), "walls": [], "cpu": None,
         "rss_kb": None, "note": ""}
    if r["status"].startswith("timeout"):
        r["timeout"] = float(r["status"].split()[1])
        return r
    rss = []
    for name in sorted(os.listdir(d)):
        if name.endswith(".rss"):
            try:
                rss.append(int(read(os.path.join(d, name)) or 0))
            except ValueError:
                pass
    r["rss_kb"] = max(rss) if rss else None
    hf = os.path.join(d, "hyperfine.json")
    if os.path.exists(hf):
        with open(hf) as fh:
            h = json.load(fh)["results"][0]
        r["walls"] = h["times"]
        r["cpu"] = h["user"] + h["system"]
    else:
        walls = read(os.path.join(d, "walls"), "")
        r["walls"] = [float(x) for x in walls.split()] if walls else []
        t = read(os.path.join(d, "check.time"))
        u, s = gnu_time_field(t, "User time (seconds)"), gnu_time_field(t, "System time (seconds)")
        if u is not None and s is not None:
            r["cpu"] = u + s
        elif read(os.path.join(d, "check.cpu")):
            r["cpu"] = float(read(os.path.join(d, "check.cpu")))
    r["note"] = summary_line(tool, d)
    return r


def fmt_time(t):
    if t is None:
        return "-"
    if t < 1:
        return "%.0f ms" % (t * 1000)
    if t < 100:
        return "%.2f s" % t
    return "%.0f s" % t


def fmt_rss(kb):
    return "-" if kb is None else "%.0f MiB" % (kb / 1024.0)


def main():
    res = sys.argv[1]
    rows = [r for r in (load(res, t) for t in ORDER) if r]
    by_id = {r["id"]: r for r in rows}
    base = by_id.get("djcheck")
    base_wall = statistics.median(base["walls"]) if base and base["walls"] else None

    out = []
    env = read(os.path.join(res, "env"), "")
    out.append("djcheck benchmark, %s" % read(os.path.join(res, "date"), "?"))
    out += ["  " + l for l in env.splitlines()]
    out.append("  load before: %s" % (read(os.path.join(res, "load_before"), "?")))
    out.append("  load after:  %s" % (read(os.path.join(res, "load_after"), "?")))
    out.append("")

    head = ("tool", "runs", "median wall", "min-max", "CPU", "peak RSS", "wall/djcheck",
            "RSS/djcheck")
    table = [head]
    for r in rows:
        if "timeout" in r:
            table.append((r["label"], "0", "> %s" % fmt_time(r["timeout"]), "(timed out)",
                          "-", "-", "> %.0fx" % (r["timeout"] / base_wall) if base_wall else "-",
                          "-"))
            continue
        w = r["walls"]
        med = statistics.median(w) if w else None
        rng = "%s-%s" % (fmt_time(min(w)), fmt_time(max(w))) if len(w) > 1 else "-"
        ratio = "%.1fx" % (med / base_wall) if med and base_wall else "-"
        rss_ratio = ("%.2fx" % (r["rss_kb"] / base["rss_kb"])
                     if r["rss_kb"] and base and base.get("rss_kb") else "-")
        table.append((r["label"], str(len(w)), fmt_time(med), rng, fmt_time(r["cpu"]),
                      fmt_rss(r["rss_kb"]), ratio, rss_ratio))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        out.append("  ".join(c.ljust(widths[j]) if j == 0 else c.rjust(widths[j])
                             for j, c in enumerate(row)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    out.append("")
    out.append("CPU = user + system time (mean over the timed runs, or of the one checked run).")
    out.append("Peak RSS = largest 'Maximum resident set size' over the RSS runs.")
    out.append("")

    out.append("Targets")
    for label, num, den, what, target, higher in TARGETS:
        a = by_id.get(num)
        # Seconds: the median wall time itself.
        b = by_id.get(den) if den else {"walls": [1.0], "cpu": None}
        if not a or not b:
            out.append("  %-36s n/a (tool missing)" % label)
            continue
        if what == "wall":
            if "timeout" in a and b["walls"]:
                v, prefix = a["timeout"] / statistics.median(b["walls"]), ">"
            elif a["walls"] and b["walls"]:
                v, prefix = statistics.median(a["walls"]) / statistics.median(b["walls"]), ""
            else:
                out.append("  %-36s n/a" % label)
                continue
        else:
            if not a.get("rss_kb") or not b.get("rss_kb"):
                out.append("  %-36s n/a" % label)
                continue
            v, prefix = a["rss_kb"] / b["rss_kb"], ""
        ok = v >= target if higher else v <= target
        cpu = ""
        if what == "wall" and den and a.get("cpu") and b.get("cpu"):
            # Wall time on a busy machine includes waiting for a core; CPU time does not.
            cpu = "   (CPU time ratio: %.2f)" % (a["cpu"] / b["cpu"])
        out.append("  %-36s %s%8.2f   target %s %-5g  %-7s%s" % (
            label, prefix, v, ">=" if higher else "<=", target, "met" if ok else "NOT MET", cpu))
    out.append("")

    out.append("What each tool reported (first run; exit code)")
    for r in rows:
        note = r.get("note") or ("did not finish in %s" % fmt_time(r["timeout"])
                                 if "timeout" in r else "")
        extra = ""
        if r["id"] == "ruff":
            files = read(os.path.join(res, "ruff", "files"))
            if files:
                extra = " [%s files checked]" % files
        out.append("  %-44s exit %s: %s%s" % (r["label"], r["exit"], note, extra))
    out.append("")
    out.append("Commands")
    for r in rows:
        out.append("  %s" % r["cmd"])
    print("\n".join(out))


if __name__ == "__main__":
    main()
