"""Where a passage's words are on its PDF pages: rectangles to highlight, in PDF points.

A passage is text after clean-up (`ingest.clean`): ligatures were unfolded, words
hyphenated at a line end were joined, repeated headers and footers were removed,
whitespace was rewritten, and a chunk may run from one page onto the next. So
its text is not searched for as written. Both sides are reduced to their
letters and digits (NFKC-folded, case-folded): "ﬁ" is "fi", "exam-⏎ple" is
"example", and spacing and punctuation no longer matter. The passage's letters
are then found in the pages' letters in order, as long runs: a run starts from
a 12-letter seed found near where the last run ended, and grows while letters
agree. Letters the page does not have (a removed header sits in the page, not
in the passage; a changed character) are stepped over. Each matched letter
knows the pdfium character it came from, and pdfium knows that character's
box; boxes on one line are merged into one rectangle.

`coverage` is the share of the passage's letters found: 1.0 on every chunk of
the benchmark (bench/highlight.py); low coverage means the page no longer holds
the passage (the document changed).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

SEED = 12  # letters a run must share before it counts (shorter seeds match by chance)
MAX_GAP = 2000  # letters a later run may skip on the page (removed headers, figure labels)
MAX_TRIES = 32  # occurrences of one seed compared


@dataclass(frozen=True)
class Rect:
    """A rectangle in PDF points, origin bottom-left, as pdfium reports character boxes."""

    left: float
    bottom: float
    right: float
    top: float


@dataclass(frozen=True)
class PageLetters:
    """A page's letters and digits, folded, each with the pdfium character index it came from."""

    page: int  # 1-based
    letters: str
    chars: tuple[int, ...]  # chars[i]: pdfium index of letters[i]


@dataclass(frozen=True)
class Marks:
    """The highlight of one passage: rectangles per page, and how much of it was found."""

    rects: dict[int, tuple[Rect, ...]]  # page -> rectangles
    found: int
    total: int
    by_page: dict[int, int] = field(default_factory=dict)  # page -> letters found there

    @property
    def main_page(self) -> int | None:
        """The page holding most of the passage (where to open a passage over pages)."""
        return max(self.by_page, key=lambda p: (self.by_page[p], -p)) if self.by_page else None

    @property
    def coverage(self) -> float:
        return self.found / self.total if self.total else 0.0


def fold(text: str) -> list[tuple[str, int]]:
    """(letter, position in `text`) for every letter or digit of `text`, folded.

    >>> "".join(c for c, _ in fold("The ﬁrst Exam-\\nple, 2 × 3"))
    'thefirstexample23'
    """
    out: list[tuple[str, int]] = []
    for i, ch in enumerate(text):
        if ch.isascii():
            if ch.isalnum():
                out.append((ch.lower(), i))
            continue
        for part in unicodedata.normalize("NFKC", ch).casefold():
            if part.isalnum():
                out.append((part, i))
    return out


def page_letters(page: int, chars: Sequence[str]) -> PageLetters:
    """A page's letters from its characters in pdfium order (`chars[i]` is character i)."""
    letters: list[str] = []
    index: list[int] = []
    for i, ch in enumerate(chars):
        for letter, _ in fold(ch):
            letters.append(letter)
            index.append(i)
    return PageLetters(page, "".join(letters), tuple(index))


def match_letters(passage: str, pages: str) -> list[tuple[int, int]]:
    """Matched letter positions of `pages` for the letters of `passage`, in order.

    >>> match_letters("thewarrantylastsoneyear", "pageheaderthewarrantylasts9oneyear")
    [(10, 26), (27, 34)]
    """
    runs: list[tuple[int, int]] = []
    i = j = 0
    n = len(passage)
    while i < n:
        seed = passage[i : i + SEED]
        if len(seed) < min(SEED, 4):  # a tail too short to place with confidence
            break
        limit = j + MAX_GAP if runs else len(pages)  # the first run may start anywhere
        pos, length = _best_occurrence(passage, i, pages, j, limit, seed)
        if pos < 0:
            i += 1  # a letter the page does not have here: step over it
            continue
        if runs and runs[-1][1] == pos:
            runs[-1] = (runs[-1][0], pos + length)
        else:
            runs.append((pos, pos + length))
        i += length
        j = pos + length
    return runs


def _best_occurrence(
    passage: str, i: int, pages: str, start: int, limit: int, seed: str
) -> tuple[int, int]:
    """Where on the pages the passage's letters from `i` on agree longest (a seed such as
    "synopsisdbht" can occur several times on a page), and for how many letters."""
    best, best_length = -1, 0
    pos = pages.find(seed, start)
    tries = 0
    while 0 <= pos <= limit and tries < MAX_TRIES:
        length = _agree(passage, i, pages, pos)
        if length > best_length:
            best, best_length = pos, length
        if i + length >= len(passage):
            break  # the rest of the passage: nothing can agree longer
        pos = pages.find(seed, pos + 1)
        tries += 1
    return best, best_length


def _agree(passage: str, i: int, pages: str, pos: int) -> int:
    length = 0
    n, m = len(passage), len(pages)
    while i + length < n and pos + length < m and passage[i + length] == pages[pos + length]:
        length += 1
    return length


BoxLookup = Callable[[int, int], Rect]  # (page, pdfium char index) -> its box


def mark_passage(passage_text: str, pages: Sequence[PageLetters], boxes: BoxLookup) -> Marks:
    """Rectangles for a passage over its pages (in page order, as the chunk runs)."""
    wanted = "".join(c for c, _ in fold(passage_text))
    joined = "".join(p.letters for p in pages)
    owner: list[tuple[int, int]] = []  # joined position -> (page, pdfium char index)
    for p in pages:
        owner.extend((p.page, c) for c in p.chars)
    runs = match_letters(wanted, joined)
    chars_by_page: dict[int, list[int]] = {}
    found = 0
    by_page: dict[int, int] = {}
    for start, end in runs:
        found += end - start
        for k in range(start, end):
            page, char = owner[k]
            by_page[page] = by_page.get(page, 0) + 1
            chars = chars_by_page.setdefault(page, [])
            if not chars or chars[-1] != char:
                chars.append(char)
    rects = {
        page: tuple(line_rects([boxes(page, c) for c in chars]))
        for page, chars in chars_by_page.items()
    }
    return Marks(rects, found, len(wanted), by_page)


def line_rects(boxes: Sequence[Rect]) -> list[Rect]:
    """Character boxes merged into one rectangle per run of characters on the same line.

    >>> line_rects([Rect(0, 0, 5, 10), Rect(5, 0, 9, 10), Rect(0, 20, 4, 30)])
    [Rect(left=0, bottom=0, right=9, top=10), Rect(left=0, bottom=20, right=4, top=30)]
    """
    out: list[Rect] = []
    for box in boxes:
        if box.right <= box.left or box.top <= box.bottom:
            continue  # generated characters (line breaks) have no box
        if out and _same_line(out[-1], box):
            last = out[-1]
            out[-1] = Rect(
                min(last.left, box.left),
                min(last.bottom, box.bottom),
                max(last.right, box.right),
                max(last.top, box.top),
            )
        else:
            out.append(box)
    return out


def _same_line(a: Rect, b: Rect) -> bool:
    overlap = min(a.top, b.top) - max(a.bottom, b.bottom)
    height = min(a.top - a.bottom, b.top - b.bottom)
    # Left to right on a line, or a small step back (kerning); a new column starts far left.
    return overlap > 0.5 * height and b.left >= a.left - 2 * height
