"""The app's service without Streamlit: uploads, new generations, filters, model status, hook."""

from __future__ import annotations

import pytest

from app.conversation import Tuning
from app.service import AppService, Upload
from core.errors import ConfigError, ModelError, RagError
from core.settings import Settings
from service.components import Components, load_components
from tests import app_fakes
from tests.fakes import FakeEmbedder
from tests.pdf_factory import text_pdf_bytes

TUNING = Tuning(passages=5, temperature=0.2, max_tokens=256)
WARRANTY = text_pdf_bytes(["The warranty lasts two years from the date of delivery."])
ROCKET = text_pdf_bytes(["The rocket engine burns liquid oxygen and kerosene."])


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(
        index_dir=tmp_path / "index",
        documents_dir=tmp_path / "uploads",
        models_dir=tmp_path / "models",
        relevance_floor=0.05,
        upload_max_files=3,
        upload_max_mb=1,
    )


def service(settings: Settings, components: Components | None = None) -> AppService:
    return AppService(settings, components or app_fakes.scripted())


def sources_of(answer) -> set[str]:
    return {p.source for p in answer.passages}


def test_new_documents_are_searchable_at_once_in_the_same_conversation(settings):
    svc = service(settings)
    svc.add_uploads([Upload("warranty.pdf", WARRANTY)])
    conversation = svc.new_conversation()
    first = conversation.ask("What does the rocket engine burn?", TUNING)
    assert "rocket.pdf" not in sources_of(first)
    conversation.finish("What does the rocket engine burn?", first)
    generation = svc.manifest().generation
    result = svc.add_uploads([Upload("rocket.pdf", ROCKET)])
    assert result.report.added == ("rocket.pdf",)
    assert svc.manifest().generation > generation
    second = conversation.ask("What does the rocket engine burn?", TUNING)
    assert "rocket.pdf" in sources_of(second)
    assert "liquid oxygen" in second.text


def test_retriever_is_reused_within_a_generation_and_replaced_after_a_removal(settings):
    svc = service(settings)
    svc.add_uploads([Upload("warranty.pdf", WARRANTY), Upload("rocket.pdf", ROCKET)])
    first = svc.retriever()
    assert svc.retriever() is first
    assert svc.remove(["rocket.pdf"]) == ["rocket.pdf"]
    assert svc.retriever() is not first
    assert sorted(svc.manifest().documents) == ["warranty.pdf"]


def test_uploads_are_checked_named_safely_and_limited(settings):
    svc = service(settings)
    with pytest.raises(RagError, match="at most 3") as raised:
        svc.add_uploads([Upload(f"{i}.pdf", WARRANTY) for i in range(4)])
    assert "Next step" in str(raised.value)
    big = b"%PDF-1.4\n" + b"0" * 1_000_001
    result = svc.add_uploads(
        [
            Upload("../../../etc/warranty.pdf", WARRANTY),
            Upload("notes.pdf", b"just text"),
            Upload("huge.pdf", big),
        ]
    )
    assert result.report.added == ("warranty.pdf",)
    assert [m.split(" ", 1)[0] for m in result.rejected] == ["notes.pdf", "huge.pdf"]
    assert "not a PDF" in result.rejected[0] and "upload limit" in result.rejected[1]
    assert sorted(p.name for p in settings.paths.documents_dir.iterdir()) == ["warranty.pdf"]
    again = svc.add_uploads([Upload("warranty.pdf", WARRANTY)])  # same content: same file
    assert again.report.unchanged == ("warranty.pdf",) and again.report.added == ()


def test_nothing_accepted_means_nothing_ingested(settings):
    result = service(settings).add_uploads([Upload("notes.pdf", b"just text")])
    assert result.report is None and len(result.rejected) == 1
    assert not settings.paths.index_dir.exists()


def test_document_filter_takes_names_literally(settings):
    svc = service(settings)
    svc.add_uploads([Upload("report [draft].pdf", WARRANTY), Upload("report d.pdf", WARRANTY)])
    conversation = svc.new_conversation()
    # As a glob, "[draft]" would also select "report d.pdf".
    tuning = Tuning(5, 0.2, 256, documents=("report [draft].pdf",))
    answer = conversation.ask("How long does the warranty last?", tuning)
    assert sources_of(answer) == {"report [draft].pdf"}


def test_model_status_with_a_model_without_one_and_with_a_broken_one(settings):
    loaded = service(settings).model_status()
    assert (loaded.loaded, loaded.file, loaded.n_ctx) == (True, "scripted.gguf", 4096)
    assert (loaded.layers_on_gpu, loaded.layers_total) == (0, 1)
    absent = service(settings, app_fakes.no_model()).model_status()
    assert not absent.loaded and absent.problem is None
    broken = service(settings, app_fakes.broken_model())
    assert "Next step: download it again" in str(broken.model_status().problem)
    assert broken.new_conversation().mode == "extractive"


def test_index_not_found_is_none_for_status_and_an_error_for_questions(settings):
    svc = service(settings)
    assert svc.manifest() is None
    with pytest.raises(RagError, match="no index"):
        svc.new_conversation().ask("anything?", TUNING)


def test_the_factory_hook_names_a_function_returning_components():
    assert isinstance(load_components("tests.app_fakes:no_model"), Components)
    with pytest.raises(ConfigError, match="cannot be loaded"):
        load_components("tests.app_fakes:nothing_here")
    with pytest.raises(ConfigError, match="did not return Components"):
        load_components("builtins:dict")


def test_warm_up_loads_the_embedder_and_opens_the_index_once_in_the_background(settings):
    embedded: list[list[str]] = []

    class CountingEmbedder(FakeEmbedder):
        def embed(self, texts):
            embedded.append(list(texts))
            return super().embed(texts)

    components = app_fakes.scripted()
    svc = service(settings, Components(lambda _s: CountingEmbedder(), components.load_generator, 0))
    svc.add_uploads([Upload("warranty.pdf", WARRANTY)])
    embedded.clear()
    warming = svc.warm_up()
    assert svc.warm_up() is warming  # once per service
    warming.join(10)
    assert embedded == [["warm up"]]
    assert svc._retriever is not None and svc._retriever is svc.retriever()


def test_a_model_server_that_was_down_is_asked_again_and_then_answers(settings, monkeypatch):
    import service.shared as service_module
    from tests.fake_generator import ScriptedGenerator
    from tests.fakes import FakeEmbedder

    attempts: list[int] = []

    def load(_settings):
        attempts.append(1)
        if len(attempts) == 1:
            raise ModelError("cannot reach the model server at http://127.0.0.1:9/v1")
        return ScriptedGenerator(["Up now."])

    monkeypatch.setattr(service_module, "SERVER_RETRY_S", 0.0)
    served = settings.replace(llm_url="http://127.0.0.1:9/v1")
    svc = AppService(served, Components(lambda _s: FakeEmbedder(), load, parser_processes=0))
    status = svc.model_status()
    assert not status.loaded and "cannot reach" in str(status.problem)
    version = svc.model_version
    assert svc.model_status().loaded and svc.model_version == version + 1
    assert len(attempts) == 2
    # A local model that failed is not asked again: its file does not fix itself.
    attempts.clear()
    local = AppService(settings, Components(lambda _s: FakeEmbedder(), load, parser_processes=0))
    local.model_status()
    assert not local.model_status().loaded and len(attempts) == 1
