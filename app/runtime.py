"""Streamlit glue: the process-wide service, this browser session's conversation, errors.

`st.cache_resource` keeps one `AppService` per process for each combination of
settings, so the embedder, the index and the model are loaded once and shared
by every browser session; the conversation lives in `st.session_state`, one
per browser session.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from pydantic import ValidationError

from app.components import factory_spec, load_components
from app.conversation import Conversation
from app.safe_markdown import escape_text
from app.service import AppService
from core.errors import RagError
from core.settings import Settings
from core.text import redact_paths

LOG = logging.getLogger("app")


@st.cache_resource(show_spinner=False)
def _shared_service(key: str, _settings: Settings, factory: str) -> AppService:
    """One per distinct settings (`key`); arguments starting with _ are not hashed."""
    return AppService(_settings, load_components(factory))


def service() -> AppService:
    """Settings are re-read at every run (cheap), so a changed environment takes effect."""
    settings = Settings()
    factory = factory_spec()
    return _shared_service(factory + settings.model_dump_json(), settings, factory)


def conversation(svc: AppService) -> Conversation:
    """This browser session's conversation; kept (turns included) across reruns."""
    state = st.session_state
    current = state.get("conversation")
    if current is None or state.get("conversation_service") is not svc:
        with st.spinner("Loading the language model ..."):
            fresh = svc.new_conversation()
        if current is not None:
            fresh.turns = current.turns  # settings changed: keep what was said on screen
        state["conversation"] = fresh
        state["conversation_service"] = svc
    return state["conversation"]


def show_error(exc: BaseException, doing: str) -> None:
    """An exception as a message in the page; unexpected ones are logged with their traceback.

    The page may be seen by others than the person at the server (see `exposure_notice`):
    messages name no server paths, and an unexpected error shows only its kind.
    """
    if isinstance(exc, RagError):
        st.error(escape_text(redact_paths(str(exc))))
    elif isinstance(exc, ValidationError):
        LOG.error("invalid settings: %s", exc)
        names = {str(e["loc"][0]).upper() for e in exc.errors() if e["loc"]}
        fields = ", ".join(sorted(f"RAG_{n}" for n in names)) or "RAG_* settings"
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
