"""LangChain adapter: our `Retriever` as a `langchain_core` `BaseRetriever`.

LangChain stays at the edge: this module is the only one in `retrieval` that
imports it. Each passage becomes a `Document` whose metadata carries the
source file, pages and score, so citations survive a LangChain chain. `k` and
`files` set at construction can be changed for one call, as LangChain's standard
retriever tests expect (`langchain_tests.integration_tests.RetrieversIntegrationTests`,
run in tests/retrieval/test_langchain_standard.py).

    from retrieval.langchain_retriever import HybridRetriever
    lc = HybridRetriever(retriever=wiring.root.open_retriever(settings), k=5)
    docs = lc.invoke("What does ELBO stand for?")
    docs[0].metadata  # {'source': '003_....pdf', 'page_start': 4, 'page_end': 4, ...}
    lc.invoke("What does ELBO stand for?", k=1)  # one document, this call only
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.callbacks import (
    AsyncCallbackManagerForRetrieverRun,
    CallbackManagerForRetrieverRun,
)
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict


class HybridRetriever(BaseRetriever):
    """Hybrid dense + keyword search with a relevance floor; may return no documents."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    retriever: Any  # retrieval.search.Retriever, or anything with the same `search`
    k: int = 5
    files: list[str] | None = None

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        files: Sequence[str] | None = None,
    ) -> list[Document]:
        """`k` and `files` given to `invoke` override the retriever's own for this call."""
        chosen = self.files if files is None else list(files)
        passages = self.retriever.search(query, self.k if k is None else k, chosen)
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

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        files: Sequence[str] | None = None,
    ) -> list[Document]:
        # LangChain's default drops the call's arguments; the search runs in a thread.
        return await run_in_executor(
            None,
            self._get_relevant_documents,
            query,
            run_manager=run_manager.get_sync(),
            k=k,
            files=files,
        )
