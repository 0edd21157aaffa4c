"""Settings in, the plain values each part of the library takes out.

Only the edges (the CLIs, the app, the composition root) read `Settings`; each
library class takes the few values it needs, as a small frozen record made here:

>>> from core.settings import Settings
>>> search_params(Settings(top_k=7, vector_index="flat")).passages
7
>>> ingest_options(Settings(chunk_overlap=8)).chunking
Chunking(tokens=None, overlap=8, format=2)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.errors import RagError
from core.settings import Settings
from core.types import IngestReport
from embed.embedder import SentenceTransformerEmbedder
from index import IndexStore
from index.ann import VectorPolicy
from ingest.ocr.config import OcrConfig
from ingest.options import Chunking, IngestOptions
from llm.chat import ChatOptions
from llm.llama_cpp_backend import LlamaOptions
from llm.types import GenerationParams
from retrieval.search import SearchParams


def chat_options(settings: Settings) -> ChatOptions:
    """What a chat session needs: passages per question, history, sampling."""
    llm = settings.llm
    return ChatOptions(
        passages=settings.search.passages,
        history_turns=llm.history_turns,
        rewrite_followups=llm.rewrite_followups,
        max_question_chars=settings.search.max_question_chars,
        sampling=GenerationParams(
            max_tokens=llm.max_tokens,
            temperature=llm.temperature,
            top_p=llm.top_p,
            top_k=llm.top_k,
            repeat_penalty=llm.repeat_penalty,
            seed=llm.seed,
        ),
    )


def llama_options(settings: Settings) -> LlamaOptions:
    """How llama.cpp loads the model."""
    llm = settings.llm
    return LlamaOptions(
        n_ctx=llm.n_ctx,
        n_gpu_layers=llm.n_gpu_layers,
        n_threads=llm.n_threads,
        n_batch=llm.n_batch,
        verbose=llm.verbose,
    )


def search_params(settings: Settings) -> SearchParams:
    """What the hybrid retriever needs."""
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
        rerank_sentences=s.rerank_sentences,
    )


def ingest_options(settings: Settings) -> IngestOptions:
    """What an ingest run needs. Chunk sizes not set explicitly are left to the index."""
    i, s = settings.ingest, settings.search
    chosen = i.model_fields_set
    return IngestOptions(
        index_dir=settings.paths.index_dir,
        chunking=Chunking(
            tokens=i.chunk_tokens if "chunk_tokens" in chosen else None,
            overlap=i.chunk_overlap if "chunk_overlap" in chosen else None,
            format=i.chunk_format,
        ),
        pdf_backend=i.pdf_backend,
        workers=i.workers,
        file_timeout_seconds=i.file_timeout_seconds,
        follow_symlinks=i.follow_symlinks,
        parser_memory_mb=i.parser_memory_mb,
        checkpoint_seconds=i.checkpoint_seconds,
        lock_timeout_seconds=i.lock_timeout_seconds,
        embedding_batch_size=settings.embedding.batch_size,
        file_max_chars=i.file_max_chars,
        file_max_expansion=i.file_max_expansion,
        file_max_chunks=i.file_max_chunks,
        file_max_seconds=i.file_max_seconds,
        ocr=ocr_config(settings),
        vectors=VectorPolicy(s.vector_index, s.ivf_min_chunks, s.ivf_nprobe),
    )


def ocr_config(settings: Settings) -> OcrConfig:
    """What the parser workers need of the OCR settings (plain and picklable)."""
    o = settings.ocr
    return OcrConfig(
        enabled=o.enabled,
        engine=o.engine,
        languages=o.languages,
        dpi=o.dpi,
        min_confidence=o.min_confidence,
        cache_dir=Path(os.path.expanduser(settings.paths.ocr_cache_dir)),
        page_timeout_seconds=min(settings.ingest.file_timeout_seconds, 120.0),
    )


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
    from dataclasses import replace

    from ingest.pipeline import chunking_config, run_ingest
    from wiring.stores import open_store

    embedder = embedder if embedder is not None else load_embedder(settings)
    store = store if store is not None else open_store(settings)
    options = replace(ingest_options(settings), file_max_seconds_name=seconds_name)
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
