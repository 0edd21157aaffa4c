"""bfloat16 embeddings where the CPU runs them natively, checked against float32."""

from __future__ import annotations

import numpy as np
import pytest

from core.settings import Settings
from embed.embedder import SentenceTransformerEmbedder, cpu_has_native_bf16, resolve_dtype


def test_cpu_flags_decide_auto(tmp_path, monkeypatch):
    with_bf16 = tmp_path / "a"
    with_bf16.write_text("flags\t\t: fpu avx512f avx512_bf16 sse\n")
    without = tmp_path / "b"
    without.write_text("flags\t\t: fpu avx2 sse\n")
    assert cpu_has_native_bf16(with_bf16) and not cpu_has_native_bf16(without)
    assert not cpu_has_native_bf16(tmp_path / "missing")
    import embed.choice as choice

    monkeypatch.setattr(choice, "cpu_has_native_bf16", lambda: True)
    assert resolve_dtype("auto", "cpu") == "bfloat16"
    monkeypatch.setattr(choice, "cpu_has_native_bf16", lambda: False)
    assert resolve_dtype("auto", "cpu") == "float32"
    assert resolve_dtype("float32", "cuda") == "float32"


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
