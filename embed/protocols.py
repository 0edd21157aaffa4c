"""What the rest of the program sees of the embedding model: one Protocol per role.

`TokenCounter` counts and cuts text in the model's own tokens (the chunker needs it);
`Embedder` adds the vectors. `embed.embedder.SentenceTransformerEmbedder` is the real one,
`tests/fakes.FakeEmbedder` the fast fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import numpy as np

from core.types import EmbeddingInfo


class TokenCounter(Protocol):
    """Counts and cuts text in the embedding model's tokens (special tokens excluded)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text, all texts in one batched call."""
        ...

    def split_to_tokens(self, text: str, max_tokens: int) -> list[str]:
        """In-order pieces of at most `max_tokens` tokens; only whitespace at cuts is lost."""
        ...


class Embedder(TokenCounter, Protocol):
    """Turns texts into L2-normalized float32 vectors of shape (n, info.dim)."""

    @property
    def info(self) -> EmbeddingInfo: ...

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...
