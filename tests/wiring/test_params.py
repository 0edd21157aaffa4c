"""wiring.params: the settings handed down as each part's small record, defaults equal."""

from __future__ import annotations

from core.settings import Settings
from index import IndexSnapshot, IndexWriter
from ingest.options import Chunking, IngestOptions
from ingest.pipeline import chunking_config, run_ingest
from llm.chat import ChatOptions, ChatSession
from llm.llama_cpp_backend import LlamaOptions
from llm.types import GenerationParams
from retrieval.search import Retriever, SearchParams
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.params import chat_options, ingest_options, llama_options, search_params


def test_every_record_defaults_to_the_settings_defaults():
    """One source for each default: a record built without settings behaves as the settings'
    defaults would (the library's own OCR default has no cache folder; the settings name one)."""
    s = Settings()
    assert search_params(s) == SearchParams()
    assert llama_options(s) == LlamaOptions()
    assert chat_options(s) == ChatOptions()
    assert chat_options(s).sampling == GenerationParams()
    options = ingest_options(s)
    library = IngestOptions(index_dir=options.index_dir)
    assert options.ocr.cache_dir == s.paths.ocr_cache_dir and library.ocr.cache_dir is None
    assert {**vars(options), "ocr": None} == {**vars(library), "ocr": None}


def test_the_chat_options_defaults_are_the_settings_defaults():
    assert chat_options(Settings()) == ChatOptions()


def test_the_library_is_built_from_plain_values_without_a_settings_object(tmp_path):
    """Ingest, search and chat, each given only its own small record."""
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "pump.pdf", ["Service the Zorblax pump every 90 days. " * 8])
    options = IngestOptions(tmp_path / "index", chunking=Chunking(tokens=40, overlap=8))
    embedder = FakeEmbedder()
    chunking = chunking_config(options.chunking, embedder.info.max_tokens)
    writer = IndexWriter(tmp_path / "index", embedding=embedder.info, chunking=chunking)
    report = run_ingest(
        [docs], options, embedder=embedder, writer=writer, chunking=chunking, parser_processes=0
    )
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
