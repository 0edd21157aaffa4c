"""Open a PDF with a text backend and read it as cleaned pages, batch by batch.

This module is imported by parser worker processes (started with 'spawn'),
so it imports only the two light PDF libraries.

Typical use:

    with open_pdf(path) as doc:
        for batch in iter_page_batches(doc):
            ...  # list[PageText], 1-based pages, headers/footers dropped

>>> no_text_reason(1, "OCR found no text either")
'no extractable text on 1 page (OCR found no text either)'
"""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Protocol, runtime_checkable

from core.errors import ConfigError, PdfError
from core.types import PageText
from ingest.clean import clean_page_text, drop_repeated_lines
from ingest.pdf_pdfium import ENCRYPTED_REASON, PdfiumBackend
from ingest.pdf_pypdf import PypdfBackend

__all__ = [
    "BACKENDS",
    "ENCRYPTED_REASON",
    "FALLBACK_BACKEND",
    "PdfBackend",
    "PdfDocumentText",
    "check_file",
    "iter_page_batches",
    "no_text_reason",
    "open_pdf",
]

# Real readers accept junk before the header (e.g. mail or HTTP remnants) within 1 KiB.
# Readers accept a %PDF- header anywhere in the first kilobyte (some writers put junk first).
HEADER_BYTES = 1024


def has_pdf_header(head: bytes) -> bool:
    """Do a file's first `HEADER_BYTES` hold a `%PDF-` header?

    >>> has_pdf_header(b"\\xef\\xbb\\xbf%PDF-1.7"), has_pdf_header(b"PK\\x03\\x04")
    (True, False)
    """
    return b"%PDF-" in head[:HEADER_BYTES]


@runtime_checkable
class PdfDocumentText(Protocol):
    """An opened PDF whose pages are read one at a time; closes on `with` exit."""

    backend: str  # "pdfium" | "pypdf": which backend opened it
    page_count: int
    failed_pages: int  # pages whose extraction raised and were read as ""

    def raw_text(self, index: int) -> str:
        """Raw extracted text of the page at 0-based `index`."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> PdfDocumentText: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None: ...


class PdfBackend(Protocol):
    """Something that opens PDFs; raises PdfError with a stable `reason` when it cannot."""

    name: str

    def open(self, path: Path) -> PdfDocumentText: ...


BACKENDS: dict[str, PdfBackend] = {"pdfium": PdfiumBackend(), "pypdf": PypdfBackend()}

# Each backend's fallback: they fail on different broken files.
FALLBACK_BACKEND: dict[str, str] = {"pdfium": "pypdf", "pypdf": "pdfium"}


def check_file(path: Path) -> None:
    """Raise PdfError unless `path` is a non-empty regular file with a %PDF- header.

    Cheap checks first, so that the common wrong inputs get a precise reason
    instead of a parser's error.
    """
    path = Path(path)
    try:
        status = path.stat()
    except (FileNotFoundError, NotADirectoryError) as err:
        raise PdfError("file not found", hint=f"check the path {path}") from err
    except OSError as err:
        raise _unreadable(path, err) from err
    if not stat.S_ISREG(status.st_mode):
        raise PdfError("not a regular file", hint=f"give a PDF file, not {path}")
    if status.st_size == 0:
        raise PdfError(
            "empty file (0 bytes)", hint=f"re-download or re-export {path.name}; it is empty"
        )
    try:
        with path.open("rb") as handle:
            head = handle.read(HEADER_BYTES)
    except OSError as err:
        raise _unreadable(path, err) from err
    if not has_pdf_header(head):
        raise PdfError(
            "not a PDF (no %PDF header)",
            hint=f"{path.name} is another kind of file named .pdf; convert it to PDF first",
        )


def _unreadable(path: Path, err: OSError) -> PdfError:
    return PdfError(
        f"cannot read file ({err.strerror or err})", hint=f"check the permissions of {path}"
    )


def open_pdf(path: Path, backend: str = "pdfium") -> PdfDocumentText:
    """Open `path` with `backend`, falling back to the other backend if that fails.

    An encrypted file is not retried: the other backend needs the same password.
    If both fail, the first backend's error is raised. `.backend` of the result
    tells which one opened the file.
    """
    path = Path(path)
    if backend not in BACKENDS:
        raise ConfigError(
            f"unknown PDF backend {backend!r}",
            hint=f"set RAG_PDF_BACKEND to one of {', '.join(sorted(BACKENDS))}",
        )
    check_file(path)
    try:
        return BACKENDS[backend].open(path)
    except PdfError as first_error:
        if first_error.reason == ENCRYPTED_REASON:
            raise
        try:
            return BACKENDS[FALLBACK_BACKEND[backend]].open(path)
        except PdfError:
            raise first_error from None


def iter_page_batches(doc: PdfDocumentText, batch_pages: int = 16) -> Iterator[list[PageText]]:
    """Yield the cleaned pages of `doc` in order, `batch_pages` at a time.

    Pages are read lazily, one at a time; at most two batches of text are held.
    Running headers and footers are dropped within each batch window; a short
    last batch is judged together with the pages before it. A page without
    text gives PageText(page, "").
    """
    if batch_pages < 1:
        raise ValueError(f"batch_pages must be at least 1, got {batch_pages}")
    previous: list[str] = []
    for start in range(0, doc.page_count, batch_pages):
        stop = min(start + batch_pages, doc.page_count)
        cleaned = [clean_page_text(doc.raw_text(index)) for index in range(start, stop)]
        # Pad a short window with preceding pages, so the last batch is judged like the others.
        missing = batch_pages - len(cleaned)
        context = previous[-missing:] if missing > 0 else []
        kept = drop_repeated_lines(cleaned, context=context)
        yield [PageText(page=start + offset + 1, text=text) for offset, text in enumerate(kept)]
        previous = cleaned


def no_text_reason(n_pages: int, why: str) -> str:
    """The skip reason for pages that came out empty; `why` says what OCR did about them.

    >>> no_text_reason(12, "scanned? OCR is turned off: set RAG_OCR=1")
    'no extractable text on 12 pages (scanned? OCR is turned off: set RAG_OCR=1)'
    """
    unit = "page" if n_pages == 1 else "pages"
    return f"no extractable text on {n_pages} {unit} ({why})"
