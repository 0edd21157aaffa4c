"""BM25 keyword search over the generation's FTS5 table (`index.chunks_db`).

It reads through the snapshot's own connection (`IndexSnapshot.keyword_search`):
one open file per generation, one lock.

Terms come from `core.text.search_terms`, cut the way the FTS5 `unicode61`
tokenizer cuts text, so every term is one token for the index. Each term is
quoted in the MATCH expression (`match_expression`), so nothing a user types
(`AND`, `NEAR`, `*`, `"`, `:`, `^`) is read as FTS5 syntax, and terms are OR-ed:
BM25 ranks chunks that match more, and rarer, terms first.

Why FTS5 and not a separate BM25 file: the table lives in `chunks.sqlite`,
is written in the same transaction as the chunks and updated incrementally by
every ingest (a separate BM25 matrix would be rebuilt over all chunks at each
commit), holds no second copy of the text, and pages in from disk instead of
sitting in memory.

Its cost is about 0.75 us per posting (a row containing a query term), so
exact BM25 at 1M chunks costs 134 ms for a median question and 359 ms at the
95th percentile (bench/search.py). Above `postings_budget` postings the search
runs in two steps: the rarest terms within the budget ("drivers") select the
candidate chunks, and one more query scores the chunks that hold a driver AND
a frequent term with every term, which is the exact BM25 of those chunks.
Only chunks holding frequent terms alone are missed; their idf is low (1.4
for a term in 20% of chunks, against 6.9 for one in 0.1%), and the dense side
still reads the whole question. At 1M chunks the two steps took 36 ms median
(55 ms p95) and kept 82% of exact BM25's top 50. Terms beyond a hundred
budgets of postings are left out. Below the budget (every question on
collections up to a few ten thousand chunks) one query gives the exact ranking.
"""

from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from index import chunks_db
from index.chunks_db import FTS_TABLE

__all__ = ["KeywordHit", "KeywordIndex", "KeywordPlan", "idf", "match_expression"]

# FTS5's bm25() constants; a term adds at most idf * (K1 + 1) to a chunk's score.
K1 = 1.2
# Frequent terms add to scores up to this many budgets of postings; beyond, they are left
# out. At 1M synthetic chunks a cap of 10 budgets cut the top-50 overlap with exact BM25
# from 0.83 to 0.66 for 3 ms of median; 100 only guards against pathological questions.
RESCORE_BUDGETS = 100
_DF_CACHE_MAX = 50_000
# A term in a chunk's header ("title › section") counts half a term in its text: the
# header is shared by every chunk of the section, so it says where, the text says what.
# (FTS5 ignores weights of columns a table lacks: generations without headers.)
HEADING_WEIGHT = 0.5


@dataclass(frozen=True)
class KeywordHit:
    """A chunk row id with its BM25 score (higher is better) and the share of the
    question's idf weight it earns, `coverage` in [0, 1]."""

    id: int
    bm25: float
    coverage: float


@dataclass(frozen=True)
class KeywordPlan:
    """How a question's terms are used: `drivers` select chunks (rarest first, within the
    postings budget), `rescored` only add to their scores, `dropped` are too frequent to
    read at all, `missing` occur nowhere; `max_score` is the best BM25 a chunk could get."""

    drivers: tuple[str, ...]
    rescored: tuple[str, ...]
    dropped: tuple[str, ...]
    missing: tuple[str, ...]
    max_score: float


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 MATCH string: each term quoted (a plain token has no quote inside), OR-ed.

    >>> match_expression(["elbo", "4"])
    '"elbo" OR "4"'
    """
    return " OR ".join(f'"{t}"' for t in terms)


def idf(n_docs: int, df: int) -> float:
    """FTS5's idf, floored as FTS5 floors it (a term in over half the chunks counts ~0).

    >>> round(idf(1000, 1), 2), idf(1000, 900)
    (6.5, 1e-06)
    """
    value = math.log((n_docs - df + 0.5) / (df + 0.5))
    return value if value > 0 else 1e-6


def plan_terms(
    terms: Sequence[str], df: dict[str, int], n_docs: int, postings_budget: int
) -> KeywordPlan:
    """Which terms drive the search, which only re-score, which are too frequent to read.

    The rarest terms drive until their postings fill the budget (at least one always
    does); the next ones, up to `RESCORE_BUDGETS` budgets, re-score the drivers' chunks.

    >>> df = {"heap": 3, "size": 40, "the": 5000}
    >>> plan = plan_terms(["heap", "size", "the", "zork"], df | {"zork": 0}, 9000, 10)
    >>> plan.drivers, plan.rescored, plan.dropped, plan.missing
    (('heap',), ('size',), ('the',), ('zork',))
    """
    present = sorted((t for t in terms if df[t] > 0), key=lambda t: df[t])
    groups: tuple[list[str], list[str], list[str]] = ([], [], [])
    postings = 0
    for term in present:
        postings += df[term]
        if not groups[0] or postings <= postings_budget:
            groups[0].append(term)
        elif postings <= RESCORE_BUDGETS * postings_budget:
            groups[1].append(term)
        else:
            groups[2].append(term)
    # Missing terms still count in the maximum: a question whose key term the
    # collection never mentions is probably not answered by it.
    return KeywordPlan(
        *(tuple(g) for g in groups),
        missing=tuple(t for t in terms if df[t] == 0),
        max_score=sum(idf(n_docs, df[t]) for t in terms) * (K1 + 1),
    )


class KeywordIndex:
    """Read-only BM25 search of one generation; thread-safe (one connection, one lock).

    It shares the snapshot's connection and lock (`IndexSnapshot.keyword_search`);
    `KeywordIndex.open` gives one its own, for a chunks file alone.
    """

    def __init__(
        self,
        con: sqlite3.Connection,
        lock: threading.Lock,
        postings_budget: int = 20_000,
        n_docs: int | None = None,
    ) -> None:
        """`n_docs`: the number of chunks, if known (counting 1M rows reads the whole table)."""
        self._con = con
        self._lock = lock
        self._owns_connection = False
        self.postings_budget = postings_budget
        with lock:
            self.available = chunks_db.has_keyword_index(con)
        self._df: dict[str, int] = {}
        self.n_docs = 0
        if self.available:
            if n_docs is None:
                with lock:
                    n_docs = chunks_db.count_chunks(con)
            self.n_docs = n_docs

    @classmethod
    def open(
        cls, path: Path, postings_budget: int = 20_000, n_docs: int | None = None
    ) -> KeywordIndex:
        """A keyword index with its own read-only connection to the chunks file at `path`."""
        index = cls(chunks_db.open_readonly(path), threading.Lock(), postings_budget, n_docs)
        index._owns_connection = True
        return index

    def close(self) -> None:
        if self._owns_connection:
            self._con.close()

    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        """Chunks containing each term (after stemming), cached: a generation never changes."""
        todo = [t for t in terms if t not in self._df]
        if todo:
            if len(self._df) > _DF_CACHE_MAX:
                self._df.clear()
            with self._lock:
                for term in todo:
                    self._df[term] = self._count(term)
        return {t: self._df[t] for t in terms}

    def _count(self, term: str) -> int:
        # The vocabulary table holds stemmed tokens, so ask FTS5 itself: it stems the
        # quoted term the same way it stemmed the text. `rowid` only: no scoring.
        row = self._con.execute(
            f"SELECT count(*) FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?",
            (match_expression([term]),),
        ).fetchone()
        return int(row[0])

    def plan(self, terms: Sequence[str]) -> KeywordPlan:
        """Split the terms by document frequency against the postings budget."""
        return plan_terms(terms, self.doc_freq(terms), self.n_docs, self.postings_budget)

    def search(
        self, terms: Sequence[str], limit: int, sources: Sequence[str] | None = None
    ) -> list[KeywordHit]:
        """Best `limit` chunks by BM25 for the terms, optionally only from `sources`."""
        if not self.available or not terms or limit <= 0:
            return []
        plan = self.plan(terms)
        if not plan.drivers:
            return []
        drivers = match_expression(plan.drivers)
        if plan.rescored:
            # First: chunks with a driver and a frequent term, scored with every term (their
            # exact BM25). Then the drivers alone: the exact score of chunks without a
            # frequent term; a chunk with one that the first query did not return scores
            # below all of its rows either way, so the merged order is right.
            rows = self._query(
                f"({drivers}) AND ({match_expression(plan.rescored)})", limit, sources
            )
            best = dict(self._query(drivers, limit, sources)) | dict(rows)
            rows = sorted(best.items(), key=lambda row: (-row[1], row[0]))[:limit]
        else:
            rows = self._query(drivers, limit, sources)
        top = plan.max_score or 1.0
        return [KeywordHit(int(i), float(s), min(1.0, float(s) / top)) for i, s in rows]

    def _query(
        self, expression: str, limit: int, sources: Sequence[str] | None
    ) -> list[tuple[int, float]]:
        score = f"bm25({FTS_TABLE}, 1.0, {HEADING_WEIGHT})"
        sql = f"SELECT rowid, -{score} FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH ?"
        args: list = [expression]
        if sources is not None:
            sql += (
                " AND rowid IN (SELECT id FROM chunks"
                " WHERE source IN (SELECT value FROM json_each(?)))"
            )
            args.append(json.dumps(list(sources)))
        sql += f" ORDER BY {score} LIMIT ?"
        args.append(limit)
        with self._lock:
            return self._con.execute(sql, args).fetchall()
