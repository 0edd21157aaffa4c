"""The document list in a real browser: a deep path shown whole, found by a search.

Skipped, with the reason, only where Chromium or Playwright is missing.
"""

from __future__ import annotations

from tests.browser_app import browser_marks, chromium_page, indexed_app_env, running_app
from tests.pdf_factory import text_pdf

pytestmark = browser_marks(300)
WAIT_MS = 120_000
DEEP = "auto-multiple-choice-doc-pdf/usr/share/doc/auto-multiple-choice-doc-pdf"


def test_long_paths_are_readable_and_documents_are_found(tmp_path):
    docs = tmp_path / "docs"
    (docs / DEEP).mkdir(parents=True)
    text_pdf(docs / DEEP / "auto-multiple-choice.en.pdf", ["Scanning answer sheets."] * 3)
    for i in range(8):
        text_pdf(docs / f"manual{i}.pdf", [f"Manual {i} about rivers."])
    env = indexed_app_env(tmp_path, docs, "no_model")
    with (
        running_app(env, tmp_path / "streamlit.log") as url,
        chromium_page(tmp_path / "profile") as page,
    ):
        page.goto(url)
        sidebar = page.get_by_test_id("stSidebar")
        sidebar.get_by_text("auto-multiple-choice.en.pdf", exact=True).wait_for(timeout=WAIT_MS)
        box = sidebar.get_by_label("Find a document")
        box.fill("multiple choice")
        box.press("Enter")
        sidebar.get_by_text("1 of 9 match").wait_for(timeout=WAIT_MS)
        entry = sidebar.get_by_test_id("stMarkdownContainer").filter(
            has_text="auto-multiple-choice.en.pdf"
        )
        shown = entry.inner_text().replace("\u200b", "")
        fits = entry.evaluate("e => e.scrollWidth <= e.clientWidth + 1")
        names = sidebar.get_by_test_id("stMarkdownContainer").all_inner_texts()
    assert DEEP + "/" in shown  # the whole folder, not "auto-multiple-choice-doc-pd…"
    assert fits  # wrapped inside the sidebar, not cut or scrolled
    assert not any(n.startswith("manual") for n in names)
