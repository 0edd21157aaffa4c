"""LangChain's own standard retriever suite, run against our adapter over a real index.

`RetrieversIntegrationTests` (langchain-tests) checks that `k` works at construction
and at call time (`invoke(q, k=1)`), and that `invoke` and `ainvoke` return Documents.
The index is real (FAISS + SQLite, written by the ingest pipeline); the embedder is
the fast fake, as the adapter is what is under test.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path
from typing import Any

from langchain_tests.integration_tests import RetrieversIntegrationTests

from core.settings import Settings
from retrieval.langchain_retriever import HybridRetriever
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf
from wiring.root import ingest_documents, open_retriever

TOPICS = ["warranty", "payment", "delivery", "termination", "liability", "support"]


@functools.cache
def live_retriever() -> Any:
    """A real index of six contracts, each saying something about every topic (once)."""
    root = Path(tempfile.mkdtemp(prefix="lc-standard-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    docs = root / "docs"
    docs.mkdir()
    for i, topic in enumerate(TOPICS):
        pages = [f"Contract {i} sets the {t} terms for the {topic} clause." for t in TOPICS]
        text_pdf(docs / f"contract{i}.pdf", pages)
    settings = Settings(
        index_dir=root / "index", relevance_floor=0.0, chunk_tokens=24, chunk_overlap=4
    )
    embedder = FakeEmbedder()
    ingest_documents([docs], settings, embedder=embedder, parser_processes=0)
    retriever = open_retriever(settings, embedder)
    atexit.register(retriever.close)
    return retriever


class TestHybridRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[HybridRetriever]:
        return HybridRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        return {"retriever": live_retriever(), "k": 5}

    @property
    def retriever_query_example(self) -> str:
        return "What are the warranty terms of the contract?"


def test_the_suite_is_all_there():
    """The five standard tests (a release that adds one is noticed here)."""
    names = {n for n in dir(TestHybridRetrieverStandard) if n.startswith("test_")}
    assert names == {
        "test_no_overrides_DO_NOT_OVERRIDE",
        "test_k_constructor_param",
        "test_invoke_with_k_kwarg",
        "test_invoke_returns_documents",
        "test_ainvoke_returns_documents",
    }
