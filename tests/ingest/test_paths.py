"""Every directory entry an ingest meets is indexed or reported: odd files never abort or hang it.

Real small PDFs beside named pipes, device links, broken and looping links,
unreadable files and folders, and names that are not valid UTF-8. Root ignores
file permissions, so unreadable entries are simulated where the code asks the
system (os.open, os.scandir) with the error the system gives a normal user.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from core.errors import PdfError
from core.settings import Settings
from index import IndexSnapshot
from index.manifest import read_manifest
from ingest import discover as discover_module
from ingest import file_checks
from ingest.discover import discover
from ingest.file_checks import changed_since, hash_source
from ingest.options import IngestOptions
from tests import pdf_factory as pdfs
from tests.ingest.test_pipeline import _pages, ingest

# A FIFO or /dev/zero read by mistake would block forever: fail instead of hanging the suite.
pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def docs(tmp_path) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    pdfs.text_pdf(folder / "good.pdf", _pages("good", 2))
    return folder


def _reasons(report) -> dict[str, str]:
    return {s.file: s.reason for s in report.skipped}


def _warnings(report) -> dict[str, str]:
    return {w.file: w.reason for w in report.warnings}


def test_special_files_are_reported_and_never_opened(docs, settings, monkeypatch):
    os.mkfifo(docs / "pipe.pdf")
    (docs / "zero.pdf").symlink_to("/dev/zero")
    opened = []
    real_open = os.open
    monkeypatch.setattr(
        file_checks.os, "open", lambda p, *a: opened.append(str(p)) or real_open(p, *a)
    )
    report = ingest([docs], settings)
    reasons = _reasons(report)
    assert reasons["pipe.pdf"] == "not a regular file (a named pipe); it was not opened"
    assert reasons["zero.pdf"] == "not a regular file (a character device); it was not opened"
    assert report.added == ("good.pdf",)
    assert [p for p in opened if p.startswith(str(docs))] == [str(docs / "good.pdf")]


def test_a_file_that_becomes_a_pipe_after_discovery_does_not_block_hashing(tmp_path):
    fifo = tmp_path / "late.pdf"
    os.mkfifo(fifo)
    with pytest.raises(PdfError) as caught:
        hash_source(fifo, timeout_s=60)
    assert caught.value.reason == "not a regular file (a named pipe); it was not opened"


def test_broken_and_looping_links_are_reported(docs, settings):
    (docs / "dangling.pdf").symlink_to(docs / "gone.pdf")
    (docs / "loop-a.pdf").symlink_to(docs / "loop-b.pdf")
    (docs / "loop-b.pdf").symlink_to(docs / "loop-a.pdf")
    (docs / "sub").mkdir()
    pdfs.text_pdf(docs / "sub" / "inner.pdf", _pages("inner", 1))
    (docs / "sub" / "up").symlink_to(docs)  # a folder loop: docs/sub/up/sub/up/...
    report = ingest([docs], settings)
    reasons = _reasons(report)
    assert reasons["dangling.pdf"] == "broken symbolic link (its target does not exist)"
    assert reasons["loop-a.pdf"].startswith("symbolic link loop")
    assert reasons["loop-b.pdf"].startswith("symbolic link loop")
    assert _warnings(report)["sub/up/"].startswith("symbolic link loop")
    assert sorted(report.added) == ["good.pdf", "sub/inner.pdf"]


def test_symlinked_files_and_folders_are_followed_unless_the_setting_says_no(tmp_path, docs):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    pdfs.text_pdf(elsewhere / "far.pdf", _pages("far", 1))
    pdfs.text_pdf(tmp_path / "single.pdf", _pages("single", 1))
    (docs / "linked").symlink_to(elsewhere)
    (docs / "alias.pdf").symlink_to(tmp_path / "single.pdf")
    followed = ingest([docs], Settings(index_dir=tmp_path / "i1", chunk_tokens=40))
    assert sorted(followed.added) == ["alias.pdf", "good.pdf", "linked/far.pdf"]
    assert followed.ok and not followed.warnings

    off = Settings(index_dir=tmp_path / "i2", chunk_tokens=40, follow_symlinks=False)
    report = ingest([docs], off)
    assert report.added == ("good.pdf",)
    assert _reasons(report)["alias.pdf"] == discover_module.NOT_FOLLOWED
    assert _warnings(report)["linked"] == discover_module.NOT_FOLLOWED


def test_links_lead_only_inside_the_allowed_folders(tmp_path, docs):
    outside = tmp_path / "outside"
    outside.mkdir()
    pdfs.text_pdf(outside / "secret.pdf", _pages("secret", 1))
    (docs / "escape").symlink_to(outside)
    found = discover([docs], within=[docs])
    assert [f.source for f in found.files] == ["good.pdf"]
    assert {w.file: w.reason for w in found.warnings} == {"escape": discover_module.OUTSIDE}


def test_unreadable_file_is_skipped_and_its_old_text_removed(docs, settings, monkeypatch):
    pdfs.text_pdf(docs / "private.pdf", _pages("private", 1))
    assert sorted(ingest([docs], settings).added) == ["good.pdf", "private.pdf"]
    pdfs.text_pdf(docs / "private.pdf", _pages("changed", 1))  # so it is hashed again
    real_open = os.open

    def denied(path, *args):
        if Path(path).name == "private.pdf":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, *args)

    monkeypatch.setattr(file_checks.os, "open", denied)
    report = ingest([docs], settings)
    assert _reasons(report) == {"private.pdf": "cannot read file (permission denied)"}
    assert sorted(read_manifest(settings.paths.index_dir).documents) == ["good.pdf"]


def test_unreadable_subfolder_is_reported(docs, settings, monkeypatch):
    (docs / "locked").mkdir()
    pdfs.text_pdf(docs / "locked" / "in.pdf", _pages("in", 1))
    real_scandir = os.scandir

    def scandir(path):
        if Path(path).name == "locked":
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(discover_module.os, "scandir", scandir)
    report = ingest([docs], settings)
    assert _warnings(report) == {
        "locked/": "folder not searched: cannot read folder (permission denied)"
    }
    assert report.added == ("good.pdf",)


def test_undecodable_and_control_character_names_are_indexed_and_shown_escaped(docs, settings):
    odd = Path(os.fsdecode(bytes(docs) + b"/caf\xe9.pdf"))
    pdfs.text_pdf(odd, _pages("latin", 1))
    pdfs.text_pdf(docs / "red\x1b[31m.pdf", _pages("escape", 1))
    report = ingest([docs], settings)
    assert report.ok
    assert sorted(report.added) == ["caf\\xe9.pdf", "good.pdf", "red\\x1b[31m.pdf"]
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        assert "markerlatin1" in snap.page_text("caf\\xe9.pdf", 1)
        assert snap.manifest.documents["caf\\xe9.pdf"].path == str(odd)  # exact bytes kept
    again = ingest([docs], settings)  # the manifest round-trips the name: nothing to redo
    assert len(again.unchanged) == 3 and not again.added


def test_a_file_changed_while_it_is_parsed_is_skipped(docs, settings):
    pdfs.text_pdf(docs / "moving.pdf", _pages("moving", 2))

    def touch_moving(progress):
        if progress.current == "moving.pdf":
            os.utime(docs / "moving.pdf", ns=(1, 1))

    report = ingest([docs], settings, on_progress=touch_moving)
    assert _reasons(report)["moving.pdf"].startswith("the file changed while it was read")
    assert report.added == ("good.pdf",)


def test_hashing_reports_vanished_changed_and_slow_files(tmp_path, monkeypatch):
    with pytest.raises(PdfError, match="vanished"):
        hash_source(tmp_path / "gone.pdf", timeout_s=60)
    slow = pdfs.text_pdf(tmp_path / "slow.pdf", _pages("slow", 1))
    with pytest.raises(PdfError, match="took more than"):
        hash_source(slow, timeout_s=-1)  # the deadline has passed before the first block
    real_read = os.read
    appended = []

    def growing(fd, n):
        data = real_read(fd, n)
        if not appended:  # another process appends once, just after the first read
            with slow.open("ab") as f:
                appended.append(f.write(b"%% appended while read\n"))
        return data

    monkeypatch.setattr(file_checks.os, "read", growing)
    with pytest.raises(PdfError, match="changed while it was read"):
        hash_source(slow, timeout_s=60)
    assert changed_since(tmp_path / "gone.pdf", 1, 1) == "file vanished while it was read"


def test_the_cli_prints_no_raw_escape_sequences(docs, capsys, monkeypatch):
    from ingest import cli
    from tests.fakes import FakeEmbedder

    monkeypatch.setattr("wiring.root.load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setattr(IngestOptions, "parser_processes", lambda self: 0)
    pdfs.garbage_pdf(docs / "\x1b]0;owned\x07\x1b[2J.pdf")  # retitles and clears a terminal
    code = cli.main([str(docs), "--index", str(docs.parent / "index"), "--quiet", "--json"])
    out, err = capsys.readouterr()
    assert code == 1
    assert "\x1b" not in err and "\x07" not in err and "\x1b" not in out
    assert "skipped: \\x1b]0;owned\\x07\\x1b[2J.pdf: corrupt" in err
