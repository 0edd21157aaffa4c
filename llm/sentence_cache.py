"""One answer's sentence vectors: each distinct text is embedded once.

On the refusal path the same sentences are embedded by several steps: the second ask's
choice of window (`llm.second_try.pick_passage`), the support check of each answer
(`llm.grounding`), and the quotes when the second ask fails too
(`llm.extractive.best_sentences`). One cache per answer serves them all; a text's vector is
the embedder's, whichever step asked first.

>>> import numpy as np
>>> class Counting:
...     calls = []
...     def embed(self, texts):
...         self.calls.append(list(texts))
...         return np.array([[len(t), 1.0] for t in texts]) / 10
>>> inner = Counting()
>>> cache = SentenceCache(inner)
>>> cache.embed(["a b", "c"]).shape, cache.embed(["c", "a b", "d e f"]).tolist()
((2, 2), [[0.1, 0.1], [0.3, 0.1], [0.5, 0.1]])
>>> inner.calls
[['a b', 'c'], ['d e f']]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from llm.protocols import SentenceEmbedder


class SentenceCache:
    """A `SentenceEmbedder` that asks its embedder only for texts it has not seen."""

    def __init__(self, embedder: SentenceEmbedder) -> None:
        self._embedder = embedder
        self._vectors: dict[str, np.ndarray] = {}

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if new:
            vectors = np.asarray(self._embedder.embed(new))
            self._vectors.update(zip(new, vectors, strict=True))
        if not texts:
            return np.asarray(self._embedder.embed([]))
        return np.stack([self._vectors[t] for t in texts])
