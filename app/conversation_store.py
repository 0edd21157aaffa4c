"""Each browser session's conversation on disk, so that reloading the tab shows it again.

A session is named by a random id kept in the page's address (`?session=...`);
its turns are one versioned JSON file under `conversations_dir`, rewritten
atomically after every answer and deleted when the user clears the
conversation. A damaged or unknown-version file is set aside (renamed
`.bad`), never trusted and never fatal: the session starts empty. Files not
written for `RAG_CONVERSATIONS_KEEP_DAYS` days are deleted (`prune`).

>>> import tempfile
>>> from core.types import Passage
>>> from llm.types import Citation
>>> store = ConversationStore(Path(tempfile.mkdtemp()))
>>> sid = new_session_id()
>>> passage = Passage("acme.pdf", 4, 4, 0.81, "Two years.")
>>> turn = ChatTurn("How long?", "Two years [1].", "generative",
...                 (passage,), (Citation(1, passage),))
>>> store.save(sid, [turn])
>>> store.load(sid) == [turn]
True
>>> store.delete(sid); store.load(sid)
[]
"""

from __future__ import annotations

import json
import logging
import os
import re
import secrets
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.conversation import ChatTurn
from core.types import Passage
from llm.types import Citation

LOG = logging.getLogger("app")
FORMAT = "rag-conversation"
VERSION = 1
_SESSION_ID = re.compile(r"^[0-9a-f]{32}$")


def new_session_id() -> str:
    return secrets.token_hex(16)


def valid_session_id(value: object) -> bool:
    """Only ids this module made: a session id from the address must never become a path."""
    return isinstance(value, str) and bool(_SESSION_ID.match(value))


def turn_to_json(turn: ChatTurn) -> dict[str, Any]:
    return {
        "question": turn.question,
        "answer": turn.answer,
        "mode": turn.mode,
        "passages": [_passage_json(p) for p in turn.passages],
        "citations": [c.to_json() for c in turn.citations],
        "query": turn.query,
        "notes": list(turn.notes),
        "asked_at": turn.asked_at,
        "stopped": turn.stopped,
    }


def _passage_json(p: Passage) -> dict[str, Any]:
    return {
        "source": p.source,
        "page_start": p.page_start,
        "page_end": p.page_end,
        "score": p.score,
        "text": p.text,
        "chunk_id": p.chunk_id,
        "ocr_confidence": p.ocr_confidence,
        "title": p.title,
        "section": list(p.section),
        "also": list(p.also),
    }


def _passage(p: dict[str, Any]) -> Passage:
    ocr = p.get("ocr_confidence")
    return Passage(
        str(p["source"]),
        int(p["page_start"]),
        int(p["page_end"]),
        float(p["score"]),
        str(p["text"]),
        str(p.get("chunk_id", "")),
        ocr_confidence=None if ocr is None else float(ocr),
        title=str(p.get("title", "")),
        section=tuple(str(s) for s in p.get("section", ())),
        also=tuple(str(s) for s in p.get("also", ())),
    )


def _citation(c: dict[str, Any], passages: tuple[Passage, ...]) -> Citation:
    n = int(c["n"])
    if 1 <= n <= len(passages):
        return Citation(n, passages[n - 1])
    # A citation whose passage was not kept: its file and pages are all it still names.
    source, start, end = str(c["source"]), int(c["page_start"]), int(c["page_end"])
    return Citation(n, Passage(source, start, end, 0.0, ""))


def turn_from_json(data: dict[str, Any]) -> ChatTurn:
    passages = tuple(_passage(p) for p in data["passages"])
    return ChatTurn(
        question=str(data["question"]),
        answer=str(data["answer"]),
        mode=str(data["mode"]),
        passages=passages,
        citations=tuple(_citation(c, passages) for c in data["citations"]),
        query=str(data.get("query", "")),
        notes=tuple(str(n) for n in data.get("notes", ())),
        asked_at=float(data.get("asked_at", 0.0)),
        stopped=bool(data.get("stopped", False)),
    )


class ConversationStore:
    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, session_id: str) -> Path:
        if not valid_session_id(session_id):
            raise ValueError(f"not a session id: {session_id!r}")
        return self.folder / f"{session_id}.json"

    def load(self, session_id: str) -> list[ChatTurn]:
        path = self.path(session_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("format") != FORMAT or data.get("version") != VERSION:
                raise ValueError(f"format {data.get('format')!r} version {data.get('version')!r}")
            return [turn_from_json(t) for t in data["turns"]]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            LOG.warning("conversation %s unreadable (%s); set aside as .bad", path.name, exc)
            path.replace(path.with_suffix(".bad"))
            return []

    def save(self, session_id: str, turns: Sequence[ChatTurn]) -> None:
        """Written to a temporary file, then renamed: a crash leaves the old or the new file."""
        path = self.path(session_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        data = {"format": FORMAT, "version": VERSION, "turns": [turn_to_json(t) for t in turns]}
        fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".conv-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def delete(self, session_id: str) -> None:
        self.path(session_id).unlink(missing_ok=True)

    def prune(self, keep_days: int, now: float | None = None) -> int:
        """Delete conversations (and set-aside .bad files) not written for `keep_days` days."""
        if keep_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        deleted = 0
        try:
            entries = list(self.folder.iterdir())
        except OSError:
            return 0
        for path in entries:
            try:
                if path.suffix in (".json", ".bad", ".tmp") and path.stat().st_mtime < cutoff:
                    path.unlink()
                    deleted += 1
            except OSError:
                continue  # another session deleted or rewrote it meanwhile
        return deleted
