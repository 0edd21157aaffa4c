"""The FTS5 keyword index: query terms, the postings budget, and old generations."""

from __future__ import annotations

import sqlite3

import pytest

from core.text import search_terms
from core.types import Chunk, PageText
from index import chunks_db
from index.keyword import KeywordIndex, idf, match_expression


def _db(path, texts: list[str], with_fts: bool = True):
    if with_fts:
        con = chunks_db.open_writable(path)
    else:  # a generation written before keyword search existed
        con = sqlite3.connect(path, isolation_level=None)
        con.executescript(chunks_db.SCHEMA)
        con.execute("BEGIN")
    chunks = [Chunk("a.pdf", i, 1, 1, t, 5) for i, t in enumerate(texts)]
    chunks_db.insert_document(con, chunks, [PageText(1, "p")], "a.pdf")
    con.execute("COMMIT")
    con.close()
    return path


def test_question_words_become_quoted_terms_without_stopwords():
    assert search_terms("How do I set the -dOverrideICC option?") == [
        "set",
        "doverrideicc",
        "option",
    ]
    assert search_terms("Élan vital") == ["elan", "vital"]
    assert match_expression(search_terms('x" OR y')) == '"x" OR "y"'


def test_stems_and_diacritics_match_as_the_index_folds_them(tmp_path):
    index = KeywordIndex.open(_db(tmp_path / "c.sqlite", ["Caching keys in the café", "other"]))
    hits = index.search(search_terms("cache cafe"), 5)
    assert [h.id for h in hits] == [1]
    assert 0 < hits[0].coverage <= 1


def test_over_the_budget_rare_terms_select_and_all_terms_score(tmp_path):
    texts = [f"filler row {i}" for i in range(133)]  # ids 1-133
    texts += ["common rare", "common common filler", "common x", "common y", "common z"]
    texts += ["rare filler words here", "nothing"]  # ids 134-140
    path = _db(tmp_path / "c.sqlite", texts)
    two_step = KeywordIndex.open(path, postings_budget=3)
    plan = two_step.plan(["common", "rare", "absent"])
    assert plan.drivers == ("rare",) and plan.rescored == ("common",) and plan.dropped == ()
    assert plan.missing == ("absent",)
    exact = KeywordIndex.open(path, postings_budget=10_000)
    assert exact.plan(["common", "rare"]).drivers == ("rare", "common")
    full = [h.id for h in exact.search(["common", "rare"], 10)]
    assert full[:2] == [134, 135]  # exact BM25: both terms, then "common" twice
    # Two steps: only chunks with the rare term, in their exact BM25 order, scores included.
    got = two_step.search(["common", "rare"], 10)
    assert [h.id for h in got] == [i for i in full if i in (134, 139)] == [134, 139]
    by_id = {h.id: h.bm25 for h in exact.search(["common", "rare"], 10)}
    assert [round(h.bm25, 6) for h in got] == [round(by_id[i], 6) for i in (134, 139)]
    tight = KeywordIndex.open(path, postings_budget=1)
    assert tight.plan(["filler", "rare"]).dropped == ("filler",)  # beyond 100 budgets


def test_missing_terms_lower_coverage(tmp_path):
    index = KeywordIndex.open(_db(tmp_path / "c.sqlite", ["alpha beta", "gamma", "delta"]))
    full = index.search(["alpha", "beta"], 1)[0].coverage
    half = index.search(["alpha", "beta", "zeta", "omega"], 1)[0].coverage
    assert half < full


def test_idf_matches_fts5():
    assert idf(1000, 10) == pytest.approx(4.5, abs=0.1)
    assert idf(10, 9) == 1e-6


def test_a_generation_without_keyword_index_is_backfilled_on_the_next_write(tmp_path):
    path = _db(tmp_path / "old.sqlite", ["legacy text about zebras"], with_fts=False)
    assert not KeywordIndex.open(path).available
    con = chunks_db.open_writable(path)  # what the writer does with a copy of the old file
    con.execute("COMMIT")
    con.close()
    index = KeywordIndex.open(path)
    assert index.available and [h.id for h in index.search(["zebras"], 3)] == [1]
