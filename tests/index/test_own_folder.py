"""Issue 27, findings 1 and 2: the index folder is the program's own, and a rebuild is atomic.

Garbage collection deletes only what the writer made; a folder that is not an index
is refused; `--rebuild` builds beside the live index, publishes once, lists what it
drops, and repairs a damaged manifest.
"""

from __future__ import annotations

import pytest

from core.errors import ConfigError, RagError
from core.settings import Settings, load_settings
from index import IndexSnapshot
from index.layout import MARK, STAGING
from index.manifest import read_manifest
from ingest.cli import format_summary
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from tests.index.test_store import _doc, _writer
from wiring.root import ingest_documents


def _ingest(paths, index, **kw):
    settings = Settings(index_dir=index, chunk_tokens=40, chunk_overlap=8, **kw.pop("s", {}))
    kw.setdefault("parser_processes", 0)
    return ingest_documents(paths, settings, embedder=FakeEmbedder(), **kw)


def _folder(path, names):
    path.mkdir(parents=True, exist_ok=True)
    for name in names:
        pdfs.text_pdf(path / name, [f"{name} talks about topic {name} and harbours. " * 4])
    return path


def _user_folder(path):
    path.mkdir(parents=True)
    (path / "paper.txt").write_text("my notes")
    return path


def test_folders_named_like_generations_that_the_writer_did_not_make_are_kept(tmp_path):
    index = tmp_path / "index"
    with _writer(index) as w:
        w.put_document(*_doc("a.pdf", 1))
        w.commit()
    mine = [_user_folder(index / name) for name in ("gen-ai-papers", "gen-000001x", "gen-000090")]
    for i in range(3):  # commits collect old generations each time
        with _writer(index) as w:
            w.put_document(*_doc(f"{i}.pdf", 1))
            w.commit()
    assert all((p / "paper.txt").read_text() == "my notes" for p in mine)
    ours = sorted(p.name for p in index.iterdir() if (p / MARK).exists())
    assert len(ours) == 2 and all(int(n[4:]) > 90 for n in ours)  # numbered above the user's
    with IndexSnapshot.open(index) as snap:
        assert len(snap.manifest.documents) == 4


def test_a_folder_that_is_not_an_index_is_refused_and_left_alone(tmp_path):
    folder = tmp_path / "x"
    _user_folder(folder / "gen-ai-papers")
    docs = _folder(tmp_path / "docs", ["a.pdf"])
    with pytest.raises(ConfigError, match="not empty and is not an index") as refused:
        _ingest([docs], folder)
    assert "gen-ai-papers" in str(refused.value) and "Next step" in str(refused.value)
    assert (folder / "gen-ai-papers" / "paper.txt").exists()
    assert sorted(p.name for p in folder.iterdir()) == ["gen-ai-papers"]
    with pytest.raises(ConfigError, match="not empty"):  # a rebuild too
        _ingest([docs], folder, rebuild=True)


@pytest.mark.parametrize("name", ["RAG_INDEX_DIR", "RAG_DOCUMENTS_DIR", "RAG_MODELS_DIR"])
def test_an_empty_path_setting_is_refused(monkeypatch, name):
    monkeypatch.setenv(name, "")
    with pytest.raises(ConfigError, match=f"{name}.*empty"):
        load_settings()
    monkeypatch.setenv(name, "  ")
    with pytest.raises(ConfigError, match=name):
        load_settings()


def test_a_rebuild_is_published_once_whole_and_the_old_index_serves_meanwhile(tmp_path):
    index = tmp_path / "index"
    with _writer(index) as w:
        for name in ("a.pdf", "b.pdf", "c.pdf"):
            w.put_document(*_doc(name, 2))
        w.commit()
    with _writer(index, rebuild=True) as w:
        w.put_document(*_doc("a.pdf", 2, seed=1))
        w.commit()  # a checkpoint beside the live index
        with IndexSnapshot.open(index) as snap:  # readers still see the whole old index
            assert sorted(snap.manifest.documents) == ["a.pdf", "b.pdf", "c.pdf"]
        w.put_document(*_doc("d.pdf", 2))
        w.commit()
    with IndexSnapshot.open(index) as snap:
        assert sorted(snap.manifest.documents) == ["a.pdf", "d.pdf"] and len(snap) == 4
    assert not (index / STAGING).exists()


def test_a_failed_rebuild_leaves_the_old_index_and_the_next_one_goes_on(tmp_path):
    index = tmp_path / "index"
    old = _folder(tmp_path / "old", [f"old{i}.pdf" for i in range(4)])
    _ingest([old], index)
    new = _folder(tmp_path / "new", [f"new{i}.pdf" for i in range(4)])
    seen = []

    def fail_on_third(progress):
        seen.append(progress.files_done)
        if progress.files_done >= 2:
            raise RuntimeError("killed")

    # checkpoint_seconds tiny: every finished file is a checkpoint of the rebuild.
    with pytest.raises(RuntimeError):
        _ingest(
            [new], index, rebuild=True, on_progress=fail_on_third, s={"checkpoint_seconds": 1e-6}
        )
    with IndexSnapshot.open(index) as snap:
        assert sorted(snap.manifest.documents) == [f"old{i}.pdf" for i in range(4)]
    assert read_manifest(index / STAGING).documents  # the checkpoint to go on from
    report = _ingest([new], index, rebuild=True)
    assert len(report.unchanged) >= 2 and len(report.added) + len(report.unchanged) == 4
    assert sorted(report.removed) == [f"old{i}.pdf" for i in range(4)]
    with IndexSnapshot.open(index) as snap:
        assert sorted(snap.manifest.documents) == [f"new{i}.pdf" for i in range(4)]


def test_a_rebuild_lists_every_document_it_drops(tmp_path):
    index = tmp_path / "index"
    seeds = _folder(tmp_path / "seeds", ["s1.pdf", "s2.pdf"])
    second = _folder(tmp_path / "second", ["t1.pdf"])
    _ingest([seeds], index)
    _ingest([second], index)
    report = _ingest([second], index, rebuild=True)
    assert sorted(report.removed) == ["s1.pdf", "s2.pdf"]
    summary = format_summary(report)
    assert "removed 2" in summary and "removed: s1.pdf" in summary and "removed: s2.pdf" in summary
    assert report.added == ("t1.pdf",)
    assert sorted(read_manifest(index).documents) == ["t1.pdf"]


def test_a_rebuild_that_indexes_nothing_keeps_the_old_index(tmp_path):
    index = tmp_path / "index"
    _ingest([_folder(tmp_path / "docs", ["a.pdf"])], index)
    empty = tmp_path / "empty"
    empty.mkdir()
    report = _ingest([empty], index, rebuild=True)
    assert report.removed == () and any("kept as it was" in w.reason for w in report.warnings)
    assert list(read_manifest(index).documents) == ["a.pdf"]


@pytest.mark.parametrize("damage", [b"truncate", b"\xff", b""])
def test_a_rebuild_repairs_a_damaged_manifest(tmp_path, damage):
    index = tmp_path / "index"
    docs = _folder(tmp_path / "docs", ["a.pdf", "b.pdf"])
    _ingest([docs], index)
    manifest = index / "manifest.json"
    data = manifest.read_bytes()
    manifest.write_bytes(data[:100] if damage == b"truncate" else data[:50] + damage + data[51:])
    with pytest.raises(RagError, match="damaged") as refused:
        _ingest([docs], index)
    assert "--rebuild" in refused.value.hint
    report = _ingest([docs], index, rebuild=True)
    assert sorted(report.added) == ["a.pdf", "b.pdf"]
    assert any(w.file == "(old index)" for w in report.warnings)
    with IndexSnapshot.open(index) as snap:
        assert sorted(snap.manifest.documents) == ["a.pdf", "b.pdf"]
