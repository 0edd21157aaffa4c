"""Wiring: the one place that knows which retriever and which model back a chat session.

Everything else in `llm/` talks to the `Retriever` and `Generator` protocols.
Today the retriever is the dense search of `retrieval.dense`; when the hybrid
retriever lands, `open_retriever` is the only function to change.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.settings import Settings
from core.types import Passage
from llm.chat import ChatSession
from llm.model_file import find_model_file
from llm.protocols import Generator, Retriever

# Searching past the first k when a file filter is given, so k hits remain after filtering.
_FILTER_OVERFETCH = 8


class DenseRetriever:
    """`retrieval.dense` behind the `Retriever` protocol (no relevance floor yet)."""

    def __init__(self, snapshot: Any, embedder: Any) -> None:
        from retrieval.dense import check_embedder

        check_embedder(snapshot, embedder)
        self._snapshot = snapshot
        self._embedder = embedder

    def search(self, query: str, k: int = 5, files: Sequence[str] | None = None) -> list[Passage]:
        from retrieval.dense import dense_search

        if not files:
            return dense_search(self._snapshot, self._embedder, query, k)
        wanted = set(files)
        hits = dense_search(self._snapshot, self._embedder, query, k * _FILTER_OVERFETCH)
        return [p for p in hits if p.source in wanted][:k]


def load_embedder(settings: Settings) -> Any:
    from ingest.embed import load_embedder as load

    return load(settings)


def open_retriever(settings: Settings, embedder: Any | None = None) -> Retriever:
    """The retriever over the index at `settings.index_dir` (raises IndexNotFoundError)."""
    from ingest.store import IndexSnapshot

    snapshot = IndexSnapshot.open(settings.index_dir, verify=settings.verify_index)
    return DenseRetriever(snapshot, embedder or load_embedder(settings))


def load_generator(settings: Settings) -> Generator | None:
    """The shared local model, or None when no .gguf file is configured or found."""
    path = find_model_file(settings)
    if path is None:
        return None
    from llm.llama_cpp_backend import load_llama_generator

    return load_llama_generator(path, settings)


def build_session(
    settings: Settings,
    *,
    retriever: Retriever | None = None,
    generator: Generator | None = None,
    embedder: Any | None = None,
) -> ChatSession:
    """A chat session over the configured index and model (extractive without a model)."""
    embedder = embedder if embedder is not None else load_embedder(settings)
    retriever = retriever or open_retriever(settings, embedder)
    return ChatSession(retriever, generator, settings, embedder=embedder)
