"""Adding PDFs from the page: an upload box and a folder path, with a progress bar.

Both go through the same incremental ingest as `python -m ingest`, in the
background (`service.ingest_job`): the chat stays usable, a click elsewhere never
cancels it, and Stop keeps the files finished so far. Its outcome is shown
once to each browser session.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from app.runtime import show_error
from app.safe_markdown import escape_text
from app.service import AddResult, AppService, IngestJob, Upload, check_within_roots
from core.errors import RagError
from core.types import IngestReport

SEEN_KEY = "ingest_seen"  # the id of the last ingest whose outcome this session was shown
ERROR_KEY = "ingest_error"
ROUND_KEY = "upload_round"  # a new key empties the upload box after its files were added
PROGRESS_EVERY_S = 0.25


def render(svc: AppService, expanded: bool) -> Callable[[], bool] | None:
    """The upload box, the folder box, and the running ingest's progress with a Stop button.

    Returns a watcher while an ingest runs: called by the page's follow loop, it updates
    the bar and returns True once the ingest has ended (the page then reruns to show it).
    """
    s = svc.settings
    job = svc.ingest_job()
    running = job is not None and not job.finished
    busy = "Documents are being added: wait, or stop it below." if running else None
    with st.expander("Add PDFs", expanded=expanded or running):
        uploads = st.file_uploader(
            "Drop PDF files here",
            type=["pdf"],
            accept_multiple_files=True,
            max_upload_size=s.app.upload_max_mb,
            key=f"uploads-{st.session_state.get(ROUND_KEY, 0)}",
            disabled=running,
            help=busy,
        )
        st.caption(
            escape_text(
                f"Up to {s.app.upload_max_files} files of at most {s.app.upload_max_mb} MB each; "
                "they are kept in the documents folder (RAG_DOCUMENTS_DIR). Folders can be "
                "added from the documents folder and your home folder (RAG_INGEST_ROOTS). "
                "You can go on asking questions while documents are added."
            )
        )
        with st.form("add-folder", border=False):
            folder = st.text_input(
                "Or the path of a folder (or PDF) on this computer",
                placeholder="/home/me/contracts",
                disabled=running,
            )
            add_folder = st.form_submit_button("Add folder", disabled=running, help=busy)
    error = st.session_state.pop(ERROR_KEY, None)
    if error is not None:
        show_error(error, "Adding documents")
    if job is not None and job.finished:
        _show_result(job)
    if uploads and not running:
        # The file objects themselves: saving reads them in blocks (getvalue() would copy each).
        for f in uploads:
            f.seek(0)
        files = [Upload(f.name, f) for f in uploads]
        # The upload box is emptied next, whatever happens: a failed save is not retried
        # at every rerun, and its message is shown once (never Streamlit's error page).
        st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
        try:
            with st.spinner("Saving the uploaded files ..."):
                saved, rejected = svc.save_uploads(files)
        except Exception as exc:  # the UI boundary: too many files, a full disk, ...
            st.session_state[ERROR_KEY] = exc
        else:
            label = count(len(files), "uploaded file")
            _start(svc, label, lambda progress: svc.ingest_saved(saved, rejected, progress))
        st.rerun()
    if add_folder and folder.strip():
        _add_folder(svc, Path(os.path.expanduser(folder.strip())))
    return _progress(job) if running else None


def _add_folder(svc: AppService, path: Path) -> None:
    try:
        # The roots first: whether a path outside them exists is none of the page's business.
        check_within_roots([path], svc.settings)
        if not path.exists():
            raise RagError(
                f"There is no folder or PDF named {path.name or str(path)!r} at that path",
                hint="check the path (copy it from your file manager)",
            )
    except Exception as exc:  # the UI boundary
        show_error(exc, "Adding documents")
        return
    _start(svc, path.name or str(path), lambda progress: svc.ingest([path], progress))
    st.rerun()


def _start(svc: AppService, label: str, run: Callable) -> None:
    try:
        svc.start_ingest(label, run)
    except Exception as exc:  # the UI boundary: e.g. one is running already
        st.session_state[ERROR_KEY] = exc


def _progress(job: IngestJob) -> Callable[[], bool]:
    bar = st.progress(job.share, text=escape_text(job.status()))
    st.button(
        "Stop adding",
        key=f"stop-ingest-{job.id}",
        on_click=job.cancel,
        disabled=job.cancelling,
        help="Files finished so far stay in the index; the others are not added.",
    )
    last = [0.0]

    def watch() -> bool:
        if job.finished:
            return True
        now = time.monotonic()
        if now - last[0] >= PROGRESS_EVERY_S:
            last[0] = now
            text = ("Stopping after the current file ... " if job.cancelling else "") + job.status()
            bar.progress(job.share, text=escape_text(text))
        return False

    return watch


def summary(report: IngestReport) -> str:
    """'2 added, 1 unchanged, 1 skipped: 14 pages, 40 chunks in 3.2 s. ...'"""
    counts = {
        "added": len(report.added),
        "updated": len(report.updated),
        "unchanged": len(report.unchanged),
        "removed": len(report.removed),
        "skipped": len(report.skipped),
    }
    done = ", ".join(f"{n} {what}" for what, n in counts.items() if n) or "no PDF found"
    text = f"{done}: {report.pages} pages, {report.chunks} chunks in {report.seconds:.1f} s."
    if report.other_files:
        text += f" {count(report.other_files, 'other file')} (not named .pdf) not read."
    if report.added or report.updated:
        text += " The new documents are searchable now."
    return text


def _show_result(job: IngestJob) -> None:
    """The ended ingest's outcome, once per browser session."""
    if st.session_state.get(SEEN_KEY) == job.id:
        return
    st.session_state[SEEN_KEY] = job.id
    if job.state == "failed":
        show_error(job.error, "Adding documents")
        return
    if job.state == "stopped":
        p = job.progress
        done = p.files_done if p else 0
        total = p.files_total if p else 0
        st.warning(
            escape_text(
                f"Stopped: {count(done, 'file')} of {total} finished and are searchable; "
                f"the other {total - done} were not added. Add the same folder again to go "
                "on (finished files are skipped as unchanged)."
            )
        )
        return
    result: AddResult = job.result
    for message in result.rejected:
        st.warning(escape_text(message))
    report = result.report
    if report is None:
        return
    found = report.added or report.updated or report.unchanged or report.removed
    (st.success if found else st.warning)(summary(report))
    for skipped in report.skipped:
        st.warning(escape_text(f"Skipped {skipped.file}: {skipped.reason}"))
    for warning in report.warnings:
        st.info(escape_text(f"{warning.file}: {warning.reason}"))


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
