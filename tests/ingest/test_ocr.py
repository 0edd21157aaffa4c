"""OCR of scanned pages: routing, the cache, confidence warnings, settings, limits, set-up.

Real small PDFs whose pages are pictures of text (tests/ocr_pdfs.py), read by
the real tesseract where the test says so; routing is also checked with a
fake engine that goes through the same reader.
"""

from __future__ import annotations

import functools
import shutil
import sqlite3
from pathlib import Path

import pytest

from core.settings import Settings
from index import IndexSnapshot, chunks_db
from index.manifest import read_manifest
from ingest.extract import open_pdf
from ingest.ocr import OcrConfig, tesseract
from ingest.ocr import reader as ocr_reader
from ingest.ocr.engines import OcrResult
from ingest.ocr.reader import OcrReader
from ingest.parse_pool import FileDone, FileFailed, OcrPageRead, ParserPool, parse_file
from tests import ocr_pdfs
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents

needs_tesseract = pytest.mark.skipif(
    shutil.which("tesseract") is None, reason="tesseract is not installed (run `make ocr`)"
)

TEXT_PAGE = "The pump manual says to check the oil level every week before use."
SCAN_PAGE = "The warranty for the pineapple press lasts two years from delivery."
SCAN_PAGE_2 = "Cleaning the press: rinse the drum with warm water after each batch."


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        index_dir=tmp_path / "index",
        chunk_tokens=40,
        chunk_overlap=8,
        ocr_cache_dir=tmp_path / "ocr-cache",
    )


def ingest(paths, settings, **kw):
    kw.setdefault("parser_processes", 0)
    kw.setdefault("embedder", FakeEmbedder())
    return ingest_documents(paths, settings, **kw)


class CountingEngine:
    """Reads every page as the same sentence; counts the pages it was given."""

    name = "counting"
    version = "1"

    def __init__(self) -> None:
        self.calls = 0

    def read(self, image, languages, timeout, single_block=False) -> OcrResult:
        self.calls += 1
        return OcrResult("words read from the picture", 0.9, 5)


def _prepared(path: Path, config: OcrConfig, engine) -> list[int]:
    """Pages (1-based) whose text the reader took from OCR."""
    with open_pdf(path) as doc, OcrReader(doc, path, config, engine=engine) as reader:
        for index in range(doc.page_count):
            reader.prepare(index)
        return [page for page, _ in reader.stats().pages]


def test_routing_reads_only_the_pages_without_a_text_layer(tmp_path):
    path = ocr_pdfs.mixed_pdf(
        tmp_path / "mixed.pdf",
        [(TEXT_PAGE, False), (SCAN_PAGE, True), (TEXT_PAGE, False), (SCAN_PAGE_2, True)],
    )
    engine = CountingEngine()
    assert _prepared(path, OcrConfig(cache_dir=None), engine) == [2, 4]
    assert engine.calls == 2


def test_a_scan_with_a_few_real_words_is_read_by_ocr(tmp_path):
    path = ocr_pdfs.stamped_scan_pdf(tmp_path / "fax.pdf", SCAN_PAGE, "Page 7")
    with open_pdf(path) as doc:
        assert doc.raw_text(0).strip() == "Page 7"  # the text layer has only the stamp
    engine = CountingEngine()
    assert _prepared(path, OcrConfig(cache_dir=None), engine) == [1]
    assert engine.calls == 1


def test_a_born_digital_pdf_is_never_rendered(tmp_path):
    path = pdfs.text_pdf(tmp_path / "text.pdf", [TEXT_PAGE, "Short page.", "", "x"])
    engine = CountingEngine()
    assert _prepared(path, OcrConfig(cache_dir=None), engine) == []
    assert engine.calls == 0


def test_a_garbled_text_layer_is_read_again():
    from ingest.ocr.route import text_layer_problem

    assert text_layer_problem("\ufffd" * 30 + " abc") == "garbled text layer"
    assert text_layer_problem("#$%& *+,- ./:; <=>? @[\\] ^_`{ |}~!" * 2) == "garbled text layer"
    assert text_layer_problem("Table 3: 12.5 34.1 99.0 (mm) 7 8 9") is None


@pytest.mark.slow
@needs_tesseract
def test_mixed_pdf_is_indexed_with_ocr_pages_marked(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pages = [(" ".join([TEXT_PAGE] * 4), False), (" ".join([SCAN_PAGE] * 4), True)]
    ocr_pdfs.mixed_pdf(docs / "mixed.pdf", pages)
    report = ingest([docs], settings)
    assert report.added == ("mixed.pdf",) and not report.warnings
    file = report.ocr.files["mixed.pdf"]
    assert file["pages"] == 1 and file["read_now"] == 1 and file["mean_confidence"] > 0.8
    assert read_manifest(settings.paths.index_dir).documents["mixed.pdf"].ocr_pages == 1
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        chunks = list(snap.iter_chunks())
        assert "pineapple" in snap.page_text("mixed.pdf", 2)
    by_page = {c.page_start: c for c in chunks if c.page_start == c.page_end}
    assert not by_page[1].ocr and by_page[2].ocr and by_page[2].ocr_confidence > 0.8


@pytest.mark.slow
@needs_tesseract
def test_second_ingest_takes_ocr_from_the_cache(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    ocr_pdfs.image_pdf(docs / "scan.pdf", [SCAN_PAGE, SCAN_PAGE_2])
    first = ingest([docs], settings)
    assert first.ocr.read_now == 2
    # A rebuild parses everything again, and a copy under another name is a new file.
    shutil.copy(docs / "scan.pdf", docs / "copy.pdf")
    again = ingest([docs], settings, rebuild=True)
    files = again.ocr.files
    assert again.ocr.read_now == 0
    assert files["scan.pdf"]["from_cache"] == 2 and files["copy.pdf"]["from_cache"] == 2
    assert set(again.added) == {"scan.pdf", "copy.pdf"}


@needs_tesseract
def test_low_confidence_page_is_a_warning(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    ocr_pdfs.image_pdf(docs / "scan.pdf", [SCAN_PAGE])
    clean = ingest([docs], settings)
    assert clean.added == ("scan.pdf",) and not clean.warnings
    strict = settings.replace(ocr_min_confidence=0.999)
    report = ingest([docs], strict, rebuild=True)
    assert report.added == ("scan.pdf",)
    (warning,) = report.warnings
    assert warning.reason.startswith("OCR confidence is low on page 1 (")
    assert report.ocr.files["scan.pdf"]["low_confidence_pages"] == [1]


def test_ocr_turned_off_leaves_scans_unread(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    ocr_pdfs.image_pdf(docs / "scan.pdf", [SCAN_PAGE])
    ocr_pdfs.mixed_pdf(docs / "mixed.pdf", [(TEXT_PAGE, False), (SCAN_PAGE, True)])
    report = ingest([docs], settings.replace(ocr=False))
    reasons = {s.file: s.reason for s in report.skipped}
    assert reasons["scan.pdf"] == (
        "no extractable text on 1 page (scanned? OCR is turned off: set RAG_OCR=1)"
    )
    assert report.added == ("mixed.pdf",) and report.ocr.pages == 0
    (warning,) = report.warnings
    assert warning.reason.startswith("no extractable text on 1 page (scanned? OCR is turned off")


def test_missing_tesseract_says_how_to_install_it(tmp_path, settings, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    ocr_pdfs.image_pdf(docs / "scan.pdf", [SCAN_PAGE])
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.setattr(ocr_reader, "rapidocr_installed", lambda: False)
    tesseract._program.cache_clear()
    try:
        report = ingest([docs], settings)
    finally:
        tesseract._program.cache_clear()
    (skipped,) = report.skipped
    expected = "no extractable text on 1 page (1 page needs OCR, but OCR needs the `tesseract`"
    assert skipped.reason.startswith(expected)
    assert "tesseract" in skipped.reason and "make ocr" in skipped.reason
    assert report.ocr.files["scan.pdf"]["problem"]


@pytest.mark.hostile
@needs_tesseract
@pytest.mark.slow
@pytest.mark.timeout(300)
def test_hostile_image_page_costs_only_itself(tmp_path):
    """An image that inflates to 1.6 GB, and a 200-inch page (3.6 gigapixels at 300 dpi),
    under a 512 MB parser limit: each costs at most itself; the giant page is read smaller."""
    bomb = ocr_pdfs.image_bomb_pdf(tmp_path / "bomb.pdf", side=40_000)
    giant = ocr_pdfs.giant_page_pdf(tmp_path / "giant.pdf", SCAN_PAGE)
    good = ocr_pdfs.image_pdf(tmp_path / "good.pdf", [SCAN_PAGE])
    config = OcrConfig(cache_dir=tmp_path / "cache")
    pool = ParserPool(1, memory_mb=512, parse=functools.partial(parse_file, ocr=config))
    events = list(pool.events([bomb, giant, good]))
    ends = {e.index: e for e in events if isinstance(e, FileDone | FileFailed)}
    bomb_end = ends[0]
    assert isinstance(bomb_end, FileFailed) or not bomb_end.ocr.pages
    assert isinstance(ends[1], FileDone) and any(
        isinstance(e, OcrPageRead) and e.index == 1 for e in events
    )
    assert isinstance(ends[2], FileDone) and [p for p, _ in ends[2].ocr.pages] == [1]


def test_chunk_store_from_before_ocr_gains_the_column(tmp_path):
    path = tmp_path / "chunks.sqlite"
    con = sqlite3.connect(path)
    before_ocr = chunks_db.SCHEMA.replace(",\n    ocr_confidence REAL", "")
    assert before_ocr != chunks_db.SCHEMA
    con.executescript(before_ocr)
    con.execute(
        "INSERT INTO chunks(chunk_id, source, ordinal, page_start, page_end, n_tokens, text)"
        " VALUES ('c', 'a.pdf', 0, 1, 1, 2, 'old text')"
    )
    con.commit()
    con.close()
    assert "ocr_confidence" not in chunks_db.columns(chunks_db.open_readonly(path), "chunks")
    writable = chunks_db.open_writable(path)
    writable.execute("COMMIT")
    assert "ocr_confidence" in chunks_db.columns(writable, "chunks")
    row = writable.execute("SELECT text, ocr_confidence FROM chunks").fetchone()
    assert row == ("old text", None)


def test_dot_leaders_are_erased_and_an_ellipsis_is_kept(tmp_path):
    import pypdfium2 as pdfium

    from ingest.ocr.preprocess import erase_dot_leaders
    from ingest.ocr.render import render_page

    contents = "\n".join(f"{n} Chapter number {n} {'.' * 40} {n * 7}" for n in range(1, 5))
    pdf = pdfium.PdfDocument(pdfs.text_pdf_bytes([contents, "Wait for it... then go."]))
    try:
        list_page, prose = (render_page(pdf[i], 300, 40_000_000) for i in range(2))
    finally:
        pdf.close()
    cleaned, leader_lines = erase_dot_leaders(list_page)
    assert leader_lines == 4
    assert cleaned.pixels.count(255) > list_page.pixels.count(255)  # dots painted white
    assert erase_dot_leaders(prose) == (prose, 0)
