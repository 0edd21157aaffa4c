"""Settings: groups, unknown names refused, bounds with a clear message, documented env names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import ConfigError
from core.settings import ENV_NAMES, Settings, load_settings
from core.settings_env import ALIASES
from wiring.params import chat_options

CONFIGURATION = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"


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
    assert "docs/configuration.md" in caught.value.hint


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


def test_every_setting_has_an_environment_name_and_the_docs_list_them():
    groups = Settings()
    covered = set(ENV_NAMES.values())
    for group in Settings.model_fields:
        for name in type(getattr(groups, group)).model_fields:
            assert (group, name) in covered, f"{group}.{name} has no RAG_ name"
    documented = set(re.findall(r"RAG_[A-Z0-9_]+", CONFIGURATION.read_text()))
    missing = sorted(n for n in ENV_NAMES if n not in documented)
    assert not missing, f"not in docs/configuration.md: {missing}"
    assert {"RAG_TOP_K", "RAG_LLM_PASSAGES"} <= {f"RAG_{a.upper()}" for a in ALIASES}


def test_a_misspelt_environment_variable_is_warned_about_with_the_nearest_name(monkeypatch, caplog):
    monkeypatch.setenv("RAG_CHUNK_TOKNS", "64")
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:scripted")  # not a setting, known
    with caplog.at_level("WARNING", logger="core.settings"):
        s = load_settings()
    assert s.ingest.chunk_tokens == 192  # ignored, as before, but not silently
    assert [r.getMessage() for r in caplog.records] == [
        "RAG_CHUNK_TOKNS is not a setting and is ignored (did you mean RAG_CHUNK_TOKENS?)"
    ]


def test_the_env_names_come_from_the_groups_with_a_short_list_of_kept_names():
    from core.settings_env import KEPT_NAMES, PREFIXES, flat_name
    from core.settings_groups import GROUPS

    assert list(GROUPS) == list(Settings.model_fields) == list(PREFIXES)
    for (group, field), name in KEPT_NAMES.items():
        assert field in GROUPS[group].model_fields, (group, field)
        assert name != PREFIXES[group] + field  # a kept name differs from the derived one
    assert len(KEPT_NAMES) <= 3
    names = [flat_name(g, f) for g, cls in GROUPS.items() for f in cls.model_fields]
    assert len(names) == len(set(names)), "two settings derive the same environment name"
