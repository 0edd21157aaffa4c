"""What the parser workers need to know about OCR: plain, picklable values."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

CACHE_FILE = "ocr-v1.sqlite"


@dataclass(frozen=True)
class OcrConfig:
    """OCR settings as the parser workers see them (built by `wiring.params.ocr_config`).

    >>> OcrConfig().languages
    'eng'
    """

    enabled: bool = True
    engine: str = "tesseract"
    languages: str = "eng"  # tesseract style: "eng", "eng+fra"
    dpi: int = 300
    min_confidence: float = 0.6  # mean word confidence (0..1) below which a page is warned
    cache_dir: Path | None = None  # None: no cache
    page_timeout_seconds: float = 120.0
    max_pixels: int = 25_000_000  # rendered at a lower dpi rather than above (A3 at 300 fits)

    @property
    def cache_path(self) -> Path | None:
        return None if self.cache_dir is None else Path(self.cache_dir) / CACHE_FILE
