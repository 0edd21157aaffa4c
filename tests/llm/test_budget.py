"""Context budgeting: always fits, and gives things up in the documented order."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import ContextTooSmallError
from core.types import Passage
from llm.budget import MIN_ANSWER_TOKENS, SAFETY_MARGIN, fit_prompt
from llm.prompt import build_messages
from llm.types import Turn
from tests.fake_generator import ScriptedGenerator


def passage(i: int, words: int) -> Passage:
    return Passage(f"doc{i}.pdf", i + 1, i + 1, 1.0 - i / 100, " ".join(["word"] * words))


def turn(i: int, words: int) -> Turn:
    return Turn(f"question {i}?", " ".join(["answer"] * words))


def plan_for(n_ctx, passages, history, max_tokens=64, question="What is covered?"):
    fake = ScriptedGenerator(n_ctx=n_ctx)
    plan = fit_prompt(
        question,
        passages,
        history,
        count_prompt_tokens=fake.count_prompt_tokens,
        n_ctx=n_ctx,
        max_tokens=max_tokens,
    )
    return fake, plan


def floor(fake: ScriptedGenerator) -> int:
    """Tokens of the system prompt with an empty question and nothing else."""
    return fake.count_prompt_tokens(build_messages("", [], []))


def test_everything_fits_in_a_large_window():
    passages, history = [passage(i, 50) for i in range(5)], [turn(i, 20) for i in range(3)]
    fake, plan = plan_for(8192, passages, history)
    assert plan.passages == tuple(passages) and plan.history == tuple(history)
    assert plan.notes == () and plan.max_tokens == 64
    assert plan.prompt_tokens == fake.count_prompt_tokens(plan.messages)


def test_least_relevant_passages_go_first_then_oldest_turns():
    passages, history = [passage(i, 100) for i in range(5)], [turn(i, 40) for i in range(4)]
    base = floor(ScriptedGenerator())
    # Room for about two passages and all history: passages are dropped, history kept.
    _, plan = plan_for(base + 64 + SAFETY_MARGIN + 4 * 60 + 2 * 115, passages, history)
    assert plan.passages == tuple(passages[: len(plan.passages)]) and len(plan.passages) == 2
    assert plan.history == tuple(history) and plan.dropped_passages == 3
    # Less room: one passage stays, the oldest turns go, the newest ones stay.
    _, plan = plan_for(base + 64 + SAFETY_MARGIN + 2 * 60 + 115, passages, history)
    assert plan.passages == (passages[0],)
    assert plan.history == tuple(history[-len(plan.history) :]) and plan.dropped_turns >= 1
    assert "oldest conversation turns" in " ".join(plan.notes)


def test_the_best_passage_is_shortened_before_it_is_lost():
    _, plan = plan_for(floor(ScriptedGenerator()) + 64 + SAFETY_MARGIN + 40, [passage(0, 500)], [])
    assert len(plan.passages) == 1 and plan.truncated
    assert plan.passages[0].text.endswith("[...]")
    assert plan.passages[0].source == "doc0.pdf"


def test_a_huge_question_is_shortened():
    question = "why " * 2000
    _, plan = plan_for(1024, [passage(0, 10)], [], question=question)
    assert plan.truncated and plan.prompt_tokens + plan.max_tokens + SAFETY_MARGIN <= 1024


def test_answer_reserve_is_capped_then_shrunk():
    fake, plan = plan_for(4096, [passage(0, 10)], [], max_tokens=10_000)
    assert plan.max_tokens == 2048  # at most half the window
    tight = floor(fake) + 20 + MIN_ANSWER_TOKENS + SAFETY_MARGIN
    _, plan = plan_for(tight, [passage(0, 10)], [], max_tokens=512)
    assert plan.max_tokens == MIN_ANSWER_TOKENS


def test_too_small_a_window_is_a_clear_error():
    with pytest.raises(ContextTooSmallError) as caught:
        plan_for(80, [passage(0, 10)], [])
    assert "RAG_LLM_N_CTX" in caught.value.hint
    needed = int(caught.value.hint.split("at least ")[1].split()[0])
    _, plan = plan_for(needed, [], [], question="")  # the advertised minimum really works
    assert plan.prompt_tokens + plan.max_tokens + SAFETY_MARGIN <= needed


@settings(max_examples=150, deadline=None)
@given(
    n_ctx=st.integers(min_value=260, max_value=3000),
    passage_words=st.lists(st.integers(min_value=1, max_value=600), max_size=8),
    turn_words=st.lists(st.integers(min_value=0, max_value=300), max_size=6),
    question_words=st.integers(min_value=1, max_value=400),
    max_tokens=st.integers(min_value=16, max_value=4000),
)
def test_the_plan_always_fits_and_keeps_priorities(
    n_ctx, passage_words, turn_words, question_words, max_tokens
):
    passages = [passage(i, w) for i, w in enumerate(passage_words)]
    history = [turn(i, w) for i, w in enumerate(turn_words)]
    question = " ".join(["covered"] * question_words) + "?"
    fake, plan = plan_for(n_ctx, passages, history, max_tokens=max_tokens, question=question)
    assert fake.count_prompt_tokens(plan.messages) == plan.prompt_tokens
    assert plan.prompt_tokens + plan.max_tokens + SAFETY_MARGIN <= n_ctx
    assert MIN_ANSWER_TOKENS <= plan.max_tokens <= max(max_tokens, MIN_ANSWER_TOKENS)
    # Kept passages are the best ones, in order; kept turns are the newest ones.
    kept = [p.source for p in plan.passages]
    assert kept == [p.source for p in passages[: len(kept)]]
    assert plan.history == tuple(history[len(history) - len(plan.history) :])
    if passages and not plan.passages[:1]:
        assert plan.truncated  # the best passage is only lost to a huge question
    if plan.dropped_turns:
        assert len(plan.passages) <= 1  # turns go only once passages are down to one
