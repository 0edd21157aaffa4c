"""The evaluation harness: the hit rule, the metrics, and a whole run without the model."""

from __future__ import annotations

import json

import pytest

from core.errors import ConfigError
from evals.retrieval.cli import build_parser, evaluate, format_table
from evals.retrieval.metrics import (
    Question,
    Ranked,
    evidence_pages,
    first_hit,
    holds_keys,
    load_questions,
    summarize,
)
from tests import pdf_factory as pdfs
from tests.retrieval.test_search import TopicEmbedder

PAGES = {
    ("a.pdf", 1): "Intro text.",
    ("a.pdf", 2): "The answer is the Evidence\nLower   Bound, also",
    ("a.pdf", 3): "called ELBO by everyone.",
    ("b/a.pdf", 1): "Evidence Lower Bound in another file with the same name.",
}


def _text(source, page):
    return PAGES.get((source, page))


def test_evidence_is_found_across_whitespace_case_and_a_page_break():
    sources = {"a.pdf", "b/a.pdf"}
    q = Question("1", "?", "a.pdf", "evidence lower bound")
    assert evidence_pages(q, sources, [_text]) == {("a.pdf", 2), ("b/a.pdf", 1)}
    spanning = Question("2", "?", "a.pdf", "Bound, also called ELBO")
    assert evidence_pages(spanning, {"a.pdf"}, [_text]) == {("a.pdf", 2), ("a.pdf", 3)}
    assert evidence_pages(Question("3", "?", None, None), sources, [_text]) == set()


def test_a_hit_needs_the_right_file_and_an_evidence_page():
    pages = {("a.pdf", 2)}
    assert first_hit([("a.pdf", 1, 1), ("b.pdf", 2, 2), ("a.pdf", 1, 3)], pages) == 3
    assert first_hit([("a.pdf", 3, 4)], pages) is None


def test_metrics_split_answerable_and_unanswerable():
    results = [
        Ranked(True, 1, 5),
        Ranked(True, 2, 5),
        Ranked(True, None, 0),
        Ranked(False, None, 0),
    ]
    m = summarize(results, k=5)
    assert (m["answerable"], m["unanswerable"]) == (3, 1)
    assert (m["hit@1"], m["hit@5"], m["mrr"]) == (0.333, 0.667, 0.5)
    assert (m["answerable_empty"], m["unanswerable_empty"]) == (0.333, 1.0)
    # a hit below k counts neither in hit@k nor in MRR
    assert summarize([Ranked(True, 7, 10)], k=5)["mrr"] == 0.0


def test_a_broken_question_file_names_the_line(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": 1, "question": "ok?", "source": null}\n{"id": 2}\n')
    with pytest.raises(ConfigError, match="line 2"):
        load_questions(path)


@pytest.mark.slow
def test_a_whole_run_ingests_asks_and_reports(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    docs.mkdir()
    animals = ["zebra", "lion", "tapir", "heron", "otter", "lynx", "bison", "crane"]
    pages = [f"The {a} lives in the {a} house of the zoo." for a in animals]
    pdfs.text_pdf(docs / "zoo.pdf", [*pages, "The okapi is a relative of the giraffe."])
    qa = tmp_path / "qa.jsonl"
    rows = [
        {
            "id": "q1",
            "question": "The okapi is a relative of which animal?",
            "source": "zoo.pdf",
            "evidence": "relative of the giraffe",
            "answer_keys": ["giraffe"],
        },
        {
            "id": "q2",
            "question": "Who won the 2018 FIFA World Cup?",
            "source": None,
            "evidence": None,
        },
    ]
    qa.write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.setattr("wiring.root.load_embedder", lambda s: TopicEmbedder(dim=1024))
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "48")
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "8")
    args = build_parser().parse_args(
        ["--qa", str(qa), "--docs", str(docs), "--no-baseline", "--floor", "0.2", "--previous"]
    )
    report = evaluate(args)
    ours = report["systems"]["ours"]
    assert (ours["hit@1"], ours["hit@5"], ours["mrr"], ours["unanswerable_empty"]) == (
        1.0,
        1.0,
        1.0,
        1.0,
    )
    assert ours["answer_keys@1"] == 1.0  # the first passage holds "giraffe"
    # The previous default (plain chunks, no re-ranking) ran on its own index beside ours.
    previous = report["systems"]["previous_default"]
    assert (previous["hit@1"], previous["unanswerable_empty"]) == (1.0, 1.0)
    assert report["per_question"][0]["previous_rank"] == 1
    assert report["index"]["keyword_search"] and report["evidence_not_found"] == []
    table = format_table(report)
    assert "hit@1" in table and "1.000" in table and "previous_default" in table


def test_answer_keys_are_matched_whole_after_folding():
    assert holds_keys("Written on February 10, 2025", ["february 10", "2025"])
    assert holds_keys("Written in 2024", ["2025"]) is False
    assert holds_keys("anything", ()) is None
    assert (
        summarize([Ranked(True, 1, 5, True), Ranked(True, 2, 5, False)], 5)["answer_keys@1"] == 0.5
    )
    assert summarize([Ranked(True, 1, 5)], 5)["answer_keys@1"] is None


def test_a_question_that_names_its_page_counts_that_page_only():
    sources = {"a.pdf", "b/a.pdf"}
    q = Question("1", "?", "a.pdf", "evidence lower bound", page=1)
    assert evidence_pages(q, sources, [_text]) == {("b/a.pdf", 1)}
    spanning = Question("2", "?", "a.pdf", "Bound, also called ELBO", page=3)
    assert evidence_pages(spanning, {"a.pdf"}, [_text]) == {("a.pdf", 3)}


def test_page_and_after_are_read_from_a_question_row(tmp_path):
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "question": "How do I quit gp?", "source": "t.pdf", "evidence": "q", "page": 4},
        {"id": "b", "question": "And how do I time it?", "source": "u.pdf", "after": "a"},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    first, second = load_questions(path)
    assert (first.page, first.after, second.page, second.after) == (4, None, None, "a")


def test_a_follow_up_is_searched_with_the_subject_of_the_question_before():
    from evals.retrieval.cli import search_query

    first = Question("a", "How do I install PARI under /opt?", "i.pdf", "prefix")
    follow = Question("b", "And where do the man pages go?", "i.pdf", "man", after="a")
    asked = {q.id: q for q in (first, follow)}
    assert search_query(first, asked) == first.question
    query = search_query(follow, asked)
    assert "PARI" in query and query.endswith(follow.question)
