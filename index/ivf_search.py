"""Vector backends with filtered search, and the approximate one for large indexes.

Two backends with one `search(queries, k, allowed=None, nprobe=None)`:

- `ExactIndex` (`index.vector_search`): the exact FAISS flat inner-product index, default.
- `IvfIndex`: FAISS IVF-Flat, inner product, for large collections. Chosen over
  HNSW because the writer removes a document's vectors whenever it changes, and
  FAISS HNSW cannot remove; IVF can (a hashtable direct map gives removal and
  `reconstruct` by chunk id). Vectors are stored uncompressed, so scores are
  exact for the vectors visited; only the choice of lists is approximate.

Both are written as `vectors.faiss`: `faiss.read_index` knows the type and
`load_vector_index` wraps it in the right class, so a generation holds no
extra file and the manifest format is unchanged.

`fit_to_policy` is the writer's hook at commit: it converts an exact index to
IVF once it reaches `VectorPolicy.min_chunks` (or back, below half of that),
and retrains when the collection has grown 16-fold since the last training.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import faiss
import numpy as np

from core.errors import IndexCorruptError
from index.manifest import REBUILD_HINT
from index.vector_search import (
    ExactIndex,
    FaissVectors,
    as_queries,
    no_hits,
    pad,
    read_faiss,
    selector,
)

VectorKind = Literal["auto", "flat", "ivf"]
# Cells visited per search. On real all-MiniLM-L6-v2 vectors recall@10 against exact
# search was 0.65 visiting 0.8% of the cells, 0.92 at 3% and 0.97 at 6%; 256 of the
# 4096 cells of a 1M index is 6%, at about 5 ms (docs/decisions.md).
DEFAULT_NPROBE = 256


class IvfIndex(FaissVectors):
    """Approximate inner-product search over `nlist` k-means cells, `nprobe` visited.

    Adding, counting and reconstructing work as in `ExactIndex`; search and removal
    differ.
    """

    kind = "ivf-flat-ip"

    def __init__(self, index: faiss.IndexIVFFlat) -> None:
        super().__init__(index.d, index)

    @classmethod
    def trained_on(
        cls, sample: np.ndarray, nlist: int, nprobe: int = DEFAULT_NPROBE, seed: int = 0
    ) -> IvfIndex:
        """An empty index whose `nlist` cells are k-means centroids of `sample`."""
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        dim = sample.shape[1]
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, nlist, faiss.METRIC_INNER_PRODUCT)
        index.cp.seed = seed
        index.train(sample)
        index.set_direct_map_type(faiss.DirectMap.Hashtable)
        index.nprobe = min(nprobe, nlist)
        return cls(index)

    @classmethod
    def train(
        cls,
        ids: np.ndarray,
        vectors: np.ndarray,
        nlist: int,
        nprobe: int = DEFAULT_NPROBE,
        seed: int = 0,
    ) -> IvfIndex:
        """Cluster a sample of `vectors` into `nlist` cells, then add them all."""
        # 40 points per cell is what FAISS asks for; more only slows training.
        pick = np.random.default_rng(seed).permutation(len(vectors))[: 40 * nlist]
        ivf = cls.trained_on(np.asarray(vectors)[np.sort(pick)], nlist, nprobe, seed)
        ivf.add(ids, vectors)
        return ivf

    @classmethod
    def load(cls, path: Path) -> IvfIndex:
        index = load_vector_index(path)
        if not isinstance(index, IvfIndex):
            raise IndexCorruptError(f"{path} holds no IVF index", hint=REBUILD_HINT)
        return index

    @property
    def nlist(self) -> int:
        return int(self._index.nlist)

    @property
    def nprobe(self) -> int:
        return int(self._index.nprobe)

    def remove(self, ids: np.ndarray) -> int:
        ids = np.ascontiguousarray(ids, dtype=np.int64)
        if not len(ids):
            return 0
        # The hashtable direct map removes by lookup, and only accepts an array selector.
        return int(self._index.remove_ids(faiss.IDSelectorArray(len(ids), faiss.swig_ptr(ids))))

    def search(
        self,
        queries: np.ndarray,
        k: int,
        allowed: np.ndarray | None = None,
        nprobe: int | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, ids), best first; missing slots have id -1 and score -inf.
        `nprobe`: cells to visit (default: the index's own)."""
        queries = as_queries(queries, self.dim)
        if len(self) == 0 or k <= 0 or (allowed is not None and len(allowed) == 0):
            return no_hits(len(queries), k)
        params = faiss.SearchParametersIVF(nprobe=min(nprobe or self.nprobe, self.nlist))
        if allowed is not None:
            sel, _keep = selector(allowed)
            params.sel = sel
        scores, ids = self._index.search(queries, min(k, len(self)), params=params)
        return pad(scores, ids, k)

    def all_vectors(self) -> tuple[np.ndarray, np.ndarray]:
        """(ids, vectors) of every entry, list by list."""
        lists = self._index.invlists
        ids, vectors = [], []
        for cell in range(self.nlist):
            size = lists.list_size(cell)
            if size:
                ids.append(faiss.rev_swig_ptr(lists.get_ids(cell), size).copy())
                codes = faiss.rev_swig_ptr(lists.get_codes(cell), size * lists.code_size)
                vectors.append(codes.copy().view(np.float32).reshape(size, self.dim))
        if not ids:
            return np.zeros(0, np.int64), np.zeros((0, self.dim), np.float32)
        return np.concatenate(ids), np.vstack(vectors)


VectorBackend = ExactIndex | IvfIndex


def load_vector_index(path: Path) -> VectorBackend:
    """Read `vectors.faiss`, whichever backend wrote it."""
    index = read_faiss(path)
    if isinstance(index, faiss.IndexIVFFlat):
        return IvfIndex(index)
    return ExactIndex(index.d, index)


def ideal_nlist(n: int) -> int:
    """Cells for `n` vectors: the power of two nearest 4*sqrt(n), within [64, 65536],
    and at most n / 40 (FAISS wants 40 training points per cell).

    >>> ideal_nlist(1_000_000), ideal_nlist(250_000), ideal_nlist(5000), ideal_nlist(10)
    (4096, 2048, 64, 64)
    """
    nlist = 2 ** round(np.log2(4 * max(n, 1) ** 0.5))
    while nlist > 64 and 40 * nlist > n:
        nlist //= 2
    return int(min(65536, max(64, nlist)))


@dataclass(frozen=True)
class VectorPolicy:
    """Which backend a generation's vectors use.

    `auto`: exact below `min_chunks`, IVF from there on (exact search at 1M
    384-d vectors costs about 70 ms per query on one core; IVF a few ms at the
    default nprobe).
    `flat` and `ivf` force one (IVF still needs `40 * 64` vectors to be trained).
    """

    kind: VectorKind = "auto"
    min_chunks: int = 250_000
    nprobe: int = DEFAULT_NPROBE

    def wants_ivf(self, n: int, currently_ivf: bool) -> bool:
        if self.kind == "flat" or (n < 40 * 64 and not currently_ivf):
            return False
        if self.kind == "ivf":
            return True
        # Hysteresis: deleting a few documents must not flip the backend back and forth.
        return n >= (self.min_chunks // 2 if currently_ivf else self.min_chunks)


def fit_to_policy(index: VectorBackend, policy: VectorPolicy) -> VectorBackend:
    """The index to save: converted or retrained if the policy and size call for it.

    Costs nothing when no change is due; a conversion at 1M vectors takes about
    a minute (k-means on a 160k sample, then assigning every vector).
    """
    n = len(index)
    is_ivf = isinstance(index, IvfIndex)
    if policy.wants_ivf(n, is_ivf):
        if is_ivf and ideal_nlist(n) < 4 * index.nlist:
            return index
        ids, vectors = index.all_vectors()
        return IvfIndex.train(ids, vectors, ideal_nlist(n), policy.nprobe)
    if not is_ivf:
        return index
    ids, vectors = index.all_vectors()
    exact = ExactIndex(index.dim)
    exact.add(ids, vectors)
    return exact
