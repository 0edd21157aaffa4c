"""The chat: earlier turns, the new question, the streamed answer and its sources.

Everything that comes from a PDF or from the model goes through `safe_markdown`
before it reaches the page; nothing here allows raw HTML.
"""

from __future__ import annotations

import streamlit as st

from app.conversation import ChatTurn, Conversation, Tuning
from app.runtime import show_error
from app.safe_markdown import escape_text, highlight, model_markdown, model_stream
from app.service import AppService

EMPTY_INDEX = (
    "No documents yet. Add PDFs above: drop them into the upload box or enter the path "
    "of a folder on this computer. From a terminal, `python -m ingest FOLDER` does the same."
)


def source_label(n: int, turn: ChatTurn) -> str:
    """'[1] acme.pdf p. 4 · relevance 0.82 · cited', escaped (labels render Markdown)."""
    p = turn.passages[n - 1]
    cited = "cited" if n in turn.cited else "not cited"
    ocr = " · OCR" if p.ocr else ""  # text read from a scanned page image
    return escape_text(f"[{n}] {p.source} {p.pages}{ocr} · relevance {p.score:.2f} · {cited}")


def render_sources(svc: AppService, turn_index: int, turn: ChatTurn) -> None:
    """Each passage the answer was given: file, pages, relevance, highlighted text, pages."""
    if not turn.passages:
        return
    st.caption("Sources")
    first_cited = min(turn.cited, default=None)
    for n, passage in enumerate(turn.passages, 1):
        with st.expander(source_label(n, turn), expanded=n == first_cited):
            st.markdown(highlight(passage.text, turn.question))
            for page in range(passage.page_start, passage.page_end + 1):
                key = f"page-{turn_index}-{n}-{page}"
                if st.toggle(f"Show all of page {page}", key=key):
                    _page_viewer(svc, passage.source, page, turn.question)


def _page_viewer(svc: AppService, source: str, page: int, question: str) -> None:
    try:
        text = svc.page_text(source, page)
    except Exception as exc:  # the UI boundary
        show_error(exc, "Reading the page")
        return
    with st.container(border=True):
        if text is None:
            st.caption("This page is no longer in the index (the document was changed or removed).")
        elif not text.strip():
            st.caption("This page has no text (a scan or an image).")
        else:
            st.markdown(highlight(text, question))


def render_turn(svc: AppService, turn_index: int, turn: ChatTurn) -> None:
    with st.chat_message("user"):
        st.markdown(escape_text(turn.question))
    with st.chat_message("assistant"):
        st.markdown(model_markdown(turn.answer))
        _notes(turn)
        render_sources(svc, turn_index, turn)


def _notes(turn: ChatTurn) -> None:
    if turn.query and turn.query != turn.question:
        st.caption(escape_text(f"Searched for: {turn.query}"))
    for note in turn.notes:
        st.caption(escape_text(note))


def ask(svc: AppService, conv: Conversation, tuning: Tuning, question: str) -> None:
    """Show the question, stream the answer, then its sources; errors become messages."""
    with st.chat_message("user"):
        st.markdown(escape_text(question))
    with st.chat_message("assistant"):
        slot = st.empty()
        try:
            with st.spinner("Searching your documents ..."):
                answer = conv.ask(question, tuning)
            with slot.container():
                st.write_stream(model_stream(answer))
            turn = conv.finish(question, answer)
        except Exception as exc:  # the UI boundary
            show_error(exc, "Answering")
            return
        # Streamed text was escaped piece by piece; now the whole answer, citations in bold.
        slot.markdown(model_markdown(turn.answer))
        _notes(turn)
        render_sources(svc, len(conv.turns) - 1, turn)


def render(svc: AppService, conv: Conversation, tuning: Tuning, has_documents: bool) -> None:
    if not has_documents:
        st.info(EMPTY_INDEX)
    for i, turn in enumerate(conv.turns):
        render_turn(svc, i, turn)
    question = st.chat_input(
        "Ask a question about your documents" if has_documents else "Add documents first",
        disabled=not has_documents,
    )
    if question and question.strip():
        ask(svc, conv, tuning, question.strip())
