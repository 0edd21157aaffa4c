"""Test doubles that need no model: fast, deterministic, offline.

`FakeEmbedder` satisfies the same `Embedder` protocol as the real one and cuts
text with the same `split_at_token_boundaries`, so the chunker and the pipeline
run their real code paths against it.

>>> fake = FakeEmbedder()
>>> fake.count_tokens(["Hello, world!", ""])
[4, 0]
>>> fake.split_to_tokens("one two, three four", max_tokens=3)
['one two,', 'three four']
>>> vectors = fake.embed(["red apples", "red apples and pears", "train timetable"])
>>> vectors.shape, str(vectors.dtype)
((3, 64), 'float32')
>>> bool(vectors[0] @ vectors[1] > vectors[0] @ vectors[2])
True
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import numpy as np

from core.types import EmbeddingInfo
from embed.tokens import split_at_token_boundaries

# One token per word or per punctuation mark: every non-space character is in exactly one.
TOKEN = re.compile(r"\w+|[^\w\s]")


class FakeEmbedder:
    """Hashed bag-of-words vectors: texts that share words are closer.

    `count_calls` and `split_calls` let tests check that counting is batched.
    """

    def __init__(self, dim: int = 64, max_tokens: int = 256) -> None:
        self._info = EmbeddingInfo(
            model_id="fake-embedder", dim=dim, max_tokens=max_tokens, fingerprint=f"fake-{dim}"
        )
        self.count_calls = 0
        self.split_calls = 0

    @property
    def info(self) -> EmbeddingInfo:
        return self._info

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        self.count_calls += 1
        return [len(TOKEN.findall(text)) for text in texts]

    def split_to_tokens(self, text: str, max_tokens: int) -> list[str]:
        self.split_calls += 1
        spans = [match.span() for match in TOKEN.finditer(text)]
        return split_at_token_boundaries(text, spans, list(range(len(spans))), max_tokens)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        vectors = np.zeros((len(texts), self._info.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"\w+", text.lower())
            for word in words or [""]:  # a text without words still gets a unit vector
                vectors[row, _bucket(word, self._info.dim)] += 1.0
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True).clip(min=1e-12)
        return vectors


def _bucket(word: str, dim: int) -> int:
    # blake2b, not hash(): Python salts str hashes per process, and vectors must be stable.
    return int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big") % dim
