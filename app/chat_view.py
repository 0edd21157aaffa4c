"""The chat: earlier turns, the new question, the streamed answer and its sources.

Everything that comes from a PDF or from the model goes through `safe_markdown`
before it reaches the page; nothing here allows raw HTML.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from app.conversation import ChatTurn, Tuning
from app.runtime import show_error
from app.safe_markdown import escape_text, model_markdown
from app.service import AppService
from app.session_work import Job, SessionWork
from app.sources_view import render_sources, source_anchor

STOPPED = "Stopped before the answer was finished; not used for follow-up questions."
FOLLOW_EVERY_S = 0.2
Watcher = Callable[[], bool]  # updates its part of the page; True: finished, rerun
EMPTY_INDEX = (
    "No documents yet. Add PDFs above: drop them into the upload box or enter the path "
    "of a folder on this computer. From a terminal, `python -m ingest FOLDER` does the same."
)


def render_turn(svc: AppService, turn_index: int, turn: ChatTurn) -> None:
    with st.chat_message("user"):
        st.markdown(escape_text(turn.question))
    with st.chat_message("assistant"):
        if turn.answer:
            st.markdown(model_markdown(turn.answer, lambda n: source_anchor(turn_index, n)))
        if turn.stopped:
            st.caption(STOPPED)
        _notes(turn)
        render_sources(svc, turn_index, turn)


def _notes(turn: ChatTurn) -> None:
    if turn.query and turn.query != turn.question:
        st.caption(escape_text(f"Searched for: {turn.query}"))
    for note in turn.notes:
        st.caption(escape_text(note))


def _progress(job: Job) -> str:
    """What a pending answer shows while it has no text yet: what it waits for, and since when."""
    waited = f"{job.waited():.0f} s"
    if job.cancel.is_set():
        return f"Stopping (the model finishes the step it is in) ... {waited}"
    if job.state == "queued":
        return f"Waiting for the question before it to be answered ... {waited}"
    if job.state == "searching":
        return f"Searching your documents ... {waited}"
    return f"The model is reading the passages ... {waited}"


def _pending(work: SessionWork, job: Job) -> Any:
    """A question still being answered: its text so far, with a Stop button."""
    with st.chat_message("user"):
        st.markdown(escape_text(job.question))
    with st.chat_message("assistant"):
        slot = st.empty()
        st.button(
            "Stop",
            key=f"stop-{job.id}",
            on_click=work.cancel,
            args=(job.id,),
            help="Stop this answer. It is kept on screen but not used for follow-up questions.",
        )
    return slot


def _show(slot: Any, job: Job) -> None:
    if job.text:
        slot.markdown(model_markdown(job.text) + " ▍")
    else:
        slot.caption(_progress(job))


def _follow(slots: dict[int, Any], work: SessionWork, watchers: list[Watcher]) -> None:
    """Show the pending answers as they grow (and whatever `watchers` follow, e.g. an
    ingest's progress); rerun the page when one is finished.

    Any click reruns the page and ends this loop; the workers go on, and the new
    run shows the same work and follows it again.
    """
    shown: dict[int, tuple[int, str]] = {}
    while True:
        jobs = [j for j in work.jobs() if j.id in slots]
        if any(watch() for watch in watchers):
            st.rerun()  # e.g. an ingest ended: show its outcome and the new documents
        if not jobs and not watchers:
            return
        if any(j.finished for j in jobs):
            st.rerun()  # the finished turn is rendered whole, and the download holds it
        for job in jobs:
            seen = (len(job.text), job.state, int(job.waited()))
            if shown.get(job.id) != seen:
                shown[job.id] = seen
                _show(slots[job.id], job)
        time.sleep(FOLLOW_EVERY_S)


def render(
    svc: AppService,
    work: SessionWork,
    turns: list[ChatTurn],
    tuning: Tuning,
    has_documents: bool,
    watchers: list[Watcher] | None = None,
) -> None:
    """`turns`: the conversation as the rest of the page (the download) saw it in this run.

    Ends by following the pending answers and `watchers` until they finish (see `_follow`).
    """
    question = st.chat_input(
        "Ask a question about your documents" if has_documents else "Add documents first",
        disabled=not has_documents,
    )
    if question and question.strip():
        work.submit(question.strip(), tuning)  # answered in the background, shown below
    if not has_documents and not turns:
        st.info(EMPTY_INDEX)
    failed = [j for j in work.collect(turns) if j.error is not None]
    for i, turn in enumerate(turns):
        render_turn(svc, i, turn)
    for job in failed:
        if job.turn is not None:
            show_error(job.error, "Saving the conversation")
            continue
        with st.chat_message("user"):
            st.markdown(escape_text(job.question))
        with st.chat_message("assistant"):
            show_error(job.error, "Answering")
    jobs = work.jobs()
    if any(job.finished for job in jobs):
        st.rerun()  # finished after `turns` was read: show it whole
    _follow({job.id: _pending(work, job) for job in jobs}, work, watchers or [])
