"""A scripted generator: exact replies, word-level token counting, recorded calls.

It satisfies `llm.protocols.Generator`, so the chat session, the budget and
the prompt run their real code against it. Replies come from a list (in
order) or from a function of the messages; what the session sent is kept in
`calls` for assertions.

>>> from llm.types import GenerationParams, Message
>>> fake = ScriptedGenerator(["Two years [1]."])
>>> "".join(fake.stream([Message("user", "How long?")], GenerationParams(max_tokens=16)))
'Two years [1].'
>>> fake.count_tokens("Two years [1].")
6
>>> fake.calls[0][0][-1].content
'How long?'
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from core.errors import ContextTooSmallError
from llm.types import GenerationParams, Message, ModelInfo, OffloadReport

TOKEN = re.compile(r"\w+|[^\w\s]")
# Like a chat template: a few tokens of markup around every message, and the reply cue.
MESSAGE_OVERHEAD = 4
PROMPT_OVERHEAD = 3

Script = Sequence[str] | Callable[[Sequence[Message]], str]


class ScriptedGenerator:
    def __init__(self, replies: Script = (), *, n_ctx: int = 4096) -> None:
        self._replies = replies if callable(replies) else list(replies)
        self._n_ctx = n_ctx
        self.calls: list[tuple[list[Message], GenerationParams]] = []
        self._info = ModelInfo(
            path=Path("scripted.gguf"),
            n_ctx=n_ctx,
            n_ctx_train=n_ctx,
            offload=OffloadReport(0, 0, 1, False, "scripted"),
            chat_template="scripted",
        )

    @property
    def n_ctx(self) -> int:
        return self._n_ctx

    @property
    def info(self) -> ModelInfo:
        return self._info

    def count_tokens(self, text: str) -> int:
        return len(TOKEN.findall(text))

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int:
        return PROMPT_OVERHEAD + sum(
            MESSAGE_OVERHEAD + self.count_tokens(m.content) for m in messages
        )

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        prompt = self.count_prompt_tokens(messages)
        if prompt + params.max_tokens > self._n_ctx:  # the real backend's contract
            raise ContextTooSmallError(f"prompt {prompt} + answer {params.max_tokens} > n_ctx")
        self.calls.append((list(messages), params))
        if callable(self._replies):
            reply = self._replies(messages)
        else:
            reply = self._replies.pop(0) if self._replies else ""
        return self._pieces(reply, params)

    def _pieces(self, reply: str, params: GenerationParams) -> Iterator[str]:
        produced = 0
        for piece in re.findall(r"\s*\S+", reply):
            produced += self.count_tokens(piece)
            if produced > params.max_tokens:
                return
            yield piece
