"""The first Streamlit page renders, with and without an index (Streamlit's AppTest)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app" / "main.py")


def test_empty_index_says_how_to_add_documents(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "none"))
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert any("No documents yet" in i.value for i in at.sidebar.info)


@pytest.mark.model
def test_question_shows_passages_with_file_and_page(tmp_path, monkeypatch, seeds_dir):
    from core.settings import Settings
    from ingest.pipeline import run_ingest

    index = tmp_path / "index"
    run_ingest(
        [seeds_dir / "003_bbafcba521c905a1.pdf"], Settings(index_dir=index), parser_processes=0
    )
    monkeypatch.setenv("RAG_INDEX_DIR", str(index))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.chat_input[0].set_value("What does ELBO stand for?").run()
    assert not at.exception
    labels = [e.label for e in at.expander]
    assert len(labels) == 5
    assert all(re.match(r"\[\d\] 003_bbafcba521c905a1\.pdf pp?\. \d", label) for label in labels)
    assert any("ELBO" in t.value for t in at.text)
