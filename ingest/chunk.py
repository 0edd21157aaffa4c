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

What it needs from a tokenizer (`TokenCounter`) and how text is cut at token
offsets live in `embed.tokens`; `embed.embedder` implements the counter with
the embedding model's own tokenizer.

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

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from core.errors import ConfigError, RagError
from core.text import sentence_spans
from core.types import Chunk, PageText
from embed.protocols import TokenCounter

__all__ = ["Chunker", "chunk_pages", "iter_chunks"]


class Structure(Protocol):
    """What a document's structure tells the chunker (`ingest.structure.DocumentStructure`)."""

    title: str

    def on_page(self, page: PageText) -> list[tuple[int, tuple[str, ...]]]:
        """(character offset, section path) where sections begin on the page, in order."""
        ...

    def heading(self, section: tuple[str, ...], n_tokens: int) -> str:
        """The header embedded with a chunk of `n_tokens` under `section` ("" for none)."""
        ...


@dataclass(frozen=True, slots=True)
class _Unit:
    text: str
    separator: str  # what joins it to the unit before: " " inside a line, "\n" at a line break
    page: int
    n_tokens: int
    section: tuple[str, ...] = ()


class Chunker:
    """Packs the pages of one file into chunks, page batch by page batch.

    `feed` returns the chunks completed so far; `finish` flushes the last one.
    """

    def __init__(
        self,
        source: str,
        counter: TokenCounter,
        max_tokens: int,
        overlap_tokens: int,
        structure: Structure | None = None,
    ) -> None:
        """`structure`: gives each chunk its title, section path and header (format 2)."""
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
        self.structure = structure

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
        texts, separators, line_sections = [], [], []
        starts = self.structure.on_page(page) if self.structure else [(0, ())]
        offset, next_start = 0, 1
        for line in page.text.splitlines(keepends=True):
            offset += len(line)
            while next_start < len(starts) and starts[next_start][0] < offset:
                next_start += 1  # a line belongs to the last section begun before its end
            separator = "\n"
            text = line.strip()
            for start, end in sentence_spans(text):
                texts.append(text[start:end])
                separators.append(separator)
                line_sections.append(starts[next_start - 1][1])
                separator = " "
        counts = self.counter.count_tokens(texts) if texts else []
        units = list(zip(texts, separators, counts, line_sections, strict=True))
        if any(count > self._unit_budget for count in counts):
            units = self._cut_long_units(units)
        # A unit of zero tokens (say, only U+FFFD) is invisible to the model: nothing to find.
        return [_Unit(text, sep, page.page, n, sec) for text, sep, n, sec in units if n > 0]

    def _cut_long_units(self, units: list[tuple]) -> list[tuple]:
        """Long units replaced by their pieces, which are counted in one more batched call."""
        cut: list[tuple] = []
        for text, separator, count, section in units:
            if count <= self._unit_budget:
                cut.append((text, separator, count, section))
                continue
            pieces = self.counter.split_to_tokens(text, self._unit_budget)
            cut.extend((p, " " if i else separator, None, section) for i, p in enumerate(pieces))
        new_counts = iter(self.counter.count_tokens([u[0] for u in cut if u[2] is None]))
        return [(t, sep, next(new_counts) if n is None else n, sec) for t, sep, n, sec in cut]

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
                section = _main_section(units)
                chunks.append(self._chunk(units[0].page, units[-1].page, text, count, section))
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
            self._chunk(unit.page, unit.page, piece, count, unit.section)
            for piece, count in zip(pieces, counts, strict=True)
        ]

    def _chunk(
        self, page_start: int, page_end: int, text: str, n_tokens: int, section: tuple[str, ...]
    ) -> Chunk:
        known = self._ocr_confidence
        confidences = [known[p] for p in range(page_start, page_end + 1) if p in known]
        ordinal, self._next_ordinal = self._next_ordinal, self._next_ordinal + 1
        chunk = Chunk(
            self.source,
            ordinal,
            page_start,
            page_end,
            text,
            n_tokens,
            ocr_confidence=min(confidences) if confidences else None,
        )
        if self.structure is None:
            return chunk
        heading = self.structure.heading(section, n_tokens)
        return replace(chunk, title=self.structure.title, section=section, heading=heading)


def _joined(units: Sequence[_Unit]) -> str:
    return units[0].text + "".join(unit.separator + unit.text for unit in units[1:])


def _main_section(units: Sequence[_Unit]) -> tuple[str, ...]:
    """The section holding most of a chunk's tokens (the earlier one on a tie)."""
    tokens: dict[tuple[str, ...], int] = {}
    for unit in units:
        tokens[unit.section] = tokens.get(unit.section, 0) + unit.n_tokens
    return max(tokens, key=tokens.__getitem__)


def iter_chunks(
    pages: Iterable[PageText],
    source: str,
    counter: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
    structure: Structure | None = None,
) -> Iterator[Chunk]:
    """Chunks of a file, yielded as soon as they are complete (memory stays bounded)."""
    chunker = Chunker(source, counter, max_tokens, overlap_tokens, structure)
    for page in pages:
        yield from chunker.feed([page])
    yield from chunker.finish()


def chunk_pages(
    pages: Iterable[PageText],
    source: str,
    counter: TokenCounter,
    max_tokens: int,
    overlap_tokens: int,
    structure: Structure | None = None,
) -> list[Chunk]:
    """All chunks of a file; see the module docstring for how they are made."""
    return list(iter_chunks(pages, source, counter, max_tokens, overlap_tokens, structure))
