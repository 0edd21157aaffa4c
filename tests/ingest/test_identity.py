"""Same names never collide: a document is its file, not its name relative to a folder."""

from __future__ import annotations

import json
import shutil

import pytest

from index import IndexSnapshot
from index.manifest import VERSION, read_manifest
from ingest.save_upload import save_upload
from tests import pdf_factory as pdfs
from tests.ingest.test_pipeline import _pages, ingest


@pytest.fixture
def two_folders(tmp_path):
    contracts, manuals = tmp_path / "contracts", tmp_path / "manuals"
    contracts.mkdir(), manuals.mkdir()
    pdfs.text_pdf(contracts / "doc.pdf", _pages("contract", 2))
    pdfs.text_pdf(manuals / "doc.pdf", _pages("manual", 2))
    return contracts, manuals


def _text(settings, source: str, page: int = 1) -> str:
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        return snap.page_text(source, page) or ""


def test_same_relative_name_from_two_folders_stays_two_documents(two_folders, settings):
    contracts, manuals = two_folders
    assert ingest([contracts], settings).added == ("doc.pdf",)
    second = ingest([manuals], settings)
    assert second.added == ("manuals/doc.pdf",) and not second.updated
    assert sorted(read_manifest(settings.paths.index_dir).documents) == [
        "doc.pdf",
        "manuals/doc.pdf",
    ]
    assert "markercontract1" in _text(settings, "doc.pdf")
    assert "markermanual1" in _text(settings, "manuals/doc.pdf")
    # Each keeps its key on later runs, whichever folder is given.
    again = ingest([manuals, contracts], settings)
    assert sorted(again.unchanged) == ["doc.pdf", "manuals/doc.pdf"] and not again.added


def test_two_new_files_with_one_name_in_one_run_both_get_their_folder(two_folders, settings):
    contracts, manuals = two_folders
    report = ingest([contracts, manuals], settings)
    assert sorted(report.added) == ["contracts/doc.pdf", "manuals/doc.pdf"]


def test_a_broken_file_of_the_same_name_does_not_remove_the_other(two_folders, settings):
    contracts, manuals = two_folders
    ingest([contracts], settings)
    pdfs.garbage_pdf(manuals / "doc.pdf")
    report = ingest([manuals], settings)
    assert [s.file for s in report.skipped] == ["manuals/doc.pdf"]
    assert "markercontract1" in _text(settings, "doc.pdf")


def test_an_upload_and_a_folder_file_with_one_name_stay_two(tmp_path, two_folders, settings):
    contracts, manuals = two_folders
    ingest([contracts], settings)
    uploads = tmp_path / "documents"
    data = (manuals / "doc.pdf").read_bytes()
    saved = save_upload(uploads, "doc.pdf", data, max_bytes=10**8)
    report = ingest([saved], settings)
    assert report.added == ("documents/doc.pdf",)
    assert "markermanual1" in _text(settings, "documents/doc.pdf")
    assert "markercontract1" in _text(settings, "doc.pdf")


def test_a_same_content_copy_is_recognised_and_reported(tmp_path, two_folders, settings):
    contracts, _ = two_folders
    ingest([contracts], settings)
    copies = tmp_path / "copies"
    copies.mkdir()
    shutil.copy(contracts / "doc.pdf", copies / "contract-copy.pdf")
    report = ingest([copies], settings)
    assert report.added == ("contract-copy.pdf",)
    warnings = {w.file: w.reason for w in report.warnings}
    assert warnings == {"contract-copy.pdf": "same content as doc.pdf (a copy); both are kept"}
    # Its chunks' headers name it (a PDF without a title is known by its file name), so a
    # copy under another name is embedded again; under the same name it is not.
    assert report.reused_vectors == 0
    (copies / "contract-copy.pdf").unlink()
    (copies / "sub").mkdir()
    shutil.copy(contracts / "doc.pdf", copies / "sub" / "doc.pdf")
    report = ingest([copies], settings)
    assert report.added == ("sub/doc.pdf",)
    assert report.reused_vectors > 0  # a copy is not embedded again


def test_a_file_reached_from_another_folder_keeps_its_key(tmp_path, settings):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    pdfs.text_pdf(docs / "sub" / "a.pdf", _pages("a", 1))
    assert ingest([docs], settings).added == ("sub/a.pdf",)
    report = ingest([docs / "sub"], settings)
    assert report.unchanged == ("sub/a.pdf",) and not (report.added or report.removed)


def test_a_version_1_index_is_migrated_on_its_next_write(two_folders, settings):
    contracts, manuals = two_folders
    ingest([contracts], settings)
    path = settings.paths.index_dir / "manifest.json"
    body = json.loads(path.read_text())
    body["version"] = 1  # as written before document identity existed (and checksums)
    del body["checksum"]
    for doc in body["documents"].values():
        del doc["real_path"]
    path.write_text(json.dumps(body))
    assert read_manifest(settings.paths.index_dir).version == 1
    report = ingest([manuals], settings)
    assert report.added == ("manuals/doc.pdf",)  # the old document is recognised by its path
    migrated = read_manifest(settings.paths.index_dir)
    assert migrated.version == VERSION == 3
    assert migrated.documents["doc.pdf"].real_path == str((contracts / "doc.pdf").resolve())


def test_a_no_op_run_on_a_version_1_index_migrates_it_too(two_folders, settings):
    contracts, _ = two_folders
    ingest([contracts], settings)
    path = settings.paths.index_dir / "manifest.json"
    body = json.loads(path.read_text())
    body["version"] = 1
    del body["checksum"]
    path.write_text(json.dumps(body))
    report = ingest([contracts], settings)
    assert report.unchanged == ("doc.pdf",)
    assert read_manifest(settings.paths.index_dir).version == VERSION


def test_a_moved_folder_keeps_its_documents_names(tmp_path, two_folders, settings):
    contracts, _ = two_folders
    ingest([contracts], settings)
    archive = tmp_path / "archive"
    archive.mkdir()
    moved = contracts.rename(archive / "contracts")
    report = ingest([moved], settings)
    assert report.unchanged == ("doc.pdf",) and not report.added
    doc = read_manifest(settings.paths.index_dir).documents["doc.pdf"]
    assert doc.real_path == str((moved / "doc.pdf").resolve())


def test_a_same_sized_file_is_not_taken_for_a_moved_one(tmp_path, settings):
    first, second = tmp_path / "disk1", tmp_path / "disk2"
    first.mkdir(), second.mkdir()
    pdfs.text_pdf(first / "doc.pdf", ["alpha " * 20])
    pdfs.text_pdf(second / "doc.pdf", ["omega " * 20])  # the same size, other text
    assert (first / "doc.pdf").stat().st_size == (second / "doc.pdf").stat().st_size
    ingest([first], settings)
    first.rename(tmp_path / "unmounted")  # as if its disk were not mounted now
    report = ingest([second], settings)
    assert report.added == ("disk2/doc.pdf",)
    assert sorted(read_manifest(settings.paths.index_dir).documents) == ["disk2/doc.pdf", "doc.pdf"]
