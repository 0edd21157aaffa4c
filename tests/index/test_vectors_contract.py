"""Every vector index backend against an exact NumPy reference."""

from __future__ import annotations

import numpy as np
import pytest

from index.ivf_search import ExactIndex, IvfIndex


def _unit(rng, n, dim):
    x = rng.standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


class ExhaustiveIvf:
    """An IVF index that visits every cell: then it is exact and must match NumPy too.

    (Its recall at the default `nprobe` is measured in tests/index/test_ann.py.)
    """

    def __new__(cls, dim: int) -> IvfIndex:
        sample = _unit(np.random.default_rng(42), 40 * 8, dim)
        return IvfIndex.trained_on(sample, nlist=8, nprobe=8)

    load = staticmethod(IvfIndex.load)


BACKENDS = [ExactIndex, ExhaustiveIvf]


def _reference(ids, vectors, queries, k):
    scores = queries @ vectors.T
    order = np.argsort(-scores, axis=1, kind="stable")[:, :k]
    return np.take_along_axis(scores, order, axis=1), ids[order]


@pytest.mark.parametrize("backend", BACKENDS)
def test_search_matches_numpy(backend):
    rng = np.random.default_rng(0)
    vectors, queries = _unit(rng, 500, 32), _unit(rng, 20, 32)
    ids = rng.permutation(10_000)[:500].astype(np.int64)
    index = backend(dim=32)
    index.add(ids, vectors)
    scores, got = index.search(queries, k=10)
    ref_scores, ref_ids = _reference(ids, vectors, queries, 10)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-5)
    assert (got == ref_ids).mean() > 0.99  # ties aside, the same ids in the same order


@pytest.mark.parametrize("backend", BACKENDS)
def test_remove_then_search(backend):
    rng = np.random.default_rng(1)
    vectors = _unit(rng, 100, 16)
    ids = np.arange(100, 200, dtype=np.int64)
    index = backend(dim=16)
    index.add(ids, vectors)
    gone = ids[::2]
    assert index.remove(gone) == len(gone)
    assert len(index) == 50
    keep = ids[1::2]
    scores, got = index.search(vectors[1::2][:5], k=50)
    assert set(got.ravel().tolist()) <= set(keep.tolist())
    ref_scores, _ref_ids = _reference(keep, vectors[1::2], vectors[1::2][:5], 50)
    np.testing.assert_allclose(scores, ref_scores, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", BACKENDS)
def test_save_load_round_trip(backend, tmp_path):
    rng = np.random.default_rng(2)
    vectors = _unit(rng, 50, 8)
    ids = np.arange(50, dtype=np.int64) * 3
    index = backend(dim=8)
    index.add(ids, vectors)
    index.save(tmp_path / "v.faiss")
    loaded = backend.load(tmp_path / "v.faiss")
    assert len(loaded) == 50 and loaded.dim == 8
    np.testing.assert_allclose(loaded.reconstruct(ids[:5]), vectors[:5], atol=1e-6)
    a = index.search(vectors[:3], 5)
    b = loaded.search(vectors[:3], 5)
    assert (a[1] == b[1]).all()


@pytest.mark.parametrize("backend", BACKENDS)
def test_k_larger_than_index_pads_with_minus_one(backend):
    index = backend(dim=4)
    index.add(np.array([7]), np.eye(4, dtype=np.float32)[:1])
    _scores, ids = index.search(np.eye(4, dtype=np.float32)[:1], k=3)
    assert ids.tolist() == [[7, -1, -1]]
    empty = backend(dim=4)
    assert empty.search(np.eye(4, dtype=np.float32)[:1], k=2)[1].tolist() == [[-1, -1]]


def test_wrong_dimension_is_refused():
    index = ExactIndex(dim=4)
    with pytest.raises(ValueError, match=r"\(n, 4\)"):
        index.add(np.array([1]), np.ones((1, 3), np.float32))


@pytest.mark.parametrize("backend", BACKENDS)
def test_one_search_signature_with_a_filter_and_an_effort(backend):
    rng = np.random.default_rng(3)
    ids, vectors = np.arange(100, 300), _unit(rng, 200, 16)
    index = backend(dim=16)
    index.add(ids, vectors)
    queries = vectors[:4]
    scores, got = index.search(queries, 5, allowed=ids[::7], nprobe=8)
    ref_scores, ref_ids = _reference(ids[::7], vectors[::7], queries, 5)
    assert got.tolist() == ref_ids.tolist()
    np.testing.assert_allclose(scores, ref_scores, atol=1e-5)
    assert index.search(queries, 5, allowed=np.array([], np.int64))[1].tolist() == [[-1] * 5] * 4
