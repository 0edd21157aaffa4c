"""Fusing dense and keyword results, and turning ranked chunks into distinct passages.

Pure functions over small frozen records, so every rule is tested in isolation.

Fusion is reciprocal rank fusion (RRF): a chunk earns 1 / (RRF_K + rank) from
each list it appears in, so agreement between the two searches wins and
neither side's raw score scale matters. `RRF_K = 60` is the value of the
original paper (Cormack et al., 2009); it keeps a single first place from
outweighing two good places.

Two refinements, both measured with `python -m evals.retrieval` (docs/decisions.md):

- A chunk only the keyword side returned still has a cosine (computed for it),
  so it takes the dense rank that cosine implies: after every chunk the dense
  side returned, in cosine order. Plain RRF counts it as never found, and a
  French question's best keyword find (man-27), which the English embedding
  model ranks below its 50 candidates, fused 19th.
- Symmetrically, a chunk only the dense side returned takes the keyword rank
  after every chunk the keyword side returned, in dense order. Plain RRF counts
  it as never found there, so a chunk the dense side ranks first but whose words
  are not the question's (a question in the user's words: "How do I stop
  Maxima from printing the result?" against "The $ symbol ... suppresses the
  output") fused behind chunks both sides rank thirtieth. Natural questions
  (evals/answers/data/natural_tune.jsonl) hit@5 0.641 -> 0.692; no rank
  changed on seeds_dev, manuals_tricky, the date sets or the manuals answer set.
- `dense_weight` scales the dense side's share. The search passes
  `OTHER_LANGUAGE_DENSE_WEIGHT` for a question that does not read as English
  (`core.text.reads_as_english`): all-MiniLM-L6-v2 was trained on English
  pairs, and on such a question its ranking is the weaker of the two.

>>> fused = fuse([(1, 0.9), (2, 0.5)], [(2, 0.8), (3, 0.3)], {3: 0.1})
>>> [(c.id, c.dense_rank, c.keyword_rank) for c in fused]
[(2, 2, 1), (1, 1, None), (3, None, 2)]

Chunk 3 ranks on the dense side as third (its cosine, after the dense list),
and chunk 1 on the keyword side as third (after the keyword list): its first
dense place beats chunk 3's second keyword place.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from core.types import Passage
from index import StoredChunk

RRF_K = 60
# The dense side's share for a question that does not read as English (see above);
# 1.0 and 0.25 were measured too (docs/decisions.md).
OTHER_LANGUAGE_DENSE_WEIGHT = 0.5


@dataclass(frozen=True)
class Candidate:
    """One chunk found by either search, with what each side said about it.

    `cosine` is the question-chunk cosine similarity (computed for keyword-only
    finds too); `coverage` is the share of the question's BM25 weight the chunk
    earns (0 when keyword search did not return it); ranks are 1-based.
    """

    id: int
    cosine: float = 0.0
    coverage: float = 0.0
    dense_rank: int | None = None
    keyword_rank: int | None = None
    fused: float = 0.0
    relevance: float = 0.0


def fuse(
    dense: Sequence[tuple[int, float]],
    keyword: Sequence[tuple[int, float]],
    cosine_of: dict[int, float] | None = None,
    dense_weight: float = 1.0,
) -> list[Candidate]:
    """RRF of two best-first lists of (id, score): dense (id, cosine), keyword (id, coverage).

    `cosine_of` supplies the cosine of chunks only the keyword side found; they
    rank on the dense side after the dense list, by that cosine. Ties
    in the fused score are common (ranks 1 and 2 against 2 and 1) and go to the
    higher cosine, then to the lower id (measured better than the keyword side deciding).
    """
    cosine_of = dict(cosine_of or {})
    found: dict[int, Candidate] = {}
    for rank, (chunk, cos) in enumerate(dense, 1):
        found[chunk] = Candidate(chunk, cosine=cos, dense_rank=rank)
        cosine_of[chunk] = cos
    for rank, (chunk, coverage) in enumerate(keyword, 1):
        old = found.get(chunk, Candidate(chunk, cosine=cosine_of.get(chunk, 0.0)))
        found[chunk] = replace(old, coverage=coverage, keyword_rank=rank)
    implied = _implied_dense_ranks(found.values(), len(dense))
    implied_keyword = _implied_keyword_ranks(found.values(), len(keyword)) if keyword else {}
    scored = []
    for c in found.values():
        dense_rank = c.dense_rank or implied[c.id]
        fused = dense_weight / (RRF_K + dense_rank)
        # With keyword search off (or finding nothing) only the dense order counts.
        keyword_rank = c.keyword_rank or implied_keyword.get(c.id)
        if keyword_rank is not None:
            fused += 1.0 / (RRF_K + keyword_rank)
        scored.append(replace(c, fused=fused, relevance=relevance(c.cosine, c.coverage)))
    return sorted(scored, key=lambda c: (-c.fused, -c.cosine, c.id))


def _implied_keyword_ranks(found: Iterable[Candidate], n_keyword: int) -> dict[int, int]:
    """Keyword ranks for the chunks the keyword side did not return: after it, in dense order.

    >>> _implied_keyword_ranks([Candidate(7, 0.2, 0, 3), Candidate(8, 0.3, 0, 2),
    ...                         Candidate(1, 0.9, 0.5, 1, 1)], 1)
    {8: 2, 7: 3}
    """
    missing = sorted(
        (c for c in found if c.keyword_rank is None), key=lambda c: (c.dense_rank or 0, c.id)
    )
    return {c.id: n_keyword + i for i, c in enumerate(missing, 1)}


def _implied_dense_ranks(found: Iterable[Candidate], n_dense: int) -> dict[int, int]:
    """Dense ranks for the chunks the dense side did not return: after it, by cosine.

    >>> _implied_dense_ranks([Candidate(7, 0.2), Candidate(8, 0.3), Candidate(1, 0.9, 0, 1)], 1)
    {8: 2, 7: 3}
    """
    missing = sorted((c for c in found if c.dense_rank is None), key=lambda c: (-c.cosine, c.id))
    return {c.id: n_dense + i for i, c in enumerate(missing, 1)}


def relevance(cosine: float, coverage: float) -> float:
    """How well a chunk matches the question, in [0, 1]; the relevance floor applies to it.

    The mean of the two signals, each on an absolute scale: the cosine
    (all-MiniLM-L6-v2 puts unrelated text near 0.1, answers at 0.3 to 0.8) and
    the keyword coverage (the share of the question's BM25 weight the chunk
    earns, against the theoretical maximum; not normalized per question, so
    it means the same for every question). A chunk needs both, or a lot of one:
    on the dev sets, questions the documents do not answer reach a high cosine
    with some chunk of the same topic (0.52 for an option a manual never
    mentions) but little coverage, since their key terms are missing.

    >>> relevance(0.6, 0.4), relevance(0.1, 0.0), relevance(-0.2, 0.0)
    (0.5, 0.05, 0.0)
    """
    return max(0.0, min(1.0, (cosine + coverage) / 2))


_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def near_duplicate(a: str, b: str, threshold: float = 0.7) -> bool:
    """Same text up to small differences (a PDF indexed twice, a repeated boilerplate page).

    >>> near_duplicate("the cat sat on the mat today", "The cat sat on the mat today!")
    True
    >>> near_duplicate("the cat sat on the mat", "a dog lay under the table")
    False
    """
    sa, sb = _shingles(a), _shingles(b)
    return len(sa & sb) / max(1, len(sa | sb)) >= threshold


def join_overlapping(first: str, second: str, max_overlap: int = 4000) -> str:
    """Concatenate two consecutive chunks, writing the text they share once.

    The chunker starts each chunk with the last sentences of the previous one.

    >>> join_overlapping("One two. Three four.", "Three four. Five six.")
    'One two. Three four. Five six.'
    >>> join_overlapping("One.", "Two.")
    'One.\\nTwo.'
    """
    for size in range(min(len(first), len(second), max_overlap), 0, -1):
        if first.endswith(second[:size]):
            return first + second[size:]
    return f"{first}\n{second}"


@dataclass(frozen=True)
class _Group:
    chunks: tuple[StoredChunk, ...]  # consecutive ordinals of one source, in order
    score: float
    lead: StoredChunk  # the best-ranked chunk: the passage's section is its section

    def touches(self, chunk: StoredChunk) -> bool:
        return chunk.source == self.chunks[0].source and (
            chunk.ordinal == self.chunks[0].ordinal - 1
            or chunk.ordinal == self.chunks[-1].ordinal + 1
        )

    def joined(self, chunk: StoredChunk, *others: _Group) -> _Group:
        chunks = {c.id: c for g in (self, *others) for c in g.chunks} | {chunk.id: chunk}
        ordered = sorted(chunks.values(), key=lambda c: c.ordinal)
        return _Group(tuple(ordered), max(g.score for g in (self, *others)), self.lead)

    def text(self) -> str:
        text = self.chunks[0].text
        for chunk in self.chunks[1:]:
            text = join_overlapping(text, chunk.text)
        return text

    def passage(self, also: tuple[str, ...] = ()) -> Passage:
        first, last = self.chunks[0], self.chunks[-1]
        chunk_id = "+".join(c.chunk_id for c in self.chunks)
        confidences = [c.ocr_confidence for c in self.chunks if c.ocr_confidence is not None]
        return Passage(
            first.source,
            first.page_start,
            last.page_end,
            self.score,
            self.text(),
            chunk_id,
            min(confidences) if confidences else None,
            title=self.lead.title,
            section=self.lead.section,
            also=also,
        )


def distinct_passages(
    ranked: Sequence[tuple[StoredChunk, float]], k: int, max_merge: int = 3
) -> list[Passage]:
    """The first `k` distinct passages of best-first (chunk, score) pairs.

    A chunk next to one already taken (same file, ordinal +-1) is merged into it
    instead of taking a slot, up to `max_merge` chunks per passage: neighbours
    share their overlap and usually the topic; one that bridges two passages
    joins them and frees a slot. Merging goes on through the whole list once k
    passages are taken. A chunk whose text nearly repeats a taken one is
    dropped. Text found in several files (the same PDF indexed from two
    folders) is taken from the best-ranked of them only, so its chunks merge
    as one passage, and the others are named in that passage's `also`. A
    passage keeps the score (and place) of its best chunk.
    """
    keys = [_same_text_key(chunk.text) for chunk, _ in ranked]
    owner = _text_owners(ranked, keys)
    groups: list[_Group] = []
    taken: set[str] = set()  # the text of every chunk in a passage, normalized
    copies: dict[str, list[str]] = {}  # that text -> the other files it is in
    for (chunk, score), key in zip(ranked, keys, strict=True):
        if key in taken or owner[key] != chunk.source:
            copies.setdefault(key, []).append(chunk.source)
            continue
        near = [g for g in groups if g.touches(chunk)]
        if len(near) == 2 and sum(len(g.chunks) for g in near) < max_merge:
            # The chunk bridges two passages: they become one, at the better position.
            first, second = near
            groups[groups.index(first)] = first.joined(chunk, second)
            groups.remove(second)
        elif fits := next((g for g in near if len(g.chunks) < max_merge), None):
            groups[groups.index(fits)] = fits.joined(chunk)
        elif len(groups) < k and not any(_repeats(chunk.text, g) for g in groups):
            groups.append(_Group((chunk,), score, chunk))
        else:
            continue
        taken.add(key)
    return [g.passage(_elsewhere(g, copies)) for g in groups]


def _same_text_key(text: str) -> str:
    return " ".join(text.split()).casefold()


def _text_owners(ranked: Sequence[tuple[StoredChunk, float]], keys: list[str]) -> dict[str, str]:
    """For each text, the file that gives it: of the files holding it, the best-ranked one."""
    first_seen: dict[str, int] = {}
    holders: dict[str, list[str]] = {}
    for position, ((chunk, _), key) in enumerate(zip(ranked, keys, strict=True)):
        first_seen.setdefault(chunk.source, position)
        holders.setdefault(key, []).append(chunk.source)
    return {key: min(files, key=first_seen.__getitem__) for key, files in holders.items()}


def _repeats(text: str, group: _Group) -> bool:
    """The text nearly repeats the passage, or one of the chunks it was made of."""
    if near_duplicate(text, group.text()):
        return True
    return len(group.chunks) > 1 and any(near_duplicate(text, c.text) for c in group.chunks)


def _elsewhere(group: _Group, copies: dict[str, list[str]]) -> tuple[str, ...]:
    """The other files that hold the text of the group's chunks, in the order found."""
    mine = {c.source for c in group.chunks}
    found = (s for c in group.chunks for s in copies.get(_same_text_key(c.text), ()))
    return tuple(dict.fromkeys(s for s in found if s not in mine))
