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
from pathlib import Path

from core.settings import Settings
from index.ivf_search import VectorPolicy
from ingest.ocr.config import OcrConfig
from ingest.options import Chunking, IngestOptions
from llm.chat import ChatOptions
from llm.llama_cpp_backend import LlamaOptions
from llm.openai_backend import ServedOptions
from llm.second_try import SecondTryOptions
from llm.types import GenerationParams
from retrieval.search import SearchParams


def chat_options(settings: Settings) -> ChatOptions:
    """What a chat session needs: passages per question, history, sampling."""
    llm = settings.llm
    return ChatOptions(
        passages=settings.search.passages,
        history_turns=llm.history_turns,
        rewrite_followups=llm.rewrite_followups,
        second_try=SecondTryOptions(
            enabled=llm.second_try,
            min_cosine=llm.second_try_min_cosine,
            window_words=llm.second_try_words,
            min_answer_cosine=llm.second_try_min_answer_cosine,
            keyword_weight=llm.second_try_keyword_weight,
            context_sentences=llm.second_try_context_sentences,
        ),
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


def served_options(settings: Settings) -> ServedOptions | None:
    """Where the served model is (`RAG_LLM_URL`), or None for a model in this process."""
    served = settings.llm_server
    if served.url is None:
        return None
    key = served.api_key.get_secret_value() if served.api_key is not None else None
    return ServedOptions(
        url=served.url,
        api_key=key or None,
        model=served.served_model or None,
        timeout_s=served.timeout_seconds,
        n_ctx=settings.llm.n_ctx,
        token_counting=served.token_counting,
        tokenizer=Path(os.path.expanduser(served.tokenizer)) if served.tokenizer else None,
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
