#!/usr/bin/env python3
"""Fails when a file of src/ includes a folder above its own in the layer order.

The order is written once, in src/README.md between the `layers` markers; every folder of
src/ must be in it. An include names its folder as its first path segment
(#include "call/call_access.hpp"); "pit/..." is the public API, allowed everywhere.
"""
import pathlib
import re
import sys


def self_test():
    """The check must be able to fail: a tree with an upward include is refused."""
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        t = pathlib.Path(tmp) / "src"
        (t / "low").mkdir(parents=True)
        (t / "high").mkdir()
        (t / "README.md").write_text("<!-- layers: bottom first -->\n1. `low` — x\n2. `high` — y\n<!-- /layers -->\n")
        (t / "high" / "a.hpp").write_text("#pragma once\n")
        (t / "low" / "b.cpp").write_text('#include "high/a.hpp"\n')
        bad = subprocess.run([sys.executable, __file__, tmp], capture_output=True, text=True)
        (t / "low" / "b.cpp").write_text('#include "low/c.hpp"\n#include "pit/host.hpp"\n')
        good = subprocess.run([sys.executable, __file__, tmp], capture_output=True, text=True)
    if bad.returncode == 0 or "high/ is above low/" not in bad.stdout or good.returncode != 0:
        sys.exit(f"self-test failed:\nbad: {bad.returncode} {bad.stdout}\ngood: {good.returncode} {good.stdout}")


if len(sys.argv) > 1 and sys.argv[1] == "--self-test":
    self_test()
    sys.argv = sys.argv[:1]
root = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
src = root / "src"
text = (src / "README.md").read_text()
block = re.search(r"<!-- layers: bottom first -->(.*?)<!-- /layers -->", text, re.S)
if not block:
    sys.exit("src/README.md: no <!-- layers --> block")
order = re.findall(r"^\d+\. `([a-z_]+)`", block.group(1), re.M)
rank = {name: i for i, name in enumerate(order)}

problems = []
for folder in sorted(p.name for p in src.iterdir() if p.is_dir()):
    if folder not in rank:
        problems.append(f"src/{folder}/ is not in the layer list of src/README.md: place it there")

include = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
files = 0
for path in sorted(src.rglob("*")):
    if path.suffix not in (".hpp", ".cpp", ".h", ".ipp"):
        continue
    files += 1
    rel = path.relative_to(src)
    own = rel.parts[0] if len(rel.parts) > 1 else None
    for target in include.findall(path.read_text()):
        first = target.split("/")[0]
        if first == "pit" or "/" not in target:
            continue
        if first not in rank:
            problems.append(f"src/{rel}: includes \"{target}\", a folder outside the layer list")
        elif own is None:
            problems.append(f"src/{rel}: a file outside every layer includes \"{target}\"")
        elif own in rank and rank[first] > rank[own]:
            problems.append(f"src/{rel}: includes \"{target}\" — {first}/ is above {own}/ "
                            f"(layers, bottom first: {' < '.join(order)})")

if problems:
    print("\n".join(problems))
    sys.exit(1)
print(f"layers point down: {files} files, {len(order)} layers")
