"""Finding the model file: setting first, else the newest .gguf in models/, else none."""

from __future__ import annotations

import os

import pytest

from core.errors import ModelError
from llm.model_file import find_model_file


def touch(path, mtime):
    path.write_bytes(b"GGUF")
    os.utime(path, (mtime, mtime))
    return path


def test_no_models_folder_means_no_model(tmp_path):
    assert find_model_file(None, tmp_path / "models") is None


def test_the_newest_gguf_wins_and_other_files_are_ignored(tmp_path):
    touch(tmp_path / "old.gguf", 1_000)
    newest = touch(tmp_path / "new.gguf", 2_000)
    touch(tmp_path / "notes.txt", 3_000)
    touch(tmp_path / ".partial.gguf", 4_000)  # a download in progress
    (tmp_path / "folder.gguf").mkdir()
    assert find_model_file(None, tmp_path) == newest


def test_split_models_are_found_by_their_first_shard(tmp_path):
    first = touch(tmp_path / "big-00001-of-00002.gguf", 1_000)
    touch(tmp_path / "big-00002-of-00002.gguf", 2_000)
    assert find_model_file(None, tmp_path) == first


def test_the_setting_overrides_the_folder(tmp_path):
    touch(tmp_path / "folder.gguf", 2_000)
    chosen = touch(tmp_path / "chosen.bin", 1_000)
    assert find_model_file(chosen, tmp_path) == chosen


def test_a_configured_model_that_is_missing_is_an_error(tmp_path):
    with pytest.raises(ModelError, match="does not exist") as caught:
        find_model_file(tmp_path / "gone.gguf", tmp_path / "models")
    assert "RAG_LLM_MODEL" in caught.value.hint


def test_the_set_ups_default_model_wins_over_a_newer_test_model(tmp_path):
    from llm.catalog import DEFAULT

    default = touch(tmp_path / DEFAULT.file, 1_000)
    touch(tmp_path / "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", 2_000)
    assert find_model_file(None, tmp_path) == default
