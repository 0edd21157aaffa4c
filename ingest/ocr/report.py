"""What OCR did to one file: the figures for `--json`, the summary and the warnings.

>>> s = OcrStats(pages=((2, 0.91), (3, 0.35)), engine_pages=2, seconds=4.0)
>>> s.low_confidence(0.6)
(3,)
>>> ocr_warnings(s, 0.6)
['OCR confidence is low on page 3 (35%): its text is indexed as read; check the scan']
>>> s.to_json(0.6)["pages"], s.to_json(0.6)["mean_confidence"]
(2, 0.63)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class OcrStats:
    """Pages whose text came from OCR (page, confidence), and how it went."""

    pages: tuple[tuple[int, float | None], ...] = ()
    engine_pages: int = 0  # pages the engine read in this run (the rest came from the cache)
    cached: int = 0
    seconds: float = 0.0  # rendering and engine time in the worker
    unreadable: tuple[int, ...] = ()  # routed to OCR, but OCR found no text either
    failed: tuple[int, ...] = ()  # OCR raised (timeout, crash): given as empty
    note: str = ""  # why OCR could not run at all (engine not installed ...)
    engine: str = ""

    def low_confidence(self, threshold: float) -> tuple[int, ...]:
        return tuple(p for p, c in self.pages if c is not None and c < threshold)

    def mean_confidence(self) -> float | None:
        known = [c for _, c in self.pages if c is not None]
        return round(sum(known) / len(known), 4) if known else None

    def to_json(self, threshold: float) -> dict:
        return {
            "engine": self.engine,
            "pages": len(self.pages),
            "read_now": self.engine_pages,
            "from_cache": self.cached,
            "seconds": round(self.seconds, 3),
            "mean_confidence": self.mean_confidence(),
            "low_confidence_pages": list(self.low_confidence(threshold)),
            "unreadable_pages": list(self.unreadable),
            "failed_pages": list(self.failed),
            **({"problem": self.note} if self.note else {}),
        }


def page_list(pages: Sequence[int], most: int = 8) -> str:
    """'page 3', 'pages 2, 5, 9', 'pages 1, 2, ... (12 in all)'.

    >>> page_list([4]), page_list([1, 2, 3], most=2)
    ('page 4', 'pages 1, 2, ... (3 in all)')
    """
    unit = "page" if len(pages) == 1 else "pages"
    shown = ", ".join(map(str, pages[:most]))
    more = f", ... ({len(pages)} in all)" if len(pages) > most else ""
    return f"{unit} {shown}{more}"


def ocr_warnings(stats: OcrStats, threshold: float) -> list[str]:
    """Warnings for the ingest report: low-confidence pages and OCR that failed."""
    out = []
    low = stats.low_confidence(threshold)
    if low:
        confs = dict(stats.pages)
        detail = f" ({confs[low[0]]:.0%})" if len(low) == 1 else ""
        out.append(
            f"OCR confidence is low on {page_list(low)}{detail}: its text is indexed as read; "
            "check the scan"
        )
    if stats.failed:
        out.append(f"OCR failed on {page_list(stats.failed)} (timed out or crashed)")
    if stats.note:
        out.append(stats.note)
    return out
