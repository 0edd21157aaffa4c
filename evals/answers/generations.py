"""Each generation behind one answer, by kind: the follow-up's rewrite, the answer, the second ask.

A refusal can be followed by a second, narrower ask (`llm.second_try`), and a follow-up is
first rewritten into a search query by the model: the generator's `last_stats` after an
answer are those of whichever generation ran last. The harness reports the answer's own
time to first token (the one the user waits for) and the second ask's apart, so the
medians do not mix them.

>>> from llm.types import GenerationStats, Message
>>> class Model:  # each generation leaves its figures in last_stats when it ends
...     last_stats = None
...     def stream(self, messages, params):
...         yield "NOT_FOUND"
...         self.last_stats = GenerationStats(len(messages), 0, 1, 0.1 * len(messages), 1.0)
>>> log = GenerationLog(Model())
>>> _ = list(log.stream([Message("system", "rules"), Message("user", "Q")], None))
>>> _ = list(log.stream([Message("system", SECOND_SYSTEM)], None))
>>> [(kind, stats.prompt_tokens) for kind, stats in log.take()]
[('answer', 2), ('second', 1)]
>>> log.take()
[]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from llm.rewrite import REWRITE_INSTRUCTION
from llm.second_try import SECOND_SYSTEM
from llm.types import GenerationParams, GenerationStats, Message

# What the rewrite's last message starts with (its instruction, before the question).
_REWRITE_START = REWRITE_INSTRUCTION.split("{", 1)[0]


def generation_kind(messages: Sequence[Message]) -> str:
    """ "second" (the narrower ask after a refusal), "rewrite" (a follow-up made standalone)
    or "answer" (the answer itself), read from the prompt the chat built."""
    if messages and messages[0].content == SECOND_SYSTEM:
        return "second"
    if messages and _REWRITE_START and messages[-1].content.startswith(_REWRITE_START):
        return "rewrite"
    return "answer"


class GenerationLog:
    """A generator that remembers the figures of each of its generations, with their kind.

    The streams pass through untouched (their `close` and `finish_reason` included): a
    generation's `last_stats` are read when the next one starts, or at `take`.
    """

    def __init__(self, generator: Any) -> None:
        self._generator = generator
        self._records: list[tuple[str, GenerationStats]] = []
        self._open: tuple[str, GenerationStats | None] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._generator, name)

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        self._settle()
        before = getattr(self._generator, "last_stats", None)
        pieces = self._generator.stream(messages, params)
        self._open = (generation_kind(messages), before)
        return pieces

    def take(self) -> list[tuple[str, GenerationStats]]:
        """The generations since the last `take`, in order (each finished one once)."""
        self._settle()
        records, self._records = self._records, []
        return records

    def _settle(self) -> None:
        if self._open is None:
            return
        kind, before = self._open
        stats = getattr(self._generator, "last_stats", None)
        if stats is not None and stats is not before:  # it ran (a new figures object)
            self._records.append((kind, stats))
        self._open = None


def first_of(records: list[tuple[str, GenerationStats]], kind: str) -> GenerationStats | None:
    """The first generation of that kind, or None."""
    return next((stats for k, stats in records if k == kind), None)
