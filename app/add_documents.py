"""Adding PDFs from the page: an upload box and a folder path, with a progress bar.

Both go through the same incremental ingest as `python -m ingest`. The result
is kept in session state across the rerun that refreshes the sidebar (and
empties the upload box), then shown once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import streamlit as st

from app.runtime import show_error
from app.safe_markdown import escape_text
from app.service import AddResult, AppService, Upload
from core.types import IngestReport
from ingest.pipeline import Progress

RESULT_KEY = "add_result"
ROUND_KEY = "upload_round"  # a new key empties the upload box after its files were added
PROGRESS_EVERY_S = 0.25


def render(svc: AppService, expanded: bool) -> None:
    s = svc.settings
    with st.expander("Add PDFs", expanded=expanded):
        uploads = st.file_uploader(
            "Drop PDF files here",
            type=["pdf"],
            accept_multiple_files=True,
            max_upload_size=s.upload_max_mb,
            key=f"uploads-{st.session_state.get(ROUND_KEY, 0)}",
        )
        st.caption(
            escape_text(
                f"Up to {s.upload_max_files} files of at most {s.upload_max_mb} MB each; "
                "they are kept in the documents folder (RAG_DOCUMENTS_DIR). Folders can be "
                "added from the documents folder and your home folder (RAG_INGEST_ROOTS)."
            )
        )
        with st.form("add-folder", border=False):
            folder = st.text_input(
                "Or the path of a folder (or PDF) on this computer",
                placeholder="/home/me/contracts",
            )
            add_folder = st.form_submit_button("Add folder")
    _show_last_result()
    if uploads:
        # The file objects themselves: saving reads them in blocks (getvalue() would copy each).
        for f in uploads:
            f.seek(0)
        files = [Upload(f.name, f) for f in uploads]
        _run(lambda progress: svc.add_uploads(files, progress))
        st.session_state[ROUND_KEY] = st.session_state.get(ROUND_KEY, 0) + 1
        st.rerun()
    if add_folder and folder.strip():
        _run(lambda progress: svc.ingest([Path(folder.strip())], progress))
        st.rerun()


def _run(ingest: Callable[[Callable[[Progress], None]], AddResult]) -> None:
    """Run an ingest under a progress bar; its result (or error) is shown after the rerun."""
    bar = st.progress(0.0, text="Reading PDFs ...")
    last = 0.0

    def show(p: Progress) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last < PROGRESS_EVERY_S and p.files_done < p.files_total:
            return  # every event would be a message to the browser
        last = now
        share = min(p.pages_done / p.pages_total, 1.0) if p.pages_total else 0.0
        text = f"{p.files_done} of {p.files_total} files, {p.pages_done} pages, {p.chunks} chunks"
        bar.progress(share, text=escape_text(text + (f": {p.current}" if p.current else "")))

    try:
        st.session_state[RESULT_KEY] = ingest(show)
    except Exception as exc:  # the UI boundary: shown after the rerun, like a result
        st.session_state[RESULT_KEY] = exc


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
    if report.added or report.updated:
        text += " The new documents are searchable now."
    return text


def _show_last_result() -> None:
    result = st.session_state.pop(RESULT_KEY, None)
    if result is None:
        return
    if isinstance(result, BaseException):
        show_error(result, "Adding documents")
        return
    for message in result.rejected:
        st.warning(escape_text(message))
    report = result.report
    if report is None:
        return
    st.success(summary(report))
    for skipped in report.skipped:
        st.warning(escape_text(f"Skipped {skipped.file}: {skipped.reason}"))
    for warning in report.warnings:
        st.info(escape_text(f"{warning.file}: {warning.reason}"))
