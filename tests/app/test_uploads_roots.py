"""Uploads: byte-capped names, streamed saves, junk not kept; the folder box only under roots."""

from __future__ import annotations

import io
import threading
import time

import pytest

from app.service import AppService, Upload
from core.errors import PdfError, RagError
from core.settings import Settings
from ingest.discover import discover
from ingest.save_upload import BLOCK, MAX_NAME_BYTES, safe_filename, save_upload, store_upload
from tests import app_fakes
from tests import pdf_factory as pdfs

GOOD = pdfs.text_pdf_bytes(["The warranty lasts two years from the date of delivery."])


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        index_dir=tmp_path / "index",
        documents_dir=tmp_path / "uploads",
        models_dir=tmp_path / "models",
        ingest_roots=str(tmp_path / "allowed"),
        relevance_floor=0.05,
    )


def service(settings: Settings) -> AppService:
    return AppService(settings, app_fakes.scripted())


class CountingStream(io.BytesIO):
    """An upload that records how much each read asked for."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.asked: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        self.asked.append(-1 if size is None else size)
        return super().read(size)


def test_a_name_of_90_cjk_characters_is_saved_and_indexed(settings):
    name = "報告書" * 30 + ".pdf"  # 90 characters, 270 bytes: over the 255 a name may have
    assert len(safe_filename(name).encode()) <= MAX_NAME_BYTES + 4
    result = service(settings).add_uploads([Upload(name, GOOD), Upload(name, GOOD[:-5] + b"\n")])
    assert len(result.report.added) == 2, result
    saved = sorted(p.name for p in settings.paths.documents_dir.iterdir())
    assert len(saved) == 2 and all(n.startswith("報告書") for n in saved)
    assert sum(" (2)" in n for n in saved) == 1
    assert all(len(n.encode()) <= 255 for n in saved)


def test_an_upload_is_streamed_in_blocks_never_read_whole(tmp_path):
    data = b"%PDF-1.4\n" + b"0" * (3 * BLOCK)
    stream = CountingStream(data)
    path = save_upload(tmp_path, "big.pdf", stream, max_bytes=10 * BLOCK)
    assert path.read_bytes() == data
    assert all(0 < n <= BLOCK for n in stream.asked), stream.asked


def test_an_oversized_stream_stops_at_the_limit_and_leaves_nothing(tmp_path):
    stream = CountingStream(b"%PDF-1.4\n" + b"0" * (20 * BLOCK))
    with pytest.raises(PdfError, match="over the 2 MB upload limit"):
        save_upload(tmp_path, "huge.pdf", stream, max_bytes=2_000_000)
    assert len(stream.asked) <= 4  # stopped after the limit, not at the end of the file
    assert not list(tmp_path.iterdir())


def test_an_upload_skipped_as_corrupt_is_not_kept(settings):
    svc = service(settings)
    svc.add_uploads([Upload("good.pdf", GOOD)])
    junk = b"%PDF-1.4\n" + bytes(range(256)) * 40  # a PDF header, then nothing a parser can read
    result = svc.add_uploads([Upload("junk.pdf", junk), Upload("good.pdf", GOOD)])
    assert [s.file for s in result.report.skipped] == ["junk.pdf"]
    assert sorted(p.name for p in settings.paths.documents_dir.iterdir()) == ["good.pdf"]


def test_the_folder_box_reads_only_under_the_ingest_roots(tmp_path, settings):
    allowed, outside = tmp_path / "allowed", tmp_path / "outside"
    allowed.mkdir(), outside.mkdir()
    pdfs.text_pdf(allowed / "ok.pdf", ["An allowed document about harbours."])
    pdfs.text_pdf(outside / "secret.pdf", ["A private document."])
    (allowed / "sneaky").symlink_to(outside)  # a link out of the root is not followed
    svc = service(settings)
    with pytest.raises(RagError, match="outside the folders this app may read") as refused:
        svc.ingest([outside])
    assert "RAG_INGEST_ROOTS" in refused.value.hint
    with pytest.raises(RagError, match="outside"):
        svc.ingest([allowed / ".." / "outside" / "secret.pdf"])
    report = svc.ingest([allowed]).report
    assert report.added == ("ok.pdf",)
    assert {w.file for w in report.warnings} == {"sneaky"}


def test_default_roots_are_the_documents_folder_and_home(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    roots = Settings(documents_dir=tmp_path / "docs").ingest_root_paths()
    assert roots == [(tmp_path / "docs").resolve(), (tmp_path / "home").resolve()]


class SlowStream(io.BytesIO):
    """An upload arriving slowly, a block at a time: concurrent saves interleave."""

    def read(self, size: int | None = -1) -> bytes:
        time.sleep(0.002)
        return super().read(min(size, 4096) if size and size > 0 else 4096)


def test_concurrent_uploads_of_one_name_give_whole_files_never_a_mix(tmp_path):
    """Issue 27 finding 8: all sessions share one process, and the temporary name was
    `.report.pdf.<pid>.part`: one upload failed and the other saved a mix of both."""
    for round_ in range(3):
        folder = tmp_path / f"round{round_}"
        contents = [GOOD + bytes([65 + i]) * (40_000 + i) for i in range(3)]
        contents.append(contents[0])  # the same file twice: kept once
        results: list = [None] * len(contents)

        def save(i: int, folder=folder, contents=contents, results=results) -> None:
            results[i] = store_upload(folder, "report.pdf", SlowStream(contents[i]), 10**7)

        threads = [threading.Thread(target=save, args=(i,)) for i in range(len(contents))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert all(r is not None for r in results), results
        for saved, content in zip(results, contents, strict=True):
            assert saved.path.read_bytes() == content  # whole, and its own
        names = sorted(p.name for p in folder.iterdir())
        assert names == ["report (2).pdf", "report (3).pdf", "report.pdf"], names
        assert results[0].path == results[3].path


def test_a_right_to_left_override_in_a_name_is_neither_kept_nor_shown(tmp_path):
    """Issue 27 finding 10: "\u202egnp.pdf" showed as "fdp.png"."""
    name = "\u202egnp.pdf"
    assert safe_filename(name) == "_gnp.pdf"
    with pytest.raises(PdfError) as refused:
        store_upload(tmp_path, name, b"not a pdf", 10**6)
    assert "\u202e" not in str(refused.value) and "\\u202e" in str(refused.value)
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / name).write_bytes(GOOD)
    found = discover([folder])
    assert [f.source for f in found.files] == ["\\u202egnp.pdf"]
