"""The one writer of an index directory: builds the next generation aside, then swaps.

    with IndexWriter(index_dir, embedding=info, chunking=cfg) as w:
        w.put_document(record, chunks, vectors, pages)
        w.commit()        # may be called many times: each commit is a checkpoint

A document is written whole or not at all: its chunks, vectors and pages go in
together in `put_document`, and a commit only ever publishes whole documents.

With `rebuild=True` the new index is built beside the live one, in `rebuild/`
(`index.layout.STAGING`): its commits are checkpoints there, and the live index
stays as it was, searchable, until the block ends without an error; then the
rebuilt generation is renamed into place and the live manifest swapped, once. A
rebuild never reads the old manifest or generations, so it repairs a damaged
index. A killed rebuild leaves its last checkpoint; the next rebuild with the same
model and chunking goes on from it, any other starts over.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from core.errors import IndexWriteError
from core.files import sha256_file
from core.types import Chunk, ChunkingInfo, EmbeddingInfo, PageText
from index import chunks_db, staging
from index.fsutil import atomic_write_bytes, fsync_dir, fsync_file
from index.ivf_search import (
    ExactIndex,
    VectorBackend,
    VectorPolicy,
    fit_to_policy,
    load_vector_index,
)
from index.layout import (
    STAGING,
    check_index_dir,
    collect_garbage,
    generation_number,
    highest_generation,
    make_own_dir,
    own_generations,
)
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
from index.storage_errors import guarded, storage_errors


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
        # Where generations and checkpoints go: the index itself, or beside it (rebuild).
        self._root = self.index_dir / STAGING if rebuild else self.index_dir
        self.location = str(self.index_dir)  # where the index is, for reports
        self._embedding = embedding
        self._chunking = chunking
        self._rebuild = rebuild
        self._lock = WriteLock(self.index_dir, lock_timeout, on_wait)
        self._committed: Manifest | None = None
        self._pending: Manifest | None = None
        self._replaced: Manifest | None = None  # rebuild: the live index it replaces
        self._base: Path | None = None
        self._work: Path | None = None
        self._work_generation = 0
        self._con = None
        self._vectors: VectorBackend | None = None
        self._vector_policy = vector_policy or VectorPolicy()

    # -- lifecycle ---------------------------------------------------------
    @guarded
    def __enter__(self) -> IndexWriter:
        check_index_dir(self.index_dir)
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
            if self._rebuild and exc_type is None:
                with storage_errors(self.index_dir):
                    self._publish()
        finally:
            self._lock.release()

    def _open(self) -> None:
        fresh = Manifest.empty(embedding=self._embedding, chunking=self._chunking)
        old = self._staged() if self._rebuild else self._live()
        self._committed = old or fresh
        self._base = self._root / old.generation_dir if old else None
        # An older format is migrated here and written by the next commit.
        self._pending = self._committed.migrated()
        self._collect_garbage()

    def _live(self) -> Manifest | None:
        """The live index to add to, checked against the settings and its chunk table."""
        if not (self.index_dir / MANIFEST).exists():
            return None
        old = read_manifest(self.index_dir)
        check_compatible(old, embedding=self._embedding, chunking=self._chunking)
        staging.check_generation(self.index_dir / old.generation_dir, old, checksums=False)
        return old

    def _staged(self) -> Manifest | None:
        """Rebuild: the checkpoint of an interrupted rebuild to go on from, or None."""
        self._replaced, staged = staging.resume_point(
            self.index_dir, embedding=self._embedding, chunking=self._chunking
        )
        return staged

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
        """Publish the pending state as a new generation (atomic); no-op if nothing changed.

        In a rebuild this is a checkpoint beside the live index (published at the end).
        """
        pending, committed = self.manifest, self._committed
        if self._work is None:
            if pending != committed and committed.generation > 0:
                # Only bookkeeping changed: the same generation, a new manifest.
                self._write_manifest(pending.evolve(updated_at=time.time()))
            return self._committed
        self._con.execute("COMMIT")
        self._con.close()
        self._con = None
        # Large collections switch to approximate search here (index.ivf_search).
        self._vectors = fit_to_policy(self._vectors, self._vector_policy)
        self._vectors.save(self._work / VECTORS)
        files = {}
        for key, name in (("vectors", VECTORS), ("chunks", CHUNKS)):
            path = self._work / name
            fsync_file(path)
            files[key] = FileChecksum(name, path.stat().st_size, sha256_file(path))
        generation = self._work_generation
        final = self._root / generation_dir_name(generation)
        self._work.rename(final)  # the number is free: `_start_work` chose it so
        fsync_dir(self._root)
        self._work = None
        self._base = final
        self._write_manifest(
            pending.evolve(generation=generation, files=files, updated_at=time.time())
        )
        self._collect_garbage(previous=committed.generation)
        return self._committed

    def _write_manifest(self, manifest: Manifest) -> None:
        # The single commit point: before this rename readers see the old generation.
        atomic_write_bytes(self._root / MANIFEST, manifest.to_json().encode("utf-8"))
        self._committed = self._pending = manifest

    def _publish(self) -> None:
        """Rebuild: make the last checkpoint the live index (one rename, one manifest swap)."""
        published = staging.publish(self.index_dir, self._committed, self._replaced)
        if published is not None:
            self._committed = self._pending = published

    # -- internals ---------------------------------------------------------
    def _start_work(self) -> None:
        if self._work is not None:
            return
        # Above every generation-like name in the folder, the user's own included.
        self._work_generation = max(self._committed.generation, highest_generation(self._root)) + 1
        work = self._root / (generation_dir_name(self._work_generation) + ".tmp")
        make_own_dir(work)
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

    def _collect_garbage(self, previous: int | None = None) -> None:
        """Delete this program's generations no reader should still open, and half-written ones.

        Kept: the live generation and the one before it (a reader may be opening it).
        Only folders this program made are ever deleted (`index.layout`).
        """
        live = self._committed.generation
        if previous is None:  # at open: the newest of ours below the live one
            below = [generation_number(p.name) for p in own_generations(self._root)]
            previous = max((n for n in below if n < live), default=0)
        keep = {generation_dir_name(live), generation_dir_name(previous)}
        collect_garbage(self._root, keep, working=self._work)
        if not self._rebuild:
            staging.drop_dead(self.index_dir)


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
