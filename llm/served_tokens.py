"""Counting prompt tokens of a model on a server, for the context budget (`llm.budget`).

`RAG_LLM_TOKEN_COUNTING` picks one of three ways (`auto`: the first that applies):

- **gguf**: the served model's GGUF file (`RAG_LLM_TOKENIZER`), read here for its
  vocabulary and chat template only. The prompt is rendered and tokenized as
  llama.cpp's servers do, with no round trip. Exact; checked once against the
  server's own count, and a file that counts differently is reported.
- **server**: the server's tokenize endpoint. vLLM's `/tokenize` takes the chat
  messages and applies the template itself. llama-cpp-python's `/extras/tokenize`
  and llama.cpp's `/tokenize` take text: each message is counted there, and what
  the chat template adds is measured once from the server's own `usage` of three
  probe conversations (the first exchange, then each further one). Exact for the
  conversations this app sends; a template that adds unequal amounts is refused.
- **estimate**: no tokenizer (Ollama, LM Studio): a stated safety margin, UTF-8
  bytes / 2 per message + 8, + 16 per prompt (`EstimateCounter`).

>>> from llm.types import Message
>>> EstimateCounter().count_messages([Message("user", "How long is the warranty?")])
37
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

from core.errors import ModelError
from llm.served_http import ServerClient
from llm.types import Message

# Probe conversations (what the app sends: system, exchanges, then the question).
PROBE_SYSTEM = "Answer from the sources only."
PROBE_USER = "What does the warranty cover?"
PROBE_ANSWER = "Defects in materials [1]."


def probe_conversation(exchanges: int) -> tuple[Message, ...]:
    """System prompt, `exchanges` earlier question/answer pairs, then a question."""
    earlier = [Message("user", PROBE_USER), Message("assistant", PROBE_ANSWER)] * exchanges
    return (Message("system", PROBE_SYSTEM), *earlier, Message("user", PROBE_USER))


PROBES = tuple(probe_conversation(k) for k in range(3))
BYTES_PER_TOKEN = 2.0
ESTIMATE_PER_MESSAGE = 8
ESTIMATE_PER_PROMPT = 16


class EstimateCounter:
    """No tokenizer: bytes / 2, + 8 per message, + 16.

    Above the real count of every prompt measured, 1.3x to 2x (bench/token_estimate.py).
    """

    mode = "estimate"
    description = (
        f"estimated (UTF-8 bytes / {BYTES_PER_TOKEN:g} + {ESTIMATE_PER_MESSAGE} per message "
        f"+ {ESTIMATE_PER_PROMPT}: a safety margin, not exact)"
    )

    def count_text(self, text: str) -> int:
        return math.ceil(len(text.encode("utf-8")) / BYTES_PER_TOKEN)

    def count_messages(self, messages: Sequence[Message]) -> int:
        return ESTIMATE_PER_PROMPT + sum(
            self.count_text(m.content) + ESTIMATE_PER_MESSAGE for m in messages
        )


class ChatTokenizeCounter:
    """vLLM's `/tokenize` with the chat messages: the server applies its template; exact."""

    mode = "server"

    def __init__(self, client: ServerClient, model: str) -> None:
        self._client, self._model = client, model
        self.description = f"the server's {client.root}/tokenize (exact)"
        self._count = functools.lru_cache(maxsize=64)(self._count_uncached)

    def count_text(self, text: str) -> int:
        body = {"model": self._model, "prompt": text, "add_special_tokens": False}
        return int(self._client.post("/tokenize", body, root=True)["count"])

    def count_messages(self, messages: Sequence[Message]) -> int:
        return self._count(tuple(messages))

    def clear(self) -> None:
        self._count.cache_clear()

    def _count_uncached(self, messages: tuple[Message, ...]) -> int:
        body = {
            "model": self._model,
            "messages": [m.to_dict() for m in messages],
            "add_generation_prompt": True,
        }
        return int(self._client.post("/tokenize", body, root=True)["count"])


class TextTokenizeCounter:
    """A text tokenize endpoint, plus the chat template's tokens measured from `usage`."""

    mode = "server"

    def __init__(self, client: ServerClient, path: str, tokenize: Callable[[str], int]) -> None:
        self._client = client
        self.description = f"the server's {client.root}{path}, template calibrated (exact)"
        self._raw = functools.lru_cache(maxsize=512)(tokenize)
        self.base = self.per_exchange = 0

    def calibrate(self, usages: Sequence[int], probes: Sequence[Sequence[Message]]) -> None:
        """The template's tokens, from the server's prompt counts of the three probes."""
        contents = [sum(self._raw(m.content) for m in p) for p in probes]
        added = [u - c for u, c in zip(usages, contents, strict=True)]
        if added[2] - added[1] != added[1] - added[0] or added[0] < 0:
            raise ModelError(
                f"the server's chat template adds {added} tokens to conversations of 1, 2 and 3 "
                "exchanges, not a fixed amount per exchange, so text counts cannot be made exact",
                hint="set RAG_LLM_TOKENIZER to the served model's GGUF file, or "
                "RAG_LLM_TOKEN_COUNTING=estimate",
            )
        self.base, self.per_exchange = added[0], added[1] - added[0]

    def count_text(self, text: str) -> int:
        return self._raw(text) - self._raw("")  # without the BOS some endpoints add

    def clear(self) -> None:
        self._raw.cache_clear()

    def count_messages(self, messages: Sequence[Message]) -> int:
        exchanges = sum(m.role == "assistant" for m in messages)
        system = ["system"] if messages and messages[0].role == "system" else []
        expected = [*system, "user", *["assistant", "user"] * exchanges]
        regular = [m.role for m in messages] == expected
        margin = 0 if regular else ESTIMATE_PER_MESSAGE * len(messages)
        return (
            self.base
            + exchanges * self.per_exchange
            + margin
            + sum(self._raw(m.content) for m in messages)
        )


def text_tokenizer(client: ServerClient, model: str) -> tuple[str, Callable[[str], int]] | None:
    """The server's text tokenize endpoint (path, counting function), or None."""
    probe = PROBE_USER
    found = client.probe("/extras/tokenize", {"input": probe, "model": model})
    if isinstance(found, dict) and isinstance(found.get("tokens"), list):  # llama-cpp-python

        def extras(text: str) -> int:
            body = {"input": text, "model": model}
            return len(client.post("/extras/tokenize", body, root=True)["tokens"])

        return "/extras/tokenize", extras
    found = client.probe("/tokenize", {"content": probe, "add_special": False})
    if isinstance(found, dict) and isinstance(found.get("tokens"), list) and found["tokens"]:

        def llama_server(text: str) -> int:  # llama.cpp's llama-server
            body = {"content": text, "add_special": False, "parse_special": True}
            return len(client.post("/tokenize", body, root=True)["tokens"])

        return "/tokenize", llama_server
    return None


def chat_tokenizer(client: ServerClient, model: str) -> ChatTokenizeCounter | None:
    """vLLM's chat tokenize endpoint, when the server has it."""
    messages = [m.to_dict() for m in PROBES[0]]
    body = {"model": model, "messages": messages, "add_generation_prompt": True}
    found = client.probe("/tokenize", body)
    if isinstance(found, dict) and isinstance(found.get("count"), int):
        return ChatTokenizeCounter(client, model)
    return None


def usage_prompt_tokens(answer: Any) -> int | None:
    """`usage.prompt_tokens` of a chat completion, if the server reported it."""
    usage = answer.get("usage") if isinstance(answer, dict) else None
    value = usage.get("prompt_tokens") if isinstance(usage, dict) else None
    return value if isinstance(value, int) and value > 0 else None
