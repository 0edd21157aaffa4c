"""The small real model on a real `python -m llama_cpp.server`: one grounded answer, and Stop.

Uses the small model the README's test command installs and one seed PDF (the
real embedding model indexes it); skipped with the reason when either is absent.
The server is started and stopped here.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import httpx
import pytest

from core.errors import ModelError
from core.settings import Settings
from deploy.model_server import start_model_server
from evals.answers.scoring import holds_facts
from llm.catalog import SMALL
from llm.chat import ChatSession
from llm.openai_backend import OpenAIGenerator, ServedOptions, connect_served_generator
from llm.types import GenerationParams, Message
from wiring.params import chat_options

MODEL = Path(__file__).resolve().parents[2] / "models" / SMALL.file
ELBO_PDF = "003_bbafcba521c905a1.pdf"
pytestmark = [pytest.mark.model, pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is not installed (run `python -m llm.install small`)")
    log = tmp_path_factory.mktemp("qwen-server") / "server.log"
    with start_model_server(MODEL, n_ctx=4096, log=log) as running:
        yield running


@pytest.fixture(scope="module")
def parts(server, tmp_path_factory):
    from tests.conftest import SEEDS
    from wiring.root import ingest_documents, load_embedder, load_generator, open_retriever

    if not (SEEDS / ELBO_PDF).is_file():
        pytest.skip(f"seed PDF not found at {SEEDS / ELBO_PDF}")
    docs = tmp_path_factory.mktemp("docs")
    shutil.copy(SEEDS / ELBO_PDF, docs / ELBO_PDF)
    settings = Settings(
        index_dir=tmp_path_factory.mktemp("served-real") / "index", **as_settings(server.env())
    )
    embedder = load_embedder(settings)
    ingest_documents([docs], settings, embedder=embedder)
    retriever = open_retriever(settings, embedder)
    yield retriever, load_generator(settings), embedder, settings
    retriever.close()


def as_settings(env: dict[str, str]) -> dict[str, str]:
    return {name.removeprefix("RAG_").lower(): value for name, value in env.items()}


def test_the_served_small_model_answers_a_seed_question_with_the_right_citation(parts, server):
    retriever, generator, embedder, settings = parts
    assert isinstance(generator, OpenAIGenerator) and generator.counting == "gguf"
    assert generator.info.warnings == ()  # the GGUF counts like the server
    session = ChatSession(retriever, generator, chat_options(settings), embedder=embedder)
    answer = session.ask("What does ELBO stand for?")
    assert holds_facts(answer.text, ["Evidence Lower Bound"]), answer.raw
    assert answer.citations and all(s.supported for s in answer.sentences), answer.raw
    assert {c.source for c in answer.citations} == {ELBO_PDF}
    # The budget was counted exactly: what the server reports it read.
    assert generator.last_stats.prompt_tokens > 300


def test_counts_match_the_servers_with_the_real_chat_template(parts, server):
    from llm.prompt import build_messages
    from llm.types import Turn

    retriever = parts[0]
    counters = {
        mode: connect_served_generator(
            ServedOptions(server.url, n_ctx=4096, token_counting=mode, tokenizer=server.model)
        )
        for mode in ("server", "gguf")
    }
    history = [Turn("What is a VAE?", "A variational autoencoder [1].")]
    asked = build_messages("And ELBO?", retriever.search("ELBO")[:1], history)
    messages = counters["gguf"].prepare(asked)
    body = {"messages": [m.to_dict() for m in messages], "max_tokens": 1, "temperature": 0}
    usage = httpx.post(server.url + "/chat/completions", json=body, timeout=600).json()["usage"]
    for mode, gen in counters.items():
        assert gen.count_prompt_tokens(asked) == usage["prompt_tokens"], mode
        gen.close()


def test_stop_closes_the_request_and_the_server_stops_generating(server):
    gen = connect_served_generator(ServedOptions(server.url, n_ctx=4096))
    question = [Message("user", "Write a very long story about a lighthouse keeper.")]
    stream = gen.stream(question, GenerationParams(max_tokens=1000, temperature=0.0))
    assert next(stream)
    stream.close()
    deadline = time.monotonic() + 10
    while "Disconnected from client" not in server.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "Disconnected from client" in server.log.read_text()
    gen.close()


@pytest.mark.kill
def test_a_server_killed_mid_answer_is_an_error_after_the_words_shown(tmp_path):
    if not MODEL.is_file():
        pytest.skip(f"{MODEL} is not installed")
    running = start_model_server(MODEL, n_ctx=2048, log=tmp_path / "server.log")
    try:
        gen = connect_served_generator(ServedOptions(running.url, n_ctx=2048))
        question = [Message("user", "Write a very long story about a lighthouse keeper.")]
        pieces = []
        with pytest.raises(ModelError, match=r"broke \(after [0-9]+ characters") as caught:
            for piece in gen.stream(question, GenerationParams(max_tokens=1000)):
                pieces.append(piece)
                if len(pieces) == 3:
                    os.kill(running.process.pid, signal.SIGKILL)
        assert len(pieces) >= 3 and "server's log" in caught.value.hint
    finally:
        running.stop()
