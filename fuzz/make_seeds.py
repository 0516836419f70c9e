#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets from the fixtures (fuzz/seeds/TARGET/).

python:   every Python file of fixtures/, as it is.
sql:      every string given to a RunSQL in fixtures/, a dialect byte first.
pipeline: for every fixture project, a format byte, then its migrations, settings and
          URLconf joined by 0xFF bytes (the split fuzzing::pipeline makes).
Run from anywhere: python3 fuzz/make_seeds.py
"""
import ast
import hashlib
import pathlib

HERE = pathlib.Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures"
MAX = 64 * 1024


def write(target, data):
    if len(data) > MAX:
        return
    d = HERE / "seeds" / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def runsql_strings(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            f = node.func
            name = f.attr if isinstance(f, ast.Attribute) else getattr(f, "id", "")
            if name != "RunSQL":
                continue
            for a in list(node.args) + [k.value for k in node.keywords]:
                for c in ast.walk(a):
                    if isinstance(c, ast.Constant) and isinstance(c.value, str):
                        yield c.value


def main():
    for p in sorted(FIXTURES.rglob("*.py")):
        data = p.read_bytes()
        write("python", data)
        try:
            tree = ast.parse(data)
        except (SyntaxError, ValueError):
            continue
        for i, s in enumerate(runsql_strings(tree)):
            write("sql", bytes([i % 3]) + s.encode())
    for i, project in enumerate(sorted({p.parent for p in FIXTURES.rglob("expected.txt")})):
        py = sorted(project.rglob("*.py"))
        migrations = [p for p in py if "/migrations/" in str(p) and not p.name.startswith("__")]
        settings = [p for p in py if p.name == "settings.py"]
        urls = [p for p in py if p.name == "urls.py"]
        parts = [
            migrations[0].read_bytes() if migrations else b"",
            settings[0].read_bytes() if settings else b"",
            urls[0].read_bytes() if urls else b"",
            migrations[1].read_bytes() if len(migrations) > 1 else b"",
        ]
        write("pipeline", bytes([i % 5]) + b"\xff".join(parts))


if __name__ == "__main__":
    main()
