"""While an answer is written, in a real browser: its sources first, then the text (issue 23).

`streamlit run` with the scripted model at 0.4 s per word (`slow_model`): the page must
show the passages the model reads as soon as the search has them, with what the model is
doing, before the answer's first word.
"""

from __future__ import annotations

import time

from tests.browser_app import (
    HANDBOOK_PAGES,
    browser_marks,
    chromium_page,
    indexed_app_env,
    running_app,
)
from tests.pdf_factory import text_pdf

pytestmark = browser_marks(300)
WAIT_MS = 120_000
PENDING_SOURCES = "Sources found; the ones the answer cites are marked when it is done"


def test_sources_show_before_the_first_word_of_the_answer(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    text_pdf(docs / "handbook.pdf", HANDBOOK_PAGES)
    env = indexed_app_env(tmp_path, docs, "slow_model", RAG_RELEVANCE_FLOOR="0.05")
    with running_app(env, tmp_path / "streamlit.log") as url, chromium_page(tmp_path / "p") as page:
        page.goto(url)
        box = page.get_by_test_id("stChatInputTextArea")
        box.wait_for(timeout=WAIT_MS)
        box.fill("How long does the warranty last?")
        asked = time.monotonic()
        box.press("Enter")
        page.get_by_text(PENDING_SOURCES).wait_for(timeout=WAIT_MS)
        shown = time.monotonic() - asked
        answer = page.get_by_test_id("stChatMessage").nth(1).inner_text()
        page.get_by_text("Sources", exact=True).wait_for(timeout=WAIT_MS)  # answered
        final = page.get_by_test_id("stChatMessage").nth(1).inner_text()
    print(f"sources visible {shown:.2f} s after the question")
    assert "handbook.pdf" in answer and "The warranty lasts two years" not in answer
    assert "Stop" in answer  # still being written
    assert "The warranty lasts two years" in final and PENDING_SOURCES not in final
