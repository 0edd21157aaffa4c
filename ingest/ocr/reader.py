"""A PDF's pages as text, OCR'd where `route` says the text layer will not do.

Runs inside a parser worker, under its time and memory limits. `prepare(i)`
does the slow part for page index i (the caller reports progress after each
OCR'd page); `raw_text(i)` then hands the chosen text to the normal cleaning,
so OCR text gets the same header/footer removal as a text layer.
"""

from __future__ import annotations

import contextlib
import importlib.util
import time
from dataclasses import dataclass, replace
from pathlib import Path

from core.errors import ConfigError
from core.types import PageText
from ingest.ocr.cache import OcrCache, cache_key
from ingest.ocr.config import OcrConfig
from ingest.ocr.engines import ENGINES, OcrEngine, OcrResult, OcrUnavailable
from ingest.ocr.preprocess import erase_dot_leaders
from ingest.ocr.render import image_coverage, render_page
from ingest.ocr.report import OcrStats
from ingest.ocr.route import is_short, looks_scanned, text_layer_problem, visible_chars

# Goes into the cache key with the engine's version: a change in how pages are
# prepared or read must not be answered by results of the old way.
READING = "2: dot leaders erased, number columns attached, lists read as one block"
LIST_PAGE_LEADERS = 3  # lines with dot leaders that make a page a list (contents, index)


def make_engine(name: str) -> OcrEngine:
    """The engine called `name`; its programs and models are checked on first use."""
    if name == "tesseract":
        from ingest.ocr.tesseract import TesseractEngine

        return TesseractEngine()
    if name == "rapidocr":
        from ingest.ocr.rapid import RapidOcrEngine

        return RapidOcrEngine()
    raise ConfigError(
        f"unknown OCR engine {name!r}", hint=f"set RAG_OCR_ENGINE to one of {', '.join(ENGINES)}"
    )


@dataclass(frozen=True)
class PageRead:
    """One page that went through OCR: how long it took, and whether the cache answered."""

    page: int
    seconds: float
    cached: bool


def rapidocr_installed() -> bool:
    return importlib.util.find_spec("rapidocr") is not None


class OcrReader:
    """Wraps an opened PDF (`PdfDocumentText`); use as a context manager."""

    def __init__(self, doc, path: Path, config: OcrConfig, engine: OcrEngine | None = None):
        self.doc = doc
        self.path = Path(path)
        self.config = config
        self.backend = doc.backend
        self.page_count = doc.page_count
        self._engine = engine
        self._pdf = None  # a PDFium document for rendering, opened on the first short page
        self._cache = OcrCache(config.cache_path)
        self._texts: dict[int, str] = {}
        self._confidence: dict[int, float] = {}
        self._counts = {"engine": 0, "cached": 0, "needed": 0}
        self._seconds = 0.0
        self._unreadable: list[int] = []
        self._failed: list[int] = []
        self._note = ""

    @property
    def failed_pages(self) -> int:
        return self.doc.failed_pages

    def raw_text(self, index: int) -> str:
        text = self._texts.pop(index, None)
        return self.doc.raw_text(index) if text is None else text

    def prepare(self, index: int) -> PageRead | None:
        """Choose page `index`'s text; returns what OCR did, or None when it was not needed."""
        failed_before = getattr(self.doc, "failed_pages", 0)
        text = self.doc.raw_text(index)
        self._texts[index] = text
        if getattr(self.doc, "failed_pages", 0) > failed_before:
            return None  # the page could not be loaded: it cannot be rendered for OCR either
        if not self.config.enabled or self._route(index, text) is None:
            return None
        self._counts["needed"] += 1
        started = time.monotonic()
        result, cached = self._read(index)
        seconds = time.monotonic() - started
        self._seconds += seconds
        page = index + 1
        if result is not None and result.text.strip():
            if visible_chars(result.text) > visible_chars(text) or text_layer_problem(text):
                self._texts[index] = result.text
                self._confidence[page] = result.confidence or 0.0
        elif result is not None and not text.strip():
            self._unreadable.append(page)
        return PageRead(page, seconds, cached) if result is not None else None

    def with_confidence(self, pages: list[PageText]) -> list[PageText]:
        """The batch's pages, OCR'd ones carrying their confidence."""
        return [
            replace(p, ocr_confidence=self._confidence[p.page]) if p.page in self._confidence else p
            for p in pages
        ]

    def stats(self) -> OcrStats:
        note = self._note
        if note:
            needed = self._counts["needed"]
            pages = "1 page needs" if needed == 1 else f"{needed} pages need"
            note = f"{pages} OCR, but {note}"
        return OcrStats(
            pages=tuple(sorted(self._confidence.items())),
            engine_pages=self._counts["engine"],
            cached=self._counts["cached"],
            seconds=self._seconds,
            unreadable=tuple(self._unreadable),
            failed=tuple(self._failed),
            note=note,
            engine=self._engine.name if self._engine is not None else "",
        )

    def _route(self, index: int, text: str) -> str | None:
        problem = text_layer_problem(text)
        if problem == "no text layer" and self._blank(index):
            return None  # a page left blank (between chapters): nothing to read
        if problem is None and is_short(text):
            page = self._page(index)
            if page is not None:
                with contextlib.closing(page):
                    if looks_scanned(image_coverage(page)):
                        problem = "scan with a short text layer"
        return problem

    def _blank(self, index: int) -> bool:
        page = self._page(index)
        if page is None:
            return False
        with contextlib.closing(page):
            return next(iter(page.get_objects(max_depth=1)), None) is None

    def _page(self, index: int):
        if self._pdf is None:
            import pypdfium2 as pdfium

            try:
                self._pdf = pdfium.PdfDocument(str(self.path))
            except Exception:  # pypdf could open it, PDFium cannot: nothing to render
                self._pdf = False
        if self._pdf is False:
            return None
        try:
            return self._pdf[index]
        except Exception:
            return None

    def _read(self, index: int) -> tuple[OcrResult | None, bool]:
        """OCR of the page, from the cache when the same picture was read before."""
        if self._note:
            return None, False
        try:
            engine = self._engine_or_fallback()
        except OcrUnavailable as err:
            self._note = str(err)
            return None, False
        page = self._page(index)
        if page is None:
            self._failed.append(index + 1)
            return None, False
        try:
            with contextlib.closing(page):
                image = render_page(page, self.config.dpi, self.config.max_pixels)
            version = f"{engine.version} / {READING}"
            key = cache_key(image.digest, engine.name, version, self.config.languages)
            found = self._cache.get(key)
            if found is not None:
                self._counts["cached"] += 1
                return found, True
            image, leader_lines = erase_dot_leaders(image)
            result = engine.read(
                image,
                self.config.languages,
                self.config.page_timeout_seconds,
                single_block=leader_lines >= LIST_PAGE_LEADERS,
            )
        except OcrUnavailable as err:
            self._note = str(err)
            return None, False
        except MemoryError:
            raise  # the worker reports the file: RAG_PARSER_MEMORY_MB
        except Exception:  # a timeout or a crash of the engine costs this page only
            self._failed.append(index + 1)
            return None, False
        self._counts["engine"] += 1
        self._cache.put(key, result)
        return result, False

    def _engine_or_fallback(self) -> OcrEngine:
        if self._engine is not None:
            return self._engine
        try:
            engine = make_engine(self.config.engine)
            engine.version  # noqa: B018  (finds a missing program now)
        except OcrUnavailable:
            # No tesseract, but RapidOCR is installed: read with it rather than not at all.
            if self.config.engine != "tesseract" or not rapidocr_installed():
                raise
            engine = make_engine("rapidocr")
        self._engine = engine
        return engine

    def close(self) -> None:
        if self._pdf:
            self._pdf.close()
        self._pdf = None
        self._cache.close()

    def __enter__(self) -> OcrReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
