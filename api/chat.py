"""POST /v1/chat/completions: OpenAI's chat format in, a grounded answer with its sources out.

The last message is the question; the user/assistant pairs before it are the
conversation, so a follow-up ("and for how long?") is rewritten into a standalone
search as in the app. The reply text keeps its `[n]` markers and `[unsupported]`
marks; the response (or, when streaming, the last chunk before `[DONE]`) carries
`sources`, `sentences` and `outcome`. `model: "extractive"` asks for quoted
passages without the language model.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anyio
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api import evidence
from api.errors import ApiError, from_exception, no_index_error
from api.runs import QuestionRun
from api.schemas import ChatRequest, parse
from service.shared import SharedService

router = APIRouter()
EXTRACTIVE = "extractive"
KEEPALIVE_S = 10.0  # an SSE comment this often while a question waits for the model
DISCONNECT_POLL_S = 0.25


@dataclass(frozen=True)
class Reply:
    """What every chunk and the response share."""

    id: str
    created: int
    model: str


def model_id(svc: SharedService) -> str:
    generator = svc.generator()
    return generator.info.name if generator is not None else EXTRACTIVE


def known_files(svc: SharedService, names: list[str] | None, param: str = "files") -> list | None:
    """Literal document names as the retriever's patterns; an unknown name is refused."""
    if not names:
        return None
    manifest = svc.manifest()
    indexed = manifest.documents if manifest is not None else {}
    unknown = [n for n in names if n not in indexed]
    if unknown:
        raise ApiError(
            400,
            f"No indexed document is named {', '.join(map(repr, unknown[:5]))}",
            code="unknown_file",
            param=param,
            hint="GET /v1/documents lists the names; use them exactly",
        )
    return [glob.escape(n) for n in names]


def check_question(text: str, limit: int, param: str = "messages") -> str:
    if not text:
        raise ApiError(
            400,
            "The question is empty",
            code="empty_question",
            param=param,
            hint="put the question in the last message, with role 'user'",
        )
    if len(text) > limit:
        raise ApiError(
            400,
            f"The question is {len(text):,} characters long; at most {limit:,} are accepted",
            code="question_too_long",
            param=param,
            hint="ask a shorter question (RAG_API_MAX_QUESTION_CHARS sets the limit)",
        )
    return text


class Gate:
    """A bound on questions answered without the model (quotes), which need no turn."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.inside = 0
        self._lock = threading.Lock()

    def enter(self) -> None:
        with self._lock:
            if self.inside >= self.limit:
                raise ApiError(
                    503,
                    f"{self.inside} questions are being answered already",
                    code="queue_full",
                    hint="retry in a second (the Retry-After header says when)",
                    headers={"Retry-After": "1"},
                )
            self.inside += 1

    def leave(self) -> None:
        with self._lock:
            self.inside -= 1


def prepare(svc: SharedService, body: ChatRequest, loop: asyncio.AbstractEventLoop) -> tuple:
    """Everything that can be refused before the answer starts (runs in a thread)."""
    if body.messages[-1].role != "user":
        raise ApiError(
            400,
            f"The last message has role {body.messages[-1].role!r}",
            code="invalid_messages",
            param="messages",
            hint="end `messages` with the question, as a message with role 'user'",
        )
    question = check_question(body.question(), svc.settings.api.max_question_chars)
    if svc.manifest() is None:
        raise no_index_error()
    files = known_files(svc, body.files)
    extractive = body.model == EXTRACTIVE
    if not extractive and svc.generator() is None and svc.model_problem is not None:
        raise ApiError(
            503,
            f"The language model cannot be used: {svc.model_problem}",
            code="model_unavailable",
            param="model",
            hint=f"fix the model file and restart the API, or ask with model {EXTRACTIVE!r} "
            "for quoted passages",
        )
    session = svc.new_session(extractive=extractive)
    session.restore(body.history())
    turn = None
    if session.mode == "generative":
        turn = svc.queue.enter(svc.lane, max_waiting=svc.settings.api.queue_max)
    run = QuestionRun(
        session=session,
        generator=svc.generator() if turn is not None else None,
        question=question,
        files=files,
        passages=body.passages,
        temperature=body.temperature,
        max_tokens=body.answer_tokens,
        turn=turn,
        loop=loop,
    )
    model = model_id(svc) if turn is not None else EXTRACTIVE
    return run, Reply(f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time()), model)


@router.post("/v1/chat/completions")
async def chat_completions(request: Request) -> Response:
    body = parse(ChatRequest, await request.body())
    svc: SharedService = request.app.state.service
    gate: Gate = request.app.state.quote_gate
    run, reply = await run_in_threadpool(prepare, svc, body, asyncio.get_running_loop())
    if run.turn is None:
        gate.enter()
        run.on_end = gate.leave
    run.start()
    if body.stream:
        return WatchedStream(
            _events(run, reply, body.include_usage),
            on_hang_up=run.cancel.set,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
    return await _complete(run, reply, request)


class WatchedStream(StreamingResponse):
    """A stream that notices a client hanging up at once, even while it sends nothing.

    Starlette (ASGI 2.4) learns of a hang-up only when a send fails, and an answer is
    sent a checked sentence at a time: seconds. Here the connection is watched all along.
    """

    def __init__(self, content: AsyncIterator[bytes], on_hang_up, **kwargs) -> None:
        super().__init__(content, **kwargs)
        self.on_hang_up = on_hang_up

    async def __call__(self, scope, receive, send) -> None:
        async with anyio.create_task_group() as group:

            async def watch() -> None:
                await self.listen_for_disconnect(receive)
                self.on_hang_up()
                group.cancel_scope.cancel()

            group.start_soon(watch)
            with contextlib.suppress(OSError):  # the client is gone
                await self.stream_response(send)
            group.cancel_scope.cancel()


def _chunk(reply: Reply, delta: dict, finish: str | None = None, **extra) -> dict:
    return {
        "id": reply.id,
        "object": "chat.completion.chunk",
        "created": reply.created,
        "model": reply.model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
        **extra,
    }


def _evidence(run: QuestionRun) -> dict:
    answer = run.answer
    return {
        "sources": evidence.sources(answer),
        "sentences": evidence.sentences(answer),
        "outcome": evidence.outcome(answer),
        "mode": answer.mode,
        "query": answer.query,
        "notes": list(answer.notes),
        "queue": {"waited_s": round(run.waited_s, 3)},
    }


def _sse(data: dict | str) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return f"data: {text}\n\n".encode()


async def _events(run: QuestionRun, reply: Reply, usage: bool) -> AsyncIterator[bytes]:
    ended = False
    try:
        yield _sse(_chunk(reply, {"role": "assistant", "content": ""}))
        while True:
            try:
                event = await asyncio.wait_for(run.events.get(), KEEPALIVE_S)
            except TimeoutError:
                yield b": waiting for the model\n\n"  # a comment: keeps proxies from timing out
                continue
            if event.kind == "piece":
                yield _sse(_chunk(reply, {"content": event.value}))
                continue
            ended = True
            if event.kind == "error":
                yield _sse(from_exception(event.value)[1])
            else:
                final = _evidence(run)
                yield _sse(_chunk(reply, {}, run.usage.finish_reason, **final))
                if usage:
                    yield _sse(
                        {**_chunk(reply, {}), "choices": [], "usage": run.usage.to_json(), **final}
                    )
            yield _sse("[DONE]")
            return
    finally:
        if not ended:
            run.cancel.set()  # the client hung up: leave the line, or stop generating


async def _complete(run: QuestionRun, reply: Reply, request: Request) -> Response:
    while True:
        try:
            event = await asyncio.wait_for(run.events.get(), DISCONNECT_POLL_S)
        except TimeoutError:
            if await request.is_disconnected():
                run.cancel.set()
                return Response(status_code=499)  # nobody reads it
            continue
        if event.kind == "piece":
            continue
        if event.kind == "error":
            status, body, headers = from_exception(event.value)
            return JSONResponse(body, status_code=status, headers=headers)
        answer = run.answer
        return JSONResponse(
            {
                "id": reply.id,
                "object": "chat.completion",
                "created": reply.created,
                "model": reply.model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer.text},
                        "finish_reason": run.usage.finish_reason,
                        "logprobs": None,
                    }
                ],
                "usage": run.usage.to_json(),
                **_evidence(run),
            }
        )
