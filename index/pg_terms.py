"""The keyword rows of chunks (`rag_keywords`), computed in Python with the database's stems.

The SQL that defined them (and still defines them for a chunk too long for the shortcut):

    tsv = setweight(to_tsvector('rag_english', text), 'A')
       || setweight(to_tsvector('rag_english', heading), 'B')
    row = (strip(tsv), rag_tf(tsv), rag_len(tsv))        -- index.pg_schema.FUNCTIONS

Computing that in SQL cost about 3 s per 1,000 chunks on this machine under load
(docs/deployment.md). Here the database stems each distinct word once (cached, so a
collection's vocabulary is sent once) and Python counts: the stems are the server's own
(its parser and Snowball dictionary, whatever their version), so the rows are the same
as the SQL's, checked row by row in `tests/index/test_pg_bulk.py`. The texts are
`keyword_text`'s: folded words, one space apart, and PostgreSQL's parser never makes one
token of two words, so a word's lexemes do not depend on its neighbours.

    >>> stems = {"limits": (("limit",), 1), "4": (("4",), 1)}
    >>> row_of("limits 4 limits", "limits", stems)
    KeywordRow(lexemes=('4', 'limit'), tf={'limit': 2.5, '4': 1.0}, length=4.0)
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain
from typing import Any

# PostgreSQL's limits for a tsvector (tsvector.h): a position is at most 16383 (larger ones
# are clamped), and a lexeme keeps at most 256 positions. A chunk near them is computed by
# the SQL itself, so no clamping rule has to be copied here.
MAX_POSITION = 16_000
MAX_REPEATS = 250
_CACHE_MAX = 500_000

# A word's lexemes (one per token, in order) and how many positions it takes.
Stems = dict[str, tuple[tuple[str, ...], int]]


@dataclass(frozen=True)
class KeywordRow:
    lexemes: tuple[str, ...]  # sorted; the stripped tsvector
    tf: dict[str, float]  # a heading hit counts half
    length: float  # every token, text and heading

    def tsvector(self) -> str:
        """The stripped tsvector as PostgreSQL reads it."""
        return " ".join(_quote(x) for x in self.lexemes)

    def tf_json(self) -> str:
        return json.dumps(self.tf, ensure_ascii=False, sort_keys=True)


def _quote(lexeme: str) -> str:
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


def counts(text: str, stems: Stems) -> tuple[Counter[str], int]:
    """Occurrences of each lexeme in a keyword text, and its last position."""
    words = [stems[w] for w in text.split()]
    found = Counter(chain.from_iterable(lexemes for lexemes, _ in words))
    return found, sum(taken for _, taken in words)


def row_of(text: str, heading: str, stems: Stems) -> KeywordRow | None:
    """The keyword row of one chunk, or None when PostgreSQL's limits could apply."""
    body, last = counts(text, stems)
    head, head_last = counts(heading, stems)
    if last + head_last > MAX_POSITION:
        return None
    tf = {lexeme: float(n) for lexeme, n in body.items()}
    for lexeme, n in head.items():
        tf[lexeme] = tf.get(lexeme, 0.0) + 0.5 * n
    if last + head_last > MAX_REPEATS and max((body + head).values()) > MAX_REPEATS:
        return None
    length = float(body.total() + head.total())
    return KeywordRow(tuple(sorted(tf)), tf, length)


class KeywordRows:
    """Keyword rows for one connection (the writer's): the stems cached across documents."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self._stems: Stems = {}

    def rows(self, texts: Sequence[tuple[str, str]]) -> list[KeywordRow]:
        """One row per (keyword text, keyword heading), as `index.pg_rows.keyword_text` gives."""
        self._learn({w for pair in texts for part in pair for w in part.split()})
        out = [row_of(text, heading, self._stems) for text, heading in texts]
        for n in [n for n, row in enumerate(out) if row is None]:
            out[n] = self.in_sql(*texts[n])
        return out  # type: ignore[return-value]

    def _learn(self, words: set[str]) -> None:
        todo = sorted(w for w in words if w not in self._stems)
        if not todo:
            return
        if len(self._stems) + len(todo) > _CACHE_MAX:
            self._stems.clear()
        found = self._con.execute(
            "SELECT w, array_agg(p ORDER BY p, u.lexeme), array_agg(u.lexeme ORDER BY p, u.lexeme)"
            " FROM unnest(%s::text[]) w, unnest(to_tsvector('rag_english', w)) u,"
            " unnest(u.positions) p GROUP BY w",
            (todo,),
        ).fetchall()
        self._stems.update({w: ((), 0) for w in todo})  # a word with no lexeme: no position
        self._stems.update({w: (tuple(xs), max(ps)) for w, ps, xs in found})

    def in_sql(self, text: str, heading: str) -> KeywordRow:
        """The row as the SQL computes it (the definition; and chunks near the limits)."""
        lexemes, tf, length = self._con.execute(
            "SELECT array(SELECT lexeme FROM unnest(tsv) ORDER BY lexeme), rag_tf(tsv),"
            " rag_len(tsv) FROM (SELECT setweight(to_tsvector('rag_english', %s), 'A')"
            " || setweight(to_tsvector('rag_english', %s), 'B') AS tsv) k",
            (text, heading),
        ).fetchone()
        return KeywordRow(tuple(lexemes), {k: float(v) for k, v in tf.items()}, float(length))
