"""PDF text backend on pypdfium2 (Chrome's PDFium): fast, and keeps word breaks.

PDFium places a space where the gap between two glyphs is wide enough, so
LaTeX PDFs that have no space characters still come out as separate words.
The file is read on demand and each page is loaded, read and closed in turn,
so a 2,000-page PDF never sits in memory as a whole.
"""

from __future__ import annotations

from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from core.errors import PdfError
from core.text import printable
from ingest.pdf_common import ClosingDocument

ENCRYPTED_REASON = "encrypted (needs a password)"
_DETAIL_CHARS = 80


def corrupt_error(path: Path, detail: object) -> PdfError:
    """The PdfError for a file that cannot be parsed, with a short detail."""
    # Trailing periods would double up with the ". Next step:" that RagError appends.
    text = " ".join(str(detail).split())[:_DETAIL_CHARS].rstrip(".") or type(detail).__name__
    return PdfError(
        f"corrupt or unreadable PDF: {text}",
        hint=f"open {path.name} in a PDF viewer; if it fails there too, re-download or "
        "re-export the file",
    )


def encrypted_error(path: Path) -> PdfError:
    """The PdfError for a file that needs a password to open."""
    return PdfError(
        ENCRYPTED_REASON,
        hint=f"save an unprotected copy of {path.name} (e.g. print it to PDF) and add that",
    )


class PdfiumDocument(ClosingDocument):
    """An open PDF read through PDFium; use as a context manager."""

    backend = "pdfium"

    def __init__(self, pdf: pdfium.PdfDocument, path: Path) -> None:
        self._pdf: pdfium.PdfDocument | None = pdf
        self.path = path
        self.page_count = len(pdf)
        self.failed_pages = 0

    def raw_text(self, index: int) -> str:
        """Raw text of page `index` (0-based); "" if PDFium fails on that page."""
        if self._pdf is None:
            raise ValueError(f"{self.path.name} is closed")
        if not 0 <= index < self.page_count:
            raise IndexError(f"page index {index} out of range 0..{self.page_count - 1}")
        page = textpage = None
        try:
            page = self._pdf[index]
            textpage = page.get_textpage()
            return textpage.get_text_range()
        except Exception:  # one bad page must not cost the whole file
            self.failed_pages += 1
            return ""
        finally:
            # Closing each page at once keeps memory flat however long the document is.
            if textpage is not None:
                textpage.close()
            if page is not None:
                page.close()

    def structure(self) -> tuple[str, list]:
        """The metadata title and the outline (`ingest.structure`)."""
        from ingest.structure import pdfium_structure

        if self._pdf is None:
            raise ValueError(f"{self.path.name} is closed")
        return pdfium_structure(self._pdf)

    def attachments(self) -> list[str]:
        """Names of the files embedded in the PDF (their text is not read); [] if unreadable."""
        if self._pdf is None:
            return []
        names = []
        try:
            for i in range(self._pdf.count_attachments()):
                names.append(printable(self._pdf.get_attachment(i).get_name()) or "(no name)")
        except Exception:  # a damaged name tree: the pages are what matters
            pass
        return names

    def close(self) -> None:
        if self._pdf is not None:
            self._pdf.close()
            self._pdf = None


class PdfiumBackend:
    """Opens PDFs with PDFium.

    >>> PdfiumBackend().name
    'pdfium'
    """

    name = "pdfium"

    def open(self, path: Path) -> PdfiumDocument:
        """Open `path`; an empty user password is tried automatically by PDFium."""
        try:
            pdf = pdfium.PdfDocument(str(path))
        except pdfium.PdfiumError as err:
            if getattr(err, "err_code", None) == pdfium_c.FPDF_ERR_PASSWORD:
                raise encrypted_error(path) from err
            raise corrupt_error(path, err) from err
        except Exception as err:  # any parser failure is "unreadable" to the user
            raise corrupt_error(path, err) from err
        try:
            return PdfiumDocument(pdf, path)
        except Exception as err:
            pdf.close()
            raise corrupt_error(path, err) from err
