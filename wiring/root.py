"""The composition root: builds the parts from the settings, for the app and every CLI.

Everything else talks to Protocols (`embed.embedder.Embedder`, `index.IndexReader`,
`llm.protocols.Retriever`/`Generator`); here they are bound to sentence-transformers,
the FAISS + SQLite index, the hybrid `retrieval.search.Retriever` and llama.cpp (or a
model server, when `RAG_LLM_URL` is set), with the values `wiring.params` takes from the
settings.

    settings = load_settings()
    embedder = load_embedder(settings)
    with open_retriever(settings, embedder) as retriever:
        session = build_session(settings, retriever=retriever, embedder=embedder,
                                generator=load_generator(settings))
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.errors import RagError
from core.settings import Settings
from core.types import IngestReport
from embed.embedder import SentenceTransformerEmbedder
from embed.protocols import Embedder
from index import IndexReader, IndexStore
from llm.chat import ChatSession
from llm.model_file import find_model_file
from llm.protocols import Generator
from retrieval.search import Retriever
from wiring import params
from wiring.stores import open_store, remove_documents

__all__ = [
    "build_session",
    "ingest_documents",
    "load_embedder",
    "load_generator",
    "open_index",
    "open_retriever",
    "open_store",
    "remove_documents",
]


def open_index(settings: Settings) -> IndexReader:
    """The live generation of the configured index (directory or database), read-only."""
    return open_store(settings).open_reader()


def open_retriever(
    settings: Settings, embedder: Embedder | None = None, store: IndexStore | None = None
) -> Retriever:
    """The hybrid retriever over the live index (raises IndexNotFoundError before an ingest).

    `store`: the one this process keeps (the app: its connections are shared by the
    retrievers of every generation); default: the one the settings name."""
    embedder = embedder if embedder is not None else load_embedder(settings)
    index = (store or open_store(settings)).open_reader()
    try:
        return Retriever(index, embedder, params.search_params(settings), owns_index=True)
    except BaseException:
        index.close()
        raise


def load_generator(settings: Settings) -> Generator | None:
    """The model that answers: the served one when `RAG_LLM_URL` is set (instead of any local
    GGUF), else the shared local model, else None when no .gguf file is configured or found."""
    served = params.served_options(settings)
    if served is not None:
        from llm.openai_backend import load_served_generator

        return load_served_generator(served)
    path = find_model_file(settings.llm.model, settings.paths.models_dir)
    if path is None:
        return None
    from llm.llama_cpp_backend import load_llama_generator  # llama.cpp: only when needed

    return load_llama_generator(path, params.llama_options(settings))


def build_session(
    settings: Settings,
    *,
    retriever: Retriever | None = None,
    generator: Generator | None = None,
    embedder: Embedder | None = None,
) -> ChatSession:
    """A chat session over the configured index and model (extractive without a model)."""
    embedder = embedder if embedder is not None else load_embedder(settings)
    retriever = retriever or open_retriever(settings, embedder)
    return ChatSession(retriever, generator, params.chat_options(settings), embedder=embedder)


def load_embedder(settings: Settings) -> SentenceTransformerEmbedder:
    """The configured embedder (`RAG_EMBEDDING_*`); nothing heavy is loaded yet."""
    e = settings.embedding
    return SentenceTransformerEmbedder(
        settings.embedding_model_path(),
        device=e.device,
        batch_size=e.batch_size,
        dtype=e.dtype,
        backend=e.backend,
        cache_dir=settings.paths.model_cache_dir,
    )


def ingest_documents(
    paths: Sequence[Path],
    settings: Settings,
    *,
    embedder: Any = None,
    rebuild: bool = False,
    on_wait: Any = None,
    store: IndexStore | None = None,
    seconds_name: str = "RAG_FILE_MAX_SECONDS",
    **kwargs: Any,
) -> IngestReport:
    """`ingest.pipeline.run_ingest` with the options, embedder and index writer these
    settings name; `seconds_name`: the setting the per-file time cap came from (named in
    skip reasons)."""
    from ingest.pipeline import chunking_config, run_ingest  # the CLIs' --help stays instant

    embedder = embedder if embedder is not None else load_embedder(settings)
    store = store if store is not None else open_store(settings)
    options = replace(params.ingest_options(settings), file_max_seconds_name=seconds_name)
    existing = None
    if not rebuild:
        try:
            existing = store.committed()
        except RagError:  # a damaged index: the writer says what to do
            existing = None
    chunking = chunking_config(
        options.chunking, embedder.info.max_tokens, existing.chunking if existing else None
    )
    writer = store.open_writer(
        embedding=embedder.info, chunking=chunking, rebuild=rebuild, on_wait=on_wait
    )
    return run_ingest(
        paths,
        options,
        embedder=embedder,
        writer=writer,
        chunking=chunking,
        rebuild=rebuild,
        live=store.committed,
        **kwargs,
    )
