"""Rendering the cited page with its passage highlighted; the cache; stale documents."""

from __future__ import annotations

import io
import os

from PIL import Image

from app.page_render import DocumentFile, PageRenderer, check_file, render_page
from tests.pdf_factory import text_pdf

PAGES = [
    "Office hours are from nine to five on weekdays.\nThe office is closed on holidays.",
    "The warranty lasts two years from the date of delivery.\nReturns are accepted.",
]
PASSAGE = "The warranty lasts two years from the date of delivery."


def doc_of(path) -> DocumentFile:
    stat = path.stat()
    return DocumentFile(path, stat.st_size, stat.st_mtime_ns)


def yellow_rows(png: bytes) -> list[int]:
    """Rows that contain highlight-yellow pixels (blended over white: R, G high, B low)."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    rows = []
    for y in range(image.height):
        for x in range(0, image.width, 2):
            r, g, b = image.getpixel((x, y))
            if r > 200 and g > 180 and b < 150:
                rows.append(y)
                break
    return rows


def test_the_passage_is_highlighted_where_its_line_is(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", PAGES)
    view = render_page(pdf, 2, PASSAGE, (2, 2))
    assert view.problem == "" and view.marks == 1 and view.coverage == 1.0
    image = Image.open(io.BytesIO(view.png))
    assert image.size == (view.width, view.height) == (918, 1188)  # US Letter at 1.5
    rows = yellow_rows(view.png)
    assert rows, "no highlight drawn"
    # The first text line, one inch (108 px) from the top; the second line is not marked.
    assert min(rows) > 80 and max(rows) < 118, (min(rows), max(rows))
    plain = render_page(pdf, 2, "", (2, 2))
    assert yellow_rows(plain.png) == [] and plain.marks == 0


def test_zoom_cuts_the_page_around_the_passage(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", PAGES)
    view = render_page(pdf, 2, PASSAGE, (2, 2), zoom=2.0)
    assert view.width == 2 * 918 and view.height < 2 * 1188 / 2
    assert yellow_rows(view.png)


def test_a_page_outside_the_pdf_is_a_message(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", PAGES)
    assert "2 pages, not page 5" in render_page(pdf, 5, PASSAGE, (5, 5)).problem


def test_renders_are_cached_and_the_cache_is_bounded(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", PAGES)
    renderer = PageRenderer()
    first = renderer.page(doc_of(pdf), 2, PASSAGE)
    assert renderer.page(doc_of(pdf), 2, PASSAGE) is first
    small = PageRenderer(cache_bytes=len(first.png) + 10)
    small.page(doc_of(pdf), 1, "")
    small.page(doc_of(pdf), 2, PASSAGE)
    assert small.cached_bytes <= len(first.png) + 10


def test_a_changed_or_removed_document_is_reported_not_shown(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", PAGES)
    doc = doc_of(pdf)
    assert check_file(doc, "h.pdf") == ""
    assert "no longer in the index" in check_file(None, "h.pdf")
    text_pdf(pdf, [PAGES[1], PAGES[0] + " and more"])  # rewritten in place
    os.utime(pdf, ns=(doc.mtime_ns + 10**9, doc.mtime_ns + 10**9))
    assert "changed on disk since it was indexed" in check_file(doc, "h.pdf")
    pdf.unlink()
    assert "gone from disk" in check_file(doc, "h.pdf")


def test_a_passage_over_two_pages_knows_which_page_holds_most_of_it(tmp_path):
    pdf = text_pdf(tmp_path / "h.pdf", PAGES)
    passage = "The office is closed on holidays. " + PASSAGE + " Returns are accepted."
    view = render_page(pdf, 1, passage, (1, 2))
    assert view.coverage == 1.0 and view.main_page == 2
    assert render_page(pdf, 1, PAGES[0], (1, 2)).main_page == 1
