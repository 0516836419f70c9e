#!/usr/bin/env python3
"""Downloads the sdists named in projects.txt from PyPI and unpacks them.

    tests/sweep/fetch.py [DEST]      (default: ../corpus beside the repository)

Each sdist is unpacked to DEST/src/<name>-<version>/. The versions taken are written to
DEST/corpus.lock, so a sweep can be repeated on the same code. Only PyPI is contacted.
"""
import json
import pathlib
import shutil
import sys
import tarfile
import urllib.parse
import urllib.request
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
DEST = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2] / "corpus"


def wanted():
    seen = set()
    for line in (HERE / "projects.txt").read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, version = line.partition("==")
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        yield name, version or None


def sdist_url(name, version):
    url = f"https://pypi.org/pypi/{name}/json"
    with urllib.request.urlopen(url, timeout=60) as r:
        data = json.load(r)
    version = version or data["info"]["version"]
    files = data["releases"].get(version, [])
    for f in files:
        if f["packagetype"] == "sdist":
            return version, urllib.parse.urljoin(url, f["url"]), f["filename"]
    # Some projects ship only wheels: a wheel holds the same migrations and modules.
    for f in files:
        if f["filename"].endswith(".whl"):
            return version, urllib.parse.urljoin(url, f["url"]), f["filename"]
    return version, None, None


def unpack(archive, out):
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    if archive.name.endswith((".whl", ".zip")):
        with zipfile.ZipFile(archive) as z:
            z.extractall(tmp)
    else:
        with tarfile.open(archive) as t:
            t.extractall(tmp, filter="data")
    # An sdist has one top folder; a wheel has none.
    entries = list(tmp.iterdir())
    src = entries[0] if len(entries) == 1 and entries[0].is_dir() else tmp
    shutil.move(str(src), str(out))
    shutil.rmtree(tmp, ignore_errors=True)


def main():
    (DEST / "dl").mkdir(parents=True, exist_ok=True)
    (DEST / "src").mkdir(parents=True, exist_ok=True)
    lock = []
    for name, version in wanted():
        try:
            version, url, filename = sdist_url(name, version)
        except Exception as e:  # noqa: BLE001 - a missing project is reported, not fatal
            print(f"skip {name}: {e}", file=sys.stderr)
            continue
        if url is None:
            print(f"skip {name}: no sdist or wheel for {version}", file=sys.stderr)
            continue
        out = DEST / "src" / f"{name}-{version}"
        lock.append(f"{name}=={version}")
        if out.exists():
            continue
        archive = DEST / "dl" / filename
        if not archive.exists():
            print(f"fetch {filename}", file=sys.stderr)
            with urllib.request.urlopen(url, timeout=300) as r, open(archive, "wb") as f:
                shutil.copyfileobj(r, f)
        try:
            unpack(archive, out)
        except Exception as e:  # noqa: BLE001
            print(f"skip {name}: cannot unpack {filename}: {e}", file=sys.stderr)
    (DEST / "corpus.lock").write_text("\n".join(lock) + "\n")
    print(f"{len(lock)} projects in {DEST / 'src'}", file=sys.stderr)


if __name__ == "__main__":
    main()
