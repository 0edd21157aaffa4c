"""What one ingest run needs to know: plain values, filled from the settings at the edges.

>>> options = IngestOptions(Path("data/index"), chunking=Chunking(tokens=128, overlap=16))
>>> options.chunking.tokens, options.parser_processes() >= 1
(128, True)
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from index.ivf_search import VectorPolicy
from ingest.ocr.config import OcrConfig


@dataclass(frozen=True)
class Chunking:
    """Chunk sizes in embedding-model tokens.

    None: what the existing index was built with (a new default must not lock an index
    out of new documents), else `DEFAULT_TOKENS` / `DEFAULT_OVERLAP`.
    """

    DEFAULT_TOKENS = 192
    DEFAULT_OVERLAP = 32

    tokens: int | None = None
    overlap: int | None = None
    format: int = 2  # 2: chunks carry title and section path; 1: plain (indexes built before)


@dataclass(frozen=True)
class IngestOptions:
    """How `ingest.pipeline.run_ingest` reads, chunks and writes."""

    index_dir: Path
    chunking: Chunking = field(default_factory=Chunking)
    pdf_backend: str = "pdfium"  # the other one is the fallback
    workers: int = 0  # parser processes; 0 = automatic
    file_timeout_seconds: float = 300.0  # a file whose parsing stalls this long is skipped
    follow_symlinks: bool = True
    parser_memory_mb: int = 2048  # 0 = no limit
    checkpoint_seconds: float = 60.0  # commit finished files at least this often
    lock_timeout_seconds: float = 10.0  # wait this long for another ingest on the index
    embedding_batch_size: int = 32  # chunks are embedded in 4 batches' worth at a time
    # Caps per file (docs/limits.md): a few KB of PDF can expand to millions of characters.
    file_max_chars: int = 20_000_000
    file_max_expansion: float = 20.0  # characters of text per byte of file; 0 = no check
    file_max_chunks: int = 20_000
    file_max_seconds: float = 0.0  # 0 = no limit
    file_max_seconds_name: str = "RAG_FILE_MAX_SECONDS"  # the setting named in the reason
    ocr: OcrConfig = field(default_factory=OcrConfig)
    vectors: VectorPolicy = field(default_factory=VectorPolicy)

    def parser_processes(self) -> int:
        """Parser processes: one core is left for embedding, which dominates."""
        if self.workers:
            return self.workers
        return max(1, min(4, (os.cpu_count() or 2) - 1))
