"""Choosing the model in the page, in a real browser, with two real (tiny) GGUF models.

`streamlit run` with the real llama.cpp loader over a models folder holding two
random-weight GGUF files (`tests/tiny_gguf.py`); headless Chromium picks the
other one in the sidebar, switches, and asks a question that it answers.
Skipped, with the reason, only where Chromium or Playwright is missing.
"""

from __future__ import annotations

import os

from tests.browser_app import (
    ask_in_browser,
    browser_marks,
    chromium_page,
    indexed_app_env,
    open_selectbox,
    running_app,
    wait_until_idle,
)
from tests.pdf_factory import text_pdf
from tests.tiny_gguf import TINY, write_llama_gguf

pytestmark = browser_marks(600)
WAIT_MS = 120_000


def test_the_user_switches_between_installed_models(tmp_path):
    docs, models = tmp_path / "docs", tmp_path / "models"
    docs.mkdir()
    models.mkdir()
    text_pdf(docs / "handbook.pdf", ["The warranty lasts two years from the date of delivery."])
    write_llama_gguf(models / "alpha.gguf", TINY)
    write_llama_gguf(models / "beta.gguf", TINY)
    os.utime(models / "alpha.gguf", (1, 1))  # beta is the newest: it is loaded first
    env = indexed_app_env(
        tmp_path,
        docs,
        "real_model",
        RAG_RELEVANCE_FLOOR="0.05",
        RAG_LLM_N_CTX="1024",
        RAG_LLM_N_THREADS="1",
        RAG_LLM_MAX_TOKENS="32",
    )
    with (
        running_app(env, tmp_path / "streamlit.log") as url,
        chromium_page(tmp_path / "profile") as page,
    ):
        page.goto(url)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("beta.gguf", exact=True).wait_for(timeout=WAIT_MS)
        options = open_selectbox(page, sidebar, "Installed models", WAIT_MS)
        listed = "\n".join(options.all_inner_texts())
        options.filter(has_text="alpha.gguf").click()
        wait_until_idle(page, WAIT_MS)
        sidebar.get_by_role("button", name="Switch model").click()
        page.get_by_text("Answers now come from alpha.gguf").wait_for(timeout=WAIT_MS)
        sidebar.get_by_text("alpha.gguf", exact=True).wait_for(timeout=WAIT_MS)
        ask_in_browser(page, "How long does the warranty last?", timeout_ms=WAIT_MS)
        captions = sidebar.inner_text()
    assert "alpha.gguf" in listed and "beta.gguf" in listed
    assert "context 4,096 tokens" in listed and "MB" in listed
    assert "context 1024 tokens" in captions  # the offload report of the model now loaded
    assert "layers on the GPU" in captions
