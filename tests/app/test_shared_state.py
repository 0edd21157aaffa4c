"""Two app processes on one PostgreSQL: conversations and the page's ingest are shared.

Two `AppService`s stand for two processes (each has its own connections, caches and
threads; only the database is common).
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from app.conversation import ChatTurn
from app.conversation_store import new_session_id
from app.service import AppService
from app.shared_state import PgConversationStore
from core.errors import RagError
from core.settings import Settings
from core.types import Passage
from ingest.pipeline import Progress
from service.components import Components
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _until(check, seconds: float = 20.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def test_two_app_processes_share_conversations_and_the_ingest(pg_url, tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "pump.pdf", ["The Zorblax pump is serviced every 90 days."])
    settings = Settings(store_url=pg_url, ingest_roots=str(tmp_path))
    parts = Components(lambda s: FakeEmbedder(), lambda s: None, parser_processes=0)
    a, b = AppService(settings, parts), AppService(settings, parts)

    sid = new_session_id()
    turn = ChatTurn(
        "How long?", "90 days [1].", "extractive", (Passage("pump.pdf", 1, 1, 0.8, "x"),), ()
    )
    a.conversation_store().save(sid, [turn])
    assert b.conversation_store().load(sid) == [turn]
    b.conversation_store().delete(sid)
    assert a.conversation_store().load(sid) == []

    gate = threading.Event()

    def slow(progress):
        progress(Progress(0, 2, 0, 10, 0, "first.pdf", 0.1))
        gate.wait(20)
        progress(Progress(1, 2, 5, 10, 3, "second.pdf", 0.2))  # stopped here

    a.start_ingest("slow folder", slow)
    seen = _until(lambda: (j := b.ingest_job()) and j.progress and j)
    assert seen.label == "slow folder" and not seen.finished and seen.progress.files_total == 2
    assert "0 of 2 files" in seen.status()
    with pytest.raises(RagError, match="being added already"):
        b.start_ingest("another", slow)
    seen.cancel()  # the Stop button, pressed on the other process
    _until(lambda: a.ingest_job().cancelling)
    gate.set()
    assert _until(lambda: b.ingest_job().finished and b.ingest_job()).state == "stopped"

    b.start_ingest("docs", lambda progress: b.ingest([docs], progress))
    done = _until(lambda: (j := a.ingest_job()) and j.label == "docs" and j.finished and j)
    assert done.state == "done" and done.result.report.added == ("pump.pdf",)
    assert sorted(a.manifest().documents) == ["pump.pdf"]
    assert a.retriever().search("Zorblax pump serviced", 1)[0].source == "pump.pdf"


def test_the_page_answers_from_postgres_and_another_process_shows_the_conversation(
    pg_url, tmp_path, monkeypatch
):
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    from tests import app_fakes
    from wiring.root import ingest_documents

    app = str(Path(__file__).resolve().parents[2] / "app" / "main.py")
    for name, value in {
        "RAG_STORE_URL": pg_url,
        "RAG_INDEX_DIR": str(tmp_path / "unused"),
        "RAG_DOCUMENTS_DIR": str(tmp_path / "uploads"),
        "RAG_INGEST_ROOTS": str(tmp_path / "docs"),
        "RAG_MODELS_DIR": str(tmp_path / "models"),
        "RAG_CONVERSATIONS_DIR": str(tmp_path / "unused-conversations"),
        "RAG_RELEVANCE_FLOOR": "0.05",
        "RAG_APP_FACTORY": "tests.app_fakes:scripted",
    }.items():
        monkeypatch.setenv(name, value)
    app_fakes.GENERATORS.clear()
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "warranty.pdf", ["The warranty lasts two years from delivery."])
    ingest_documents([docs], Settings(), embedder=FakeEmbedder(), parser_processes=0)
    try:
        at = AppTest.from_file(app, default_timeout=60).run()
        at.chat_input[0].set_value("How long does the warranty last?").run()
        assert not at.exception and not at.main.error
        assert "two years" in at.chat_message[1].markdown[0].value
        sid = at.query_params["session"]
        sid = sid[0] if isinstance(sid, list) else sid
        _until(lambda: PgConversationStore(pg_url).load(sid))  # saved when the answer ended
        st.cache_resource.clear()  # a new app process: nothing kept in memory
        again = AppTest.from_file(app, default_timeout=60)
        again.query_params["session"] = sid
        again.run()
        assert not again.exception
        assert "two years" in again.chat_message[1].markdown[0].value
        assert (
            not (tmp_path / "unused").exists() and not (tmp_path / "unused-conversations").exists()
        )
    finally:
        st.cache_resource.clear()
