"""A real API server for each test, on a free localhost port, over a small real index.

`serve(settings, components)` starts uvicorn in a thread of the test process with the
same `create_app` that `python -m api` serves (real HTTP, real sockets), so the real
clients (the OpenAI SDK, LangChain's ChatOpenAI, httpx) talk to it as to any server.
The model is the scripted fake by default; `tests/tiny_gguf.py`'s random-weight GGUF
or the real small model where a test says so. Each server gets its own model queue.
"""

from __future__ import annotations

import contextlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from api.server import create_app
from core.settings import Settings
from llm.prompt import REFUSAL_SENTINEL
from llm.types import Message
from service.components import Components
from service.model_queue import ModelQueue
from service.shared import SharedService
from service.uploads import Upload
from tests.fake_generator import ScriptedGenerator
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf_bytes

WARRANTY = text_pdf_bytes(
    [
        "The warranty lasts two years from the date of delivery. It covers defects in "
        "materials and workmanship.",
        "Payment is due within thirty days of the invoice date.",
    ]
)
ROCKET = text_pdf_bytes(["The rocket engine burns liquid oxygen and kerosene."])


_SOURCE_1 = re.compile(r'<source id="1"[^>]*>\n(.*?)\n</source>', re.DOTALL)
_NEXT_QUESTION = re.compile(r"Next question: (.*)$", re.DOTALL)


def reply(messages: list[Message]) -> str:
    """The first sentence of source [1], cited; a rewrite: the earlier question, then this one."""
    last = messages[-1].content
    asked = _NEXT_QUESTION.search(last)
    if asked:
        earlier = [m.content for m in messages[1:-1] if m.role == "user"]
        return f"{earlier[-1] if earlier else ''} {asked.group(1)}".strip()
    found = _SOURCE_1.search(last)
    if found is None:
        return REFUSAL_SENTINEL
    sentence = re.split(r"(?<=[.!?])\s", found.group(1).strip(), maxsplit=1)[0]
    return f"The documents say: {sentence} [1]"


class SlowScripted(ScriptedGenerator):
    """The scripted model at `delay` s per piece; counts the pieces it produced."""

    def __init__(self, delay: float) -> None:
        super().__init__(reply)
        self.delay = delay
        self.produced = 0

    def stream(self, messages, params):
        pieces = super().stream(messages, params)

        def slowly():
            for piece in pieces:
                time.sleep(self.delay)
                self.produced += 1
                yield piece

        return slowly()


def scripted(generator: ScriptedGenerator | None = None) -> Components:
    """The fake embedder and a scripted model (the same one for every load)."""
    model = generator or ScriptedGenerator(reply)
    return Components(lambda _s: FakeEmbedder(), lambda _s: model, parser_processes=0)


def slow_model() -> Components:
    """For `python -m api` in a child process (RAG_APP_FACTORY=tests.api.conftest:slow_model):
    the scripted model at 0.05 s per piece."""
    return scripted(SlowScripted(0.05))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    url: str
    service: SharedService
    queue: ModelQueue

    @property
    def base(self) -> str:
        return self.url + "/v1"

    def client(self, key: str | None = None, **kwargs) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60, **kwargs)


@contextlib.contextmanager
def serve(settings: Settings, components: Components) -> Iterator[Server]:
    queue = ModelQueue()
    svc = SharedService(settings, components, lane="api", queue=queue)
    port = free_port()
    config = uvicorn.Config(
        create_app(svc), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the API did not start"
        time.sleep(0.01)
    try:
        yield Server(f"http://127.0.0.1:{port}", svc, queue)
    finally:
        server.should_exit = True
        thread.join(10)


def api_settings(tmp_path: Path, **changes) -> Settings:
    base = {
        "index_dir": tmp_path / "index",
        "documents_dir": tmp_path / "uploads",
        "models_dir": tmp_path / "models",
        "relevance_floor": 0.05,
        "upload_max_files": 3,
        "upload_max_mb": 1,
        "ingest_roots": str(tmp_path),
    }
    return Settings(**{**base, **changes})


def indexed(settings: Settings, components: Components) -> None:
    svc = SharedService(settings, components, queue=ModelQueue())
    result = svc.add_uploads([Upload("warranty.pdf", WARRANTY), Upload("rocket.pdf", ROCKET)])
    assert result.report.added == ("rocket.pdf", "warranty.pdf")


@pytest.fixture
def settings(tmp_path) -> Settings:
    return api_settings(tmp_path)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Server]:
    """The scripted model over warranty.pdf and rocket.pdf, one server per test module
    (tests that change what it serves start their own)."""
    settings = api_settings(tmp_path_factory.mktemp("api"))
    indexed(settings, scripted())
    with serve(settings, scripted()) as running:
        yield running
