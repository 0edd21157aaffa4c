"""Checksums for a model cache folder: written when it is built, verified when it is read.

The OpenVINO cache holds raw float weights; a damaged or tampered `model.bin`
still loads and runs, and gives vectors that look like vectors. So each cache
folder records the SHA-256 of its files when it is built; a folder whose files
no longer match (or that has no record) is not used.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "model.bin").write_bytes(b"weights")
>>> write_checksums(d, ["model.bin"], "graph.sha256.json")
>>> intact(d, "graph.sha256.json")
True
>>> _ = (d / "model.bin").write_bytes(b"garbage")
>>> intact(d, "graph.sha256.json")
False
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from core.files import sha256_file


def _read(folder: Path, record: str) -> dict[str, str]:
    try:
        sums = json.loads((folder / record).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return sums if isinstance(sums, dict) else {}


def write_checksums(folder: Path, names: Iterable[str], record: str) -> None:
    """Record the SHA-256 of `names` (paths relative to `folder`) in `folder / record`.

    Names already recorded keep their recorded sum: only new files are added.
    """
    sums = _read(folder, record)
    sums.update({name: sha256_file(folder / name) for name in names if name not in sums})
    text = json.dumps(dict(sorted(sums.items())), indent=1) + "\n"
    (folder / record).write_text(text, encoding="utf-8")


def intact(folder: Path, record: str, present: Iterable[str] | None = None) -> bool:
    """Whether every file named in `folder / record` is there with its recorded checksum.

    `present`: the files that are there; any of them not recorded makes it not intact.
    """
    sums = _read(folder, record)
    if not sums or (present is not None and set(present) - set(sums)):
        return False
    try:
        return all(sha256_file(folder / name) == value for name, value in sums.items())
    except OSError:
        return False


def files_under(folder: Path, below: str) -> list[str]:
    """Paths (relative to `folder`) of the files in `folder / below`, recursively."""
    return [p.relative_to(folder).as_posix() for p in (folder / below).rglob("*") if p.is_file()]
