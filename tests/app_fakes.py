"""Component factories for the app under test, named by `RAG_APP_FACTORY=tests.app_fakes:NAME`.

`scripted`: the fake embedder and a scripted model that answers with the first
sentence of passage [1] and cites it. `no_model`: the fake embedder and no
model (the app quotes passages). `broken_model`: a configured model that fails
to load. `real_model`: the fake embedder and the real llama.cpp loader (for a
tiny GGUF from `tests/tiny_gguf.py`). `slow_ingest`: a fake embedder that
takes 0.2 s per call, so that an upload's ingest lasts long enough to be
killed. `slow_model`: the scripted model, 0.4 s per word, so that an answer
is still streaming when the browser test clicks. The scripted generators are
kept in `GENERATORS` for assertions.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence

from core.errors import ModelError
from llm.prompt import NOT_FOUND_ANSWER
from llm.types import Message
from service.components import Components
from tests.fake_generator import ScriptedGenerator
from tests.fakes import FakeEmbedder

GENERATORS: list[ScriptedGenerator] = []
_FIRST_PASSAGE = re.compile(r'<source id="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)


def first_passage_reply(messages: Sequence[Message]) -> str:
    """'<source 1 from its sentence sharing most words with the question> [1]'
    (`llm.prompt.user_message`), or the question itself for a query rewrite."""
    last = messages[-1].content
    found = _FIRST_PASSAGE.search(last)
    if found is None:
        return NOT_FOUND_ANSWER if last.startswith("Sources:") else last
    question = set(re.findall(r"\w+", last.rpartition("Question:")[2].lower()))
    sentences = re.split(r"(?<=[.!?])\s+", found.group(1).strip())
    overlap = [len(question & set(re.findall(r"\w+", s.lower()))) for s in sentences]
    best = overlap.index(max(overlap))  # from there to the source's end, as a model quotes
    return f"The documents say: {' '.join(sentences[best:])[:300]} [1]"


def _load_scripted(_settings) -> ScriptedGenerator:
    generator = ScriptedGenerator(first_passage_reply)
    GENERATORS.append(generator)
    return generator


class SlowEmbedder(FakeEmbedder):
    """The fake embedder at the pace of a slow machine: every `embed` call sleeps first."""

    def embed(self, texts: Sequence[str]):
        time.sleep(0.2)
        return super().embed(texts)


class SlowGenerator(ScriptedGenerator):
    """The scripted model at a small CPU's pace: `PIECE_DELAY_S` per piece of the answer."""

    PIECE_DELAY_S = 0.4

    def stream(self, messages, params):
        pieces = super().stream(messages, params)

        def slowly():
            for piece in pieces:
                time.sleep(self.PIECE_DELAY_S)
                yield piece

        return slowly()


def _load_slow(_settings) -> ScriptedGenerator:
    generator = SlowGenerator(first_passage_reply)
    GENERATORS.append(generator)
    return generator


def _refuse_model(_settings) -> None:
    raise ModelError("model.gguf is not a GGUF model: it is an HTML page", hint="download it again")


def scripted() -> Components:
    return Components(lambda _s: FakeEmbedder(), _load_scripted, parser_processes=0)


def slow_model() -> Components:
    return Components(lambda _s: FakeEmbedder(), _load_slow, parser_processes=0)


def no_model() -> Components:
    return Components(lambda _s: FakeEmbedder(), lambda _s: None, parser_processes=0)


def broken_model() -> Components:
    return Components(lambda _s: FakeEmbedder(), _refuse_model, parser_processes=0)


def real_model() -> Components:
    from wiring.root import load_generator

    return Components(lambda _s: FakeEmbedder(), load_generator, parser_processes=0)


def slow_ingest() -> Components:
    return Components(lambda _s: SlowEmbedder(), lambda _s: None, parser_processes=1)
