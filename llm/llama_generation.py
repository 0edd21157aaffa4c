"""One generation on the shared llama.cpp model: in line, reading the prompt, writing; cancellable.

`LlamaCppGenerator.stream` returns a `Generation`. Iterating it waits for the
model's turn (`llm.generation_line`), then streams the text. From any other
thread, `progress()` says where it is and `cancel()` stops it within
milliseconds, even in the middle of reading a long prompt: llama.cpp checks
an abort callback between the operations of every computation
(`llama_set_abort_callback`).

That callback runs for every operation of the model's graph, hundreds of
times per token. A Python callback would take the GIL each time: with another
Python thread busy (the app serves several browser tabs) every call may wait
for the interpreter's switch interval, 5 ms, and slow generation many times
over. So the callback is C's own `strlen`, pointed at a two-byte buffer: it
returns 0 while the first byte is NUL and 1 once `cancel` sets it, and
`bool abort(void *)` reads that return value as false or true; no Python runs
while llama.cpp computes. A cancelled generation raises `GenerationCancelled`
where its consumer waits for the next piece.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Iterator
from typing import Any, Protocol

from core.errors import ModelError
from llm.generation_line import GenerationLine, Ticket
from llm.types import GenerationParams, GenerationStats
from llm.watch import GenerationCancelled, GenerationProgress, GenerationStage

_NEVER = ctypes.create_string_buffer(2)  # the flag of no generation: never set
_CALLBACK: Any = None


def abort_flag() -> ctypes.Array:
    """A flag for `set_abort_flag`: set with `flag[0] = b"\\x01"`."""
    return ctypes.create_string_buffer(2)  # [1] stays NUL: strlen() is 0 or 1


def set_abort_flag(llama: Any, flag: ctypes.Array | None) -> None:
    """llama.cpp aborts its computation on this `Llama`'s context once `flag` is set."""
    import llama_cpp

    data = ctypes.addressof(flag if flag is not None else _NEVER)
    llama_cpp.llama_set_abort_callback(llama._ctx.ctx, _abort_callback(), data)


def _abort_callback() -> Any:
    global _CALLBACK
    if _CALLBACK is None:
        import llama_cpp

        libc_name = ctypes.util.find_library("c") or ctypes.util.find_library("msvcrt")
        strlen = getattr(ctypes.CDLL(libc_name), "strlen", None) if libc_name else None
        if strlen is not None:
            _CALLBACK = llama_cpp.ggml_abort_callback(ctypes.cast(strlen, ctypes.c_void_p).value)
        else:  # no C library found: the same test in Python (takes the GIL, slower)
            _CALLBACK = llama_cpp.ggml_abort_callback(
                lambda data: ctypes.string_at(data, 1) != b"\0"
            )
    return _CALLBACK


class SharedModel(Protocol):
    """What a generation uses of `LlamaCppGenerator` (on its turn, except `queue`)."""

    queue: GenerationLine
    read_rate: float | None  # prompt tokens read per second, last measured

    def cached_prefix(self, tokens: list[int]) -> int: ...

    def abort_when(self, flag: ctypes.Array | None) -> None: ...

    def completion(self, tokens: list[int], params: GenerationParams, stop: Any) -> Any: ...

    def after_abort(self) -> None: ...

    def measured(self, stats: GenerationStats) -> None: ...


class Generation:
    """Iterate for the text pieces; `progress()` and `cancel()` from any thread."""

    def __init__(self, model: SharedModel, tokens: list[int], params: GenerationParams) -> None:
        self._model = model
        self._tokens = tokens
        self._params = params
        self._ticket = Ticket()
        self._cancelled = threading.Event()
        self._flag = abort_flag()
        self._stage: GenerationStage = "waiting"
        self._since = time.monotonic()
        self._cached = 0
        self._written = 0
        self._pieces: Iterator[str] | None = None
        self._started = False

    def __iter__(self) -> Generation:
        return self

    def __next__(self) -> str:
        if self._pieces is None:
            self._pieces = self._run()
        return next(self._pieces)

    def close(self) -> None:
        """Stop here (the consumer is done); frees the model for the next in line."""
        if self._pieces is not None:
            self._pieces.close()
        if not self._started:
            self._model.queue.done(self._ticket)  # left the line before its turn
            self._stage = "done"

    def cancel(self) -> None:
        """Stop as soon as possible; the consumer gets `GenerationCancelled`."""
        self._cancelled.set()
        self._flag[0] = b"\x01"

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    def progress(self) -> GenerationProgress:
        stage, since = self._stage, self._since
        ahead = self._model.queue.ahead(self._ticket) if stage == "waiting" else 0
        prompt, cached = len(self._tokens), self._cached
        rate = self._model.read_rate
        expected = (prompt - cached) / rate if rate and stage != "waiting" else None
        return GenerationProgress(stage, ahead, prompt, cached, self._written, expected, since)

    def _to(self, stage: GenerationStage) -> None:
        self._stage, self._since = stage, time.monotonic()

    def _run(self) -> Iterator[str]:
        queue = self._model.queue
        if not queue.wait_turn(self._ticket, self._cancelled.is_set) or self.cancelled:
            queue.done(self._ticket)
            self._stage = "done"
            raise GenerationCancelled()
        self._started = True
        model, tokens = self._model, self._tokens
        started = time.perf_counter()
        first: float | None = None
        checks: list[int] = []
        pieces: Any = None
        finished = False
        try:
            self._cached = model.cached_prefix(tokens)
            self._to("reading")
            model.abort_when(self._flag)

            def sampled(ids: Any, _logits: Any) -> bool:
                # Called once per sampled token, and once more after the last one when
                # generation ends by itself; True stops generating.
                if not checks:
                    self._to("writing")
                checks.append(len(ids))
                self._written = len(checks)
                return self.cancelled

            pieces = model.completion(tokens, self._params, sampled)
            for chunk in pieces:
                if self.cancelled:
                    break
                text = chunk["choices"][0]["text"]
                if text:
                    first = first or time.perf_counter()
                    yield text
            if self.cancelled:
                raise GenerationCancelled()
            finished = True
        except (RuntimeError, ValueError) as exc:  # llama_decode failures and kin
            if self.cancelled:  # llama.cpp aborted its computation, as asked
                model.after_abort()
                raise GenerationCancelled() from None
            raise ModelError(
                f"llama.cpp failed while generating: {exc}",
                hint="retry; if it persists, lower RAG_LLM_N_CTX or RAG_LLM_N_BATCH",
            ) from exc
        finally:
            if pieces is not None:
                pieces.close()
            model.abort_when(None)
            now = time.perf_counter()
            model.measured(
                GenerationStats(
                    prompt_tokens=len(tokens),
                    cached_tokens=self._cached,
                    completion_tokens=len(checks) - finished,
                    first_token_s=(first or now) - started,
                    total_s=now - started,
                )
            )
            self._to("done")
            model.queue.done(self._ticket)
