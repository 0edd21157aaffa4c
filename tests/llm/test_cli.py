"""`python -m llm` end to end: real PDFs, a real index (fake embedder), the tiny real model."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from core.settings import Settings
from llm import cli
from llm.extractive import LABEL
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from tests.tiny_gguf import TINY, write_llama_gguf
from wiring import root
from wiring.root import ingest_documents

PAGES = [
    "Acme supply contract. The parties are Acme Corp and Widget Ltd.",
    "The warranty covers defects in materials and workmanship. "
    "The warranty lasts two years from the date of delivery.",
    "Payment is due within thirty days of the invoice date.",
]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    docs = tmp_path / "docs"
    (docs / "contracts").mkdir(parents=True)
    pdfs.text_pdf(docs / "contracts" / "acme.pdf", PAGES)
    index = tmp_path / "index"
    settings = Settings(index_dir=index, chunk_tokens=24, chunk_overlap=4)
    ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0)
    monkeypatch.setattr("wiring.root.load_embedder", lambda settings: FakeEmbedder())
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "models"))  # empty: no model
    monkeypatch.setenv("RAG_CHUNK_TOKENS", "24")
    monkeypatch.setenv("RAG_CHUNK_OVERLAP", "4")
    # The fake embedder's cosines are not calibrated: this tests the CLI, not the floor.
    monkeypatch.setenv("RAG_RELEVANCE_FLOOR", "0")
    monkeypatch.setenv("RAG_LLM_N_THREADS", "1")
    monkeypatch.setenv("RAG_LLM_N_CTX", "1024")
    monkeypatch.setenv("RAG_LLM_MAX_TOKENS", "16")
    return tmp_path


def test_without_a_model_it_quotes_and_says_so(workspace, capsys):
    code = cli.main(["How long does the warranty last?", "--index", str(workspace / "index")])
    out, err = capsys.readouterr()
    assert code == 0
    assert "No language model" in err and "--model FILE" in err
    assert out.startswith(LABEL)
    assert "two years" in out
    sources = out.split("\nSources:\n")[1].splitlines()
    assert sources and all(
        line.startswith("[") and "] contracts/acme.pdf p" in line for line in sources
    )


def test_json_contract(workspace, capsys):
    args = ["How long does the warranty last?", "--index", str(workspace / "index"), "--json"]
    code = cli.main(args)
    out, _ = capsys.readouterr()
    assert code == 0
    result = json.loads(out)  # exactly one JSON object on stdout
    assert set(result) == {"answer", "mode", "outcome", "citations", "sentences", "notes"}
    assert result["mode"] == "extractive"
    assert result["citations"] and all(
        set(c) == {"n", "source", "page_start", "page_end"} for c in result["citations"]
    )
    # The page that says "two years" is cited.
    assert any(
        c["source"] == "contracts/acme.pdf" and c["page_start"] <= 2 <= c["page_end"]
        for c in result["citations"]
    )


def test_with_the_tiny_model_it_generates(workspace, capsys):
    model = write_llama_gguf(workspace / "tiny.gguf", TINY)
    args = ["What does the warranty cover?", "--index", str(workspace / "index")]
    code = cli.main([*args, "--model", str(model), "--json"])
    out, err = capsys.readouterr()
    assert code == 0
    assert "model: tiny.gguf: context 1024 tokens, 0/3 layers on GPU" in err
    result = json.loads(out)
    assert result["mode"] == "generative" and isinstance(result["answer"], str)


def test_bad_model_file_is_an_error_with_a_next_step(workspace, capsys):
    bad = workspace / "bad.gguf"
    bad.write_text("<html>404</html>")
    code = cli.main(["q?", "--index", str(workspace / "index"), "--model", str(bad)])
    _, err = capsys.readouterr()
    assert code == 2 and "is not a GGUF model" in err and "Next step:" in err


def test_missing_index_is_an_error_with_a_next_step(workspace, capsys):
    code = cli.main(["q?", "--index", str(workspace / "nowhere")])
    _, err = capsys.readouterr()
    assert code == 2 and "error: " in err and "Next step: add documents" in err


def test_nothing_relevant_prints_the_fixed_answer(workspace, capsys, monkeypatch):
    class Empty:
        def search(self, query, k=5, files=None):
            return []

    monkeypatch.setattr(root, "open_retriever", lambda settings, embedder: Empty())
    code = cli.main(["Who won the 1954 World Cup?", "--index", str(workspace / "index")])
    out, _ = capsys.readouterr()
    assert code == 0
    assert out.strip() == "The documents do not contain the answer to this question."


@pytest.mark.parametrize(("files", "found"), [(["contracts/acme.pdf"], True), (["x.pdf"], False)])
def test_file_filter(workspace, capsys, files, found):
    args = ["How long does the warranty last?", "--index", str(workspace / "index"), "--json"]
    assert cli.main([*args, "--files", *files]) == 0
    result = json.loads(capsys.readouterr().out)
    assert bool(result["citations"]) is found


def test_an_over_long_question_is_refused_at_once_with_the_limit(workspace, capsys, monkeypatch):
    def no_model(settings):
        raise AssertionError("the model was loaded for a question that is refused")

    monkeypatch.setattr(root, "load_generator", no_model)
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "100")
    code = cli.main(["Why? " * 40, "--index", str(workspace / "index")])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert "The question is 199 characters long; the limit is 100" in err
    assert "RAG_MAX_QUESTION_CHARS" in err and "Next step:" in err


def test_an_over_long_follow_up_is_refused_and_the_chat_goes_on(workspace, capsys, monkeypatch):
    monkeypatch.setenv("RAG_MAX_QUESTION_CHARS", "100")
    monkeypatch.setattr("sys.stdin", io.StringIO("x" * 101 + "\nAnd what does it cover?\n\n"))
    args = ["How long does the warranty last?", "--index", str(workspace / "index"), "--chat"]
    code = cli.main(args)
    out, err = capsys.readouterr()
    assert code == 0
    assert "The question is 101 characters long; the limit is 100" in err
    assert out.count("Sources:") == 2  # the first question and the next follow-up
