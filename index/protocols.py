"""What the rest of the program sees of an index: one Protocol per role.

Ingest writes through `IndexWriting`; retrieval and the app read through
`IndexReader` (and its `KeywordSearch`). They speak of chunk records
(`core.types.Chunk` in, `StoredChunk` out), float32 vectors, int64 chunk ids
and source paths, never of SQLite or FAISS, so another engine (a distributed
vector store, say) can stand behind them. `IndexWriter` and `IndexSnapshot`
are the implementations over one index directory.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

import numpy as np

from core.types import Chunk, ChunkingInfo, EmbeddingInfo, PageText
from index.keyword import KeywordHit
from index.manifest import DocumentRecord, Manifest
from index.reader import StoredChunk

__all__ = ["IndexReader", "IndexStore", "IndexWriting", "KeywordSearch"]


class KeywordSearch(Protocol):
    """BM25 over the chunk texts and headers of one committed state."""

    available: bool  # False: the index was written before keyword search existed
    n_docs: int  # chunks in the collection, for idf

    def doc_freq(self, terms: Sequence[str]) -> dict[str, int]:
        """Chunks containing each term."""
        ...

    def search(
        self, terms: Sequence[str], limit: int, sources: Sequence[str] | None = None
    ) -> list[KeywordHit]:
        """Best `limit` chunks for the terms, best first, optionally only from `sources`."""
        ...

    def close(self) -> None: ...


class IndexReader(Protocol):
    """One committed state of the index, read-only; safe to share between threads."""

    manifest: Manifest

    def __len__(self) -> int:
        """Chunks (and vectors) in the index."""
        ...

    def nearest(
        self,
        query: np.ndarray,
        limit: int,
        allowed: np.ndarray | None = None,
        nprobe: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the `limit` nearest chunks to one unit vector, best first;
        only ids in `allowed` if given; `nprobe`: the search effort of an approximate index."""
        ...

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        """The stored vectors of these chunk ids, in order."""
        ...

    def chunks_by_ids(self, ids: Sequence[int]) -> list[StoredChunk]:
        """Chunks for `ids`, in the order given; unknown ids are left out."""
        ...

    def iter_chunks(self, batch: int = 2048) -> Iterator[StoredChunk]:
        """Every chunk, in id order, a batch at a time."""
        ...

    def chunk_ids_of(self, sources: Sequence[str]) -> np.ndarray:
        """Ids of every chunk of these sources (a file filter for `nearest`)."""
        ...

    def page_text(self, source: str, page: int) -> str | None:
        """The whole text of one page of a document, if indexed."""
        ...

    def keyword_search(self, postings_budget: int = 20_000) -> KeywordSearch:
        """Keyword search over this state; `postings_budget` bounds the work per question."""
        ...

    def close(self) -> None: ...


class IndexWriting(Protocol):
    """A writer of an index: whole documents in and out, published by `commit`.

    Used as a context manager: entering opens it (takes the lock, reads the committed
    state); leaving drops what was not committed.
    """

    def __enter__(self) -> IndexWriting: ...

    def __exit__(self, *exc: object) -> None: ...

    @property
    def manifest(self) -> Manifest:
        """The index as it will be after the next commit."""
        ...

    def put_document(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        pages: Sequence[PageText],
    ) -> None:
        """Add or replace one whole document: its chunks, their vectors and its pages."""
        ...

    def remove(self, source: str) -> None:
        """Drop a document and everything stored for it."""
        ...

    def stored_vectors(self, sources: Sequence[str]) -> dict[str, np.ndarray]:
        """Embedded text -> vector of these documents' chunks now in the index (for reuse)."""
        ...

    def touch(self, record: DocumentRecord) -> None:
        """Update a document's bookkeeping without touching its chunks."""
        ...

    def set_skipped(self, skipped: dict[str, str]) -> None:
        """Record the files that could not be ingested, with the reason."""
        ...

    def commit(self) -> Manifest:
        """Publish what was written so far, atomically; returns the committed manifest."""
        ...


class IndexStore(Protocol):
    """Where an index lives (a directory, a database): its committed state, readers, writers.

    The composition root (`wiring`) picks one from the settings; ingest, retrieval and
    the app only see what it opens.
    """

    location: str  # for messages and reports (a folder, or a database URL without password)

    def committed(self) -> Manifest | None:
        """The last committed state, None before the first ingest; cheap enough to poll."""
        ...

    def open_reader(self) -> IndexReader:
        """The last committed generation, read-only (IndexNotFoundError before an ingest)."""
        ...

    def open_writer(
        self,
        *,
        embedding: EmbeddingInfo,
        chunking: ChunkingInfo,
        rebuild: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> IndexWriting:
        """A writer (not yet entered) for vectors of `embedding` and chunks of `chunking`."""
        ...
