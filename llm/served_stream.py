"""One streamed answer from a model server: its text pieces, how it ended, and a Stop that works.

The pieces come from the server's server-sent events (`data: {...}` lines, then
`data: [DONE]`). The stream also records how the answer ended (`finish_reason`:
"stop", or "length" when the token limit cut it, which the guard reads) and the
token usage when the server reports it.

`close()` may be called from any thread, also while the request still waits for
its first token: it shuts the socket down, so the waiting read returns at once and
the server sees the client go (llama.cpp's servers and vLLM then stop generating).

An answer that ends without a finish reason was cut off: by a dropped connection,
or by llama-cpp-python's server ending one request when another arrives. Both are
errors that say so, never an answer that silently stops mid-sentence.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from core.errors import ModelError
from llm.served_http import (
    BrokenConnectionError,
    ServerClient,
    parse_json,
    server_error,
    transport_errors,
)

PATH = "/chat/completions"


class ServedStream:
    """Iterate for the answer's text pieces; `close()` ends the request."""

    def __init__(
        self,
        client: ServerClient,
        body: dict,
        on_done: Callable[[ServedStream], None] | None = None,
    ) -> None:
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.stage = "waiting"  # then reading (the server reads the prompt), writing, done
        self.started = self.first_piece_at = self.ended_at = 0.0
        self._parts: list[str] = []
        self._client, self._body, self._on_done = client, body, on_done
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._pieces = self._generate()

    @property
    def text(self) -> str:
        """What arrived so far."""
        return "".join(self._parts)

    @property
    def pieces(self) -> int:
        return len(self._parts)

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        return next(self._pieces)

    def cancel(self) -> None:
        """Stop from another thread (the app's Stop button): the same as `close`."""
        self.close()

    def close(self) -> None:
        """Stop: end the request, from this thread or any other."""
        self._closed.set()
        with self._lock:
            sock = self._socket
        if sock is not None:
            _shutdown(sock)
        # Being iterated by another thread (ValueError): it ends at the shut socket.
        with contextlib.suppress(ValueError):
            self._pieces.close()

    def _generate(self) -> Iterator[str]:
        self.started = time.perf_counter()
        self.stage = "reading"
        response = None
        try:
            if self._closed.is_set():
                return
            try:
                response = self._client.open_stream(self._body, self._connected)
            except ModelError:
                if self._closed.is_set():
                    return
                raise
            if self._closed.is_set():
                return
            kind = response.headers.get("content-type", "")
            if "text/event-stream" in kind:
                yield from self._events(response)
            else:  # a server that ignored stream=true: one JSON body
                body = response.read().decode("utf-8", "replace")
                yield from self._take(parse_json(self._client.url, PATH, body, kind))
                self._check_finished(done=True)
        finally:
            self.ended_at = time.perf_counter()
            self.stage = "done"
            if response is not None:
                response.close()
            if self._on_done is not None:
                self._on_done(self)

    def _connected(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock
        if self._closed.is_set():  # stopped while connecting
            _shutdown(sock)

    def _events(self, response: httpx.Response) -> Iterator[str]:
        lines = response.iter_lines()
        done = False
        while not done:
            try:
                with transport_errors(self._client.url, self._client.timeout_s, self._received()):
                    line = next(lines, None)
            except ModelError as exc:
                if self._closed.is_set():
                    return
                if isinstance(exc, BrokenConnectionError):
                    self._diagnose()
                raise
            if line is None or self._closed.is_set():
                break
            if not line.startswith("data:"):
                continue  # blank lines, ": ping" comments, event: and id: fields
            data = line[len("data:") :].strip()
            done = data == "[DONE]"
            if not done:
                yield from self._take(parse_json(self._client.url, PATH, data, "text/event-stream"))
        if not self._closed.is_set():
            self._check_finished(done)

    def _take(self, chunk: Any) -> Iterator[str]:
        if not isinstance(chunk, dict):
            raise ModelError(
                f"the model server at {self._client.url} sent {str(chunk)[:80]!r} where a chat "
                "completion was expected",
                hint="RAG_LLM_URL must point at an OpenAI-compatible API",
            )
        if chunk.get("error"):  # vLLM and llama-server report a failure inside the stream
            raise server_error(self._client.url, PATH, 500, json.dumps(chunk))
        if isinstance(chunk.get("usage"), dict):
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or choice.get("message") or {}
            text = delta.get("content") or ""
            if text:
                self.first_piece_at = self.first_piece_at or time.perf_counter()
                self.stage = "writing"
                self._parts.append(text)
                yield text
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def _check_finished(self, done: bool) -> None:
        if self.finish_reason is not None:
            return
        self._diagnose()
        if done:
            raise ModelError(
                f"the model server ended this answer before it was finished{self._received()}, "
                "probably because another request interrupted it",
                hint="llama-cpp-python's server does that by default: start it with "
                "--interrupt_requests False (`make serve-model` does), or use a server that "
                "answers requests side by side (llama.cpp's llama-server, vLLM)",
            )
        raise ModelError(
            f"the model server closed the answer's stream before it was finished{self._received()}",
            hint="check the server's log (it may have crashed, run out of memory or been "
            "restarted), then ask again",
        )

    def _diagnose(self) -> None:
        """A stream that ended before its first word: the same request once more, without
        streaming, raises the server's own error (llama-cpp-python, for one, sends a prompt
        longer than its context as an empty stream, and the reason only without one)."""
        if self._parts:
            return
        body = {k: v for k, v in self._body.items() if k != "stream_options"}
        self._client.post("/chat/completions", {**body, "stream": False, "max_tokens": 1})

    def _received(self) -> str:
        if not self._parts:
            return " (before the answer's first word)"
        return f" (after {len(self.text)} characters of the answer)"


def _shutdown(sock: socket.socket) -> None:
    """Shut a socket down: a read blocked on it in another thread returns at once."""
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)
