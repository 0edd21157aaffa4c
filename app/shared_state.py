"""Each browser session's conversation in PostgreSQL, when `RAG_STORE_URL` is set.

Any app process behind a load balancer then shows a user's conversation after a reload
(the tables and the connection: `service.pg_state`).
"""

from __future__ import annotations

import json
import time

from app.conversation import ChatTurn
from app.conversation_store import turn_from_json, turn_to_json, valid_session_id
from service.pg_state import StateDb


class PgConversationStore:
    """`app.conversation_store.ConversationStore`, in the database."""

    def __init__(self, url: str) -> None:
        self._db = StateDb(url)

    def load(self, session_id: str) -> list[ChatTurn]:
        _check(session_id)
        rows = self._db.rows(
            "SELECT turns FROM rag_conversations WHERE session_id = %s", (session_id,)
        )
        return [turn_from_json(t) for t in rows[0][0]] if rows else []

    def save(self, session_id: str, turns: list[ChatTurn]) -> None:
        _check(session_id)
        body = json.dumps([turn_to_json(t) for t in turns], ensure_ascii=False)
        self._db.rows(
            "INSERT INTO rag_conversations (session_id, turns) VALUES (%s, %s)"
            " ON CONFLICT (session_id) DO UPDATE SET turns = excluded.turns, updated_at = now()",
            (session_id, body),
        )

    def delete(self, session_id: str) -> None:
        _check(session_id)
        self._db.rows("DELETE FROM rag_conversations WHERE session_id = %s", (session_id,))

    def prune(self, keep_days: int, now: float | None = None) -> int:
        if keep_days <= 0:
            return 0
        cutoff = (time.time() if now is None else now) - keep_days * 86400
        rows = self._db.rows(
            "DELETE FROM rag_conversations WHERE updated_at < to_timestamp(%s) RETURNING 1",
            (cutoff,),
        )
        return len(rows)


def _check(session_id: str) -> None:
    if not valid_session_id(session_id):
        raise ValueError(f"not a session id: {session_id!r}")
