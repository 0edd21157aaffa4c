"""The shared model behind a `Generator` that takes a turn (`service.model_queue`) to generate.

Every generation of the process goes through it, so a question asked anywhere waits
its turn; a generation whose turn is cancelled (a client hung up) stops at its next
token and frees the model. Everything else (counting tokens, the model's info) is
the wrapped generator's own, and needs no turn.

>>> from tests.fake_generator import ScriptedGenerator
>>> from llm.types import GenerationParams, Message
>>> from service.model_queue import ModelQueue, Turn
>>> queued = QueuedGenerator(ScriptedGenerator(["Two years [1]."]), ModelQueue(), lane="app")
>>> "".join(queued.stream([Message("user", "How long?")], GenerationParams(max_tokens=16)))
'Two years [1].'
>>> queued.n_ctx
4096
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from typing import Any

from llm.protocols import Generator
from llm.types import GenerationParams, Message, ModelInfo
from service.model_queue import ModelQueue, Turn


class QueuedGenerator:
    """`llm.protocols.Generator`; `stream` waits for the model's turn in `lane`."""

    def __init__(self, inner: Generator, queue: ModelQueue, lane: str) -> None:
        self.inner = inner
        self.queue = queue
        self.lane = lane

    @property
    def n_ctx(self) -> int:
        return self.inner.n_ctx

    @property
    def info(self) -> ModelInfo:
        return self.inner.info

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self.inner.count_prompt_tokens(messages)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        # The inner stream checks the prompt's size now (its contract); it generates lazily.
        return _TurnStream(self.inner.stream(messages, params), self.queue, self.lane)

    def __getattr__(self, name: str) -> Any:
        # The backend's extras (`last_stats`, `llama`, `template`, ...) stay reachable.
        return getattr(self.inner, name)


class _TurnStream:
    """The backend's stream, generated in a turn of the model's line.

    Within a question that holds the turn already (the app and the API hold it for the
    rewrite and the answer together) it takes no new one. Its turn's `cancel` stops it:
    at the next token, and at once (also while the prompt is read) for a backend that can
    abort its computation. The backend's `progress` and `cancel` stay reachable for a
    page that shows them (`llm.watch`).
    """

    def __init__(self, pieces: Iterator[str], queue: ModelQueue, lane: str) -> None:
        self._pieces = pieces
        self._queue = queue
        self._lane = lane
        self._turn: Turn | None = None
        self._iter: Iterator[str] | None = None

    def __iter__(self) -> _TurnStream:
        return self

    def __next__(self) -> str:
        if self._iter is None:
            self._iter = self._run()
        return next(self._iter)

    def _run(self) -> Iterator[str]:
        turn = self._turn = self._queue.enter(self._lane)  # the holder's own, when nested
        try:
            turn.wait()
            _cancel_with(turn.cancel, self._pieces)
            for piece in self._pieces:
                if turn.cancel.is_set():
                    break
                yield piece
        finally:
            self._close_inner()
            turn.release()

    def close(self) -> None:
        if self._iter is not None:
            self._iter.close()
        else:
            self._close_inner()

    def _close_inner(self) -> None:
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()  # stops llama.cpp and frees the backend for the next generation

    def __getattr__(self, name: str) -> Any:
        # `progress` and `cancel` of a backend that has them (`llm.llama_generation`).
        return getattr(self._pieces, name)


def _cancel_with(cancel: threading.Event, pieces: Iterator[str]) -> None:
    """A generation that can abort its computation (`llm.llama_generation`) stops within
    milliseconds of `cancel`, also while it reads the prompt, not at its next token."""
    stop = getattr(pieces, "cancel", None)
    if stop is None:
        return

    def watch() -> None:
        while not cancel.wait(0.1):
            if getattr(pieces, "progress", None) and pieces.progress().stage == "done":
                return
        stop()

    threading.Thread(target=watch, name="generation-cancel", daemon=True).start()
