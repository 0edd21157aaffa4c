"""A real instruction-tuned model answers a seed question, cited by the system (marked `model`).

Uses the small model the README's test command installs (`python -m llm.install small`),
the real embedding model and the seed PDFs; skipped with the reason when either is absent.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.settings import Settings
from evals.answers.scoring import holds_facts
from llm.catalog import SMALL
from llm.chat import ChatSession
from llm.prompt import NOT_FOUND_ANSWER
from wiring.params import chat_options

MODEL = Path(__file__).resolve().parents[2] / "models" / SMALL.file
pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def session_parts(tmp_path_factory):
    from tests.conftest import SEEDS
    from wiring.root import ingest_documents, load_embedder, load_generator, open_retriever

    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is not installed (run `python -m llm.install small`)")
    if not SEEDS.is_dir():
        pytest.skip(f"seed PDFs not found at {SEEDS}")
    settings = Settings(index_dir=tmp_path_factory.mktemp("real") / "index", llm_model=MODEL)
    embedder = load_embedder(settings)
    ingest_documents([SEEDS], settings, embedder=embedder)
    retriever = open_retriever(settings, embedder)
    yield retriever, load_generator(settings), embedder, settings
    retriever.close()


def test_the_small_model_answers_a_seed_question_with_the_right_citation(session_parts):
    retriever, generator, embedder, settings = session_parts
    session = ChatSession(retriever, generator, chat_options(settings), embedder=embedder)
    answer = session.ask("What does ELBO stand for?")
    assert holds_facts(answer.text, ["Evidence Lower Bound"]), answer.raw
    assert answer.citations, answer.raw
    assert all(s.supported for s in answer.sentences)
    cited = {c.source for c in answer.citations}
    assert "003_bbafcba521c905a1.pdf" in cited


def test_the_small_model_does_not_answer_what_the_documents_do_not_hold(session_parts):
    retriever, generator, embedder, settings = session_parts
    session = ChatSession(retriever, generator, chat_options(settings), embedder=embedder)
    assert session.ask("Who won the 2018 FIFA World Cup?").text == NOT_FOUND_ANSWER
