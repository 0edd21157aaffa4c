"""SIGTERM (what `kill`, systemd and container runtimes send) ends an ingest as Ctrl-C does.

Python's default for SIGTERM is to die at once, losing the documents finished
since the last checkpoint. Raised as an interrupt instead, it unwinds through
the pipeline's commit, so finished files are kept. A second SIGTERM during
that commit ends the process at once (the index stays loadable: commits are atomic).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager


class Terminated(KeyboardInterrupt):
    """SIGTERM arrived; a KeyboardInterrupt, so every Ctrl-C path handles it the same."""


def _raise_terminated(signum, frame) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    raise Terminated()


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated (main thread only, as signals are)."""
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
