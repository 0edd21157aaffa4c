"""Every package docstring is its map: each module named once, and no name that is not there.

A package's `__init__.py` docstring names each of its modules (`__main__` included) and
sub-packages, in the order data flows through them, one line each. What this test reads:

- *named*: the exact backticked token `` `name` `` for a module `name.py`, or `` `name/` ``
  for a sub-package `name/__init__.py`, anywhere in the docstring. Each must appear exactly
  once; `pkg.name`, `name.py`, `name()` and `` `name` `` written twice do not count as once.
- *module-like*, so it must exist in that package (else it is stale):
  a map entry, i.e. a line that starts (after indentation and an optional "- " bullet)
  with a backticked lowercase identifier (`` `chunk`: ... ``); any backticked `` `name/` ``
  (a lowercase identifier and a slash), which may also be a folder at the repository's top
  (`` `bench/` ``); any backticked file name `` `name.py` ``.

The packages are every folder holding an `__init__.py` under the product's rooms (the
table of tests/test_import_rules.py) and the harnesses, `evals/` and `bench/`.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from tests.test_import_rules import ALLOWED

ROOT = Path(__file__).resolve().parents[1]
ROOMS = (*sorted(ALLOWED), "evals", "bench")

NAMED = re.compile(r"`([A-Za-z_]\w*/?)`")
ENTRY = re.compile(r"^\s*(?:- )?`([a-z_][a-z0-9_]*)`")
SUBPACKAGE = re.compile(r"`([a-z_][a-z0-9_]*)/`")
FILE_NAME = re.compile(r"`([a-z_][a-z0-9_]*)\.py`")


def packages(root: Path, rooms: tuple[str, ...] = ROOMS) -> list[Path]:
    """Every package folder under the rooms (the rooms themselves included)."""
    found = {
        init.parent
        for room in rooms
        for init in (root / room).rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    return sorted(found)


def members(package: Path) -> set[str]:
    """What the map must name: `module` for each module, `sub/` for each sub-package."""
    modules = {p.stem for p in package.glob("*.py") if p.name != "__init__.py"}
    subs = {f"{d.name}/" for d in package.iterdir() if (d / "__init__.py").is_file()}
    return modules | subs


def package_doc(package: Path) -> str:
    init = package / "__init__.py"
    return ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"), str(init))) or ""


def map_problems(package: Path, root: Path) -> list[str]:
    """What is wrong with one package's map, one line each, naming the package and the module."""
    rel = package.relative_to(root).as_posix()
    doc = package_doc(package)
    expected = members(package)
    counts = Counter(NAMED.findall(doc))
    problems = []
    for name in sorted(expected):
        path = f"{rel}/{name}__init__.py" if name.endswith("/") else f"{rel}/{name}.py"
        if counts[name] == 0:
            problems.append(f"{rel}: missing `{name}` ({path}): add its line to the map")
        elif counts[name] > 1:
            problems.append(f"{rel}: `{name}` is named {counts[name]} times; name it once")
    claimed = [m.group(1) for line in doc.splitlines() if (m := ENTRY.match(line))]
    claimed += [f"{name}/" for name in SUBPACKAGE.findall(doc)]
    claimed += FILE_NAME.findall(doc)
    for name in dict.fromkeys(claimed):
        top_folder = name.endswith("/") and (root / name).is_dir()
        if name not in expected and not top_folder:
            hint = f"; write `{name}/`" if f"{name}/" in expected else ""
            problems.append(f"{rel}: stale `{name}`: no such module or sub-package here{hint}")
    return problems


def test_every_package_map_names_each_module_once_and_nothing_else():
    found = packages(ROOT)
    rels = {p.relative_to(ROOT).as_posix() for p in found}
    # The test must look at the packages it is about, not at nothing.
    assert {"core", "ingest", "ingest/ocr", "app/views", "evals/answers", "bench"} <= rels
    problems = [line for package in found for line in map_problems(package, ROOT)]
    assert problems == [], "package maps (the __init__.py docstrings) out of date:\n" + "\n".join(
        problems
    )


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return tmp_path / "pkg"


def test_the_checker_sees_missing_doubled_and_stale_names(tmp_path):
    doc = (
        '"""A package.\n\n'
        "- `alpha`: the first step; `alpha` again here.\n"
        "- `gone`: a module that was removed.\n"
        "- `sub`: the sub-package, without its slash.\n"
        "Read `old.py` and `older/` too, beside `top/`.\n"
        '"""\n'
    )
    package = _package(
        tmp_path,
        {
            "pkg/__init__.py": doc,
            "pkg/alpha.py": "",
            "pkg/beta.py": "",
            "pkg/__main__.py": "",
            "pkg/sub/__init__.py": '"""`inner`: fine."""\n',
            "pkg/sub/inner.py": "",
            "pkg/notes.txt": "",
            "top/readme.txt": "",
        },
    )
    assert map_problems(package, tmp_path) == [
        "pkg: missing `__main__` (pkg/__main__.py): add its line to the map",
        "pkg: `alpha` is named 2 times; name it once",
        "pkg: missing `beta` (pkg/beta.py): add its line to the map",
        "pkg: missing `sub/` (pkg/sub/__init__.py): add its line to the map",
        "pkg: stale `gone`: no such module or sub-package here",
        "pkg: stale `sub`: no such module or sub-package here; write `sub/`",
        "pkg: stale `older/`: no such module or sub-package here",
        "pkg: stale `old`: no such module or sub-package here",
    ]
    assert map_problems(package / "sub", tmp_path) == []
    assert packages(tmp_path, ("pkg",)) == [package, package / "sub"]


def test_a_complete_map_passes(tmp_path):
    doc = (
        '"""A package: files in, pages out.\n\n'
        "    `__main__`   `python -m pkg`\n"
        "    `alpha`      reads; see `pkg.alpha.read` and `Alpha`\n"
        "    `sub/`       the sub-package\n"
        '"""\n'
    )
    package = _package(
        tmp_path,
        {
            "pkg/__init__.py": doc,
            "pkg/alpha.py": "",
            "pkg/__main__.py": "",
            "pkg/sub/__init__.py": "",
        },
    )
    assert map_problems(package, tmp_path) == []
