"""The served generator: a model on an OpenAI-compatible server (llama.cpp, vLLM, Ollama, ...).

    gen = load_served_generator(ServedOptions("http://127.0.0.1:8080/v1"))
    session = ChatSession(retriever, gen)          # the rest is as with the local model

It keeps the local backend's contract (`llm.protocols.Generator`): the same grounded
messages (the server renders them with the model's own chat template), a budget
counted by one of `llm.served_tokens`'s counters, streamed pieces, Stop closing the
request (`llm.served_stream.ServedStream.close`), and how the answer ended for the
guard. Connecting checks the server once (`llm.served_connect`), so a mistake shows at
start-up rather than at the first question.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ContextTooSmallError
from llm.protocols import PromptCounter
from llm.served_connect import check_server, defuse_control_tokens, fold_system
from llm.served_http import ServerClient
from llm.served_stream import ServedStream
from llm.types import GenerationParams, GenerationStats, Message, ModelInfo

_SHARED_LOCK = threading.Lock()
_SHARED: dict[ServedOptions, OpenAIGenerator] = {}


@dataclass(frozen=True)
class ServedOptions:
    """Where the model is served and how to talk to it (the edges fill it from the settings)."""

    url: str  # the API's base URL, e.g. http://127.0.0.1:8080/v1
    api_key: str | None = None
    model: str | None = None  # the name the server knows; None: the only one it lists
    timeout_s: float = 120.0
    n_ctx: int = 4096  # context window, unless the server reports a smaller one
    token_counting: str = "auto"  # auto, gguf, server or estimate (llm.served_tokens)
    tokenizer: Path | None = None  # the served model's GGUF, for the gguf counter


def load_served_generator(options: ServedOptions) -> OpenAIGenerator:
    """The shared generator for these options; connects (and checks) on first use."""
    with _SHARED_LOCK:
        if options not in _SHARED:
            for old in _SHARED.values():
                old.close()
            _SHARED.clear()
            _SHARED[options] = connect_served_generator(options)
        return _SHARED[options]


def connect_served_generator(options: ServedOptions, transport: Any = None) -> OpenAIGenerator:
    """A generator for the model on this server, checked (raises `ModelError` with a next step)."""
    client = ServerClient(
        options.url, api_key=options.api_key, timeout_s=options.timeout_s, transport=transport
    )
    try:
        facts = check_server(
            client,
            model=options.model,
            n_ctx=options.n_ctx,
            token_counting=options.token_counting,
            tokenizer=options.tokenizer,
        )
    except BaseException:
        client.close()
        raise
    return OpenAIGenerator(
        client,
        facts.model,
        facts.counter,
        n_ctx=facts.n_ctx,
        info=facts.info,
        fold_system=facts.fold_system,
        defuse=facts.defuse,
    )


class OpenAIGenerator:
    """A model on a server. See `llm.protocols.Generator` for the contract."""

    # The server schedules its requests itself (llama.cpp's in turn, vLLM batched), for
    # every app process at once: the process's own model line would only add a wait.
    serves_concurrently = True

    def __init__(
        self,
        client: ServerClient,
        model: str,
        counter: PromptCounter,
        *,
        n_ctx: int,
        info: ModelInfo,
        fold_system: bool = False,
        defuse: Callable[[str], str] | None = None,
    ) -> None:
        self._client, self.model, self._counter = client, model, counter
        self._n_ctx, self._info, self._fold = n_ctx, info, fold_system
        self._defuse = defuse or defuse_control_tokens
        self.last_stats: GenerationStats | None = None

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def info(self) -> ModelInfo:
        return self._info

    @property
    def counting(self) -> str:
        """gguf, server or estimate: how prompt tokens are counted."""
        return self._counter.mode

    def prepare(self, messages: Sequence[Message]) -> list[Message]:
        """The messages as sent: control-token look-alikes defused, the system prompt folded
        into the first user message when the model's template takes none."""
        safe = [Message(m.role, self._defuse(m.content)) for m in messages]
        return fold_system(safe) if self._fold else safe

    def count_tokens(self, text: str) -> int:
        return self._counter.count_text(text)

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return self._counter.count_messages(self.prepare(messages))

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> ServedStream:
        """The answer's pieces as the server streams them; the request starts when iterated."""
        prepared = self.prepare(messages)
        counted = self._counter.count_messages(prepared)
        if counted + params.max_tokens > self._n_ctx:
            raise ContextTooSmallError(
                f"prompt of {counted} tokens + {params.max_tokens} answer tokens "
                f"exceeds the context of {self._n_ctx}",
                hint="budget the prompt with llm.budget.fit_prompt before generating",
            )
        body = request_body(self.model, prepared, params)
        return ServedStream(self._client, body, on_done=lambda s: self._record(s, counted))

    def reset_cache(self) -> None:
        """Forget memoized token counts: the next count asks again (a cold start)."""
        clear = getattr(self._counter, "clear", None)
        if clear is not None:
            clear()

    def close(self) -> None:
        self._client.close()
        closer = getattr(self._counter, "close", None)
        if closer is not None:
            closer()

    def _record(self, stream: ServedStream, counted: int) -> None:
        usage = stream.usage
        details = usage.get("prompt_tokens_details") or {}
        first = stream.first_piece_at or stream.ended_at
        self.last_stats = GenerationStats(
            prompt_tokens=usage.get("prompt_tokens") or counted,
            cached_tokens=details.get("cached_tokens") or 0,
            completion_tokens=usage.get("completion_tokens") or stream.pieces,
            first_token_s=first - stream.started,
            total_s=stream.ended_at - stream.started,
        )


def request_body(model: str, messages: Sequence[Message], params: GenerationParams) -> dict:
    """A streamed chat completion request.

    `top_k` and the repeat penalty are not OpenAI's, but llama.cpp's servers, vLLM and LM
    Studio read them (vLLM as `repetition_penalty`); the others ignore them.

    >>> params = GenerationParams(max_tokens=8, stop=("\\n",))
    >>> body = request_body("m", [Message("user", "Hi")], params)
    >>> body["stream"], body["max_tokens"], body["stop"], body["messages"][0]["content"]
    (True, 8, ['\\n'], 'Hi')
    """
    body: dict[str, Any] = {
        "model": model,
        "messages": [m.to_dict() for m in messages],
        "stream": True,
        "stream_options": {"include_usage": True},
        "max_tokens": params.max_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "repeat_penalty": params.repeat_penalty,
        "repetition_penalty": params.repeat_penalty,
    }
    if params.top_k > 0:  # 0 means no cut here; vLLM would refuse it
        body["top_k"] = params.top_k
    if params.seed is not None:
        body["seed"] = params.seed
    if params.stop:
        body["stop"] = list(params.stop)
    return body
