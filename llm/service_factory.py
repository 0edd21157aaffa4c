"""Wiring: the one place that knows which retriever and which model back a chat session.

Everything else in `llm/` talks to the `Retriever` and `Generator` protocols;
here they are bound to the hybrid `retrieval.search.Retriever` and llama.cpp.
"""

from __future__ import annotations

from typing import Any

from core.settings import Settings
from llm.chat import ChatOptions, ChatSession
from llm.model_file import find_model_file
from llm.protocols import Generator, Retriever
from llm.types import GenerationParams


def chat_options(settings: Settings) -> ChatOptions:
    """What a chat session needs of the settings."""
    llm = settings.llm
    return ChatOptions(
        passages=settings.search.passages,
        history_turns=llm.history_turns,
        rewrite_followups=llm.rewrite_followups,
        sampling=GenerationParams(
            max_tokens=llm.max_tokens,
            temperature=llm.temperature,
            top_p=llm.top_p,
            top_k=llm.top_k,
            repeat_penalty=llm.repeat_penalty,
            seed=llm.seed,
        ),
    )


def load_embedder(settings: Settings) -> Any:
    from embed.embedder import load_embedder as load

    return load(settings)


def search_params(settings: Settings) -> Any:
    """What the hybrid retriever needs of the settings (a `retrieval.search.SearchParams`)."""
    from retrieval.search import SearchParams

    s = settings.search
    return SearchParams(
        passages=s.passages,
        relevance_floor=s.relevance_floor,
        dense_candidates=s.dense_candidates,
        keyword_candidates=s.keyword_candidates,
        keyword_postings_budget=s.keyword_postings_budget,
        ivf_nprobe=s.ivf_nprobe,
        exhaustive=s.vector_index == "flat",
        rerank=s.rerank,
    )


def open_retriever(settings: Settings, embedder: Any | None = None) -> Retriever:
    """The retriever over the index at `settings.paths.index_dir` (raises IndexNotFoundError)."""
    from retrieval.search import Retriever as HybridRetriever

    return HybridRetriever.open(
        settings.paths.index_dir,
        embedder or load_embedder(settings),
        search_params(settings),
        verify=settings.search.verify_index,
    )


def load_generator(settings: Settings) -> Generator | None:
    """The shared local model, or None when no .gguf file is configured or found."""
    path = find_model_file(settings.llm.model, settings.paths.models_dir)
    if path is None:
        return None
    from llm.llama_cpp_backend import LlamaOptions, load_llama_generator

    llm = settings.llm
    options = LlamaOptions(
        n_ctx=llm.n_ctx,
        n_gpu_layers=llm.n_gpu_layers,
        n_threads=llm.n_threads,
        n_batch=llm.n_batch,
        verbose=llm.verbose,
    )
    return load_llama_generator(path, options)


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
    return ChatSession(retriever, generator, chat_options(settings), embedder=embedder)
