#!/usr/bin/env python3
"""Checks that the code the guides show is the code the build compiles and tests.

In docs/*.md, a fenced code block preceded by

    <!-- snippet: docs/snippets/<file>.cpp#<name> -->

must equal the region of that file between the lines `// [<name>]` and `// [/<name>]`,
after removing the common indentation of each and trailing blank space. Marker lines of
other regions inside a region are not part of it. Every region of docs/snippets/ must be
shown by some guide, so a snippet cannot silently drop out of the docs.

With --readme MD SOURCE it checks instead that the first ```cpp block of MD equals the
`// [readme]` region of SOURCE (the README's program, built from examples/readme/).

Usage: check_snippets.py [--root REPO_ROOT]    (default: the parent of this script's folder)
       check_snippets.py --readme README.md examples/readme/main.cpp
Exits 0 if everything matches; otherwise prints each problem (with a diff) and exits 1.
"""

from __future__ import annotations

import argparse
import difflib
import re
import sys
from pathlib import Path

MARKER = re.compile(r"^\s*<!--\s*snippet:\s*(?P<file>[^#\s]+)#(?P<name>[\w.-]+)\s*-->\s*$")
REGION = re.compile(r"^\s*//\s*\[(?P<end>/?)(?P<name>[\w.-]+)\]\s*$")
FENCE = re.compile(r"^\s*(?P<fence>```+|~~~+)")


def normalize(lines: list[str]) -> list[str]:
    """Trailing spaces off, blank lines at both ends off, common indentation off."""
    lines = [line.rstrip() for line in lines]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    indents = [len(line) - len(line.lstrip(" ")) for line in lines if line]
    cut = min(indents, default=0)
    return [line[cut:] for line in lines]


def read_regions(path: Path, shown_as: str, errors: list[str]) -> dict[str, list[str]]:
    """All regions of one source file, by name."""
    regions: dict[str, list[str]] = {}
    open_regions: dict[str, tuple[int, list[str]]] = {}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        m = REGION.match(line)
        if m:
            name = m["name"]
            if not m["end"]:
                if name in open_regions or name in regions:
                    errors.append(f"{shown_as}:{number}: region [{name}] is defined twice")
                open_regions[name] = (number, [])
            elif name not in open_regions:
                errors.append(f"{shown_as}:{number}: [/{name}] closes a region that is not open")
            else:
                regions[name] = normalize(open_regions.pop(name)[1])
            continue
        for _, body in open_regions.values():
            body.append(line)
    for name, (number, _) in open_regions.items():
        errors.append(f"{shown_as}:{number}: region [{name}] is never closed")
    return regions


def read_blocks(doc: Path, shown_as: str, errors: list[str]) -> list[tuple[int, str, str, list[str]]]:
    """(line, file, region, code) for every marked code block of one guide."""
    blocks = []
    lines = doc.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        m = MARKER.match(lines[i])
        if not m:
            i += 1
            continue
        where = i + 1
        i += 1
        while i < len(lines) and not lines[i].strip():
            i += 1
        fence = FENCE.match(lines[i]) if i < len(lines) else None
        if not fence:
            errors.append(f"{shown_as}:{where}: snippet marker is not followed by a code block")
            continue
        closing = fence["fence"]
        i += 1
        code = []
        while i < len(lines) and lines[i].strip() != closing:
            code.append(lines[i])
            i += 1
        if i == len(lines):
            errors.append(f"{shown_as}:{where}: the code block after the snippet marker is never closed")
        i += 1
        blocks.append((where, m["file"], m["name"], normalize(code)))
    return blocks


def first_cpp_block(doc: Path) -> list[str] | None:
    lines = doc.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if line.strip() in ("```cpp", "```c++"):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
            return normalize(lines[i + 1:end]) if end is not None else None
    return None


def check_readme(doc: Path, source: Path) -> list[str]:
    errors: list[str] = []
    code = first_cpp_block(doc)
    regions = read_regions(source, str(source), errors)
    if code is None:
        errors.append(f"{doc}: no complete ```cpp block")
    elif "readme" not in regions:
        errors.append(f"{source}: no region [readme]")
    elif code != regions["readme"]:
        diff = difflib.unified_diff(regions["readme"], code, f"{source}#readme", str(doc),
                                    lineterm="")
        errors.append(f"{doc}: the ```cpp block differs from {source}#readme:\n" + "\n".join(diff))
    return errors


def report(errors: list[str], success: str) -> int:
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"check_snippets: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    print(f"check_snippets: {success}")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--readme", nargs=2, type=Path, metavar=("MD", "SOURCE"))
    args = parser.parse_args()
    if args.readme:
        doc, source = args.readme
        return report(check_readme(doc, source), f"{doc.name} shows {source.name} exactly")
    root = args.root.resolve()

    errors: list[str] = []
    regions: dict[Path, dict[str, list[str]]] = {}
    for source in sorted((root / "docs" / "snippets").glob("*")):
        if source.is_file():
            regions[source] = read_regions(source, str(source.relative_to(root)), errors)

    shown: set[tuple[Path, str]] = set()
    count = 0
    for doc in sorted((root / "docs").glob("*.md")):
        for line, file, name, code in read_blocks(doc, str(doc.relative_to(root)), errors):
            count += 1
            source = (root / file).resolve()
            where = f"{doc.relative_to(root)}:{line}"
            if source not in regions:
                errors.append(f"{where}: {file} is not a file in docs/snippets/")
                continue
            if name not in regions[source]:
                errors.append(f"{where}: {file} has no region [{name}]")
                continue
            shown.add((source, name))
            if code != regions[source][name]:
                diff = difflib.unified_diff(regions[source][name], code, f"{file}#{name}", where,
                                            lineterm="")
                errors.append(f"{where}: the code block differs from {file}#{name}:\n" +
                              "\n".join(diff))

    for source, names in regions.items():
        for name in sorted(names):
            if (source, name) not in shown:
                errors.append(f"{source.relative_to(root)}: region [{name}] is shown by no guide")

    return report(errors, f"{count} snippets match their sources")


if __name__ == "__main__":
    sys.exit(main())
