"""LangChain adapter: the local embedding model as a `langchain_core` `Embeddings`.

LangChain stays at the edge: this is the only module of `embed` that imports it.
The vectors are those the index holds (L2-normalized, the same model and engine
choice as `RAG_EMBEDDING_*`'s defaults), so a LangChain chain can embed with the
very model the product searches with, offline. LangChain's own standard embeddings
tests run against it (tests/embed/test_langchain_embeddings.py).

    from embed.langchain_embeddings import LocalEmbeddings
    embeddings = LocalEmbeddings()                      # packaged all-MiniLM-L6-v2, CPU
    embeddings.embed_query("What does ELBO stand for?") # 384 floats
    LocalEmbeddings(embedder=my_embedder)               # any `embed.embedder.Embedder`

>>> from tests.fakes import FakeEmbedder
>>> wrapped = LocalEmbeddings(embedder=FakeEmbedder(dim=4))
>>> vector = wrapped.embed_query("red apples")
>>> len(vector), round(sum(x * x for x in vector), 3)
(4, 1.0)
>>> len(wrapped.embed_documents(["a", "b"])), wrapped.embed_documents([])
(2, [])
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from core.settings import packaged_embedding_model


class LocalEmbeddings(BaseModel, Embeddings):
    """`Embeddings` over a local sentence-transformers folder (default: the packaged one)."""

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    model: Path | None = Field(None, description="sentence-transformers folder; None: packaged.")
    device: str = Field("cpu", description="torch device: cpu, cuda, ...")
    batch_size: int = Field(32, ge=1, le=4096, description="Texts per embedding batch.")
    dtype: str = Field("auto", description="As RAG_EMBEDDING_DTYPE.")
    backend: str = Field("auto", description="As RAG_EMBEDDING_BACKEND.")
    cache_dir: Path | None = Field(None, description="Where OpenVINO conversions are kept.")
    embedder: Any = Field(None, description="An `Embedder` to wrap instead (loaded once).")
    _loaded: Any = PrivateAttr(default=None)

    def _engine(self) -> Any:
        if self.embedder is not None:
            return self.embedder
        if self._loaded is None:
            from embed.embedder import SentenceTransformerEmbedder

            self._loaded = SentenceTransformerEmbedder(
                self.model or packaged_embedding_model(),
                device=self.device,
                batch_size=self.batch_size,
                dtype=self.dtype,
                backend=self.backend,
                cache_dir=self.cache_dir,
            )
        return self._loaded

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self._engine().embed(list(texts)).astype(float).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]
