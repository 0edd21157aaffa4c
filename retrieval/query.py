"""Turning a user's question into keyword-search terms, and file filters into sources.

Terms are cut the way the FTS5 `unicode61` tokenizer cuts text (runs of
letters and digits; `_`, `-` and punctuation separate), so every term we send
is one token for the index. Each term is quoted in the MATCH expression, so
nothing a user types (`AND`, `NEAR`, `*`, `"`, `:`, `^`) is read as FTS5
syntax, and terms are OR-ed: BM25 ranks chunks that match more, and rarer,
terms first.

>>> keyword_terms("What does ELBO stand for?")
['elbo']
>>> keyword_terms("GPT-4's NEAR(\\"x\\") AND caf\\u00e9")
['gpt', '4', 's', 'near', 'x', 'cafe']
>>> match_expression(["elbo", "4"])
'"elbo" OR "4"'
"""

from __future__ import annotations

import fnmatch
import re
import unicodedata
from collections.abc import Iterable, Sequence

_TOKEN = re.compile(r"[^\W_]+")

# Words that carry no topic in a question. Dropping them keeps the keyword side
# from ranking chunks by how often they say "the" or "what", and it spares
# reading their (long) posting lists on large indexes. FTS5 operators are
# lower-cased here, and quoted anyway.
_STOPWORDS_TEXT = """
a about above after again against all also am an and any are as at be because been
before being below between both but by can could did do does doing done down during
each either few for from further get gets got had has have having he her here hers
him his how i if in into is it its itself just me more most my no nor not now of off
on once only or other our ours out over own same she should so some such than that
the their theirs them then there these they this those through to too under until up
upon us very via was we were what when where which while who whom whose why will
with would you your yours stand stands called
"""
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


def fold(text: str) -> str:
    """Lower case without diacritics, as the index folds them ('Café' -> 'cafe')."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def keyword_terms(question: str) -> list[str]:
    """Distinct search terms of a question, in order; stopwords go unless nothing else is left.

    >>> keyword_terms("To be or not to be")
    ['to', 'be', 'or', 'not']
    """
    tokens = list(dict.fromkeys(_TOKEN.findall(fold(question))))
    content = [t for t in tokens if t not in STOPWORDS]
    return content or tokens


def match_expression(terms: Sequence[str]) -> str:
    """An FTS5 MATCH string: each term quoted (a plain token has no quote inside), OR-ed."""
    return " OR ".join(f'"{t}"' for t in terms)


def source_matches(source: str, pattern: str) -> bool:
    """Does a file filter select this indexed source (a path relative to its folder)?

    A pattern is the path itself, or a glob on the whole path; one without `/`
    also matches the file name alone; one ending in `/` selects a folder and
    everything under it. (The exact path always works, even with `[` in it.)

    >>> source_matches("manuals/octave/refcard.pdf", "*.pdf")
    True
    >>> source_matches("manuals/octave/refcard.pdf", "refcard.pdf")
    True
    >>> source_matches("manuals/octave/refcard.pdf", "manuals/")
    True
    >>> source_matches("manuals/octave/refcard.pdf", "octave/*")
    False
    >>> source_matches("scans/report[2023].pdf", "scans/report[2023].pdf")
    True
    """
    if source == pattern:
        return True
    if pattern.endswith("/"):
        return source.startswith(pattern)
    if fnmatch.fnmatchcase(source, pattern):
        return True
    return "/" not in pattern and fnmatch.fnmatchcase(source.rsplit("/", 1)[-1], pattern)


def select_sources(sources: Iterable[str], patterns: Sequence[str]) -> list[str]:
    """The sources that at least one pattern selects, sorted.

    >>> select_sources(["a/x.pdf", "b/y.pdf", "z.pdf"], ["a/", "z*"])
    ['a/x.pdf', 'z.pdf']
    """
    return sorted(s for s in sources if any(source_matches(s, p) for p in patterns))
