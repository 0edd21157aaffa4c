"""One interface for OCR engines, and the choice between them.

>>> sorted(ENGINES)
['rapidocr', 'tesseract']
>>> lines_to_text([["Hello", "world"], ["again"]])
'Hello world\\nagain'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from core.errors import ConfigError
from ingest.ocr.render import PageImage


@dataclass(frozen=True)
class OcrResult:
    """What an engine read: text with line breaks, and its mean word confidence (0..1).

    `confidence` is None when nothing was read.
    """

    text: str
    confidence: float | None
    words: int


class OcrEngine(Protocol):
    """Reads a rendered page. `version` goes into the cache key: a new engine reads afresh."""

    name: str

    @property
    def version(self) -> str: ...

    def read(
        self, image: PageImage, languages: str, timeout: float, single_block: bool = False
    ) -> OcrResult:
        """`single_block`: the page is one list of lines (a contents page), not columns."""
        ...


class OcrUnavailable(ConfigError):
    """The chosen engine (or its language data) is not installed; `hint` says how to install it."""


ENGINES = ("tesseract", "rapidocr")


def lines_to_text(lines: Sequence[Sequence[str]]) -> str:
    return "\n".join(" ".join(words) for words in lines if words)


def weighted_confidence(words: Sequence[tuple[str, float]]) -> float | None:
    """Mean confidence of words weighted by their length: a misread 'a' weighs little.

    >>> weighted_confidence([("ab", 1.0), ("c", 0.4)])
    0.8
    >>> weighted_confidence([]) is None
    True
    """
    total = sum(len(w) for w, _ in words)
    if not total:
        return None
    return round(sum(len(w) * c for w, c in words) / total, 4)
