"""Stop acts within 2 s on the small real model, also while it reads a long prompt (issue 23).

Time is measured from `cancel()` (what the Stop button calls) to the consumer's `next()`
returning with `GenerationCancelled`. A prompt of about 3,000 tokens takes the 0.5B model
many seconds to read on a CPU, so the cancel lands in the middle of the reading.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from llm.catalog import SMALL
from llm.types import GenerationParams, Message
from llm.watch import GenerationCancelled

MODEL = Path(__file__).resolve().parents[2] / "models" / SMALL.file
pytestmark = [pytest.mark.model, pytest.mark.slow, pytest.mark.timeout(600)]
STOP_WITHIN_S = 2.0
PARAMS = GenerationParams(max_tokens=64, temperature=0.0, top_k=1)
PASSAGE = (
    "The warranty covers defects in materials and workmanship for two years from delivery; "
    "the supplier repairs or replaces any defective part at its own cost. "
)


@pytest.fixture(scope="module")
def generator():
    from llm.llama_cpp_backend import LlamaCppGenerator

    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is not installed (run `python -m llm.install small`)")
    gen = LlamaCppGenerator(MODEL, n_ctx=4096)
    yield gen
    gen.close()


def messages(question: str, repeat: int) -> list[Message]:
    return [
        Message("system", "Answer from the passages."),
        Message("user", PASSAGE * repeat + "\n\n" + question),
    ]


def stop_when(generation, stage: str, after_s: float) -> dict:
    """Consume `generation` in a thread; cancel it `after_s` into `stage`; time the end."""
    ended: dict = {}

    def consume() -> None:
        try:
            for _ in generation:
                pass
            ended["how"] = "finished"
        except GenerationCancelled:
            ended["how"] = "cancelled"
        ended["at"] = time.monotonic()

    thread = threading.Thread(target=consume)
    thread.start()
    deadline = time.monotonic() + 300
    while (
        generation.progress().stage != stage
        or time.monotonic() - generation.progress().since < after_s
    ):
        assert time.monotonic() < deadline and thread.is_alive(), generation.progress()
        time.sleep(0.01)
    ended["progress"] = generation.progress()
    stopped = time.monotonic()
    generation.cancel()
    thread.join(60)
    ended["took"] = ended["at"] - stopped
    return ended


def test_stop_during_prompt_reading_ends_the_generation_within_2_s(generator):
    generation = generator.stream(messages("What does the warranty cover?", 100), PARAMS)
    ended = stop_when(generation, "reading", 1.0)
    assert ended["progress"].prompt_tokens > 2500 and ended["progress"].written_tokens == 0
    assert ended["how"] == "cancelled"
    assert ended["took"] < STOP_WITHIN_S, ended
    # The model answers the next question as usual.
    assert "".join(generator.stream(messages("Who repairs parts?", 1), PARAMS)).strip()


def test_stop_while_writing_ends_the_generation_within_2_s(generator):
    generation = generator.stream(messages("Describe the warranty at length.", 2), PARAMS)
    ended = stop_when(generation, "writing", 0.3)
    assert ended["how"] == "cancelled"
    assert ended["took"] < STOP_WITHIN_S, ended
