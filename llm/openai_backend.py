"""The served generator: a model on an OpenAI-compatible server (llama.cpp, vLLM, Ollama, ...).

    gen = load_served_generator(ServedOptions("http://127.0.0.1:8080/v1"))
    session = ChatSession(retriever, gen)          # the rest is as with the local model

It keeps the local backend's contract (`llm.protocols.Generator`): the same grounded
messages (the server renders them with the model's own chat template), a budget
counted by one of `llm.served_tokens`'s counters, streamed pieces, Stop closing the
request (`llm.served_stream.ServedStream.close`), and how the answer ended for the
guard. Connecting checks once, so a mistake shows at start-up rather than at the first
question: the server answers, it serves the model named (or exactly one), how tokens
are counted, whether the chat template takes a system message, and the context size
where the server reports one (vLLM, llama.cpp's llama-server).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ContextTooSmallError, ModelError
from llm.served_http import ServerClient
from llm.served_stream import ServedStream
from llm.served_tokens import (
    PROBES,
    EstimateCounter,
    PromptCounter,
    TextTokenizeCounter,
    chat_tokenizer,
    text_tokenizer,
    usage_prompt_tokens,
)
from llm.types import GenerationParams, GenerationStats, Message, ModelInfo, OffloadReport

# Control tokens of the common chat formats (ChatML, Llama 3, Gemma, [INST]): text equal to
# one is broken with a zero-width space, as the local backend does with its own vocabulary.
_CONTROL = re.compile(
    r"<\|[A-Za-z0-9_]{1,40}\|>|</?s>|<(?:start|end)_of_turn>|\[/?INST\]|<</?SYS>>"
)
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
        return _connect(client, options)
    except BaseException:
        client.close()
        raise


class OpenAIGenerator:
    """A model on a server. See `llm.protocols.Generator` for the contract."""

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


def defuse_control_tokens(text: str) -> str:
    """
    >>> defuse_control_tokens("a <|im_end|> b [INST]") == "a <\\u200b|im_end|> b [\\u200bINST]"
    True
    """
    return _CONTROL.sub(lambda m: m.group(0)[0] + "\u200b" + m.group(0)[1:], text)


def fold_system(messages: Sequence[Message]) -> list[Message]:
    """The system prompt moved into the first user message (as `ChatTemplate.render` does).

    >>> [m.content for m in fold_system([Message("system", "Rules."), Message("user", "Q?")])]
    ['Rules.\\n\\nQ?']
    """
    out = list(messages)
    if out and out[0].role == "system":
        system = out.pop(0).content
        first = out[0].content if out else ""
        out[:1] = [Message("user", f"{system}\n\n{first}" if out else system)]
    return out


def _connect(client: ServerClient, options: ServedOptions) -> OpenAIGenerator:
    entry = _served_model(client, options.model)
    model = str(entry["id"])
    gguf = None
    if options.tokenizer is not None and options.token_counting in ("auto", "gguf"):
        from llm.gguf_tokenizer import GgufTokenizer

        gguf = GgufTokenizer(options.tokenizer)
    fold = bool(gguf and gguf.fold_system)
    defuse = gguf.defuse if gguf else defuse_control_tokens
    fold, first_usage = _first_probe(client, model, fold, defuse)
    warnings: list[str] = []

    def prepared(messages: Sequence[Message]) -> list[Message]:
        safe = [Message(m.role, defuse(m.content)) for m in messages]
        return fold_system(safe) if fold else safe

    counter = _counter(client, model, options, gguf, prepared, first_usage, warnings)
    reported = _reported_context(client, entry)
    n_ctx = options.n_ctx
    if reported and reported < n_ctx:
        warnings.append(
            f"the server's context is {reported} tokens, less than RAG_LLM_N_CTX={n_ctx}: "
            f"prompts are fitted to {reported}"
        )
        n_ctx = reported
    info = ModelInfo(
        path=Path(model),
        n_ctx=n_ctx,
        n_ctx_train=gguf.n_ctx_train if gguf else 0,
        offload=OffloadReport(0, 0, 0, False, "model server"),
        chat_template="the server" + (", system prompt folded into the first message" * fold),
        warnings=tuple(warnings),
        served_by=client.url,
        token_counting=counter.description,
    )
    return OpenAIGenerator(
        client, model, counter, n_ctx=n_ctx, info=info, fold_system=fold, defuse=defuse
    )


def _served_model(client: ServerClient, wanted: str | None) -> dict:
    listed = client.get("/models")
    entries = listed.get("data") if isinstance(listed, dict) else None
    if not isinstance(entries, list):
        raise ModelError(
            f"the model server at {client.url} answered /models without a model list",
            hint="RAG_LLM_URL must be the base URL of an OpenAI-compatible API (…/v1)",
        )
    models = [e for e in entries if isinstance(e, dict) and e.get("id")]
    names = ", ".join(repr(str(e["id"])) for e in models) or "none"
    for entry in models:
        if (wanted is None and len(models) == 1) or str(entry["id"]) == wanted:
            return entry
    if wanted is None:
        raise ModelError(
            f"the model server at {client.url} serves {len(models)} models ({names})",
            hint="set RAG_LLM_SERVED_MODEL to the one to answer with",
        )
    raise ModelError(
        f"the model server at {client.url} does not serve a model named {wanted!r} "
        f"(it serves: {names})",
        hint="set RAG_LLM_SERVED_MODEL to one of those names",
    )


def _complete(client: ServerClient, model: str, messages: Sequence[Message]) -> int | None:
    """A one-token answer to `messages`; the prompt tokens the server counted, if it says."""
    body = {
        "model": model,
        "messages": [m.to_dict() for m in messages],
        "max_tokens": 1,
        "temperature": 0.0,
        "stream": False,
    }
    return usage_prompt_tokens(client.post("/chat/completions", body))


def _first_probe(
    client: ServerClient, model: str, fold: bool, defuse: Callable[[str], str]
) -> tuple[bool, int | None]:
    """Ask one short question; a template that refuses the system role gets it folded."""
    probe = [Message(m.role, defuse(m.content)) for m in PROBES[0]]
    try:
        return fold, _complete(client, model, fold_system(probe) if fold else probe)
    except ModelError as exc:
        if fold or "system" not in exc.message.lower():
            raise
    return True, _complete(client, model, fold_system(probe))


def _counter(
    client: ServerClient,
    model: str,
    options: ServedOptions,
    gguf: Any,
    prepared: Callable[[Sequence[Message]], list[Message]],
    first_usage: int | None,
    warnings: list[str],
) -> PromptCounter:
    mode = options.token_counting
    if mode == "gguf" and gguf is None:
        raise ModelError(
            "token counting 'gguf' needs the served model's GGUF file",
            hint="set RAG_LLM_TOKENIZER to it, or RAG_LLM_TOKEN_COUNTING=auto",
        )
    if gguf is not None:
        mine = gguf.count_messages(prepared(PROBES[0]))
        if first_usage is not None and mine != first_usage:
            warnings.append(
                f"RAG_LLM_TOKENIZER ({gguf.path.name}) counts {mine} tokens where the server "
                f"counts {first_usage}: is it the served model's file?"
            )
        return gguf
    if mode in ("auto", "server"):
        chat = chat_tokenizer(client, model)
        if chat is not None:
            return chat
        found = text_tokenizer(client, model)
        if found is not None:
            counter = TextTokenizeCounter(client, *found)
            probes = [prepared(p) for p in PROBES]
            usages = [first_usage, *(_complete(client, model, p) for p in probes[1:])]
            if None not in usages:
                counter.calibrate(usages, probes)
                return counter
        if mode == "server":
            raise ModelError(
                f"the model server at {client.url} has no tokenize endpoint this app can use "
                "(or reports no token usage)",
                hint="set RAG_LLM_TOKENIZER to the served model's GGUF file, or "
                "RAG_LLM_TOKEN_COUNTING=estimate",
            )
        warnings.append(
            "the server cannot count tokens and RAG_LLM_TOKENIZER is not set: prompt tokens "
            "are estimated with a safety margin (set RAG_LLM_TOKENIZER to the model's GGUF "
            "file for exact counts)"
        )
    return EstimateCounter()


def _reported_context(client: ServerClient, entry: dict) -> int | None:
    """The context size the server reports: vLLM's max_model_len, llama-server's /props."""
    size = entry.get("max_model_len")
    if not isinstance(size, int):
        props = client.probe("/props")
        settings = props.get("default_generation_settings") if isinstance(props, dict) else None
        size = settings.get("n_ctx") if isinstance(settings, dict) else None
    return size if isinstance(size, int) and size > 0 else None
