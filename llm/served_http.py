"""HTTP to an OpenAI-compatible model server: JSON calls, a streamed chat, errors with next steps.

httpx is the client: it is installed already (langchain-core needs it), streams
server-sent events line by line, has separate connect and read timeouts, and hands
over the socket, so a Stop from another thread can end a request that is still
waiting for its first token. The `openai` SDK would add nothing here but a layer:
the tokenize endpoints are not in it, and its retries would hide a dead server.

Every failure becomes a `ModelError` (or `ContextTooSmallError`) that says what
happened and what to do: the server unreachable, a timeout, a refused key, a
wrong URL or model name, a stream dropped mid-answer, a body that is not JSON.

>>> server_error("http://h:8080/v1", "/models", 404, '{"detail": "Not Found"}').hint
'RAG_LLM_URL must be the base URL of the OpenAI-compatible API, usually ending in /v1 (e.g. http://127.0.0.1:8080/v1)'
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from typing import Any

import httpx

from core.errors import ContextTooSmallError, ModelError

URL_HINT = (
    "RAG_LLM_URL must be the base URL of the OpenAI-compatible API, usually ending in /v1 "
    "(e.g. http://127.0.0.1:8080/v1)"
)
START_HINT = (
    "start the model server (e.g. `make serve-model`, or `python -m llama_cpp.server --model "
    "FILE.gguf --port 8080`), or correct RAG_LLM_URL; see docs/served-model.md"
)
_CONTEXT_WORDS = ("context length", "context window", "maximum context", "context size", "n_ctx")


class UnreachableError(ModelError):
    """Nothing answers at the server's address."""


class BrokenConnectionError(ModelError):
    """The connection broke in mid-request (the server crashed, restarted, or a proxy cut it)."""


class ServerClient:
    """One server's API: `url` is the base (…/v1); `root` the server itself (tokenize, props)."""

    def __init__(
        self,
        url: str,
        *,
        api_key: str | None = None,
        timeout_s: float = 120.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.root = self.url[: -len("/v1")] if self.url.endswith("/v1") else self.url
        self.timeout_s = timeout_s
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        timeout = httpx.Timeout(timeout_s, connect=min(10.0, timeout_s))
        # Loading the CA certificates costs ~60 ms a client: only for https, and once.
        verify: Any = httpx.create_ssl_context() if self.url.startswith("https:") else False
        self._http = httpx.Client(
            headers=headers, timeout=timeout, transport=transport, verify=verify
        )
        # Every answer on a connection of its own: its socket is known from the moment it
        # connects, so a Stop can shut it down even before the server sends its headers.
        self._streams = httpx.Client(
            headers=headers,
            timeout=timeout,
            transport=transport,
            verify=verify,
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    def get(self, path: str) -> Any:
        """GET `url + path` as JSON."""
        return self._call("GET", self.url + path, None)

    def post(self, path: str, body: dict, *, root: bool = False) -> Any:
        """POST JSON to `url + path` (or `root + path`), the answer as JSON."""
        return self._call("POST", (self.root if root else self.url) + path, body)

    def probe(self, path: str, body: dict | None = None) -> Any | None:
        """`root + path` as JSON, or None when the server has no such endpoint (or it fails)."""
        try:
            return self._call("POST" if body is not None else "GET", self.root + path, body)
        except (UnreachableError, ContextTooSmallError):
            raise
        except ModelError:
            return None

    def open_stream(
        self, body: dict, on_socket: Callable[[socket.socket], None] | None = None
    ) -> httpx.Response:
        """The response of a streamed chat completion, checked; the caller closes it.

        `on_socket` gets the connection's socket as soon as it is connected.
        """

        def trace(event: str, info: dict) -> None:
            if event == "connection.connect_tcp.complete" and on_socket is not None:
                sock = info["return_value"].get_extra_info("socket")
                if isinstance(sock, socket.socket):
                    on_socket(sock)

        request = self._streams.build_request("POST", self.url + "/chat/completions", json=body)
        request.extensions["trace"] = trace
        with transport_errors(self.url, self.timeout_s):
            response = self._streams.send(request, stream=True)
        if response.status_code != 200:
            try:
                text = response.read().decode("utf-8", "replace")
            finally:
                response.close()
            raise server_error(self.url, "/chat/completions", response.status_code, text)
        return response

    def close(self) -> None:
        self._http.close()
        self._streams.close()

    def _call(self, method: str, url: str, body: dict | None) -> Any:
        with transport_errors(self.url, self.timeout_s):
            response = self._http.request(method, url, json=body)
        path = url[len(self.root) :]
        if response.status_code != 200:
            raise server_error(self.url, path, response.status_code, response.text)
        return parse_json(self.url, path, response.text, response.headers.get("content-type"))


class transport_errors:
    """Turns httpx's connection and timeout errors into `ModelError`s with a next step."""

    def __init__(self, url: str, timeout_s: float, received: str = "") -> None:
        self.url, self.timeout_s, self.received = url, timeout_s, received

    def __enter__(self) -> transport_errors:
        return self

    def __exit__(self, kind: type | None, exc: BaseException | None, _tb: Any) -> bool:
        if exc is None or not isinstance(exc, httpx.HTTPError):
            return False
        if isinstance(exc, httpx.ConnectTimeout | httpx.ConnectError):
            raise UnreachableError(
                f"cannot reach the model server at {self.url} ({_reason(exc)})", hint=START_HINT
            ) from exc
        if isinstance(exc, httpx.TimeoutException):
            raise ModelError(
                f"the model server at {self.url} did not answer within "
                f"{self.timeout_s:g} s{self.received}",
                hint="it may be busy with other questions or still loading its model: ask "
                "again, or raise RAG_LLM_TIMEOUT_SECONDS",
            ) from exc
        raise BrokenConnectionError(
            f"the connection to the model server at {self.url} broke{self.received} "
            f"({_reason(exc)})",
            hint="check the server's log (it may have crashed or run out of memory), "
            "then ask again",
        ) from exc


def parse_json(url: str, path: str, text: str, content_type: str | None) -> Any:
    """The body as JSON, or a `ModelError` saying the server answered something else."""
    try:
        return json.loads(text)
    except ValueError:
        snippet = " ".join(text.split())[:80]
        kind = (content_type or "no content type").split(";")[0]
        raise ModelError(
            f"the model server at {url} answered {path} with something that is not JSON "
            f"({kind}: {snippet!r})",
            hint=f"{URL_HINT}, not a web page, proxy or login screen",
        ) from None


def server_error(url: str, path: str, status: int, text: str) -> ModelError:
    """The error for an HTTP status other than 200, with the server's own message."""
    said = error_message(text)
    what = f"{status}: {said}" if said else str(status)
    lowered = said.lower()
    if status in (401, 403):
        return ModelError(
            f"the model server at {url} refused the request ({what})",
            hint="set RAG_LLM_API_KEY to the key the server expects",
        )
    if "model" in lowered and ("not found" in lowered or "does not exist" in lowered):
        return ModelError(
            f"the model server at {url} does not serve the model asked for ({what})",
            hint=f"set RAG_LLM_SERVED_MODEL to a model it lists at {url}/models",
        )
    if any(w in lowered for w in _CONTEXT_WORDS):
        return ContextTooSmallError(
            f"the model server's context window is smaller than this prompt and answer ({what})",
            hint="set RAG_LLM_N_CTX to the server's context size, or start the server with a "
            "larger one (llama.cpp: --n_ctx / -c; vLLM: --max-model-len)",
        )
    if status == 404:
        return ModelError(f"the model server at {url} has no {path} ({what})", hint=URL_HINT)
    if status in (408, 504, 524):
        return ModelError(
            f"the model server at {url} timed out ({what})",
            hint="ask again, or give the server more time or capacity",
        )
    if status == 503:
        return ModelError(
            f"the model server at {url} is not ready ({what})",
            hint="wait until it has loaded its model, then ask again",
        )
    return ModelError(
        f"the model server at {url} failed on {path} ({what})",
        hint="check the server's log and the RAG_LLM_* settings, then ask again",
    )


def error_message(text: str) -> str:
    """The message of an OpenAI-style error body, or the start of whatever the body is.

    >>> error_message('{"error": {"message": "Invalid API key", "code": 401}}')
    'Invalid API key'
    >>> error_message("<html><body>Bad Gateway</body></html>")
    '<html><body>Bad Gateway</body></html>'
    """
    try:
        body = json.loads(text)
    except ValueError:
        return " ".join(text.split())[:160]
    if isinstance(body, dict):
        for key in ("error", "detail", "message"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("msg") or json.dumps(value)
            if isinstance(value, list) and value and isinstance(value[0], dict):
                value = value[0].get("msg") or json.dumps(value[0])
            if value:
                return str(value)[:300]
    return " ".join(text.split())[:160]


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:160]
