"""Settings: groups, unknown names refused, bounds with a clear message, documented env names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import ENV_NAMES, Settings, load_settings
from core.settings_env import ALIASES
from index import IndexSnapshot
from ingest.options import Chunking, IngestOptions
from ingest.pipeline import run_ingest
from llm.chat import ChatOptions, ChatSession
from retrieval.search import Retriever, SearchParams
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.params import chat_options, ingest_options, search_params

README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch, tmp_path):
    """No RAG_* variable or .env file of the machine running the tests leaks in."""
    for name in list(__import__("os").environ):
        if name.upper().startswith("RAG_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_an_unknown_name_is_refused_with_the_nearest_known_one():
    with pytest.raises(ValidationError, match=r"'chunk_tokns' \(did you mean 'chunk_tokens'\?\)"):
        Settings(chunk_tokns=64)
    with pytest.raises(ValidationError, match="passagez"):
        Settings(search={"passagez": 3})


def test_an_unknown_name_is_refused_at_the_edge_as_a_config_error():
    with pytest.raises(ConfigError, match="unknown setting 'dense_candidate'"):
        load_settings(dense_candidate=10)


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("RAG_TOP_K", "500", r"RAG_PASSAGES \(search\.passages.*less than or equal to 50"),
        ("RAG_OCR_DPI", "10", r"RAG_OCR_DPI \(ocr\.dpi\).*greater than or equal to 72"),
        ("RAG_LLM_TEMPERATURE", "3", r"RAG_LLM_TEMPERATURE \(llm\.temperature\).*2"),
        ("RAG_CHUNK_TOKENS", "lots", r"RAG_CHUNK_TOKENS \(ingest\.chunk_tokens\).*integer"),
    ],
)
def test_a_value_out_of_bounds_names_the_variable_and_the_bound(
    monkeypatch, variable, value, expected
):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match=expected) as caught:
        load_settings()
    assert "README" in caught.value.hint


def test_overlap_must_stay_below_the_chunk_size():
    with pytest.raises(ConfigError, match=r"chunk_overlap \(200\) must be smaller"):
        load_settings(chunk_tokens=128, chunk_overlap=200)


def test_flat_environment_names_fill_their_groups(monkeypatch, tmp_path):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "idx"))
    monkeypatch.setenv("rag_chunk_tokens", "64")  # case-insensitive, as before
    monkeypatch.setenv("RAG_OCR", "0")
    monkeypatch.setenv("RAG_LLM_N_CTX", "2048")
    monkeypatch.setenv("RAG_INGEST_WORKERS", "2")
    s = Settings()
    assert s.paths.index_dir == tmp_path / "idx"
    assert s.ingest.chunk_tokens == 64 and "chunk_tokens" in s.ingest.model_fields_set
    assert s.ocr.enabled is False and s.llm.n_ctx == 2048 and s.ingest.workers == 2
    assert Settings(chunk_tokens=100).ingest.chunk_tokens == 100  # arguments beat the env


@pytest.mark.parametrize("alias", ["RAG_TOP_K", "RAG_LLM_PASSAGES", "RAG_PASSAGES"])
def test_one_setting_for_passages_per_question_under_every_documented_name(monkeypatch, alias):
    monkeypatch.setenv(alias, "7")
    s = Settings()
    assert s.search.passages == 7
    assert chat_options(s).passages == 7


def test_the_new_name_wins_over_an_old_alias(monkeypatch):
    monkeypatch.setenv("RAG_TOP_K", "7")
    monkeypatch.setenv("RAG_PASSAGES", "3")
    assert Settings().search.passages == 3


def test_a_dotenv_file_is_read_and_the_environment_wins(monkeypatch, tmp_path):
    (tmp_path / ".env").write_text("RAG_RELEVANCE_FLOOR=0.5\nRAG_IVF_NPROBE=8\n")
    monkeypatch.setenv("RAG_IVF_NPROBE", "16")
    s = Settings()
    assert s.search.relevance_floor == 0.5 and s.search.ivf_nprobe == 16


def test_settings_are_frozen_and_replace_validates():
    s = Settings()
    with pytest.raises(ValidationError):
        s.search.passages = 9
    changed = s.replace(rerank=False, llm={"n_ctx": 1024})
    assert changed.search.rerank is False and changed.llm.n_ctx == 1024 and s.search.rerank
    with pytest.raises(ValidationError, match="less than or equal to 50"):
        s.replace(top_k=99)


def test_every_field_has_a_description_and_every_number_a_bound():
    for group in Settings.model_fields:
        model = type(getattr(Settings(), group))
        for name, field in model.model_fields.items():
            assert field.description, f"{group}.{name} has no description"
            numeric = field.annotation in (int, float, "int", "float")
            bounded = any(hasattr(m, a) for m in field.metadata for a in ("ge", "gt"))
            assert bounded or not numeric, f"{group}.{name} has no lower bound"


def test_every_setting_has_an_environment_name_and_the_readme_lists_them():
    groups = Settings()
    covered = set(ENV_NAMES.values())
    for group in Settings.model_fields:
        for name in type(getattr(groups, group)).model_fields:
            assert (group, name) in covered, f"{group}.{name} has no RAG_ name"
    readme = README.read_text() + "".join(p.read_text() for p in README.parent.glob("docs/*.md"))
    documented = set(re.findall(r"RAG_[A-Z0-9_]+", readme)) | {
        "RAG_" + n for n in re.findall(r"`(LLM_[A-Z_]+)`", readme)
    }
    missing = sorted(n for n in ENV_NAMES if n not in documented)
    assert not missing, f"not in the README: {missing}"
    assert {"RAG_TOP_K", "RAG_LLM_PASSAGES"} <= {f"RAG_{a.upper()}" for a in ALIASES}


def test_the_chat_options_defaults_are_the_settings_defaults():
    assert chat_options(Settings()) == ChatOptions()


def test_the_library_is_built_from_plain_values_without_a_settings_object(tmp_path):
    """Ingest, search and chat, each given only its own small record."""
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "pump.pdf", ["Service the Zorblax pump every 90 days. " * 8])
    options = IngestOptions(tmp_path / "index", chunking=Chunking(tokens=40, overlap=8))
    report = run_ingest([docs], options, embedder=FakeEmbedder(), parser_processes=0)
    assert report.added == ("pump.pdf",) and report.index.dir == str(tmp_path / "index")
    params = SearchParams(passages=1, relevance_floor=0.0)
    index = IndexSnapshot.open(tmp_path / "index")
    with Retriever(index, FakeEmbedder(), params, owns_index=True) as retriever:
        session = ChatSession(retriever, None, ChatOptions(passages=1, history_turns=0))
        answer = session.ask("How often is the Zorblax pump serviced?")
    assert [p.source for p in answer.passages] == ["pump.pdf"] and "90 days" in answer.text
    assert not session.history  # history_turns=0 keeps nothing


def test_the_edges_hand_the_settings_down_as_those_records(tmp_path):
    s = Settings(index_dir=tmp_path, chunk_tokens=64, passages=3, vector_index="flat")
    options = ingest_options(s)
    assert options.index_dir == tmp_path and options.chunking == Chunking(tokens=64)
    assert search_params(s) == SearchParams(passages=3, exhaustive=True)
    # Chunk sizes left unset are the index's own (None), not the default.
    assert ingest_options(Settings()).chunking == Chunking()


def test_a_misspelt_environment_variable_is_warned_about_with_the_nearest_name(monkeypatch, caplog):
    monkeypatch.setenv("RAG_CHUNK_TOKNS", "64")
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:scripted")  # not a setting, known
    with caplog.at_level("WARNING", logger="core.settings"):
        s = load_settings()
    assert s.ingest.chunk_tokens == 192  # ignored, as before, but not silently
    assert [r.getMessage() for r in caplog.records] == [
        "RAG_CHUNK_TOKNS is not a setting and is ignored (did you mean RAG_CHUNK_TOKENS?)"
    ]
