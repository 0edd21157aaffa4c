"""A tiny OpenAI-compatible server on loopback that a test scripts, to make it misbehave.

By default it behaves like llama-cpp-python's server with a word tokenizer: one
model ("stub"), `/extras/tokenize` counting words, and chat completions whose
`usage.prompt_tokens` is the words plus a ChatML-like template (`TEMPLATE_*`).
A test replaces any route with its own handler, which writes whatever it likes:
HTML, a stream that stops halfway, nothing at all for a while.

    with StubServer({("POST", "/v1/chat/completions"): drop_after_two}) as stub:
        connect_served_generator(ServedOptions(stub.url))
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

WORD = re.compile(r"\w+|[^\w\s]")
TEMPLATE_PER_MESSAGE = 5  # like <|im_start|>role\n ... <|im_end|>\n
TEMPLATE_PER_PROMPT = 3  # the cue for the answer
Handler = Callable[["Request"], None]


class Request:
    """What a handler sees: the parsed JSON body and the raw connection to answer on."""

    def __init__(self, handler: BaseHTTPRequestHandler, body: Any) -> None:
        self.handler, self.body = handler, body
        self.headers = handler.headers

    def json(self, value: Any, status: int = 200) -> None:
        self.raw(json.dumps(value).encode(), status, "application/json")

    def raw(self, data: bytes, status: int = 200, kind: str = "text/html") -> None:
        h = self.handler
        h.send_response(status)
        h.send_header("Content-Type", kind)
        h.send_header("Content-Length", str(len(data)))
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.write(data)

    def start_events(self, chunked: bool = True) -> None:
        """Server-sent events, in HTTP chunks as real servers send them (or until close)."""
        h = self.handler
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        if chunked:
            h.send_header("Transfer-Encoding", "chunked")
        h.send_header("Connection", "close")
        h.end_headers()
        h.wfile.flush()
        self._chunked = chunked

    def event(self, data: Any) -> None:
        text = data if isinstance(data, str) else json.dumps(data)
        self.write(f"data: {text}\n\n".encode())

    def write(self, data: bytes) -> None:
        if getattr(self, "_chunked", False):
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.handler.wfile.write(data)
        self.handler.wfile.flush()

    def end_events(self) -> None:
        if getattr(self, "_chunked", False):
            self.handler.wfile.write(b"0\r\n\r\n")
            self.handler.wfile.flush()

    def client_gone(self, within: float) -> bool:
        """Whether the client closed the connection within `within` seconds."""
        sock = self.handler.connection
        sock.settimeout(0.05)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if sock.recv(1) == b"":
                    return True
            except TimeoutError:
                continue
            except OSError:
                return True
        return False


def words(text: str) -> int:
    return len(WORD.findall(text))


def prompt_tokens(messages: Sequence[dict]) -> int:
    return TEMPLATE_PER_PROMPT + sum(TEMPLATE_PER_MESSAGE + words(m["content"]) for m in messages)


def chunk(text: str | None = None, finish: str | None = None) -> dict:
    delta = {"content": text} if text is not None else {}
    return {
        "object": "chat.completion.chunk",
        "choices": [{"delta": delta, "finish_reason": finish}],
    }


def models(request: Request) -> None:
    request.json({"object": "list", "data": [{"id": "stub", "object": "model"}]})


def tokenize(request: Request) -> None:
    request.json({"tokens": list(range(words(request.body["input"])))})


def chat(request: Request) -> None:
    body = request.body
    if not body.get("stream"):
        usage = {"prompt_tokens": prompt_tokens(body["messages"]), "completion_tokens": 1}
        message = {"role": "assistant", "content": "Yes"}
        request.json({"choices": [{"message": message, "finish_reason": "length"}], "usage": usage})
        return
    request.start_events()
    for piece in ("Two years", " [1]."):
        request.event(chunk(piece))
    request.event(chunk(finish="stop"))
    request.event("[DONE]")
    request.end_events()


DEFAULT_ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/v1/models"): models,
    ("POST", "/extras/tokenize"): tokenize,
    ("POST", "/v1/chat/completions"): chat,
}


class StubServer:
    """`DEFAULT_ROUTES` with `routes` over them; `requests` keeps (method, path, body)."""

    def __init__(self, routes: dict[tuple[str, str], Handler] | None = None) -> None:
        self.routes = {**DEFAULT_ROUTES, **(routes or {})}
        self.requests: list[tuple[str, str, Any]] = []
        stub = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def _route(self, method: str) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                text = self.rfile.read(size).decode() if size else ""
                body = json.loads(text) if text else None
                stub.requests.append((method, self.path, body))
                handler = stub.routes.get((method, self.path))
                if handler is None:
                    Request(self, body).json({"detail": "Not Found"}, 404)
                else:
                    handler(Request(self, body))
                self.close_connection = True

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def bodies(self, method: str, path: str) -> list[Any]:
        return [b for m, p, b in self.requests if (m, p) == (method, path)]

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
