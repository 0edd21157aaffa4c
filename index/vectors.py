"""Vector index backends. One small interface; FAISS does the work.

Ids are the int64 row ids of the chunk table, so a search hit maps straight
back to its chunk. Vectors are L2-normalized, so inner product is cosine.

>>> import numpy as np
>>> idx = FlatIndex(dim=2)
>>> idx.add(np.array([10, 11]), np.array([[1, 0], [0, 1]], dtype=np.float32))
>>> scores, ids = idx.search(np.array([[0.6, 0.8]], dtype=np.float32), k=2)
>>> ids.tolist(), [round(s, 2) for s in scores[0].tolist()]
([[11, 10]], [0.8, 0.6])
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import faiss
import numpy as np

from core.errors import IndexCorruptError


class VectorIndex(Protocol):
    dim: int

    def __len__(self) -> int: ...
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...
    def remove(self, ids: np.ndarray) -> int: ...
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]: ...
    def reconstruct(self, ids: np.ndarray) -> np.ndarray: ...
    def save(self, path: Path) -> None: ...


def _as_queries(x: np.ndarray, dim: int) -> np.ndarray:
    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2 or x.shape[1] != dim:
        raise ValueError(f"expected vectors of shape (n, {dim}), got {x.shape}")
    return x


class FlatIndex:
    """Exact inner-product search: the default, and the reference for approximate ones."""

    kind = "flat-ip"

    def __init__(self, dim: int, index: faiss.Index | None = None) -> None:
        self.dim = dim
        self._index = index if index is not None else faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        vectors = _as_queries(vectors, self.dim)
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if len(ids) != len(vectors):
            raise ValueError(f"{len(ids)} ids for {len(vectors)} vectors")
        if len(ids):
            self._index.add_with_ids(vectors, ids)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        return int(self._index.remove_ids(faiss.IDSelectorBatch(ids)))

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids), best first; missing slots have id -1."""
        queries = _as_queries(queries, self.dim)
        if len(self) == 0 or k <= 0:
            n = len(queries)
            return np.zeros((n, max(k, 0)), np.float32), np.full((n, max(k, 0)), -1, np.int64)
        scores, ids = self._index.search(queries, min(k, len(self)))
        if k > len(self):
            pad = k - len(self)
            scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
            ids = np.pad(ids, ((0, 0), (0, pad)), constant_values=-1)
        return scores, ids

    def reconstruct(self, ids: np.ndarray) -> np.ndarray:
        ids = np.asarray(ids, dtype=np.int64)
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return np.vstack([self._index.reconstruct(int(i)) for i in ids])

    def save(self, path: Path) -> None:
        faiss.write_index(self._index, str(path))

    @classmethod
    def load(cls, path: Path) -> FlatIndex:
        index = read_faiss(path)
        return cls(index.d, index)


def read_faiss(path: Path) -> faiss.Index:
    """`faiss.read_index`, with an unreadable file reported as a damaged index."""
    try:
        return faiss.read_index(str(path))
    except RuntimeError as exc:
        raise IndexCorruptError(
            f"the vector file {path} cannot be read ({exc})",
            hint="rebuild the index with `python -m ingest --rebuild FOLDER`",
        ) from exc
