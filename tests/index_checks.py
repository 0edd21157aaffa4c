"""What the kill tests check after a crash: the old documents answer as before."""

from __future__ import annotations

from pathlib import Path

from index import IndexSnapshot
from retrieval.dense import dense_search
from tests.fakes import FakeEmbedder


def old_document_answers(index: Path, queries: list[str]) -> list[list[tuple[str, int, str]]]:
    """Top 3 chunks of the documents named `old*` for each query, searched in the whole index
    (checksums verified on open).

    Only old documents count: new ones committed before a kill may legitimately
    rank among them (the fake embedder hashes words into 64 buckets, so unrelated
    words collide), and what must not change is what the old data answers.
    """
    with IndexSnapshot.open(index, verify=True) as snap:
        results = [dense_search(snap, FakeEmbedder(), q, k=len(snap)) for q in queries]
    return [
        [(p.source, p.page_start, p.text) for p in found if p.source.startswith("old")][:3]
        for found in results
    ]
