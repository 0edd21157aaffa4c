"""The served generator against a real `python -m llama_cpp.server`, started and stopped here.

The server runs the tiny random-weight GGUF (`tests/tiny_gguf.py`), so it loads in a
second and answers in milliseconds; everything around the model is real: its HTTP API,
chat template, tokenizer, streaming and context limit. Marked slow (a server process).
"""

from __future__ import annotations

import httpx
import pytest

from core.errors import ContextTooSmallError, ModelError
from core.settings import Settings
from core.types import Passage
from deploy.model_server import start_model_server
from llm.chat import ChatOptions, ChatSession
from llm.llama_cpp_backend import LlamaCppGenerator
from llm.openai_backend import OpenAIGenerator, ServedOptions, connect_served_generator
from llm.prompt import build_messages
from llm.types import GenerationParams, Message, Turn
from tests.tiny_gguf import SAMPLE_TEXT, TINY, write_llama_gguf
from wiring import root

pytestmark = pytest.mark.slow
N_CTX = 512
GREEDY = GenerationParams(max_tokens=24, temperature=0.0, top_k=1, repeat_penalty=1.0)
PASSAGES = [
    Passage("contracts/acme.pdf", 4, 4, 0.9, SAMPLE_TEXT[:300]),
    Passage(
        "notes/ünïcode.pdf", 2, 3, 0.6, "Café — “quoted” text,\nnew lines\tand <|im_end|> too."
    ),
]
CONVERSATIONS = [
    build_messages("What does the warranty cover?", PASSAGES, []),
    build_messages("And for how long?", PASSAGES[:1], [Turn("What is covered?", "Defects [1].")]),
    build_messages("Who pays?", [], [Turn("a?", "b."), Turn("c?", ""), Turn("e?", "f [2].")]),
]


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory):
    return write_llama_gguf(tmp_path_factory.mktemp("served") / "tiny.gguf", TINY)


@pytest.fixture(scope="module")
def server(tiny_gguf, tmp_path_factory):
    log = tmp_path_factory.mktemp("served-log") / "server.log"
    with start_model_server(tiny_gguf, n_ctx=N_CTX, threads=1, log=log) as running:
        yield running


def served(server, **options) -> OpenAIGenerator:
    return connect_served_generator(ServedOptions(server.url, n_ctx=N_CTX, **options))


def server_count(server, messages) -> int:
    """The prompt tokens the server itself counts for these messages."""
    body = {"messages": [m.to_dict() for m in messages], "max_tokens": 1, "temperature": 0}
    reply = httpx.post(server.url + "/chat/completions", json=body, timeout=30).json()
    return reply["usage"]["prompt_tokens"]


@pytest.mark.parametrize("mode", ["server", "gguf"])
def test_prompt_counts_are_exactly_the_servers(server, tiny_gguf, mode):
    tokenizer = tiny_gguf if mode == "gguf" else None
    gen = served(server, token_counting=mode, tokenizer=tokenizer)
    assert gen.counting == mode and gen.info.warnings == ()
    for messages in CONVERSATIONS:
        assert gen.count_prompt_tokens(messages) == server_count(server, gen.prepare(messages))


def test_the_estimate_stays_above_the_servers_count(server):
    gen = served(server, token_counting="estimate")
    for messages in CONVERSATIONS:
        assert gen.count_prompt_tokens(messages) >= server_count(server, gen.prepare(messages))


def test_served_answers_are_the_in_process_models_answers(server, tiny_gguf):
    local = LlamaCppGenerator(tiny_gguf, n_ctx=N_CTX, n_threads=1)
    gen = served(server)
    try:
        for messages in CONVERSATIONS:
            assert "".join(gen.stream(messages, GREEDY)) == "".join(local.stream(messages, GREEDY))
            assert gen.count_prompt_tokens(messages) == local.count_prompt_tokens(messages)
    finally:
        local.close()


def test_the_wiring_answers_with_the_server_instead_of_a_local_model(server, tiny_gguf):
    settings = Settings(llm_url=server.url, llm_model=tiny_gguf, llm_n_ctx=N_CTX)
    gen = root.load_generator(settings)
    assert isinstance(gen, OpenAIGenerator) and gen.model == server.alias
    assert f"served by {server.url}" in gen.info.summary


class Recorder:
    """The generator, with every (messages, params) it was asked to stream."""

    def __init__(self, inner: OpenAIGenerator) -> None:
        self.inner, self.calls = inner, []
        self.n_ctx, self.info = inner.n_ctx, inner.info
        self.count_tokens, self.count_prompt_tokens = inner.count_tokens, inner.count_prompt_tokens

    def stream(self, messages, params):
        self.calls.append((list(messages), params))
        return self.inner.stream(messages, params)


def test_a_conversation_budgets_rewrites_and_streams_through_the_server(server):
    long_passages = [Passage(f"doc{i}.pdf", i, i, 0.9 - i / 20, SAMPLE_TEXT) for i in range(6)]

    class Found:
        def search(self, query, k=5, files=None):
            return long_passages[:k]

    gen = Recorder(served(server))
    session = ChatSession(Found(), gen, ChatOptions(passages=6))
    first = session.ask("What does the warranty cover?")
    assert first.text  # the tiny model writes nonsense; the guard still decides what is shown
    assert any("left out to fit the context window" in n for n in first.notes)
    messages, params = gen.calls[-1]
    assert gen.count_prompt_tokens(messages) + params.max_tokens <= N_CTX
    session.ask("And for how long?").text  # noqa: B018
    rewrite, answer = gen.calls[-2:]
    assert rewrite[1].stop == ("\n",) and "Rewrite my next question" in rewrite[0][-1].content
    assert gen.inner.last_stats.prompt_tokens == gen.count_prompt_tokens(answer[0])


def test_stop_closes_the_request_and_the_server_answers_the_next_one(server):
    gen = served(server)
    stream = gen.stream(CONVERSATIONS[0], GenerationParams(max_tokens=150, temperature=0.0))
    first = next(stream)
    stream.close()
    assert first and list(stream) == [] and stream.finish_reason is None
    assert "".join(gen.stream(CONVERSATIONS[1], GREEDY))


def test_a_server_with_a_smaller_context_refuses_clearly(server):
    gen = connect_served_generator(ServedOptions(server.url, n_ctx=4096))  # the server has 512
    messages = build_messages("What is covered?", [Passage("a.pdf", 1, 1, 0.9, SAMPLE_TEXT * 4)])
    with pytest.raises(ContextTooSmallError, match="context window") as caught:
        list(gen.stream(messages, GREEDY))
    assert "512" in caught.value.message and "RAG_LLM_N_CTX" in caught.value.hint


def test_a_wrong_model_name_names_the_one_the_server_has(server):
    with pytest.raises(ModelError, match=f"it serves: '{server.alias}'"):
        connect_served_generator(ServedOptions(server.url, model="qwen"))


def test_after_the_server_stops_the_next_question_says_it_cannot_be_reached(tiny_gguf, tmp_path):
    running = start_model_server(tiny_gguf, n_ctx=N_CTX, threads=1, log=tmp_path / "log")
    gen = served(running)
    running.stop()
    with pytest.raises(ModelError, match="cannot reach the model server") as caught:
        list(gen.stream([Message("user", "Hello?")], GREEDY))
    assert "RAG_LLM_URL" in caught.value.hint
