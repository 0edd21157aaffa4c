"""The LangChain adapter hands our passages over as Documents, citations included."""

from __future__ import annotations

from langchain_core.retrievers import BaseRetriever

from core.types import Passage
from retrieval.langchain_retriever import HybridRetriever


class _Stub:
    def __init__(self, passages):
        self.passages, self.calls = passages, []

    def search(self, query, k, files):
        self.calls.append((query, k, files))
        return self.passages


def test_passages_become_documents_with_source_pages_and_score():
    stub = _Stub([Passage("a.pdf", 3, 4, 0.61, "some text", "c1+c2")])
    lc = HybridRetriever(retriever=stub, k=3, files=["a*"])
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("question?")
    assert stub.calls == [("question?", 3, ["a*"])]
    assert docs[0].page_content == "some text"
    assert docs[0].metadata == {
        "source": "a.pdf",
        "page_start": 3,
        "page_end": 4,
        "score": 0.61,
        "chunk_id": "c1+c2",
    }


def test_nothing_relevant_stays_nothing():
    assert HybridRetriever(retriever=_Stub([])).invoke("unrelated") == []


def test_k_and_files_given_at_call_time_override_the_retrievers_own():
    stub = _Stub([Passage("a.pdf", 1, 1, 0.5, "text")])
    lc = HybridRetriever(retriever=stub, k=5, files=["a*"])
    lc.invoke("q", k=1)
    lc.invoke("q", files=["b.pdf"])
    lc.invoke("q")
    assert stub.calls == [("q", 1, ["a*"]), ("q", 5, ["b.pdf"]), ("q", 5, ["a*"])]
