"""The shared model behind a `Generator` that takes a turn (`service.model_queue`) to generate.

Every generation of the process goes through it, so a question asked anywhere waits
its turn; a generation whose turn is cancelled (a client hung up) stops at its next
token and frees the model. Everything else (counting tokens, the model's info) is
the wrapped generator's own, and needs no turn.

>>> from tests.fake_generator import ScriptedGenerator
>>> from llm.types import GenerationParams, Message
>>> from service.model_queue import ModelQueue
>>> queued = QueuedGenerator(ScriptedGenerator(["Two years [1]."]), ModelQueue(), lane="app")
>>> "".join(queued.stream([Message("user", "How long?")], GenerationParams(max_tokens=16)))
'Two years [1].'
>>> queued.n_ctx
4096
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from llm.protocols import Generator
from llm.types import GenerationParams, Message, ModelInfo
from service.model_queue import ModelQueue


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
        return self._in_turn(self.inner.stream(messages, params))

    def _in_turn(self, pieces: Iterator[str]) -> Iterator[str]:
        turn = self.queue.enter(self.lane)
        try:
            turn.wait()
            for piece in pieces:
                if turn.cancel.is_set():
                    break
                yield piece
        finally:
            close = getattr(pieces, "close", None)
            if close is not None:
                close()  # stops llama.cpp and releases its own lock
            turn.release()

    def __getattr__(self, name: str) -> Any:
        # The backend's extras (`last_stats`, `llama`, `template`, ...) stay reachable.
        return getattr(self.inner, name)
