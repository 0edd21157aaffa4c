"""The cited page itself: rendered from the PDF with the passage highlighted, cached.

pdfium renders the page (`PdfPage.render`) and gives every character's box
(`PdfTextPage.get_charbox`); `app.passage_marks` finds which characters are
the passage's. The picture is a PNG with translucent yellow rectangles over
the passage, rendered at `zoom` x 1.5 (108 dpi at 100%: readable in the chat
column); above 100% it is cut to the passage's neighbourhood, so zooming
shows the passage larger instead of a page wider than the screen.

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
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from app.passage_marks import Marks, Rect, mark_passage, page_letters

BASE_SCALE = 1.5  # 108 dpi
CACHE_BYTES = 48 * 1024 * 1024
MAX_MARK_PAGES = 8  # a chunk over more pages is marked on the shown page and its neighbours
MIN_COVERAGE = 0.5  # below: the page no longer holds the passage (the document changed)
HIGHLIGHT = (255, 221, 0, 110)  # translucent yellow
OUTLINE = (230, 160, 0, 255)
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

    def __init__(self, cache_bytes: int = CACHE_BYTES) -> None:
        self._cache: OrderedDict[tuple, PageView] = OrderedDict()
        self._bytes = 0
        self._limit = cache_bytes
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
        view = render_page(doc.path, page, passage, passage_pages or (page, page), zoom)
        with self._lock:
            if key not in self._cache and len(view.png) <= self._limit:
                self._cache[key] = view
                self._bytes += len(view.png)
                while self._bytes > self._limit:
                    _, old = self._cache.popitem(last=False)
                    self._bytes -= len(old.png)
        return view


def render_page(
    path: Path, page: int, passage: str, passage_pages: tuple[int, int], zoom: float = 1.0
) -> PageView:
    import pypdfium2 as pdfium

    with PDFIUM_LOCK:
        pdf = pdfium.PdfDocument(str(path))
        try:
            if not 1 <= page <= len(pdf):
                return PageView(problem=f"The PDF has {len(pdf)} pages, not page {page}.")
            marks = _marks(pdf, page, passage, passage_pages) if passage.strip() else None
            pdf_page = pdf[page - 1]
            image = pdf_page.render(scale=BASE_SCALE * zoom).to_pil().convert("RGBA")
            height_pt = pdf_page.get_height()
            left_pt, bottom_pt = pdf_page.get_cropbox()[:2]
        finally:
            pdf.close()
    rects = marks.rects.get(page, ()) if marks else ()
    scale = BASE_SCALE * zoom
    boxes = [_to_pixels(r, scale, left_pt, bottom_pt, height_pt) for r in rects]
    image = _highlighted(image, boxes)
    if zoom > 1.0 and boxes:
        image = _around(image, boxes, scale)
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


def _to_pixels(
    r: Rect, scale: float, left: float, bottom: float, height: float
) -> tuple[int, int, int, int]:
    # PDF points grow upwards from the crop box's corner; pixels grow downwards from the top.
    top_edge = bottom + height
    return (
        int((r.left - left) * scale) - 1,
        int((top_edge - r.top) * scale) - 1,
        int((r.right - left) * scale) + 1,
        int((top_edge - r.bottom) * scale) + 1,
    )


def _highlighted(image, boxes: Sequence[tuple[int, int, int, int]]):
    from PIL import Image, ImageDraw

    if not boxes:
        return image
    overlay = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    for box in boxes:
        draw.rectangle(box, fill=HIGHLIGHT)
    return Image.alpha_composite(image, overlay)


def _around(image, boxes: Sequence[tuple[int, int, int, int]], scale: float):
    """The part of a zoomed page around the passage: full width of the text, some context."""
    margin = int(72 * scale)  # an inch above and below
    top = max(0, min(b[1] for b in boxes) - margin)
    bottom = min(image.height, max(b[3] for b in boxes) + margin)
    return image.crop((0, top, image.width, bottom))
