"""bfloat16 embeddings where the CPU runs them natively, checked against float32."""

from __future__ import annotations

import numpy as np
import pytest

from core.settings import Settings
from embed.embedder import SentenceTransformerEmbedder


@pytest.mark.slow
@pytest.mark.model
def test_bfloat16_vectors_agree_with_float32():
    path = Settings().embedding_model_path()
    texts = [
        "The ELBO is the evidence lower bound used to train variational autoencoders.",
        "Temperature scales the logits before the softmax.",
        "A lighthouse keeper trims the wick at dusk.",
    ]
    full = SentenceTransformerEmbedder(path, dtype="float32").embed(texts)
    half = SentenceTransformerEmbedder(path, dtype="bfloat16").embed(texts)
    assert half.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(half, axis=1), 1.0, atol=1e-5)
    assert (full * half).sum(axis=1).min() >= 0.998
