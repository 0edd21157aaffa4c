"""Read-only view of the live generation of an index directory (`IndexReader`)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import IndexCorruptError
from core.files import sha256_file
from core.types import Chunk
from index import chunks_db
from index.ivf_search import VectorBackend, load_vector_index
from index.keyword import KeywordIndex
from index.manifest import CHUNKS, REBUILD_HINT, VECTORS, Manifest, read_manifest


@dataclass(frozen=True)
class StoredChunk(Chunk):
    """A chunk as the index holds it: the chunk, and the row id its vector is stored under.

    An index written before OCR or chunk format 2 gives the defaults for what it
    lacks (no OCR confidence, no title, section or heading). `chunk_id` is the
    chunk's content hash, as when it was written.
    """

    id: int = 0


_BASE_COLUMNS = (
    *("id", "source", "ordinal"),
    *("page_start", "page_end", "n_tokens", "text"),
)
_ADDED = ("ocr_confidence", "heading", "title", "section")


def _select_columns(con) -> tuple[str, ...]:
    """The columns to read; a generation written before OCR or chunk format 2 lacks some."""
    present = chunks_db.columns(con, "chunks")
    return _BASE_COLUMNS + tuple(c for c in _ADDED if c in present)


def _stored(names: tuple[str, ...], row) -> StoredChunk:
    values = dict(zip(names, row, strict=True))
    if "section" in values:
        values["section"] = chunks_db.decode_section(values["section"])
    return StoredChunk(**values)


class IndexSnapshot:
    """One generation, loaded: vectors in memory, chunk texts read on demand.

    Safe to share between threads: SQLite reads are serialized by a lock and
    the FAISS index is only searched, never changed.
    """

    def __init__(self, index_dir: Path, manifest: Manifest, vectors: VectorBackend, con) -> None:
        self.index_dir = index_dir
        self.manifest = manifest
        self.vectors = vectors
        self._con = con
        self._lock = threading.Lock()
        self._columns = _select_columns(con)

    @classmethod
    def open(cls, index_dir: Path, *, verify: bool = True) -> IndexSnapshot:
        index_dir = Path(index_dir)
        for attempt in range(3):
            manifest = read_manifest(index_dir)
            gen = index_dir / manifest.generation_dir
            if gen.is_dir() or attempt == 2:
                break  # else a writer swapped generations between our two reads: read again
        if not gen.is_dir():
            raise IndexCorruptError(
                f"the index at {index_dir} names {manifest.generation_dir}, which is missing",
                hint=REBUILD_HINT,
            )
        if verify:
            verify_files(gen, manifest)
        vectors = load_vector_index(gen / VECTORS)
        con = chunks_db.open_readonly(gen / CHUNKS)
        try:
            if verify:
                check_chunk_table(manifest, con, gen)
            return cls(index_dir, manifest, vectors, con)
        except BaseException:
            con.close()
            raise

    def close(self) -> None:
        self._con.close()

    def __enter__(self) -> IndexSnapshot:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.vectors)

    def nearest(
        self,
        query: np.ndarray,
        limit: int,
        allowed: np.ndarray | None = None,
        nprobe: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the `limit` nearest chunks, best first.

        Runs on the calling thread's FAISS settings: callers that search from many
        threads at once pin FAISS to one thread (`retrieval.threads.single_threaded`).
        """
        scores, ids = self.vectors.search(query.reshape(1, -1), limit, allowed, nprobe)
        return [(int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0]

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        return self.vectors.reconstruct(np.asarray(ids, np.int64))

    def chunks_by_ids(self, ids: Sequence[int]) -> list[StoredChunk]:
        """Chunks for `ids`, in the order given; unknown ids are left out."""
        ids = [int(i) for i in ids if int(i) >= 0]
        if not ids:
            return []
        with self._lock:
            rows = chunks_db.rows_by_ids(self._con, self._columns, ids)
            found = {r[0]: _stored(self._columns, r) for r in rows}
        return [found[i] for i in ids if i in found]

    def iter_chunks(self, batch: int = 2048) -> Iterator[StoredChunk]:
        """Every chunk, in id order, a batch at a time (bounded memory)."""
        last = -1
        while True:
            with self._lock:
                rows = chunks_db.rows_after(self._con, self._columns, last, batch)
            if not rows:
                return
            yield from (_stored(self._columns, r) for r in rows)
            last = rows[-1][0]

    def chunk_ids_of(self, sources: Sequence[str]) -> np.ndarray:
        with self._lock:
            ids = chunks_db.ids_of_sources(self._con, sources)
        return np.asarray(ids, dtype=np.int64)

    def page_text(self, source: str, page: int) -> str | None:
        with self._lock:
            return chunks_db.page_text(self._con, source, page)

    def keyword_search(self, postings_budget: int = 20_000) -> KeywordIndex:
        """BM25 over this generation, through this snapshot's connection and lock."""
        return KeywordIndex(self._con, self._lock, postings_budget, n_docs=len(self))


def verify_files(gen: Path, manifest: Manifest) -> None:
    """Detect truncated or altered files before anything is trusted."""
    for entry in manifest.files.values():
        path = gen / entry.name
        problem = None
        if not path.is_file():
            problem = "is missing"
        elif path.stat().st_size != entry.bytes:
            problem = f"has {path.stat().st_size} bytes, the manifest says {entry.bytes}"
        elif sha256_file(path) != entry.sha256:
            problem = "fails its checksum"
        if problem:
            raise IndexCorruptError(f"index file {path} {problem}", hint=REBUILD_HINT)


def check_chunk_table(manifest: Manifest, con, gen: Path) -> None:
    """The manifest's documents are exactly those of the chunk table, chunk for chunk.

    The manifest's checksum catches a damaged manifest; this catches one that is intact
    but wrong (a document renamed in it, or chunks no document owns: an orphan would
    stay searchable after its document is removed).
    """
    stored = chunks_db.chunk_counts(con)
    listed = {source: doc.chunks for source, doc in manifest.documents.items() if doc.chunks}
    if stored == listed:
        return
    orphans = sorted(set(stored) - set(listed))
    missing = sorted(set(listed) - set(stored))
    counts = sorted(s for s in set(stored) & set(listed) if stored[s] != listed[s])
    what = (
        f"chunks of {orphans[0]!r}, which the manifest does not list"
        if orphans
        else f"no chunks of {missing[0]!r}, which the manifest lists"
        if missing
        else f"{stored[counts[0]]} chunks of {counts[0]!r}, the manifest says {listed[counts[0]]}"
    )
    raise IndexCorruptError(
        f"the index at {gen.parent} does not match its manifest: {gen.name} holds {what}",
        hint=REBUILD_HINT,
    )
