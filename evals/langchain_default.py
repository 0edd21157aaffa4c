"""The peers' default pipeline, the one baseline we measure against: LangChain's RAG tutorial.

PyPDFLoader (one document per page) -> RecursiveCharacterTextSplitter(1000, 200)
-> HuggingFaceEmbeddings(all-MiniLM-L6-v2, the same packaged model folder as
ours) -> FAISS.from_documents (exact L2) -> `similarity_search(question, k)`,
all through LangChain's own classes. It has no relevance floor: it always
returns k passages. Used by `evals.retrieval`, `evals.answers` (its retrieval)
and `bench/ingest.py` (its ingest time and what its model saw).
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

from core.types import Passage


def langchain_embeddings(model_path: Path):
    """The tutorial's embeddings: `HuggingFaceEmbeddings` over our packaged model folder, on CPU."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from langchain_community.embeddings import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(model_path), model_kwargs={"device": "cpu"})


class LangChainDefault:
    """The tutorial's vector store over the PDFs under `docs`, its chunk texts and page texts."""

    def __init__(self, docs: Path, model_path: Path) -> None:
        warnings.filterwarnings("ignore", category=DeprecationWarning)
        # pypdf logs every odd font it meets; the tutorial's loader output is not ours to show.
        logging.getLogger("pypdf").setLevel(logging.ERROR)
        from langchain_community.document_loaders import PyPDFLoader
        from langchain_community.vectorstores import FAISS
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.docs = docs.resolve()
        pages = []
        for pdf in sorted(self.docs.rglob("*.pdf")):
            try:
                pages.extend(PyPDFLoader(str(pdf)).load())
            except Exception:  # the tutorial has no error handling; a bad file drops out
                continue
        self._page_text = {
            (self.relative(p.metadata["source"]), p.metadata["page"] + 1): p.page_content
            for p in pages
        }
        splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
        chunks = splitter.split_documents(pages)
        self.store = FAISS.from_documents(chunks, langchain_embeddings(model_path))
        self.chunk_texts = [c.page_content for c in chunks]
        self.pages, self.chunks = len(pages), len(chunks)

    def relative(self, source: str) -> str:
        path = Path(source).resolve()
        return path.relative_to(self.docs).as_posix() if path.is_relative_to(self.docs) else source

    def page_text(self, source: str, page: int) -> str | None:
        return self._page_text.get((source, page))

    @property
    def sources(self) -> set[str]:
        return {source for source, _ in self._page_text}

    def search(self, question: str, k: int) -> list[Passage]:
        """The tutorial's `similarity_search`, as our passages (its page is the PDF page).

        The score is minus the distance FAISS gives (what `similarity_search` ranks by),
        so that a higher score is better, as in ours.
        """
        found = self.store.similarity_search_with_score(question, k=k)
        return [
            Passage(
                self.relative(d.metadata["source"]),
                d.metadata["page"] + 1,
                d.metadata["page"] + 1,
                -float(distance),
                d.page_content,
            )
            for d, distance in found
        ]
