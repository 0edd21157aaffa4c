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
        progress(Progress(2, 10, 50, 200, 120, "b.pdf", 5.0, ocr_pages=3))
        gate.wait(5)
        return "result"

    job = IngestJob("manuals", run).start()
    wait(lambda: job.progress is not None)
    job.started = time.monotonic() - 10  # 50 pages in 10 s
    status = job.status()
    assert "2 of 10 files, 50 of about 200 pages (5.0 pages/s, about 30 s left)" in status
    assert "120 chunks, 3 pages read by OCR: b.pdf" in status
    assert job.share == 0.25 and not job.finished
    gate.set()
    wait(lambda: job.finished)
    assert job.state == "done" and job.result == "result"


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
