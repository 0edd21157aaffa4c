"""Find the PDFs under the paths a user gives, and name each by its path in its folder.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> (d / "sub").mkdir()
>>> _ = (d / "sub" / "b.PDF").write_bytes(b"%PDF-"), (d / "a.txt").write_text("x")
>>> found, skipped = discover([d, d / "nope"])
>>> [f.source for f in found], [s.reason for s in skipped]
(['sub/b.PDF'], ['path not found'])
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.types import Skipped


@dataclass(frozen=True)
class SourceFile:
    path: Path  # absolute
    source: str  # path relative to `root`, with forward slashes: the name users see
    root: Path  # the folder given by the user (for a file argument: its folder)
    size: int
    mtime_ns: int


def _is_pdf_name(name: str) -> bool:
    return name.lower().endswith(".pdf")


def discover(paths: Sequence[Path]) -> tuple[list[SourceFile], list[Skipped]]:
    """PDF files under `paths` (folders are searched recursively), sorted, without duplicates."""
    found: dict[Path, SourceFile] = {}
    skipped: list[Skipped] = []
    for given in paths:
        path = Path(os.path.expanduser(str(given))).absolute()
        if path.is_dir():
            for dirpath, dirnames, filenames in os.walk(path):
                dirnames.sort()
                for name in sorted(filenames):
                    if _is_pdf_name(name):
                        _add(found, Path(dirpath) / name, path)
        elif path.is_file():
            _add(found, path, path.parent)
        else:
            skipped.append(Skipped(str(given), "path not found"))
    files = sorted(found.values(), key=lambda f: (str(f.root), f.source))
    return _unique_sources(files), skipped


def _add(found: dict[Path, SourceFile], path: Path, root: Path) -> None:
    real = path.resolve()
    if real in found:
        return
    st = path.stat()
    source = path.relative_to(root).as_posix()
    found[real] = SourceFile(path, source, root, st.st_size, st.st_mtime_ns)


def _unique_sources(files: list[SourceFile]) -> list[SourceFile]:
    """Two folders with an `a.pdf` each: prefix the folder name so both stay distinct."""
    counts: dict[str, int] = {}
    for f in files:
        counts[f.source] = counts.get(f.source, 0) + 1
    out = []
    for f in files:
        if counts[f.source] > 1:
            f = SourceFile(f.path, f"{f.root.name}/{f.source}", f.root, f.size, f.mtime_ns)
        out.append(f)
    return out
