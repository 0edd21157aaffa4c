"""The parse -> chunk -> embed -> write loop of one ingest, one entry per file in flight.

A file's failure at any stage (parsing, chunking, embedding, a change under
our feet) skips that file alone; the others go on. So does a file past a cap
(`ingest.caps`: its text, its chunks, its time). Vectors are checked
(`ingest.vector_check`) before anything is written: a bad batch stops the run.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from core.errors import RagError
from core.types import Chunk, ChunkingInfo, PageText, Skipped
from embed.protocols import Embedder
from index import DocumentRecord, IndexWriting
from ingest.caps import FileCaps
from ingest.chunk import Chunker
from ingest.extract import no_text_reason
from ingest.file_checks import changed_since
from ingest.file_notes import attachments_note, nothing_indexed, unloadable_pages, why_empty
from ingest.header import Headers
from ingest.ocr import OcrStats
from ingest.ocr.report import ocr_warnings
from ingest.options import IngestOptions
from ingest.parse_pool import FileDone, FileFailed, FileOpened, OcrPageRead, PagesParsed
from ingest.plan import Plan
from ingest.progress import Progress, ProgressCallback
from ingest.stages import StageClock
from ingest.structure import DocumentStructure, document_title
from ingest.vector_check import check_vectors


class IngestRun:
    """State of the parse -> chunk -> embed -> write loop, one entry per file in flight."""

    def __init__(
        self,
        options: IngestOptions,
        embedder: Embedder,
        writer: IndexWriting,
        chunking: ChunkingInfo,
        plan: Plan,
        on_progress: ProgressCallback | None,
        started: float,
    ) -> None:
        self.options = options
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
        self.chunks_made = 0
        self.current = ""
        self.reused = 0
        self.ocr_pages = 0
        self.ocr_began: float | None = None
        self.ocr_last = 0.0
        self.ocr_files: dict[str, OcrStats] = {}
        self.reuse = plan.reuse
        self.pages_known = self.bytes_known = 0
        self.bytes_total = sum(t.file.size for t in self.todo)
        self.bytes_closed = 0  # of files written, skipped or dropped
        self.state: dict[int, FileState] = {}
        self.dropped: set[int] = set()
        # Chunks of all files in flight wait here to be embedded together: full,
        # length-sorted batches regardless of how files and pages arrive.
        self.pending: list[tuple[int, int, Chunk]] = []  # file index, position in file, chunk
        self.flush_at = options.embedding_batch_size * 4
        # Format 2: chunks carry title, section path and a header (ingest.structure).
        self.headers = None
        if chunking.chunk_format >= 2:
            self.headers = Headers(embedder, limit=embedder.info.max_tokens - 2)
        self.caps = FileCaps.of(options)
        # Told when a file is dropped, so its parser stops (ParserPool.abandon).
        self.abandon: Callable[[int], None] = lambda index: None
        self.clock: tuple[int, float] | None = None  # the file charged for time, since when
        self.stages = StageClock()  # where the time goes (ingest.stages)

    def consume(self, events) -> None:
        for event in self.stages.waited(events):
            f = self.todo[event.index].file
            if isinstance(event, FileOpened):
                self.pages_known += event.page_count
                self.bytes_known += f.size
                if event.attachments:
                    self.warnings.append(Skipped(f.source, attachments_note(event.attachments)))
                self.state[event.index] = FileState(
                    Chunker(
                        f.source,
                        self.embedder,
                        self.chunking.chunk_tokens,
                        self.chunking.chunk_overlap,
                        self._structure(event, f.source),
                    ),
                    event.backend,
                    self.writer.stored_vectors(self.reuse.get(f.source, [])),
                    page_count=event.page_count,
                )
            elif isinstance(event, PagesParsed) and event.index in self.state:
                st = self.state[event.index]
                st.pages.extend(event.pages)
                st.chars += sum(len(p.text) for p in event.pages)
                self.pages_done += len(event.pages)
                last = event.pages[-1].page if event.pages else 0
                if over := self.caps.text(st.chars, last, f.size):
                    self._drop(event.index, over)
                    continue
                self._chunk(event.index, lambda st=st, e=event: st.chunker.feed(e.pages))
            elif isinstance(event, OcrPageRead):
                self.ocr_pages += 1
                self.ocr_last = time.monotonic()
                began = self.ocr_last - event.seconds
                self.ocr_began = began if self.ocr_began is None else min(self.ocr_began, began)
            elif isinstance(event, FileDone) and event.index in self.state:
                st = self.state[event.index]
                st.parsed, st.failed_pages, st.ocr = True, event.failed_pages, event.ocr
                self.stages.seconds["parse"] += event.cpu_seconds
                self._chunk(event.index, st.chunker.finish)
                self._finish_ready()
            elif isinstance(event, FileFailed):
                self._drop(event.index, event.reason)
            self._drop_overdue()
            if len(self.pending) >= self.flush_at:
                self._embed_pending()
            self._report(f.source)
        while self.pending:
            self._embed_pending()
            self._report("")

    def _structure(self, event: FileOpened, source: str) -> DocumentStructure | None:
        if self.headers is None:
            return None
        title = document_title(event.title, source)
        return DocumentStructure(title, event.outline, self.headers)

    def _chunk(self, index: int, make) -> None:
        """Chunk what a file sent; the tokenizer failing on its text costs that file only."""
        try:
            chunks = self.stages.timed("chunk", make)
        except RagError:
            raise  # the model or a setting: every file would fail alike
        except Exception as exc:
            self._drop(index, f"could not be cut into chunks ({type(exc).__name__}: {exc})")
            return
        self._queue(index, chunks)

    def _drop(self, index: int, reason: str) -> None:
        """Skip a file in flight: its chunks leave the queue; its later events are ignored."""
        if index in self.dropped:
            return
        self.dropped.add(index)
        self.abandon(index)
        self.bytes_closed += self.todo[index].file.size
        self.state.pop(index, None)
        self.pending = [p for p in self.pending if p[0] != index]
        self._skip(self.todo[index].file.source, reason)

    def _drop_overdue(self) -> None:
        """The oldest file in flight, once past the time cap (checked at every event and
        embedding batch). Files share embedding batches, so only the oldest is charged:
        a small file waiting behind a slow one is not; its clock starts when it is next."""
        if not self.caps.max_seconds or not self.state:
            return
        oldest = min(self.state, key=lambda i: self.state[i].started)
        now = time.monotonic()
        if self.clock is None or self.clock[0] != oldest:
            self.clock = (oldest, self.state[oldest].started if self.clock is None else now)
        if over := self.caps.time(now - self.clock[1]):
            self._drop(oldest, over)

    def _queue(self, index: int, chunks: list[Chunk]) -> None:
        st = self.state.get(index)
        if st is None:
            return
        page = chunks[-1].page_end if chunks else 0
        if over := self.caps.chunks(len(st.chunks) + len(chunks), page):
            self._drop(index, over)
            return
        self.chunks_made += len(chunks)
        for chunk in chunks:
            st.chunks.append(chunk)
            # Same text and header, same model (the index refuses another): the stored
            # vector is exact. A changed header (a renamed section) is embedded again.
            stored = st.reuse.get(chunk.embed_text)
            st.vectors.append(stored)
            if stored is None:
                self.pending.append((index, len(st.chunks) - 1, chunk))
            else:
                self.reused += 1
                self.chunks_done += 1

    def _embed_pending(self) -> None:
        batch, self.pending = self.pending[: self.flush_at], self.pending[self.flush_at :]
        # By length, in the embedder's own batch size: the batches it would make of the
        # whole list, with the progress reported after each (the count moves while
        # embedding, instead of after all of them).
        batch.sort(key=lambda item: len(item[2].embed_text))
        size = self.options.embedding_batch_size
        for start in range(0, len(batch), size):
            part = [item for item in batch[start : start + size] if item[0] not in self.dropped]
            if not part:
                continue
            try:
                vectors = self._embed([c.embed_text for _, _, c in part])
            except RagError:
                raise
            except Exception:  # find the file whose text the model cannot take
                self._embed_file_by_file(part)
                continue
            for (index, position, _), vector in zip(part, vectors, strict=True):
                if index in self.state:
                    self.state[index].vectors[position] = vector
            self.chunks_done += len(part)
            self._report(self.current)
            self._drop_overdue()
        self._finish_ready()

    def _embed(self, texts: list[str]) -> np.ndarray:
        vectors = self.stages.timed("embed", lambda: self.embedder.embed(texts))
        check_vectors(vectors, len(texts), self.embedder.info.dim)  # before anything is written
        return vectors

    def _embed_file_by_file(self, batch: list[tuple[int, int, Chunk]]) -> None:
        for index in dict.fromkeys(i for i, _, _ in batch):
            mine = [(position, c) for i, position, c in batch if i == index]
            try:
                vectors = self._embed([c.embed_text for _, c in mine])
            except RagError:
                raise
            except Exception as exc:
                self._drop(index, f"could not be embedded ({type(exc).__name__}: {exc})")
                continue
            for (position, _), vector in zip(mine, vectors, strict=True):
                self.state[index].vectors[position] = vector
            self.chunks_done += len(mine)
        self._finish_ready()

    def _finish_ready(self) -> None:
        """Write every file that is parsed and fully embedded."""
        waiting = {index for index, _, _ in self.pending}
        for index, st in list(self.state.items()):
            if st.parsed and index not in waiting:
                self._finish(index)

    def _finish(self, index: int) -> None:
        todo = self.todo[index]
        f, sha, status = todo.file, todo.sha256, todo.status
        st = self.state.pop(index)
        self.bytes_closed += f.size
        failed_pages = st.failed_pages
        # A page the parser could not load has no text either, but OCR is not why.
        empty = max(0, sum(1 for p in st.pages if not p.text.strip()) - failed_pages)
        empty_why = why_empty(st.ocr)
        if st.ocr is not None:
            self.ocr_files[f.source] = st.ocr
        if not st.chunks:
            self._skip(f.source, nothing_indexed(len(st.pages), failed_pages, empty, empty_why))
            return
        changed = changed_since(f.path, f.size, f.mtime_ns)
        if changed:  # what was parsed may be half the old file and half the new
            self._skip(f.source, changed)
            return
        if failed_pages:
            self.warnings.append(Skipped(f.source, unloadable_pages(failed_pages, len(st.pages))))
        if empty:
            reason = f"{no_text_reason(empty, empty_why)}; the other pages are indexed"
            self.warnings.append(Skipped(f.source, reason))
        if st.ocr is not None:
            threshold = self.options.ocr.min_confidence
            told = empty_why if empty else ""
            for warning in ocr_warnings(st.ocr, threshold):
                if warning != told:
                    self.warnings.append(Skipped(f.source, warning))
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
            real_path=f.real_path,
            ocr_pages=len(st.ocr.pages) if st.ocr else 0,
        )
        write = self.writer.put_document
        self.stages.timed("write", lambda: write(record, st.chunks, vectors, st.pages))
        self.done[status].append(f.source)
        self.files_done += 1
        if time.monotonic() - self.last_commit >= self.options.checkpoint_seconds:
            self.stages.timed("write", self.writer.commit)
            self.last_commit = time.monotonic()

    def _skip(self, source: str, reason: str) -> None:
        # A file that became unreadable must not leave its old text searchable.
        self.writer.remove(source)
        self.skipped.append(Skipped(source, reason))
        self.files_done += 1

    def _report(self, current: str) -> None:
        self.current = current
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
                ocr_pages=self.ocr_pages,
                ocr_rate=self._ocr_rate(),
                bytes_done=self.bytes_closed + self._bytes_in_flight(),
                bytes_total=self.bytes_total,
                chunks_made=self.chunks_made,
            )
        )

    def _bytes_in_flight(self) -> int:
        return sum(
            self.todo[i].file.size * min(len(st.pages), st.page_count) // st.page_count
            for i, st in self.state.items()
            if st.page_count
        )

    def _ocr_rate(self) -> float:
        if self.ocr_began is None:
            return 0.0
        # Over the time OCR ran: the rate of OCR, not of the whole ingest.
        return self.ocr_pages / max(self.ocr_last - self.ocr_began, 1e-3)


@dataclass
class FileState:
    chunker: Chunker
    backend: str
    reuse: dict[str, np.ndarray]  # embedded text (header and chunk) -> stored vector
    pages: list[PageText] = field(default_factory=list)
    chunks: list[Chunk] = field(default_factory=list)
    vectors: list[np.ndarray | None] = field(default_factory=list)  # None: not embedded yet
    parsed: bool = False
    failed_pages: int = 0
    ocr: OcrStats | None = None
    page_count: int = 0
    chars: int = 0  # of text parsed so far (for the cap)
    started: float = field(default_factory=time.monotonic)  # when the file was opened
