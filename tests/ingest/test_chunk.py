"""The chunker with the fake tokenizer (one token per word or punctuation mark)."""

from __future__ import annotations

import re
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ConfigError
from core.types import Chunk, PageText
from ingest.chunk import Chunker, chunk_pages, iter_chunks
from tests.fakes import TOKEN, FakeEmbedder


def tokens(text: str) -> list[str]:
    return TOKEN.findall(text)


def filler(page: int, sentences: int) -> str:
    """Distinct short sentences, three per line, each naming its page."""
    lines = []
    for start in range(0, sentences, 3):
        lines.append(" ".join(f"Page{page} fact {i} holds." for i in range(start, start + 3)))
    return "\n".join(lines)


def make_pages(n: int, sentences: int = 12) -> list[PageText]:
    return [PageText(page, filler(page, sentences)) for page in range(1, n + 1)]


def check_invariants(chunks: list[Chunk], max_tokens: int, source: str = "doc.pdf") -> None:
    recount = FakeEmbedder().count_tokens([chunk.text for chunk in chunks])
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
    for chunk, count in zip(chunks, recount, strict=True):
        assert chunk.source == source
        assert chunk.n_tokens == count <= max_tokens
        assert 1 <= chunk.page_start <= chunk.page_end
        assert chunk.text == chunk.text.strip() and chunk.text


def is_subsequence(needle: list[str], haystack: list[str]) -> bool:
    remaining = iter(haystack)
    return all(any(item == candidate for candidate in remaining) for item in needle)


@pytest.mark.parametrize("max_tokens", [12, 17, 23, 30, 41])
def test_sentence_over_a_page_break_stays_in_one_chunk(max_tokens):
    pages = [
        PageText(1, filler(1, 6) + "\nThe treaty was signed in"),
        PageText(2, "Vienna in 1815. " + filler(2, 6)),
    ]
    chunks = chunk_pages(pages, "doc.pdf", FakeEmbedder(), max_tokens, overlap_tokens=6)
    check_invariants(chunks, max_tokens)
    holders = [c for c in chunks if "The treaty was signed in\nVienna in 1815." in c.text]
    assert holders, [c.text for c in chunks]
    assert all((c.page_start, c.page_end) == (1, 2) for c in holders)
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 2


def test_chunks_stay_within_the_budget_and_are_numbered_in_order():
    counter = FakeEmbedder()
    chunks = chunk_pages(make_pages(8), "doc.pdf", counter, max_tokens=40, overlap_tokens=10)
    check_invariants(chunks, 40)
    assert len(chunks) > 8  # the budget forced several chunks per page
    assert max(chunk.n_tokens for chunk in chunks) > 30  # and packing fills them


def test_consecutive_chunks_share_an_overlap_within_its_budget():
    chunks = chunk_pages(make_pages(3), "doc.pdf", FakeEmbedder(), max_tokens=30, overlap_tokens=8)
    assert len(chunks) >= 4
    for before, after in pairwise(chunks):
        first, second = tokens(before.text), tokens(after.text)
        shared = max(k for k in range(len(second) + 1) if first[len(first) - k :] == second[:k])
        assert 1 <= shared <= 8, (before.text, after.text)


def test_no_text_is_lost_or_reordered():
    pages = make_pages(5)
    source_tokens = [t for page in pages for t in tokens(page.text)]
    without_overlap = chunk_pages(pages, "doc.pdf", FakeEmbedder(), 25, overlap_tokens=0)
    assert [t for c in without_overlap for t in tokens(c.text)] == source_tokens
    with_overlap = chunk_pages(pages, "doc.pdf", FakeEmbedder(), 25, overlap_tokens=7)
    assert is_subsequence(source_tokens, [t for c in with_overlap for t in tokens(c.text)])


def test_line_and_sentence_breaks_are_kept_readable():
    pages = [PageText(1, "First line.   Same line?\nSecond line\n\n\nNew paragraph")]
    (chunk,) = chunk_pages(pages, "doc.pdf", FakeEmbedder(), 50, overlap_tokens=5)
    assert chunk.text == "First line. Same line?\nSecond line\nNew paragraph"


def test_a_long_line_without_spaces_is_cut_within_the_budget():
    counter = FakeEmbedder()
    no_spaces = ",".join(f"item{i}" for i in range(500))  # 999 tokens, no whitespace
    pages = [PageText(1, "Intro sentence here."), PageText(2, no_spaces + " tail")]
    chunks = chunk_pages(pages, "doc.pdf", counter, max_tokens=32, overlap_tokens=4)
    check_invariants(chunks, 32)
    assert counter.split_calls >= 1
    assert len(chunks) >= 999 // 32
    assert is_subsequence(tokens(no_spaces), [t for c in chunks for t in tokens(c.text)])


def test_one_huge_token_is_a_single_chunk():
    pages = [PageText(3, "x" * 5000)]  # one "word" = one token for this tokenizer
    (chunk,) = chunk_pages(pages, "doc.pdf", FakeEmbedder(), 16, overlap_tokens=4)
    assert (chunk.page_start, chunk.page_end, chunk.n_tokens) == (3, 3, 1)


def test_empty_pages_produce_nothing_and_keep_page_numbers():
    empty = [PageText(1, ""), PageText(2, "  \n\n \t "), PageText(3, "\n")]
    assert chunk_pages(empty, "doc.pdf", FakeEmbedder(), 16, overlap_tokens=4) == []
    pages = [*empty, PageText(4, "Only this page has words."), PageText(5, "")]
    (chunk,) = chunk_pages(pages, "doc.pdf", FakeEmbedder(), 16, overlap_tokens=4)
    assert (chunk.page_start, chunk.page_end, chunk.text) == (4, 4, "Only this page has words.")


@pytest.mark.parametrize("batch", [1, 2, 5])
def test_streaming_feed_equals_one_shot(batch):
    pages = make_pages(11)
    one_shot = chunk_pages(pages, "doc.pdf", FakeEmbedder(), 35, overlap_tokens=9)
    chunker = Chunker("doc.pdf", FakeEmbedder(), 35, 9)
    streamed = []
    for start in range(0, len(pages), batch):
        streamed.extend(chunker.feed(pages[start : start + batch]))
    streamed.extend(chunker.finish())
    assert streamed == one_shot
    assert list(iter_chunks(pages, "doc.pdf", FakeEmbedder(), 35, 9)) == one_shot


def test_tokens_are_counted_in_batches_not_one_text_at_a_time():
    counter = FakeEmbedder()
    pages = make_pages(20, sentences=30)
    chunks = chunk_pages(pages, "doc.pdf", counter, max_tokens=40, overlap_tokens=8)
    assert len(chunks) > 40
    # One call for a page's units, one to verify its finished chunks, one for the last chunk.
    assert counter.count_calls <= 2 * len(pages) + 1


class NewlinesCostAToken(FakeEmbedder):
    """Not additive: a joined text costs more than its parts, as some tokenizers do."""

    def count_tokens(self, texts):
        counts = super().count_tokens(texts)
        return [n + text.count("\n") for n, text in zip(counts, texts, strict=True)]


def test_a_chunk_over_the_budget_after_joining_is_split_again():
    counter = NewlinesCostAToken()
    pages = [PageText(1, "\n".join(f"Line {i} a b." for i in range(60)))]
    chunks = chunk_pages(pages, "doc.pdf", counter, max_tokens=20, overlap_tokens=5)
    counts = counter.count_tokens([chunk.text for chunk in chunks])
    assert [chunk.n_tokens for chunk in chunks] == counts
    assert max(counts) <= 20
    assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize(("size", "overlap"), [(16, 16), (16, 20), (0, 0), (16, -1)])
def test_overlap_must_be_smaller_than_the_chunk(size, overlap):
    with pytest.raises(ConfigError, match="RAG_CHUNK_OVERLAP"):
        Chunker("doc.pdf", FakeEmbedder(), size, overlap)


# --- properties over arbitrary text -------------------------------------------------------

PIECES = st.sampled_from(["word", "word", "word", ".", ",", "!", "?", "long", "glued"])
SEPARATORS = st.sampled_from([" ", " ", " ", "", "\n", "\n\n", "  \t", ". "])
PAGE_SHAPE = st.lists(st.tuples(PIECES, SEPARATORS), max_size=60)


def render(page: int, shape: list[tuple[str, str]]) -> str:
    """Text of a page whose every word names the page: w3, w3w3w3..., w3-w3-..."""
    word = f"w{page}"
    looks = {"word": word, "long": word * 40, "glued": "-".join([word] * 25)}
    return "".join(looks.get(piece, piece) + separator for piece, separator in shape)


@settings(max_examples=150, deadline=None)
@given(
    shapes=st.lists(PAGE_SHAPE, max_size=8),
    max_tokens=st.integers(3, 40),
    overlap_ratio=st.floats(0, 0.9),
    batch=st.integers(1, 4),
)
def test_chunking_properties_hold_for_any_text(shapes, max_tokens, overlap_ratio, batch):
    overlap = min(max_tokens - 1, int(max_tokens * overlap_ratio))
    pages = [PageText(number, render(number, shape)) for number, shape in enumerate(shapes, 1)]
    chunks = chunk_pages(pages, "doc.pdf", FakeEmbedder(), max_tokens, overlap)
    check_invariants(chunks, max_tokens)

    source_tokens = [t for page in pages for t in tokens(page.text)]
    chunk_tokens = [t for chunk in chunks for t in tokens(chunk.text)]
    assert is_subsequence(source_tokens, chunk_tokens)
    if overlap == 0:
        assert chunk_tokens == source_tokens

    for before, after in pairwise(chunks):
        assert before.page_start <= after.page_start
    for chunk in chunks:
        tagged = [int(m.group(1)) for t in tokens(chunk.text) if (m := re.match(r"w(\d+)", t))]
        assert all(chunk.page_start <= page <= chunk.page_end for page in tagged)
        first, last = tokens(chunk.text)[0], tokens(chunk.text)[-1]
        if first.startswith("w"):
            assert int(re.match(r"w(\d+)", first).group(1)) == chunk.page_start
        if last.startswith("w"):
            assert int(re.match(r"w(\d+)", last).group(1)) == chunk.page_end

    chunker = Chunker("doc.pdf", FakeEmbedder(), max_tokens, overlap)
    streamed = [c for i in range(0, len(pages), batch) for c in chunker.feed(pages[i : i + batch])]
    assert streamed + chunker.finish() == chunks
