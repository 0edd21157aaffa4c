"""Parse PDFs in worker processes that can crash, hang or be killed without harm.

Each worker takes whole files from a task queue and streams back their pages a
batch at a time through a bounded result queue, so memory stays bounded by the
batch, not by the document (a 2,000-page PDF is never held whole), and a slow
consumer (the embedder) throttles the parsers instead of piling up text.

A parser that segfaults on a hostile PDF, or stalls on one, costs only that
file: the pool reports it as failed, starts a fresh worker, and goes on.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from multiprocessing.connection import wait
from pathlib import Path

from core.errors import PdfError
from core.types import PageText
from ingest.ocr import OcrConfig, OcrStats
from ingest.structure import OutlineEntry, read_structure


@dataclass(frozen=True)
class FileOpened:
    index: int
    page_count: int
    backend: str
    title: str = ""  # from the PDF's metadata ("" if none)
    outline: tuple[OutlineEntry, ...] = ()  # its bookmarks (ingest.structure)
    attachments: tuple[str, ...] = ()  # names of files embedded in it (not indexed)


@dataclass(frozen=True)
class PagesParsed:
    index: int
    pages: tuple[PageText, ...]


@dataclass(frozen=True)
class OcrPageRead:
    """A page went through OCR (sent at once: OCR is slow, and this shows the worker lives)."""

    index: int
    page: int
    seconds: float
    cached: bool


@dataclass(frozen=True)
class FileDone:
    index: int
    failed_pages: int = 0  # pages whose text extraction raised (given as empty)
    ocr: OcrStats | None = None
    cpu_seconds: float = 0.0  # the parser's CPU time on this file (not waiting to send)


@dataclass(frozen=True)
class FileFailed:
    index: int
    reason: str


ParseEvent = FileOpened | PagesParsed | OcrPageRead | FileDone | FileFailed


def parse_file(
    index: int, path: Path, backend: str, batch_pages: int, ocr: OcrConfig | None = None
) -> Iterator[ParseEvent]:
    """Events for one file; this is all a worker does, and the inline mode runs it directly.

    Each batch's pages are first prepared one by one (OCR where routed, with an
    event per OCR'd page), then read and cleaned as a batch.
    """
    from ingest.extract import iter_page_batches, open_pdf
    from ingest.ocr.reader import OcrReader

    config = ocr or OcrConfig(enabled=False)
    started = time.process_time()
    try:
        with open_pdf(path, backend) as doc, OcrReader(doc, path, config) as reader:
            title, outline = read_structure(doc)
            attached = tuple(doc.attachments()) if hasattr(doc, "attachments") else ()
            yield FileOpened(index, doc.page_count, doc.backend, title, outline, attached)
            batches = iter_page_batches(reader, batch_pages)
            for start in range(0, doc.page_count, batch_pages):
                for page_index in range(start, min(start + batch_pages, doc.page_count)):
                    read = reader.prepare(page_index)
                    if read is not None:
                        yield OcrPageRead(index, read.page, read.seconds, read.cached)
                yield PagesParsed(index, tuple(reader.with_confidence(next(batches))))
            failed = doc.failed_pages
            stats = reader.stats() if config.enabled else None
        yield FileDone(index, failed, stats, time.process_time() - started)
    except PdfError as exc:
        yield FileFailed(index, exc.reason)


def _guarded(parse, index: int, path: Path, backend: str, batch_pages: int):
    """Whatever a parser raises costs one file, not the batch."""
    try:
        yield from parse(index, path, backend, batch_pages)
    except MemoryError:
        reason = "ran out of memory while parsing (limit: RAG_PARSER_MEMORY_MB per parser)"
        yield FileFailed(index, reason)
    except Exception as exc:
        yield FileFailed(index, f"parser error: {type(exc).__name__}: {exc}")


def _virtual_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")


def _worker(conn, parse, backend: str, batch_pages: int, memory_mb: int) -> None:
    """Parse the files the pool sends, one at a time, until it sends None."""
    import logging
    import resource

    # pypdf logs every repaired xref; the file's fate is reported by the pool.
    logging.getLogger("pypdf").setLevel(logging.ERROR)
    # Map the parser and OCR libraries before the limit applies.
    import ingest.extract
    import ingest.ocr.reader  # noqa: F401

    if memory_mb:
        # A decompression bomb must fail this worker, not exhaust the machine. The
        # limit is on top of what the worker already maps, whatever was imported.
        limit = _virtual_bytes() + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    try:
        while (task := conn.recv()) is not None:
            index, path = task
            for event in _guarded(parse, index, Path(path), backend, batch_pages):
                conn.send(event)
    except (EOFError, BrokenPipeError):
        pass  # the pool is gone (killed, or interrupted): nothing left to report to


class ParserPool:
    """`events(paths)` yields ParseEvents; each file ends in one FileDone or FileFailed."""

    def __init__(
        self,
        processes: int,
        backend: str = "pdfium",
        batch_pages: int = 16,
        stall_seconds: float = 300.0,
        memory_mb: int = 0,
        parse=parse_file,
    ) -> None:
        self.processes = processes
        self.memory_mb = memory_mb
        self.parse = parse  # tests swap in a parser that crashes or hangs
        self.backend = backend
        self.batch_pages = batch_pages
        self.stall_seconds = stall_seconds
        self.abandoned: set[int] = set()  # files the consumer gave up on (a cap)

    def abandon(self, index: int) -> None:
        """Stop parsing file `index` (its worker is replaced); no more events for it."""
        self.abandoned.add(index)

    def events(self, paths: Sequence[Path]) -> Iterator[ParseEvent]:
        if not paths:
            return
        if self.processes <= 0:  # inline: same code path, no processes (tests, debugging)
            for i, p in enumerate(paths):
                for event in _guarded(self.parse, i, p, self.backend, self.batch_pages):
                    if i in self.abandoned:
                        break
                    yield event
            return
        yield from _PoolRun(self, paths).run()


class _Worker:
    def __init__(self, ctx, pool: ParserPool) -> None:
        self.conn, child = ctx.Pipe(duplex=True)
        args = (child, pool.parse, pool.backend, pool.batch_pages, pool.memory_mb)
        self.proc = ctx.Process(target=_worker, args=args, daemon=True)
        self.proc.start()
        child.close()  # so that recv() raises EOFError once the worker dies
        self.index: int | None = None  # the file it works on
        self.quiet = 0.0  # seconds the pool waited on it in vain

    def give(self, index: int | None, path: Path | None = None) -> None:
        self.index, self.quiet = index, 0.0
        self.conn.send(None if index is None else (index, str(path)))

    def stop(self) -> None:
        if self.proc.is_alive():
            self.proc.kill()
        self.proc.join(timeout=5)
        self.conn.close()


class _PoolRun:
    """The pool hands out files one by one over a pipe per worker.

    A pipe per worker (rather than shared queues) means a worker killed at any
    moment can't leave a shared lock held, and the pool always knows which
    file each worker was on.
    """

    POLL = 0.2

    def __init__(self, pool: ParserPool, paths: Sequence[Path]) -> None:
        # "spawn": workers must not inherit torch's threads and locks from the parent.
        self.ctx = mp.get_context("spawn")
        self.pool = pool
        self.paths = list(paths)
        self.next = 0
        self.open = set(range(len(paths)))
        self.workers: list[_Worker] = []

    def _new_worker(self) -> None:
        worker = _Worker(self.ctx, self.pool)
        self.workers.append(worker)
        self._feed(worker)

    def _feed(self, worker: _Worker) -> None:
        if self.next < len(self.paths):
            worker.give(self.next, self.paths[self.next])
            self.next += 1
        else:
            worker.give(None)

    def run(self) -> Iterator[ParseEvent]:
        try:
            for _ in range(min(self.pool.processes, len(self.paths))):
                self._new_worker()
            while self.open:
                for worker in [w for w in self.workers if w.index in self.pool.abandoned]:
                    yield from self._give_up(worker, "")  # no event: the consumer dropped it
                busy = [w for w in self.workers if w.index is not None]
                ready = wait([w.conn for w in busy], timeout=self.POLL)
                if not ready:
                    yield from self._check_stalls(busy)
                for worker in busy:
                    if worker.conn in ready:
                        yield from self._receive(worker)
        finally:
            for worker in self.workers:
                worker.stop()

    def _receive(self, worker: _Worker) -> Iterator[ParseEvent]:
        try:
            event = worker.conn.recv()
        except (EOFError, OSError):
            worker.proc.join(timeout=5)
            yield from self._give_up(worker, self._crash_reason(worker.proc.exitcode))
            return
        worker.quiet = 0.0
        yield event
        if isinstance(event, FileDone | FileFailed):
            self.open.discard(event.index)
            self._feed(worker)

    def _crash_reason(self, code: int | None) -> str:
        how = f"exit code {code}"
        if code is not None and code < 0:
            with contextlib.suppress(ValueError):
                how = f"killed by {signal.Signals(-code).name}"
        reason = f"the PDF parser crashed on this file ({how})"
        if self.pool.memory_mb and code in (-signal.SIGABRT, -signal.SIGSEGV, -signal.SIGBUS):
            # Allocation failures inside PDFium abort the process rather than raise.
            reason += f"; it may need more than RAG_PARSER_MEMORY_MB={self.pool.memory_mb}"
        return reason

    def _check_stalls(self, busy: list[_Worker]) -> Iterator[ParseEvent]:
        """Runs only when no worker had output, so a quiet worker is not merely throttled."""
        for worker in busy:
            worker.quiet += self.POLL
            if worker.quiet >= self.pool.stall_seconds:
                reason = f"parsing stalled for more than {self.pool.stall_seconds:g} s (skipped)"
                yield from self._give_up(worker, reason)

    def _give_up(self, worker: _Worker, reason: str) -> Iterator[ParseEvent]:
        index = worker.index
        worker.stop()
        self.workers.remove(worker)
        if index is not None and index in self.open:
            self.open.discard(index)
            if index not in self.pool.abandoned:
                yield FileFailed(index, reason)
        if self.next < len(self.paths):
            self._new_worker()
