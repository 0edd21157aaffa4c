"""The floor plan, enforced: data flows one way, and no module imports against it.

    files -> ingest -> index <- retrieval <- llm <- app
                  \\-> embed <-/            wiring/ builds them all

Every import in the product packages is read from the source (the AST, so
imports inside functions and under TYPE_CHECKING count too) and checked
against the layers below; then the module graph must have no cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# What each product package may import (besides itself and the standard library).
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "embed": {"core"},
    "index": {"core"},
    "ingest": {"core", "embed", "index"},
    "retrieval": {"core", "embed", "index"},
    "llm": {"core"},
    "wiring": {"core", "embed", "index", "ingest", "retrieval", "llm"},
    # What the app and the API share: one model and index per process, ingest, uploads.
    # They get every part through it (`service.components`), never from wiring or ingest.
    "service": {"core", "embed", "index", "ingest", "llm", "wiring"},
    "app": {"core", "embed", "index", "llm", "service"},
    "api": {"core", "embed", "index", "llm", "service"},
    # Starting a private PostgreSQL for the tests and `make serve-stack`.
    "deploy": {"core"},
}
# Command lines are edges: they may also ask the composition root for their parts.
EDGE_FILES = {"cli.py", "__main__.py"}
# The Streamlit page (its entry and every view in app/views/) talks to `AppService` and
# the app's own helpers, nothing below.
PAGE_FILES = {"app/main.py"}
PAGE_FOLDER = "app/views/"
PAGE_ALLOWED = {"core"}
# Known, to be removed: each entry must still be true (so the list only shrinks).
PENDING: set[str] = set()


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path, known: set[str]) -> set[str]:
    """The project modules a file imports (`from pkg import sub` counts as `pkg.sub`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m.split(".")[0] in ALLOWED}


def violations(root: Path, packages: Iterable[str] = ALLOWED) -> list[str]:
    files = [p for pkg in packages for p in sorted((root / pkg).rglob("*.py"))]
    known = {module_name(p, root) for p in files}
    problems: list[str] = []
    graph: dict[str, set[str]] = {}
    for path in files:
        rel = path.relative_to(root).as_posix()
        here = module_name(path, root)
        layer = here.split(".")[0]
        allowed = {layer} | ALLOWED[layer]
        if path.name in EDGE_FILES:
            allowed |= {"wiring"}
        if rel in PAGE_FILES or rel.startswith(PAGE_FOLDER):
            allowed = {layer} | PAGE_ALLOWED
        imports = imported_modules(path, root, known)
        graph[here] = {m for m in imports if m in known and m != here}
        for target in sorted(imports):
            if target.split(".")[0] not in allowed:
                problems.append(f"{rel} imports {target}")
    problems += [f"import cycle: {' -> '.join(c)}" for c in cycles(graph)]
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected group of modules (Tarjan), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append([*sorted(group), sorted(group)[0]])

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_product_follows_the_floor_plan():
    found = violations(ROOT)
    assert [f for f in found if f not in PENDING] == []
    assert sorted(PENDING - set(found)) == [], "fixed: remove these from PENDING"


def test_the_checker_sees_upward_sideways_and_circular_imports(tmp_path):
    files = {
        "core/__init__.py": "",
        "retrieval/__init__.py": "",
        "retrieval/search.py": "def f():\n    from ingest.pipeline import run_ingest\n",
        "ingest/__init__.py": "",
        "ingest/pipeline.py": "run_ingest = 1\n",
        "llm/__init__.py": "",
        "llm/chat.py": "from retrieval import search\nfrom . import answer\n",
        "llm/answer.py": "from llm.chat import x\n",
        "llm/cli.py": "from wiring import root\n",
        "app/__init__.py": "",
        "app/views/sidebar.py": "from index.manifest import Manifest\n",
        "app/main.py": "from wiring import root\n",
        "app/service.py": "from index.manifest import Manifest\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    found = violations(tmp_path, ["core", "retrieval", "ingest", "llm", "app"])
    assert "retrieval/search.py imports ingest.pipeline" in found
    assert "llm/chat.py imports retrieval.search" in found
    assert "app/views/sidebar.py imports index.manifest" in found
    assert "app/main.py imports wiring" in found
    assert "import cycle: llm.answer -> llm.chat -> llm.answer" in found
    assert not any(f.startswith(("llm/cli.py", "app/service.py")) for f in found)
