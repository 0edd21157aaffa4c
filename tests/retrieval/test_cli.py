"""`python -m retrieval`: the JSON contract, filters and errors; one run with the real model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import Settings
from retrieval.cli import main
from tests import pdf_factory as pdfs
from tests.retrieval.test_search import FILLER, TopicEmbedder
from wiring.root import ingest_documents

ROOT = Path(__file__).resolve().parents[2]
KEYS = {"source", "page_start", "page_end", "score", "text", "ocr", "title", "section"}


@pytest.fixture
def index(tmp_path, monkeypatch):
    docs = tmp_path / "docs"
    (docs / "manuals").mkdir(parents=True)
    pdfs.text_pdf(docs / "manuals" / "net.pdf", [FILLER, "Set net.retry_timeout to 30. " + FILLER])
    pdfs.text_pdf(docs / "other.pdf", ["Retry budgets limit retry storms. " + FILLER])
    settings = Settings(index_dir=tmp_path / "index", chunk_tokens=48, chunk_overlap=8)
    ingest_documents([docs], settings, embedder=TopicEmbedder(dim=1024), parser_processes=0)
    monkeypatch.setattr("wiring.root.load_embedder", lambda s: TopicEmbedder(dim=1024))
    monkeypatch.setenv("RAG_RELEVANCE_FLOOR", "0.12")
    return settings.paths.index_dir


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_one_array_of_passages_best_first(index, capsys):
    code, out, _ = _run(capsys, "net.retry_timeout", "--index", str(index), "--json", "-k", "2")
    assert code == 0
    items = json.loads(out)
    assert isinstance(items, list) and 1 <= len(items) <= 2
    for item in items:
        assert set(item) == KEYS
        assert isinstance(item["source"], str) and isinstance(item["text"], str)
        assert isinstance(item["page_start"], int) and item["page_start"] <= item["page_end"]
        assert 0.0 <= item["score"] <= 1.0
    assert items[0]["source"] == "manuals/net.pdf"
    assert items[0]["page_start"] <= 2 <= items[0]["page_end"]
    assert out.count("\n") == 1  # nothing else on stdout


def test_file_filter_and_no_match_note(index, capsys):
    code, out, _ = _run(capsys, "retry", "--index", str(index), "--json", "--file", "manuals/")
    assert code == 0 and {i["source"] for i in json.loads(out)} == {"manuals/net.pdf"}
    code, out, err = _run(capsys, "retry", "--index", str(index), "--json", "--file", "zz*")
    assert code == 0 and json.loads(out) == []
    assert "no indexed file matches zz*" in err


def test_nothing_relevant_is_an_empty_array(index, capsys):
    code, out, _ = _run(capsys, "Who won the 2018 FIFA World Cup?", "--index", str(index), "--json")
    assert code == 0 and json.loads(out) == []
    code, out, _ = _run(capsys, "Who won the 2018 FIFA World Cup?", "--index", str(index))
    assert code == 0 and "No passage" in out


def test_readable_output_names_file_and_page(index, capsys):
    code, out, _ = _run(capsys, "net.retry_timeout", "--index", str(index))
    assert code == 0 and out.startswith("[1] manuals/net.pdf pp. 1-2  (score 0.")


def test_a_missing_index_is_an_error_with_a_next_step(tmp_path, capsys):
    code, out, err = _run(capsys, "anything", "--index", str(tmp_path / "nowhere"), "--json")
    assert code == 2 and out == ""
    assert err.startswith("error:") and "Next step" in err and "python -m ingest" in err


@pytest.mark.slow
@pytest.mark.subprocess
@pytest.mark.model
def test_real_model_end_to_end_in_a_subprocess(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(
        docs / "vae.pdf",
        [
            "Variational autoencoders are trained by maximizing the evidence lower bound. "
            "ELBO: Evidence Lower Bound, used in training VAEs.",
            "Photosynthesis turns light, water and carbon dioxide into sugar in plant leaves.",
        ],
    )
    env_index = tmp_path / "index"
    subprocess.run(
        [sys.executable, "-m", "ingest", str(docs), "--index", str(env_index), "--quiet"],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )

    def ask(question: str) -> list[dict]:
        done = subprocess.run(
            [sys.executable, "-m", "retrieval", question, "--index", str(env_index), "--json"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(done.stdout)

    found = ask("What does ELBO stand for?")
    assert found and found[0]["page_start"] == 1 and set(found[0]) == KEYS
    assert ask("Who won the 2018 FIFA World Cup?") == []
