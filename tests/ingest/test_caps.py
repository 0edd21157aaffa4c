"""Issue 27 finding 9: per-file caps on text, chunks and time; the reason is in the report.

A PDF of a few kilobytes expanded to 2.6 MB of text (another to 18.5 M characters)
and held the ingest for up to an hour of embedding; in the app it held the only
ingest slot. Past a cap a file is skipped with a reason naming the setting, and the
other files are indexed.
"""

from __future__ import annotations

import time

import pytest

from app.service import AppService
from core.settings import Settings
from ingest.parse_pool import FileDone, PagesParsed, ParserPool
from service.components import Components
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from tests.hostile_pdfs import text_bomb_pdf
from wiring.root import ingest_documents


class SlowOnWord(FakeEmbedder):
    """Embeds texts holding "Expanding" slowly: one file runs past a time cap."""

    def embed(self, texts):
        if any("Expanding" in t for t in texts):
            time.sleep(0.6)
        return super().embed(texts)


def _docs(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    text_bomb_pdf(docs / "bomb.pdf", pages=150)
    pdfs.text_pdf(docs / "plain.pdf", ["The warranty lasts two years from delivery."])
    return docs


def _ingest(docs, tmp_path, embedder=None, **settings):
    s = Settings(index_dir=tmp_path / "index", chunk_tokens=40, chunk_overlap=8, **settings)
    return ingest_documents([docs], s, embedder=embedder or FakeEmbedder(), parser_processes=0)


def test_a_small_pdf_with_too_many_chunks_is_skipped_with_the_reason(tmp_path):
    docs = _docs(tmp_path)
    assert (docs / "bomb.pdf").stat().st_size < 4_000  # 150 pages of 600 characters
    report = _ingest(docs, tmp_path, file_max_chunks=100)
    assert report.added == ("plain.pdf",)
    [(file, reason)] = [(s.file, s.reason) for s in report.skipped]
    assert file == "bomb.pdf" and "passes 100 chunks" in reason and "RAG_FILE_MAX_CHUNKS" in reason


def test_a_text_bomb_is_skipped_by_the_default_settings(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    bomb = text_bomb_pdf(docs / "bomb.pdf", pages=80, line="Expanding text " * 250)
    assert bomb.stat().st_size < 2_000  # and 300,000 characters of text
    pdfs.text_pdf(docs / "plain.pdf", ["The warranty lasts two years from delivery."])
    report = _ingest(docs, tmp_path)
    assert report.added == ("plain.pdf",)
    [reason] = [s.reason for s in report.skipped if s.file == "bomb.pdf"]
    assert "characters of text, over 20 per byte (RAG_FILE_MAX_EXPANSION)" in reason


def test_a_pdf_with_too_much_text_is_skipped_with_the_reason(tmp_path):
    report = _ingest(_docs(tmp_path), tmp_path, file_max_chars=30_000)
    assert report.added == ("plain.pdf",)
    [reason] = [s.reason for s in report.skipped if s.file == "bomb.pdf"]
    assert "passes 30,000 characters by page" in reason and "RAG_FILE_MAX_CHARS" in reason


def test_a_file_past_the_time_cap_is_skipped_and_the_others_go_on(tmp_path):
    report = _ingest(_docs(tmp_path), tmp_path, SlowOnWord(), file_max_seconds=0.4)
    assert report.added == ("plain.pdf",)
    [reason] = [s.reason for s in report.skipped if s.file == "bomb.pdf"]
    assert "took more than 0.4 s (RAG_FILE_MAX_SECONDS)" in reason


def test_the_app_caps_the_time_of_a_file_by_default(tmp_path):
    docs = _docs(tmp_path)
    settings = Settings(
        index_dir=tmp_path / "index",
        documents_dir=docs,
        ingest_roots=str(docs),
        app_file_max_seconds=0.4,
    )
    assert Settings().app.app_file_max_seconds == 900 and Settings().ingest.file_max_seconds == 0
    svc = AppService(settings, Components(lambda _s: SlowOnWord(), lambda _s: None, 0))
    report = svc.ingest([docs]).report
    assert report.added == ("plain.pdf",)
    [reason] = [s.reason for s in report.skipped if s.file == "bomb.pdf"]
    assert "(RAG_APP_FILE_MAX_SECONDS)" in reason


@pytest.mark.parametrize("processes", [0, pytest.param(1, marks=pytest.mark.slow)])
def test_a_dropped_file_is_not_parsed_to_its_end(tmp_path, processes):
    """A file past a cap stops its parser too: the attack's 62 KB file had 18.5 M characters."""
    docs = _docs(tmp_path)
    pool = ParserPool(processes, batch_pages=4)
    events = []
    for event in pool.events([docs / "bomb.pdf", docs / "plain.pdf"]):
        events.append(event)
        if isinstance(event, PagesParsed) and event.index == 0:
            pool.abandon(0)
    bomb_pages = sum(len(e.pages) for e in events if isinstance(e, PagesParsed) and e.index == 0)
    assert bomb_pages < 150 and not any(isinstance(e, FileDone) and e.index == 0 for e in events)
    assert any(isinstance(e, FileDone) and e.index == 1 for e in events)  # the next file goes on
