"""Fitting the prompt into the context window, counted with the model's own tokenizer.

prompt tokens + reserved answer tokens + a small margin <= n_ctx, always.
When everything does not fit, sacrifices come in this order:

1. the least relevant passages (the best one stays),
2. the oldest conversation turns,
3. the tail of the best passage, then of the question,
4. the answer reserve, down to `MIN_ANSWER_TOKENS`.

If even the system prompt with an empty question and the smallest answer
does not fit, `ContextTooSmallError` says how big the context must be: a clear
configuration error instead of llama.cpp's overflow in mid-answer.

Counting is exact because `count_prompt_tokens` renders the chat template and
tokenizes the whole prompt, the same ids the model will read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from core.errors import ContextTooSmallError
from core.types import Passage
from llm.prompt import build_messages
from llm.types import Message, Turn

# llama-cpp-python keeps sampling past max_tokens until a UTF-8 character is complete
# (up to 3 more tokens): that overrun must fit too.
SAFETY_MARGIN = 4
MIN_ANSWER_TOKENS = 32
ELLIPSIS = " [...]"

CountPrompt = Callable[[Sequence[Message]], int]
BuildMessages = Callable[[str, Sequence[Passage], Sequence[Turn]], list[Message]]


@dataclass(frozen=True)
class PromptPlan:
    """The messages to send, what they contain, and what had to go."""

    messages: tuple[Message, ...]
    passages: tuple[Passage, ...]  # numbered [1]..[n] in this order
    history: tuple[Turn, ...]
    prompt_tokens: int
    max_tokens: int  # answer tokens reserved
    dropped_passages: int = 0
    dropped_turns: int = 0
    truncated: bool = False

    @property
    def notes(self) -> tuple[str, ...]:
        """What the user may want to know about the trimming.

        >>> PromptPlan((), (), (), 10, 32, dropped_passages=2).notes
        ('2 less relevant passages left out to fit the context window',)
        """
        notes = []
        if self.dropped_passages:
            notes.append(
                f"{self.dropped_passages} less relevant passages left out to fit the context window"
            )
        if self.dropped_turns:
            notes.append(f"{self.dropped_turns} oldest conversation turns left out")
        if self.truncated:
            notes.append("a passage or the question was shortened to fit the context window")
        return tuple(notes)


def fit_prompt(
    question: str,
    passages: Sequence[Passage],
    history: Sequence[Turn],
    *,
    count_prompt_tokens: CountPrompt,
    n_ctx: int,
    max_tokens: int,
    build: BuildMessages = build_messages,
) -> PromptPlan:
    """The largest prompt that fits, best passages and newest turns kept first.

    `passages` are best first; `history` oldest first. The answer reserve is
    `max_tokens`, but at most half the window, so a huge `max_tokens` cannot
    crowd out every passage.
    """
    preferred = max(min(max_tokens, n_ctx // 2), MIN_ANSWER_TOKENS)
    for reserve in dict.fromkeys((preferred, MIN_ANSWER_TOKENS)):
        limit = n_ctx - reserve - SAFETY_MARGIN
        plan = _fit(question, list(passages), list(history), count_prompt_tokens, limit, build)
        if plan is not None:
            return replace(plan, max_tokens=reserve)
    floor = count_prompt_tokens(build("", [], []))
    needed = floor + MIN_ANSWER_TOKENS + SAFETY_MARGIN
    raise ContextTooSmallError(
        f"a context window of {n_ctx} tokens cannot hold the system prompt ({floor} tokens) "
        f"and a {MIN_ANSWER_TOKENS}-token answer",
        hint=f"set RAG_LLM_N_CTX to at least {needed} (2048 or more is sensible)",
    )


def _fit(
    question: str,
    passages: list[Passage],
    history: list[Turn],
    count: CountPrompt,
    limit: int,
    build: BuildMessages,
) -> PromptPlan | None:
    def plan(q: str, kept: list[Passage], turns: list[Turn], truncated: bool) -> PromptPlan | None:
        messages = build(q, kept, turns)
        tokens = count(messages)
        if tokens > limit:
            return None
        return PromptPlan(
            tuple(messages),
            tuple(kept),
            tuple(turns),
            tokens,
            0,
            dropped_passages=len(passages) - len(kept),
            dropped_turns=len(history) - len(turns),
            truncated=truncated,
        )

    # 1. Drop the least relevant passages, down to one.
    best = _largest_fitting(
        len(passages), min(1, len(passages)), lambda k: plan(question, passages[:k], history, False)
    )
    if best is not None:
        return best
    top = passages[:1]
    # 2. Then the oldest turns: keep the newest `keep` of them.
    best = _largest_fitting(
        len(history), 0, lambda keep: plan(question, top, history[len(history) - keep :], False)
    )
    if best is not None:
        return best
    # 3. Then the tail of the best passage; then of the question.
    if top:
        text = top[0].text

        def with_passage(chars: int) -> PromptPlan | None:
            cut = replace(top[0], text=text[:chars].rstrip() + ELLIPSIS)
            return plan(question, [cut], [], True)

        best = _largest_fitting(len(text) - 1, 1, with_passage)
        if best is not None:
            return best
    return _largest_fitting(
        len(question) - 1, 1, lambda chars: plan(question[:chars] + ELLIPSIS, [], [], True)
    )


def _largest_fitting(
    high: int, low: int, attempt: Callable[[int], PromptPlan | None]
) -> PromptPlan | None:
    """The attempt with the largest n in [low, high] that fits (sizes grow with n)."""
    if high < low:
        return None
    best = attempt(high)
    if best is not None:
        return best
    high -= 1
    while low <= high:
        middle = (low + high + 1) // 2
        found = attempt(middle)
        if found is not None:
            best, low = found, middle + 1
        else:
            high = middle - 1
    return best
