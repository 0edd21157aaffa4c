"""Questions, the hit rule and the metrics of the retrieval evaluation.

A question file is JSON lines: `id`, `question`, `source` (the PDF's path
relative to the documents folder, or just its file name; null when the
documents do not answer the question) and `evidence` (a phrase printed on the
page that answers it). A returned passage is a *hit* when it comes from that
file and its pages contain the evidence phrase, compared after folding case,
whitespace, quotes, dashes and ligatures. Optional: `page` (the PDF page that
answers, 1-based: only it counts, where the phrase is printed on other pages
too) and `after` (the id of the question asked just before, in the same
conversation: a follow-up, searched the way the chat would search it).

>>> normalize("Evidence\\n  Lower   Bound \\u2014 \\ufb01ne")
'evidence lower bound - fine'
>>> r = [Ranked(answerable=True, first_hit=1, returned=5), Ranked(True, None, 5),
...      Ranked(True, 3, 5), Ranked(False, None, 0), Ranked(False, None, 2)]
>>> m = summarize(r, k=5)
>>> m["hit@1"], m["hit@5"], round(m["mrr"], 3), m["unanswerable_empty"]
(0.333, 0.667, 0.444, 0.5)
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from core.errors import ConfigError

T = TypeVar("T")
_PUNCTUATION = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-"})


def normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).replace("\u00ad", "").translate(_PUNCTUATION)
    return re.sub(r"\s+", " ", text.casefold()).strip()


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    source: str | None
    evidence: str | None
    answer_keys: tuple[str, ...] = ()  # words an answer must hold (seeds_dev has them)
    page: int | None = None  # the answering page; None: every page holding the evidence
    after: str | None = None  # the question before it in the same conversation

    @property
    def answerable(self) -> bool:
        return self.source is not None


def load_questions(path: Path) -> list[Question]:
    return parse_rows(
        path,
        lambda row: Question(*question_fields(row)),
        hint="write one JSON object per line with id, question, source and evidence",
    )


def question_fields(row: dict) -> tuple:
    """A question row's `Question` fields, in order (the answer set's rows add their own)."""
    return (
        str(row["id"]),
        row["question"],
        row.get("source"),
        row.get("evidence"),
        tuple(row.get("answer_keys") or ()),
        None if row.get("page") is None else int(row["page"]),
        row.get("after"),
    )


def parse_rows(path: Path, build: Callable[[dict], T], *, hint: str) -> list[T]:
    """One `build(row)` per JSON line of `path`; a bad line is a ConfigError naming it."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(f"cannot read {path} ({exc})", hint="check the --qa path") from exc
    built = []
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            built.append(build(json.loads(line)))
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(
                f"line {n} of {path} is not a question ({type(exc).__name__}: {exc})",
                hint=hint,
            ) from exc
    return built


def same_file(source: str, wanted: str) -> bool:
    """`wanted` may be the path relative to the documents folder or just its tail."""
    return source == wanted or source.endswith("/" + wanted)


PageText = Callable[[str, int], str | None]


def evidence_pages(q: Question, sources: Iterable[str], page_texts: Sequence[PageText]) -> set:
    """(source, page) pairs whose text contains the evidence, by any of the extractors given.

    Both systems' page texts count, so neither is judged by the other's extractor.
    A phrase that runs across a page break marks both pages. A question that names
    its `page` counts that page only (a command line printed in several places).
    """
    if not q.answerable or not q.evidence:
        return set()
    phrase = normalize(q.evidence)
    found = set()
    for source in (s for s in sources if same_file(s, q.source)):
        for text_of in page_texts:
            page, previous = 1, ""
            while (text := text_of(source, page)) is not None:
                text = normalize(text)
                if phrase in text:
                    found.add((source, page))
                elif previous and phrase not in previous and phrase in f"{previous} {text}":
                    found.update({(source, page - 1), (source, page)})
                previous, page = text, page + 1
    if q.page is not None:
        found = {(source, page) for source, page in found if page == q.page}
    return found


def holds_keys(text: str, keys: Sequence[str]) -> bool | None:
    """Whether a passage holds every answer key (None: the question has none).

    A right answer can sit on a page that the evidence rule does not credit (the
    same fact in another file), so "the first passage holds the answer" is the
    measure a model reading only the first passage cares about.

    >>> holds_keys("GANs, introduced by Ian Goodfellow in 2014", ["Goodfellow", "2014"])
    True
    >>> holds_keys("GANs are generative", ["Goodfellow"]), holds_keys("x", [])
    (False, None)
    """
    if not keys:
        return None
    folded = normalize(text)
    return all(normalize(key) in folded for key in keys)


def first_hit(passages: Sequence[tuple[str, int, int]], pages: set) -> int | None:
    """1-based rank of the first (source, page_start, page_end) that holds an evidence page."""
    for rank, (source, start, end) in enumerate(passages, 1):
        if any((source, p) in pages for p in range(start, end + 1)):
            return rank
    return None


@dataclass(frozen=True)
class Ranked:
    """What one system did with one question."""

    answerable: bool
    first_hit: int | None
    returned: int
    keys_at_1: bool | None = None  # the first passage holds every answer key


def summarize(results: Sequence[Ranked], k: int) -> dict:
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]

    def share(items: Sequence, pred) -> float | None:
        return round(sum(1 for r in items if pred(r)) / len(items), 3) if items else None

    mrr = (
        sum(1 / r.first_hit for r in answerable if r.first_hit and r.first_hit <= k)
        / len(answerable)
        if answerable
        else None
    )
    keyed = [r for r in answerable if r.keys_at_1 is not None]
    return {
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "hit@1": share(answerable, lambda r: r.first_hit == 1),
        f"hit@{k}": share(answerable, lambda r: r.first_hit is not None and r.first_hit <= k),
        "mrr": None if mrr is None else round(mrr, 3),
        "answerable_empty": share(answerable, lambda r: r.returned == 0),
        "unanswerable_empty": share(unanswerable, lambda r: r.returned == 0),
        "answer_keys@1": share(keyed, lambda r: r.keys_at_1),
    }
