"""A generation on the shared llama.cpp model (the tiny real GGUF): its line, progress, cancel."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from llm.llama_cpp_backend import LlamaCppGenerator
from llm.llama_generation import abort_flag, set_abort_flag
from llm.types import GenerationParams, Message
from llm.watch import GenerationCancelled, SteerableStream
from tests.tiny_gguf import TINY, write_llama_gguf

pytest.importorskip("llama_cpp")

GREEDY = GenerationParams(max_tokens=24, temperature=0.0, top_k=1, repeat_penalty=1.0)
MESSAGES = [Message("system", "Answer from the passages."), Message("user", "What is covered?")]
OTHER = [Message("system", "Answer from the passages."), Message("user", "Who pays?")]


@pytest.fixture(scope="module")
def generator(tmp_path_factory) -> LlamaCppGenerator:
    path = write_llama_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", TINY)
    gen = LlamaCppGenerator(Path(path), n_ctx=512, n_threads=1)
    yield gen
    gen.close()


def wait_for(condition, timeout=10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_the_abort_flag_stops_llama_cpp_inside_its_computation(generator):
    """The callback llama.cpp checks between operations (C's strlen on the flag) is wired."""
    llama = generator.llama
    tokens = generator.prompt_tokens(MESSAGES)
    flag = abort_flag()
    with generator.queue.turn():
        llama.reset()
        flag[0] = b"\x01"
        set_abort_flag(llama, flag)
        try:
            with pytest.raises(RuntimeError, match="llama_decode returned 2"):  # 2: aborted
                llama.eval(tokens)
            assert llama.n_tokens == 0
        finally:
            set_abort_flag(llama, None)
        llama.eval(tokens)  # the same context reads the prompt once the flag is cleared
        assert llama.n_tokens == len(tokens)
        llama.reset()


def test_progress_goes_from_waiting_to_writing_to_done(generator):
    generation = generator.stream(MESSAGES, GREEDY)
    assert isinstance(generation, SteerableStream)
    assert generation.progress().stage == "waiting"
    first = next(generation)
    progress = generation.progress()
    assert first and progress.stage == "writing" and progress.written_tokens >= 1
    assert progress.prompt_tokens == generator.count_prompt_tokens(MESSAGES)
    "".join(generation)
    assert generation.progress().stage == "done"
    assert 0 < generator.last_stats.completion_tokens <= GREEDY.max_tokens


def test_a_generation_waiting_for_the_model_knows_its_place_and_leaves_when_cancelled(generator):
    holding = generator.stream(MESSAGES, GREEDY)
    next(holding)  # the model is this generation's until it ends
    waiting = generator.stream(OTHER, GREEDY)
    outcome: list[object] = []

    def consume() -> None:
        try:
            outcome.append("".join(waiting))
        except GenerationCancelled as exc:
            outcome.append(exc)

    thread = threading.Thread(target=consume)
    thread.start()
    wait_for(lambda: generator.queue.waiting() == 1)
    assert (waiting.progress().stage, waiting.progress().ahead) == ("waiting", 1)
    began = time.monotonic()
    waiting.cancel()
    thread.join(5)
    assert isinstance(outcome[0], GenerationCancelled)
    assert time.monotonic() - began < 1.0
    assert generator.queue.waiting() == 0
    holding.close()


def test_a_cancelled_generation_leaves_the_model_as_good_as_new(generator):
    fresh = "".join(generator.stream(OTHER, GREEDY))
    generation = generator.stream(MESSAGES, GREEDY)
    next(generation)
    generation.cancel()
    with pytest.raises(GenerationCancelled):
        list(generation)
    assert generation.progress().stage == "done"
    # The next generation starts from a sound cache: the same text as before.
    assert "".join(generator.stream(OTHER, GREEDY)) == fresh


def test_a_generation_cancelled_before_its_turn_never_reads_its_prompt(generator):
    generation = generator.stream(MESSAGES, GREEDY)
    generation.cancel()
    stats = generator.last_stats
    with pytest.raises(GenerationCancelled):
        next(generation)
    assert generator.last_stats is stats  # nothing ran
    assert generator.queue.waiting() == 0
