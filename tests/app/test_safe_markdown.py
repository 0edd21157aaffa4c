"""Untrusted text (PDFs, model output) becomes Markdown that shows it and can do nothing else."""

from __future__ import annotations

import re

import pytest

from app.safe_markdown import (
    UNSUPPORTED_BADGE,
    escape_text,
    highlight,
    model_markdown,
    model_stream,
)

HOSTILE = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "![pixel](http://tracker.example/p.png)",
    "[click](javascript:alert(1))",
    "<http://tracker.example/autolink>",
    "[ref]: http://tracker.example/r.png\n\n![x][ref]",
    "$x^2$ and $$y$$",
    "\\<script>undo the escape</script>",
]


def live_markup(markdown: str) -> list[str]:
    """Unescaped characters that would start HTML, a link/image, or math."""
    return re.findall(r"(?<!\\)(?:\\\\)*([<\[$])", markdown)


@pytest.mark.parametrize("text", HOSTILE)
def test_document_text_has_no_live_markup(text):
    assert live_markup(escape_text(text)) == []
    assert live_markup(highlight(text, "script pixel click")) == []


@pytest.mark.parametrize("text", HOSTILE)
def test_model_output_has_no_live_markup(text):
    assert live_markup(model_markdown(text)) == []
    assert (
        live_markup("".join(model_stream([text[: len(text) // 2], text[len(text) // 2 :]]))) == []
    )


def test_document_text_keeps_no_formatting_at_all():
    shown = escape_text("# Title\n1. item\n    code\n**bold** `x` a_b_c | ~~s~~")
    assert live_markup(shown) == []
    assert not re.search(r"(?<!\\)[#*`_|~]", shown)
    assert "\n    " not in shown  # indentation would start a code block


def test_model_output_keeps_formatting_and_code_but_bolds_citations():
    text = "**Two** years [1][2].\n\n- item\n\n```python\nx = a[1] < 2\n```\nSee `b[0]` [3-4]."
    shown = model_markdown(text)
    # One bold run: "**[1]****[2]**" would show its asterisks (issue 17: "[2]****[3]").
    assert shown.startswith("**Two** years **\\[1\\]\\[2\\]**.")
    assert "```python\nx = a[1] < 2\n```" in shown  # code is literal already: left alone
    assert "`b[0]`" in shown and "**\\[3-4\\]**" in shown


def test_citations_link_to_their_sources_and_unsupported_sentences_are_marked():
    text = "Two years [1][2]. The moon is cheese [unsupported]. Code `a[1]` [3]."
    shown = model_markdown(text, lambda n: f"source-4-{n}")
    assert "[**\\[1\\]**](#source-4-1)[**\\[2\\]**](#source-4-2)" in shown
    assert ":orange[The moon is cheese] :orange-badge[not in the sources]." in shown
    assert "`a[1]`" in shown and "[**\\[3\\]**](#source-4-3)" in shown
    hostile = model_markdown("[x](http://evil) [1]", lambda n: f"s-{n}")
    assert "](http" not in hostile.replace("\\](", "")  # only our own links are made


def test_streamed_pieces_escape_the_same_wherever_they_are_cut():
    text = "a <b> [1] $5\nnext"
    whole = "".join(model_stream([text]))
    for cut in range(len(text)):
        assert "".join(model_stream([text[:cut], text[cut:]])) == whole


def test_highlight_bolds_question_words_only():
    shown = highlight(
        "The Warranties cover models, not modeling.", "Which warranty covers a model?"
    )
    assert shown == "The **Warranties** **cover** **models**\\, not modeling\\."


# Issue 27 finding 4: what Streamlit's Markdown makes live of plain text. The patterns are
# those of Streamlit 1.67's frontend (static/js/StreamlitMarkdown*.js): remark-gfm's
# autolink literals, found in text nodes after escapes are resolved; the emoji shortcode
# test; remark-directive's `:name` (a letter right after the colon); and the icon
# shortcut, which rewrites ":material/" in the raw source. JavaScript's \w is ASCII; the
# previous-character checks are left out, so these find more than the browser would.
_W = "A-Za-z0-9_"
RENDERER_PATTERNS = {
    "autolink": re.compile(rf"(?i)(https?://|www(?=\.))[-.{_W}]+"),
    "email": re.compile(rf"[-.{_W}+]+@[-{_W}]+(\.[-{_W}]+)+"),
    "emoji": re.compile(rf":(?!material/|streamlit:)[{_W}+-][{_W}+-]*:"),
    "directive": re.compile(r":[A-Za-z]"),
}
LIVE_TEXT = [
    "Log in at https://evil.example/login now.",
    "Claim it on www.evil.example/claim today.",
    "![](http://198.51.100.7/track.png) and HTTP://198.51.100.7/track.png",
    "Write to admin@evil.example or mailto:admin@evil.example.",
    "Home :material/home: and :red[coloured text] and :blue-background[x] :smile: :+1:",
    "::: warning\nblock\n:::",
    "See <https://evil.example> and [here](https://evil.example).",
]


def rendered_text(markdown: str) -> list[str]:
    """The text a CommonMark renderer shows (escapes resolved), code left out."""
    from markdown_it import MarkdownIt

    texts = []
    for token in MarkdownIt("commonmark").parse(markdown):
        for child in token.children or []:
            if child.type == "text":
                texts.append(child.content)
    return texts


def live_in_streamlit(markdown: str) -> list[str]:
    """What would be live, besides the orange marks the app adds itself (no test text
    says "orange")."""
    markdown = markdown.replace(UNSUPPORTED_BADGE, "").replace(":orange[", "[")
    found = [m.group(0) for m in re.finditer(":material/", markdown)]  # the raw source
    for text in rendered_text(markdown):
        for pattern in RENDERER_PATTERNS.values():
            found += [m.group(0) for m in pattern.finditer(text)]
    return found


def test_the_renderer_patterns_find_what_they_should():  # the check itself can fail
    for text in LIVE_TEXT[:5]:
        assert live_in_streamlit(text), text
    assert live_in_streamlit(r"https\:\/\/evil\.example")  # escaping alone does not help


@pytest.mark.parametrize("text", LIVE_TEXT)
def test_no_autolink_icon_or_directive_survives_in_documents_or_answers(text):
    from app.conversation import ChatTurn, conversation_markdown
    from core.types import Passage
    from llm.types import Citation

    shown = [
        escape_text(text),
        highlight(text, "evil claim home"),
        highlight(text, "evil", keep_lines=True),
        model_markdown(text),
        model_markdown(text + " [1]", lambda n: f"s{n}"),
        model_markdown(text + " [unsupported]"),
    ]
    for cut in range(len(text) + 1):  # streamed in two pieces cut anywhere, and char by char
        shown.append("".join(model_stream([text[:cut], text[cut:]])))
    shown.append("".join(model_stream(list(text))))
    passage = Passage("evil.pdf", 1, 1, 0.5, text)
    turn = ChatTurn(text, text + " [1]", "generative", (passage,), (Citation(1, passage),))
    shown.append(conversation_markdown([turn]))
    for markdown in shown:
        assert live_in_streamlit(markdown) == [], markdown


def test_inert_text_reads_the_same():
    text = LIVE_TEXT[0] + " " + LIVE_TEXT[4]
    assert " ".join(rendered_text(escape_text(text))).replace("\u2060", "") == text
