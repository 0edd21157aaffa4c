"""The hybrid retriever end to end on small real PDFs, with the fake embedder (fast)."""

from __future__ import annotations

import re

import pytest

from core.settings import Settings
from core.text import STOPWORDS, search_terms
from index import IndexSnapshot
from retrieval.search import Retriever, SearchParams
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents, open_retriever


class TopicEmbedder(FakeEmbedder):
    """The fake embedder over topic words only: like a real model, it puts texts that share
    only "the" and "of" near 0, so the relevance floor means the same thing in these tests."""

    def embed(self, texts):
        topics = [
            " ".join(w for w in re.findall(r"\w+", t.lower()) if w not in STOPWORDS) for t in texts
        ]
        return super().embed(topics)


FILLER = (
    "Plain sentences about the weather, the garden and the kitchen fill this page. "
    "Nothing here names any option or number worth finding. "
)


def _settings(tmp_path, **kw) -> Settings:
    kw.setdefault("relevance_floor", 0.2)
    return Settings(index_dir=tmp_path / "index", chunk_tokens=48, chunk_overlap=8, **kw)


def _ingest(paths, settings) -> None:
    ingest_documents(paths, settings, embedder=TopicEmbedder(dim=1024), parser_processes=0)


@pytest.fixture
def library(tmp_path):
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    pdfs.text_pdf(
        docs / "guide.pdf",
        [
            FILLER + "The option net.retry_timeout sets the retry timeout to 30 seconds.",
            FILLER * 2,
            "Bananas ripen faster next to apples because apples release ethylene gas. " + FILLER,
        ],
    )
    pdfs.text_pdf(
        docs / "sub" / "notes.pdf",
        ["Apples keep for months in a cool cellar. " + FILLER, FILLER * 2],
    )
    settings = _settings(tmp_path)
    _ingest([docs], settings)
    return docs, settings


def _retriever(settings: Settings) -> Retriever:
    return open_retriever(settings, TopicEmbedder(dim=1024))


def test_an_exact_option_name_is_found_first_with_file_and_page(library):
    _, settings = library
    with _retriever(settings) as r:
        found = r.search("which option sets net.retry_timeout", k=3)
    assert found, "nothing found"
    assert (found[0].source, found[0].page_start) == ("guide.pdf", 1)
    assert "net.retry_timeout" in found[0].text
    assert all(0.0 <= p.score <= 1.0 for p in found)


def test_file_filters_select_by_glob_name_and_folder(library):
    _, settings = library
    with _retriever(settings) as r:
        everywhere = {p.source for p in r.search("apples", k=5)}
        assert everywhere == {"guide.pdf", "sub/notes.pdf"}
        for pattern in ("sub/", "notes.pdf", "sub/*.pdf", "*notes*"):
            found = r.search("apples", k=5, files=[pattern])
            assert found and {p.source for p in found} == {"sub/notes.pdf"}, pattern
        assert {p.source for p in r.search("apples", files=["guide.pdf"])} == {"guide.pdf"}
        assert r.search("apples", files=["nothing-like-this*"]) == []
        assert r.matching_sources(["nothing-like-this*"]) == []


def test_a_question_the_documents_do_not_answer_gets_nothing(library):
    _, settings = library
    with _retriever(settings) as r:
        assert r.search("Who won the 2018 FIFA World Cup?") == []
        assert r.search("") == [] and r.search("   ") == []
        # ...while the floor does not hide what is there
        best = r.search("Why do bananas ripen faster?")[0]
        assert best.page_start <= 3 <= best.page_end


def test_the_floor_is_the_setting(library):
    _, settings = library
    query = "bananas ripen ethylene"
    with _retriever(settings) as r:
        best = max(c.relevance for c in r.candidates(query))
    assert 0.0 < best < 1.0
    # The library takes its few values, not the settings.
    embedder = TopicEmbedder(dim=1024)
    snapshot = IndexSnapshot.open(settings.paths.index_dir)
    with Retriever(
        snapshot, embedder, SearchParams(relevance_floor=best + 0.01), owns_index=True
    ) as r:
        assert r.search(query) == []
    snapshot = IndexSnapshot.open(settings.paths.index_dir)
    with Retriever(
        snapshot, embedder, SearchParams(relevance_floor=best - 0.01), owns_index=True
    ) as r:
        assert r.search(query)
        assert len(r.search(query)) <= SearchParams().passages  # no k: the passages setting


def test_copies_of_a_document_do_not_fill_the_results(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    page = "Quartz crystals oscillate at 32768 hertz in wrist watches. " + FILLER
    pdfs.text_pdf(docs / "a.pdf", [page])
    pdfs.text_pdf(docs / "b.pdf", [page])  # the same text under another name
    pdfs.text_pdf(docs / "c.pdf", ["Quartz is a hard mineral made of silica. " + FILLER])
    settings = _settings(tmp_path, relevance_floor=0.05)
    _ingest([docs], settings)
    with _retriever(settings) as r:
        found = r.search("quartz crystals oscillate hertz", k=3)
        texts = [p.text for p in found]
    assert len({p.source for p in found} & {"a.pdf", "b.pdf"}) == 1, texts
    assert any(p.source == "c.pdf" for p in found)


def test_neighbouring_chunks_are_merged_into_one_passage(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    sentences = [
        f"Step {n} of the zebrafish protocol keeps the tank at {20 + n} C." for n in range(7)
    ]
    pdfs.text_pdf(docs / "protocol.pdf", [" ".join(sentences), FILLER * 3])
    settings = _settings(tmp_path, relevance_floor=0.05)
    _ingest([docs], settings)
    with IndexSnapshot.open(settings.paths.index_dir) as snap:
        on_page_1 = [c for c in snap.iter_chunks() if c.page_start == 1]
    assert 2 <= len(on_page_1) <= 3, "the test needs a page cut into two or three chunks"
    with _retriever(settings) as r:
        found = r.search("zebrafish protocol tank step", k=5)
    first = found[0]
    assert first.chunk_id.count("+") == len(on_page_1) - 1, "neighbours were not merged"
    assert [p for p in found if p.page_start == 1] == [first]
    # the overlap the chunker repeats is written once
    text = " ".join(first.text.split())
    assert all(text.count(sentence) == 1 for sentence in sentences)


def test_keyword_search_follows_incremental_ingest(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", ["The codeword is xylophone. " + FILLER])
    pdfs.text_pdf(docs / "b.pdf", ["The other codeword is quokka. " + FILLER])
    settings = _settings(tmp_path)
    _ingest([docs], settings)

    def keyword_sources(word: str) -> set[str]:
        with _retriever(settings) as r:
            hits = r.keyword.search([word], 10)
            return {c.source for c in r.snapshot.chunks_by_ids([h.id for h in hits])}

    assert keyword_sources("xylophone") == {"a.pdf"}
    pdfs.text_pdf(docs / "a.pdf", ["The codeword is now marimba. " + FILLER])
    _ingest([docs], settings)
    assert keyword_sources("xylophone") == set()
    assert keyword_sources("marimba") == {"a.pdf"}
    assert keyword_sources("quokka") == {"b.pdf"}  # untouched document still found
    (docs / "b.pdf").unlink()
    _ingest([docs], settings)
    assert keyword_sources("quokka") == set()


@pytest.mark.parametrize(
    "query",
    ['AND OR NOT "', "NEAR(a b) *", "col:value ^start", "a\"b'c", "-- ;DROP TABLE chunks", "()"],
)
def test_fts_syntax_in_a_question_is_only_text(library, query):
    _, settings = library
    with _retriever(settings) as r:
        r.search(query)  # must not raise
        hits = r.keyword.search(search_terms(f"{query} net.retry_timeout"), 3)
        assert r.snapshot.chunks_by_ids([hits[0].id])[0].page_start == 1


def test_the_same_pdf_from_two_folders_gives_one_source_naming_the_other(tmp_path):
    pages = [
        FILLER + "The option net.retry_timeout sets the retry timeout to 30 seconds. " + FILLER,
        "Set net.retry_timeout in the configuration file to change it for all hosts. " + FILLER,
        FILLER * 2,
    ]
    for folder in ("downloads", "manuals"):
        (tmp_path / folder).mkdir()
        pdfs.text_pdf(tmp_path / folder / "guide.pdf", pages)
    pdfs.text_pdf(tmp_path / "other.pdf", ["The retry timeout of the pump is ten minutes."])
    settings = _settings(tmp_path)
    _ingest([tmp_path / "downloads", tmp_path / "manuals", tmp_path / "other.pdf"], settings)
    with _retriever(settings) as r:
        found = r.search("which option sets net.retry_timeout", k=4)
    texts = [" ".join(p.text.split()) for p in found]
    assert len(found) >= 2 and len(set(texts)) == len(texts)
    guide = [p for p in found if p.source.endswith("guide.pdf")]
    assert len(guide) == 1, [p.source for p in found]
    copy = "manuals/guide.pdf" if guide[0].source.startswith("downloads") else "downloads/guide.pdf"
    assert guide[0].also == (copy,)
