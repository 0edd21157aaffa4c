"""The best sentence's cosine: a chunk read sentence by sentence against the question.

A chunk's one vector averages its ~190 tokens. A question in the user's own words
("What file format does gri produce?") often matches one sentence of the chunk
that answers it ("Gri output is in the PostScript page description language")
far better than that chunk's average, while the chunks that fused above it match
on the topic throughout. The re-ranker (`retrieval.rerank`) adds the best
sentence's cosine as a signal; this module computes it for the few chunks it
re-reads, with the loaded embedding model, in one batch.

Measured in docs/natural-questions.md ("Round two"); the cost is one embedding
batch of the re-ranked chunks' sentences per question.

>>> import numpy as np
>>> class Letters:  # a fake embedder: one axis per letter a, b, c
...     def embed(self, texts):
...         v = np.array([[t.count("a"), t.count("b"), t.count("c")] for t in texts], float)
...         return v / np.linalg.norm(v, axis=1, keepdims=True)
>>> best_sentence_cosines(Letters(), "aaa", ["bbb bbb b. aaa aaa a.", "ccc ccc ccc."])
[1.0, 0.0]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from core.text import split_sentences
from embed.embedder import Embedder
from retrieval.threads import single_threaded


def best_sentence_cosines(embedder: Embedder, question: str, texts: Sequence[str]) -> list[float]:
    """For each text, the highest cosine between the question and one of its sentences.

    A text without a sentence of three words or more counts as one sentence.
    """
    if not texts:
        return []
    sentences = [split_sentences(text) or [text] for text in texts]
    flat = [s for group in sentences for s in group]
    with single_threaded():
        vectors = np.asarray(embedder.embed([question, *flat]), dtype=np.float32)
    scores = vectors[1:] @ vectors[0]
    best, start = [], 0
    for group in sentences:
        best.append(round(float(scores[start : start + len(group)].max()), 6))
        start += len(group)
    return best
