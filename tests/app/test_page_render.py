"""Rendering the cited page with its passage highlighted; the cache; stale documents."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from app.page_render import DocumentFile, PageRenderer, check_file, render_page
from tests.hostile_pdfs import huge_page_pdf
from tests.pdf_factory import text_pdf, text_pdf_bytes

ROOT = Path(__file__).resolve().parents[2]
ZOOMS = {"100%": 1.0, "150%": 1.5, "200%": 2.0, "300%": 3.0}  # as app.views.sources_view offers

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


HUGE_TEXT = "The huge page says hello."


def has_yellow(png: bytes) -> bool:
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).reshape(-1, 3)
    return bool(((pixels[:, 0] > 200) & (pixels[:, 1] > 180) & (pixels[:, 2] < 150)).any())


@pytest.mark.parametrize("points", [14_400, 200_000])
def test_a_huge_page_is_drawn_within_the_pixel_budget_at_every_zoom(tmp_path, points):
    """Issue 27 finding 3: a 667-byte PDF with a 14,400 pt page took the server to 6.3 GB."""
    pdf = huge_page_pdf(tmp_path / "huge.pdf", points, HUGE_TEXT)
    renderer = PageRenderer(max_pixels=300_000)
    for zoom in ZOOMS.values():
        view = renderer.page(doc_of(pdf), 1, HUGE_TEXT, zoom=zoom)
        assert view.problem == "" and view.marks == 1, (zoom, view.problem)
        assert view.width * view.height <= 300_000, (zoom, view.width, view.height)
        assert has_yellow(view.png), zoom  # the passage is still marked


@pytest.mark.parametrize("box", [b"0 0 612 0", b"0 0 -5 -5", b"0 0 1e30 1e30", b"0 0 3 100000"])
def test_odd_page_sizes_are_drawn_within_the_budget_or_told(tmp_path, box):
    pdf = tmp_path / "odd.pdf"
    data = text_pdf_bytes(["odd size"]).replace(b"0 0 612 792", box)
    pdf.write_bytes(data)
    view = render_page(pdf, 1, "odd size", (1, 1), zoom=3.0, max_pixels=300_000)
    assert view.problem or 0 < view.width * view.height <= 300_000


@pytest.mark.slow
@pytest.mark.hostile
@pytest.mark.parametrize("zoom", list(ZOOMS.values()))
def test_the_page_view_of_a_14400_pt_page_stays_under_300_mb_above_idle(tmp_path, zoom):
    """Measured in a fresh process: its resident memory warmed up, then its peak."""
    pdf = huge_page_pdf(tmp_path / "huge.pdf", 14_400, HUGE_TEXT)
    out = subprocess.run(
        [sys.executable, "-m", "tests.page_memory", str(pdf), "1", str(zoom), HUGE_TEXT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    measured = json.loads(out.stdout)
    assert measured["marks"] == 1 and measured["above_idle_mb"] < 300, measured
