"""The per-session conversation file: round trip, bad ids, damaged and future files."""

from __future__ import annotations

import json
import os

import pytest

from app.conversation import ChatTurn
from app.conversation_store import ConversationStore, new_session_id, valid_session_id
from core.types import Passage
from llm.types import Citation

CITED = Passage(
    "dir/acme.pdf", 4, 5, 0.8125, "Two years.\n- bullet", "abc123", also=("copy/acme.pdf",)
)
TURN = ChatTurn(
    "How long? «ünïcode»",
    "Two years [1]. The moon [unsupported].",
    "generative",
    (
        CITED,
        Passage(
            "scan.pdf", 1, 1, 0.5, "OCR text", ocr_confidence=0.91, title="T", section=("1", "1.2")
        ),
    ),
    (Citation(1, CITED),),
    query="warranty length",
    notes=("trimmed",),
    asked_at=1700000000.5,
)


def test_round_trip_keeps_every_field(tmp_path):
    store = ConversationStore(tmp_path / "c")
    sid = new_session_id()
    stopped = ChatTurn("Stopped?", "Half", "generative", (), (), stopped=True)
    store.save(sid, [TURN, stopped])
    assert store.load(sid) == [TURN, stopped]
    data = json.loads(store.path(sid).read_text())
    assert data["format"] == "rag-conversation" and data["version"] == 1


def test_missing_conversation_is_empty_and_clear_deletes(tmp_path):
    store = ConversationStore(tmp_path)
    sid = new_session_id()
    assert store.load(sid) == []
    store.save(sid, [TURN])
    store.delete(sid)
    assert store.load(sid) == [] and not store.path(sid).exists()


@pytest.mark.parametrize("bad", ["../etc/passwd", "", "ABC", "a" * 31, None, "g" * 32])
def test_only_made_ids_become_paths(tmp_path, bad):
    assert not valid_session_id(bad)
    with pytest.raises(ValueError):
        ConversationStore(tmp_path).path(bad)


@pytest.mark.parametrize(
    "content",
    [
        "{not json",
        json.dumps({"format": "rag-conversation", "version": 99, "turns": []}),
        json.dumps({"format": "rag-conversation", "version": 1, "turns": [{"question": 1}]}),
        json.dumps([1, 2]),
    ],
)
def test_damaged_or_future_files_are_set_aside(tmp_path, content):
    store = ConversationStore(tmp_path)
    sid = new_session_id()
    store.path(sid).write_text(content)
    assert store.load(sid) == []
    assert store.path(sid).with_suffix(".bad").read_text() == content
    store.save(sid, [TURN])  # the session goes on
    assert store.load(sid) == [TURN]


def test_old_conversations_are_pruned_and_recent_ones_kept(tmp_path):
    store = ConversationStore(tmp_path)
    old, recent = new_session_id(), new_session_id()
    store.save(old, [TURN])
    store.save(recent, [TURN])
    long_ago = store.path(old).stat().st_mtime - 91 * 86400
    os.utime(store.path(old), (long_ago, long_ago))
    assert store.prune(0) == 0 and store.load(old) == [TURN]  # 0: kept forever
    assert store.prune(90) == 1
    assert store.load(old) == [] and store.load(recent) == [TURN]
