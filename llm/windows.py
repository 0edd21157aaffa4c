"""Passage windows: the few sentences of a retrieved chunk that bear on the question.

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
"""

from __future__ import annotations

import re
from dataclasses import replace

from core.types import Passage
from llm.extractive import content_words

WINDOW_WORDS = 90
_SENTENCE = re.compile(r"[^\n.!?]*(?:[.!?]+(?=\s|$)|\n|$)")


def passage_window(question: str, passage: Passage, max_words: int = WINDOW_WORDS) -> Passage:
    """`passage` cut to at most about `max_words` words around its best sentence."""
    if len(passage.text.split()) <= max_words:
        return passage
    spans = [m.span() for m in _SENTENCE.finditer(passage.text) if m.group().strip()]
    if not spans:
        return passage
    asked = set(content_words(question))
    sizes = [len(passage.text[a:b].split()) for a, b in spans]
    overlap = [len(asked & set(content_words(passage.text[a:b]))) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (overlap[i], -i))
    low = high = best
    words = sizes[best]
    while True:  # grow forwards first: a fact's sentence is often followed by its detail
        grew = False
        for side in (high + 1, low - 1):
            if 0 <= side < len(spans) and words + sizes[side] <= max_words:
                words += sizes[side]
                low, high = min(low, side), max(high, side)
                grew = True
        if not grew:
            break
    text = passage.text[spans[low][0] : spans[high][1]].strip()
    return replace(passage, text=text) if text else passage
