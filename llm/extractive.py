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
import re
from collections import Counter
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from core.types import Passage
from llm.prompt import unbracket_numbers

LABEL = (
    "Quoted from your documents (no language model is loaded, so this is not a generated answer):"
)
MAX_SENTENCE_CHARS = 400
# Not after an initial ("Michael J. Vrhel", "Ph.D.") or "e.g." / "i.e.": those end no sentence.
_SENTENCE_END = re.compile(
    r"(?<=[.!?])(?<![\s.][A-Z]\.)(?<!e\.g\.)(?<!i\.e\.)\s+|\n\s*\n|\n(?=\s*(?:[-*\u2022]|\d+[.)])\s)"
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS_TEXT = """
    a an and are as at be by can could did do does for from had has have how i if in into is
    it its may might must not of on or our shall should so than that the their them then there
    these they this those to was we were what when where which who whom why will with would you
    your about also any all more most much many such only own same very just"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


class SentenceEmbedder(Protocol):
    """What extractive mode needs from an embedder: L2-normalized vectors."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def content_words(text: str) -> list[str]:
    """Lower-cased words that carry meaning, crudely stemmed.

    >>> content_words("What do the Warranties cover?")
    ['warranty', 'cover']
    """
    return [_stem(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1]


def _stem(word: str) -> str:
    """Crude suffix stripping, enough for "covers", "covered" and "covering" to meet.

    >>> [_stem(w) for w in ("warranties", "covered", "introduces", "training", "loss")]
    ['warranty', 'cover', 'introduc', 'train', 'loss']
    """
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        word = word[:-1]
    if len(word) > 5 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) > 4 and word.endswith("ed"):
        word = word[:-2]
    if len(word) > 4 and word.endswith("e"):
        word = word[:-1]
    return word


def split_sentences(text: str) -> list[str]:
    """Sentences of at least three words, long ones shortened.

    >>> split_sentences("By Michael J. Vrhel, Ph.D. Artifex. Use e.g. gs here. Then stop now.")
    ['By Michael J. Vrhel, Ph.D. Artifex.', 'Use e.g. gs here.', 'Then stop now.']
    """
    sentences = []
    for raw in _SENTENCE_END.split(text):
        sentence = " ".join(raw.split())
        if len(sentence.split()) < 3:
            continue
        if len(sentence) > MAX_SENTENCE_CHARS:
            sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0] + " ..."
        sentences.append(sentence)
    return sentences


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
    if embedder is not None:
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
    asked = set(content_words(question))
    words = [set(content_words(s)) for s in sentences]
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
