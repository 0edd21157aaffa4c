"""Readers during a write see the old or the new index, never a mix; writers take turns."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from core.errors import IndexLockedError, IndexNotFoundError
from core.settings import Settings
from index import IndexSnapshot
from retrieval.dense import dense_search
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(12):
        pages = [
            f"Document {i} page {p} mentions marker{i} and shared words. " * 5 for p in range(3)
        ]
        pdfs.text_pdf(folder / f"d{i:02}.pdf", pages)
    return folder


@pytest.mark.slow
def test_searches_during_an_ingest_never_see_a_torn_index(tmp_path, docs):
    index = tmp_path / "index"
    writer = subprocess.Popen(
        [sys.executable, "-m", "tests.ingest_driver", str(index), str(docs)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    generations, reads = set(), 0
    deadline = time.monotonic() + 120
    while writer.poll() is None and time.monotonic() < deadline:
        try:
            snap = IndexSnapshot.open(index, verify=True)
        except IndexNotFoundError:
            time.sleep(0.01)
            continue
        with snap:
            documents = snap.manifest.documents
            # Vectors, chunk rows and manifest all describe one and the same generation.
            assert len(snap) == sum(d.chunks for d in documents.values())
            for passage in dense_search(snap, FakeEmbedder(), "marker3 shared words", k=5):
                assert passage.source in documents
            generations.add(snap.manifest.generation)
            reads += 1
    assert writer.wait(timeout=120) == 0
    assert reads > 0 and len(generations) >= 2, (reads, generations)


@pytest.mark.slow
def test_a_second_ingest_waits_then_refuses_with_a_clear_message(tmp_path, docs):
    index = tmp_path / "index"
    settings = Settings(index_dir=index, chunk_tokens=40, chunk_overlap=8, lock_timeout_seconds=0.5)
    from index.lock import WriteLock

    waited = []
    # The lock stands in for an ingest in another process.
    with WriteLock(index), pytest.raises(IndexLockedError) as err:
        ingest_documents([docs], settings, embedder=FakeEmbedder(), on_wait=waited.append)
    assert waited, "the user was not told that it waits"
    assert "another ingest" in str(err.value) and "RAG_LOCK_TIMEOUT_SECONDS" in str(err.value)
    report = ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0)
    assert len(report.added) == 12
