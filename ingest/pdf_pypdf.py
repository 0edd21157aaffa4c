"""PDF text backend on pypdf: pure Python, slower, the fallback of PDFium.

pypdf repairs some broken files that PDFium refuses, but it inserts a space
only where the PDF has a space glyph or a wide explicit gap, so words of many
LaTeX PDFs run together ("nombredepagesminimal"). Hence it is the fallback.

The file is kept open and objects are parsed on demand, page by page; pypdf's
cache of parsed objects is emptied every PAGES_PER_CACHE_RESET pages.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError

from core.errors import PdfError
from core.text import printable
from ingest.pdf_common import ClosingDocument
from ingest.pdf_pdfium import corrupt_error, encrypted_error

PAGES_PER_CACHE_RESET = 64


class PypdfDocument(ClosingDocument):
    """An open PDF read through pypdf; use as a context manager."""

    backend = "pypdf"

    def __init__(self, reader: PdfReader, stream: BinaryIO, path: Path) -> None:
        self._reader: PdfReader | None = reader
        self._stream = stream
        self.path = path
        self.page_count = len(reader.pages)
        self.failed_pages = 0
        self._pages_since_reset = 0

    def raw_text(self, index: int) -> str:
        """Raw text of page `index` (0-based); "" if pypdf fails on that page."""
        reader = self._reader
        if reader is None:
            raise ValueError(f"{self.path.name} is closed")
        if not 0 <= index < self.page_count:
            raise IndexError(f"page index {index} out of range 0..{self.page_count - 1}")
        try:
            return reader.pages[index].extract_text()
        except Exception:  # one bad page must not cost the whole file
            self.failed_pages += 1
            return ""
        finally:
            self._pages_since_reset += 1
            if self._pages_since_reset >= PAGES_PER_CACHE_RESET:
                self._forget_parsed_objects(reader)

    def structure(self) -> tuple[str, list]:
        """The metadata title and the outline (`ingest.structure`)."""
        from ingest.structure import pypdf_structure

        if self._reader is None:
            raise ValueError(f"{self.path.name} is closed")
        return pypdf_structure(self._reader)

    def _forget_parsed_objects(self, reader: PdfReader) -> None:
        # pypdf caches every object it parses, so memory grows with the pages read (about
        # 40 MB over a 272-page manual); dropping the cache keeps it flat for ~15% more time.
        # Both attributes are public in pypdf 7; they are rebuilt on demand.
        reader.resolved_objects.clear()
        reader.flattened_pages = None
        self._pages_since_reset = 0

    def attachments(self) -> list[str]:
        """Names of the files embedded in the PDF (their text is not read); [] if unreadable."""
        if self._reader is None:
            return []
        try:
            return [printable(name) or "(no name)" for name in self._reader.attachments]
        except Exception:  # a damaged name tree: the pages are what matters
            return []

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
            self._stream.close()


class PypdfBackend:
    """Opens PDFs with pypdf.

    >>> PypdfBackend().name
    'pypdf'
    """

    name = "pypdf"

    def open(self, path: Path) -> PypdfDocument:
        """Open `path`, decrypting with the empty user password when the file is protected."""
        # A file object, not the path: given a path, pypdf reads the whole file into memory.
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed by PypdfDocument.close
        except OSError as err:
            raise corrupt_error(path, err.strerror or err) from err
        try:
            reader = PdfReader(stream, strict=False)
            if reader.is_encrypted:
                _decrypt_with_empty_password(reader, path)
            return PypdfDocument(reader, stream, path)
        except PdfError:
            stream.close()
            raise
        except Exception as err:  # any parser failure is "unreadable" to the user
            stream.close()
            raise corrupt_error(path, err) from err


def _decrypt_with_empty_password(reader: PdfReader, path: Path) -> None:
    try:
        unlocked = reader.decrypt("") != PasswordType.NOT_DECRYPTED
    except DependencyError as err:
        raise corrupt_error(path, "its encryption needs the 'cryptography' package") from err
    if not unlocked:
        raise encrypted_error(path)
    if len(reader.pages):
        # AES-encrypted content only fails when first decrypted; find out now, so that
        # the caller falls back to PDFium instead of getting empty pages.
        try:
            reader.pages[0].extract_text()
        except DependencyError as err:
            raise corrupt_error(path, "its encryption needs the 'cryptography' package") from err
        except Exception:  # a bad first page is handled per page later
            pass
