"""What a question shows while it waits, and Stop, with the real (tiny) llama.cpp model shared
by two conversations as two browser tabs share it: sources first, place in line, Stop."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from app import chat_status
from app.conversation import Conversation
from app.session_work import SessionWork
from core.errors import QuestionTooLongError
from llm.chat import ChatOptions
from llm.types import GenerationParams
from tests.app.test_session_work import TUNING, WARRANTY, GatedGenerator, OnePassage, wait_for
from tests.tiny_gguf import TINY, write_llama_gguf

pytest.importorskip("llama_cpp")
OPTIONS = ChatOptions(
    rewrite_followups=False,
    max_question_chars=200,
    sampling=GenerationParams(max_tokens=16, temperature=0.0),
)


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    from llm.llama_cpp_backend import LlamaCppGenerator

    path = write_llama_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", TINY)
    generator = LlamaCppGenerator(Path(path), n_ctx=1024, n_threads=1)
    yield generator
    generator.close()


def tab(generator) -> SessionWork:
    """One browser tab's conversation; every tab shares the one model."""
    return SessionWork(Conversation(OnePassage(), generator, OPTIONS, None))


def test_the_sources_are_known_before_the_model_writes_a_word():
    generator = GatedGenerator(["It lasts two years [1]."])
    generator.gate.clear()  # the model has not written anything yet
    work = tab(generator)
    job = work.submit("How long is the warranty?", TUNING)
    wait_for(lambda: job.passages is not None)
    assert job.passages == (WARRANTY,) and job.text == ""
    assert job.watch.searched_at - job.asked_at < 5
    # A model that does not report its progress: the page says what it can.
    wait_for(lambda: job.state == "answering")
    assert chat_status.status(job).startswith("The model is reading the 1 passage ... ")
    generator.gate.set()
    assert work.wait(10) and job.state == "done" and job.first_text_at >= job.watch.searched_at


def test_a_question_behind_another_tab_shows_its_place_in_line_then_stops_at_once(model):
    busy = model.stream(*_other_question(model))
    next(busy)  # another tab's answer holds the model
    work = tab(model)
    job = work.submit("How long is the warranty?", TUNING)
    wait_for(lambda: job.watch.progress() is not None and model.queue.waiting() == 1)
    assert job.passages == (WARRANTY,)  # its sources are on the page already
    status = chat_status.status(job)
    assert status.startswith("Waiting for the model: 1 question is ahead of yours ... "), status
    began = time.monotonic()
    work.cancel(job.id)
    wait_for(lambda: job.finished, timeout=2)
    assert time.monotonic() - began < 2 and job.state == "stopped"
    assert model.queue.waiting() == 0 and work.conversation.memory() == ()
    busy.close()


def test_when_the_model_is_free_the_question_is_answered_and_its_progress_was_reported(model):
    work = tab(model)
    seen: set[str] = set()
    job = work.submit("How long is the warranty?", TUNING)
    while not job.finished:
        progress = job.watch.progress()
        if progress is not None:
            seen.add(progress.stage)
        time.sleep(0.001)
    assert job.state == "done", job.error
    assert seen & {"reading", "writing", "done"}


def test_an_over_long_question_is_refused_at_once_and_never_queued():
    work = tab(GatedGenerator(["Never."]))
    with pytest.raises(QuestionTooLongError, match="201 characters long; the limit is 200"):
        work.submit("x" * 201, TUNING)
    assert work.jobs() == []


def _other_question(model):
    from llm.types import Message

    messages = [Message("system", "Answer."), Message("user", "Who pays the shipping?")]
    return messages, GenerationParams(max_tokens=16, temperature=0.0)
