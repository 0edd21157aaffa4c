"""A folder of hostile PDFs is ingested with no crash and no hang, each bad file named."""

from __future__ import annotations

import time

import pytest

from core.settings import Settings
from index import IndexSnapshot
from tests import hostile_pdfs as hostile
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents


@pytest.mark.slow
@pytest.mark.hostile
@pytest.mark.timeout(300)
def test_hostile_folder_is_survived_and_reported(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "control.pdf", ["An ordinary page about lighthouses."])
    hostile.deeply_nested_pdf(docs / "nested.pdf")
    hostile.cyclic_page_tree_pdf(docs / "cycle.pdf")
    hostile.decompression_bomb_pdf(docs / "bomb.pdf", megabytes=1024)
    hostile.many_pages_pdf(docs / "long.pdf", pages=10_000)
    hostile.huge_line_pdf(docs / "oneline.pdf")
    hostile.broken_xref_pdf(docs / "xref.pdf")
    pdfs.truncated_pdf(docs / "truncated.pdf")
    pdfs.garbage_pdf(docs / "garbage.pdf")
    settings = Settings(
        index_dir=tmp_path / "index",
        chunk_tokens=64,
        chunk_overlap=8,
        parser_memory_mb=512,  # the bomb inflates to 1 GB
        file_timeout_seconds=60,
    )
    started = time.monotonic()
    report = ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=1)
    elapsed = time.monotonic() - started

    every = set(report.added) | {s.file for s in report.skipped}
    assert every == {p.name for p in docs.iterdir()}, "a file was neither indexed nor reported"
    assert all(s.reason for s in report.skipped)
    reasons = {s.file: s.reason for s in report.skipped}
    assert "garbage.pdf" in reasons
    if "bomb.pdf" in reasons:  # PDFium aborts when an allocation fails under the limit
        assert "memory" in reasons["bomb.pdf"].lower()
    for name in ("control.pdf", "long.pdf", "oneline.pdf", "xref.pdf"):
        assert name in report.added, f"{name}: {report}"
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        docs_in = snap.manifest.documents
        assert docs_in["long.pdf"].pages == 10_000
        assert "entry9999" in snap.page_text("long.pdf", 10_000)
        assert max(c.n_tokens for c in snap.iter_chunks()) <= 64
    assert elapsed < 240
