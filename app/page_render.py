"""The cited page itself: rendered from the PDF with the passage highlighted, cached.

pdfium renders the page (`PdfPage.render`) and gives every character's box
(`PdfTextPage.get_charbox`); `app.passage_marks` finds which characters are
the passage's. The picture is a PNG with translucent yellow rectangles over
the passage, rendered at `zoom` x 1.5 (108 dpi at 100%: readable in the chat
column); above 100% only the passage's neighbourhood is rendered, so zooming
shows the passage larger instead of a page wider than the screen.

Every render fits a pixel budget (`max_pixels`, RAG_PAGE_MAX_PIXELS): a page too
large for it (a poster, or a hostile 14,400 pt MediaBox) is drawn smaller, at any
zoom, so one render costs a bounded memory and time (about 8 bytes per pixel:
PDFium's bitmap and the PNG encoder's copy) and holds the PDFium lock only that long.

Before rendering, the file is checked against the index: a document removed
from the index, a file that is gone, or a file changed since it was indexed
is reported as such (`PageView.problem`), never drawn from stale content.
Renders are kept in a bounded in-memory cache (`CACHE_BYTES`), keyed by the
file's size and modification time, so a changed file is never served from it.
pdfium is not thread-safe: every call into it holds one process-wide lock.
"""

from __future__ import annotations

import hashlib
import io
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.passage_marks import Marks, Rect, mark_passage, page_letters

BASE_SCALE = 1.5  # 108 dpi
MAX_PIXELS = 8_000_000  # the default budget of one render (RAG_PAGE_MAX_PIXELS)
CONTEXT_PT = 72  # zoomed in: an inch of the page above and below the passage
WIDE_PT = 1224  # zoomed in on a page wider than a tabloid: cut at the sides as well
CACHE_BYTES = 48 * 1024 * 1024
MAX_MARK_PAGES = 8  # a chunk over more pages is marked on the shown page and its neighbours
MIN_COVERAGE = 0.5  # below: the page no longer holds the passage (the document changed)
HIGHLIGHT = (255, 221, 0, 110)  # translucent yellow
PDFIUM_LOCK = threading.Lock()


@dataclass(frozen=True)
class PageView:
    """A rendered page, or why there is none. `coverage`: share of the passage marked."""

    png: bytes = b""
    width: int = 0
    height: int = 0
    marks: int = 0  # rectangles drawn on this page
    coverage: float = 0.0
    problem: str = ""
    main_page: int = 0  # the page holding most of the passage; 0 if none was found


@dataclass(frozen=True)
class DocumentFile:
    """Where an indexed document's file is, and how it was when indexed."""

    path: Path
    size: int
    mtime_ns: int


def check_file(doc: DocumentFile | None, source: str) -> str:
    """ "" when the file is there as indexed, else what the user should know."""
    if doc is None:
        return f"{source} is no longer in the index (it was removed): its pages are not shown."
    try:
        stat = doc.path.stat()
    except OSError:
        return f"The file of {source} is gone from disk: add it again to see its pages."
    if stat.st_size != doc.size or stat.st_mtime_ns != doc.mtime_ns:
        return (
            f"{source} changed on disk since it was indexed: add it again (Add PDFs) to see "
            "its pages and answers from the new version."
        )
    return ""


class PageRenderer:
    """Renders and caches pages; one per process, shared by the browser sessions."""

    def __init__(self, cache_bytes: int = CACHE_BYTES, max_pixels: int = MAX_PIXELS) -> None:
        self._cache: OrderedDict[tuple, PageView] = OrderedDict()
        self._bytes = 0
        self._limit = cache_bytes
        self._max_pixels = max_pixels
        self._lock = threading.Lock()

    @property
    def cached_bytes(self) -> int:
        return self._bytes

    def page(
        self,
        doc: DocumentFile,
        page: int,
        passage: str = "",
        passage_pages: tuple[int, int] | None = None,
        zoom: float = 1.0,
    ) -> PageView:
        """Page `page` (1-based) with `passage` marked; `passage_pages`: where the chunk runs."""
        digest = hashlib.sha256(passage.encode("utf-8", "surrogatepass")).hexdigest()
        key = (str(doc.path), doc.size, doc.mtime_ns, page, digest, passage_pages, zoom)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        view = render_page(
            doc.path, page, passage, passage_pages or (page, page), zoom, self._max_pixels
        )
        with self._lock:
            if key not in self._cache and len(view.png) <= self._limit:
                self._cache[key] = view
                self._bytes += len(view.png)
                while self._bytes > self._limit:
                    _, old = self._cache.popitem(last=False)
                    self._bytes -= len(old.png)
        return view


def render_page(
    path: Path,
    page: int,
    passage: str,
    passage_pages: tuple[int, int],
    zoom: float = 1.0,
    max_pixels: int = MAX_PIXELS,
) -> PageView:
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:  # one bounded render: the budget caps its pixels
        pdf = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(pdf):
                return PageView(problem=f"The PDF has {len(pdf)} pages, not page {page}.")
            marks = _marks(pdf, page, passage, passage_pages) if passage.strip() else None
            rects = marks.rects.get(page, ()) if marks else ()
            pdf_page = pdf[page - 1]
            area = _Area.of(pdf_page, rects, zoom, max_pixels)
            if area is None:
                return PageView(problem=f"Page {page} has no size that can be drawn.")
            bitmap = pdf_page.render(
                scale=area.scale, crop=area.crop, rev_byteorder=True, prefer_bgrx=True
            )
            image = bitmap.to_pil()  # RGBX: shares PDFium's buffer, no copy
        finally:
            pdf.close()
    _highlight(image, [area.pixels(r) for r in rects])
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="PNG", optimize=False)
    return PageView(
        png=buffer.getvalue(),
        width=image.width,
        height=image.height,
        marks=len(rects),
        coverage=marks.coverage if marks else 0.0,
        main_page=(marks.main_page or 0) if marks else 0,
    )


@dataclass(frozen=True)
class _Area:
    """What of a page is drawn (`crop`: points cut from left, bottom, right, top) and how
    large (`scale`: pixels per point), within the pixel budget."""

    scale: float
    crop: tuple[float, ...]
    left: float  # the drawn area's left and top edges, in points
    top: float

    @classmethod
    def of(cls, pdf_page, rects: Sequence[Rect], zoom: float, max_pixels: int) -> _Area | None:
        width, height = pdf_page.get_width(), pdf_page.get_height()
        if not (0 < width < math.inf and 0 < height < math.inf):
            return None
        left, bottom = pdf_page.get_cropbox()[:2]
        top = bottom + height
        cut = [0.0, 0.0, 0.0, 0.0]  # left, bottom, right, top
        if zoom > 1.0 and rects:  # only the passage's neighbourhood
            cut[3] = max(0.0, top - max(r.top for r in rects) - CONTEXT_PT)
            cut[1] = max(0.0, min(r.bottom for r in rects) - bottom - CONTEXT_PT)
            if width > WIDE_PT:  # a poster: not its whole width either
                cut[0] = max(0.0, min(r.left for r in rects) - left - CONTEXT_PT)
                cut[2] = max(0.0, left + width - max(r.right for r in rects) - CONTEXT_PT)
            if cut[0] + cut[2] >= width or cut[1] + cut[3] >= height:
                cut = [0.0, 0.0, 0.0, 0.0]
        w, h = width - cut[0] - cut[2], height - cut[1] - cut[3]
        scale = min(BASE_SCALE * zoom, math.sqrt(max_pixels / (w * h)))
        while scale > 0 and math.ceil(w * scale) * math.ceil(h * scale) > max_pixels:
            scale *= 0.99  # PDFium rounds the bitmap's sides up
        return cls(scale, tuple(cut), left + cut[0], top - cut[3])

    def pixels(self, r: Rect) -> tuple[int, int, int, int]:
        # PDF points grow upwards from the crop box's corner; pixels grow downwards.
        s = self.scale
        return (
            int((r.left - self.left) * s) - 1,
            int((self.top - r.top) * s) - 1,
            int((r.right - self.left) * s) + 1,
            int((self.top - r.bottom) * s) + 1,
        )


def _marks(pdf, page: int, passage: str, passage_pages: tuple[int, int]) -> Marks:
    first, last = passage_pages
    first, last = max(1, min(first, page)), min(len(pdf), max(last, page))
    if last - first + 1 > MAX_MARK_PAGES:  # keep the pages next to the shown one
        first = max(first, page - MAX_MARK_PAGES // 2)
        last = min(last, first + MAX_MARK_PAGES - 1)
    textpages = {n: pdf[n - 1].get_textpage() for n in range(first, last + 1)}
    letters = [page_letters(n, page_chars(tp)) for n, tp in textpages.items()]

    def box(n: int, char: int) -> Rect:
        return Rect(*textpages[n].get_charbox(char, loose=True))

    return mark_passage(passage, letters, box)


def page_chars(textpage) -> list[str]:
    """The page's characters in pdfium's order, one per character index."""
    import pypdfium2.raw as raw

    chars = []
    for i in range(textpage.count_chars()):
        code = raw.FPDFText_GetUnicode(textpage, i)
        chars.append(chr(code) if 0 < code < 0x110000 and not 0xD800 <= code < 0xE000 else "")
    return chars


def _highlight(image, boxes: Sequence[tuple[int, int, int, int]]) -> None:
    """Blend translucent yellow into the boxes, in place, one small region at a time
    (a full-page overlay would cost another copy of the page)."""
    from PIL import Image

    for left, top, right, bottom in boxes:
        box = (
            max(left, 0),
            max(top, 0),
            min(right + 1, image.width),
            min(bottom + 1, image.height),
        )
        if box[0] >= box[2] or box[1] >= box[3]:
            continue
        region = image.crop(box)
        yellow = Image.new(region.mode, region.size, HIGHLIGHT[:3])
        image.paste(Image.blend(region, yellow, HIGHLIGHT[3] / 255), box[:2])
