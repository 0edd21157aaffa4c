"""Hybrid search: dense and keyword candidates, fused, floored, made distinct.

    with Retriever(IndexSnapshot.open(index_dir), embedder, SearchParams(passages=5),
                   owns_index=True) as retriever:
        for p in retriever.search("What does ELBO stand for?"):
            print(p.source, p.pages, round(p.score, 2))

One question runs: embed it; take `dense_candidates` nearest chunks (exact or
IVF, see `index.ivf_search`) and `keyword_candidates` best BM25 chunks
(`index.keyword`); fuse them by reciprocal rank (`retrieval.fusion`);
return nothing if no chunk's relevance reaches `relevance_floor`; else merge
neighbours and drop near-duplicates until `k` passages remain. A file filter
is applied inside both searches, not after them, so a small file is not
crowded out by large ones.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.text import reads_as_english, search_terms
from core.types import Passage
from embed.protocols import Embedder
from index import IndexReader, StoredChunk
from index.keyword import idf
from retrieval.dense import check_embedder, cosines, nearest
from retrieval.fusion import OTHER_LANGUAGE_DENSE_WEIGHT, Candidate, distinct_passages, fuse
from retrieval.query import select_sources
from retrieval.rerank import RERANK_DEPTH, Contender, rescore
from retrieval.sentences import best_sentence_cosines
from retrieval.threads import single_threaded

_FILTER_CACHE = 16


@dataclass(frozen=True)
class SearchParams:
    """How a `Retriever` searches (the edges fill it from `Settings.search`)."""

    passages: int = 4  # returned when `search` is given no k
    relevance_floor: float = 0.24  # best relevance (0..1) below it: no passages at all
    dense_candidates: int = 50  # chunks from vector search
    keyword_candidates: int = 50  # chunks from keyword (BM25) search; 0 turns it off
    keyword_postings_budget: int = 20_000  # above it, keyword search runs in two steps
    ivf_nprobe: int = 256  # IVF cells visited per question
    exhaustive: bool = False  # visit every IVF cell (exact search on an IVF index)
    rerank: bool = True  # re-score the fused top RERANK_DEPTH (retrieval.rerank)
    rerank_sentences: bool = True  # ... with each one's best sentence cosine (retrieval.sentences)


@dataclass(frozen=True)
class _Filter:
    sources: tuple[str, ...]
    ids: np.ndarray


class Retriever:
    """Searches one index generation. Thread-safe; open one per generation and reuse it."""

    def __init__(
        self,
        snapshot: IndexReader,
        embedder: Embedder,
        params: SearchParams | None = None,
        *,
        owns_index: bool = False,
    ) -> None:
        """`owns_index`: `close` closes the index too (it was opened for this retriever)."""
        check_embedder(snapshot, embedder)
        self.snapshot = snapshot
        self.embedder = embedder
        self.params = params or SearchParams()
        self.keyword = snapshot.keyword_search(self.params.keyword_postings_budget)
        self._filters: OrderedDict[tuple[str, ...], _Filter] = OrderedDict()
        self._filters_lock = threading.Lock()
        self._owns_snapshot = owns_index

    @property
    def generation(self) -> int:
        """The index generation this retriever searches (a new one after every commit)."""
        return self.snapshot.manifest.generation

    def page_text(self, source: str, page: int) -> str | None:
        """A page's whole text as indexed in this generation."""
        return self.snapshot.page_text(source, page)

    def close(self) -> None:
        self.keyword.close()
        if self._owns_snapshot:
            self.snapshot.close()

    def __enter__(self) -> Retriever:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def keyword_available(self) -> bool:
        """False for an index written before keyword search existed (re-ingest to add it)."""
        return self.keyword.available

    def search(
        self, query: str, k: int | None = None, files: Sequence[str] | None = None
    ) -> list[Passage]:
        """The `k` best distinct passages, best first; [] if none reaches the relevance floor.

        Order is the fused rank; `score` is each passage's relevance (see
        `retrieval.fusion.relevance`), so scores need not decrease strictly.

        `files`: glob patterns on the indexed source paths (see
        `retrieval.query.source_matches`); None or empty searches everything.
        """
        k = self.params.passages if k is None else k
        floor = self.params.relevance_floor
        ranked = self.candidates(query, files)
        # The floor decides whether the question gets passages at all. Below it, a
        # chunk ranked among the best for a question that passed still often holds the
        # answer's context (a date under a title), so it is not cut one by one.
        if not ranked or max(c.relevance for c in ranked) < floor:
            return []
        # Enough chunks for k passages even if every other one merges into a neighbour.
        chunks = self.snapshot.chunks_by_ids([c.id for c in ranked[: max(4 * k, RERANK_DEPTH)]])
        if self.params.rerank:
            chunks = self._reranked(query, ranked, chunks)
        score = {c.id: c.relevance for c in ranked}
        return distinct_passages([(c, score[c.id]) for c in chunks[: 4 * k]], k)

    def _reranked(
        self, query: str, ranked: list[Candidate], chunks: list[StoredChunk]
    ) -> list[StoredChunk]:
        """The top RERANK_DEPTH chunks in the order of `retrieval.rerank`, then the rest."""
        top, rest = chunks[:RERANK_DEPTH], chunks[RERANK_DEPTH:]
        fused = {c.id: (c.fused, c.cosine) for c in ranked[:RERANK_DEPTH]}
        terms = search_terms(query)
        n = self.keyword.n_docs or len(self.snapshot)
        weights = {t: idf(n, df) for t, df in self.keyword.doc_freq(terms).items() if df}
        texts = [c.text for c in top]
        if self.params.rerank_sentences:
            sentence = best_sentence_cosines(self.embedder, query, texts)
        else:
            sentence = [0.0] * len(top)
        found = [
            Contender(c.id, *fused.get(c.id, (0.0, 0.0)), c.text, c.heading, best)
            for c, best in zip(top, sentence, strict=True)
        ]
        order = rescore(query, found, weights)
        by_id = {c.id: c for c in top}
        return [by_id[i] for i, _ in order] + rest

    def candidates(self, query: str, files: Sequence[str] | None = None) -> list[Candidate]:
        """Every chunk either search found, fused, best first, before floor and merging."""
        if not query.strip() or len(self.snapshot) == 0:
            return []
        allowed = self._filter(files) if files else None
        if allowed is not None and not allowed.sources:
            return []
        s = self.params
        with single_threaded():
            vector = self.embedder.embed([query])[0]
        dense = nearest(
            self.snapshot,
            vector,
            s.dense_candidates,
            allowed=None if allowed is None else allowed.ids,
            # Exact search asked of an IVF index (written under another setting).
            nprobe=1 << 30 if s.exhaustive else s.ivf_nprobe,
        )
        keyword = self.keyword.search(
            search_terms(query),
            s.keyword_candidates,
            sources=None if allowed is None else allowed.sources,
        )
        in_dense = {i for i, _ in dense}
        only_keyword = [h.id for h in keyword if h.id not in in_dense]
        return fuse(
            dense,
            [(h.id, h.coverage) for h in keyword],
            cosines(self.snapshot, vector, only_keyword),
            dense_weight=1.0 if reads_as_english(query) else OTHER_LANGUAGE_DENSE_WEIGHT,
        )

    def matching_sources(self, files: Sequence[str]) -> list[str]:
        """Indexed sources the patterns select (to tell a user their filter matched nothing)."""
        return select_sources(self.snapshot.manifest.documents, files)

    def _filter(self, files: Sequence[str]) -> _Filter:
        key = tuple(sorted(set(files)))
        with self._filters_lock:
            if key in self._filters:
                self._filters.move_to_end(key)
                return self._filters[key]
        sources = tuple(self.matching_sources(key))
        found = _Filter(sources, self.snapshot.chunk_ids_of(sources))
        with self._filters_lock:
            self._filters[key] = found
            if len(self._filters) > _FILTER_CACHE:
                self._filters.popitem(last=False)
        return found
