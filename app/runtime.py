"""Streamlit glue: the process-wide service, this browser session's conversation, errors.

`st.cache_resource` keeps one `AppService` per process for each combination of
settings, so the embedder, the index and the model are loaded once and shared
by every browser session; each browser session's conversation is kept by its
id (in the page address), in memory and on disk.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from pydantic import ValidationError

from app.conversation_store import ConversationStore, new_session_id, valid_session_id
from app.safe_markdown import escape_text
from app.service import AppService
from app.session_work import SessionWork
from core.errors import RagError
from core.settings import Settings, env_name_at, load_settings
from core.text import redact_paths
from service.components import factory_spec, load_components

LOG = logging.getLogger("app")
SESSION_PARAM = "session"


@st.cache_resource(show_spinner=False)
def _shared_service(key: str, _settings: Settings, factory: str) -> AppService:
    """One per distinct settings (`key`); arguments starting with _ are not hashed."""
    return AppService(_settings, load_components(factory))


def service() -> AppService:
    """Settings are re-read at every run (cheap), so a changed environment takes effect."""
    settings = load_settings()
    factory = factory_spec()
    return _shared_service(factory + settings.model_dump_json(), settings, factory)


@st.cache_resource(show_spinner=False)
def _sessions() -> tuple[threading.Lock, dict[str, SessionWork]]:
    """Every browser session's conversation and question worker, by session id.

    Process-wide rather than in `st.session_state`: a reloaded tab (a new Streamlit
    session, same `?session=` id) finds its questions still running and its turns.
    """
    return threading.Lock(), {}


def session_id() -> str:
    """This browser session's id, from the page address (made and put there if absent)."""
    sid = st.query_params.get(SESSION_PARAM)
    if not valid_session_id(sid):
        sid = new_session_id()
        st.query_params[SESSION_PARAM] = sid
    return sid


def store(svc: AppService) -> ConversationStore:
    return svc.conversation_store()  # the database with RAG_STORE_URL (app.shared_state)


def session_work(svc: AppService) -> SessionWork:
    """This session's conversation (read back from disk after a restart) and its worker."""
    sid = session_id()
    lock, sessions = _sessions()
    with lock:
        current = sessions.get(sid)
        owner = (id(svc), svc.model_version)  # a new service or model: a new conversation
        if current is not None and (current.owner == owner or current.busy()):
            return current
        if current is None:  # a session new to this process: a moment to drop old ones
            store(svc).prune(svc.settings.app.conversations_keep_days)
        with st.spinner("Loading the language model ..."):
            conv = svc.new_conversation()
        # Settings changed: keep what was said on screen. First visit: what is on disk.
        conv.load(current.conversation.shown() if current else store(svc).load(sid))
        saver = store(svc)
        work = SessionWork(conv, on_turn=lambda _t: saver.save(sid, conv.shown()), owner=owner)
        sessions[sid] = work
        return work


def clear_conversation(svc: AppService, work: SessionWork) -> None:
    work.conversation.clear()
    store(svc).delete(session_id())


def show_error(exc: BaseException, doing: str) -> None:
    """An exception as a message in the page; unexpected ones are logged with their traceback.

    The page may be seen by others than the person at the server (see `exposure_notice`):
    messages name no server paths, and an unexpected error shows only its kind.
    """
    if isinstance(exc, RagError):
        st.error(escape_text(redact_paths(str(exc))))
    elif isinstance(exc, ValidationError):
        LOG.error("invalid settings: %s", exc)
        names = {env_name_at([str(p) for p in e["loc"]]) for e in exc.errors() if e["loc"]}
        fields = ", ".join(sorted(names)) or "RAG_* settings"
        st.error(
            escape_text(
                f"The settings are invalid ({fields}). The details are in the terminal "
                "that runs the app."
            )
        )
    else:
        LOG.error("%s failed", doing, exc_info=exc)
        st.error(
            escape_text(
                f"{doing} failed ({type(exc).__name__}). "
                "The details are in the terminal that runs the app."
            )
        )


LOCAL_ADDRESSES = ("localhost", "127.0.0.1", "::1")


def exposure_notice() -> str | None:
    """A warning when the server listens beyond this machine, else None."""
    address = str(st.get_option("server.address") or "")
    if address in LOCAL_ADDRESSES or address.startswith("127."):
        return None
    where = f"on {address}" if address else "on every network interface"
    return (
        f"This app listens {where}, not only on localhost: anyone who can reach it can "
        "read the indexed documents and add files from the allowed folders. Set "
        'server.address = "localhost" in .streamlit/config.toml to keep it private.'
    )


@contextmanager
def errors_shown(doing: str) -> Iterator[None]:
    """The UI boundary: errors become messages here, never stack traces in the page.

    Streamlit's own rerun and stop signals are BaseExceptions and pass through.
    """
    try:
        yield
    except Exception as exc:
        show_error(exc, doing)
