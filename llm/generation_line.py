"""One generation at a time on a shared model, in the order asked, each waiter knowing its place.

A llama.cpp context serves one generation at a time, and the app shares one
model between every browser tab. A plain lock would let the tabs through in
no particular order and say nothing to those waiting; this queue is first
come, first served, tells each waiter how many generations are ahead of it
(`ahead`), and lets a waiter that was stopped leave the line at once.

It guards the llama.cpp context for every caller (the CLI, the harnesses, the app).
In the app and the API, `service.model_queue` decides first whose turn it is (lanes,
a bound, other processes); its turn holder then meets an empty line here.

>>> line = GenerationLine()
>>> first, second = Ticket(), Ticket()
>>> line.wait_turn(first)
True
>>> line.enter(second); line.ahead(second)
1
>>> line.done(first); line.wait_turn(second), line.ahead(second)
(True, 0)
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

POLL_S = 0.05  # how often a waiter looks whether it was stopped


class Ticket:
    """A place in the line (compared by identity)."""

    __slots__ = ()


class GenerationLine:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._line: list[Ticket] = []  # waiting, first in line first
        self._running: Ticket | None = None

    def enter(self, ticket: Ticket) -> None:
        """Join the line (without waiting); `wait_turn` enters by itself if needed."""
        with self._changed:
            if ticket is not self._running and ticket not in self._line:
                self._line.append(ticket)

    def wait_turn(self, ticket: Ticket, stopped: Callable[[], bool] = lambda: False) -> bool:
        """Wait until it is this ticket's turn: True, and the model is its own until `done`;
        False if `stopped()` became true while waiting (the ticket has then left the line)."""
        self.enter(ticket)
        with self._changed:
            while self._running is not None or self._line[0] is not ticket:
                if stopped():
                    self._line.remove(ticket)
                    self._changed.notify_all()
                    return False
                self._changed.wait(POLL_S)
            self._line.pop(0)
            self._running = ticket
            return True

    def done(self, ticket: Ticket) -> None:
        """The ticket's generation ended (or it leaves the line without one)."""
        with self._changed:
            if self._running is ticket:
                self._running = None
            elif ticket in self._line:
                self._line.remove(ticket)
            self._changed.notify_all()

    def ahead(self, ticket: Ticket) -> int:
        """Generations before this ticket's: the running one and those earlier in line."""
        with self._changed:
            if ticket is self._running:
                return 0
            place = self._line.index(ticket) if ticket in self._line else len(self._line)
            return place + (self._running is not None)

    def waiting(self) -> int:
        """Generations in line, not counting the running one."""
        with self._changed:
            return len(self._line)

    @contextmanager
    def turn(self) -> Iterator[None]:
        """The model, exclusively, at the end of the line (e.g. to reset or close it)."""
        ticket = Ticket()
        self.wait_turn(ticket)
        try:
            yield
        finally:
            self.done(ticket)
