"""The peers' default ingest, as in LangChain's RAG tutorial: the baseline we measure against.

PyPDFLoader -> RecursiveCharacterTextSplitter(1000, 200) -> HuggingFaceEmbeddings
(all-MiniLM-L6-v2) -> FAISS.from_documents, all through LangChain's own classes.
"""

from __future__ import annotations

import warnings
from pathlib import Path


def langchain_ingest(folder: Path, model_path: Path):
    """Ingest every PDF under `folder` the tutorial way: (vectorstore, pages, chunk texts)."""
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from langchain_community.document_loaders import PyPDFLoader
    from langchain_community.vectorstores import FAISS
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    pages = []
    for pdf in sorted(folder.rglob("*.pdf")):
        try:
            pages.extend(PyPDFLoader(str(pdf)).load())
        except Exception:  # the tutorial has no error handling; a bad file just drops out
            continue
    splitter = RecursiveCharacterTextSplitter(chunk_size=1000, chunk_overlap=200)
    chunks = splitter.split_documents(pages)
    embeddings = langchain_embeddings(model_path)
    store = FAISS.from_documents(chunks, embeddings)
    return store, len(pages), [c.page_content for c in chunks]


def langchain_embeddings(model_path: Path):
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    from langchain_community.embeddings import HuggingFaceEmbeddings

    return HuggingFaceEmbeddings(model_name=str(model_path), model_kwargs={"device": "cpu"})
