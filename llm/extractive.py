"""Answers without a language model: the retrieved sentences that best match the question.

On a fresh machine without a .gguf file the app still answers, by quoting.
The answer says plainly that it is quoted text, not a generated answer, and
each quote carries its [n] citation so sources print the same way.

>>> from core.types import Passage
>>> passages = [Passage("acme.pdf", 4, 4, 0.8, "The warranty covers defects in materials. "
...                     "Payment is due in thirty days."),
...             Passage("acme.pdf", 5, 5, 0.6, "The warranty lasts two years from delivery.")]
>>> print(extractive_answer("How long does the warranty last?", passages))
Quoted from your documents (no language model is loaded, so this is not a generated answer):
<BLANKLINE>
> "The warranty lasts two years from delivery." [2]
> "The warranty covers defects in materials." [1]
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from core.text import content_words, reads_as_english, split_sentences, stopwords_for
from core.types import Passage
from llm.prompt import unbracket_numbers
from llm.protocols import SentenceEmbedder

LABEL = (
    "Quoted from your documents (no language model is loaded, so this is not a generated answer):"
)


def best_sentences(
    question: str,
    passages: Sequence[Passage],
    *,
    embedder: SentenceEmbedder | None = None,
    limit: int = 3,
) -> list[tuple[int, str]]:
    """(passage number, sentence) pairs that match the question best, best first."""
    candidates = [
        (n, sentence)
        for n, passage in enumerate(passages, 1)
        for sentence in split_sentences(passage.text)
    ]
    if not candidates:
        return []
    # The embedding model is English (all-MiniLM-L6-v2 by default): on a question in
    # another language its sentence ranking is the weaker one (man-27 quoted a French
    # heading over the sentence that answers), so shared words decide there.
    if embedder is not None and reads_as_english(question):
        vectors = embedder.embed([question] + [s for _, s in candidates])
        scores = (vectors[1:] @ vectors[0]).tolist()
    else:
        scores = _overlap_scores(question, [s for _, s in candidates])
    # Ties go to the passage the retriever ranked higher.
    ranked = sorted(range(len(candidates)), key=lambda i: (-scores[i], candidates[i][0], i))
    chosen = [candidates[i] for i in ranked if scores[i] > 0][:limit]
    if not chosen:  # nothing matches word for word: the retriever's best passage leads
        chosen = candidates[:1]
    seen, unique = set(), []
    for n, sentence in chosen:
        if sentence not in seen:
            seen.add(sentence)
            unique.append((n, sentence))
    return unique


def _overlap_scores(question: str, sentences: Sequence[str]) -> list[float]:
    """Shared question words, rarer words counting more (IDF over the candidate sentences)."""
    stopwords = stopwords_for(question)
    asked = set(content_words(question, stopwords))
    words = [set(content_words(s, stopwords)) for s in sentences]
    df = Counter(w for ws in words for w in ws if w in asked)
    total = len(sentences)
    return [
        sum(math.log(1 + total / df[w]) for w in ws & asked) / math.sqrt(1 + len(ws))
        for ws in words
    ]


def extractive_answer(
    question: str,
    passages: Sequence[Passage],
    *,
    embedder: SentenceEmbedder | None = None,
    limit: int = 3,
) -> str:
    """The labelled quote block, one cited sentence per line."""
    quotes = best_sentences(question, passages, embedder=embedder, limit=limit)
    lines = [f'> "{unbracket_numbers(sentence)}" [{n}]' for n, sentence in quotes]
    return LABEL + "\n\n" + "\n".join(lines)
