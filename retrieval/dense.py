"""Dense search: embed the question, exact inner product over the index, passages back.

The hybrid retriever (keyword + dense, fusion, relevance floor) builds on this.
"""

from __future__ import annotations

from core.types import Passage
from ingest.embed import Embedder
from ingest.store import IndexSnapshot
from ingest.store.manifest import check_compatible


def check_embedder(snapshot: IndexSnapshot, embedder: Embedder) -> None:
    """Searching with another model than the index was built with returns garbage: refuse."""
    from dataclasses import asdict

    check_compatible(snapshot.manifest, embedding=asdict(embedder.info), chunking=None)


def dense_search(
    snapshot: IndexSnapshot, embedder: Embedder, query: str, k: int = 5
) -> list[Passage]:
    if not query.strip() or len(snapshot) == 0:
        return []
    vector = embedder.embed([query])
    scores, ids = snapshot.vectors.search(vector, k)
    chunks = snapshot.chunks_by_ids(ids[0])
    by_id = dict(zip(ids[0].tolist(), scores[0].tolist(), strict=True))
    return [
        Passage(c.source, c.page_start, c.page_end, by_id[c.id], c.text, c.chunk_id) for c in chunks
    ]
