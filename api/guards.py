"""What every request passes first: its key (`RAG_API_KEYS`) and the size limit of its body.

Both are plain ASGI middleware, so they hold for every path, unknown ones included,
before any route reads a byte of the body.

>>> keys = KeyCheck(None, ("k1", "k2"))
>>> keys.accepts(b"Bearer k2"), keys.accepts(b"Bearer k3"), keys.accepts(b"k1")
(True, False, False)
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any

from api.errors import error_body

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/health"})  # says only "ok": no key needed (load balancers)


async def send_error(
    send: Send, status: int, message: str, code: str, headers: dict[str, str] | None = None
) -> None:
    body = json.dumps(error_body(status, message, code)).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


def header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value
    return None


class KeyCheck:
    """401 without `Authorization: Bearer <one of the keys>`. No keys: every request passes.

    Each key is compared in constant time and every key is compared, so neither the
    time taken nor anything logged tells a key apart. Keys never appear in a log line.
    """

    def __init__(self, app: ASGIApp | None, keys: Sequence[str]) -> None:
        self.app = app
        self._keys = [k.encode() for k in keys]

    def accepts(self, authorization: bytes | None) -> bool:
        scheme, _, given = (authorization or b"").partition(b" ")
        given = given.strip()
        matched = False
        for key in self._keys:
            matched |= hmac.compare_digest(given, key)
        return matched and scheme.lower() == b"bearer"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or not self._keys
            or scope.get("path") in OPEN_PATHS
            or self.accepts(header(scope, b"authorization"))
        ):
            return await self.app(scope, receive, send)
        missing = header(scope, b"authorization") is None
        await send_error(
            send,
            401,
            ("No API key was sent" if missing else "The API key is not valid")
            + ". Next step: send `Authorization: Bearer <key>` with one of the keys in "
            "RAG_API_KEYS (the OpenAI SDK sends its api_key so)",
            "missing_api_key" if missing else "invalid_api_key",
            {"WWW-Authenticate": "Bearer"},
        )


class _BodyTooLarge(BaseException):
    # A BaseException so that no route's `except Exception` turns it into a 400 or a 500.
    pass


class BodyLimit:
    """413 for a body over its limit: `uploads` bytes for multipart uploads, else `json`.

    A declared Content-Length over the limit is refused before reading; a body sent
    without one (chunked) is counted as it arrives and refused once it passes the limit.
    """

    def __init__(self, app: ASGIApp, *, json_bytes: int, upload_bytes: int) -> None:
        self.app = app
        self.json_bytes = json_bytes
        self.upload_bytes = upload_bytes

    def limit(self, scope: Scope) -> int:
        kind = (header(scope, b"content-type") or b"").lower()
        return self.upload_bytes if kind.startswith(b"multipart/") else self.json_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.limit(scope)
        declared = header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            return await self._refuse(send, limit)
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _BodyTooLarge()
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        size = f"{limit / 1e6:.1f} MB" if limit >= 1_000_000 else f"{limit // 1000} kB"
        await send_error(
            send,
            413,
            f"The request body is over the {size} limit. Next step: send less (a shorter "
            "conversation, fewer files per upload); the limits are RAG_API_MAX_REQUEST_KB "
            "and RAG_UPLOAD_MAX_MB x RAG_UPLOAD_MAX_FILES",
            "request_too_large",
        )
