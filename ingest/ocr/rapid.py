"""RapidOCR (PP-OCR detection + recognition as ONNX models shipped in its wheel).

Selectable with RAG_OCR_ENGINE=rapidocr; pip only (rapidocr, onnxruntime), no
apt. Its recognizer is the Chinese/English PP-OCR model, so `languages` is not
used. Measured slower than tesseract on this CPU, hence not the default
(docs/decisions.md#ocr-engine).
"""

from __future__ import annotations

import functools
import importlib.metadata

from ingest.ocr.engines import OcrResult, OcrUnavailable, weighted_confidence
from ingest.ocr.render import PageImage

INSTALL_HINT = (
    "pip install rapidocr==3.10.0 onnxruntime (see requirements-dev.txt), "
    "or set RAG_OCR_ENGINE=tesseract"
)


@functools.cache
def _engine():
    try:
        from rapidocr import RapidOCR
    except ImportError as err:
        raise OcrUnavailable("RapidOCR is not installed", hint=INSTALL_HINT) from err
    # One thread per parser process, like tesseract: the pool runs one per core. Pages
    # are read as the wheel's defaults size them (longest side at most 2000 pixels).
    params = {"EngineConfig.onnxruntime.intra_op_num_threads": 1, "Global.log_level": "error"}
    return RapidOCR(params=params)


class RapidOcrEngine:
    name = "rapidocr"

    @property
    def version(self) -> str:
        try:
            return "rapidocr " + importlib.metadata.version("rapidocr")
        except importlib.metadata.PackageNotFoundError:
            return "rapidocr"

    def read(
        self, image: PageImage, languages: str, timeout: float, single_block: bool = False
    ) -> OcrResult:
        import numpy as np

        gray = np.frombuffer(image.pixels, np.uint8).reshape(image.height, image.width)
        out = _engine()(np.stack([gray] * 3, axis=-1))
        texts = [str(t).strip() for t in (getattr(out, "txts", None) or ())]
        scores = [float(s) for s in (getattr(out, "scores", None) or ())]
        lines = [(t, s) for t, s in zip(texts, scores, strict=False) if t]
        words = [(w, s) for t, s in lines for w in t.split()]
        return OcrResult("\n".join(t for t, _ in lines), weighted_confidence(words), len(words))
