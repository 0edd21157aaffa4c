"""files -> pages -> chunks -> vectors -> index: one ingest run.

`run_ingest` plans what changed (content hashes), parses the changed files in
worker processes while this process chunks and embeds them, and writes whole
documents into the next index generation, committing at least every
`checkpoint_seconds` so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from core.errors import RagError
from core.settings import Settings
from core.types import Chunk, IngestReport, PageText, Skipped
from ingest.chunk import Chunker
from ingest.discover import SourceFile, discover
from ingest.embed import Embedder, load_embedder
from ingest.extract import no_text_reason
from ingest.parse_pool import FileDone, FileFailed, FileOpened, PagesParsed, ParserPool
from ingest.store import DocumentRecord, IndexWriter
from ingest.store.ann import VectorPolicy
from ingest.store.fsutil import sha256_file
from ingest.store.manifest import read_manifest

CHUNKER_VERSION = 1


@dataclass(frozen=True)
class Progress:
    """A snapshot for progress bars. `pages_total` is an estimate until every file is opened."""

    files_done: int
    files_total: int
    pages_done: int
    pages_total: int
    chunks: int
    current: str
    elapsed: float


ProgressCallback = Callable[[Progress], None]


@dataclass
class _Plan:
    todo: list[tuple[SourceFile, str, str]] = field(default_factory=list)  # file, sha, status
    unchanged: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    # Documents whose stored vectors a file to do may reuse: its old version, and any
    # document with the same content (a file moved, renamed or copied).
    reuse: dict[str, list[str]] = field(default_factory=dict)


def chunking_config(
    settings: Settings, max_model_tokens: int, index_chunking: dict | None = None
) -> dict:
    """Effective chunking, as recorded in the manifest; 2 tokens go to [CLS] and [SEP].

    An existing index (`index_chunking`, from its manifest) keeps the sizes it was
    built with unless a setting names other ones: a new default must not make an
    index built under the old one refuse new documents.

    >>> chunking_config(Settings(chunk_tokens=300), 256)["chunk_tokens"]
    254
    >>> built = {"chunk_tokens": 192, "chunk_overlap": 32, "chunker_version": CHUNKER_VERSION}
    >>> chunking_config(Settings(), 256, built)["chunk_overlap"]
    32
    >>> chunking_config(Settings(chunk_overlap=8), 256, built)["chunk_overlap"]
    8
    """
    config = {
        "chunk_tokens": min(settings.chunk_tokens, max_model_tokens - 2),
        "chunk_overlap": settings.chunk_overlap,
        "chunker_version": CHUNKER_VERSION,
    }
    for key in ("chunk_tokens", "chunk_overlap"):
        if index_chunking and key in index_chunking and key not in settings.model_fields_set:
            config[key] = index_chunking[key]
    return config


def _index_chunking(settings: Settings, rebuild: bool) -> dict | None:
    if rebuild:
        return None
    try:
        return read_manifest(settings.index_dir).chunking
    except RagError:  # no index yet, or a damaged one: the writer reports that
        return None


def run_ingest(
    paths: Sequence[Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    on_progress: ProgressCallback | None = None,
    on_wait: Callable[[str], None] | None = None,
    parser_processes: int | None = None,
) -> IngestReport:
    started = time.monotonic()
    files, skipped = discover(paths)
    embedder = embedder or load_embedder(settings)
    info = embedder.info
    chunking = chunking_config(settings, info.max_tokens, _index_chunking(settings, rebuild))
    writer = IndexWriter(
        settings.index_dir,
        embedding=asdict(info),
        chunking=chunking,
        rebuild=rebuild,
        lock_timeout=settings.lock_timeout_seconds,
        on_wait=on_wait,
        vector_policy=VectorPolicy(
            settings.vector_index, settings.ivf_min_chunks, settings.ivf_nprobe
        ),
    )
    with writer:
        plan = _plan(files, paths, writer)
        run = _Run(settings, embedder, writer, chunking, plan, on_progress, started)
        processes = settings.parser_workers() if parser_processes is None else parser_processes
        pool = ParserPool(
            processes,
            settings.pdf_backend,
            stall_seconds=settings.file_timeout_seconds,
            memory_mb=settings.parser_memory_mb,
        )
        try:
            run.consume(pool.events([f.path for f, _, _ in plan.todo]))
            # Vanished documents go last: until now a moved file could reuse their vectors.
            for source in plan.removed:
                writer.remove(source)
        finally:
            # Also on Ctrl-C: publish the documents that were finished.
            skipped.extend(run.skipped)
            writer.set_skipped({s.file: s.reason for s in skipped})
            writer.commit()
    manifest = writer.manifest
    sources = [f.source for f in files if f.source in manifest.documents]
    return IngestReport(
        added=tuple(run.done["added"]),
        updated=tuple(run.done["updated"]),
        unchanged=tuple(plan.unchanged),
        removed=tuple(plan.removed),
        skipped=tuple(skipped),
        warnings=tuple(run.warnings),
        files=len(files),
        pages=sum(manifest.documents[s].pages for s in sources),
        chunks=sum(manifest.documents[s].chunks for s in sources),
        seconds=time.monotonic() - started,
        extra={
            "index": {
                "dir": str(settings.index_dir),
                "documents": len(manifest.documents),
                "pages": manifest.pages,
                "chunks": manifest.chunks,
            },
            "parsed_pages": run.pages_done,
            "reused_vectors": run.reused,
        },
    )


def _plan(files: list[SourceFile], paths: Sequence[Path], writer: IndexWriter) -> _Plan:
    """Classify files by content hash; stat (size, mtime) spares re-hashing unchanged files."""
    plan = _Plan()
    docs = writer.manifest.documents
    by_sha: dict[str, list[str]] = {}  # one pass, not a scan of every document per new file
    for source, doc in docs.items():
        by_sha.setdefault(doc.sha256, []).append(source)
    for f in files:
        old = docs.get(f.source)
        if old and old.size == f.size and old.mtime_ns == f.mtime_ns and old.path == str(f.path):
            plan.unchanged.append(f.source)
            continue
        sha = sha256_file(f.path)
        if old and old.sha256 == sha:
            plan.unchanged.append(f.source)
            writer.touch(_record_with_stat(old, f))
        else:
            plan.todo.append((f, sha, "updated" if old else "added"))
            same = [s for s in by_sha.get(sha, []) if s != f.source]
            plan.reuse[f.source] = ([f.source] if old else []) + same
    # A document vanished if it lay under a folder given now and was not found there.
    # Documents from other folders stay: that folder may just be unmounted.
    seen = {f.source for f in files}
    folders = [Path(p).expanduser().absolute() for p in paths if Path(p).expanduser().is_dir()]
    for source, doc in docs.items():
        if source not in seen and any(Path(doc.path).is_relative_to(d) for d in folders):
            plan.removed.append(source)
    return plan


def _record_with_stat(old: DocumentRecord, f: SourceFile) -> DocumentRecord:
    return DocumentRecord(
        **{**asdict(old), "size": f.size, "mtime_ns": f.mtime_ns, "path": str(f.path)}
    )


class _Run:
    """State of the parse -> chunk -> embed -> write loop, one entry per file in flight."""

    def __init__(self, settings, embedder, writer, chunking, plan, on_progress, started):
        self.settings = settings
        self.embedder = embedder
        self.writer = writer
        self.chunking = chunking
        self.todo = plan.todo
        self.on_progress = on_progress
        self.started = started
        self.last_commit = time.monotonic()
        self.done: dict[str, list[str]] = {"added": [], "updated": []}
        self.skipped: list[Skipped] = []
        self.warnings: list[Skipped] = []
        self.files_done = 0
        self.pages_done = 0
        self.chunks_done = 0
        self.reused = 0
        self.reuse = plan.reuse
        self.pages_known = self.bytes_known = 0
        self.bytes_total = sum(f.size for f, _, _ in self.todo)
        self.state: dict[int, _FileState] = {}
        # Chunks of all files in flight wait here to be embedded together: full,
        # length-sorted batches regardless of how files and pages arrive.
        self.pending: list[tuple[int, int, Chunk]] = []  # file index, position in file, chunk
        self.flush_at = settings.embedding_batch_size * 4

    def consume(self, events) -> None:
        for event in events:
            f = self.todo[event.index][0]
            if isinstance(event, FileOpened):
                self.pages_known += event.page_count
                self.bytes_known += f.size
                self.state[event.index] = _FileState(
                    Chunker(
                        f.source,
                        self.embedder,
                        self.chunking["chunk_tokens"],
                        self.chunking["chunk_overlap"],
                    ),
                    event.backend,
                    self.writer.stored_vectors(self.reuse.get(f.source, [])),
                )
            elif isinstance(event, PagesParsed):
                st = self.state[event.index]
                st.pages.extend(event.pages)
                self._queue(event.index, st.chunker.feed(event.pages))
                self.pages_done += len(event.pages)
            elif isinstance(event, FileDone):
                st = self.state[event.index]
                self._queue(event.index, st.chunker.finish())
                st.parsed, st.failed_pages = True, event.failed_pages
                self._finish_ready()
            elif isinstance(event, FileFailed):
                self.state.pop(event.index, None)
                self.pending = [p for p in self.pending if p[0] != event.index]
                self._skip(f.source, event.reason)
            if len(self.pending) >= self.flush_at:
                self._embed_pending()
            self._report(f.source)
        while self.pending:
            self._embed_pending()
            self._report("")

    def _queue(self, index: int, chunks: list[Chunk]) -> None:
        st = self.state[index]
        for chunk in chunks:
            st.chunks.append(chunk)
            # Same text, same model (the index refuses another): the stored vector is exact.
            stored = st.reuse.get(chunk.text)
            st.vectors.append(stored)
            if stored is None:
                self.pending.append((index, len(st.chunks) - 1, chunk))
            else:
                self.reused += 1
                self.chunks_done += 1

    def _embed_pending(self) -> None:
        batch, self.pending = self.pending[: self.flush_at], self.pending[self.flush_at :]
        vectors = self.embedder.embed([c.text for _, _, c in batch])
        for (index, position, _), vector in zip(batch, vectors, strict=True):
            self.state[index].vectors[position] = vector
        self.chunks_done += len(batch)
        self._finish_ready()

    def _finish_ready(self) -> None:
        """Write every file that is parsed and fully embedded."""
        waiting = {index for index, _, _ in self.pending}
        for index, st in list(self.state.items()):
            if st.parsed and index not in waiting:
                self._finish(index)

    def _finish(self, index: int) -> None:
        f, sha, status = self.todo[index]
        st = self.state.pop(index)
        failed_pages = st.failed_pages
        empty = sum(1 for p in st.pages if not p.text.strip())
        if not st.chunks:
            self._skip(f.source, no_text_reason(len(st.pages)))
            return
        if failed_pages:
            pages = "1 page" if failed_pages == 1 else f"{failed_pages} pages"
            self.warnings.append(Skipped(f.source, f"{pages} could not be read"))
        if empty:
            self.warnings.append(
                Skipped(f.source, f"{no_text_reason(empty)}; the other pages are indexed")
            )
        dim = self.embedder.info.dim
        vectors = np.stack(st.vectors) if st.vectors else np.zeros((0, dim), np.float32)
        record = DocumentRecord(
            source=f.source,
            sha256=sha,
            pages=len(st.pages),
            chunks=len(st.chunks),
            root=str(f.root),
            path=str(f.path),
            size=f.size,
            mtime_ns=f.mtime_ns,
            backend=st.backend,
            empty_pages=empty,
            ingested_at=time.time(),
        )
        self.writer.put_document(record, st.chunks, vectors, st.pages)
        self.done[status].append(f.source)
        self.files_done += 1
        if time.monotonic() - self.last_commit >= self.settings.checkpoint_seconds:
            self.writer.commit()
            self.last_commit = time.monotonic()

    def _skip(self, source: str, reason: str) -> None:
        # A file that became unreadable must not leave its old text searchable.
        self.writer.remove(source)
        self.skipped.append(Skipped(source, reason))
        self.files_done += 1

    def _report(self, current: str) -> None:
        if self.on_progress is None:
            return
        # Pages of files not opened yet are guessed from their size, at the
        # pages-per-byte of the files opened so far.
        known, known_bytes = self.pages_known, self.bytes_known
        unknown_bytes = self.bytes_total - known_bytes
        guess = round(unknown_bytes * known / known_bytes) if known_bytes else 0
        self.on_progress(
            Progress(
                files_done=self.files_done,
                files_total=len(self.todo),
                pages_done=self.pages_done,
                pages_total=known + guess,
                chunks=self.chunks_done,
                current=current,
                elapsed=time.monotonic() - self.started,
            )
        )


@dataclass
class _FileState:
    chunker: Chunker
    backend: str
    reuse: dict[str, np.ndarray]  # chunk text -> stored vector
    pages: list[PageText] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    vectors: list[np.ndarray | None] = field(default_factory=list)  # None: not embedded yet
    parsed: bool = False
    failed_pages: int = 0
