"""One API question answered in a worker thread, its events handed to the event loop.

llama.cpp and the search block, so each question runs in its own thread: it waits
for its turn on the model, searches, and streams; the request's coroutine reads the
events (`piece`, then `done` or `error`) from an asyncio queue. Setting `cancel` (the
client hung up) makes it leave the line, or stop generating at the next token.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llm.answer import Answer
from llm.chat import ChatSession
from llm.protocols import Generator
from service.model_queue import Turn, TurnCancelled


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    finish_reason: str = "stop"

    def to_json(self) -> dict:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


@dataclass
class Event:
    kind: str  # "piece", "done", "error"
    value: Any = None


@dataclass
class QuestionRun:
    """Ask `question` in `session` (history restored already) once `turn` is granted."""

    session: ChatSession
    generator: Generator | None  # the session's model (None: quotes)
    question: str
    files: Sequence[str] | None
    passages: int | None
    temperature: float | None
    max_tokens: int | None
    turn: Turn | None  # None: no model to wait for (quotes)
    loop: asyncio.AbstractEventLoop
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    cancel: threading.Event = field(default_factory=threading.Event)
    answer: Answer | None = None
    usage: Usage = field(default_factory=Usage)
    waited_s: float = 0.0
    started: float = field(default_factory=time.monotonic)
    on_end: Callable[[], None] | None = None

    def __post_init__(self) -> None:
        if self.turn is not None:
            self.cancel = self.turn.cancel

    def start(self) -> QuestionRun:
        threading.Thread(target=self._work, name="api-question", daemon=True).start()
        return self

    def _emit(self, kind: str, value: Any = None) -> None:
        with contextlib.suppress(RuntimeError):  # the event loop is gone (shutdown)
            self.loop.call_soon_threadsafe(self.events.put_nowait, Event(kind, value))

    def _work(self) -> None:
        try:
            if self.turn is not None:
                self.turn.wait()
                self.waited_s = self.turn.waited
            answer = self.session.ask(
                self.question,
                files=self.files,
                passages=self.passages,
                temperature=self.temperature,
                max_tokens=self.max_tokens,
            )
            self.answer = answer
            for piece in answer:
                if self.cancel.is_set():
                    break
                self._emit("piece", piece)
            answer.close()
            self.usage = self._usage(answer)
        except TurnCancelled:
            self._emit("error", TurnCancelled())
            return
        except Exception as exc:  # turned into an OpenAI-shaped error by the request
            self._emit("error", exc)
            return
        finally:
            if self.turn is not None:
                self.turn.release()
            if self.on_end is not None:
                self.on_end()
        self._emit("done", answer)

    def _usage(self, answer: Answer) -> Usage:
        """Token counts from the model's own figures (read while the turn is still held)."""
        generator = self.generator
        if generator is None:
            return Usage(0, len(answer.text.split()))
        stats = getattr(generator, "last_stats", None)
        completion = generator.count_tokens(answer.text)
        limit = self.max_tokens or self.session.options.sampling.max_tokens
        made = stats.completion_tokens if stats is not None else completion
        return Usage(
            prompt_tokens=stats.prompt_tokens if stats is not None else 0,
            completion_tokens=completion,
            finish_reason="length" if made >= limit else "stop",
        )
