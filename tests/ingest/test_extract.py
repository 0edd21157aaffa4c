"""Contract tests of the PDF text backends and of ingest.extract, on real PDFs made here."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pypdf
import pypdfium2 as pdfium
import pytest

from core.errors import ConfigError, PdfError
from core.types import PageText
from ingest import extract, pdf_pypdf
from ingest.clean import clean_page_text
from ingest.extract import (
    BACKENDS,
    ENCRYPTED_REASON,
    PdfDocumentText,
    check_file,
    iter_page_batches,
    no_text_reason,
    open_pdf,
)
from tests import pdf_factory

# Page 14 of auto-multiple-choice.fr.pdf (Debian 12 package auto-multiple-choice-doc-pdf
# 1.6.0-1, made with DBLaTeX/xdvipdfmx), extracted alone with pypdf's writer (fonts kept).
# License: GPL-2+, (c) 2008-2022 Alexis Bienvenüe; DFSG-free (see the package's copyright).
RUN_TOGETHER_PDF = Path(__file__).parents[1] / "data" / "amc_fr_run_together_words.pdf"

PAGES = [
    "Alpha report\nThe turbine speed was measured twice.\n- first item\n- second item",
    "Beta section " + "with a long sentence that must wrap onto several lines " * 4,
    "",
    "Gamma appendix: Café crème (parentheses) and back\\slash",
]


@pytest.fixture(params=sorted(BACKENDS))
def backend_name(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def sample_pdf(tmp_path: Path) -> Path:
    return pdf_factory.text_pdf(tmp_path / "sample.pdf", PAGES)


def _words(text: str) -> list[str]:
    return text.split()


# --- backend contract ------------------------------------------------------------------------


def test_backend_recovers_every_word_of_every_page(backend_name: str, sample_pdf: Path) -> None:
    with BACKENDS[backend_name].open(sample_pdf) as doc:
        assert isinstance(doc, PdfDocumentText)
        assert doc.backend == backend_name
        assert doc.page_count == len(PAGES)
        texts = [clean_page_text(doc.raw_text(i)) for i in range(doc.page_count)]
    assert [_words(t) for t in texts] == [_words(p) for p in PAGES]
    assert texts[0].split("\n")[2] == "- first item"  # line breaks survive


def test_pages_can_be_read_in_any_order_one_at_a_time(backend_name: str, sample_pdf: Path) -> None:
    with BACKENDS[backend_name].open(sample_pdf) as doc:
        assert "Gamma" in doc.raw_text(3)
        assert "Alpha" in doc.raw_text(0)
        assert "Gamma" in doc.raw_text(3)  # reopening a page works too
        assert doc.failed_pages == 0


def test_index_out_of_range_and_closed_document_raise(backend_name: str, sample_pdf: Path) -> None:
    with BACKENDS[backend_name].open(sample_pdf) as doc:
        with pytest.raises(IndexError):
            doc.raw_text(len(PAGES))
        with pytest.raises(IndexError):
            doc.raw_text(-1)
    with pytest.raises(ValueError, match="closed"):
        doc.raw_text(0)
    doc.close()  # closing twice is harmless


def test_password_protected_pdf_is_refused_as_encrypted(backend_name: str, tmp_path: Path) -> None:
    path = pdf_factory.encrypted_pdf(tmp_path / "locked.pdf", user_password="secret")
    with pytest.raises(PdfError) as caught:
        BACKENDS[backend_name].open(path)
    assert caught.value.reason == ENCRYPTED_REASON
    assert "locked.pdf" in caught.value.hint


def test_pdf_encrypted_with_empty_user_password_opens(backend_name: str, tmp_path: Path) -> None:
    path = pdf_factory.encrypted_pdf(tmp_path / "owner-only.pdf", user_password="")
    with BACKENDS[backend_name].open(path) as doc:
        assert "pineapple" in doc.raw_text(0)


@pytest.mark.parametrize("make", [pdf_factory.garbage_pdf, pdf_factory.truncated_pdf])
def test_broken_pdf_is_reported_as_corrupt(backend_name: str, tmp_path: Path, make) -> None:
    path = make(tmp_path / "broken.pdf")
    with pytest.raises(PdfError) as caught:
        BACKENDS[backend_name].open(path)
    assert caught.value.reason.startswith("corrupt or unreadable PDF: ")
    assert len(caught.value.reason) < 120


def test_scanned_pdf_has_pages_but_no_text(backend_name: str, tmp_path: Path) -> None:
    path = pdf_factory.scanned_pdf(tmp_path / "scan.pdf", n_pages=3)
    with BACKENDS[backend_name].open(path) as doc:
        assert doc.page_count == 3
        assert [doc.raw_text(i).strip() for i in range(3)] == ["", "", ""]


_PAGE_EXTRACTION = {  # where each backend extracts a page's text
    "pdfium": (pdfium.PdfPage, "get_textpage"),
    "pypdf": (pypdf.PageObject, "extract_text"),
}


def test_page_whose_extraction_raises_reads_as_empty_and_is_counted(
    backend_name: str, sample_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner, method = _PAGE_EXTRACTION[backend_name]

    def explode(*args: object, **kwargs: object) -> None:
        raise RuntimeError("broken content stream")

    with BACKENDS[backend_name].open(sample_pdf) as doc:
        monkeypatch.setattr(owner, method, explode)
        assert doc.raw_text(1) == ""
        monkeypatch.undo()
        assert "Gamma" in doc.raw_text(3)
        assert doc.failed_pages == 1


def test_pypdf_reads_correctly_across_its_cache_resets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf_pypdf, "PAGES_PER_CACHE_RESET", 3)
    bodies = [f"Body {n} of the cached file" for n in range(10)]
    path = pdf_factory.text_pdf(tmp_path / "ten.pdf", bodies)
    with BACKENDS["pypdf"].open(path) as doc:
        texts = [doc.raw_text(i) for i in [*range(10), 4, 0]]
        assert doc.failed_pages == 0
    assert [t.strip() for t in texts] == [*bodies, bodies[4], bodies[0]]


# --- check_file and open_pdf -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p, "file not found"),
        (lambda p: (p.mkdir(), p)[1], "not a regular file"),
        (lambda p: (p.symlink_to(p.with_name("gone.pdf")), p)[1], "file not found"),
        (pdf_factory.zero_byte_pdf, "empty file (0 bytes)"),
        (pdf_factory.not_a_pdf, "not a PDF (no %PDF header)"),
    ],
    ids=["missing", "directory", "dangling-link", "empty", "png"],
)
def test_wrong_inputs_get_a_precise_reason(tmp_path: Path, make, reason: str) -> None:
    path = make(tmp_path / "input.pdf")
    with pytest.raises(PdfError) as caught:
        open_pdf(path)
    assert caught.value.reason == reason
    assert caught.value.hint


def test_junk_before_the_header_is_tolerated(tmp_path: Path) -> None:
    path = tmp_path / "mail.pdf"
    path.write_bytes(b"From: someone\r\n\r\n" + pdf_factory.text_pdf_bytes(["Still readable"]))
    check_file(path)
    with open_pdf(path) as doc:
        assert clean_page_text(doc.raw_text(0)) == "Still readable"


def test_header_beyond_the_first_kilobyte_is_not_a_pdf(tmp_path: Path) -> None:
    path = tmp_path / "late.pdf"
    path.write_bytes(b"x" * 1024 + pdf_factory.text_pdf_bytes(["too late"]))
    with pytest.raises(PdfError, match="no %PDF header"):
        check_file(path)


@pytest.mark.parametrize("make", [pdf_factory.garbage_pdf, pdf_factory.truncated_pdf])
def test_open_pdf_reports_the_default_backends_error_when_both_fail(tmp_path: Path, make) -> None:
    with pytest.raises(PdfError) as caught:
        open_pdf(make(tmp_path / "broken.pdf"))
    assert caught.value.reason.startswith("corrupt or unreadable PDF: ")
    assert "PDFium" in caught.value.reason  # the first (default) backend's error


class _FailingBackend:
    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason
        self.calls = 0

    def open(self, path: Path) -> PdfDocumentText:
        self.calls += 1
        raise PdfError(self.reason)


@pytest.mark.parametrize(("default", "fallback"), [("pdfium", "pypdf"), ("pypdf", "pdfium")])
def test_fallback_backend_opens_what_the_default_cannot(
    default: str, fallback: str, sample_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    failing = _FailingBackend(default, "corrupt or unreadable PDF: simulated")
    monkeypatch.setitem(extract.BACKENDS, default, failing)
    with open_pdf(sample_pdf, backend=default) as doc:
        assert doc.backend == fallback
        assert "Gamma" in doc.raw_text(3)
    assert failing.calls == 1


def test_encrypted_file_is_not_retried_with_the_fallback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fallback = _FailingBackend("pypdf", "should not be called")
    monkeypatch.setitem(extract.BACKENDS, "pypdf", fallback)
    path = pdf_factory.encrypted_pdf(tmp_path / "locked.pdf", user_password="secret")
    with pytest.raises(PdfError, match="encrypted"):
        open_pdf(path)
    assert fallback.calls == 0


def test_first_error_wins_when_both_backends_fail(
    sample_pdf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(extract.BACKENDS, "pdfium", _FailingBackend("pdfium", "first"))
    monkeypatch.setitem(extract.BACKENDS, "pypdf", _FailingBackend("pypdf", "second"))
    with pytest.raises(PdfError) as caught:
        open_pdf(sample_pdf)
    assert caught.value.reason == "first"


def test_unknown_backend_is_a_config_error(sample_pdf: Path) -> None:
    with pytest.raises(ConfigError, match="unknown PDF backend 'mupdf'"):
        open_pdf(sample_pdf, backend="mupdf")


# --- iter_page_batches -----------------------------------------------------------------------


class _CountingDocument:
    """Wraps a document and records which pages were read, to check laziness."""

    def __init__(self, doc: PdfDocumentText) -> None:
        self._doc = doc
        self.backend = doc.backend
        self.page_count = doc.page_count
        self.failed_pages = 0
        self.read: list[int] = []

    def raw_text(self, index: int) -> str:
        self.read.append(index)
        return self._doc.raw_text(index)


def test_batches_are_read_lazily_in_order(backend_name: str, tmp_path: Path) -> None:
    path = pdf_factory.text_pdf(tmp_path / "long.pdf", [f"Body of page {n}" for n in range(40)])
    with BACKENDS[backend_name].open(path) as doc:
        counting = _CountingDocument(doc)
        batches: Iterator[list[PageText]] = iter_page_batches(counting, batch_pages=16)
        first = next(batches)
        assert counting.read == list(range(16))  # nothing read ahead
        rest = list(batches)
    assert [len(b) for b in [first, *rest]] == [16, 16, 8]
    pages = [page for batch in [first, *rest] for page in batch]
    assert [p.page for p in pages] == list(range(1, 41))
    assert [p.text for p in pages] == [f"Body of page {n}" for n in range(40)]


def test_batches_drop_headers_and_footers_but_keep_blank_pages(
    backend_name: str, tmp_path: Path
) -> None:
    topics = ["pumps", "valves", "filters", "gauges", "hoses", "seals", "tanks"]
    texts = [
        f"Plant Manual\nChapter on {topic} and their care.\nPage {n} of 8"
        for n, topic in enumerate(topics, start=1)
    ]
    path = pdf_factory.text_pdf(tmp_path / "manual.pdf", [*texts, ""])
    with BACKENDS[backend_name].open(path) as doc:
        pages = [page for batch in iter_page_batches(doc, batch_pages=5) for page in batch]
    assert [p.text for p in pages] == [f"Chapter on {t} and their care." for t in topics] + [""]
    assert pages[-1] == PageText(page=8, text="")


def test_batch_size_must_be_positive(sample_pdf: Path) -> None:
    with open_pdf(sample_pdf) as doc, pytest.raises(ValueError, match="at least 1"):
        next(iter_page_batches(doc, batch_pages=0))


def test_no_text_reason_wording() -> None:
    why = "OCR found no text either"
    assert no_text_reason(1, why) == "no extractable text on 1 page (OCR found no text either)"
    assert no_text_reason(3, why) == "no extractable text on 3 pages (OCR found no text either)"


# --- real PDFs -------------------------------------------------------------------------------


def test_real_seed_pdfs_give_text_with_both_backends(seeds_dir: Path) -> None:
    seeds = sorted(seeds_dir.glob("*.pdf"))
    assert seeds, f"no PDFs in {seeds_dir}"
    for seed in seeds:
        word_counts = {}
        for name in BACKENDS:
            with BACKENDS[name].open(seed) as doc:
                pages = [p for batch in iter_page_batches(doc) for p in batch]
                assert [p.page for p in pages] == list(range(1, doc.page_count + 1)), seed
                assert doc.failed_pages == 0, seed
            word_counts[name] = sum(len(p.text.split()) for p in pages)
        assert word_counts["pdfium"] > 20 * len(pages), seed
        # Same document, so the two extractors agree within a wide margin.
        assert 0.5 < word_counts["pypdf"] / word_counts["pdfium"] < 2, (seed, word_counts)


@pytest.mark.skipif(not RUN_TOGETHER_PDF.is_file(), reason=f"{RUN_TOGETHER_PDF} is missing")
def test_pdfium_keeps_word_breaks_that_pypdf_loses_on_a_latex_pdf() -> None:
    texts = {}
    for name in BACKENDS:
        with BACKENDS[name].open(RUN_TOGETHER_PDF) as doc:
            texts[name] = clean_page_text(doc.raw_text(0))
    assert "nombre de pages minimal pour la partie sujet" in texts["pdfium"]
    assert "nombredepagesminimalpourlapartiesujet" in texts["pypdf"]
    assert len(texts["pdfium"].split()) > 2 * len(texts["pypdf"].split())
