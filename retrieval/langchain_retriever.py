"""LangChain adapter: our `Retriever` as a `langchain_core` `BaseRetriever`.

LangChain stays at the edge: this module is the only one in `retrieval` that
imports it. Each passage becomes a `Document` whose metadata carries the
source file, pages and score, so citations survive a LangChain chain.

    from retrieval.langchain_retriever import HybridRetriever
    lc = HybridRetriever(retriever=wiring.root.open_retriever(settings), k=5)
    docs = lc.invoke("What does ELBO stand for?")
    docs[0].metadata  # {'source': '003_....pdf', 'page_start': 4, 'page_end': 4, ...}
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict


class HybridRetriever(BaseRetriever):
    """Hybrid dense + keyword search with a relevance floor; may return no documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # retrieval.search.Retriever, or anything with the same `search`
    k: int = 5
    files: list[str] | None = None

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        passages = self.retriever.search(query, self.k, self.files)
        return [
            Document(
                page_content=p.text,
                metadata={
                    "source": p.source,
                    "page_start": p.page_start,
                    "page_end": p.page_end,
                    "score": p.score,
                    "chunk_id": p.chunk_id,
                },
            )
            for p in passages
        ]
