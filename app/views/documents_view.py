"""The sidebar's document list: found by name or folder, sorted, long paths readable.

Each document shows its file name in bold and its folder under it in full
(broken after each "/" so a deep path wraps instead of being cut), then its
pages, when it was added, pages read by OCR and pages without text. The list
is searched by any part of the path (case-insensitive) and sorted by name,
newest or size; it shows the first `SHOWN` matches.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

import streamlit as st

from app.safe_markdown import escape_text
from app.service import DocumentRecord, Manifest

SHOWN = 30
QUERY_KEY = "document_query"
ORDER_KEY = "document_order"
ORDERS = ("Name", "Newest first", "Most pages")


def count(n: int, noun: str) -> str:
    """'1 document', '3 documents'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def when(timestamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(timestamp)) if timestamp else "-"


@dataclass(frozen=True)
class DocumentRow:
    name: str
    folder: str
    details: str
    source: str


def document_rows(
    documents: Iterable[DocumentRecord], query: str = "", order: str = "Name"
) -> list[DocumentRow]:
    """The documents matching `query` (every word, anywhere in the path), in `order`.

    >>> docs = [DocumentRecord("a/long/path/zeta.pdf", "", 12, 40, "", "", 0, 0, "pdfium",
    ...                        ingested_at=2.0, ocr_pages=3),
    ...         DocumentRecord("alpha.pdf", "", 2, 5, "", "", 0, 0, "pdfium", ingested_at=1.0)]
    >>> [(r.name, r.folder) for r in document_rows(docs)]
    [('alpha.pdf', ''), ('zeta.pdf', 'a/long/path/')]
    >>> [r.name for r in document_rows(docs, "LONG zeta")], document_rows(docs, "nothing")
    (['zeta.pdf'], [])
    >>> document_rows(docs, order="Most pages")[0].details
    '12 pages, 3 read by OCR; added 1970-01-01 ...'
    """
    words = query.lower().split()
    found = [d for d in documents if all(w in d.source.lower() for w in words)]
    if order == "Newest first":
        found.sort(key=lambda d: (-d.ingested_at, d.source.lower()))
    elif order == "Most pages":
        found.sort(key=lambda d: (-d.pages, d.source.lower()))
    else:
        found.sort(key=lambda d: (d.source.rsplit("/", 1)[-1].lower(), d.source.lower()))
    return [_row(d) for d in found]


def _row(d: DocumentRecord) -> DocumentRow:
    folder, _, name = d.source.rpartition("/")
    notes = [count(d.pages, "page")]
    if d.ocr_pages:
        notes.append(f"{d.ocr_pages} read by OCR")
    if d.empty_pages:
        notes.append(f"{count(d.empty_pages, 'page')} without text")
    details = ", ".join(notes) + f"; added {when(d.ingested_at)}"
    return DocumentRow(name, folder + "/" if folder else "", details, d.source)


def render(manifest: Manifest | None) -> None:
    st.header("Documents")
    if manifest is None or not manifest.documents:
        st.caption("No documents yet.")
        return
    st.caption(
        f"{count(len(manifest.documents), 'document')}, {count(manifest.pages, 'page')}, "
        f"{count(manifest.chunks, 'chunk')}; updated {when(manifest.updated_at)}"
    )
    query = st.text_input(
        "Find a document",
        key=QUERY_KEY,
        placeholder="part of its name or folder",
        disabled=len(manifest.documents) < 2,
    )
    order = st.selectbox("Sort by", ORDERS, key=ORDER_KEY, label_visibility="collapsed")
    rows = document_rows(manifest.documents.values(), query, order)
    if query and len(rows) != len(manifest.documents):
        st.caption(f"{len(rows)} of {len(manifest.documents)} match")
    with st.container(height=320 if len(rows) > 6 else "content", border=False):
        for row in rows[:SHOWN]:
            # A break opportunity after every "/": a deep path wraps instead of being cut.
            folder = escape_text(row.folder).replace("/", "/\u200b")
            st.markdown(f"**{escape_text(row.name)}**" + (f"  \n{folder}" if folder else ""))
            st.caption(escape_text(row.details))
        if len(rows) > SHOWN:
            st.caption(f"... and {len(rows) - SHOWN} more: type part of a name to find one.")
