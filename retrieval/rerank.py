"""A second look at the top: re-score the fused best few chunks with cheap exact signals.

Fusion ranks by agreement of two searches that each read a chunk as a whole:
a cosine of one vector per chunk, and BM25 over its bag of words. Neither
sees *where* the question's words are. On manuals the right page is usually in
the top five but not first, so the top `RERANK_DEPTH` fused chunks are read
once more, in a millisecond or two, for:

- **proximity**: the share of the question's idf weight (rare terms count
  most) found together within a window of `WINDOW` words: an option and the
  words that describe it sit side by side in the answer, apart elsewhere;
- **phrase**: the longest run of the question's words (at least one of them
  not a stopword) that the chunk repeats verbatim ("runtime options");
- **section**: the share of the question's idf weight in the chunk's header
  (document title and section path, chunk format 2): the answer often sits
  under a section named like the question ("Installing on Windows").

- **date**: for a question that asks when (`retrieval.answer_type`), whether
  the chunk holds a full date. Its other words often name the document, which
  the title page matches best; the answer is the dated line.

- **sentence**: the question's best cosine with one sentence of the chunk
  (`retrieval.sentences`): a question in the user's words matches the sentence
  that answers it, not the chunk's average.

- **cosine**: the question-chunk cosine itself. RRF keeps only ranks, so a
  chunk the dense side ranks first with a wide margin but the keyword side
  misses (its words are not the question's) loses to chunks both sides rank
  tenth; the cosine gives that margin back.

The new score is the fused score, scaled so the best is 1, plus the weighted
signals; chunks
below the depth keep their order after the re-scored ones. Relevance (and so
the floor) is not changed: re-ranking only reorders.

What was tried and not kept, and how the weights were measured on the question sets:
docs/decisions.md ("Re-ranking: signals tried and weights chosen").

>>> ranked = [Contender(1, 0.032, 0.5, "the heap: see runtime, and options of size"),
...           Contender(2, 0.031, 0.5, "runtime options: --heap sets the heap size")]
>>> idf = {"heap": 3.0, "size": 1.0, "runtime": 2.0, "options": 1.0}
>>> [chunk for chunk, _ in rescore("heap size runtime options", ranked, idf)]
[2, 1]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from core.text import STOPWORDS, WORD, fold, search_terms, stem, stopwords_for
from retrieval.answer_type import asks_for_date, holds_date

RERANK_DEPTH = 10
WINDOW = 12
PROXIMITY_WEIGHT = 0.2
PHRASE_WEIGHT = 0.1
SECTION_WEIGHT = 0.1
COSINE_WEIGHT = 0.5
DATE_WEIGHT = 0.5
# The best sentence's cosine (`retrieval.sentences`): a paraphrased question matches the one
# sentence that answers it better than it matches that chunk as a whole.
SENTENCE_WEIGHT = 0.5


@dataclass(frozen=True)
class Contender:
    """One of the fused top chunks, as the re-ranker reads it."""

    id: int
    fused: float  # its reciprocal-rank-fusion score
    cosine: float  # the question-chunk cosine
    text: str
    heading: str = ""  # "title › section › subsection" (chunk format 2)
    sentence_cosine: float = 0.0  # the question's best cosine with one of its sentences


def words(text: str) -> list[str]:
    """Folded, stemmed words of a text, as the signals compare them."""
    return [stem(t) for t in WORD.findall(fold(text))]


def proximity(chunk: Sequence[str], weights: Mapping[str, float], window: int = WINDOW) -> float:
    """Most question weight found within `window` consecutive words, over all the weight.

    >>> proximity("a b x c d y".split(), {"x": 1.0, "y": 1.0}, window=4)
    1.0
    >>> proximity("x a b c d e f y".split(), {"x": 1.0, "y": 1.0}, window=4)
    0.5
    """
    total = sum(weights.values())
    if not total:
        return 0.0
    positions = [(i, w) for i, w in enumerate(chunk) if w in weights]
    best, start = 0.0, 0
    for end in range(len(positions)):
        while positions[end][0] - positions[start][0] >= window:
            start += 1
        found = {w for _, w in positions[start : end + 1]}
        best = max(best, sum(weights[w] for w in found))
    return best / total


def phrase(
    question: Sequence[str],
    chunk: Sequence[str],
    longest: int = 4,
    stopwords: frozenset[str] = STOPWORDS,
) -> float:
    """The longest run of the question's words that the chunk holds too, in [0, 1].

    Runs of stopwords alone do not count; two words score 1/3, four or more 1.

    >>> phrase("set the runtime options".split(), "the runtime options are".split())
    0.6666666666666666
    >>> phrase("what is the".split(), "what is the time".split())
    0.0
    """
    text = " " + " ".join(chunk) + " "
    best = 1
    for size in range(2, min(longest, len(question)) + 1):
        for i in range(len(question) - size + 1):
            gram = question[i : i + size]
            if all(w in stopwords for w in gram):
                continue
            if f" {' '.join(gram)} " in text:
                best = size
                break
        if best < size:
            break
    return (best - 1) / (longest - 1)


def section_match(heading: Sequence[str], weights: Mapping[str, float]) -> float:
    """The share of the question's weight that the chunk's header holds."""
    total = sum(weights.values())
    present = set(heading)
    return sum(w for t, w in weights.items() if t in present) / total if total else 0.0


def term_weights(terms: Sequence[str], idf: Mapping[str, float]) -> dict[str, float]:
    """Stemmed question terms with their idf (terms the index does not know weigh nothing)."""
    weights: dict[str, float] = {}
    for term in terms:
        key = stem(term)
        weights[key] = max(weights.get(key, 0.0), idf.get(term, 0.0))
    return {t: w for t, w in weights.items() if w > 0}


def rescore(
    question: str,
    ranked: Sequence[Contender],
    idf: Mapping[str, float],
) -> list[tuple[int, float]]:
    """(id, new score) best first, for the fused top chunks, best first."""
    if not ranked:
        return []
    weights = term_weights(search_terms(question), idf)
    question_words = words(question)
    # The question's language decides which runs are stopwords alone; read it once, unstemmed.
    stopwords = stopwords_for(question)
    top = max(c.fused for c in ranked) or 1.0
    date_weight = DATE_WEIGHT if asks_for_date(question) else 0.0
    scored = []
    for c in ranked:
        chunk = words(c.text)
        score = c.fused / top + COSINE_WEIGHT * c.cosine + SENTENCE_WEIGHT * c.sentence_cosine
        score += PROXIMITY_WEIGHT * proximity(chunk, weights)
        score += PHRASE_WEIGHT * phrase(question_words, chunk, stopwords=stopwords)
        score += SECTION_WEIGHT * section_match(words(c.heading), weights)
        if date_weight and holds_date(c.text):
            score += date_weight
        scored.append((c.id, score))
    # Stable: equal scores keep the fused order.
    return sorted(scored, key=lambda item: -item[1])
