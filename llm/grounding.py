"""Sentence attribution: which passage supports each sentence of an answer, checked by us.

Small local models cite at random, cite nothing, or cite a passage that says
something else. So the model's `[n]` markers are not trusted: every sentence
is compared with every passage, by words (the sentence's content words found
in the passage, numbers required to match) and, with an embedder, by meaning
(its best cosine against the passage's sentences). The passage that supports
a sentence best is cited; the model's own marker survives only where its
passage supports the sentence too; a sentence no passage supports is kept but
marked `supported=False`.

>>> from core.types import Passage
>>> passages = [Passage("vae.pdf", 3, 3, 0.8, "ELBO: Evidence Lower Bound, used in training VAEs."),
...             Passage("gan.pdf", 1, 1, 0.5, "GANs were introduced by Ian Goodfellow in 2014.")]
>>> grounder = Attributor(passages)
>>> s = grounder.attribute("ELBO stands for Evidence Lower Bound [2].")
>>> s.text, s.cited, s.supported
('ELBO stands for Evidence Lower Bound.', (1,), True)
>>> grounder.attribute("GANs were introduced in 2016 [2].").supported
False
>>> grounder.attribute("The moon is made of cheese.").render()
'The moon is made of cheese [unsupported].'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from core.text import STOPWORDS, content_words, split_sentences
from core.types import Passage
from llm.prompt import UNSUPPORTED_MARK, cited_numbers, strip_citations
from llm.protocols import SentenceEmbedder

# Thresholds calibrated on the answer evaluation (docs/measurements.md#answers).
LEXICAL_SUPPORT = 0.6  # share of a sentence's content words found in the passage
COMBINED_SUPPORT = 0.55  # mean of that share and the best sentence cosine
MODEL_MARK_SUPPORT = 0.45  # a model's own [n] stays at this lower bar
SECOND_CITATION_MARGIN = 0.05
# A sentence adding names written as code (`speye`, -sOutputICCProfile) that a passage states
# exactly, with every number: that passage supports it at least this much by words, however
# the model phrased the rest ("you can use the ... option followed by the path").
CODE_NAME_SUPPORT = 0.8
# Counts written as words must match like digits: "three" is checked as "3".
_NUMBER_WORDS = {
    w: str(n)
    for n, w in enumerate(["two", "three", "four", "five", "six", "seven", "eight", "nine"], 2)
}
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d")
# What `exact_tokens` skips: list enumerators, contractions ("it's"), abbreviations ("e.g."),
# and chunks with neither a letter, a digit nor a symbol a command could use (a lone dash).
_ENUMERATOR = re.compile(r"^\s*(?:\d+[.)]|[-*\u2022])(?=\s|$)")
_CONTRACTION = re.compile(r"^[^\W\d_]+['\u2019][^\W\d_]+$")
_ABBREVIATION = re.compile(r"^(?:[^\W\d_]\.)+[^\W\d_]?$")
_SYMBOL = re.compile(r"[^\W_]|[#$%&@\\^|~]")
_EDGE = ".,;:!?()[]{}*\"'`\u201c\u201d\u2018\u2019"


@dataclass(frozen=True)
class AnswerSentence:
    """One sentence of an answer, the passages that support it, and whether any does."""

    text: str  # without citation markers or trailing punctuation noise
    cited: tuple[int, ...]  # passage numbers, 1-based
    supported: bool
    score: float = 0.0
    model_cited: tuple[int, ...] = ()

    def render(self) -> str:
        """The sentence as shown: text, punctuation, then [n] markers or the unsupported mark."""
        body = self.text.rstrip()
        end = body[-1] if body and body[-1] in ".!?" else "."
        body = body[:-1].rstrip() if body and body[-1] in ".!?:;," else body
        marks = "".join(f"[{n}]" for n in self.cited) if self.supported else UNSUPPORTED_MARK
        return f"{body} {marks}{end}"

    def to_json(self) -> dict:
        return {"text": self.text, "citations": list(self.cited), "supported": self.supported}


class Attributor:
    """Scores sentences against a fixed list of passages ([1] is passages[0])."""

    def __init__(
        self,
        passages: Sequence[Passage],
        embedder: SentenceEmbedder | None = None,
        question: str = "",
    ) -> None:
        self._passages = tuple(passages)
        self._asked = _words(question)
        self._question = question
        self._embedder = embedder
        self._words = [_words(p.text) for p in self._passages]
        self._tokens = [set(_tokens(p.text)) for p in self._passages]
        self._lower = [p.text.lower() for p in self._passages]
        self._asked_exact = exact_tokens(question)
        # A passage's file name states what it is about ("octave-doc/.../refcard.pdf").
        stated = set(content_words(" ".join(p.source for p in self._passages)))
        self._missing_names = _asked_names(question) - stated.union(*self._words)
        self._owner: list[int] = []
        self._vectors: np.ndarray | None = None

    def attribute(self, raw: str) -> AnswerSentence:
        """The sentence `raw` (as the model wrote it, markers included), attributed."""
        model_cited = tuple(cited_numbers(raw, len(self._passages)))
        text = strip_citations(raw).strip()
        scores = self.scores(text)
        if not scores:
            return AnswerSentence(text, (), False, 0.0, model_cited)
        best = max(range(len(scores)), key=lambda i: (scores[i], -i))
        threshold = COMBINED_SUPPORT if self._embedder is not None else LEXICAL_SUPPORT
        supported = scores[best] >= threshold
        cited: set[int] = set()
        if supported:
            cited.add(best + 1)
            runner = sorted((i for i in range(len(scores)) if i != best), key=lambda i: -scores[i])[
                :1
            ]
            for i in runner:
                if scores[i] >= max(threshold, scores[best] - SECOND_CITATION_MARGIN):
                    cited.add(i + 1)
            cited.update(n for n in model_cited if scores[n - 1] >= MODEL_MARK_SUPPORT)
        return AnswerSentence(text, tuple(sorted(cited)), supported, scores[best], model_cited)

    def scores(self, text: str) -> list[float]:
        """Support of `text` by each passage, in [0, 1]."""
        words = _words(text)
        # Keys, one-digit numbers and symbols ("C-x k", "3", "#") are not content words, but
        # an answer may add nothing else: they count as new content and must match exactly.
        symbols = exact_tokens(text) - self._asked_exact
        if not (words or symbols) or not self._passages:
            return []
        if words & self._missing_names:
            # A name the question asks about ("... with the Lanczos method") that no passage
            # states is a premise the documents do not hold: repeating it is no answer.
            return [0.0] * len(self._passages)
        # What the sentence adds to the question is what needs support: restating the
        # question is not evidence. Numbers and names written as code must match exactly.
        new = (words - self._asked) or (set() if symbols else words)
        names = _code_names(text) - set(_tokens(self._question))
        exact = {t for t in _tokens(text) if _NUMBER.search(t)} | _code_names(text)
        lexical = []
        for have, tokens, body in zip(self._words, self._tokens, self._lower, strict=True):
            stated = sum(_states(body, symbol) for symbol in symbols)
            # Keys and symbols are the news only when the sentence adds no words: "sparseid
            # (n)" must not borrow support from the passage's "(n)".
            share = len(new & have) / len(new) if new else stated / len(symbols)
            if stated < len(symbols) or not all(t in tokens or _states(body, t) for t in exact):
                share *= 0.5  # a number, name or key the passage does not state
            elif names:  # the passage states the names the answer adds, as written: strong
                share = max(share, CODE_NAME_SUPPORT)
            lexical.append(share)
        if self._embedder is None:
            return lexical
        # A sentence adding only keys or numbers ("It is 3.") means something with its question.
        cosines = self._best_cosines(text if new else f"{self._question} {text}")
        return [(lex + cos) / 2 for lex, cos in zip(lexical, cosines, strict=True)]

    def _best_cosines(self, text: str) -> list[float]:
        if self._vectors is None:
            sentences: list[str] = []
            for n, passage in enumerate(self._passages):
                parts = split_sentences(passage.text) or [passage.text]
                sentences.extend(parts)
                self._owner.extend([n] * len(parts))
            self._vectors = self._embedder.embed(sentences)
        query = self._embedder.embed([text])[0]
        sims = self._vectors @ query
        best = [0.0] * len(self._passages)
        for owner, sim in zip(self._owner, sims.tolist(), strict=True):
            best[owner] = max(best[owner], sim)
        return best


def _asked_names(question: str) -> set[str]:
    """The question's names: capitalized words after its first, as content words.

    >>> sorted(_asked_names("Which Octave function uses the Lanczos method? Or ELBO?"))
    ['elbo', 'lanczo', 'octav']
    """
    names = re.findall(r"(?<=\s)[A-Z][\w-]*", question)
    return {w for name in names for w in content_words(name)}


def exact_tokens(text: str) -> set[str]:
    """Lower-cased short tokens that content words leave out: keys, digits, symbols.

    >>> sorted(exact_tokens("1. Press C-x k, or # [2]; it's 3, e.g. not - this."))
    ['#', '3', 'c-x', 'k']
    """
    found = set()
    for chunk in _ENUMERATOR.sub(" ", strip_citations(text)).split():
        chunk = chunk.strip(_EDGE).lower()
        if (
            not chunk
            or chunk in STOPWORDS
            or _CONTRACTION.match(chunk)
            or _ABBREVIATION.match(chunk)
            or not _SYMBOL.search(chunk)
        ):
            continue
        if not content_words(chunk):
            found.add(chunk)
    return found


def _states(body: str, token: str) -> bool:
    """Whether lower-cased `body` holds `token` standing alone ("3" is not in "1.3" or "x3")."""
    pattern = r"(?<![\w-])(?<!\d\.)" + re.escape(token) + r"(?![\w-])(?!\.\d)"
    return re.search(pattern, body) is not None


def _code_names(text: str) -> set[str]:
    """Names the sentence writes as code (`sprand`, -dUseFastColor), lower-cased.

    >>> sorted(_code_names("Use `sprand` or -dUseFastColor, not plain words, or `C-x #`."))
    ['#', 'c-x', 'dusefastcolor', 'sprand']
    """
    quoted = re.findall(r"`([^`]+)`", text)
    options = re.findall(r"(?<![\w-])-{1,2}([A-Za-z][\w-]+)", text)
    names = set()
    for name in quoted + options:
        names.update(t for t in _tokens(name) if len(t) > 1)
    for name in quoted:  # keys and symbols written as code: `#`, `C-x k`
        names.update(exact_tokens(name))
    return names


def _words(text: str) -> set[str]:
    """Content words; counts are numbers, checked as digits (`_tokens`), not as words."""
    return set(content_words(_digits(text)))


def _digits(text: str) -> str:
    """
    >>> _digits("Three to five pages, not someone")
    '3 to 5 pages, not someone'
    """
    return _NUMBER_WORD.sub(lambda m: _NUMBER_WORDS[m.group(0).lower()], text)


def _tokens(text: str) -> list[str]:
    """
    >>> _tokens("Three options, 1.66 and -dUseFastColor")
    ['3', 'options', '1.66', 'and', 'dusefastcolor']
    """
    return re.findall(r"[^\W_]+(?:[.,][0-9]+)*", _digits(text).lower())
