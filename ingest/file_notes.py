"""What an ingest says about a file it indexed only in part, or not at all, and the next step.

>>> why_empty(None)
'scanned? OCR is turned off: set RAG_OCR=1'
>>> attachments_note(("a.csv", "b.xml", "c.txt", "d.doc"))[:60]
'holds 4 attached files (a.csv, b.xml, c.txt and 1 more) whos'
"""

from __future__ import annotations

from ingest.extract import no_text_reason
from ingest.ocr import OcrStats


def unloadable_pages(failed: int, total: int) -> str:
    return (
        f"{failed} of its {total} pages could not be loaded by the PDF parser (their page data "
        "is damaged); the other pages are indexed"
    )


def nothing_indexed(pages: int, failed: int, empty: int, why_empty: str) -> str:
    """Why a file gave no chunk: pages the parser could not load, pages without text."""
    if not failed:
        return no_text_reason(pages, why_empty)
    reason = (
        f"the PDF parser could not load {failed} of its {pages} pages (their page data is "
        "damaged: open it in a PDF viewer, and if that works, print it to a new PDF)"
    )
    if empty:
        reason += f"; {no_text_reason(empty, why_empty)}"
    return reason


def attachments_note(names: tuple[str, ...]) -> str:
    shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if names[3:] else "")
    files = "file" if len(names) == 1 else "files"
    return (
        f"holds {len(names)} attached {files} ({shown}) whose text is not indexed: save "
        "them from a PDF viewer and add them as files of their own"
    )


def why_empty(ocr: OcrStats | None) -> str:
    """What to say about pages left without text, given what OCR did."""
    if ocr is None:
        return "scanned? OCR is turned off: set RAG_OCR=1"
    return ocr.note or "OCR found no text either"
