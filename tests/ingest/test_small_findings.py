"""Issue 27 finding 10, the smaller ones: each reported as what it is.

A page the parser cannot load is not "no text, OCR found none"; attached files are
mentioned; files not named *.pdf are counted (and near misses named); NaN settings are
refused as not numbers; an error never lands on the progress bar's line; the bar's end
never moves. (Right-to-left overrides in names: tests/app/test_uploads_roots.py.)
"""

from __future__ import annotations

import errno
import re

import pytest

from core.errors import ConfigError
from core.settings import Settings, load_settings
from ingest import cli
from ingest.options import IngestOptions
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from tests.hostile_pdfs import attachment_pdf, unloadable_page_pdf
from wiring.root import ingest_documents


def _ingest(docs, tmp_path, **kw):
    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=40, chunk_overlap=8)
    return ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0, **kw)


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    return folder


def test_a_page_the_parser_cannot_load_is_told_as_such(docs, tmp_path):
    unloadable_page_pdf(docs / "half.pdf", good_pages=1)
    unloadable_page_pdf(docs / "none.pdf", good_pages=0)
    report = _ingest(docs, tmp_path)
    assert report.added == ("half.pdf",)
    [warning] = [w.reason for w in report.warnings if w.file == "half.pdf"]
    assert "1 of its 2 pages could not be loaded by the PDF parser" in warning
    [reason] = [s.reason for s in report.skipped if s.file == "none.pdf"]
    assert "could not load 1 of its 1 pages" in reason
    assert "OCR" not in warning + reason and "no extractable text" not in warning + reason


def test_attached_files_are_mentioned(docs, tmp_path):
    attachment_pdf(docs / "letter.pdf", "minutes.txt")
    report = _ingest(docs, tmp_path)
    assert report.added == ("letter.pdf",)
    [note] = [w.reason for w in report.warnings if w.file == "letter.pdf"]
    assert "1 attached file (minutes.txt)" in note and "not indexed" in note


def test_files_not_named_pdf_are_counted_and_near_misses_named(docs, tmp_path, capsys, monkeypatch):
    pdf = pdfs.text_pdf_bytes(["A real PDF about harbours."])
    (docs / "a.pdf").write_bytes(pdf)
    (docs / "report.pdf ").write_bytes(pdf)  # a trailing space
    (docs / "notes.txt").write_text("not a pdf")
    report = _ingest(docs, tmp_path)
    assert report.added == ("a.pdf",) and report.other_files == 2
    assert [w.file for w in report.warnings] == ["report.pdf "]
    assert report.to_json()["other_files"] == 2
    assert "not read: 2 other files (not named .pdf)" in cli.format_summary(report)


def test_nan_and_infinity_are_refused_as_not_numbers(monkeypatch):
    for value in ("nan", "NaN", "inf", "-inf"):
        monkeypatch.setenv("RAG_FILE_TIMEOUT_SECONDS", value)
        with pytest.raises(ConfigError, match="finite number") as refused:
            load_settings()
        assert "86400" not in str(refused.value)


def test_an_error_is_printed_on_a_line_of_its_own_after_the_progress_bar(
    docs, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr("wiring.root.load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr(IngestOptions, "parser_processes", lambda self: 0)
    pdfs.text_pdf(docs / "a.pdf", ["A page about harbours."])

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("index.writer.atomic_write_bytes", full)
    assert cli.main([str(docs), "--index", str(tmp_path / "index")]) == 2
    err = capsys.readouterr().err
    assert re.search(r"(^|\n)error: the disk holding the index", err), repr(err)


def test_the_progress_bar_end_never_moves(docs, tmp_path):
    """Page totals are estimates until every file is opened (141 -> 148 in the attack);
    the bytes of the files to read are known from the start."""
    for i, pages in enumerate((1, 12, 2, 9)):
        pdfs.text_pdf(
            docs / f"d{i}.pdf", [f"Page {p} of d{i} about harbours." for p in range(pages)]
        )
    seen = []
    _ingest(docs, tmp_path, on_progress=seen.append)
    assert len(seen) > 4 and len({p.bytes_total for p in seen}) == 1
    done = [p.bytes_done for p in seen]
    assert done == sorted(done) and done[-1] == seen[-1].bytes_total
