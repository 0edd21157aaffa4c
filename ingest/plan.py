"""What an ingest has to do: which found files are new, changed, unchanged, gone or unreadable.

Files are matched to indexed documents by identity (`ingest.identity`), then by
content hash; size and mtime spare re-hashing a file that did not change.
Hashing runs under the index lock, so it goes through `hash_source`, which
never blocks on a pipe or device and stops at the per-file time limit.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

from core.errors import PdfError
from core.types import Skipped
from index import DocumentRecord, IndexWriting
from ingest.discover import SourceFile
from ingest.file_checks import hash_source
from ingest.identity import assign_sources, fresh_source


@dataclass(frozen=True)
class FileToIndex:
    """A found file that is new or changed, with its content hash."""

    file: SourceFile
    sha256: str
    status: Literal["added", "updated"]


@dataclass
class Plan:
    files: list[SourceFile] = field(default_factory=list)  # found, with their index keys
    todo: list[FileToIndex] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)  # could not be hashed
    warnings: list[Skipped] = field(default_factory=list)  # copies of another document
    # Documents whose stored vectors a file to do may reuse: its old version, and any
    # document with the same content (a file moved, renamed or copied).
    reuse: dict[str, list[str]] = field(default_factory=dict)


def make_plan(
    found: Sequence[SourceFile],
    paths: Sequence[Path],
    writer: IndexWriting,
    timeout_s: float,
    everything: bool = False,
) -> Plan:
    """`everything`: documents not found under `paths` go, wherever they were (a rebuild)."""
    docs = writer.manifest.documents
    identities = {k: d.real_path for k, d in docs.items()}
    plan = Plan(files=assign_sources(found, identities, lambda key, f: _moved(docs[key], f)))
    plan.removed = _vanished(plan, paths, docs, everything)
    moved_away = set(plan.removed)
    by_sha: dict[str, list[str]] = {}  # one pass, not a scan of every document per new file
    for source, doc in docs.items():
        by_sha.setdefault(doc.sha256, []).append(source)
    for i, f in enumerate(plan.files):
        old = docs.get(f.source)
        if old and old.size == f.size and old.mtime_ns == f.mtime_ns and old.path == str(f.path):
            plan.unchanged.append(f.source)
            continue
        try:
            digest = hash_source(f.path, timeout_s)
        except PdfError as exc:
            plan.skipped.append(Skipped(f.source, exc.reason))
            continue
        # The stat of the bytes hashed, which may be newer than discovery's.
        f = plan.files[i] = replace(f, size=digest.size, mtime_ns=digest.mtime_ns)
        sha = digest.sha256
        if old and old.real_path != f.real_path and old.sha256 != sha:
            # Taken as moved (same name and size, its file gone), but other content:
            # another document, maybe on an unmounted disk. It gets a name of its own.
            taken = identities | {g.source: g.real_path for g in plan.files}
            f = plan.files[i] = replace(f, source=fresh_source(f, taken))
            old = None
        if old and old.sha256 == sha:
            plan.unchanged.append(f.source)
            writer.touch(_record_with_stat(old, f))
            continue
        plan.todo.append(FileToIndex(f, sha, "updated" if old else "added"))
        same = [s for s in by_sha.get(sha, []) if s != f.source]
        plan.reuse[f.source] = ([f.source] if old else []) + same
        copies = [s for s in same if s not in moved_away]  # a moved file is no copy
        if copies:
            reason = f"same content as {copies[0]} (a copy); both are kept"
            plan.warnings.append(Skipped(f.source, reason))
        by_sha.setdefault(sha, []).append(f.source)  # a copy within this run is one too
    return plan


def _vanished(
    plan: Plan, paths: Sequence[Path], docs: dict[str, DocumentRecord], everything: bool
) -> list[str]:
    """Documents that lay under a folder given now and were not found there.

    Documents from other folders stay: that folder may just be unmounted.
    """
    seen = {f.source for f in plan.files}
    if everything:
        return [source for source in docs if source not in seen]
    folders = [Path(p).expanduser().absolute() for p in paths if Path(p).expanduser().is_dir()]
    return [
        source
        for source, doc in docs.items()
        if source not in seen and any(Path(doc.path).is_relative_to(d) for d in folders)
    ]


def _moved(doc: DocumentRecord, f: SourceFile) -> bool:
    """Whether `f` may be `doc` moved: doc's file is gone and the sizes agree."""
    return doc.size == f.size and not os.path.lexists(doc.path)


def _record_with_stat(old: DocumentRecord, f: SourceFile) -> DocumentRecord:
    changes = {"size": f.size, "mtime_ns": f.mtime_ns, "path": str(f.path)}
    return DocumentRecord(**{**asdict(old), **changes, "real_path": f.real_path})
