"""Fusion order, relevance, merging and de-duplication: the pure rules, one at a time."""

from __future__ import annotations

import pytest

from index import StoredChunk
from retrieval.fusion import RRF_K, distinct_passages, fuse, join_overlapping, relevance


def _chunk(id_: int, source: str = "a.pdf", ordinal: int = 0, text: str = "", page: int = 1):
    return StoredChunk(source, ordinal, page, page, text or f"text {id_}", 5, id=id_)


def _rows(passage, ranked) -> list[int]:
    """The row ids of the chunks a passage was made of (its chunk_id joins their hashes)."""
    by_hash = {chunk.chunk_id: chunk.id for chunk, _ in ranked}
    return [by_hash[h] for h in passage.chunk_id.split("+")]


def test_rrf_rewards_agreement_then_rank():
    dense = [(1, 0.9), (2, 0.8), (3, 0.7), (5, 0.6), (6, 0.5)]
    keyword = [(3, 0.6), (4, 0.5), (7, 0.4), (8, 0.3), (9, 0.2)]
    fused = fuse(dense, keyword, {4: 0.2, 7: 0.1, 8: 0.1, 9: 0.1})
    assert [c.id for c in fused][:4] == [3, 1, 4, 2]
    by_id = {c.id: c for c in fused}
    assert by_id[3].fused == 1 / (RRF_K + 3) + 1 / (RRF_K + 1)
    assert (by_id[3].dense_rank, by_id[3].keyword_rank) == (3, 1)
    assert by_id[4].cosine == 0.2 and by_id[4].dense_rank is None
    # Not returned by the dense side: ranked there after its five finds.
    assert by_id[4].fused == 1 / (RRF_K + 6) + 1 / (RRF_K + 2)
    assert by_id[1].coverage == 0.0 and by_id[1].keyword_rank is None


def test_dense_only_finds_take_keyword_ranks_after_the_keyword_list():
    # The dense side's first find, missed by keyword search (a question in the user's
    # words), no longer falls behind every chunk both sides found far down.
    dense = [(i, 0.9 - i / 100) for i in range(1, 51)]
    keyword = [(i, 0.5) for i in range(50, 1, -1)]  # chunk 1 missing; 50 .. 2 reversed
    fused = fuse(dense, keyword)
    by_id = {c.id: c for c in fused}
    assert by_id[1].fused == 1 / (RRF_K + 1) + 1 / (RRF_K + 50)
    assert fused[0].id == 1  # before: 1 / 61 alone, behind chunks ranked 26th on both sides


def test_keyword_only_finds_take_dense_ranks_in_cosine_order():
    dense = [(i, 0.9 - i / 100) for i in range(1, 51)]
    keyword = [(100, 0.5), (101, 0.4)]
    fused = {c.id: c for c in fuse(dense, keyword, {100: 0.1, 101: 0.3})}
    assert fused[101].fused == 1 / (RRF_K + 51) + 1 / (RRF_K + 2)
    assert fused[100].fused == 1 / (RRF_K + 52) + 1 / (RRF_K + 1)


def test_dense_weight_scales_the_dense_side_only():
    dense = [(1, 0.9), (2, 0.8)]
    keyword = [(2, 0.6), (3, 0.5)]
    full = {c.id: c.fused for c in fuse(dense, keyword, {3: 0.1})}
    half = {c.id: c.fused for c in fuse(dense, keyword, {3: 0.1}, dense_weight=0.5)}
    # Chunk 1's keyword share (its implied rank 3, after the two keyword finds) stays.
    assert half[1] - 1 / (RRF_K + 3) == (full[1] - 1 / (RRF_K + 3)) / 2
    assert half[2] == 0.5 / (RRF_K + 2) + 1 / (RRF_K + 1)


def test_equal_fused_scores_go_to_the_higher_cosine():
    # 1 is first for dense, 2 first for keywords: the same RRF score
    fused = fuse([(1, 0.30), (2, 0.25)], [(2, 0.90), (1, 0.10)])
    assert fused[0].fused == fused[1].fused
    assert [c.id for c in fused] == [1, 2]
    assert fused[1].relevance > fused[0].relevance  # not decided by relevance


def test_relevance_averages_both_signals_clipped_to_unit_interval():
    assert relevance(0.42, 0.1) == pytest.approx(0.26)
    assert relevance(0.5, 0.0) == relevance(0.0, 0.5) == 0.25
    assert relevance(-0.3, 0.0) == 0.0
    assert relevance(1.0, 1.0) == 1.0


def test_adjacent_chunks_merge_and_keep_the_best_score_and_position():
    ranked = [
        (_chunk(10, ordinal=4, text="A b. C d."), 0.8),
        (_chunk(20, source="b.pdf", ordinal=0), 0.7),
        (_chunk(11, ordinal=5, text="C d. E f."), 0.6),
        (_chunk(30, source="c.pdf", ordinal=0), 0.5),
    ]
    passages = distinct_passages(ranked, k=3)
    assert [p.source for p in passages] == ["a.pdf", "b.pdf", "c.pdf"]
    assert passages[0].text == "A b. C d. E f."
    assert passages[0].score == 0.8 and _rows(passages[0], ranked) == [10, 11]


def test_a_chunk_bridging_two_passages_joins_them():
    ranked = [
        (_chunk(1, ordinal=0, text="one"), 0.9),
        (_chunk(3, ordinal=2, text="three"), 0.8),
        (_chunk(2, ordinal=1, text="two"), 0.7),
        (_chunk(9, source="z.pdf"), 0.6),
    ]
    passages = distinct_passages(ranked, k=2)
    assert [_rows(p, ranked) for p in passages] == [[1, 2, 3], [9]]
    assert passages[0].text == "one\ntwo\nthree"


def test_merging_stops_at_max_merge():
    ranked = [(_chunk(i, ordinal=i, text=f"t{i}"), 1 - i / 10) for i in range(5)]
    passages = distinct_passages(ranked, k=5, max_merge=2)
    assert [_rows(p, ranked) for p in passages] == [[0, 1], [2, 3], [4]]


def test_chunks_of_other_pages_or_files_do_not_merge():
    ranked = [
        (_chunk(1, "a.pdf", 3), 0.9),
        (_chunk(2, "b.pdf", 4), 0.8),  # same neighbour ordinal, another file
        (_chunk(3, "a.pdf", 5), 0.7),  # same file, not adjacent
    ]
    assert len(distinct_passages(ranked, k=5)) == 3


def test_near_duplicate_text_takes_no_slot():
    text = "The retry timeout defaults to thirty seconds for every connection."
    ranked = [
        (_chunk(1, "a.pdf", text=text), 0.9),
        (_chunk(2, "copy-of-a.pdf", text=text + " "), 0.9),
        (_chunk(3, "b.pdf", text="Something else entirely, about tides."), 0.4),
    ]
    assert [p.source for p in distinct_passages(ranked, k=2)] == ["a.pdf", "b.pdf"]


@pytest.mark.parametrize("order", [[0, 1, 2, 3], [0, 3, 2, 1], [1, 0, 3, 2]])
def test_a_pdf_indexed_from_two_folders_fills_one_slot_and_names_the_copy(order):
    """Merging used to rebuild the copy's passage next to the original (issue 23)."""
    texts = [
        "The retry timeout defaults to thirty seconds for every connection made.",
        "Set RETRY_TIMEOUT in the configuration file to change it for all hosts.",
    ]
    chunks = [
        _chunk(1, "a/manual.pdf", 4, texts[0]),
        _chunk(2, "b/manual.pdf", 4, texts[0]),
        _chunk(3, "a/manual.pdf", 5, texts[1]),
        _chunk(4, "b/manual.pdf", 5, texts[1]),
    ]
    ranked = [(chunks[i], 0.9 - n / 10) for n, i in enumerate(order)]
    ranked.append((_chunk(9, "c.pdf", text="Tides follow the moon around the earth."), 0.3))
    passages = distinct_passages(ranked, k=3)
    assert len(passages) == 2 and passages[1].source == "c.pdf"
    first, copy = sorted(["a/manual.pdf", "b/manual.pdf"], key=lambda s: s != ranked[0][0].source)
    assert (passages[0].source, passages[0].also) == (first, (copy,))
    assert texts[0] in passages[0].text and texts[1] in passages[0].text
    assert passages[1].also == ()


def test_join_overlapping_writes_the_shared_tail_once():
    assert join_overlapping("a b c d", "c d e f") == "a b c d e f"
    assert join_overlapping("abc", "xyz") == "abc\nxyz"
