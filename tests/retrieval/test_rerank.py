"""The second look at the top: each signal, the re-scoring, and its place in the search."""

from __future__ import annotations

import pytest

from core.settings import Settings
from retrieval.rerank import (
    Contender,
    phrase,
    proximity,
    rescore,
    section_match,
    term_weights,
    words,
)
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents, open_retriever

IDF = {"heap": 4.0, "size": 1.0, "runtime": 2.0, "options": 1.0}


def test_proximity_rewards_the_rare_terms_together():
    weights = term_weights(["heap", "size"], IDF)
    together = words("use --heap to set the heap size of the lisp")
    apart = words("the heap grows. " + "other words here " * 6 + "a size")
    assert proximity(together, weights) == 1.0
    assert proximity(apart, weights) == pytest.approx(4.0 / 5.0)
    assert proximity(words("nothing relevant"), weights) == 0.0


def test_phrase_counts_runs_of_question_words_but_not_of_stopwords():
    question = words("How do I set the runtime options?")
    assert phrase(question, words("These runtime options are read first")) == pytest.approx(1 / 3)
    assert phrase(question, words("set the runtime options with -r")) == 1.0
    assert phrase(question, words("how do I cook")) == 0.0  # stopwords alone


def test_section_match_is_the_share_of_question_weight_in_the_header():
    weights = term_weights(["runtime", "options"], IDF)
    assert section_match(words("SBCL › 3.3 Runtime Options"), weights) == 1.0
    assert section_match(words("SBCL › 4 Debugger"), weights) == 0.0
    assert section_match((), {}) == 0.0


def test_rescore_moves_the_chunk_with_the_answer_up_and_keeps_ties_in_order():
    ranked = [
        Contender(
            1,
            0.0325,
            0.5,
            "The heap is large. " + "Other words. " * 6 + "Options vary in size.",
            "",
        ),
        Contender(
            2, 0.0320, 0.5, "--dynamic-space-size sets the heap size.", "3.3 Runtime Options"
        ),
        Contender(3, 0.0300, 0.5, "unrelated words", ""),
    ]
    order = [i for i, _ in rescore("heap size runtime options", ranked, IDF)]
    assert order == [2, 1, 3]
    same = [Contender(1, 0.03, 0.4, "a b"), Contender(2, 0.03, 0.4, "c d")]
    assert [i for i, _ in rescore("zebra", same, {"zebra": 3.0})] == [1, 2]
    assert rescore("anything", [], IDF) == []


def test_a_date_question_moves_the_dated_chunk_above_the_title_page():
    idf = {"primer": 3.0, "peeling": 2.0, "magic": 2.0, "written": 4.0}
    ranked = [
        Contender(1, 0.0330, 0.27, "Peeling the magic: a primer. This primer peels the magic.", ""),
        Contender(2, 0.0290, 0.05, "So ends the primer. Written on February 10, 2025", ""),
    ]
    when = "On what date was the primer 'Peeling the magic' written?"
    assert [i for i, _ in rescore(when, ranked, idf)] == [2, 1]
    # The same chunks for a question that does not ask when: the title page stays first.
    what = "What is the primer 'Peeling the magic' about, as written?"
    assert [i for i, _ in rescore(what, ranked, idf)] == [1, 2]


def _ingest(tmp_path, rerank: bool) -> Settings:
    docs = tmp_path / "docs"
    if not docs.is_dir():
        docs.mkdir()
        filler = "The collector and the compiler share settings in this manual. " * 4
        pdfs.text_pdf(
            docs / "lisp.pdf",
            [
                filler + "\nThe heap grows as needed and its size is a runtime detail.",
                filler + "\n--dynamic-space-size sets the heap size at runtime, in megabytes.",
            ],
        )
    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=40, chunk_overlap=0)
    settings = settings.replace(rerank=rerank)
    if not settings.paths.index_dir.is_dir():
        ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0)
    return settings


def test_rerank_only_reorders_what_the_search_found(tmp_path):
    plain, reranked = _ingest(tmp_path, False), _ingest(tmp_path, True)
    question = "heap size at runtime in megabytes"
    with open_retriever(plain, FakeEmbedder()) as r:
        before = r.search(question, k=5)
    with open_retriever(reranked, FakeEmbedder()) as r:
        after = r.search(question, k=5)
        assert r.search("zebra giraffe okapi", k=5) == []  # the floor still decides
    assert sorted(p.chunk_id for p in before) == sorted(p.chunk_id for p in after)
    assert "megabytes" in after[0].text


def test_the_best_sentence_cosine_lifts_the_chunk_whose_one_sentence_answers():
    # Equal fused places and chunk cosines: only the sentence signal tells them apart.
    topic = Contender(1, 0.03, 0.6, "gri draws plots. gri reads columns.")
    answer = Contender(2, 0.03, 0.6, "other text. gri output is PostScript.", sentence_cosine=0.8)
    assert [c for c, _ in rescore("what format does gri write", [topic, answer], {})] == [2, 1]
    plain = Contender(2, 0.03, 0.6, "other text. gri output is PostScript.")
    assert [c for c, _ in rescore("what format does gri write", [topic, plain], {})] == [1, 2]


def test_best_sentence_cosines_reads_each_sentence_with_the_embedding_model():
    from retrieval.sentences import best_sentence_cosines

    embedder = FakeEmbedder()
    question = "heap size at runtime"
    texts = ["Unrelated words about zebras. The heap size at runtime is set here.", "zebra"]
    whole = embedder.embed([question, texts[0]])
    best = best_sentence_cosines(embedder, question, texts)
    assert len(best) == 2
    # The answering sentence alone matches better than the chunk as a whole.
    assert best[0] > float(whole[1] @ whole[0])
    assert best[1] < best[0]
