"""Exact vector search, and what every vector backend shares. FAISS does the work.

Ids are the int64 row ids of the chunk table, so a search hit maps straight
back to its chunk. Vectors are L2-normalized, so inner product is cosine.
Every backend (`ExactIndex` here, `index.ivf_search.IvfIndex`) has one `search`
signature: `search(queries, k, allowed=None, nprobe=None)`; `allowed` keeps
only those ids, `nprobe` is how much of an approximate index to visit (an
exact one visits everything and ignores it).

>>> import numpy as np
>>> idx = ExactIndex(dim=2)
>>> idx.add(np.array([10, 11, 12]), np.array([[1, 0], [0, 1], [0.6, 0.8]], dtype=np.float32))
>>> scores, ids = idx.search(np.array([[0.6, 0.8]], dtype=np.float32), k=2)
>>> ids.tolist(), [round(s, 2) for s in scores[0].tolist()]
([[12, 11]], [1.0, 0.8])
>>> q = np.array([[0, 1]], dtype=np.float32)
>>> idx.search(q, k=1)[1].tolist(), idx.search(q, k=1, allowed=np.array([10, 12]))[1].tolist()
([[11]], [[12]])
"""

from __future__ import annotations

from pathlib import Path

import faiss
import numpy as np

from core.errors import IndexCorruptError
from index.manifest import REBUILD_HINT

__all__ = ["ExactIndex", "FaissVectors", "read_faiss"]


def as_queries(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {x.shape}")
    return x


def selector(allowed: np.ndarray) -> tuple[faiss.IDSelector, np.ndarray]:
    """An id selector and the array it points into (the caller keeps both alive)."""
    ids = np.ascontiguousarray(allowed, dtype=np.int64)
    return faiss.IDSelectorBatch(len(ids), faiss.swig_ptr(ids)), ids


def no_hits(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    k = max(k, 0)
    return np.full((n, k), -np.inf, np.float32), np.full((n, k), -1, np.int64)


def pad(scores: np.ndarray, ids: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Missing slots at the end: score -inf, id -1."""
    if scores.shape[1] < k:
        widths = ((0, 0), (0, k - scores.shape[1]))
        scores = np.pad(scores, widths, constant_values=-np.inf)
        ids = np.pad(ids, widths, constant_values=-1)
    return scores, ids


class FaissVectors:
    """What the backends share: a FAISS index of (chunk id, vector), added to and saved."""

    kind = ""

    def __init__(self, dim: int, index: faiss.Index) -> None:
        self.dim = dim
        self._index = index

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = as_queries(vectors, self.dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return np.vstack([self._index.reconstruct(int(i)) for i in ids])

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))


class ExactIndex(FaissVectors):
    """Exact inner-product search: the default, and the reference for approximate ones."""

    kind = "flat-ip"

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        super().__init__(
            dim, index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        )

    @classmethod
    def load(cls, path: Path) -> ExactIndex:
        index = read_faiss(path)
        return cls(index.d, index)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids), best first; missing slots have id -1 and score -inf.
        `nprobe` is ignored: exact search visits every vector."""
        queries = as_queries(queries, self.dim)
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return no_hits(len(queries), k)
        if allowed is None:
            scores, ids = self._index.search(queries, min(k, len(self)))
        else:
            sel, _keep = selector(allowed)
            params = faiss.SearchParameters(sel=sel)
            scores, ids = self._index.search(queries, min(k, len(self)), params=params)
        return pad(scores, ids, k)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every entry, in storage order."""
        ids = faiss.vector_to_array(self._index.id_map).astype(np.int64)
        return ids, self._index.index.reconstruct_n(0, len(self))


def read_faiss(path: Path) -> faiss.Index:
    """`faiss.read_index`, with an unreadable file reported as a damaged index."""
    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(
            f"the vector file {path} cannot be read ({exc})",
            hint=REBUILD_HINT,
        ) from exc
