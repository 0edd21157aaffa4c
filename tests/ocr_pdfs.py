"""Real PDFs whose pages are pictures of text, as a scanner makes them.

Text pages are written by `pdf_factory`, rendered by PDFium and saved back as
image-only pages (Pillow's PDF writer), so OCR has real glyphs to read.
"""

from __future__ import annotations

import io
import zlib
from pathlib import Path

import pypdfium2 as pdfium
from PIL import Image
from pypdf import PdfReader, PdfWriter

from tests import pdf_factory


def page_images(pages: list[str], dpi: int = 200) -> list[Image.Image]:
    pdf = pdfium.PdfDocument(pdf_factory.text_pdf_bytes(pages))
    try:
        return [pdf[i].render(scale=dpi / 72, grayscale=True).to_pil() for i in range(len(pdf))]
    finally:
        pdf.close()


def image_pdf_bytes(pages: list[str], dpi: int = 200) -> bytes:
    images = [im.convert("L") for im in page_images(pages, dpi)]
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()


def image_pdf(path: Path, pages: list[str], dpi: int = 200) -> Path:
    """A PDF of `pages` with no text layer: each page is one grayscale picture."""
    path = Path(path)
    path.write_bytes(image_pdf_bytes(pages, dpi))
    return path


def mixed_pdf(path: Path, pages: list[tuple[str, bool]]) -> Path:
    """One page per (text, scanned): scanned pages are pictures, the others real text."""
    writer = PdfWriter()
    for text, scanned in pages:
        data = image_pdf_bytes([text]) if scanned else pdf_factory.text_pdf_bytes([text])
        writer.add_page(PdfReader(io.BytesIO(data)).pages[0])
    path = Path(path)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def stamped_scan_pdf(path: Path, scanned: str, stamp: str) -> Path:
    """A scanned page (a picture of `scanned`) with a few real words over it (`stamp`),
    as a fax header or a half-OCR'd scan leaves them."""
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(image_pdf_bytes([scanned]))))
    writer.pages[0].merge_page(PdfReader(io.BytesIO(pdf_factory.text_pdf_bytes([stamp]))).pages[0])
    path = Path(path)
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def giant_page_pdf(path: Path, text: str, inches: int = 200) -> Path:
    """A scanned page `inches` wide and high: at 300 dpi it would be 3.6 gigapixels."""
    image = page_images([text], dpi=72)[0].convert("L")
    path = Path(path)
    image.save(path, "PDF", resolution=image.width / inches)
    return path


def image_bomb_pdf(path: Path, side: int = 20_000) -> Path:
    """One page showing a side x side grayscale image that inflates to side² bytes.

    A few hundred kilobytes on disk; rendering it needs the whole raster.
    """
    squeeze = zlib.compressobj(9)
    row_block = bytes(side * 500)
    body = b"".join(squeeze.compress(row_block) for _ in range(side // 500)) + squeeze.flush()
    image = (
        b"<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /DeviceGray "
        b"/BitsPerComponent 8 /Filter /FlateDecode /Length %d >>\nstream\n%s\nendstream"
        % (side, side, len(body), body)
    )
    draw = b"q 468 0 0 648 72 72 cm /Im0 Do Q"
    content = b"<< /Length %d >>\nstream\n%s\nendstream" % (len(draw), draw)
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        image,
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
        b"/Resources << /XObject << /Im0 3 0 R >> >> /Contents 5 0 R >>",
        content,
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body_ in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body_)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    path = Path(path)
    path.write_bytes(bytes(out))
    return path
