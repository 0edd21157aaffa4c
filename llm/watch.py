"""Following one answer while it is made, and stopping it: what the chat shows while it waits.

`ChatSession.ask(..., watch=AnswerWatch())` records in the watch what the
answer is doing (`stage`: rewriting a follow-up, searching, answering), the
passages as soon as the search has them, and the model's current generation.
A generation from llama.cpp (`llm.llama_cpp_backend.Generation`) reports its
own `progress` (in line for the model, reading the prompt, writing) and can be
cancelled from another thread; other generators are stopped between pieces.

>>> watch = AnswerWatch()
>>> watch.stage, watch.passages, watch.progress() is None
('starting', None, True)
>>> watch.cancel(); watch.cancelled.is_set()
True
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from core.types import Passage
from llm.types import GenerationParams, Message

Stage = Literal["starting", "searching", "answering"]
GenerationStage = Literal["waiting", "reading", "writing", "done"]


class GenerationCancelled(Exception):
    """Raised by a generation that was cancelled, where its consumer would wait for it."""


@dataclass(frozen=True)
class GenerationProgress:
    """Where one generation is: in line for the model, reading the prompt, or writing."""

    stage: GenerationStage
    ahead: int = 0  # generations before this one (waiting)
    prompt_tokens: int = 0  # the whole prompt (reading, writing)
    cached_tokens: int = 0  # of which the model had read already (its KV cache)
    written_tokens: int = 0  # tokens generated so far (writing)
    expected_read_s: float | None = None  # the reading's duration at the model's last pace
    since: float = 0.0  # time.monotonic() when this stage began


@runtime_checkable
class SteerableStream(Protocol):
    """A generator's stream that reports its progress and can be cancelled from anywhere."""

    def progress(self) -> GenerationProgress: ...

    def cancel(self) -> None: ...


class AnswerWatch:
    """What one question's answer is doing, for a page to show; `cancel` stops it.

    Written by the thread that answers, read by others: every field is replaced whole.
    """

    def __init__(self, cancelled: threading.Event | None = None) -> None:
        self.cancelled = cancelled or threading.Event()
        self.stage: Stage = "starting"
        self.passages: tuple[Passage, ...] | None = None  # known once the search is done
        self.searched_at: float | None = None  # time.monotonic() when they were known
        self.rewriting = False  # the current generation rewrites a follow-up
        self._generation: Any = None
        self._lock = threading.Lock()

    def cancel(self) -> None:
        with self._lock:
            self.cancelled.set()
            generation = self._generation
        if isinstance(generation, SteerableStream):
            generation.cancel()

    def progress(self) -> GenerationProgress | None:
        """The current generation's progress; None without one, or from a plain generator."""
        generation = self._generation
        return generation.progress() if isinstance(generation, SteerableStream) else None

    def attach(self, generation: Any, *, rewriting: bool = False) -> None:
        """The model's current generation for this answer (cancelled at once if stopped)."""
        with self._lock:
            self._generation = generation
            self.rewriting = rewriting
            stopped = self.cancelled.is_set()
        if stopped and isinstance(generation, SteerableStream):
            generation.cancel()

    def found(self, passages: Sequence[Passage]) -> None:
        self.passages = tuple(passages)
        self.searched_at = time.monotonic()


class WatchedGenerator:
    """A generator whose every stream is attached to a watch (the rest passes through)."""

    def __init__(self, generator: Any, watch: AnswerWatch) -> None:
        self._generator = generator
        self._watch = watch

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generator, name)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        pieces = self._generator.stream(messages, params)
        self._watch.attach(pieces, rewriting=self._watch.stage == "searching")
        return pieces
