"""Questions answered by a session's worker thread: in order, stoppable, never leaking."""

from __future__ import annotations

import threading
import time

from app.conversation import Conversation, Tuning
from app.session_work import SessionWork
from core.types import Passage
from llm.chat import ChatOptions
from tests.fake_generator import ScriptedGenerator

TUNING = Tuning(passages=3, temperature=0.0, max_tokens=64)
WARRANTY = Passage("acme.pdf", 4, 4, 0.9, "The warranty lasts two years from delivery.")


class OnePassage:
    def __init__(self) -> None:
        self.queries: list[str] = []

    def search(self, query, k=5, files=None):
        self.queries.append(query)
        return [WARRANTY]


class GatedGenerator(ScriptedGenerator):
    """Streams its reply one word at a time, each word only once `gate` is set."""

    def __init__(self, replies) -> None:
        super().__init__(replies)
        self.gate = threading.Event()
        self.gate.set()

    def stream(self, messages, params):
        pieces = super().stream(messages, params)

        def gated():
            for piece in pieces:
                self.gate.wait(10)
                yield piece

        return gated()


def rewrite_or(reply: str):
    """The reply for answers; a rewrite request gets the new question back unchanged."""

    def script(messages):
        last = messages[-1].content
        return last.rsplit("\n", 1)[-1] if "Passages" not in last else reply

    return script


def make(generator=None) -> tuple[SessionWork, OnePassage, list]:
    retriever = OnePassage()
    conv = Conversation(retriever, generator, ChatOptions(rewrite_followups=False), None)
    saved: list = []
    return SessionWork(conv, on_turn=saved.append), retriever, saved


def wait_for(condition, timeout=10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_questions_are_answered_in_order_and_saved():
    work, _, saved = make()
    first = work.submit("How long is the warranty?", TUNING)
    second = work.submit("What does the warranty cover?", TUNING)
    assert work.wait(10)
    assert [j.state for j in (first, second)] == ["done", "done"]
    turns = work.conversation.shown()
    assert [t.question for t in turns] == [first.question, second.question]
    assert saved == turns
    assert "two years" in turns[0].answer
    assert work.collect(turns) == [first, second] and work.jobs() == []


def test_a_finished_job_is_not_collected_before_the_page_has_seen_its_turn():
    work, _, _ = make()
    job = work.submit("How long is the warranty?", TUNING)
    assert work.wait(10)
    assert work.collect([]) == []  # the page read the turns before the job finished
    assert work.jobs() == [job]


def test_stop_ends_the_answer_visibly_and_it_is_not_remembered():
    reply = "It lasts two years [1]. It starts at delivery [1]. It lasts two years again [1]."
    generator = GatedGenerator([reply])
    work, _, saved = make(generator)
    conv = work.conversation
    generator.gate.clear()
    job = work.submit("How long is the warranty?", TUNING)
    wait_for(lambda: job.state == "answering")
    work.cancel(job.id)
    generator.gate.set()
    assert work.wait(10)
    assert job.state == "stopped" and job.turn.stopped
    assert conv.shown() == [job.turn] and saved == [job.turn]
    assert conv.memory() == ()  # the next question is not rewritten with it
    assert "again" not in job.turn.answer  # cut short


def test_a_stopped_question_never_reaches_the_follow_up_rewrite():
    generator = GatedGenerator(rewrite_or("Two years [1]."))
    retriever = OnePassage()
    conv = Conversation(retriever, generator, ChatOptions(rewrite_followups=True), None)
    work = SessionWork(conv)
    answered = work.submit("How long is the warranty?", TUNING)
    assert work.wait(10) and answered.state == "done"
    remembered = conv.memory()
    assert [t.question for t in remembered] == ["How long is the warranty?"]
    generator.gate.clear()
    lost = work.submit("lora used", TUNING)
    wait_for(lambda: lost.state == "answering")
    work.cancel(lost.id)
    generator.gate.set()
    assert work.wait(10) and lost.state == "stopped"
    assert conv.memory() == remembered


def test_a_queued_question_can_be_stopped_before_it_starts():
    generator = GatedGenerator(["Two years [1].", "Never asked."])
    work, retriever, _ = make(generator)
    generator.gate.clear()
    running = work.submit("How long is the warranty?", TUNING)
    queued = work.submit("What does it cover?", TUNING)
    wait_for(lambda: running.state == "answering")
    work.cancel(queued.id)
    assert queued.state == "stopped"
    generator.gate.set()
    assert work.wait(10)
    assert running.state == "done"
    assert retriever.queries == ["How long is the warranty?"]  # the stopped one never searched


def test_a_failing_question_is_reported_and_leaves_the_memory_as_it_was():
    class Broken:
        def search(self, query, k=5, files=None):
            raise RuntimeError("index damaged")

    conv = Conversation(Broken(), None, ChatOptions(), None)
    work = SessionWork(conv)
    job = work.submit("How long?", TUNING)
    assert work.wait(10)
    assert job.state == "failed" and "index damaged" in str(job.error)
    assert conv.shown() == [] and conv.memory() == ()
    assert work.collect([]) == [job]
