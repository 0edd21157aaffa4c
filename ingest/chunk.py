"""Token-bounded, streaming chunking of page texts that keeps page provenance.

How it works, and why:

1. Each page's text is cut into small *units*: the pieces of a line between
   sentence ends. PDF lines wrap mid-sentence, so lines and sentence ends are
   the boundaries the text really has; units are small (about 5 to 30 tokens),
   which makes packing tight and overlap fine-grained. A unit longer than
   `max_tokens - overlap_tokens` (a table row or a line without spaces) is
   cut with `counter.split_to_tokens`, at token boundaries.
2. All units of a page are counted in ONE batched tokenizer call. For BERT
   WordPiece a whitespace-joined text has exactly the sum of its parts' tokens,
   so packing by sums is exact without tokenizing every candidate merge.
3. Units are packed greedily into chunks of at most `max_tokens` tokens. When a
   chunk is full, its last units (up to `overlap_tokens`) start the next one,
   so a passage cut at a chunk border is still whole in one of them. Units are
   capped at `max_tokens - overlap_tokens`, so overlap plus a new unit always fit.
4. Packing ignores page breaks: a sentence that starts at the bottom of page 3
   and ends on page 4 stays searchable in one chunk, which records
   page_start=3 and page_end=4.
5. Every emitted chunk is counted again (one batched call per page). Should a
   tokenizer not be additive (other model families), an over-long chunk is
   split again, so `n_tokens <= max_tokens` is a guarantee, not a hope.

Only the units of the chunk being built are kept between pages, so memory stays
bounded for a 2,000-page document when pages are fed as they are parsed.

This module also states what it needs from a tokenizer (`TokenCounter`) and
how text is cut at token offsets (`split_at_token_boundaries`); `ingest.embed`
implements the counter with the embedding model's own tokenizer.

Why not LangChain's splitters as they are: RecursiveCharacterTextSplitter calls
its length function on every split at every level and again while merging, one
text per call (no batching); its merge adds lengths of pieces, and when no
separator is left it emits a chunk over the limit with a warning; and pages
must be concatenated into one string, which loses page provenance. Its token
splitters (TokenTextSplitter, SentenceTransformersTokenTextSplitter) rebuild
text by decoding token ids, which for the uncased all-MiniLM-L6-v2 lowercases
it, strips accents and turns unknown characters into "[UNK]". The tokenizer's
offsets give exact cuts of the original text in one pass instead.

>>> from core.types import PageText
>>> class Words:  # one token per word
...     def count_tokens(self, texts): return [len(t.split()) for t in texts]
...     def split_to_tokens(self, text, max_tokens): raise NotImplementedError
>>> pages = [PageText(1, "One two three. Four five"), PageText(2, "six. Seven eight.")]
>>> for c in chunk_pages(pages, "a.pdf", Words(), max_tokens=5, overlap_tokens=2):
...     print(c.ordinal, c.page_start, c.page_end, c.n_tokens, repr(c.text))
0 1 1 5 'One two three. Four five'
1 1 2 5 'Four five\\nsix. Seven eight.'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from core.errors import ConfigError, RagError
from core.types import Chunk, PageText

# After ., ! or ? (possibly closed by a quote or bracket) and before more text.
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|(?<=[.!?][\"'”’)\]])\s+")


class TokenCounter(Protocol):
    """Counts and cuts text in the embedding model's tokens (special tokens excluded)."""

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text, all texts in one batched call."""
        ...

    def split_to_tokens(self, text: str, max_tokens: int) -> list[str]:
        """In-order pieces of at most `max_tokens` tokens; only whitespace at cuts is lost."""
        ...


def split_at_token_boundaries(
    text: str,
    spans: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    max_tokens: int,
) -> list[str]:
    """Cut `text` into stripped pieces of at most `max_tokens` of the given tokens.

    `spans` are the (start, end) character offsets of each token in `text`;
    `word_ids` the pre-tokenizer word of each token. Cuts prefer whitespace,
    then word boundaries (e.g. before punctuation), and only as a last resort
    fall between two pieces of one word. Only whitespace at the cuts is lost.

    >>> spans = [(0, 2), (3, 5), (5, 6), (6, 8)]  # "ab", "cd", ",", "ef"
    >>> split_at_token_boundaries("ab cd,ef", spans, [0, 1, 2, 3], max_tokens=3)
    ['ab', 'cd,ef']
    """
    if max_tokens < 1:
        raise ValueError(f"max_tokens must be at least 1, got {max_tokens}")
    pieces: list[str] = []
    piece_char = 0  # where the current piece starts in `text`
    first = 0  # its first token
    while len(spans) - first > max_tokens:
        cut = _best_cut(text, spans, word_ids, first, first + max_tokens, piece_char)
        if cut is None:
            break
        pieces.append(text[piece_char : spans[cut][0]])
        piece_char, first = spans[cut][0], cut
    pieces.append(text[piece_char:])
    return [piece.strip() for piece in pieces if piece.strip()]


def _best_cut(
    text: str,
    spans: Sequence[tuple[int, int]],
    word_ids: Sequence[int | None],
    first: int,
    limit: int,
    piece_char: int,
) -> int | None:
    """Index of the token that starts the next piece, in (first, limit] if at all possible."""
    at_space = at_word = at_token = None
    for k in range(limit, first, -1):
        start, prev_end = spans[k][0], spans[k - 1][1]
        # Tokens sharing characters (byte-level pieces of one character) cannot be cut apart.
        if start < prev_end or start <= piece_char:
            continue
        at_token = at_token or k
        if at_word is None and word_ids[k] != word_ids[k - 1]:
            at_word = k
        if at_space is None and any(ch.isspace() for ch in text[prev_end:start]):
            at_space = k
            break
    # A cut in the first half would make a tiny piece; a word boundary later on is better.
    half = first + max(1, (limit - first) // 2)
    for candidate in (at_space, at_word):
        if candidate is not None and candidate >= half:
            return candidate
    for candidate in (at_space, at_word, at_token):
        if candidate is not None:
            return candidate
    # No character boundary in the window at all: the piece must grow past the budget.
    later = range(limit + 1, len(spans))
    return next((k for k in later if spans[k][0] >= max(spans[k - 1][1], piece_char + 1)), None)


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    separator: str  # what joins it to the unit before: " " inside a line, "\n" at a line break
    page: int
    n_tokens: int


class Chunker:
    """Packs the pages of one file into chunks, page batch by page batch.

    `feed` returns the chunks completed so far; `finish` flushes the last one.
    """

    def __init__(
        self, source: str, counter: TokenCounter, max_tokens: int, overlap_tokens: int
    ) -> None:
        if max_tokens < 1 or not 0 <= overlap_tokens < max_tokens:
            raise ConfigError(
                f"chunking needs 0 <= overlap ({overlap_tokens}) < chunk size ({max_tokens})",
                hint="set RAG_CHUNK_OVERLAP below RAG_CHUNK_TOKENS",
            )
        self.source = source
        self.counter = counter
        self.max_tokens = max_tokens
        self.overlap_tokens = overlap_tokens
        self._unit_budget = max_tokens - overlap_tokens
        self._window: list[_Unit] = []  # units of the chunk being built, overlap first
        self._window_tokens = 0
        self._fresh_units = 0  # units of the window that no emitted chunk holds yet
        self._next_ordinal = 0
        self._ocr_confidence: dict[int, float] = {}  # page -> confidence, for OCR'd pages

    def feed(self, pages: Iterable[PageText]) -> list[Chunk]:
        """Chunk more pages (in order); returns the chunks they completed."""
        chunks: list[Chunk] = []
        for page in pages:
            if page.ocr_confidence is not None:
                self._ocr_confidence[page.page] = page.ocr_confidence
            full_windows: list[list[_Unit]] = []
            for unit in self._units(page):
                if self._window_tokens + unit.n_tokens > self.max_tokens and self._fresh_units:
                    full_windows.append(self._window)
                    self._start_window_after(self._window)
                self._window.append(unit)
                self._window_tokens += unit.n_tokens
                self._fresh_units += 1
            chunks.extend(self._verified(full_windows))
        return chunks

    def finish(self) -> list[Chunk]:
        """The last chunk, if any text is pending; the chunker is empty afterwards."""
        pending = [self._window] if self._fresh_units else []
        self._window, self._window_tokens, self._fresh_units = [], 0, 0
        return self._verified(pending)

    def _start_window_after(self, full: list[_Unit]) -> None:
        """Begin the next window with the longest tail of `full` within the overlap."""
        keep, tokens = 0, 0
        for unit in reversed(full):
            if tokens + unit.n_tokens > self.overlap_tokens:
                break
            keep, tokens = keep + 1, tokens + unit.n_tokens
        self._window = full[len(full) - keep :] if keep else []
        self._window_tokens = tokens
        self._fresh_units = 0

    def _units(self, page: PageText) -> list[_Unit]:
        """The page's units with their token counts (one batched count, two if cuts)."""
        texts, separators = [], []
        for line in page.text.splitlines():
            separator = "\n"
            for sentence in _SENTENCE_BREAK.split(line):
                if sentence.strip():
                    texts.append(sentence.strip())
                    separators.append(separator)
                    separator = " "
        counts = self.counter.count_tokens(texts) if texts else []
        units = list(zip(texts, separators, counts, strict=True))
        if any(count > self._unit_budget for count in counts):
            units = self._cut_long_units(units)
        # A unit of zero tokens (say, only U+FFFD) is invisible to the model: nothing to find.
        return [_Unit(text, sep, page.page, count) for text, sep, count in units if count > 0]

    def _cut_long_units(self, units: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
        """Long units replaced by their pieces, which are counted in one more batched call."""
        cut: list[tuple[str, str, int | None]] = []
        for text, separator, count in units:
            if count <= self._unit_budget:
                cut.append((text, separator, count))
                continue
            pieces = self.counter.split_to_tokens(text, self._unit_budget)
            cut.extend((piece, " " if i else separator, None) for i, piece in enumerate(pieces))
        new_counts = iter(self.counter.count_tokens([text for text, _, n in cut if n is None]))
        return [(text, sep, next(new_counts) if n is None else n) for text, sep, n in cut]

    def _verified(self, windows: Sequence[list[_Unit]]) -> list[Chunk]:
        """Chunks of the windows, each counted again; a window over the limit is split."""
        if not windows:
            return []
        texts = [_joined(units) for units in windows]
        chunks: list[Chunk] = []
        for units, text, count in zip(
            windows, texts, self.counter.count_tokens(texts), strict=True
        ):
            if count <= self.max_tokens:
                chunks.append(self._chunk(units[0].page, units[-1].page, text, count))
            elif len(units) > 1:
                middle = len(units) // 2
                chunks.extend(self._verified([units[:middle], units[middle:]]))
            else:
                chunks.extend(self._split_single_unit(units[0]))
        return chunks

    def _split_single_unit(self, unit: _Unit) -> list[Chunk]:
        pieces = self.counter.split_to_tokens(unit.text, self.max_tokens)
        counts = self.counter.count_tokens(pieces)
        if len(pieces) < 2 or max(counts) > self.max_tokens:
            raise RagError(
                f"the token counter cannot bring {unit.text[:40]!r}... "
                f"(page {unit.page} of {self.source}) under {self.max_tokens} tokens",
                hint="report this with the PDF; meanwhile raise RAG_CHUNK_TOKENS",
            )
        return [
            self._chunk(unit.page, unit.page, piece, count)
            for piece, count in zip(pieces, counts, strict=True)
        ]

    def _chunk(self, page_start: int, page_end: int, text: str, n_tokens: int) -> Chunk:
        known = self._ocr_confidence
        confidences = [known[p] for p in range(page_start, page_end + 1) if p in known]
        chunk = Chunk(
            self.source,
            self._next_ordinal,
            page_start,
            page_end,
            text,
            n_tokens,
            min(confidences) if confidences else None,
        )
        self._next_ordinal += 1
        return chunk


def _joined(units: Sequence[_Unit]) -> str:
    return units[0].text + "".join(unit.separator + unit.text for unit in units[1:])


def iter_chunks(
    pages: Iterable[PageText],
    source: str,
    counter: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
) -> Iterator[Chunk]:
    """Chunks of a file, yielded as soon as they are complete (memory stays bounded)."""
    chunker = Chunker(source, counter, max_tokens, overlap_tokens)
    for page in pages:
        yield from chunker.feed([page])
    yield from chunker.finish()


def chunk_pages(
    pages: Iterable[PageText],
    source: str,
    counter: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
) -> list[Chunk]:
    """All chunks of a file; see the module docstring for how they are made."""
    return list(iter_chunks(pages, source, counter, max_tokens, overlap_tokens))
