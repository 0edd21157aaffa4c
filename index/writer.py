"""The one writer of an index directory: builds the next generation aside, then swaps.

    with IndexWriter(index_dir, embedding=info, chunking=cfg) as w:
        w.put_document(record, chunks, vectors, pages)
        w.commit()        # may be called many times: each commit is a checkpoint

A document is written whole or not at all: its chunks, vectors and pages go in
together in `put_document`, and a commit only ever publishes whole documents.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.errors import IndexWriteError
from core.types import Chunk, ChunkingInfo, EmbeddingInfo, PageText
from index import chunks_db
from index.ann import (
    ExactIndex,
    VectorBackend,
    VectorPolicy,
    fit_to_policy,
    load_vector_index,
)
from index.fsutil import atomic_write_bytes, fsync_dir, fsync_file, sha256_file
from index.lock import WriteLock
from index.manifest import (
    CHUNKS,
    MANIFEST,
    VECTORS,
    DocumentRecord,
    FileChecksum,
    Manifest,
    check_compatible,
    generation_dir_name,
    read_manifest,
)
from index.protocols import IndexWriting
from index.storage_errors import guarded


class IndexWriter:
    """The one writer of an index directory (`IndexWriting`, which ingest writes through)."""

    def __init__(
        self,
        index_dir: Path,
        *,
        embedding: EmbeddingInfo,
        chunking: ChunkingInfo,
        rebuild: bool = False,
        lock_timeout: float = 10.0,
        on_wait: Callable[[str], None] | None = None,
        vector_policy: VectorPolicy | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.location = str(self.index_dir)  # where the index is, for reports
        self._embedding = embedding
        self._chunking = chunking
        self._rebuild = rebuild
        self._lock = WriteLock(self.index_dir, lock_timeout, on_wait)
        self._committed: Manifest | None = None
        self._pending: Manifest | None = None
        self._work: Path | None = None
        self._con = None
        self._vectors: VectorBackend | None = None
        self._vector_policy = vector_policy or VectorPolicy()

    # -- lifecycle ---------------------------------------------------------
    @guarded
    def __enter__(self) -> IndexWriter:
        self._lock.acquire()
        try:
            self._open()
        except BaseException:
            self._lock.release()
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._discard_work()
        finally:
            self._lock.release()

    def _open(self) -> None:
        fresh = Manifest.empty(embedding=self._embedding, chunking=self._chunking)
        if (self.index_dir / MANIFEST).exists():
            old = read_manifest(self.index_dir)
            if self._rebuild:
                # Keep numbering so the new generation never overwrites the live one.
                self._committed = fresh.evolve(generation=old.generation)
                self._base = None
            else:
                check_compatible(old, embedding=self._embedding, chunking=self._chunking)
                self._committed = old
                self._base = self.index_dir / old.generation_dir
        else:
            self._committed = fresh
            self._base = None
        # An older format is migrated here and written by the next commit.
        self._pending = self._committed.migrated()
        self._collect_garbage(keep_previous=True)

    @property
    def manifest(self) -> Manifest:
        """The index as it will be after the next commit."""
        assert self._pending is not None, "use IndexWriter as a context manager"
        return self._pending

    @property
    def dirty(self) -> bool:
        return self._work is not None

    # -- changes -----------------------------------------------------------
    @guarded
    def remove(self, source: str) -> None:
        if source not in self.manifest.documents:
            return
        self._start_work()
        self._vectors.remove(np.array(chunks_db.delete_document(self._con, source), np.int64))
        docs = dict(self.manifest.documents)
        del docs[source]
        self._pending = self.manifest.evolve(documents=docs)

    @guarded
    def put_document(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        pages: Sequence[PageText],
    ) -> None:
        """Add or replace one whole document."""
        if len(chunks) != len(vectors):
            raise ValueError(f"{len(chunks)} chunks but {len(vectors)} vectors")
        self.remove(record.source)
        self._start_work()
        ids = chunks_db.insert_document(self._con, chunks, pages, record.source)
        self._vectors.add(np.array(ids, np.int64), vectors)
        docs = dict(self.manifest.documents)
        docs[record.source] = record
        self._pending = self.manifest.evolve(documents=docs)

    @guarded
    def stored_vectors(self, sources: Sequence[str]) -> dict[str, np.ndarray]:
        """Embedded text -> vector for the chunks these documents have in the index now.

        An ingest looks here before embedding: a file that was moved, renamed or
        edited keeps the vectors of every chunk whose text and header did not change
        (the key is what the model read: `Chunk.embed_text`).
        """
        sources = [s for s in dict.fromkeys(sources) if s in self.manifest.documents]
        if not sources:
            return {}
        self._start_work()
        rows = chunks_db.embedded_texts(self._con, sources)
        if not rows:
            return {}
        vectors = self._vectors.reconstruct(np.array([r[0] for r in rows], np.int64))
        keys = (Chunk("", 0, 0, 0, text, 0, heading=head).embed_text for _, head, text in rows)
        return dict(zip(keys, vectors, strict=True))

    def touch(self, record: DocumentRecord) -> None:
        """Update a document's bookkeeping (size, mtime) without touching its chunks."""
        docs = dict(self.manifest.documents)
        docs[record.source] = record
        self._pending = self.manifest.evolve(documents=docs)

    def set_skipped(self, skipped: dict[str, str]) -> None:
        self._pending = self.manifest.evolve(skipped=dict(skipped))

    # -- commit ------------------------------------------------------------
    @guarded
    def commit(self) -> Manifest:
        """Publish the pending state as a new generation (atomic); no-op if nothing changed."""
        pending, committed = self.manifest, self._committed
        if self._work is None:
            if pending != committed and committed.generation > 0:
                # Only bookkeeping changed: the same generation, a new manifest.
                self._write_manifest(pending.evolve(updated_at=time.time()))
            return self._committed
        self._con.execute("COMMIT")
        self._con.close()
        self._con = None
        # Large collections switch to approximate search here (index.ann).
        self._vectors = fit_to_policy(self._vectors, self._vector_policy)
        self._vectors.save(self._work / VECTORS)
        files = {}
        for key, name in (("vectors", VECTORS), ("chunks", CHUNKS)):
            path = self._work / name
            fsync_file(path)
            files[key] = FileChecksum(name, path.stat().st_size, sha256_file(path))
        generation = committed.generation + 1
        final = self.index_dir / generation_dir_name(generation)
        if final.exists():  # left by a crash after rename but before the manifest swap
            shutil.rmtree(final)
        self._work.rename(final)
        fsync_dir(self.index_dir)
        self._work = None
        self._base = final
        self._write_manifest(
            pending.evolve(generation=generation, files=files, updated_at=time.time())
        )
        self._collect_garbage(keep_previous=True)
        return self._committed

    def _write_manifest(self, manifest: Manifest) -> None:
        # The single commit point: before this rename readers see the old generation.
        atomic_write_bytes(self.index_dir / MANIFEST, manifest.to_json().encode("utf-8"))
        self._committed = self._pending = manifest

    # -- internals ---------------------------------------------------------
    def _start_work(self) -> None:
        if self._work is not None:
            return
        generation = self._committed.generation + 1
        work = self.index_dir / (generation_dir_name(generation) + ".tmp")
        if work.exists():
            shutil.rmtree(work)
        work.mkdir(parents=True)
        if self._base is not None:
            shutil.copyfile(self._base / CHUNKS, work / CHUNKS)
        self._con = chunks_db.open_writable(work / CHUNKS)
        if self._vectors is None:
            self._vectors = (
                load_vector_index(self._base / VECTORS)
                if self._base is not None
                else ExactIndex(self._embedding.dim)
            )
        self._work = work

    def _discard_work(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._work is not None:
            shutil.rmtree(self._work, ignore_errors=True)
            self._work = None

    def _collect_garbage(self, keep_previous: bool) -> None:
        """Delete generations no reader should still be opening, and half-written ones."""
        if not self.index_dir.is_dir():
            return
        live = self._committed.generation
        keep = {generation_dir_name(live)}
        if keep_previous:
            keep.add(generation_dir_name(live - 1))
        for entry in self.index_dir.iterdir():
            if entry.name.startswith("gen-") and entry.name not in keep and entry.is_dir():
                if entry == self._work:
                    continue
                shutil.rmtree(entry, ignore_errors=True)


@contextmanager
def committing(writer: IndexWriting, skipped: Callable[[], dict[str, str]]) -> Iterator[None]:
    """Commit what is finished when the block ends, normally, by Ctrl-C or by another error.

    Not after a storage error (a full disk, a read-only index): the commit would
    fail the same way, and the previous generation is still the live one.
    """
    try:
        yield
    except IndexWriteError:
        raise
    except BaseException:
        writer.set_skipped(skipped())
        writer.commit()
        raise
    writer.set_skipped(skipped())
    writer.commit()
