"""Failures that are not one file's fault end with one clear message; one file's stay with it.

A full disk and a read-only index exit 2 with the next step (no traceback),
SIGTERM keeps finished work as Ctrl-C does, and a file the tokenizer or the
model cannot take is skipped alone.
"""

from __future__ import annotations

import errno
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core.errors import EmbeddingError, IndexWriteError
from index import IndexSnapshot, chunks_db, lock
from index.manifest import read_manifest
from ingest import cli
from ingest.options import IngestOptions
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import _pages, ingest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    for name in ("a", "b", "c"):
        pdfs.text_pdf(folder / f"{name}.pdf", _pages(name, 2))
    return folder


@pytest.fixture
def fast_cli(monkeypatch):
    """`python -m ingest` in this process, with the fake embedder and inline parsing."""
    monkeypatch.setattr("wiring.root.load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr(IngestOptions, "parser_processes", lambda self: 0)


def _run_cli(capsys, *args) -> tuple[int, str]:
    code = cli.main([*map(str, args), "--quiet"])
    return code, capsys.readouterr().err


@pytest.mark.parametrize(
    "failure",
    [
        sqlite3.OperationalError("database or disk is full"),
        OSError(errno.ENOSPC, "No space left on device"),
    ],
)
def test_a_full_disk_is_one_message_and_exit_2(
    docs, tmp_path, capsys, monkeypatch, fast_cli, failure
):
    index = tmp_path / "index"
    assert _run_cli(capsys, docs / "a.pdf", "--index", index)[0] == 0
    before = read_manifest(index)

    def full(*args, **kwargs):
        raise failure

    monkeypatch.setattr(chunks_db, "insert_document", full)
    code, err = _run_cli(capsys, docs, "--index", index)
    assert code == 2
    assert "is full" in err and "Next step: free some space" in err
    assert "Traceback" not in err
    assert read_manifest(index) == before  # the live index is untouched
    with IndexSnapshot.open(index) as snap:
        assert sorted(snap.manifest.documents) == ["a.pdf"]


def test_a_full_disk_at_the_commit_is_one_message_too(
    docs, tmp_path, capsys, monkeypatch, fast_cli
):
    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr("index.writer.atomic_write_bytes", full)
    code, err = _run_cli(capsys, docs, "--index", tmp_path / "index")
    assert code == 2 and "is full" in err and "Traceback" not in err


def test_a_read_only_index_is_one_message_and_exit_2(docs, tmp_path, capsys, monkeypatch, fast_cli):
    real_open = lock.os.open

    def read_only(path, *args):
        if str(path).endswith(".lock"):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, *args)

    monkeypatch.setattr(lock.os, "open", read_only)
    code, err = _run_cli(capsys, docs, "--index", tmp_path / "index")
    assert code == 2
    assert "cannot be written (Read-only file system)" in err
    assert "Next step: give this user write permission there, or give --index" in err


@pytest.mark.slow
@pytest.mark.kill
def test_sigterm_commits_finished_files_like_ctrl_c(docs, tmp_path):
    index = tmp_path / "index"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.ingest_driver", str(index), str(docs), "--wait-after", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().split()
        assert line[0] == "ready", line
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) == 143
    finally:
        proc.kill()
    # No checkpoint ran (checkpoint_seconds=3600): only the SIGTERM path committed these.
    documents = read_manifest(index).documents
    assert len(documents) >= int(line[1]) >= 2


def test_a_text_the_model_cannot_take_costs_only_its_file(docs, settings):
    pdfs.text_pdf(docs / "poison.pdf", _pages("poison", 1))

    class Picky(FakeEmbedder):
        def embed(self, texts):
            if any("markerpoison" in t for t in texts):
                raise ValueError("unsupported text")
            return super().embed(texts)

    report = ingest([docs], settings, embedder=Picky())
    assert sorted(report.added) == ["a.pdf", "b.pdf", "c.pdf"]
    assert {s.file: s.reason for s in report.skipped} == {
        "poison.pdf": "could not be embedded (ValueError: unsupported text)"
    }


def test_a_text_the_tokenizer_cannot_take_costs_only_its_file(docs, settings):
    pdfs.text_pdf(docs / "poison.pdf", _pages("poison", 1))

    class Picky(FakeEmbedder):
        def count_tokens(self, texts):
            if any("markerpoison" in t for t in texts):
                raise RuntimeError("tokenizer broke")
            return super().count_tokens(texts)

    report = ingest([docs], settings, embedder=Picky())
    assert sorted(report.added) == ["a.pdf", "b.pdf", "c.pdf"]
    reason = {s.file: s.reason for s in report.skipped}["poison.pdf"]
    assert reason == "could not be cut into chunks (RuntimeError: tokenizer broke)"


@pytest.mark.parametrize(
    "damage",
    [lambda v: np.full_like(v, np.nan), lambda v: v * 3.0, lambda v: v[:, :-1]],
    ids=["nan", "not-unit", "wrong-dim"],
)
def test_bad_vectors_stop_the_run_and_are_never_written(docs, settings, damage):
    class Poisoned(FakeEmbedder):
        def embed(self, texts):
            return damage(super().embed(texts))

    ingest([docs / "a.pdf"], settings)  # a good document first
    with pytest.raises(EmbeddingError) as caught:
        ingest([docs], settings, embedder=Poisoned())
    assert "Next step" in str(caught.value)
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        assert sorted(snap.manifest.documents) == ["a.pdf"]
        assert len(snap) == snap.manifest.documents["a.pdf"].chunks  # no vector was added


def test_index_write_error_is_a_rag_error_with_a_next_step():
    from index.storage_errors import translate

    err = translate(OSError(errno.EACCES, "Permission denied"), Path("/srv/index"))
    assert isinstance(err, IndexWriteError) and err.hint
    assert translate(ValueError("other"), Path("/srv/index")) is None
