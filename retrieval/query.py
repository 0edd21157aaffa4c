"""Turning a user's file filters into the indexed sources they select.

(A question's keyword-search terms come from `core.text.search_terms`, and the
FTS5 expression they become from `index.keyword.match_expression`.)
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Sequence


def source_matches(source: str, pattern: str) -> bool:
    """Does a file filter select this indexed source (a path relative to its folder)?

    A pattern is the path itself, or a glob on the whole path; one without `/`
    also matches the file name alone; one ending in `/` selects a folder and
    everything under it. (The exact path always works, even with `[` in it.)

    >>> source_matches("manuals/octave/refcard.pdf", "*.pdf")
    True
    >>> source_matches("manuals/octave/refcard.pdf", "refcard.pdf")
    True
    >>> source_matches("manuals/octave/refcard.pdf", "manuals/")
    True
    >>> source_matches("manuals/octave/refcard.pdf", "octave/*")
    False
    >>> source_matches("scans/report[2023].pdf", "scans/report[2023].pdf")
    True
    """
    if source == pattern:
        return True
    if pattern.endswith("/"):
        return source.startswith(pattern)
    if fnmatch.fnmatchcase(source, pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(source.rsplit("/", 1)[-1], pattern)


def select_sources(sources: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The sources that at least one pattern selects, sorted.

    >>> select_sources(["a/x.pdf", "b/y.pdf", "z.pdf"], ["a/", "z*"])
    ['a/x.pdf', 'z.pdf']
    """
    return sorted(s for s in sources if any(source_matches(s, p) for p in patterns))
