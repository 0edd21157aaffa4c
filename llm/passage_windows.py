r"""Passage windows: the few sentences of a retrieved chunk that bear on the question.

A small model reads best from a short prompt, and a 192-token chunk often
holds one relevant sentence among several others. A window keeps the
best-matching sentence (by the question's content words) and grows around it
while it stays within `max_words`, so the prompt stays short and the fact
stays in it. Page provenance is the chunk's: the window is a span of its text.

>>> from core.types import Passage
>>> p = Passage("a.pdf", 1, 1, 0.9, "Intro text here. The warranty lasts two years. "
...             "Payment is due in thirty days. Other matters follow.")
>>> passage_window("How long is the warranty?", p, max_words=12).text
'The warranty lasts two years. Payment is due in thirty days.'
>>> table = Passage("a.pdf", 2, 2, 0.9, "The scale of models is staggering:\n"
...                 "- Model A: about 7 billion parameters\n- GPT-4: Estimated 1.8 trillion "
...                 "parameters\n- Model C: 405 billion\nparameters, open source")
>>> passage_window("What is the parameter count of GPT-4?", table, max_words=14).text
'- GPT-4: Estimated 1.8 trillion parameters\n- Model C: 405 billion\nparameters, open source'
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

from core.text import content_words, sentence_spans
from core.types import Passage

WINDOW_WORDS = 90
# A document's first lines (its title block: title, author, revision, date) answer questions
# about the document itself; a window from its first page keeps up to this many of them.
TITLE_WORDS = 12
TITLE_LINE_WORDS = 6


def passage_window(question: str, passage: Passage, max_words: int = WINDOW_WORDS) -> Passage:
    """`passage` cut to at most about `max_words` words, starting near its best sentence."""
    if len(passage.text.split()) <= max_words:
        return passage
    spans = sentence_spans(passage.text)
    if not spans:
        return passage
    sizes = [len(passage.text[a:b].split()) for a, b in spans]
    scores = _match_scores(question, [passage.text[a:b] for a, b in spans])
    head = _title_block(passage.text) if passage.page_start == 1 else ""
    # The title block is kept anyway: the window's own words go to the best of the rest.
    rest = [i for i, (a, _) in enumerate(spans) if a >= len(head)] or list(range(len(spans)))
    # Equal matches: the shorter sentence is the more specific one.
    best = max(rest, key=lambda i: (scores[i], -sizes[i], -i))
    low, high = _grow(sizes, best, max_words)
    start, end = spans[low][0], spans[high][1]
    if head and start <= len(head):
        start = 0
    text = passage.text[start:end].strip()
    if head and start > 0:
        text = f"{head.strip()}\n...\n{text}"
    return replace(passage, text=text) if text else passage


def window_sentences(
    text: str, spans: list[tuple[int, int]], sentence: int, max_words: int, before: int = 0
) -> tuple[int, int]:
    """The first and last sentence (indexes into `spans`) of a window of about `max_words`
    words around sentence number `sentence`: up to `before` sentences before it, then onwards,
    then backwards while there is room; all of them when the whole text fits.

    >>> text = "One two three. Four five six. Seven eight nine."
    >>> window_sentences(text, sentence_spans(text), 1, max_words=6)
    (1, 2)
    >>> window_sentences(text, sentence_spans(text), 1, max_words=6, before=1)
    (0, 1)
    """
    if len(text.split()) <= max_words:
        return 0, len(spans) - 1
    sizes = [len(text[a:b].split()) for a, b in spans]
    return _grow(sizes, min(max(sentence, 0), len(spans) - 1), max_words, before)


def _grow(sizes: list[int], best: int, max_words: int, before: int = 0) -> tuple[int, int]:
    """The first and last sentence of the window grown around sentence `best`."""
    low = high = best
    words = sizes[best]
    # Up to `before` sentences of context first: the second ask's best sentence is often the
    # answer's heading or its last line, not its start (docs/natural-questions.md, round four).
    while before > 0 and low > 0 and words + sizes[low - 1] <= max_words:
        low, before = low - 1, before - 1
        words += sizes[low]
    # Forwards first: small models answer from what they read first, and a fact's sentence
    # is more often followed by its detail than preceded by it. Then backwards if room is left.
    while high + 1 < len(sizes) and words + sizes[high + 1] <= max_words:
        high += 1
        words += sizes[high]
    while low > 0 and words + sizes[low - 1] <= max_words:
        low -= 1
        words += sizes[low]
    return low, high


def _match_scores(question: str, sentences: list[str]) -> list[float]:
    """Question words in each sentence, the rarer in the passage the more they count."""
    asked = set(content_words(question))
    found = [asked & set(content_words(s)) for s in sentences]
    df = Counter(w for words in found for w in words)
    total = len(sentences)
    return [round(sum(math.log(1 + total / df[w]) for w in words), 6) for words in found]


def _title_block(text: str) -> str:
    r"""The passage's opening lines if they look like a title block: two or more short lines.

    A chunk that starts mid-page opens with a cut sentence or a paragraph: not kept.

    >>> _title_block("GS Colour\nMichael J. Vrhel\nArtifex Inc, 1305 Grant Ave, Novato CA, USA")
    'GS Colour\nMichael J. Vrhel\n'
    >>> _title_block("Their goal is\nto learn the distribution of the data they are trained on")
    ''
    """
    head, words, lines = "", 0, 0
    for line in text.splitlines(keepends=True):
        size = len(line.split())
        if size > TITLE_LINE_WORDS or words + size > TITLE_WORDS:
            break
        head, words, lines = head + line, words + size, lines + 1
    return head if lines >= 2 else ""
