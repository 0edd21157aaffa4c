"""Hostile and extreme PDFs, written by the tests (nothing is downloaded or committed).

Each function writes one file and returns its path. They build on the raw
writer of `tests.pdf_factory`.
"""

from __future__ import annotations

import re
import zlib
from pathlib import Path

from tests.pdf_factory import _assemble, _pages_pdf, _stream, _text_content, text_pdf_bytes

FONT = b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>"
RESOURCES = b"<< /Font << /F1 3 0 R >> >>"


def deeply_nested_pdf(path: Path, depth: int = 100_000) -> Path:
    """A catalog entry nested `depth` arrays deep: recursive parsers blow their stack."""
    catalog = b"<< /Type /Catalog /Pages 2 0 R /Deep " + b"[" * depth + b"]" * depth + b" >>"
    data = _pages_pdf([_text_content("nested but readable")], RESOURCES, extra=[FONT])
    path.write_bytes(data.replace(b"<< /Type /Catalog /Pages 2 0 R >>", catalog, 1))
    return path


def cyclic_page_tree_pdf(path: Path) -> Path:
    """A page tree whose node lists itself as its own kid."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [2 0 R 4 0 R] /Count 2 >>",
        FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents 5 0 R >>"
        % RESOURCES,
        _stream(b"", _text_content("a page inside a cycle")),
    ]
    path.write_bytes(_assemble(objects))
    return path


def decompression_bomb_pdf(path: Path, megabytes: int = 1024) -> Path:
    """A content stream of about 1 MB that inflates to `megabytes` of zeros."""
    squeeze = zlib.compressobj(9)
    block = bytes(1 << 20)
    packed = b"".join(squeeze.compress(block) for _ in range(megabytes)) + squeeze.flush()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        FONT,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents 5 0 R >>"
        % RESOURCES,
        _stream(b"/Filter /FlateDecode", packed),
    ]
    path.write_bytes(_assemble(objects))
    return path


def many_pages_pdf(path: Path, pages: int = 10_000) -> Path:
    """A long document: every page has its own short text."""
    path.write_bytes(
        text_pdf_bytes([f"Page {i} of the long manual, entry{i}." for i in range(pages)])
    )
    return path


def huge_line_pdf(path: Path, chars: int = 1_000_000) -> Path:
    """One page holding a single line of a million characters without a space."""
    content = b"BT /F1 11 Tf 72 700 Td (" + b"abcdefghij" * (chars // 10) + b") Tj ET"
    path.write_bytes(_pages_pdf([content], RESOURCES, extra=[FONT]))
    return path


def broken_xref_pdf(path: Path) -> Path:
    """A readable PDF whose cross-reference table points at the wrong offsets."""
    data = text_pdf_bytes(["the xref table of this file lies about offsets"])
    data = re.sub(rb"\d{10} 00000 n", b"0000000001 00000 n", data)
    path.write_bytes(data)
    return path


def huge_page_pdf(
    path: Path, points: int = 14_400, text: str = "The huge page says hello."
) -> Path:
    """One page of `points` x `points` (14,400 is the largest the PDF standard allows, about
    5 m square): a few hundred bytes that an uncapped renderer turns into gigabytes."""
    data = text_pdf_bytes([text]).replace(
        b"/MediaBox [0 0 612 792]", b"/MediaBox [0 0 %d %d]" % (points, points)
    )
    path.write_bytes(data)
    return path


def text_bomb_pdf(path: Path, pages: int = 1_000, line: str = "Expanding text " * 40) -> Path:
    """Every page draws one shared content stream: a file of about a kilobyte whose text is
    `pages` times the line (the attack's 8 KB PDF gave 2.6 MB of text)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>"
        % (b" ".join(b"5 0 R" for _ in range(pages)), pages),
        FONT,
        _stream(b"/Filter /FlateDecode", zlib.compress(_text_content(line), 9)),
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources %s /Contents 4 0 R >>"
        % RESOURCES,
    ]
    path.write_bytes(_assemble(objects))
    return path


def unloadable_page_pdf(path: Path, good_pages: int = 1) -> Path:
    """`good_pages` readable pages, then one whose page object is an array, not a dictionary:
    PDFium fails to load it ("Failed to load page")."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"", FONT]
    kids = []
    for i in range(good_pages):
        kids.append(len(objects) + 1)
        page = b"<< /Type /Page /Parent 2 0 R /Resources %s /Contents %d 0 R >>"
        objects.append(page % (RESOURCES, len(objects) + 2))  # MediaBox: inherited
        objects.append(_stream(b"", _text_content(f"Readable page {i + 1} about harbours.")))
    kids.append(len(objects) + 1)
    objects.append(b"[1 2 3]")
    refs = b" ".join(b"%d 0 R" % k for k in kids)
    objects[1] = b"<< /Type /Pages /Kids [%s] /Count %d /MediaBox [0 0 612 792] >>" % (
        refs,
        len(kids),
    )
    path.write_bytes(_assemble(objects))
    return path


def attachment_pdf(path: Path, name: str = "minutes.txt") -> Path:
    """A readable PDF carrying an embedded file (its text is not indexed)."""
    import io

    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(io.BytesIO(text_pdf_bytes(["The cover letter talks about ships."]))))
    writer.add_attachment(name, b"The attached minutes talk about harbour fees.")
    with open(path, "wb") as out:
        writer.write(out)
    return path
