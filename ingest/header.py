"""The short header embedded (and keyword-indexed) with each chunk: "title › section path".

A chunk of an option table says nothing of which program, chapter or section
it belongs to, so near-identical tables of other manuals compete with it. The
header tells them apart. It must not push header plus chunk past what the
embedding model reads (all-MiniLM-L6-v2: 256 word pieces, 254 without [CLS]
and [SEP]; the rest would be silently ignored), so it gets at most
`HEADER_TOKENS` and never more than the chunk leaves free. When the whole path
does not fit, the middle of it goes first: the title (which manual) and the
innermost section (which table) say the most.

Header and chunk are joined by a line break; for WordPiece a whitespace-joined
text has exactly the sum of its parts' tokens, so counting the header alone is
exact (`tests/ingest/test_structure.py` checks it with the real tokenizer).

>>> class Words:  # one token per word
...     def count_tokens(self, texts): return [len(t.split()) for t in texts]
...     def split_to_tokens(self, text, max_tokens): return [" ".join(text.split()[:max_tokens])]
>>> h = Headers(Words(), limit=20, cap=8)
>>> h.heading("SBCL Manual", ("3 Starting and Stopping", "3.3 Runtime Options"), n_tokens=5)
'SBCL Manual › 3.3 Runtime Options'
>>> h.heading("SBCL Manual", ("3 Starting", "3.3 Options"), n_tokens=19)
''
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

HEADER_TOKENS = 32
SEPARATOR = " › "
# A header squeezed below this says too little to be worth the tokens.
_MIN_TOKENS = 3
_CACHE_MAX = 4096


class _Counter(Protocol):
    def count_tokens(self, texts: Sequence[str]) -> list[int]: ...

    def split_to_tokens(self, text: str, max_tokens: int) -> list[str]: ...


def header_candidates(title: str, section: Sequence[str]) -> list[str]:
    """Headers for a chunk, most informative first.

    >>> for header in header_candidates("gs", ("1 Use", "1.2 Options", "-d flags")):
    ...     print(header)
    gs › 1 Use › 1.2 Options › -d flags
    gs › 1 Use › -d flags
    gs › -d flags
    -d flags
    gs
    """
    parts = [p for p in (title, *section) if p]
    if not parts:
        return []
    found = [SEPARATOR.join(parts)]
    if title and len(section) > 2:
        found.append(SEPARATOR.join((title, section[0], section[-1])))
    if title and len(section) > 1:
        found.append(SEPARATOR.join((title, section[-1])))
    if section:
        found.append(section[-1])
    if title:
        found.append(title)
    return list(dict.fromkeys(found))


class Headers:
    """Makes chunk headers within a token budget; remembers the counts of each section's."""

    def __init__(self, counter: _Counter, limit: int, cap: int = HEADER_TOKENS) -> None:
        """`limit`: tokens the model reads of header and chunk together."""
        self.counter = counter
        self.limit = limit
        self.cap = cap
        self._counted: dict[tuple[str, tuple[str, ...]], list[tuple[str, int]]] = {}

    def heading(self, title: str, section: Sequence[str], n_tokens: int) -> str:
        """The best header of at most min(cap, limit - n_tokens) tokens ("" if none fits)."""
        budget = min(self.cap, self.limit - n_tokens)
        if budget < _MIN_TOKENS:
            return ""
        counted = self._candidates(title, tuple(section))
        for text, tokens in counted:
            if tokens <= budget:
                return text
        if not counted:
            return ""
        # Even one part is too long (a title of a whole sentence): cut it at a token.
        pieces = self.counter.split_to_tokens(counted[-1][0], budget)
        if pieces and self.counter.count_tokens(pieces[:1])[0] <= budget:
            return pieces[0]
        return ""

    def _candidates(self, title: str, section: tuple[str, ...]) -> list[tuple[str, int]]:
        key = (title, section)
        if key not in self._counted:
            if len(self._counted) > _CACHE_MAX:
                self._counted.clear()
            texts = header_candidates(title, section)
            counts = self.counter.count_tokens(texts) if texts else []
            self._counted[key] = list(zip(texts, counts, strict=True))
        return self._counted[key]
