"""End to end in a real browser: `streamlit run`, headless Chromium, a question, a cited answer.

The app runs as users run it, in its own process on a free localhost port,
over a small index made with the fake embedder; the fakes (and the scripted
model) are injected with `RAG_APP_FACTORY`. Skipped, with the reason, only
where Chromium or Playwright is missing. Takes about 15 s.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from core.settings import Settings
from tests.browser_app import ask_in_browser, browser_marks, chromium_page, running_app
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf
from wiring.root import ingest_documents

pytestmark = browser_marks(300)

PAGES = [
    "Office hours are from nine to five on weekdays.",
    "The warranty lasts two years from the date of delivery. <script>window.pwned=1</script> "
    "![pixel](http://tracker.example/p.png) :material/home: <img src=x onerror=window.pwned=1>",
]


def test_browser_asks_and_gets_an_answer_with_a_cited_page(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    text_pdf(docs / "handbook.pdf", PAGES)
    env = {
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_DOCUMENTS_DIR": str(tmp_path / "uploads"),
        "RAG_MODELS_DIR": str(tmp_path / "models"),
        "RAG_RELEVANCE_FLOOR": "0.05",
        "RAG_APP_FACTORY": "tests.app_fakes:scripted",
    }
    settings = Settings(index_dir=tmp_path / "index")
    ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0)
    requested: list[str] = []
    with (
        running_app(env, tmp_path / "streamlit.log") as url,
        chromium_page(tmp_path / "profile") as page,
    ):
        page.on("request", lambda request: requested.append(request.url))
        page.goto(url)
        ask_in_browser(page, "How long does the warranty last?")
        answer = page.get_by_test_id("stChatMessage").nth(1)
        answer.get_by_text("The warranty lasts two years").first.wait_for(timeout=60_000)
        answer_text = answer.inner_text()
        screenshot = tmp_path / "e2e.png"
        page.screenshot(path=str(screenshot), full_page=True)
        pwned = page.evaluate("() => window.pwned === 1")
    assert "[1]" in answer_text
    assert re.search(r"\[1\] handbook\.pdf pp?\. \d", answer_text), answer_text
    assert "<script>" in answer_text  # shown as text ...
    assert not pwned  # ... never run
    assert screenshot.stat().st_size > 10_000
    outside = [u for u in requested if u.startswith("http") and urlparse(u).hostname != "127.0.0.1"]
    assert not outside, f"the page fetched from elsewhere: {outside}"
