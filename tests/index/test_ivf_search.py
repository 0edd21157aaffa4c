"""The approximate (IVF) backend: recall against exact search, filters, and the writer's switch."""

from __future__ import annotations

import numpy as np
import pytest

from core.types import Chunk, ChunkingInfo, EmbeddingInfo, PageText
from index import DocumentRecord, IndexSnapshot, IndexWriter
from index.ivf_search import (
    ExactIndex,
    IvfIndex,
    VectorPolicy,
    fit_to_policy,
    ideal_nlist,
    load_vector_index,
)


def _clustered(rng, n: int, dim: int, clusters: int = 50, spread: float = 0.6) -> np.ndarray:
    """Unit vectors around random centres: embeddings have topics, uniform noise has none."""
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    x = centres[rng.integers(0, clusters, n)] + spread * rng.standard_normal((n, dim)).astype(
        np.float32
    )
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _numpy_top(ids, vectors, query, k):
    scores = vectors @ query
    order = np.argsort(-scores, kind="stable")[:k]
    return ids[order].tolist()


def test_ivf_recall_at_default_nprobe_against_exact_numpy():
    rng = np.random.default_rng(0)
    vectors = _clustered(rng, 20_000, 32)
    ids = np.arange(20_000, dtype=np.int64) * 7
    ivf = IvfIndex.train(ids, vectors, nlist=ideal_nlist(len(ids)), nprobe=32)
    queries = _clustered(np.random.default_rng(1), 50, 32)
    recall = []
    for q in queries:
        _, got = ivf.search(q[None], 10)
        recall.append(len(set(got[0].tolist()) & set(_numpy_top(ids, vectors, q, 10))) / 10)
    assert np.mean(recall) >= 0.9
    # visiting one cell only is visibly worse: the test can tell the settings apart
    one_cell = [
        len(
            set(ivf.search(q[None], 10, nprobe=1)[1][0].tolist())
            & set(_numpy_top(ids, vectors, q, 10))
        )
        / 10
        for q in queries
    ]
    assert np.mean(one_cell) < np.mean(recall)


@pytest.mark.parametrize("kind", ["exact", "ivf"])
def test_filtered_search_matches_numpy_on_the_allowed_subset(kind):
    rng = np.random.default_rng(2)
    vectors = _clustered(rng, 3000, 16)
    ids = np.arange(3000, dtype=np.int64) + 100
    if kind == "exact":
        index = ExactIndex(16)
        index.add(ids, vectors)
    else:  # all cells visited: exact, so the comparison is strict
        index = IvfIndex.train(ids, vectors, nlist=16, nprobe=16)
    allowed = ids[rng.permutation(3000)[:40]]
    mask = np.isin(ids, allowed)
    for q in _clustered(np.random.default_rng(3), 5, 16):
        _, got = index.search(q[None], 10, allowed=allowed)
        assert got[0].tolist() == _numpy_top(ids[mask], vectors[mask], q, 10)
    _, none = index.search(vectors[:1], 3, allowed=np.array([], np.int64))
    assert none.tolist() == [[-1, -1, -1]]


def test_policy_converts_at_threshold_keeps_every_vector_and_converts_back():
    rng = np.random.default_rng(4)
    vectors = _clustered(rng, 4000, 16)
    ids = np.arange(4000, dtype=np.int64) * 3
    exact = ExactIndex(16)
    exact.add(ids, vectors)
    policy = VectorPolicy(kind="auto", min_chunks=4000)
    ivf = fit_to_policy(exact, policy)
    assert isinstance(ivf, IvfIndex) and len(ivf) == 4000
    got_ids, got_vectors = ivf.all_vectors()
    order = np.argsort(got_ids)
    np.testing.assert_array_equal(got_ids[order], ids)
    np.testing.assert_allclose(got_vectors[order], vectors, atol=1e-6)
    assert fit_to_policy(ivf, policy) is ivf  # nothing due: no retraining
    ivf.remove(ids[:1000])  # 3000 left: above half the threshold, stays IVF (hysteresis)
    assert fit_to_policy(ivf, policy) is ivf
    ivf.remove(ids[1000:2500])  # 1500 left: back to exact
    back = fit_to_policy(ivf, policy)
    assert isinstance(back, ExactIndex) and len(back) == 1500
    assert isinstance(fit_to_policy(exact, VectorPolicy(kind="flat")), ExactIndex)


def test_ivf_is_retrained_when_the_collection_outgrew_its_cells():
    rng = np.random.default_rng(5)
    small = IvfIndex.train(np.arange(700), _clustered(rng, 700, 8), nlist=16)
    small.add(np.arange(700, 3000), _clustered(rng, 2300, 8))
    assert ideal_nlist(3000) == 64 >= 4 * small.nlist
    grown = fit_to_policy(small, VectorPolicy(kind="ivf"))
    assert grown is not small and grown.nlist == 64 and len(grown) == 3000


def _document(source: str, n: int, rng) -> tuple:
    chunks = [Chunk(source, i, i + 1, i + 1, f"{source} chunk {i}", 4) for i in range(n)]
    record = DocumentRecord(source, f"sha-{source}", n, n, "/r", f"/r/{source}", 1, 1, "pdfium")
    pages = [PageText(i + 1, f"page {i + 1}") for i in range(n)]
    return record, chunks, _clustered(rng, n, 8), pages


def test_writer_switches_to_ivf_and_the_generation_reopens_and_updates(tmp_path):
    rng = np.random.default_rng(6)
    emb = EmbeddingInfo("t", 8, 64, "f")
    chunking = ChunkingInfo(32, 4, 1)
    policy = VectorPolicy(kind="auto", min_chunks=3000)

    def writer():
        return IndexWriter(tmp_path, embedding=emb, chunking=chunking, vector_policy=policy)

    docs = {name: _document(name, 1600, rng) for name in ("a.pdf", "b.pdf")}
    with writer() as w:
        for doc in docs.values():
            w.put_document(*doc)
        w.commit()
    with IndexSnapshot.open(tmp_path) as snap:
        assert isinstance(snap.vectors, IvfIndex) and len(snap) == 3200
        query = docs["b.pdf"][2][5]
        _, ids = snap.vectors.search(query[None], 1, nprobe=snap.vectors.nlist)
        assert snap.chunks_by_ids(ids[0])[0].text == "b.pdf chunk 5"
    with writer() as w:  # the IVF file is loaded, changed in place and saved again
        w.remove("a.pdf")
        w.put_document(*_document("c.pdf", 100, rng))
        w.commit()
    with IndexSnapshot.open(tmp_path) as snap:
        assert isinstance(snap.vectors, IvfIndex) and len(snap) == 1700
        sources = {c.source for c in snap.iter_chunks()}
        assert sources == {"b.pdf", "c.pdf"}
    gen = tmp_path / IndexSnapshot.open(tmp_path).manifest.generation_dir
    assert isinstance(load_vector_index(gen / "vectors.faiss"), IvfIndex)
