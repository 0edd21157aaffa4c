"""An ingest that runs in the background of the page or the API: never cancelled by a click
or a dropped connection, stoppable.

The page script (or an API request) starts it and only reads its progress, so the chat stays
usable (questions search the index as it is; finished files appear at each
checkpoint) and a click elsewhere reruns the page without touching it. One
ingest runs at a time per service (one index); every browser tab sees it.
`cancel` stops it at the next progress report: the ingest pipeline then
commits the files it finished (`index.writer.committing`) and the
rest are left for the next run.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ingest.pipeline import Progress

State = Literal["running", "done", "stopped", "failed"]
_IDS = itertools.count(1)


class IngestCancelled(Exception):
    """Raised from the progress callback to stop the pipeline (it commits finished files)."""


@dataclass
class IngestJob:
    """One ingest from the page. `run` gets the progress callback and returns its result."""

    label: str
    run: Callable[[Callable[[Progress], None]], Any]
    id: int = field(default_factory=lambda: next(_IDS))
    state: State = "running"
    progress: Progress | None = None
    result: Any = None
    error: BaseException | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float = 0.0
    _cancel: threading.Event = field(default_factory=threading.Event)
    # Hook for more detail in the status line (e.g. OCR): Progress -> extra text.
    detail: Callable[[Progress], str] | None = None

    def start(self) -> IngestJob:
        threading.Thread(target=self._work, name=f"ingest-{self.id}", daemon=True).start()
        return self

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def cancelling(self) -> bool:
        return self._cancel.is_set() and self.state == "running"

    @property
    def finished(self) -> bool:
        return self.state != "running"

    def _on_progress(self, progress: Progress) -> None:
        self.progress = progress
        if self._cancel.is_set():
            raise IngestCancelled()

    def _work(self) -> None:
        try:
            self.result = self.run(self._on_progress)
            state: State = "done"
        except IngestCancelled:
            state = "stopped"
        except Exception as exc:  # shown by the page
            self.error = exc
            state = "failed"
        self.ended = time.monotonic()
        self.state = state

    def status(self) -> str:
        """'2 of 10 files; 50 of about 200 pages read; 120 of 150 chunks embedded
        (12.0 chunks/s, about 40 s left), 3 pages read by OCR: b.pdf'.

        The rate and the time left follow the chunks embedded, the slow part: a rate in
        pages would fall while the last pages' chunks are embedded.
        """
        p = self.progress
        if p is None:
            return f"{self.label}: finding the PDFs ..."
        elapsed = max(time.monotonic() - self.started, 1e-6)
        text = f"{p.files_done} of {p.files_total} files; {p.pages_done:,}"
        if p.pages_total:
            text += f" of about {p.pages_total:,}"
        text += " pages read; "
        if not p.chunks_made:
            text += "no chunks yet"
        else:
            text += f"{p.chunks:,} of {p.chunks_made:,} chunks embedded"
            rate = p.chunks / elapsed
            left = self._chunks_expected() - p.chunks
            if rate > 0:
                text += f" ({rate:.1f} chunks/s"
                text += f", about {duration(left / rate)} left)" if left > 0 else ")"
        if p.ocr_pages:
            text += f", {p.ocr_pages:,} pages read by OCR"
        if self.detail is not None:
            text += self.detail(p)
        return text + (f": {p.current}" if p.current else "")

    def _chunks_expected(self) -> float:
        """The chunks the whole ingest will make, at the chunks per byte read so far
        (the bytes to read are known from the start; the page total is not)."""
        p = self.progress
        if p is None or not p.bytes_done or p.bytes_done >= p.bytes_total:
            return float(p.chunks_made if p else 0)
        return p.chunks_made * p.bytes_total / p.bytes_done

    @property
    def share(self) -> float:
        """How much is done, by chunks embedded (by bytes read before the first chunk);
        never less than it has shown before, so the bar does not go back."""
        p = self.progress
        if p is None:
            return 0.0
        expected = self._chunks_expected()
        if expected:
            share = min(p.chunks / expected, 1.0)
        elif p.bytes_total:
            share = min(p.bytes_done / p.bytes_total, 1.0) / 2
        else:
            share = 0.0
        self._shown = max(getattr(self, "_shown", 0.0), share)
        return self._shown


def duration(seconds: float) -> str:
    """'40 s', '3 min', '1 h 5 min'.

    >>> duration(40), duration(170), duration(3900)
    ('40 s', '3 min', '1 h 5 min')
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    minutes = round(seconds / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60} min"
