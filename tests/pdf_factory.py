"""Write real, small PDF files for tests, with no dependency beyond pypdf.

Text PDFs are written as raw PDF syntax (Helvetica, WinAnsiEncoding, one
`Tj` per line, a correct xref table), so both PDFium and pypdf read the words
back intact. Encryption goes through pypdf's writer (RC4, which needs no
crypto package).

>>> data = text_pdf_bytes(["Hello world", "Second page"])
>>> data[:8], data.count(b"/Type /Page "), data.rstrip().endswith(b"%%EOF")
(b'%PDF-1.4', 2, True)
"""

from __future__ import annotations

import io
import random
import textwrap
from collections.abc import Sequence
from pathlib import Path

from pypdf import PdfReader, PdfWriter

PAGE_WIDTH, PAGE_HEIGHT = 612, 792  # US Letter, points
MARGIN = 72
FONT_SIZE = 11
LEADING = 14
WRAP_CHARS = 85  # Helvetica 11pt fits about 85 average characters in 468pt
MAX_LINES = (PAGE_HEIGHT - 2 * MARGIN) // LEADING


def _pdf_string(text: str) -> bytes:
    """A PDF literal string in WinAnsi (cp1252) bytes, escaped."""
    out = bytearray(b"(")
    for byte in text.encode("cp1252", errors="replace"):
        if byte in b"\\()":
            out += b"\\" + bytes([byte])
        elif byte < 32 or byte > 126:
            out += b"\\%03o" % byte
        else:
            out.append(byte)
    return bytes(out + b")")


def _stream(dictionary: bytes, data: bytes) -> bytes:
    return b"<< %s /Length %d >>\nstream\n%s\nendstream" % (dictionary, len(data), data)


def _assemble(objects: list[bytes]) -> bytes:
    """A complete PDF whose object n (1-based) is objects[n-1]; object 1 is the catalog."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)


def _pages_pdf(contents: list[bytes], resources: bytes, extra: Sequence[bytes] = ()) -> bytes:
    """Catalog, page tree, then (page, content) pairs; `extra` objects come first (3, 4, ...)."""
    first_page = 3 + len(extra)
    kids = b" ".join(b"%d 0 R" % (first_page + 2 * i) for i in range(len(contents)))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, len(contents)),
        *extra,
    ]
    for i, content in enumerate(contents):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources %s /Contents %d 0 R >>"
            % (PAGE_WIDTH, PAGE_HEIGHT, resources, first_page + 2 * i + 1)
        )
        objects.append(_stream(b"", content))
    return _assemble(objects)


def _layout_lines(text: str) -> list[str]:
    """Split page text into lines: kept line breaks, long lines wrapped at word boundaries."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        lines.extend(textwrap.wrap(paragraph, WRAP_CHARS, break_on_hyphens=False) or [""])
    if len(lines) > MAX_LINES:
        raise ValueError(f"page text needs {len(lines)} lines; at most {MAX_LINES} fit a page")
    return lines


def _text_content(text: str) -> bytes:
    top = PAGE_HEIGHT - MARGIN
    ops = [b"BT /F1 %d Tf %d TL %d %d Td" % (FONT_SIZE, LEADING, MARGIN, top)]
    for number, line in enumerate(_layout_lines(text)):
        if number:
            ops.append(b"T*")
        if line:
            ops.append(_pdf_string(line) + b" Tj")
    ops.append(b"ET")
    return b"\n".join(ops)


def text_pdf_bytes(pages: list[str]) -> bytes:
    """The bytes of a text PDF with one page per string (see `text_pdf`)."""
    if not pages:
        raise ValueError("a PDF needs at least one page")
    font = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
    contents = [_text_content(text) for text in pages]
    return _pages_pdf(contents, b"<< /Font << /F1 3 0 R >> >>", extra=[font])


def text_pdf(path: Path, pages: list[str]) -> Path:
    """Write a PDF with one page per string: "\\n" starts a line, long lines are wrapped."""
    path = Path(path)
    path.write_bytes(text_pdf_bytes(pages))
    return path


def encrypted_pdf(
    path: Path, user_password: str = "secret", pages: list[str] | None = None
) -> Path:
    """Write an RC4-128 encrypted text PDF. With user_password="" it opens without one."""
    pages = pages or ["Encrypted sample page with the word pineapple"]
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(text_pdf_bytes(pages))))
    writer.encrypt(user_password, owner_password="owner-only", algorithm="RC4-128")
    path = Path(path)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def scanned_pdf(path: Path, n_pages: int = 2) -> Path:
    """Write a PDF whose pages only show an image, like a scan without OCR."""
    side = 16
    pixels = bytes(random.Random(7).randrange(256) for _ in range(side * side))
    image = _stream(
        b"/Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8" % (side, side),
        pixels,
    )
    draw = b"q %d 0 0 %d %d %d cm /Im0 Do Q" % (
        PAGE_WIDTH - 2 * MARGIN,
        PAGE_HEIGHT - 2 * MARGIN,
        MARGIN,
        MARGIN,
    )
    path = Path(path)
    path.write_bytes(
        _pages_pdf([draw] * n_pages, b"<< /XObject << /Im0 3 0 R >> >>", extra=[image])
    )
    return path


def truncated_pdf(path: Path, n_pages: int = 6) -> Path:
    """Write the first half of a real text PDF, as a broken download would leave it."""
    data = text_pdf_bytes([f"Page {n} of the truncated file" for n in range(1, n_pages + 1)])
    path = Path(path)
    path.write_bytes(data[: len(data) // 2])
    return path


def zero_byte_pdf(path: Path) -> Path:
    """Write an empty file named like a PDF."""
    path = Path(path)
    path.write_bytes(b"")
    return path


def not_a_pdf(path: Path) -> Path:
    """Write a PNG signature and junk under a .pdf name."""
    path = Path(path)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    return path


def garbage_pdf(path: Path, size: int = 4096) -> Path:
    """Write a %PDF- header followed by random bytes (seeded, so always the same)."""
    path = Path(path)
    path.write_bytes(b"%PDF-1.7\n" + random.Random(1234).randbytes(size))
    return path
