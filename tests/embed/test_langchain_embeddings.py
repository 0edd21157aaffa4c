"""LangChain's own standard embeddings suites against our `Embeddings` adapter.

The unit suite builds it around the fast fake; the integration suite embeds with the
real packaged model (marked `model`), and its vectors are checked against the
embedder the index uses: the same numbers, so a chain searches as the product does.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests

from embed.langchain_embeddings import LocalEmbeddings
from tests.fakes import FakeEmbedder


class TestLocalEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[LocalEmbeddings]:
        return LocalEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"embedder": FakeEmbedder()}


def real_params() -> dict:
    return {"cache_dir": Path(os.environ["RAG_MODEL_CACHE_DIR"])}  # set by tests/conftest.py


@pytest.mark.model
@pytest.mark.slow
class TestLocalEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[LocalEmbeddings]:
        return LocalEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return real_params()


@pytest.mark.model
@pytest.mark.slow
def test_the_vectors_are_the_ones_the_index_is_built_with():
    from core.settings import Settings
    from wiring.root import load_embedder

    texts = ["What does ELBO stand for?", "Evidence Lower Bound, used in training VAEs."]
    ours = np.array(LocalEmbeddings(**real_params()).embed_documents(texts))
    settings = Settings(model_cache_dir=real_params()["cache_dir"])
    index_side = load_embedder(settings).embed(texts)
    assert ours.shape == (2, 384)
    assert np.allclose(ours, index_side, atol=1e-6)
    assert np.allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-3)
