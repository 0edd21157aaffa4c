"""A folder ingest in the background of the page, in a real browser: clicks elsewhere do not
cancel it, questions are answered meanwhile, the bar shows rate and ETA, Stop keeps what
was finished.

`streamlit run` with the fake embedder at 0.2 s per call (`tests.app_fakes:slow_ingest`)
and small chunks, so a 17-file folder takes long enough to click around in. Skipped,
with the reason, only where Chromium or Playwright is missing.
"""

from __future__ import annotations

import re

from core.settings import Settings
from index.manifest import read_manifest
from tests.browser_app import (
    ask_in_browser,
    browser_marks,
    chromium_page,
    running_app,
    wait_until_idle,
)
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf
from wiring.root import ingest_documents

pytestmark = browser_marks(600)
CHUNKING = {"chunk_tokens": 40, "chunk_overlap": 8}
FILES = 17
WAIT_MS = 180_000


def open_expander(page, label: str, inside) -> None:
    """Open an expander and wait until `inside` shows; a click landing while the first
    run of the page is still drawing can be undone by it, so it is tried again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_until_idle(page, WAIT_MS)
    for _ in range(5):
        if inside.is_visible():
            return
        page.get_by_text(label, exact=True).click()
        try:
            inside.wait_for(state="visible", timeout=10_000)
        except PlaywrightTimeout:
            continue
    inside.wait_for(state="visible", timeout=WAIT_MS)


# The progress line while chunks are embedded: their count, rate and the time left.
PROGRESS = re.compile(r"chunks embedded \(.+ chunks/s, about .+ left\)")


def test_an_ingest_survives_clicks_answers_go_on_and_stop_keeps_finished_files(tmp_path):
    old, folder = tmp_path / "old", tmp_path / "manuals"
    old.mkdir()
    folder.mkdir()
    text_pdf(old / "handbook.pdf", ["The warranty lasts two years from the date of delivery."])
    for i in range(FILES):
        pages = [f"Manual {i} page {p} about novel{i}y{p} and rivers. " * 12 for p in range(4)]
        text_pdf(folder / f"manual{i:02d}.pdf", pages)
    index = tmp_path / "index"
    ingest_documents(
        [old], Settings(index_dir=index, **CHUNKING), embedder=FakeEmbedder(), parser_processes=0
    )
    env = {
        "RAG_INDEX_DIR": str(index),
        "RAG_DOCUMENTS_DIR": str(tmp_path / "uploads"),
        "RAG_INGEST_ROOTS": str(tmp_path),
        "RAG_MODELS_DIR": str(tmp_path / "models"),
        "RAG_CONVERSATIONS_DIR": str(tmp_path / "conversations"),
        "RAG_RELEVANCE_FLOOR": "0.05",
        "RAG_APP_FACTORY": "tests.app_fakes:slow_ingest",
        "RAG_CHUNK_TOKENS": str(CHUNKING["chunk_tokens"]),
        "RAG_CHUNK_OVERLAP": str(CHUNKING["chunk_overlap"]),
        "RAG_EMBEDDING_BATCH_SIZE": "1",
    }
    with (
        running_app(env, tmp_path / "streamlit.log") as url,
        chromium_page(tmp_path / "profile") as page,
    ):
        page.goto(url)
        box = page.get_by_label("Or the path of a folder (or PDF) on this computer")
        open_expander(page, "Add PDFs", box)
        box.fill(str(folder))
        page.get_by_role("button", name="Add folder").click()
        bar = page.get_by_test_id("stProgress")
        page.get_by_text(PROGRESS).wait_for(timeout=WAIT_MS)
        # A click elsewhere (a slider nudged) reruns the page: the ingest goes on.
        slider = page.get_by_test_id("stSlider").first.get_by_role("slider")
        slider.focus()
        slider.press("ArrowRight")
        page.get_by_text(PROGRESS).wait_for(timeout=WAIT_MS)
        bar.wait_for(timeout=WAIT_MS)
        # The chat is open meanwhile and answers from the index as it is.
        ask_in_browser(page, "How long does the warranty last?", timeout_ms=WAIT_MS)
        page.wait_for_function(
            """() => /(\\d+) of 17 files/.test(document.body.innerText) &&
                     +document.body.innerText.match(/(\\d+) of 17 files/)[1] >= 2""",
            timeout=WAIT_MS,
        )
        page.get_by_role("button", name="Stop adding").click()
        stopped = page.get_by_text(re.compile(r"^Stopped: \d+ files? of 17 finished"))
        stopped.wait_for(timeout=WAIT_MS)
        message = stopped.inner_text()
        text = page.get_by_test_id("stMainBlockContainer").inner_text()
    finished = int(re.search(r"Stopped: (\d+)", message).group(1))
    indexed = {s for s in read_manifest(index).documents if s.startswith("manual")}
    assert 2 <= finished < FILES, message
    assert len(indexed) == finished  # what finished is kept, and said so
    assert "The warranty lasts two years" in text  # answered during the ingest
