"""Where an ingest's time goes, stage by stage, for the report and the benchmark.

The main thread's wall-clock seconds in each stage ("wait" is waiting for the
parser processes; "chunk", "embed", "write"), and the parsers' own CPU seconds
("parse"), which overlap the others: they run in processes of their own.

>>> clock = StageClock()
>>> clock.timed("embed", lambda: 42)
42
>>> list(clock.waited(iter([1, 2]))), clock.seconds["wait"] >= 0
([1, 2], True)
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")
STAGES = ("parse", "wait", "chunk", "embed", "write")


class StageClock:
    """Seconds per stage; `timed` and `waited` add to them."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = dict.fromkeys(STAGES, 0.0)

    def timed(self, stage: str, work: Callable[[], T]) -> T:
        start = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds[stage] += time.perf_counter() - start

    def waited(self, items: Iterable[T]) -> Iterator[T]:
        """`items`, with the time spent waiting for each counted as "wait"."""
        it = iter(items)
        while True:
            start = time.perf_counter()
            try:
                item = next(it)
            except StopIteration:
                return
            finally:
                self.seconds["wait"] += time.perf_counter() - start
            yield item
