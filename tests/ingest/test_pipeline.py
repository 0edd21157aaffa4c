"""The ingest pipeline end to end on real small PDFs, with the fake embedder (fast)."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest

from core.errors import IndexMismatchError
from core.settings import Settings
from index import IndexSnapshot
from index.manifest import read_manifest
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents


def ingest(paths, settings, **kw):
    kw.setdefault("parser_processes", 0)  # inline parsing: same code, no process start-up
    kw.setdefault("embedder", FakeEmbedder())
    return ingest_documents(paths, settings, **kw)


def _pages(prefix: str, n: int) -> list[str]:
    return [
        f"{prefix} page {i} talks about marker{prefix}{i} and other plain words. " * 3
        for i in range(1, n + 1)
    ]


def test_every_page_is_findable_with_its_page_number(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "alpha.pdf", _pages("alpha", 3))
    (docs / "sub").mkdir()
    pdfs.text_pdf(docs / "sub" / "beta.pdf", _pages("beta", 2))
    report = ingest([docs], settings)
    assert report.ok and sorted(report.added) == ["alpha.pdf", "sub/beta.pdf"]
    assert (report.files, report.pages) == (2, 5)
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        chunks = list(snap.iter_chunks())
        assert report.chunks == len(chunks) == len(snap)
        for source, prefix, n in (("alpha.pdf", "alpha", 3), ("sub/beta.pdf", "beta", 2)):
            for page in range(1, n + 1):
                word = f"marker{prefix}{page}"
                assert any(
                    c.source == source and c.page_start <= page <= c.page_end and word in c.text
                    for c in chunks
                ), f"{word} not found on {source} p. {page}"
                assert word in snap.page_text(source, page)
        assert all(c.n_tokens <= 40 for c in chunks)


def test_rerun_is_unchanged_and_writes_nothing(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", _pages("a", 2))
    ingest([docs], settings)
    generation = read_manifest(settings.paths.index_dir).generation
    again = ingest([docs], settings)
    assert again.unchanged == ("a.pdf",) and not (again.added or again.updated or again.removed)
    assert read_manifest(settings.paths.index_dir).generation == generation
    assert again.parsed_pages == 0


def test_add_change_remove_touch_only_what_changed(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    for name in ("keep", "edit", "drop"):
        pdfs.text_pdf(docs / f"{name}.pdf", _pages(name, 2))
    ingest([docs], settings)
    pdfs.text_pdf(docs / "edit.pdf", _pages("edited", 3))
    (docs / "drop.pdf").unlink()
    pdfs.text_pdf(docs / "new.pdf", _pages("new", 1))
    # same bytes, new mtime: re-hashed, found unchanged, not re-parsed
    os.utime(docs / "keep.pdf", ns=(1, 1))
    report = ingest([docs], settings)
    assert report.added == ("new.pdf",)
    assert report.updated == ("edit.pdf",)
    assert report.removed == ("drop.pdf",)
    assert report.unchanged == ("keep.pdf",)
    assert report.parsed_pages == 3 + 1
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        texts = {c.source: [] for c in snap.iter_chunks()}
        for c in snap.iter_chunks():
            texts[c.source].append(c.text)
        assert sorted(texts) == ["edit.pdf", "keep.pdf", "new.pdf"]
        assert all("edited" in t for t in texts["edit.pdf"])
        assert snap.manifest.documents["edit.pdf"].pages == 3


def test_other_folders_survive_an_ingest_of_one_folder(tmp_path, settings):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    pdfs.text_pdf(one / "a.pdf", _pages("one", 1))
    pdfs.text_pdf(two / "b.pdf", _pages("two", 1))
    ingest([one], settings)
    report = ingest([two], settings)
    assert report.added == ("b.pdf",) and not report.removed
    assert sorted(read_manifest(settings.paths.index_dir).documents) == ["a.pdf", "b.pdf"]


@pytest.mark.slow
def test_bad_files_are_reported_and_the_batch_goes_on(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "good.pdf", _pages("good", 2))
    pdfs.encrypted_pdf(docs / "locked.pdf", user_password="secret")
    pdfs.encrypted_pdf(docs / "open-lock.pdf", user_password="")
    pdfs.zero_byte_pdf(docs / "empty.pdf")
    pdfs.not_a_pdf(docs / "image.pdf")
    pdfs.garbage_pdf(docs / "garbage.pdf")
    pdfs.scanned_pdf(docs / "scan.pdf", 3)
    report = ingest([docs, tmp_path / "missing-folder"], settings)
    reasons = {s.file: s.reason for s in report.skipped}
    assert set(report.added) == {"good.pdf", "open-lock.pdf"}
    assert reasons["locked.pdf"].startswith("encrypted")
    assert reasons["empty.pdf"] == "empty file (0 bytes)"
    assert reasons["image.pdf"].startswith("not a PDF")
    assert "corrupt" in reasons["garbage.pdf"]
    assert reasons["scan.pdf"].startswith("no extractable text on 3 pages")
    assert reasons[str(tmp_path / "missing-folder")] == "path not found"
    assert not report.ok
    # reasons are kept in the manifest for the UI
    assert read_manifest(settings.paths.index_dir).skipped["locked.pdf"].startswith("encrypted")


def test_a_file_that_turns_unreadable_leaves_no_stale_text(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", _pages("a", 1))
    ingest([docs], settings)
    pdfs.garbage_pdf(docs / "a.pdf")
    report = ingest([docs], settings)
    assert [s.file for s in report.skipped] == ["a.pdf"]
    assert "a.pdf" not in read_manifest(settings.paths.index_dir).documents


def test_interrupted_ingest_keeps_finished_files_and_a_rerun_finishes(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(4):
        pdfs.text_pdf(docs / f"{i}.pdf", _pages(f"d{i}", 4))  # 4 chunks each

    class CtrlCAfterTwoFiles(FakeEmbedder):
        calls = 0

        def embed(self, texts):
            self.calls += 1
            if self.calls == 9:  # one call per chunk, 4 chunks a file: two files are done
                raise KeyboardInterrupt
            return super().embed(texts)

    small_batches = settings.replace(embedding_batch_size=1)
    with pytest.raises(KeyboardInterrupt):
        ingest_documents([docs], small_batches, embedder=CtrlCAfterTwoFiles(), parser_processes=0)
    kept = len(read_manifest(settings.paths.index_dir).documents)
    assert 1 <= kept < 4
    report = ingest([docs], settings)
    assert len(report.added) == 4 - kept and len(report.unchanged) == kept
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        assert sorted(snap.manifest.documents) == [f"{i}.pdf" for i in range(4)]


def test_progress_counts_chunks_while_they_are_embedded(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", _pages("a", 6))
    seen = []
    batches = settings.replace(embedding_batch_size=2)  # 8 chunks a flush, 2 an embedding
    report = ingest([docs], batches, on_progress=seen.append)
    counts = [p.chunks for p in seen]
    assert counts == sorted(counts) and counts[-1] == report.chunks >= 6
    steps = [b - a for a, b in itertools.pairwise(counts) if b != a]
    assert steps and max(steps) <= 2, counts  # reported after every embedding batch
    assert all(p.chunks <= p.chunks_made for p in seen) and seen[-1].chunks_made == report.chunks


def test_progress_reaches_all_pages(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", _pages("a", 3))
    pdfs.text_pdf(docs / "b.pdf", _pages("b", 2))
    seen = []
    ingest([docs], settings, on_progress=seen.append)
    assert [p.pages_done for p in seen] == sorted(p.pages_done for p in seen)
    assert seen[-1].pages_done == 5 and seen[-1].files_done == 2 == seen[-1].files_total


@pytest.mark.slow
def test_worker_processes_give_the_same_index_as_inline(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(3):
        pdfs.text_pdf(docs / f"{i}.pdf", _pages(f"w{i}", 2))
    results = []
    for processes in (0, 2):
        s = Settings(index_dir=tmp_path / f"index{processes}", chunk_tokens=40, chunk_overlap=8)
        ingest_documents([docs], s, embedder=FakeEmbedder(), parser_processes=processes)
        with IndexSnapshot.open(s.paths.index_dir) as snap:
            results.append([(c.source, c.page_start, c.text) for c in snap.iter_chunks()])
    assert sorted(results[0]) == sorted(results[1]) and results[0]


def test_an_index_keeps_its_chunking_unless_a_setting_names_another(tmp_path, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", _pages("a", 2))
    ingest([docs], settings)  # built with 40/8, set explicitly
    pdfs.text_pdf(docs / "b.pdf", _pages("b", 2))
    # Defaults (192/32 today) do not override what the index was built with ...
    report = ingest([docs], Settings(index_dir=settings.paths.index_dir))
    assert report.added == ("b.pdf",)
    chunking = read_manifest(settings.paths.index_dir).chunking
    assert (chunking.chunk_tokens, chunking.chunk_overlap) == (40, 8)
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        assert max(c.n_tokens for c in snap.iter_chunks()) <= 40
    # ... but a value set on purpose that differs is refused, with the way out.
    with pytest.raises(IndexMismatchError, match="rebuild"):
        ingest([docs], Settings(index_dir=settings.paths.index_dir, chunk_overlap=16))


class CountingEmbedder(FakeEmbedder):
    def __init__(self) -> None:
        super().__init__()
        self.embedded: list[str] = []

    def embed(self, texts):
        self.embedded.extend(texts)
        return super().embed(texts)


def _index_contents(index_dir):
    with IndexSnapshot.open(index_dir) as snap:
        chunks = list(snap.iter_chunks())
        vectors = snap.vectors.reconstruct(np.array([c.id for c in chunks]))
    keys = [(c.source, c.ordinal, c.text) for c in chunks]
    rows = sorted(zip(keys, vectors.tolist(), strict=True))
    return [key for key, _ in rows], np.array([v for _, v in rows])


def test_moved_and_edited_files_reuse_the_vectors_of_unchanged_chunks(tmp_path, settings):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    pdfs.text_pdf(docs / "a.pdf", _pages("alpha", 4))
    pdfs.text_pdf(docs / "b.pdf", _pages("beta", 4))
    ingest([docs], settings)
    a_chunks = read_manifest(settings.paths.index_dir).documents["a.pdf"].chunks

    # Moved, same file name: a PDF without a title of its own has its file name in its
    # chunks' header (ingest.structure), so a renamed one is embedded again (below).
    (docs / "a.pdf").rename(docs / "sub" / "a.pdf")
    edited = _pages("beta", 4)
    edited[3] = "The last page was rewritten with entirely different words. " * 3
    pdfs.text_pdf(docs / "b.pdf", edited)
    embedder = CountingEmbedder()
    report = ingest([docs], settings, embedder=embedder)

    assert report.added == ("sub/a.pdf",) and report.removed == ("a.pdf",)
    assert report.updated == ("b.pdf",)
    # Only chunks with new text were embedded: none of the moved file, and of the
    # edited one only those that hold the rewritten page.
    assert embedder.embedded and all("rewritten" in t for t in embedder.embedded)
    assert report.reused_vectors == report.chunks - len(embedder.embedded)
    assert report.reused_vectors >= a_chunks > 0
    # The index is exactly what a fresh ingest of the folder makes.
    fresh = Settings(index_dir=tmp_path / "fresh", chunk_tokens=40, chunk_overlap=8)
    ingest([docs], fresh)
    got_keys, got_vectors = _index_contents(settings.paths.index_dir)
    want_keys, want_vectors = _index_contents(fresh.paths.index_dir)
    assert got_keys == want_keys
    np.testing.assert_array_equal(got_vectors, want_vectors)

    # Renamed: the header ("a › ..." to "renamed › ...") changed, so nothing is reused.
    (docs / "sub" / "a.pdf").rename(docs / "sub" / "renamed.pdf")
    embedder = CountingEmbedder()
    report = ingest([docs], settings, embedder=embedder)
    assert report.reused_vectors == 0
    assert embedder.embedded and all(t.startswith("renamed\n") for t in embedder.embedded)
