"""The page with the real embedder and no model file: quoted answers with file and page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[2] / "app" / "main.py")


@pytest.mark.slow
@pytest.mark.model
def test_real_embedder_quotes_passages_with_file_and_page(tmp_path, monkeypatch, seeds_dir):
    from core.settings import Settings
    from wiring.root import ingest_documents

    index = tmp_path / "index"
    ingest_documents(
        [seeds_dir / "003_bbafcba521c905a1.pdf"], Settings(index_dir=index), parser_processes=0
    )
    monkeypatch.setenv("RAG_INDEX_DIR", str(index))
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "no-models"))
    monkeypatch.delenv("RAG_APP_FACTORY", raising=False)
    try:
        at = AppTest.from_file(APP, default_timeout=120).run()
        at.chat_input[0].set_value("What does ELBO stand for?").run()
    finally:
        st.cache_resource.clear()
    assert not at.exception, at.exception
    assert not at.main.error, [e.value for e in at.main.error]
    assistant = at.chat_message[1]
    answer = assistant.markdown[0].value
    assert answer.startswith("Quoted from your documents")
    assert "ELBO" in answer and "**\\[1\\]**" in answer
    labels = [re.sub(r"\\(.)", r"\1", e.label) for e in assistant.expander]
    # "[1] file.pdf p. 2", or with the section path: "[1] file.pdf › 2 Method, p. 2"
    where = r"\[\d\] 003_bbafcba521c905a1\.pdf( pp?\. \d|( › [^›]+)+, pp?\. \d)"
    assert labels and all(re.match(where, x) for x in labels), labels
    assert any("**ELBO**" in e.markdown[0].value for e in assistant.expander)
