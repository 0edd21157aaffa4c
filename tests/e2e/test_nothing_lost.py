"""Nothing the user does is lost: clicks at the wrong moment, in a real browser.

`streamlit run` with a scripted model that needs 0.4 s per word, so that an
answer is still being written when the test clicks a page toggle, sends a
second question, presses Stop, or reloads the tab. Skipped, with the reason,
only where Chromium or Playwright is missing.
"""

from __future__ import annotations

import pytest

from tests.browser_app import (
    HANDBOOK_PAGES,
    ask_in_browser,
    browser_marks,
    chromium_page,
    indexed_app_env,
    running_app,
)
from tests.pdf_factory import text_pdf

pytestmark = browser_marks(600)

WAIT_MS = 120_000  # two cores shared with other work: generous, but every wait polls the DOM


@pytest.fixture
def app_url(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    text_pdf(docs / "handbook.pdf", HANDBOOK_PAGES)
    env = indexed_app_env(tmp_path, docs, "slow_model", RAG_RELEVANCE_FLOOR="0.05")
    with running_app(env, tmp_path / "streamlit.log") as url:
        yield url


def send(page, question: str) -> None:
    box = page.get_by_test_id("stChatInputTextArea")
    box.wait_for(timeout=WAIT_MS)
    box.fill(question)
    box.press("Enter")


def wait_for_answers(page, n: int) -> None:
    """Until n finished answers (each with its Sources caption) are on the page, none pending."""
    page.wait_for_function(
        """n => {
            const texts = [...document.querySelectorAll('[data-testid="stCaptionContainer"]')]
                .map(e => e.innerText.trim());
            const stops = [...document.querySelectorAll('button')]
                .filter(b => b.innerText.trim() === 'Stop');
            return texts.filter(t => t === 'Sources').length >= n && stops.length === 0;
        }""",
        arg=n,
        timeout=WAIT_MS,
    )


def sidebar_button(page, name: str):
    return page.get_by_test_id("stSidebar").get_by_role("button", name=name, exact=True)


def stop_button(page):
    return page.get_by_role("button", name="Stop", exact=True)


def test_a_toggle_and_a_second_question_while_an_answer_streams_lose_nothing(app_url, tmp_path):
    with chromium_page(tmp_path / "profile") as page:
        page.goto(app_url)
        ask_in_browser(page, "When are the office hours?", timeout_ms=WAIT_MS)
        wait_for_answers(page, 1)
        send(page, "How long does the warranty last?")
        stop_button(page).first.wait_for(timeout=WAIT_MS)  # the answer is being written
        page.get_by_text("Show the page").last.click()  # a rerun while it streams
        send(page, "Are defects repaired for free?")  # and another question meanwhile
        wait_for_answers(page, 3)
        text = page.get_by_test_id("stMainBlockContainer").inner_text()
        with page.expect_download(timeout=WAIT_MS) as download:
            sidebar_button(page, "Download").click()
        exported = download.value.path().read_text()
    for question in ("office hours", "warranty last", "defects repaired"):
        assert question in text, text
        assert question in exported, exported  # the download holds every shown turn
    assert text.index("warranty last") < text.index("defects repaired")
    assert "The warranty lasts two years" in text
    assert "Defects are repaired for free" in text or "warranty lasts" in text


def test_stop_ends_an_answer_visibly_and_a_reload_keeps_the_conversation(app_url, tmp_path):
    with chromium_page(tmp_path / "profile") as page:
        page.goto(app_url)
        ask_in_browser(page, "When are the office hours?", timeout_ms=WAIT_MS)
        wait_for_answers(page, 1)
        page.wait_for_url("**session=*", timeout=WAIT_MS)
        send(page, "How long does the warranty last?")
        stop_button(page).first.click(timeout=WAIT_MS)
        page.get_by_text("Stopped before the answer was finished").wait_for(timeout=WAIT_MS)
        page.reload()
        page.get_by_text("Stopped before the answer was finished").wait_for(timeout=WAIT_MS)
        page.get_by_text("When are the office hours?").wait_for(timeout=WAIT_MS)
        text = page.get_by_test_id("stMainBlockContainer").inner_text()
        sidebar_button(page, "Clear").click()
        page.wait_for_function(
            "() => !document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
            ".innerText.includes('office hours?')",
            timeout=WAIT_MS,
        )
        page.reload()
        page.get_by_test_id("stChatInputTextArea").wait_for(timeout=WAIT_MS)
        page.wait_for_timeout(2000)  # a cleared conversation must not come back
        after = page.get_by_test_id("stMainBlockContainer").inner_text()
    assert "How long does the warranty last?" in text
    assert "office hours?" not in after
    assert list((tmp_path / "conversations").glob("*.json")) == []
