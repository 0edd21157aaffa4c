"""The progress an ingest reports to its caller (a progress bar, the CLI's line, the API)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress bars. `pages_total` is an estimate until every file is opened."""

    files_done: int
    files_total: int
    pages_done: int
    pages_total: int
    chunks: int
    current: str
    elapsed: float
    ocr_pages: int = 0  # pages read by OCR so far (from the cache too)
    ocr_rate: float = 0.0  # OCR pages per second of wall-clock time since OCR began
    # Bytes of the files to read, and of those done (a file in flight counts by its pages
    # read): exact from the start, so a bar over them never moves its end.
    bytes_done: int = 0
    bytes_total: int = 0
    chunks_made: int = 0  # chunks cut so far; `chunks` of them are embedded (or reused)


ProgressCallback = Callable[[Progress], None]
