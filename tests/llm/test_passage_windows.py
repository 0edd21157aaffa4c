"""Passage windows: which sentences of a long chunk a small model reads."""

from __future__ import annotations

from core.types import Passage
from llm.passage_windows import passage_window

FILLER = " ".join(f"Profiles are handled in step {n} of the color pipeline." for n in range(12))


def test_the_sentence_with_the_rarest_question_words_leads_the_window():
    # Seen on the Ghostscript manual: a long sentence of common words won on the count of
    # question words, and the window ended before the option asked for.
    text = (
        "There are command line options for color control. Command line options are also "
        "device parameters. Command line options can be set at the prompt. To define source "
        "colors of the document, the following command line options set default ICC profiles: "
        f"-sDefaultGrayProfile and -sDefaultRGBProfile. {FILLER} It is possible to have "
        "Ghostscript use these ICC profiles in place of ICC profiles embedded in the document. "
        "This is achieved using -dOverrideICC = true/false."
    )
    passage = Passage("gs.pdf", 6, 6, 0.5, text)
    question = (
        "Which command line option makes Ghostscript ignore ICC profiles embedded in a document?"
    )
    window = passage_window(question, passage, max_words=40)
    assert "-dOverrideICC" in window.text


def test_a_first_page_window_keeps_the_title_block():
    text = (
        "Ghostscript 9.54 Color Management\nMichael J. Vrhel, Ph.D.\nArtifex Software\n"
        "Abstract\nThis document describes the color architecture of Ghostscript. "
        f"{FILLER} The document suits users who want accurate color."
    )
    question = "Who is the author of the Ghostscript color management document?"
    first = passage_window(question, Passage("gs.pdf", 1, 2, 0.6, text), max_words=30)
    assert first.text.startswith("Ghostscript 9.54 Color Management\nMichael J. Vrhel")
    assert "accurate color" in first.text and len(first.text.split()) <= 30 + 12
    later = passage_window(question, Passage("gs.pdf", 3, 3, 0.6, text), max_words=30)
    assert "\n...\n" not in later.text and later.text in text


def test_a_first_page_chunk_that_starts_mid_page_gets_no_title_block():
    # Seen on the seeds: a chunk of page 1 that opens with a cut sentence or one long line.
    for opening in ("Their goal is\n", "What is Generative AI? Peeling the magic behind it\n"):
        text = opening + f"{FILLER} The document suits users who want accurate color."
        window = passage_window(
            "Which users does the document suit?", Passage("a.pdf", 1, 1, 0.6, text), 30
        )
        assert "\n...\n" not in window.text and window.text in text
