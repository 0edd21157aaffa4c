"""Uploads land inside the documents folder, checked and never clobbered; removal works."""

from __future__ import annotations

import os
import time

import pytest

from core.errors import PdfError
from core.settings import Settings
from index import IndexSnapshot
from ingest.save_upload import safe_filename, save_upload
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents
from wiring.stores import remove_documents


@pytest.mark.parametrize(
    "name",
    ["../../etc/passwd.pdf", "/abs/x.pdf", "..\\..\\win.pdf", "a/../../b.pdf", "\x00evil.pdf"],
)
def test_hostile_names_stay_inside(tmp_path, name):
    docs = tmp_path / "docs"
    path = save_upload(docs, name, pdfs.text_pdf_bytes(["x"]), max_bytes=10**6)
    assert path.parent == docs and path.suffix == ".pdf"
    assert "/" not in safe_filename(name) and "\x00" not in safe_filename(name)


def test_type_is_checked_by_content_and_size_limited(tmp_path):
    with pytest.raises(PdfError, match="not a PDF"):
        save_upload(tmp_path, "fake.pdf", b"\x89PNG\r\n....", max_bytes=10**6)
    with pytest.raises(PdfError, match="upload limit"):
        save_upload(tmp_path, "big.pdf", b"%PDF-1.4" + b"0" * 2000, max_bytes=1000)
    assert not list(tmp_path.iterdir())


def test_duplicate_names_and_contents(tmp_path):
    one = pdfs.text_pdf_bytes(["first"])
    two = pdfs.text_pdf_bytes(["second"])
    a = save_upload(tmp_path, "report.pdf", one, max_bytes=10**6)
    again = save_upload(tmp_path, "report.pdf", one, max_bytes=10**6)
    other = save_upload(tmp_path, "report.pdf", two, max_bytes=10**6)
    assert a == again and a.read_bytes() == one
    assert other.name == "report (2).pdf" and other.read_bytes() == two


def test_a_killed_save_leaves_no_document_and_its_part_file_is_swept(tmp_path):
    # What a save killed mid-write leaves: a hidden .part file, which is not a PDF name.
    old_part, new_part = tmp_path / ".a.pdf.123.part", tmp_path / ".b.pdf.456.part"
    old_part.write_bytes(b"%PDF-1.4 half")
    new_part.write_bytes(b"%PDF-1.4 half")
    hours_ago = time.time() - 2 * 3600
    os.utime(old_part, (hours_ago, hours_ago))
    saved = save_upload(tmp_path, "c.pdf", pdfs.text_pdf_bytes(["x"]), max_bytes=10**6)
    # The stale one is gone; a recent one may be a save still in progress, so it stays.
    assert sorted(p.name for p in tmp_path.iterdir()) == [new_part.name, saved.name]


def test_remove_documents(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", ["alpha words here"])
    pdfs.text_pdf(docs / "b.pdf", ["beta words here"])
    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=40, chunk_overlap=8)
    ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0)
    assert remove_documents(settings, ["a.pdf", "nope.pdf"]) == ["a.pdf"]
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        assert list(snap.manifest.documents) == ["b.pdf"]
        assert {c.source for c in snap.iter_chunks()} == {"b.pdf"}
