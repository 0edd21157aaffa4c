"""The answer harness reports the answer's own generation apart from the second ask's (and
from a follow-up's rewrite): scripted model, fake embedder, the real chat session."""

from __future__ import annotations

from core.settings import Settings
from core.types import Passage
from evals.answers.cli import _ask_ours
from evals.answers.generations import generation_kind
from evals.answers.report import summarize
from evals.answers.scoring import AnswerQuestion
from llm.prompt import REFUSAL_SENTINEL
from llm.types import GenerationStats
from tests.fake_generator import ScriptedGenerator
from tests.fakes import FakeEmbedder

PASSAGES = [
    Passage("INSTALL.pdf", 9, 9, 0.6, "Install the galdata package for Galois groups of degree 9."),
    Passage("users.pdf", 450, 450, 0.5, "Galois groups of small degree are built in."),
]
ANSWER = "Install the galdata package for Galois groups of degree 9 [1]."


class Fixed:
    def search(self, query, k=5, files=None):
        return PASSAGES[:k]


class TimedModel(ScriptedGenerator):
    """Each generation's time to first token is its call number: 1.0, 2.0, ..."""

    last_stats: GenerationStats | None = None

    def stream(self, messages, params):
        pieces = super().stream(messages, params)
        number = float(len(self.calls))

        def run():
            try:
                yield from pieces
            finally:  # like the real backend: the figures are set when the generation ends
                self.last_stats = GenerationStats(10 * int(number), 0, 1, number, number + 0.5)

        return run()


def reply(messages) -> str:
    kind = generation_kind(messages)
    if kind == "rewrite":
        return "Which package is needed for Galois groups of degree 9?"
    if kind == "second":
        return ANSWER
    return REFUSAL_SENTINEL  # every first answer refuses: the second ask follows


def test_the_answers_first_token_is_reported_apart_from_the_second_asks():
    model = TimedModel(reply)
    questions = [
        AnswerQuestion(
            "q1", "Which package for Galois groups of degree 9?", "INSTALL.pdf", "galdata"
        ),
        AnswerQuestion("q2", "And what does it cost?", "INSTALL.pdf", "galdata", after="q1"),
    ]
    settings = Settings(llm_second_try_min_cosine=0.0, llm_second_try_min_answer_cosine=0.0)
    rows = _ask_ours(questions, Fixed(), model, FakeEmbedder(), settings)

    kinds = [generation_kind(messages) for messages, _ in model.calls]
    assert kinds.count("second") == 2  # both questions were refused, then asked again
    answers = [float(n) for n, kind in enumerate(kinds, 1) if kind == "answer"]
    seconds = [float(n) for n, kind in enumerate(kinds, 1) if kind == "second"]
    assert [r["ours"]["first_token_s"] for r in rows] == answers
    assert [r["ours"]["second_ask"]["first_token_s"] for r in rows] == seconds
    assert [r["ours"]["prompt_tokens"] for r in rows] == [10 * int(n) for n in answers]
    assert all(r["ours"]["outcome"] == "answered" for r in rows)

    for row in rows:
        row.update(answer_keys=["galdata"], evidence_pages=[], after=None, topic_change=False)
    ours = summarize(rows, baseline=False)["ours"]
    assert ours["second_asks"] == 2
    assert ours["median_first_token_s"] == sum(answers) / 2
    assert ours["median_second_ask_first_token_s"] == sum(seconds) / 2


def test_an_answer_without_a_second_ask_records_none():
    model = TimedModel([ANSWER])
    rows = _ask_ours(
        [
            AnswerQuestion(
                "q1", "Which package for Galois groups of degree 9?", "INSTALL.pdf", "galdata"
            )
        ],
        Fixed(),
        model,
        FakeEmbedder(),
        Settings(),
    )
    assert rows[0]["ours"]["first_token_s"] == 1.0
    assert rows[0]["ours"]["second_ask"] is None
