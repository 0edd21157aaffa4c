"""The interfaces the answering pipeline is written against.

A `Retriever` finds passages (the hybrid retriever of `retrieval/`, or a fake
in tests); a `Generator` turns chat messages into streamed text (llama.cpp, a
model server, or a scripted fake in tests). Nothing in `llm/` outside the factory
knows which implementation it is talking to. `SentenceEmbedder` is what quoting and
grounding need of the embedding model; `PromptCounter` is how a served model's prompt
tokens are counted (its GGUF's tokenizer, the server's endpoint, or an estimate).

Two narrower ones sit beside the records they speak of: `llm.watch.SteerableStream`
(a stream's progress and cancel) and `llm.answer.Grounding` (a checked stream's report).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from core.types import Passage
from llm.types import GenerationParams, Message, ModelInfo


@runtime_checkable
class Retriever(Protocol):
    """Best passages first; `[]` when nothing is above the relevance floor."""

    def search(
        self, query: str, k: int = 5, files: Sequence[str] | None = None
    ) -> list[Passage]: ...


@runtime_checkable
class Generator(Protocol):
    """A chat model with its own tokenizer and a fixed context window.

    `count_prompt_tokens` counts the fully templated prompt exactly as `stream`
    will feed it to the model, so a budget computed with it cannot overflow.
    """

    @property
    def n_ctx(self) -> int: ...

    @property
    def info(self) -> ModelInfo: ...

    def count_tokens(self, text: str) -> int: ...

    def count_prompt_tokens(self, messages: Sequence[Message]) -> int: ...

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]: ...


class SentenceEmbedder(Protocol):
    """What extractive mode needs from an embedder: L2-normalized vectors."""

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


class PromptCounter(Protocol):
    mode: str  # gguf, server or estimate
    description: str  # for the model's summary line

    def count_text(self, text: str) -> int: ...

    def count_messages(self, messages: Sequence[Message]) -> int: ...
