"""Issue 27 finding 4, in the real renderer: links and directives in a PDF stay text.

A PDF's text holds bare URLs, a `www.` name, an e-mail address, a Material icon
shortcode and a colour directive. The scripted model quotes it in its answer, and
the sources show it: in Streamlit's own Markdown renderer (headless Chromium), none
of it may become a link, an icon or coloured text, and all of it must still read
as written. The fast check of the same escaping is tests/app/test_safe_markdown.py.
"""

from __future__ import annotations

from tests.browser_app import (
    ask_in_browser,
    browser_marks,
    chromium_page,
    indexed_app_env,
    running_app,
    wait_until_idle,
)
from tests.pdf_factory import text_pdf

pytestmark = browser_marks(300)

HOSTILE = (
    "The warranty lasts two years at https://evil.example/login and www.evil.example/claim "
    "with :material/home: and :red[coloured words] shown, mail admin@evil.example today."
)
MARKDOWN = '[data-testid="stMarkdownContainer"]'


def test_links_icons_and_colours_from_a_pdf_stay_text_in_the_page(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    text_pdf(docs / "claims.pdf", [HOSTILE])
    env = indexed_app_env(tmp_path, docs, "scripted", RAG_RELEVANCE_FLOOR="0.05")
    with (
        running_app(env, tmp_path / "streamlit.log") as url,
        chromium_page(tmp_path / "profile") as page,
    ):
        page.goto(url)
        ask_in_browser(page, "How long does the warranty last?")
        answer = page.get_by_test_id("stChatMessage").nth(1)
        answer.get_by_text("The warranty lasts", exact=False).first.wait_for(timeout=60_000)
        wait_until_idle(page)
        links = page.locator(f"{MARKDOWN} a").evaluate_all("els => els.map(e => e.href)")
        icons = page.locator(f"{MARKDOWN} [data-testid='stIconMaterial']").count()
        coloured = page.locator(f"{MARKDOWN} .stMarkdownColoredText").all_inner_texts()
        shown = answer.inner_text().replace("\u2060", "")
    assert [u for u in links if not u.startswith(url)] == [], links  # anchors on the page only
    assert links  # ... which are there (headings, citations): the check can see links
    assert icons == 0 and not any("coloured" in t for t in coloured), (icons, coloured)
    for text in ("https://evil.example/login", "www.evil.example/claim", "admin@evil.example"):
        assert text in shown, shown
    assert ":material/home:" in shown and ":red[coloured words]" in shown
