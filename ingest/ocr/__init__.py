"""OCR, inside ingest's page stage: pages without a usable text layer -> text, routed per page,
read locally, cached. It runs in the parser workers, before the pages are cleaned.

    `config`      `OcrConfig`: what the parser workers need to know, plain picklable values
    `reader`      a PDF's pages as text, OCR'd where routed; `make_engine` picks the engine
                  (so no engine module imports another)
    `route`       which pages need OCR: no text layer, a garbled one, a scan with a few words
    `render`      PDF page -> grayscale image (pypdfium2), its pixel count capped
    `preprocess`  image clean-up before OCR: dot leaders erased
    `cache`       SQLite cache of OCR results, keyed by the rendered image's hash
    `engines`     the `OcrEngine` Protocol, `OcrResult`, the engine names
    `tesseract`   Debian's tesseract 5 (the default): a subprocess, TSV with per-word confidence
    `rapid`       RapidOCR (ONNX, pip only): selectable, slower on CPU
    `report`      per-file OCR figures, and the warnings they give

Nothing here downloads anything: the engines and their language data come
with the set-up (`make ocr`, or pip for RapidOCR).
"""

from ingest.ocr.config import OcrConfig
from ingest.ocr.report import OcrStats

__all__ = ["OcrConfig", "OcrStats"]
