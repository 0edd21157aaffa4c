"""Installed models: listed with size and context from GGUF metadata; switched once for all."""

from __future__ import annotations

import pytest

from app.model_list import context_length, installed_models
from app.service import AppService
from core.errors import ModelError, RagError
from core.settings import Settings
from service.components import Components
from tests.fakes import FakeEmbedder
from tests.tiny_gguf import TINY, write_llama_gguf


def test_models_are_listed_with_size_and_trained_context(tmp_path):
    write_llama_gguf(tmp_path / "b.gguf", TINY)
    write_llama_gguf(tmp_path / "a.gguf", TINY)
    (tmp_path / "big-00002-of-00002.gguf").write_bytes(b"GGUF")  # a later shard: not listed
    (tmp_path / "notes.txt").write_text("not a model")
    models = installed_models(tmp_path)
    assert [m.file for m in models] == ["a.gguf", "b.gguf"]
    assert models[0].context == TINY.n_ctx_train and models[0].size > 1000
    assert "context" in models[0].label and "MB" in models[0].label


@pytest.mark.parametrize("content", [b"", b"<html>", b"GGUF\x03\x00\x00\x00" + b"\xff" * 40])
def test_unreadable_files_have_no_context_and_do_not_fail(tmp_path, content):
    path = tmp_path / "m.gguf"
    path.write_bytes(content)
    assert context_length(path) == 0
    assert installed_models(tmp_path)[0].context == 0


def test_a_missing_models_folder_lists_nothing(tmp_path):
    assert installed_models(tmp_path / "none") == []


class Loaded:
    def __init__(self, path):
        self.path = path


def service(tmp_path, loader) -> AppService:
    settings = Settings(models_dir=tmp_path, index_dir=tmp_path / "index")
    return AppService(settings, Components(lambda _s: FakeEmbedder(), loader, parser_processes=0))


def test_switching_loads_the_model_once_for_every_session(tmp_path):
    write_llama_gguf(tmp_path / "a.gguf", TINY)
    write_llama_gguf(tmp_path / "b.gguf", TINY)
    loads = []

    def loader(settings):
        loads.append(settings.llm.model)
        return Loaded(settings.llm.model)

    svc = service(tmp_path, loader)
    before = svc.model_version
    svc.use_model(tmp_path / "b.gguf")
    assert svc.generator().path == tmp_path / "b.gguf"
    assert loads == [tmp_path / "b.gguf"] and svc.model_version == before + 1
    with pytest.raises(RagError, match="not a model in the models folder"):
        svc.use_model(tmp_path / "elsewhere.gguf")


def test_a_model_that_fails_to_load_keeps_the_current_one(tmp_path):
    write_llama_gguf(tmp_path / "a.gguf", TINY)
    (tmp_path / "broken.gguf").write_text("<html>")

    def loader(settings):
        if settings.llm.model and settings.llm.model.name == "broken.gguf":
            raise ModelError("broken.gguf is not a GGUF model")
        return Loaded(settings.llm.model)

    svc = service(tmp_path, loader)
    svc.use_model(tmp_path / "a.gguf")
    with pytest.raises(ModelError):
        svc.use_model(tmp_path / "broken.gguf")
    assert svc.generator().path == tmp_path / "a.gguf"
