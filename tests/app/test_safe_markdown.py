"""Untrusted text (PDFs, model output) becomes Markdown that shows it and can do nothing else."""

from __future__ import annotations

import re

import pytest

from app.safe_markdown import escape_text, highlight, model_markdown, model_stream

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
