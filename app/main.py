"""Streamlit entry point: `streamlit run app/main.py` (or `make run`).

This first version searches the indexed PDFs and shows the best passages with
file and page; generated answers arrive with the local-model work.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import streamlit as st

from core.errors import IndexNotFoundError, RagError
from core.settings import Settings
from ingest.store.manifest import read_manifest

st.set_page_config(page_title="Chat with your PDFs", page_icon=":page_facing_up:")


def settings() -> Settings:
    return Settings()  # cheap; read per run so changed settings apply


@st.cache_resource
def _embedder(model_path: str, device: str, batch_size: int):
    """Loaded once per process and shared by every browser session."""
    from ingest.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(Path(model_path), device=device, batch_size=batch_size)


def embedder():
    s = settings()
    return _embedder(str(s.embedding_model_path()), s.embedding_device, s.embedding_batch_size)


@st.cache_resource(max_entries=2)
def _snapshot(index_dir: str, generation: int, verify: bool):
    """One loaded index per generation: a new ingest makes the next call load the new one."""
    from ingest.store import IndexSnapshot

    return IndexSnapshot.open(Path(index_dir), verify=verify)


def snapshot(generation: int):
    s = settings()
    return _snapshot(str(s.index_dir.absolute()), generation, s.verify_index)


def ingest_paths(paths: list[Path]) -> None:
    from ingest.pipeline import run_ingest

    bar = st.progress(0.0, text="Reading PDFs ...")

    def show(p) -> None:
        total = max(p.pages_total, 1)
        bar.progress(
            min(p.pages_done / total, 1.0),
            text=f"{p.pages_done}/{p.pages_total} pages, {p.files_done}/{p.files_total} files",
        )

    try:
        report = run_ingest(paths, settings(), embedder=embedder(), on_progress=show)
    except RagError as exc:
        st.error(str(exc))
        return
    bar.empty()
    st.success(
        f"Added {len(report.added)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}, removed {len(report.removed)} "
        f"({report.pages} pages, {report.chunks} chunks)."
    )
    for s in report.skipped:
        st.warning(f"Skipped {s.file}: {s.reason}")


def sidebar(manifest) -> None:
    with st.sidebar:
        st.header("Documents")
        if manifest is None:
            st.info("No documents yet. Add a folder of PDFs below.")
        else:
            st.metric("Documents", len(manifest.documents))
            st.caption(f"{manifest.pages} pages, {manifest.chunks} chunks")
            for source, reason in manifest.skipped.items():
                st.caption(f"Skipped {source}: {reason}")
        with st.form("add-folder"):
            folder = st.text_input("Add a folder of PDFs", placeholder="/home/me/contracts")
            if st.form_submit_button("Ingest") and folder:
                ingest_paths([Path(folder).expanduser()])
                st.rerun()


def main() -> None:
    st.title("Chat with your PDFs")
    try:
        manifest = read_manifest(settings().index_dir)
    except IndexNotFoundError:
        manifest = None
    except RagError as exc:
        st.error(str(exc))
        return
    sidebar(manifest)
    if manifest is None or not manifest.documents:
        st.write("Add PDFs in the sidebar, then ask a question about them here.")
        return
    st.caption("No local model configured yet: showing the passages that best match.")
    question = st.chat_input("Ask about your documents")
    if not question:
        return
    from retrieval.dense import check_embedder, dense_search

    with st.chat_message("user"):
        st.text(question)
    try:
        snap = snapshot(manifest.generation)
        check_embedder(snap, embedder())
        passages = dense_search(snap, embedder(), question, k=5)
    except RagError as exc:
        st.error(str(exc))
        return
    with st.chat_message("assistant"):
        for n, p in enumerate(passages, 1):
            with st.expander(f"[{n}] {p.source} {p.pages} (score {p.score:.2f})", expanded=n == 1):
                st.text(p.text)


main()
