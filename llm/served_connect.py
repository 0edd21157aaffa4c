"""Meeting a model server: what it serves, how to count its tokens, what its template takes.

`check_server` runs once, when the served generator is built (`llm.openai_backend`),
so a mistake shows at start-up rather than at the first question: the server answers,
it serves the model named (or exactly one), how prompt tokens will be counted
(`llm.served_tokens`), whether the chat template takes a system message (if not, the
rules go into the first user message, as the local backend does), and the context
size where the server reports one (vLLM's `max_model_len`, llama-server's `/props`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import ModelError
from llm.protocols import PromptCounter
from llm.served_http import ServerClient
from llm.served_tokens import (
    PROBES,
    EstimateCounter,
    TextTokenizeCounter,
    chat_tokenizer,
    text_tokenizer,
    usage_prompt_tokens,
)
from llm.types import Message, ModelInfo, OffloadReport

# Control tokens of the common chat formats (ChatML, Llama 3, Gemma, [INST]): text equal to
# one is broken with a zero-width space, as the local backend does with its own vocabulary.
_CONTROL = re.compile(
    r"<\|[A-Za-z0-9_]{1,40}\|>|</?s>|<(?:start|end)_of_turn>|\[/?INST\]|<</?SYS>>"
)


@dataclass(frozen=True)
class ServerFacts:
    """What `check_server` found out: everything the generator needs to talk to the model."""

    model: str
    counter: PromptCounter
    n_ctx: int
    info: ModelInfo
    fold_system: bool
    defuse: Callable[[str], str]


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


def check_server(
    client: ServerClient,
    *,
    model: str | None,
    n_ctx: int,
    token_counting: str,
    tokenizer: Path | None,
) -> ServerFacts:
    """Ask the server what it serves and how; raises `ModelError` with a next step."""
    entry = _served_model(client, model)
    model = str(entry["id"])
    gguf = None
    if tokenizer is not None and token_counting in ("auto", "gguf"):
        from llm.gguf_tokenizer import GgufTokenizer

        gguf = GgufTokenizer(tokenizer)
    fold = bool(gguf and gguf.fold_system)
    defuse = gguf.defuse if gguf else defuse_control_tokens
    fold, first_usage = _first_probe(client, model, fold, defuse)
    warnings: list[str] = []

    def prepared(messages: Sequence[Message]) -> list[Message]:
        safe = [Message(m.role, defuse(m.content)) for m in messages]
        return fold_system(safe) if fold else safe

    counter = _counter(client, model, token_counting, gguf, prepared, first_usage, warnings)
    reported = _reported_context(client, entry)
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
    return ServerFacts(model, counter, n_ctx, info, fold, defuse)


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
    mode: str,
    gguf: Any,
    prepared: Callable[[Sequence[Message]], list[Message]],
    first_usage: int | None,
    warnings: list[str],
) -> PromptCounter:
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
