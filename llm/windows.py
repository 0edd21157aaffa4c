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

from dataclasses import replace

from core.text import content_words, sentence_spans
from core.types import Passage

WINDOW_WORDS = 90


def passage_window(question: str, passage: Passage, max_words: int = WINDOW_WORDS) -> Passage:
    """`passage` cut to at most about `max_words` words, starting near its best sentence."""
    if len(passage.text.split()) <= max_words:
        return passage
    spans = sentence_spans(passage.text)
    if not spans:
        return passage
    asked = set(content_words(question))
    sizes = [len(passage.text[a:b].split()) for a, b in spans]
    overlap = [len(asked & set(content_words(passage.text[a:b]))) for a, b in spans]
    best = max(range(len(spans)), key=lambda i: (overlap[i], -i))
    low = high = best
    words = sizes[best]
    # Forwards first: small models answer from what they read first, and a fact's sentence
    # is more often followed by its detail than preceded by it. Then backwards if room is left.
    while high + 1 < len(spans) and words + sizes[high + 1] <= max_words:
        high += 1
        words += sizes[high]
    while low > 0 and words + sizes[low - 1] <= max_words:
        low -= 1
        words += sizes[low]
    text = passage.text[spans[low][0] : spans[high][1]].strip()
    return replace(passage, text=text) if text else passage
