"""Every batch of vectors is checked before it is written: finite, the right shape, unit length.

A damaged model (say, garbage floats in a cached OpenVINO graph) can still run
and return NaN or wildly scaled vectors; written into the index, they would
make every search return nonsense while every checksum passes.

>>> import numpy as np
>>> check_vectors(np.eye(2, dtype=np.float32), 2, 2)
>>> try:
...     check_vectors(np.full((1, 2), np.nan, np.float32), 1, 2)
... except EmbeddingError as exc:
...     print(exc.message)
the embedding model returned 1 of 1 vectors with NaN or infinite values
"""

from __future__ import annotations

import numpy as np

from core.errors import EmbeddingError

# Vectors are L2-normalized in float32 after the model; anything off by more is not ours.
NORM_TOLERANCE = 1e-2
_NEXT = (
    "nothing was written for them; delete the model cache folder (RAG_MODEL_CACHE_DIR) "
    "and run again, or set RAG_EMBEDDING_BACKEND=torch"
)


def check_vectors(vectors: np.ndarray, n: int, dim: int) -> None:
    """Raise EmbeddingError unless `vectors` is n x dim, finite, with norms near 1."""
    if vectors.ndim != 2 or vectors.shape != (n, dim):
        raise EmbeddingError(
            f"the embedding model returned vectors of shape {tuple(vectors.shape)} "
            f"for {n} texts, expected ({n}, {dim})",
            hint=_NEXT,
        )
    if n == 0:
        return
    bad = ~np.isfinite(vectors).all(axis=1)
    if bad.any():
        raise EmbeddingError(
            f"the embedding model returned {int(bad.sum())} of {n} vectors with NaN or "
            "infinite values",
            hint=_NEXT,
        )
    norms = np.linalg.norm(vectors.astype(np.float64), axis=1)
    off = np.abs(norms - 1.0) > NORM_TOLERANCE
    if off.any():
        raise EmbeddingError(
            f"the embedding model returned {int(off.sum())} of {n} vectors whose length is "
            f"not 1 (e.g. {float(norms[off][0]):.3g})",
            hint=_NEXT,
        )
