"""Wiring: the one place that knows which retriever and which model back a chat session.

Everything else in `llm/` talks to the `Retriever` and `Generator` protocols;
here they are bound to the hybrid `retrieval.search.Retriever` and llama.cpp, with
the values `wiring.params` takes from the settings.
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from llm.chat import ChatSession
from llm.model_file import find_model_file
from llm.protocols import Generator, Retriever
from wiring import params


def open_retriever(settings: Settings, embedder: Any | None = None) -> Retriever:
    """The retriever over the index at `settings.paths.index_dir` (raises IndexNotFoundError)."""
    from retrieval.search import Retriever as HybridRetriever

    return HybridRetriever.open(
        settings.paths.index_dir,
        embedder or params.load_embedder(settings),
        params.search_params(settings),
        verify=settings.search.verify_index,
    )


def load_generator(settings: Settings) -> Generator | None:
    """The shared local model, or None when no .gguf file is configured or found."""
    path = find_model_file(settings.llm.model, settings.paths.models_dir)
    if path is None:
        return None
    from llm.llama_cpp_backend import load_llama_generator

    return load_llama_generator(path, params.llama_options(settings))


def build_session(
    settings: Settings,
    *,
    retriever: Retriever | None = None,
    generator: Generator | None = None,
    embedder: Any | None = None,
) -> ChatSession:
    """A chat session over the configured index and model (extractive without a model)."""
    embedder = embedder if embedder is not None else params.load_embedder(settings)
    retriever = retriever or open_retriever(settings, embedder)
    return ChatSession(retriever, generator, params.chat_options(settings), embedder=embedder)
