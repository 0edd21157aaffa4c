"""Streamlit entry point: `streamlit run app/main.py` (or `make run`). It only composes.

What the app does lives in `app.service` (no Streamlit); the page is built by
`app.views.sidebar`, `app.views.add_documents` and `app.views.chat_view`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# `streamlit run` puts app/ on sys.path, not the repository root with core/, ingest/, llm/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from app import runtime
from app.safe_markdown import escape_text
from app.service import ModelStatus
from app.views import add_documents, chat_view, model_view, sidebar


def main() -> None:
    # An emoji icon: a `:material/...:` one would make the browser fetch it from Google.
    st.set_page_config(page_title="Chat with your PDFs", page_icon="📄")
    st.title("Chat with your PDFs")
    try:
        svc = runtime.service()
        svc.warm_up()  # the embedding model and the index, before the first question
        manifest = svc.manifest()
    except Exception as exc:  # the UI boundary: bad settings, a damaged index
        runtime.show_error(exc, "Opening the index")
        return
    exposed = runtime.exposure_notice()
    if exposed:
        st.warning(escape_text(exposed))
    notice = st.session_state.pop("notice", None)
    if notice:
        st.success(escape_text(notice))
    sources = sorted(manifest.documents) if manifest is not None else []
    with st.sidebar:
        sidebar.documents_section(svc, manifest)
        try:
            with st.spinner("Loading the language model ..."):
                model = svc.model_status()
        except Exception as exc:  # a model that fails to load: answers quote passages instead
            runtime.show_error(exc, "Loading the model")
            model = ModelStatus(loaded=False)
        model_view.render(model, svc)
        tuning = sidebar.tuning_section(svc, model, sources)
    ingest_watch = add_documents.render(svc, expanded=not sources)
    with runtime.errors_shown("Starting the conversation"):
        work = runtime.session_work(svc)
        turns = work.conversation.shown()  # one reading for the chat and the download
        with st.sidebar:
            sidebar.conversation_section(svc, work, turns)
        watchers = [ingest_watch] if ingest_watch else []
        chat_view.render(svc, work, turns, tuning, bool(sources), watchers)


# Streamlit runs this file as __main__. Parser processes are started with "spawn", which
# imports the parent's __main__ file again as __mp_main__: the page must not run there.
if __name__ == "__main__":
    main()
