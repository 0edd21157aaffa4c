"""PDF page -> grayscale image for OCR, through PDFium, with its size capped.

A hostile page (a 200-inch MediaBox) is rendered at a lower resolution rather
than allocating gigabytes; the worker's memory limit backs this up.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

POINTS_PER_INCH = 72


@dataclass(frozen=True)
class PageImage:
    """An 8-bit grayscale raster, row-major, and the resolution it was rendered at."""

    width: int
    height: int
    pixels: bytes
    dpi: float

    @property
    def digest(self) -> str:
        """Content hash of the picture: the OCR cache key's base.

        >>> PageImage(2, 1, b"\\x00\\xff", 300).digest == PageImage(2, 1, b"\\x00\\xff", 72).digest
        True
        """
        h = hashlib.blake2b(digest_size=16)
        h.update(b"%d:%d:" % (self.width, self.height))
        h.update(self.pixels)
        return h.hexdigest()

    def pgm(self) -> bytes:
        """As a binary PGM file (what tesseract reads from stdin with no encoding cost)."""
        return b"P5\n%d %d\n255\n" % (self.width, self.height) + self.pixels


def render_dpi(width_pt: float, height_pt: float, dpi: int, max_pixels: int) -> float:
    """`dpi`, lowered so the page stays within `max_pixels`.

    >>> render_dpi(612, 792, 300, 40_000_000)
    300
    >>> round(render_dpi(14400, 14400, 300, 40_000_000), 1)
    31.6
    """
    pixels = (width_pt / POINTS_PER_INCH * dpi) * (height_pt / POINTS_PER_INCH * dpi)
    if pixels <= max_pixels:
        return dpi
    return dpi * math.sqrt(max_pixels / pixels)


def render_page(page: pdfium.PdfPage, dpi: int, max_pixels: int) -> PageImage:
    """The page as a grayscale image at `dpi` (or less, see `render_dpi`)."""
    width, height = page.get_size()
    used = render_dpi(width, height, dpi, max_pixels)
    bitmap = page.render(scale=used / POINTS_PER_INCH, grayscale=True, may_draw_forms=True)
    try:
        w, h, stride = bitmap.width, bitmap.height, bitmap.stride
        buffer = bytes(bitmap.buffer)
    finally:
        bitmap.close()
    if stride != w:  # rows are padded to 4 bytes
        buffer = b"".join(buffer[row * stride : row * stride + w] for row in range(h))
    return PageImage(w, h, buffer, used)


def image_coverage(page: pdfium.PdfPage) -> float:
    """Share of the page's area covered by image objects (0..1, overlaps counted once each)."""
    width, height = page.get_size()
    area = max(width * height, 1.0)
    covered = 0.0
    for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE], max_depth=2):
        left, bottom, right, top = obj.get_bounds()
        w = max(0.0, min(right, width) - max(left, 0.0))
        h = max(0.0, min(top, height) - max(bottom, 0.0))
        covered += w * h
    return min(covered / area, 1.0)
