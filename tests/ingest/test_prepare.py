"""An ingest that must first convert the model for this CPU says so, and does it apart."""

from __future__ import annotations

import pytest

import embed.prepare
from embed.choice import EngineChoice
from ingest import cli
from ingest.options import IngestOptions
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from tests.ingest.test_pipeline import _pages


class UnpreparedEmbedder(FakeEmbedder):
    """A fake whose engine copy is missing until `prepare_in_child` has run."""

    def __init__(self, state: dict) -> None:
        super().__init__()
        self._state = state

    def needs_preparing(self) -> bool:
        return not self._state["prepared"]


@pytest.fixture
def run(tmp_path, monkeypatch, capsys):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "a.pdf", _pages("a", 2))
    state = {"prepared": False, "children": 0, "child_ok": True}

    def child() -> bool:
        state["children"] += 1
        state["prepared"] = state["child_ok"]
        return state["child_ok"]

    monkeypatch.setattr(embed.prepare, "prepare_in_child", child)
    monkeypatch.setattr("wiring.root.load_embedder", lambda s: UnpreparedEmbedder(state))
    monkeypatch.setattr(IngestOptions, "parser_processes", lambda self: 0)

    def ingest() -> tuple[int, str]:
        code = cli.main([str(docs), "--index", str(tmp_path / "index"), "--quiet"])
        return code, capsys.readouterr().err

    return state, ingest


def test_the_first_ingest_prepares_the_model_once_and_says_so(run):
    state, ingest = run
    code, err = ingest()
    assert code == 0 and state["children"] == 1
    assert "preparing the model for this CPU (once" in err and "prepared in" in err
    code, err = ingest()  # prepared now: nothing said, nothing run
    assert code == 0 and state["children"] == 1 and "preparing" not in err


def test_a_failed_preparation_leaves_the_ingest_to_try_itself(run):
    state, ingest = run
    state["child_ok"] = False
    code, err = ingest()
    assert code == 0 and state["children"] == 1
    assert "could not prepare the model ahead" in err


class Counting(UnpreparedEmbedder):
    """The fake above, counting `embed` calls (what `prepare` does to convert)."""

    calls = 0
    backend = "openvino"
    choice = EngineChoice("openvino", "int8", "cpu", "a test", "AVX2")

    def embed(self, texts):
        Counting.calls += 1
        self._state["prepared"] = True
        return super().embed(texts)


def test_embed_prepare_converts_once_and_check_says_whether_it_is_done(monkeypatch, capsys):
    from embed.prepare.__main__ import main

    state = {"prepared": False}
    Counting.calls = 0
    monkeypatch.setattr("wiring.root.load_embedder", lambda s: Counting(state))
    assert main(["--check"]) == 1 and Counting.calls == 0  # --check converts nothing
    assert main([]) == 0 and Counting.calls == 1
    assert "prepared in" in capsys.readouterr().err
    assert main(["--check"]) == 0 and main([]) == 0 and Counting.calls == 1
