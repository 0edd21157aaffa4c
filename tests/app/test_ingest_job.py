"""The background ingest job: progress, rate and ETA, Stop that keeps finished files."""

from __future__ import annotations

import threading
import time

import pytest

from app.service import AppService
from core.errors import RagError
from core.settings import Settings
from index.manifest import read_manifest
from ingest.pipeline import Progress
from service.components import Components
from service.ingest_job import IngestJob
from tests.app_fakes import SlowEmbedder
from tests.pdf_factory import text_pdf


def wait(condition, timeout=30.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_status_names_rate_eta_and_ocr():
    gate = threading.Event()

    def run(progress):
        progress(
            Progress(
                2,
                10,
                50,
                200,
                120,
                "b.pdf",
                5.0,
                3,
                bytes_done=250,
                bytes_total=1000,
                chunks_made=150,
            )
        )
        gate.wait(5)
        return "result"

    job = IngestJob("manuals", run).start()
    wait(lambda: job.progress is not None)
    job.started = time.monotonic() - 10  # 120 chunks in 10 s; 600 expected from 200 pages
    status = job.status()
    assert status.startswith("2 of 10 files; 50 of about 200 pages read; 120 of 150 chunks")
    assert "embedded (12.0 chunks/s, about 40 s left), 3 pages read by OCR: b.pdf" in status
    assert job.share == pytest.approx(0.2) and not job.finished
    gate.set()
    wait(lambda: job.finished)
    assert job.state == "done" and job.result == "result"


def test_while_the_last_chunks_are_embedded_the_count_moves_and_the_rate_is_chunks():
    """The line showed "0 chunks" and a falling pages/s while embedding (issue 23)."""
    job = IngestJob("manuals", lambda progress: None)
    job.started = time.monotonic() - 20
    job.progress = Progress(10, 10, 200, 200, 300, "", 20.0, chunks_made=600)
    status = job.status()
    assert "200 of about 200 pages read; 300 of 600 chunks embedded" in status
    assert "(15.0 chunks/s, about 20 s left)" in status and "pages/s" not in status
    assert job.share == 0.5
    job.progress = Progress(0, 10, 30, 200, 0, "a.pdf", 1.0)
    assert "30 of about 200 pages read; no chunks yet: a.pdf" in job.status()


def test_a_failure_is_kept_for_the_page():
    def run(progress):
        raise RagError("disk full")

    job = IngestJob("x", run).start()
    wait(lambda: job.finished)
    assert job.state == "failed" and "disk full" in str(job.error)


def test_stop_keeps_the_files_finished_and_one_ingest_runs_at_a_time(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    for i in range(8):
        pages = [f"Manual {i} page {p} about rivers. " * 12 for p in range(3)]
        text_pdf(folder / f"m{i}.pdf", pages)
    settings = Settings(
        index_dir=tmp_path / "index",
        ingest_roots=str(tmp_path),
        chunk_tokens=40,
        chunk_overlap=8,
        embedding_batch_size=1,
    )
    svc = AppService(settings, Components(lambda _s: SlowEmbedder(), lambda _s: None, 0))
    job = svc.start_ingest("docs", lambda progress: svc.ingest([folder], progress))
    with pytest.raises(RagError, match="being added already"):
        svc.start_ingest("again", lambda progress: None)
    wait(lambda: job.progress is not None and job.progress.files_done >= 2)
    job.cancel()
    wait(lambda: job.finished)
    assert job.state == "stopped"
    kept = set(read_manifest(settings.paths.index_dir).documents)
    assert 2 <= len(kept) < 8
    assert svc.ingest_job() is job
