"""Shared fixtures. Every test runs offline: a guard refuses any non-loopback connection."""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import tempfile
from pathlib import Path

import pytest

import core  # noqa: F401  (sets the Hugging Face offline variables)

SHARED = Path(__file__).resolve().parents[2] / "shared"
SEEDS = SHARED / "corpus" / "seeds"

# Conversations the app saves go to a folder of this test session, not to data/ in the checkout.
if "RAG_CONVERSATIONS_DIR" not in os.environ:
    _conversations = tempfile.mkdtemp(prefix="rag-test-conversations-")
    os.environ["RAG_CONVERSATIONS_DIR"] = _conversations
    atexit.register(shutil.rmtree, _conversations, ignore_errors=True)

# Models converted for OpenVINO go to a folder of this test session (its app subprocesses
# inherit it), not to data/cache in the checkout.
if "RAG_MODEL_CACHE_DIR" not in os.environ:
    _cache = tempfile.mkdtemp(prefix="rag-test-model-cache-")
    os.environ["RAG_MODEL_CACHE_DIR"] = _cache
    atexit.register(shutil.rmtree, _cache, ignore_errors=True)

# OCR results are cached by page image; tests must neither read a stale cache nor fill data/.
if "RAG_OCR_CACHE_DIR" not in os.environ:
    _ocr_cache = tempfile.mkdtemp(prefix="rag-test-ocr-cache-")
    os.environ["RAG_OCR_CACHE_DIR"] = _ocr_cache
    atexit.register(shutil.rmtree, _ocr_cache, ignore_errors=True)


def _is_loopback(address) -> bool:
    host = address[0] if isinstance(address, tuple) else address
    return isinstance(host, str) and (
        host in ("localhost", "::1") or host.startswith("127.") or host.startswith("/")
    )


def implied_slow_markers(declared: list[str]) -> set[str]:
    """Markers whose declaration (pyproject.toml) says "(also slow)".

    >>> sorted(implied_slow_markers(["slow: long", "browser: Chromium (also slow)", "x: y"]))
    ['browser']
    """
    slow = (line for line in declared if line.rstrip().endswith("(also slow)"))
    return {line.split(":", 1)[0].strip() for line in slow}


def pytest_itemcollected(item: pytest.Item) -> None:
    """A test marked `browser`, `model`, `kill`... is slow without saying so twice."""
    implied = implied_slow_markers(item.config.getini("markers"))
    if any(item.get_closest_marker(name) for name in implied):
        item.add_marker(pytest.mark.slow)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Fail loudly if code under test tries to reach the network."""
    real_connect = socket.socket.connect

    def guarded_connect(self, address):
        if self.family == socket.AF_UNIX or _is_loopback(address):
            return real_connect(self, address)
        raise RuntimeError(f"network access attempted in a test: {address!r}")

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


@pytest.fixture
def seeds_dir() -> Path:
    if not SEEDS.is_dir():
        pytest.skip(f"shared corpus not found at {SEEDS}")
    return SEEDS


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """One private PostgreSQL with pgvector for the test session, stopped at its end."""
    from tests.pg import session_server

    with session_server(tmp_path_factory.mktemp("pg")) as server:
        yield server


@pytest.fixture
def pg_url(pg_server, request) -> str:
    """A new empty database (with pgvector) for one test."""
    from tests.pg import fresh_database

    return fresh_database(pg_server, request.node.name)


# -- the fakes, as fixtures (the modules: tests/fakes.py, tests/fake_generator.py, and
# tests/app_fakes.py for the app processes the tests start through RAG_APP_FACTORY) --------


@pytest.fixture
def fake_embedder():
    """The model-free `Embedder` (64 hashed dimensions, one token per word)."""
    from tests.fakes import FakeEmbedder

    return FakeEmbedder()


@pytest.fixture
def scripted_generator():
    """Make a `Generator` that replies from a list or a function of the messages."""
    from tests.fake_generator import ScriptedGenerator

    return ScriptedGenerator


@pytest.fixture
def fake_components():
    """The parts the app and the API load, faked: the fake embedder and a generator that
    quotes the first passage's first sentence with [1]."""
    from tests import app_fakes

    return app_fakes.scripted()
