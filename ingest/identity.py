"""Which document a found file is, and the name (`source`) users see for it.

A document is its file's real path (symbolic links resolved), recorded in the
manifest (`DocumentRecord.real_path`, format version 2). Its `source`, the key
of the index and the name in citations, is chosen once, when it is first
ingested, and kept: the path relative to the folder it was found in when that
name is free, else with as many of that folder's own names in front as make it
unique. So `contracts/doc.pdf` ingested first is `doc.pdf`, and
`manuals/doc.pdf` ingested later is `manuals/doc.pdf`, a second document.
Two new files of one run with the same relative name both get their folder's
name, as neither came first.

>>> from pathlib import Path
>>> from ingest.discover import SourceFile
>>> a = SourceFile(Path("/c/doc.pdf"), "doc.pdf", Path("/c"), 1, 1, "/c/doc.pdf")
>>> b = SourceFile(Path("/m/doc.pdf"), "doc.pdf", Path("/m"), 1, 1, "/m/doc.pdf")
>>> [f.source for f in assign_sources([a], {})]
['doc.pdf']
>>> [f.source for f in assign_sources([b], {"doc.pdf": "/c/doc.pdf"})]
['m/doc.pdf']
>>> [f.source for f in assign_sources([a, b], {})]
['c/doc.pdf', 'm/doc.pdf']
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import PurePosixPath

from core.text import printable
from ingest.discover import SourceFile


def assign_sources(
    files: Sequence[SourceFile],
    identities: Mapping[str, str],
    moved: Callable[[str, SourceFile], bool] = lambda key, f: False,
) -> list[SourceFile]:
    """`files` with their index keys; `identities`: key -> real path of the indexed documents.

    A file already indexed keeps its key; a new one gets the first free name, or
    the natural name of a document that `moved` says it is (its file gone, the
    same size: a folder moved elsewhere; the plan confirms it by content hash).
    """
    taken = dict(identities)
    by_identity = {real: key for key, real in identities.items()}
    keys: dict[int, str] = {}
    for i, f in enumerate(files):
        if f.real_path in by_identity:
            keys[i] = by_identity[f.real_path]
    natural = Counter(f.source for i, f in enumerate(files) if i not in keys)
    for i, f in enumerate(files):
        if i in keys:
            continue
        # A relative name that two new files share is ambiguous for both.
        crowded = natural[f.source] > 1
        if not crowded and f.source in identities and moved(f.source, f):
            keys[i] = f.source
        else:
            keys[i] = fresh_source(f, taken, crowded)
        taken[keys[i]] = f.real_path
    return [replace(f, source=keys[i]) for i, f in enumerate(files)]


def fresh_source(f: SourceFile, taken: Mapping[str, str], crowded: bool = False) -> str:
    """The first name for `f` that no other document has."""
    return next(c for c in _candidates(f, crowded) if c not in taken)


def _candidates(f: SourceFile, crowded: bool) -> Iterator[str]:
    """Natural names first, then with the folder's names in front, then numbered."""
    if not crowded:
        yield f.source
    folders = [printable(part) for part in f.root.parts[1:]]
    for n in range(1, len(folders) + 1):
        yield "/".join([*folders[-n:], f.source])
    path = PurePosixPath(f.source)
    for n in itertools.count(2):
        yield str(path.with_name(f"{path.stem} ({n}){path.suffix}"))
