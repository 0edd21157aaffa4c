"""Dense search: embed the question, inner product over the index's vectors.

Vectors are L2-normalized, so scores are cosine similarities in [-1, 1]. The
index is exact (`ExactIndex`) or, on large collections, IVF (`IvfIndex`, see
`index.ann`); both take an `allowed` id filter, so a file filter is
applied inside the search and a small file is not crowded out by others.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from core.types import Passage
from embed.embedder import Embedder
from index import IndexSnapshot
from index.ann import IvfIndex, VectorBackend
from index.manifest import check_compatible
from retrieval.threads import single_threaded


def check_embedder(snapshot: IndexSnapshot, embedder: Embedder) -> None:
    """Searching with another model than the index was built with returns garbage: refuse."""
    check_compatible(snapshot.manifest, embedding=asdict(embedder.info), chunking=None)


def nearest(
    vectors: VectorBackend,
    query: np.ndarray,
    limit: int,
    allowed: np.ndarray | None = None,
    nprobe: int | None = None,
) -> list[tuple[int, float]]:
    """(chunk row id, cosine) of the `limit` nearest chunks, best first.

    >>> from index.ann import ExactIndex
    >>> index = ExactIndex(dim=2)
    >>> index.add(np.array([5, 6]), np.array([[1, 0], [0, 1]], dtype=np.float32))
    >>> hits = nearest(index, np.array([0.8, 0.6], dtype=np.float32), limit=3)
    >>> [(i, round(s, 2)) for i, s in hits]
    [(5, 0.8), (6, 0.6)]
    """
    queries = query.reshape(1, -1)
    with single_threaded():
        if isinstance(vectors, IvfIndex):
            scores, ids = vectors.search(queries, limit, allowed=allowed, nprobe=nprobe)
        elif allowed is not None:
            scores, ids = vectors.search(queries, limit, allowed=allowed)
        else:
            scores, ids = vectors.search(queries, limit)
    return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]


def cosines(vectors: VectorBackend, query: np.ndarray, ids: list[int]) -> dict[int, float]:
    """Cosine of the question with given chunks (found by keywords only, say)."""
    if not ids:
        return {}
    found = vectors.reconstruct(np.array(ids, np.int64))
    return dict(zip(ids, (found @ query).tolist(), strict=True))


def dense_search(
    snapshot: IndexSnapshot, embedder: Embedder, query: str, k: int = 5
) -> list[Passage]:
    """Dense-only search, kept for callers that predate `retrieval.search.Retriever`."""
    if not query.strip() or len(snapshot) == 0:
        return []
    with single_threaded():
        vector = embedder.embed([query])[0]
    hits = nearest(snapshot.vectors, vector, k)
    score = dict(hits)
    chunks = snapshot.chunks_by_ids([i for i, _ in hits])
    return [
        Passage(
            c.source, c.page_start, c.page_end, score[c.id], c.text, c.chunk_id, c.ocr_confidence
        )
        for c in chunks
    ]
