"""Real clients against the real server: the official OpenAI SDK and LangChain's ChatOpenAI.

With the scripted model (exact replies), with llama.cpp running the tiny random-weight
GGUF from tests/tiny_gguf.py (everything real but the weights), and, marked `model`,
with the real small model answering a seed question with the right file and page.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import openai
import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_openai import ChatOpenAI

from service.components import Components
from tests.api.conftest import api_settings, indexed, scripted, serve
from tests.fakes import FakeEmbedder
from tests.tiny_gguf import TINY, write_llama_gguf

WARRANTY_Q = [{"role": "user", "content": "How long does the warranty last?"}]


def sdk(server, key: str = "not-needed", timeout: float = 60) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.base, api_key=key, max_retries=0, timeout=timeout)


def test_the_openai_sdk_reads_the_answer_and_its_sources(server):
    completion = sdk(server).chat.completions.create(model="any", messages=WARRANTY_Q)
    assert completion.choices[0].message.content.endswith("date of delivery [1].")
    assert completion.choices[0].finish_reason == "stop"
    sources = completion.sources  # an extra field: kept by the SDK's models
    assert sources[0]["file"] == "warranty.pdf" and sources[0]["page_start"] == 1
    assert sources[0]["cited"] is True and completion.outcome == "answered"
    assert completion.model_extra["sentences"][0]["citations"] == [1]
    assert completion.usage.completion_tokens > 0


def test_the_openai_sdk_streams_and_reads_the_sources_from_the_last_chunk(server):
    stream = sdk(server).chat.completions.create(
        model="any",
        messages=[{"role": "user", "content": "What does the rocket engine burn?"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "liquid oxygen and kerosene [1]" in text
    assert chunks[-1].usage.total_tokens > 0
    assert chunks[-1].sources[0]["file"] == "rocket.pdf" and chunks[-1].outcome == "answered"


def test_the_openai_sdk_raises_its_own_errors_with_the_next_step(server, tmp_path):
    client = sdk(server)
    with pytest.raises(openai.BadRequestError) as bad:
        client.chat.completions.create(model="any", messages=[{"role": "user", "content": ""}])
    assert bad.value.code == "empty_question" and "Next step" in bad.value.message
    with pytest.raises(openai.BadRequestError) as unknown:
        client.chat.completions.create(
            model="any", messages=WARRANTY_Q, extra_body={"files": ["x"]}
        )
    assert unknown.value.code == "unknown_file"
    models = client.models.list()
    assert [m.id for m in models.data] == ["scripted", "extractive"]
    settings = api_settings(tmp_path / "keyed", api_keys="right-key")
    indexed(settings, scripted())
    with serve(settings, scripted()) as keyed:
        with pytest.raises(openai.AuthenticationError):
            sdk(keyed, "wrong-key").models.list()
        assert sdk(keyed, "right-key").chat.completions.create(model="m", messages=WARRANTY_Q)


def test_langchain_chat_openai_invokes_streams_and_awaits(server):
    chat = ChatOpenAI(base_url=server.base, api_key="not-needed", model="any", max_retries=0)
    reply = chat.invoke([HumanMessage("How long does the warranty last?")])
    assert isinstance(reply, AIMessage) and reply.content.endswith("date of delivery [1].")
    streamed = "".join(c.content for c in chat.stream("What does the rocket engine burn?"))
    assert "liquid oxygen and kerosene [1]" in streamed
    awaited = asyncio.run(chat.ainvoke("How long does the warranty last?"))
    assert awaited.content == reply.content


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory) -> Path:
    return write_llama_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf", TINY)


@pytest.mark.slow
def test_both_clients_against_llama_cpp_with_the_tiny_gguf(tmp_path, tiny_gguf):
    from wiring.root import load_generator

    settings = api_settings(tmp_path, llm_model=tiny_gguf, llm_n_ctx=2048, llm_n_threads=1)
    indexed(settings, scripted())
    real_llama = Components(lambda _s: FakeEmbedder(), load_generator, parser_processes=0)
    with serve(settings, real_llama) as server:
        client = sdk(server)
        assert client.models.list().data[0].id == "tiny"
        completion = client.chat.completions.create(
            model="tiny", messages=WARRANTY_Q, max_tokens=48, temperature=0.0
        )
        assert completion.model == "tiny" and completion.usage.prompt_tokens > 100
        assert completion.sources[0]["file"] == "warranty.pdf"
        assert completion.outcome in {"answered", "quoted", "refused"}  # random weights
        stream = client.chat.completions.create(
            model="tiny", messages=WARRANTY_Q, max_tokens=48, stream=True
        )
        chunks = list(stream)
        assert chunks[-1].sources == completion.sources
        assert "".join(c.choices[0].delta.content or "" for c in chunks)
        chat = ChatOpenAI(base_url=server.base, api_key="x", model="tiny", max_tokens=48)
        assert chat.invoke("How long does the warranty last?").content
        assert "".join(c.content for c in chat.stream("What does the rocket engine burn?"))
        assert server.queue.holder() is None  # every turn was given back


@pytest.mark.model
@pytest.mark.slow
def test_the_real_small_model_answers_a_seed_question_with_file_and_page(tmp_path, seeds_dir):
    import pypdfium2

    from llm.catalog import SMALL
    from service.components import default_components
    from wiring.root import ingest_documents, load_embedder

    model = Path(__file__).resolve().parents[2] / "models" / SMALL.file
    if not model.is_file():
        pytest.skip(f"{model} is not installed (run `python -m llm.install small`)")
    settings = api_settings(tmp_path, llm_model=model, relevance_floor=0.24)
    ingest_documents([seeds_dir], settings, embedder=load_embedder(settings))
    evidence = seeds_dir / "003_bbafcba521c905a1.pdf"
    pdf = pypdfium2.PdfDocument(evidence)
    pages = [
        n
        for n in range(1, len(pdf) + 1)
        if "Evidence Lower Bound" in pdf[n - 1].get_textpage().get_text_range()
    ]
    with serve(settings, default_components()) as server:
        assert server.service.model_status().loaded  # loaded first, as `python -m api` does
        completion = sdk(server, timeout=600).chat.completions.create(
            model="qwen", messages=[{"role": "user", "content": "What does ELBO stand for?"}]
        )
    assert "Evidence Lower Bound" in completion.choices[0].message.content
    cited = [s for s in completion.sources if s["cited"]]
    assert any(
        s["file"] == evidence.name and s["page_start"] <= pages[0] <= s["page_end"] for s in cited
    ), (pages, completion.sources)
    assert completion.outcome == "answered"
    assert all(s["supported"] for s in completion.sentences)
