"""One model, many askers: questions take turns on it, fairly, in a line with a bound.

A local llama.cpp model answers one question at a time. Every generation in this
process, from the browser app or the API, takes a *turn* from the one process-wide
`ModelQueue`:

* lanes: the app and the API each ask in their own lane. When the model frees up, the
  next lane in turn is served (round robin); within a lane, first come, first served.
  So with both busy, neither waits for more than one answer of the other.
* a bound: a lane may cap how many questions wait (the API's `RAG_API_QUEUE_MAX`); one
  more gets `QueueFull`, whose `retry_after` the API sends as 503 with Retry-After.
* cancel: a question that is waiting leaves the line when its `cancel` event is set (a
  client hung up); one that is generating stops at its next token (`QueuedGenerator`).
* the machine: the holder of this process's turn also takes the machine's turn
  (`service.machine_turns`), so `make run` and `make serve` on one machine alternate too.

A turn is held by one thread; a generation in that thread while it holds the turn
(the answer after a follow-up's rewrite) goes on without queueing again.

>>> queue = ModelQueue()
>>> with queue.turn("api") as turn:
...     queue.holder() is turn, queue.waiting()
(True, 0)
>>> queue.holder() is None
True
"""

from __future__ import annotations

import contextlib
import logging
import statistics
import threading
import time
from collections import deque
from collections.abc import Iterator

from core.errors import RagError
from service.machine_turns import MachineTurns, TurnCancelled

__all__ = ["ModelQueue", "QueueFull", "Turn", "TurnCancelled", "process_queue"]
LOG = logging.getLogger(__name__)

_DEFAULT_ANSWER_S = 10.0  # Retry-After before any answer was timed


class QueueFull(RagError):
    """Too many questions wait for the model already; `retry_after` is an estimate in s."""

    def __init__(self, waiting: int, retry_after: int) -> None:
        super().__init__(
            f"{waiting} questions are waiting for the model already",
            hint=f"retry in about {retry_after} s (the Retry-After header says when)",
        )
        self.retry_after = retry_after


class Turn:
    """One question's place in line and, once granted, its hold on the model."""

    def __init__(self, queue: ModelQueue, lane: str, cancel: threading.Event | None) -> None:
        self.lane = lane
        self.cancel = cancel or threading.Event()
        self.queued_at = time.monotonic()
        self.granted_at: float | None = None
        self.ahead = 0  # questions ahead of it when it joined (the one generating included)
        self._queue = queue
        self._thread: int | None = None  # the thread that waits for it and then holds it
        self._machine_token: str | None = None
        self._depth = 1
        self._released = False

    @property
    def waited(self) -> float:
        """Seconds it waited in line (so far, if still waiting)."""
        return (self.granted_at or time.monotonic()) - self.queued_at

    def wait(self) -> Turn:
        """Block until it is this question's turn; `TurnCancelled` if `cancel` was set first."""
        self._queue._wait_for(self)
        return self

    def release(self) -> None:
        """Give the model back (or leave the line); nested holds count down first."""
        self._queue._release(self)

    def position(self) -> int:
        """How many are served before it (0 once it holds the model)."""
        return self._queue.position(self)

    def __enter__(self) -> Turn:
        return self.wait()

    def __exit__(self, *exc: object) -> None:
        self.release()


class ModelQueue:
    """The line of questions for this process's model (see the module doc)."""

    def __init__(self, machine: MachineTurns | None = None) -> None:
        self._machine = machine
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._lanes: dict[str, deque[Turn]] = {}
        self._holder: Turn | None = None
        self._last_lane = ""
        self._held_s: deque[float] = deque(maxlen=20)

    def enter(
        self, lane: str, *, max_waiting: int | None = None, cancel: threading.Event | None = None
    ) -> Turn:
        """Join the line (without waiting yet). `QueueFull` when `max_waiting` wait already.

        In the thread that holds the turn, this returns that turn, held once more. Another
        thread may join for the one that will wait (the API admits in its event loop).
        """
        with self._lock:
            holder = self._holder
            if holder is not None and holder._thread == threading.get_ident():
                holder._depth += 1
                return holder
            waiting = self._lanes.setdefault(lane, deque())
            if max_waiting is not None and len(waiting) >= max_waiting:
                raise QueueFull(len(waiting), self._retry_after(len(waiting)))
            turn = Turn(self, lane, cancel)
            turn.ahead = sum(len(q) for q in self._lanes.values()) + (holder is not None)
            waiting.append(turn)
            self._grant_next()
            return turn

    @contextlib.contextmanager
    def turn(
        self, lane: str, *, max_waiting: int | None = None, cancel: threading.Event | None = None
    ) -> Iterator[Turn]:
        turn = self.enter(lane, max_waiting=max_waiting, cancel=cancel)
        try:
            yield turn.wait()
        finally:
            turn.release()

    def holder(self) -> Turn | None:
        return self._holder

    def held_here(self) -> bool:
        """Whether this thread holds the model now (a nested generation needs no new turn)."""
        holder = self._holder
        return holder is not None and holder._thread == threading.get_ident()

    def waiting(self, lane: str | None = None) -> int:
        """Questions waiting (not generating), in one lane or in all."""
        with self._lock:
            lanes = [self._lanes.get(lane, ())] if lane else self._lanes.values()
            return sum(len(q) for q in lanes)

    def position(self, turn: Turn) -> int:
        """How many are served before it: 0 once it holds the model."""
        with self._lock:
            if turn is self._holder or turn.granted_at is not None:
                return 0
            mine = self._lanes.get(turn.lane, deque())
            before = list(mine).index(turn) if turn in mine else 0
            others = sum(min(len(q), before + 1) for n, q in self._lanes.items() if n != turn.lane)
            return before + others + (self._holder is not None)

    def typical_answer_s(self) -> float:
        """The median time a turn was held lately (the default before any)."""
        with self._lock:
            return statistics.median(self._held_s) if self._held_s else _DEFAULT_ANSWER_S

    # -- inside ------------------------------------------------------------------------------

    def _retry_after(self, waiting: int) -> int:
        typical = statistics.median(self._held_s) if self._held_s else _DEFAULT_ANSWER_S
        return max(1, round(typical * (waiting + 1) / 2))

    def _grant_next(self) -> None:
        """Hand the free model to the next lane in turn (caller holds the lock)."""
        if self._holder is not None:
            return
        names = [n for n, q in self._lanes.items() if q]
        if not names:
            return
        order = sorted(names)
        after = [n for n in order if n > self._last_lane]
        lane = (after or order)[0]
        turn = self._lanes[lane].popleft()
        turn.granted_at = time.monotonic()
        self._holder = turn
        self._last_lane = lane
        self._changed.notify_all()

    def _wait_for(self, turn: Turn) -> None:
        if turn._depth > 1 or turn._machine_token is not None:
            return  # a nested hold: already granted
        with self._lock:
            turn._thread = threading.get_ident()
            while self._holder is not turn:
                if turn.cancel.is_set():
                    self._leave(turn)
                    raise TurnCancelled()
                self._changed.wait(timeout=0.05)
        if self._machine is not None:
            try:
                turn._machine_token = self._machine.acquire(turn.cancel)
            except OSError as exc:  # the line's file is gone or unwritable: answer anyway
                LOG.warning("could not take the machine's turn (%s); answering anyway", exc)
            except BaseException:
                self._release(turn, force=True)
                raise
            turn.granted_at = time.monotonic()

    def _leave(self, turn: Turn) -> None:
        lane = self._lanes.get(turn.lane)
        if lane is not None and turn in lane:
            lane.remove(turn)
        turn._released = True
        self._changed.notify_all()

    def _release(self, turn: Turn, force: bool = False) -> None:
        if turn._released:
            return
        if turn._depth > 1 and not force:
            turn._depth -= 1
            return
        if turn._machine_token is not None and self._machine is not None:
            self._machine.release(turn._machine_token)
            turn._machine_token = None
        with self._lock:
            if self._holder is turn:
                self._holder = None
                if turn.granted_at is not None:
                    self._held_s.append(time.monotonic() - turn.granted_at)
                turn._released = True
                self._grant_next()
                self._changed.notify_all()
            else:
                self._leave(turn)


_PROCESS_QUEUE: ModelQueue | None = None
_PROCESS_LOCK = threading.Lock()


def process_queue(machine: bool = True) -> ModelQueue:
    """The one queue of this process (made on first use; `machine` only counts then)."""
    global _PROCESS_QUEUE
    with _PROCESS_LOCK:
        if _PROCESS_QUEUE is None:
            _PROCESS_QUEUE = ModelQueue(_machine_line() if machine else None)
        return _PROCESS_QUEUE


def _machine_line() -> MachineTurns | None:
    from service import machine_turns

    if not machine_turns.available():
        return None
    try:
        return MachineTurns()
    except OSError as exc:  # e.g. a temporary folder that cannot be written
        LOG.warning("questions take turns within this process only: %s", exc)
        return None
