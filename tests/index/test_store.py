"""The index directory: generations, atomic commits, crash safety, lock, integrity."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from core.errors import (
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
)
from core.types import Chunk, ChunkingInfo, EmbeddingInfo, PageText
from index import DocumentRecord, IndexSnapshot, IndexWriter
from index.manifest import read_manifest

EMB = EmbeddingInfo("test", 8, 64, "f1")
CHUNKING = ChunkingInfo(32, 4, 1)
ROOT = Path(__file__).resolve().parents[2]


def _doc(source: str, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    chunks = [
        Chunk(source, i, i + 1, i + 1, f"{source} chunk {i} seed {seed}", 5) for i in range(n)
    ]
    vectors = rng.standard_normal((n, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    pages = [PageText(i + 1, f"page {i + 1} of {source}") for i in range(n)]
    record = DocumentRecord(
        source, f"sha-{source}-{seed}", n, n, "/r", f"/r/{source}", 1, 1, "pdfium"
    )
    return record, chunks, vectors, pages


def _writer(index_dir: Path, **kw) -> IndexWriter:
    return IndexWriter(index_dir, embedding=EMB, chunking=CHUNKING, lock_timeout=0.3, **kw)


def test_no_index_yet_says_how_to_make_one(tmp_path):
    with pytest.raises(IndexNotFoundError, match="python -m ingest"):
        IndexSnapshot.open(tmp_path / "none")


def test_put_commit_reopen_round_trip(tmp_path):
    rec, chunks, vectors, pages = _doc("a.pdf", 3)
    with _writer(tmp_path) as w:
        w.put_document(rec, chunks, vectors, pages)
        w.commit()
    with IndexSnapshot.open(tmp_path) as snap:
        assert len(snap) == 3
        assert snap.manifest.documents["a.pdf"] == rec
        _scores, ids = snap.vectors.search(vectors[1:2], k=1)
        hit = snap.chunks_by_ids(ids[0])[0]
        assert (hit.source, hit.ordinal, hit.text) == ("a.pdf", 1, chunks[1].text)
        assert hit.chunk_id == chunks[1].chunk_id
        assert snap.page_text("a.pdf", 2) == "page 2 of a.pdf"
        assert [c.ordinal for c in snap.iter_chunks(batch=2)] == [0, 1, 2]


def test_replace_and_remove_keep_other_documents(tmp_path):
    with _writer(tmp_path) as w:
        for name in ("a.pdf", "b.pdf"):
            w.put_document(*_doc(name, 2))
        w.commit()
    with _writer(tmp_path) as w:
        w.put_document(*_doc("a.pdf", 4, seed=9))  # a.pdf changed
        w.remove("b.pdf")
        w.commit()
    with IndexSnapshot.open(tmp_path) as snap:
        texts = [c.text for c in snap.iter_chunks()]
        assert len(snap) == 4 == len(texts)
        assert all("seed 9" in t for t in texts)
        assert list(snap.manifest.documents) == ["a.pdf"]
        assert snap.page_text("b.pdf", 1) is None


def test_old_generations_are_collected(tmp_path):
    for i in range(4):
        with _writer(tmp_path) as w:
            w.put_document(*_doc(f"{i}.pdf", 1))
            w.commit()
    gens = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("gen-"))
    assert gens == ["gen-000003", "gen-000004"]  # the live one and the previous (for readers)


def test_failure_before_manifest_swap_leaves_old_index(tmp_path, monkeypatch):
    with _writer(tmp_path) as w:
        w.put_document(*_doc("a.pdf", 2))
        w.commit()
    import index.writer as writer_mod

    def power_cut(*_a, **_k):
        raise OSError("simulated power cut")

    monkeypatch.setattr(writer_mod, "atomic_write_bytes", power_cut)
    with pytest.raises(OSError), _writer(tmp_path) as w:
        w.put_document(*_doc("b.pdf", 2))
        w.commit()
    monkeypatch.undo()
    with IndexSnapshot.open(tmp_path) as snap:
        assert list(snap.manifest.documents) == ["a.pdf"] and len(snap) == 2
    with _writer(tmp_path) as w:  # a rerun finishes the job over the leftovers
        w.put_document(*_doc("b.pdf", 2))
        w.commit()
    with IndexSnapshot.open(tmp_path) as snap:
        assert sorted(snap.manifest.documents) == ["a.pdf", "b.pdf"] and len(snap) == 4


@pytest.mark.slow
@pytest.mark.kill
def test_sigkill_during_commit_leaves_a_loadable_index(tmp_path):
    """A real kill -9 of a writer whose new generation is on disk but not yet published."""
    with _writer(tmp_path) as w:
        w.put_document(*_doc("a.pdf", 2))
        w.commit()
    marker = tmp_path / "about-to-swap"
    script = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r}); sys.path.insert(0, {str(Path(__file__).parent)!r})
        import index.writer as wm
        from test_store import _doc, _writer
        def stall(*a, **k):
            open({str(marker)!r}, "w").close()
            time.sleep(60)
        wm.atomic_write_bytes = stall
        with _writer(__import__("pathlib").Path({str(tmp_path)!r})) as w:
            w.put_document(*_doc("b.pdf", 3))
            w.commit()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    deadline = time.monotonic() + 60
    while not marker.exists():
        assert proc.poll() is None, "writer exited early"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    with IndexSnapshot.open(tmp_path) as snap:
        assert list(snap.manifest.documents) == ["a.pdf"] and len(snap) == 2
    with _writer(tmp_path) as w:  # the lock died with the process; a rerun goes on
        w.put_document(*_doc("b.pdf", 3))
        w.commit()
    with IndexSnapshot.open(tmp_path) as snap:
        assert len(snap) == 5


def test_second_writer_refuses_clearly(tmp_path):
    with _writer(tmp_path), pytest.raises(IndexLockedError, match=rf"pid {os.getpid()}"):
        _writer(tmp_path).__enter__()


def test_mismatched_model_or_chunking_is_refused_with_a_rebuild_hint(tmp_path):
    with _writer(tmp_path) as w:
        w.put_document(*_doc("a.pdf", 1))
        w.commit()
    other_model = replace(EMB, model_id="other", fingerprint="f2")
    with pytest.raises(IndexMismatchError, match="--rebuild"):
        IndexWriter(tmp_path, embedding=other_model, chunking=CHUNKING).__enter__()
    with pytest.raises(IndexMismatchError, match="RAG_CHUNK_TOKENS=32"):
        IndexWriter(
            tmp_path, embedding=EMB, chunking=replace(CHUNKING, chunk_tokens=64)
        ).__enter__()
    # --rebuild replaces the index, still atomically
    with IndexWriter(tmp_path, embedding=other_model, chunking=CHUNKING, rebuild=True) as w:
        w.put_document(*_doc("z.pdf", 1))
        w.commit()
    assert list(read_manifest(tmp_path).documents) == ["z.pdf"]
    assert read_manifest(tmp_path).embedding.model_id == "other"


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_damaged_files_are_detected_on_load(tmp_path, damage):
    with _writer(tmp_path) as w:
        w.put_document(*_doc("a.pdf", 3))
        w.commit()
    target = tmp_path / read_manifest(tmp_path).generation_dir / "vectors.faiss"
    data = bytearray(target.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(bytes(data[:-10]))
    else:
        target.unlink()
    with pytest.raises(IndexCorruptError, match="--rebuild"):
        IndexSnapshot.open(tmp_path)


def test_damaged_manifest_is_reported(tmp_path):
    with _writer(tmp_path) as w:
        w.put_document(*_doc("a.pdf", 1))
        w.commit()
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(IndexCorruptError, match=r"manifest\.json is damaged"):
        IndexSnapshot.open(tmp_path)
