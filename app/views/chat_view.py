"""The chat: earlier turns, the new question, the streamed answer and its sources.

Everything that comes from a PDF or from the model goes through `safe_markdown`
before it reaches the page; nothing here allows raw HTML.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import streamlit as st

from app import chat_status
from app.conversation import ChatTurn, Tuning
from app.runtime import show_error
from app.safe_markdown import escape_text, model_markdown
from app.service import AppService
from app.session_work import Job, SessionWork
from app.views.sources_view import render_sources, source_anchor

STOPPED = "Stopped before the answer was finished; not used for follow-up questions."
FOLLOW_EVERY_S = 0.2
SHOWN_CHARS = 300  # of a refused question
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


def _pending(work: SessionWork, job: Job) -> tuple[Any, Any]:
    """A question still being answered: slots for its text so far and for its sources,
    and a Stop button between them."""
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
        sources = st.empty()
    return slot, sources


def _show(slot: Any, job: Job) -> None:
    if job.text:
        slot.markdown(model_markdown(job.text) + " ▍")
    else:
        slot.caption(escape_text(chat_status.status(job)))


def _show_sources(svc: AppService, slot: Any, job: Job, turn_index: int) -> None:
    """The passages the model is given, as soon as the search has them (before its first
    word); which ones the answer cites is marked when it is done."""
    passages = job.passages or ()
    turn = ChatTurn(job.question, "", "", passages, ())
    with slot.container():
        render_sources(svc, turn_index, turn, pending=job.id)


def _follow(
    svc: AppService,
    slots: dict[int, tuple[Any, Any]],
    work: SessionWork,
    watchers: list[Watcher],
    first_index: int,
) -> None:
    """Show the pending answers as they grow, and their sources once found (and whatever
    `watchers` follow, e.g. an ingest's progress); rerun the page when one is finished.

    Any click reruns the page and ends this loop; the workers go on, and the new
    run shows the same work and follows it again.
    """
    shown: dict[int, tuple[int, str, int]] = {}
    with_sources: set[int] = set()
    while True:
        jobs = [j for j in work.jobs() if j.id in slots]
        if any(watch() for watch in watchers):
            st.rerun()  # e.g. an ingest ended: show its outcome and the new documents
        if not jobs and not watchers:
            return
        if any(j.finished for j in jobs):
            st.rerun()  # the finished turn is rendered whole, and the download holds it
        for n, job in enumerate(jobs):
            text, sources = slots[job.id]
            seen = (len(job.text), chat_status.status(job), int(job.waited()))
            if shown.get(job.id) != seen:
                shown[job.id] = seen
                _show(text, job)
            if job.passages and job.id not in with_sources:  # once per page run: widgets
                with_sources.add(job.id)
                _show_sources(svc, sources, job, first_index + n)
        time.sleep(FOLLOW_EVERY_S)


def _refused(question: str, exc: BaseException) -> None:
    """A question refused before it was queued (too long): the start of it, and why."""
    shown = question if len(question) <= SHOWN_CHARS else question[:SHOWN_CHARS] + " …"
    with st.chat_message("user"):
        st.markdown(escape_text(shown))
    with st.chat_message("assistant"):
        show_error(exc, "Asking")


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
    refused = None
    if question and question.strip():
        try:
            work.submit(question.strip(), tuning)  # answered in the background, shown below
        except Exception as exc:  # e.g. too long: refused at once, with the limit
            refused = (question.strip(), exc)
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
    if refused is not None:
        _refused(*refused)
    jobs = work.jobs()
    if any(job.finished for job in jobs):
        st.rerun()  # finished after `turns` was read: show it whole
    slots = {job.id: _pending(work, job) for job in jobs}
    _follow(svc, slots, work, watchers or [], len(turns))
