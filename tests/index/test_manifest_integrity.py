"""Issue 27, findings 6 and 7: a damaged or edited manifest is caught, reported and repaired.

The manifest carries its own checksum and is checked against the chunk table; any
damage is one message with the next step (never a traceback) in all three CLIs and
the app; the byte-flip loops of the attack on the index are kept here.
"""

from __future__ import annotations

import json
import random

import pytest

from core.errors import IndexCorruptError, RagError
from index import IndexSnapshot
from index.manifest import read_manifest
from tests.index.test_store import _doc, _writer


@pytest.fixture
def index(tmp_path):
    with _writer(tmp_path) as w:
        for name in ("a.pdf", "b.pdf", "c.pdf"):
            w.put_document(*_doc(name, 3))
        w.commit()
    return tmp_path


def _edit(index, change) -> None:
    path = index / "manifest.json"
    body = json.loads(path.read_text())
    change(body)
    path.write_text(json.dumps(body, indent=1))


def test_two_hundred_byte_flips_in_the_manifest_are_caught_or_change_nothing(index):
    path = index / "manifest.json"
    original, data = read_manifest(index), path.read_bytes()
    rng = random.Random(27)
    caught = 0
    for _ in range(200):
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        path.write_bytes(bytes(flipped))
        try:
            read = read_manifest(index)
        except RagError:  # never UnicodeDecodeError, KeyError, ...: a message with a next step
            caught += 1
            continue
        assert read == original  # accepted only where the meaning is the same (whitespace)
    assert caught >= 190


def test_an_edited_document_name_fails_the_checksum(index):
    _edit(index, lambda b: b["documents"].update({"z.pdf": b["documents"].pop("a.pdf")}))
    with pytest.raises(IndexCorruptError, match="fails its checksum") as caught:
        IndexSnapshot.open(index)
    assert "--rebuild" in caught.value.hint
    with pytest.raises(IndexCorruptError, match="fails its checksum"):
        _writer(index).__enter__()


def _rename(body, old: str, new: str) -> None:
    body.pop("checksum")  # as an index written before checksums (version 2) would be
    body["version"] = 2
    doc = body["documents"].pop(old)
    body["documents"][new] = {**doc, "source": new}


def test_a_manifest_that_disagrees_with_the_chunk_table_is_caught(index):
    """Without its checksum, a renamed document leaves orphan chunks: found, not trusted."""
    _edit(index, lambda b: _rename(b, "a.pdf", "z.pdf"))
    with pytest.raises(IndexCorruptError, match=r"chunks of 'a\.pdf', which the") as caught:
        IndexSnapshot.open(index)
    assert "--rebuild" in caught.value.hint
    with pytest.raises(IndexCorruptError, match="does not match its manifest"):
        _writer(index).__enter__()  # an ingest refuses too: it would keep the orphans


def test_a_chunk_count_that_disagrees_is_caught(index):
    def fewer(body):
        body.pop("checksum")
        body["version"] = 2
        body["documents"]["b.pdf"]["chunks"] = 2

    _edit(index, fewer)
    with pytest.raises(IndexCorruptError, match=r"3 chunks of 'b\.pdf', the manifest says 2"):
        IndexSnapshot.open(index)


@pytest.mark.parametrize("name", ["chunks.sqlite", "vectors.faiss"])
def test_byte_flips_in_the_index_files_are_all_detected(index, name):
    """40 flips in each file (the attack flipped 80 in both): each one refuses to load."""
    target = index / read_manifest(index).generation_dir / name
    data = target.read_bytes()
    rng = random.Random(name)
    for _ in range(40):
        flipped = bytearray(data)
        flipped[rng.randrange(len(data))] ^= 1 << rng.randrange(8)
        target.write_bytes(bytes(flipped))
        with pytest.raises(IndexCorruptError, match="fails its checksum"):
            IndexSnapshot.open(index)
    target.write_bytes(data)
    with IndexSnapshot.open(index) as snap:
        assert len(snap) == 9


@pytest.mark.parametrize(
    "damage", [lambda d: d[:100], lambda d: d[:40] + b"\xff" + d[41:], lambda d: b"\x00" * 10]
)
def test_all_three_clis_report_a_damaged_manifest_without_a_traceback(
    index, damage, capsys, monkeypatch
):
    from ingest.cli import main as ingest_main
    from llm.cli import main as ask_main
    from retrieval.cli import main as search_main
    from tests.fakes import FakeEmbedder

    monkeypatch.setattr("wiring.root.load_embedder", lambda s: FakeEmbedder(dim=8))
    path = index / "manifest.json"
    path.write_bytes(damage(path.read_bytes()))
    docs = index / "docs"
    docs.mkdir()
    for main, argv in (
        (ingest_main, [str(docs), "--index", str(index), "--quiet"]),
        (search_main, ["warranty", "--index", str(index)]),
        (ask_main, ["warranty?", "--index", str(index), "--no-model"]),
    ):
        code = main(argv)
        err = capsys.readouterr().err
        assert code == 2, (main.__module__, err)
        assert "is damaged" in err and "Next step: rebuild the index" in err, err
        assert "Traceback" not in err and "UnicodeDecodeError" not in err
