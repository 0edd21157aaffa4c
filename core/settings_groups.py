"""The groups of `core.settings.Settings`: each knob with its bounds and what it does.

A group refuses names it does not know, so a typo is an error rather than a silent default:

>>> SearchSettings(pasages=3)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for SearchSettings
pasages
  Extra inputs are not permitted ...
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator


class _Group(BaseModel):
    # NaN and infinity pass every bound check unnoticed (NaN <= 86400 is False, and
    # pydantic would say "should be <= 86400"): refused as not a number instead.
    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_default=True, allow_inf_nan=False
    )


def _not_empty(value: object) -> object:
    """An empty path would mean the current folder (Path("") is "."): never what was meant."""
    if isinstance(value, str) and not value.strip():
        raise ValueError(
            "is empty (an empty path would mean the current folder); give a path, or unset "
            "the variable to get the default"
        )
    return value


class PathSettings(_Group):
    """Where things live on disk."""

    _paths_not_empty = field_validator("*", mode="before")(_not_empty)

    index_dir: Path = Field(Path("data/index"), description="Directory of the search index.")
    documents_dir: Path = Field(Path("data/documents"), description="Where uploaded PDFs are kept.")
    models_dir: Path = Field(Path("models"), description="Where GGUF model files are looked for.")
    conversations_dir: Path = Field(
        Path("data/conversations"),
        description="Each browser session's conversation, kept so that a reload shows it again.",
    )
    model_cache_dir: Path = Field(
        Path("data/cache"),
        description="Where the embedding model converted for OpenVINO or ONNX Runtime is kept, "
        "with checksums (`python -m embed.prepare` fills it; docs/embedding.md).",
    )
    ocr_cache_dir: Path = Field(
        Path("data/cache/ocr"), description="OCR results, kept by page image hash."
    )


class EmbeddingSettings(_Group):
    """The sentence-transformers model that turns chunks and questions into vectors."""

    model: Path | None = Field(
        None, description="Local sentence-transformers folder; default: packaged all-MiniLM-L6-v2."
    )
    batch_size: int = Field(32, ge=1, le=4096, description="Texts per embedding batch.")
    device: str = Field(
        "auto",
        min_length=1,
        description="torch device for embeddings: auto (the first CUDA GPU torch can use, "
        "else the CPU), cpu, cuda, cuda:N, ...",
    )
    dtype: Literal["auto", "float32", "bfloat16", "float16", "int8"] = Field(
        "auto",
        description="auto: chosen per CPU from its instruction sets (docs/embedding.md), "
        "float16 on CUDA; int8: OpenVINO or ONNX Runtime.",
    )
    backend: Literal["auto", "torch", "openvino", "onnx"] = Field(
        "auto",
        description="auto: chosen per CPU with the precision (docs/embedding.md): OpenVINO, "
        "or ONNX Runtime on AVX2 CPUs without VNNI; torch on CUDA.",
    )

    _model_not_empty = field_validator("model", mode="before")(_not_empty)


class IngestSettings(_Group):
    """Reading PDFs, cutting them into chunks and writing the index."""

    pdf_backend: Literal["pdfium", "pypdf"] = Field(
        "pdfium", description="Text extractor; the other one is the fallback."
    )
    workers: int = Field(0, ge=0, le=256, description="Parser processes; 0 = automatic.")
    file_timeout_seconds: float = Field(
        300.0, gt=0, le=86_400, description="A PDF whose parsing stalls this long is skipped."
    )
    follow_symlinks: bool = Field(
        True, description="Follow symbolic links to files and folders (loops are detected)."
    )
    parser_memory_mb: int = Field(
        2048,
        ge=0,
        le=1_048_576,
        description="Memory a parser process may add while parsing; 0 = no limit.",
    )
    # In tokens of the embedding model (all-MiniLM-L6-v2 reads at most 256).
    chunk_tokens: int = Field(
        192, ge=16, le=8192, description="Chunk size in embedding-model tokens."
    )
    chunk_overlap: int = Field(
        32, ge=0, le=8191, description="Tokens shared by consecutive chunks (< chunk_tokens)."
    )
    chunk_format: int = Field(
        2,
        ge=1,
        le=2,
        description="2: chunks carry their document title and section path, embedded and "
        "keyword-indexed as a short header; 1: plain chunks (indexes built before).",
    )
    checkpoint_seconds: float = Field(
        60.0,
        gt=0,
        le=86_400,
        description="Commit finished files at least this often during an ingest.",
    )
    lock_timeout_seconds: float = Field(
        10.0,
        ge=0,
        le=86_400,
        description="How long an ingest waits for another one on the same index.",
    )
    # Caps per file (docs/limits.md): a few KB of PDF can expand to millions of characters.
    file_max_chars: int = Field(
        20_000_000,
        ge=1_000,
        le=2_000_000_000,
        description="A PDF whose extracted text passes this many characters is skipped, with "
        "the reason (about 8,000 pages of dense text; it bounds the memory one file holds).",
    )
    file_max_expansion: float = Field(
        20.0,
        ge=0,
        le=1_000_000,
        description="Past 250,000 characters, a PDF whose text passes this many characters "
        "per byte of the file is skipped as a text bomb (real PDFs: at most 1.4); 0 = no check.",
    )
    file_max_chunks: int = Field(
        20_000,
        ge=10,
        le=100_000_000,
        description="A PDF that passes this many chunks is skipped, with the reason (it bounds "
        "the embedding time one file costs: about 40 min at 8 chunks/s).",
    )
    file_max_seconds: float = Field(
        0.0,
        ge=0,
        le=604_800,
        description="A PDF not parsed, chunked and embedded within this many seconds is "
        "skipped; 0 = no limit (the app has its own: RAG_APP_FILE_MAX_SECONDS).",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> IngestSettings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        return self


class OcrSettings(_Group):
    """OCR of scanned pages (ingest.ocr): only pages without a usable text layer."""

    enabled: bool = Field(True, description="Read pages without a usable text layer by OCR.")
    engine: Literal["tesseract", "rapidocr"] = Field(
        "tesseract", description="tesseract (apt, `make ocr`; measured best) or rapidocr (pip)."
    )
    languages: str = Field(
        "eng",
        pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$",
        description="Tesseract languages, e.g. eng or eng+fra (each needs tesseract-ocr-LANG).",
    )
    dpi: int = Field(300, ge=72, le=600, description="Resolution pages are OCR'd at.")
    min_confidence: float = Field(
        0.6, ge=0.0, le=1.0, description="A page OCR'd with less mean confidence is warned."
    )


class SearchSettings(_Group):
    """Hybrid search (`retrieval.search.Retriever`)."""

    passages: int = Field(
        4,
        ge=1,
        le=50,
        description="Passages per question: returned by search and given to the model.",
    )
    relevance_floor: float = Field(
        0.24,
        ge=0.0,
        le=1.0,
        description="A question whose best passage scores below this relevance (0..1) gets "
        "no passages; calibrated on the question sets (docs/decisions.md).",
    )
    dense_candidates: int = Field(50, ge=1, le=2000, description="Chunks from vector search.")
    keyword_candidates: int = Field(
        50, ge=0, le=2000, description="Chunks from keyword (BM25) search; 0 turns it off."
    )
    keyword_postings_budget: int = Field(
        20_000,
        ge=1000,
        le=100_000_000,
        description="Above this many postings, keyword search selects chunks by a question's "
        "rarer terms and scores them with all (large collections; see index.keyword).",
    )
    vector_index: Literal["auto", "flat", "ivf"] = Field(
        "auto", description="auto: exact search below ivf_min_chunks, approximate IVF above."
    )
    ivf_min_chunks: int = Field(250_000, ge=1, description="Where `auto` switches to IVF.")
    ivf_nprobe: int = Field(
        256,
        ge=1,
        le=65_536,
        description="IVF cells visited per question: more is slower and more exact.",
    )
    rerank: bool = Field(
        True,
        description="Re-score the fused top 10 with the chunk cosine, rare-term proximity, "
        "phrase and section-title matches (retrieval.rerank).",
    )
    rerank_sentences: bool = Field(
        True,
        description="In the re-scoring, also embed each sentence of the top 10 and count the "
        "question's best sentence cosine (retrieval.sentences): finds the answer to questions "
        "worded unlike the documents, at the cost of one embedding batch per question.",
    )
    verify_index: bool = Field(True, description="Check index file checksums when loading.")
    max_question_chars: int = Field(
        2000,
        ge=20,
        le=100_000,
        description="Longest question accepted, in characters; a longer one is refused at once "
        "with this limit (a pasted document is no question: it would be searched and read for "
        "minutes).",
    )


class LlmSettings(_Group):
    """The local language model (llama.cpp). Without a model, answers quote the passages."""

    model: Path | None = Field(
        None, description="GGUF model file; default: the only (or newest) .gguf in models_dir."
    )
    n_ctx: int = Field(
        4096, ge=128, le=1_048_576, description="Context window in tokens (prompt + answer)."
    )
    n_gpu_layers: int = Field(
        0, ge=-1, le=100_000, description="Layers on the GPU: 0 = CPU, -1 = all."
    )
    n_threads: int = Field(0, ge=0, le=1024, description="CPU threads; 0 = automatic.")
    n_batch: int = Field(512, ge=1, le=65_536, description="Prompt tokens evaluated per batch.")
    temperature: float = Field(
        0.0, ge=0.0, le=2.0, description="0 = greedy: the same question gets the same answer."
    )
    top_p: float = Field(0.95, gt=0.0, le=1.0, description="Nucleus sampling: probability kept.")
    top_k: int = Field(40, ge=0, le=100_000, description="Most likely tokens kept; 0 = no cut.")
    repeat_penalty: float = Field(
        1.1, ge=1.0, le=2.0, description="Penalty on tokens already said; 1 = none."
    )
    max_tokens: int = Field(
        200,
        ge=16,
        le=32_768,
        description="Longest answer, in tokens (reserved); answers are kept short.",
    )
    seed: int | None = Field(None, description="Sampling seed, for reproducible answers.")
    history_turns: int = Field(4, ge=0, le=100, description="Earlier question/answer pairs kept.")
    rewrite_followups: bool = Field(
        True, description="Let the model rewrite follow-up questions into search queries."
    )
    second_try: bool = Field(
        True,
        description="When the model's answer holds nothing the passages support (a refusal), "
        "ask it once more with only the window of the passages nearest the question "
        "(llm.second_try); that answer is checked like the first.",
    )
    second_try_min_cosine: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        description="Ask again only if that window's nearest sentence's cosine with the question "
        "is at least this.",
    )
    second_try_min_answer_cosine: float = Field(
        0.4,
        ge=0.0,
        le=1.0,
        description="The second answer is shown only if its first supported sentence's cosine "
        "with the question is at least this (0: no such check).",
    )
    second_try_words: int = Field(
        90,
        ge=10,
        le=2000,
        description="Words of that passage the second ask shows, around its nearest sentence.",
    )
    second_try_keyword_weight: float = Field(
        0.4,
        ge=0.0,
        le=10.0,
        description="How much a window's share of the question's rarer words counts, beside "
        "its nearest sentence's cosine, when the second ask's window is chosen (0: cosine only).",
    )
    second_try_context_sentences: int = Field(
        2,
        ge=0,
        le=20,
        description="Sentences the second ask's window keeps before the sentence it is grown from.",
    )
    verbose: bool = Field(False, description="Show llama.cpp's own log on stderr.")

    _model_not_empty = field_validator("model", mode="before")(_not_empty)


class LlmServerSettings(_Group):
    """A model on an OpenAI-compatible server (llama.cpp, vLLM, Ollama, LM Studio) instead of
    a local GGUF (`llm.openai_backend`; docs/served-model.md)."""

    url: str | None = Field(
        None,
        description="Base URL of the server's OpenAI-compatible API, e.g. "
        "http://127.0.0.1:8080/v1; when set, it answers instead of any local GGUF.",
    )
    api_key: SecretStr | None = Field(
        None, description="Sent as 'Authorization: Bearer KEY' when the server wants one."
    )
    served_model: str | None = Field(
        None, description="The model's name on the server; default: the only one it lists."
    )
    timeout_seconds: float = Field(
        120.0,
        gt=0,
        le=86_400,
        description="Longest wait for the server: to connect, and for each piece of an answer "
        "(the first one comes after the whole prompt is read).",
    )
    token_counting: Literal["auto", "gguf", "server", "estimate"] = Field(
        "auto",
        description="How prompt tokens are counted for the context budget: gguf (the "
        "tokenizer of RAG_LLM_TOKENIZER, exact), server (its tokenize endpoint, exact), "
        "estimate (a stated safety margin); auto: gguf if a tokenizer is named, else server "
        "if it has an endpoint, else estimate.",
    )
    tokenizer: Path | None = Field(
        None,
        description="The served model's GGUF file, read for its vocabulary and chat "
        "template only (no weights), for exact counts without a round trip.",
    )

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is None or not url.strip():
            return None
        url = url.strip().rstrip("/")
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"{url!r} is not an http:// or https:// URL")
        return url

    @model_validator(mode="after")
    def _gguf_needs_a_file(self) -> LlmServerSettings:
        if self.token_counting == "gguf" and self.tokenizer is None:
            raise ValueError("token_counting 'gguf' needs tokenizer (RAG_LLM_TOKENIZER)")
        return self


class AppSettings(_Group):
    """The browser page."""

    upload_max_mb: int = Field(
        200, ge=1, le=100_000, description="Largest PDF accepted by upload, in MB."
    )
    upload_max_files: int = Field(
        50, ge=1, le=100_000, description="Most PDFs accepted in one upload."
    )
    ingest_roots: str = Field(
        "",
        description="Folders the app may ingest from, separated by ':'; "
        "default: documents_dir and the user's home.",
    )
    conversations_keep_days: int = Field(
        90,
        ge=0,
        le=36_500,
        description="Saved conversations untouched this long are deleted; 0 = never.",
    )
    page_max_pixels: int = Field(
        8_000_000,
        ge=250_000,
        le=100_000_000,
        description="Most pixels of one rendered page in the sources, at any zoom; a larger "
        "page is drawn smaller. One render needs about 8 bytes per pixel (64 MB at 8 MP).",
    )
    app_file_max_seconds: float = Field(
        900.0,
        ge=0,
        le=604_800,
        description="In the app, a PDF not ingested within this many seconds is skipped (one "
        "file must not hold the only ingest slot for hours); 0 = no limit.",
    )


class StoreSettings(_Group):
    """Where the index lives: the local directory (`index_dir`), or PostgreSQL + pgvector."""

    url: str = Field(
        "",
        description="postgresql://... (any libpq URI, Unix sockets too): the index, documents, "
        "conversations and ingest progress live in that database, shared by every app and "
        "ingest process (docs/deployment.md); empty: the local index directory.",
    )
    pool_size: int = Field(
        8, ge=1, le=1000, description="Database connections per app process for searches."
    )
    ef_search: int = Field(
        100,
        ge=10,
        le=1000,
        description="HNSW candidates visited per search (pgvector's hnsw.ef_search): more "
        "is slower and more exact; at least the dense candidates.",
    )


class ApiSettings(_Group):
    """The OpenAI-compatible HTTP API (`python -m api`) and the model's queue of questions."""

    host: str = Field(
        "127.0.0.1",
        min_length=1,
        description="Address the API listens on; beyond localhost, set api_keys too.",
    )
    port: int = Field(8000, ge=1, le=65_535, description="Port the API listens on.")
    keys: SecretStr = Field(
        SecretStr(""),
        description="Bearer keys the API accepts, separated by commas or spaces; "
        "empty: no key needed (localhost only).",
    )
    queue_max: int = Field(
        16,
        ge=0,
        le=10_000,
        description="API questions that may wait for the model; one more gets 503 and Retry-After.",
    )
    max_request_kb: int = Field(
        1024,
        ge=1,
        le=1_048_576,
        description="Largest JSON request body, in kB (uploads: upload_max_mb per file).",
    )
    max_question_chars: int = Field(
        4000, ge=1, le=1_000_000, description="Longest question the API accepts, in characters."
    )
    model_turns: Literal["machine", "process"] = Field(
        "machine",
        description="machine: processes of this user on this machine (the app and the API) "
        "take turns on the model, one answer each; process: only within one process.",
    )

    def key_list(self) -> tuple[str, ...]:
        """The accepted keys (never logged).

        >>> ApiSettings(keys="k1, k2  k3").key_list()
        ('k1', 'k2', 'k3')
        """
        return tuple(k for k in re.split(r"[,\s]+", self.keys.get_secret_value()) if k)


# Every group, by its name in `Settings`, in the order the settings are documented.
GROUPS: dict[str, type[_Group]] = {
    "paths": PathSettings,
    "embedding": EmbeddingSettings,
    "ingest": IngestSettings,
    "ocr": OcrSettings,
    "search": SearchSettings,
    "llm": LlmSettings,
    "llm_server": LlmServerSettings,
    "app": AppSettings,
    "store": StoreSettings,
    "api": ApiSettings,
}
