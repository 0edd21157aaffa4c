"""Dense search: embed the question, inner product over the index's vectors.

Vectors are L2-normalized, so scores are cosine similarities in [-1, 1]. The
index searches exactly or, on large collections, approximately (see
`index.ivf_search`) behind one `IndexReader.nearest`; a file filter (`allowed` ids)
is applied inside the search, so a small file is not crowded out by others.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.types import Passage
from embed.protocols import Embedder
from index import IndexReader
from index.manifest import check_compatible
from retrieval.threads import single_threaded


def check_embedder(index: IndexReader, embedder: Embedder) -> None:
    """Searching with another model than the index was built with returns garbage: refuse."""
    check_compatible(index.manifest, embedding=embedder.info, chunking=None)


def nearest(
    index: IndexReader,
    query: np.ndarray,
    limit: int,
    allowed: np.ndarray | None = None,
    nprobe: int | None = None,
) -> list[tuple[int, float]]:
    """(chunk row id, cosine) of the `limit` nearest chunks, best first, FAISS on one thread
    (questions run in parallel; threads inside one search only fight each other)."""
    with single_threaded():
        return index.nearest(query, limit, allowed=allowed, nprobe=nprobe)


def cosines(index: IndexReader, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
    """Cosine of the question with given chunks (found by keywords only, say).

    >>> class Stored:  # the part of an IndexReader this needs: two unit vectors
    ...     def vectors_of(self, ids): return np.eye(2, dtype=np.float32)[list(ids)]
    >>> found = cosines(Stored(), np.array([0.8, 0.6], dtype=np.float32), [1, 0])
    >>> {i: round(c, 2) for i, c in found.items()}
    {1: 0.6, 0: 0.8}
    """
    if not ids:
        return {}
    found = index.vectors_of(ids)
    return dict(zip(ids, (found @ query).tolist(), strict=True))


def dense_search(index: IndexReader, embedder: Embedder, query: str, k: int = 5) -> list[Passage]:
    """Dense-only search, kept for callers that predate `retrieval.search.Retriever`."""
    if not query.strip() or len(index) == 0:
        return []
    with single_threaded():
        vector = embedder.embed([query])[0]
    hits = nearest(index, vector, k)
    score = dict(hits)
    chunks = index.chunks_by_ids([i for i, _ in hits])
    return [
        Passage(
            c.source, c.page_start, c.page_end, score[c.id], c.text, c.chunk_id, c.ocr_confidence
        )
        for c in chunks
    ]
