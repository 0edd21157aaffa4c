"""Parse PDFs in worker processes that can crash, hang or be killed without harm.

Each worker takes whole files from a task queue and streams back their pages a
batch at a time through a bounded result queue, so memory stays bounded by the
batch, not by the document (a 2,000-page PDF is never held whole), and a slow
consumer (the embedder) throttles the parsers instead of piling up text.

A parser that segfaults on a hostile PDF, or stalls on one, costs only that
file: the pool reports it as failed, starts a fresh worker, and goes on.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import queue
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from core.errors import PdfError
from core.types import PageText


@dataclass(frozen=True)
class FileOpened:
    index: int
    page_count: int
    backend: str


@dataclass(frozen=True)
class PagesParsed:
    index: int
    pages: tuple[PageText, ...]


@dataclass(frozen=True)
class FileDone:
    index: int


@dataclass(frozen=True)
class FileFailed:
    index: int
    reason: str


ParseEvent = FileOpened | PagesParsed | FileDone | FileFailed


def parse_file(index: int, path: Path, backend: str, batch_pages: int) -> Iterator[ParseEvent]:
    """Events for one file; this is all a worker does, and the inline mode runs it directly."""
    from ingest.extract import iter_page_batches, open_pdf

    try:
        with open_pdf(path, backend) as doc:
            yield FileOpened(index, doc.page_count, doc.backend)
            for batch in iter_page_batches(doc, batch_pages):
                yield PagesParsed(index, tuple(batch))
        yield FileDone(index)
    except PdfError as exc:
        yield FileFailed(index, exc.reason)
    except Exception as exc:  # a parser bug must cost one file, not the batch
        yield FileFailed(index, f"parser error: {type(exc).__name__}: {exc}")


def _worker(tasks, results, backend: str, batch_pages: int) -> None:
    while (task := tasks.get()) is not None:
        index, path = task
        results.put(("start", index, os.getpid()))
        for event in parse_file(index, Path(path), backend, batch_pages):
            results.put(("event", event, os.getpid()))


class ParserPool:
    """`events(paths)` yields ParseEvents; every file ends with exactly one FileDone or FileFailed."""

    def __init__(
        self,
        processes: int,
        backend: str = "pdfium",
        batch_pages: int = 16,
        stall_seconds: float = 300.0,
    ) -> None:
        self.processes = processes
        self.backend = backend
        self.batch_pages = batch_pages
        self.stall_seconds = stall_seconds

    def events(self, paths: Sequence[Path]) -> Iterator[ParseEvent]:
        if not paths:
            return
        if self.processes <= 0:  # inline: same code path, no processes (tests, debugging)
            for i, p in enumerate(paths):
                yield from parse_file(i, p, self.backend, self.batch_pages)
            return
        yield from _PoolRun(self, paths).run()


class _PoolRun:
    POLL = 0.2

    def __init__(self, pool: ParserPool, paths: Sequence[Path]) -> None:
        # "spawn": workers must not inherit torch's threads and locks from the parent.
        self.ctx = mp.get_context("spawn")
        self.pool = pool
        self.tasks = self.ctx.Queue()
        self.results = self.ctx.Queue(maxsize=4 * max(1, pool.processes))
        self.open = set(range(len(paths)))
        self.current: dict[int, int] = {}  # worker pid -> file index it works on
        self.quiet: dict[int, float] = {}  # worker pid -> seconds we waited on it in vain
        self.workers: dict[int, mp.Process] = {}
        for i, p in enumerate(paths):
            self.tasks.put((i, str(p)))
        n = min(pool.processes, len(paths))
        for _ in range(n):
            self.tasks.put(None)
            self._start_worker()

    def _start_worker(self) -> None:
        args = (self.tasks, self.results, self.pool.backend, self.pool.batch_pages)
        proc = self.ctx.Process(target=_worker, args=args, daemon=True)
        proc.start()
        self.workers[proc.pid] = proc
        self.quiet[proc.pid] = 0.0

    def run(self) -> Iterator[ParseEvent]:
        try:
            while self.open:
                try:
                    kind, payload, pid = self.results.get(timeout=self.POLL)
                except queue.Empty:
                    yield from self._check_workers()
                    continue
                self.quiet[pid] = 0.0
                if kind == "start":
                    self.current[pid] = payload
                    continue
                if isinstance(payload, FileDone | FileFailed):
                    self.current.pop(pid, None)
                    if payload.index not in self.open:
                        continue
                    self.open.discard(payload.index)
                elif payload.index not in self.open:
                    continue  # late output of a file already given up on
                yield payload
        finally:
            for proc in self.workers.values():
                if proc.is_alive():
                    proc.kill()
                proc.join(timeout=5)
            self.tasks.cancel_join_thread()
            self.results.cancel_join_thread()

    def _check_workers(self) -> Iterator[ParseEvent]:
        """Called only when the queue is empty, so a quiet worker is not merely throttled."""
        for pid, proc in list(self.workers.items()):
            index = self.current.get(pid)
            if proc.is_alive():
                if index is None:
                    continue
                self.quiet[pid] += self.POLL
                if self.quiet[pid] < self.pool.stall_seconds:
                    continue
                proc.kill()
                proc.join()
                reason = f"parsing stalled for more than {self.pool.stall_seconds:g} s (skipped)"
            else:
                if index is None and proc.exitcode == 0:
                    del self.workers[pid]
                    continue
                reason = f"the PDF parser crashed on this file (exit code {proc.exitcode})"
            del self.workers[pid]
            self.current.pop(pid, None)
            if index is not None and index in self.open:
                self.open.discard(index)
                yield FileFailed(index, reason)
            self.tasks.put(None)
            self._start_worker()
        if not self.workers and self.open:
            # Every worker is gone yet files remain: they were taken but never reported.
            for index in sorted(self.open):
                yield FileFailed(index, "the PDF parser stopped before reading this file")
            self.open.clear()
