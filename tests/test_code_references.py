"""Code that points a reader at the docs points somewhere that exists.

A comment or message naming a docs page (`docs/<page>.md`, or with `#<anchor>`) must name a file
and heading that exist; product code never sends a reader to the README, which is
only the front door (details live in docs/).
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.test_docs import anchors_of

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ["core", "embed", "index", "ingest", "retrieval", "llm", "wiring", "service", "app"]
PRODUCT += ["api", "deploy"]
DOC_REF = re.compile(r"docs/([\w./-]+?\.md)(?:#([\w-]+))?")


def python_files(folders: list[str]) -> list[Path]:
    return [p for f in folders for p in sorted((ROOT / f).rglob("*.py"))]


def test_every_docs_reference_in_code_names_a_file_and_heading_that_exist():
    broken = []
    for path in python_files([*PRODUCT, "bench", "evals", "tests"]):
        for name, fragment in DOC_REF.findall(path.read_text(encoding="utf-8")):
            doc = ROOT / "docs" / name
            if not doc.exists() or (fragment and fragment not in anchors_of(doc)):
                broken.append(f"{path.relative_to(ROOT)}: docs/{name}#{fragment}")
    assert not broken, "references to docs that do not exist:\n" + "\n".join(broken)


def test_product_code_never_sends_a_reader_to_the_readme():
    found = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in python_files(PRODUCT)
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if "README" in line
    ]
    assert not found, "point at docs/ instead:\n" + "\n".join(found)
