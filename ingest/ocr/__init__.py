"""OCR for pages without a usable text layer: routed per page, run locally, cached.

    route.py      which pages need OCR (no text layer, a garbled one, a scan with a few words)
    render.py     PDF page -> grayscale image (pypdfium2), pixel count capped
    engines.py    the OcrEngine protocol, OcrResult, the engine names
    tesseract.py  Debian's `tesseract` (default): subprocess, TSV with per-word confidence
    rapid.py      RapidOCR (ONNX, pip only): selectable, slower on CPU
    cache.py      SQLite cache of OCR results keyed by the rendered image's hash
    reader.py     a PDF's pages as text, OCR'd where routed (runs in the parser workers);
                  `make_engine` picks the engine (so no engine module imports another)
    report.py     per-file OCR figures and the warnings they give

Nothing here downloads anything: the engines and their language data come
with the set-up (`make ocr`, or pip for RapidOCR).
"""

from ingest.ocr.config import OcrConfig
from ingest.ocr.report import OcrStats

__all__ = ["OcrConfig", "OcrStats"]
