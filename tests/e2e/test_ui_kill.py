"""kill -9 the running app in the middle of an upload's ingest: the index still loads and
answers as before, the uploads are kept, and uploading again in a new app completes.

The app runs as users run it (`streamlit run`, driven by headless Chromium);
its embedder is the fake one at 0.2 s per call (`tests.app_fakes:slow_ingest`),
so the ingest lasts seconds and the kill lands inside it, after some documents
were committed (checkpoints every 0.3 s) and before the last one. Skipped, with
the reason, only where Chromium or Playwright is missing. Takes about 40 s.
"""

from __future__ import annotations

import random
import re
import time

import pytest

from core.settings import Settings
from index import IndexSnapshot
from tests.browser_app import app_process, browser_marks, chromium_page
from tests.fakes import FakeEmbedder
from tests.index_checks import old_document_answers
from tests.pdf_factory import text_pdf
from wiring.root import ingest_documents

pytestmark = [*browser_marks(400), pytest.mark.kill]

CHUNKING = {"chunk_tokens": 40, "chunk_overlap": 8}
NEW_FILES = 8


def _upload(page, url, files) -> None:
    page.goto(url)
    uploader = page.get_by_test_id("stFileUploaderDropzoneInput")
    uploader.wait_for(state="attached", timeout=60_000)
    uploader.set_input_files([str(f) for f in files])


def test_app_killed_during_an_upload_ingest_loses_nothing(tmp_path):
    old, new = tmp_path / "docs", tmp_path / "to_upload"
    old.mkdir()
    new.mkdir()
    for i in range(3):
        text_pdf(
            old / f"old{i}.pdf",
            [f"Old manual {i} page {p} on topic{i}x{p} and harbours. " * 6 for p in range(3)],
        )
    for i in range(NEW_FILES):
        pages = [f"Upload {i} page {p} about novel{i}y{p} and rivers. " * 12 for p in range(4)]
        text_pdf(new / f"new{i}.pdf", pages)
    index, uploads = tmp_path / "index", tmp_path / "uploads"
    settings = Settings(index_dir=index, **CHUNKING)
    ingest_documents([old], settings, embedder=FakeEmbedder(), parser_processes=0)
    queries = ["topic0x1 harbours", "topic2x2 harbours", "topic1x0 harbours"]
    before = old_document_answers(index, queries)
    env = {
        "RAG_INDEX_DIR": str(index),
        "RAG_DOCUMENTS_DIR": str(uploads),
        "RAG_MODELS_DIR": str(tmp_path / "models"),
        "RAG_APP_FACTORY": "tests.app_fakes:slow_ingest",
        "RAG_CHUNK_TOKENS": str(CHUNKING["chunk_tokens"]),
        "RAG_CHUNK_OVERLAP": str(CHUNKING["chunk_overlap"]),
        "RAG_EMBEDDING_BATCH_SIZE": "1",  # 4 chunks per embed call: dozens of calls
        "RAG_CHECKPOINT_SECONDS": "0.3",
    }
    files = sorted(new.glob("*.pdf"))

    with (
        app_process(env, tmp_path / "killed.log", timeout=120) as app,
        chromium_page(tmp_path / "profile") as page,
    ):
        _upload(page, app.url, files)
        page.get_by_test_id("stProgress").wait_for(timeout=120_000)
        time.sleep(random.Random(11).uniform(0.8, 2.0))
        app.kill()

    # The index loads with its checksums verified and answers as before the kill.
    assert old_document_answers(index, queries) == before
    with IndexSnapshot.open(index) as snap:
        committed = {s for s in snap.manifest.documents if s.startswith("new")}
        assert {f"old{i}.pdf" for i in range(3)} <= set(snap.manifest.documents)
        assert len(snap) == sum(d.chunks for d in snap.manifest.documents.values())
    assert len(committed) < NEW_FILES, "the kill came after the ingest had finished"
    # Every upload was saved whole before its ingest began, and nothing half-written is left.
    assert sorted(f.name for f in uploads.iterdir()) == [f.name for f in files]
    assert all((uploads / f.name).read_bytes() == f.read_bytes() for f in files)

    # A new app; the same files uploaded again: the ingest completes, nothing doubled.
    with (
        app_process(env, tmp_path / "rerun.log", timeout=120) as app,
        chromium_page(tmp_path / "profile2") as page,
    ):
        _upload(page, app.url, files)
        done = page.get_by_text(re.compile(r"chunks in [\d.]+ s\."))
        done.wait_for(timeout=180_000)
        summary = done.inner_text()
    assert f"{NEW_FILES - len(committed)} added" in summary, summary
    assert sorted(f.name for f in uploads.iterdir()) == [f.name for f in files]

    reference = Settings(index_dir=tmp_path / "reference", **CHUNKING)
    ingest_documents([uploads, old], reference, embedder=FakeEmbedder(), parser_processes=0)
    with (
        IndexSnapshot.open(index, verify=True) as got,
        IndexSnapshot.open(reference.paths.index_dir) as want,
    ):
        counts = {s: (d.pages, d.chunks) for s, d in got.manifest.documents.items()}
        assert counts == {s: (d.pages, d.chunks) for s, d in want.manifest.documents.items()}
        assert len(got) == len(want)
    assert old_document_answers(index, queries) == before
