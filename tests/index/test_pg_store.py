"""The index in a real PostgreSQL + pgvector, through the same wiring as the local one."""

from __future__ import annotations

import shutil

import numpy as np
import psycopg
import pytest

from core.errors import IndexMismatchError, IndexNotFoundError, IndexWriteError
from core.settings import Settings
from core.types import Chunk, ChunkingInfo
from index.manifest import DocumentRecord
from index.pg_schema import SCHEMA_VERSION
from index.pg_writer import PgIndexWriter
from tests import pdf_factory as pdfs
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents, open_index, open_retriever
from wiring.stores import open_store, remove_documents

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def _docs(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    pdfs.text_pdf(docs / "pump.pdf", ["The Zorblax pump is serviced every 90 days."])
    pdfs.text_pdf(docs / "fan.pdf", ["The Quibble fan spins at 1200 rpm.", "Fan page two."])
    return docs


def _ingest(docs, settings, **kw):
    return ingest_documents([docs], settings, embedder=FakeEmbedder(), parser_processes=0, **kw)


def test_ingest_search_incremental_and_removal_against_postgres(pg_url, tmp_path):
    settings = Settings(store_url=pg_url, index_dir=tmp_path / "unused")
    docs = _docs(tmp_path)
    report = _ingest(docs, settings)
    assert sorted(report.added) == ["fan.pdf", "pump.pdf"] and report.index.pages == 3
    fan_chunks = open_store(settings).committed().documents["fan.pdf"].chunks
    assert report.index.dir.startswith("postgresql://") and not (tmp_path / "unused").exists()
    with open_retriever(settings, FakeEmbedder()) as retriever:
        found = retriever.search("How often is the Zorblax pump serviced?", k=2)
        assert found[0].source == "pump.pdf" and "90 days" in found[0].text
        only = retriever.search("Zorblax pump", k=2, files=["fan.pdf"])
        assert {p.source for p in only} <= {"fan.pdf"}
        assert retriever.page_text("fan.pdf", 2) == "Fan page two."
        old = retriever.generation
    assert _ingest(docs, settings).unchanged == ("fan.pdf", "pump.pdf")  # nothing to do
    # Moved: the same content under a new name reuses every stored vector.
    (docs / "sub").mkdir()
    shutil.move(docs / "fan.pdf", docs / "sub" / "fan.pdf")
    moved = _ingest(docs, settings)
    assert moved.added == ("sub/fan.pdf",) and moved.removed == ("fan.pdf",)
    assert moved.reused_vectors == fan_chunks
    assert remove_documents(settings, ["pump.pdf", "nope.pdf"]) == ["pump.pdf"]
    manifest = open_store(settings).committed()
    assert sorted(manifest.documents) == ["sub/fan.pdf"] and manifest.generation > old
    with open_retriever(settings, FakeEmbedder()) as retriever:
        assert {p.source for p in retriever.search("Zorblax pump serviced", k=3)} <= {"sub/fan.pdf"}
    with psycopg.connect(pg_url) as con:  # one current version of each document, no more
        current = con.execute(
            "SELECT source, count(*) FROM rag_documents WHERE gen_to IS NULL GROUP BY source"
        ).fetchall()
    assert current == [("sub/fan.pdf", 1)]


def test_a_reader_keeps_its_generation_while_a_writer_commits(pg_url, tmp_path):
    """No torn reads: a search sees the old or the new state of a document, never a mix."""
    settings = Settings(store_url=pg_url)
    docs = _docs(tmp_path)
    _ingest(docs, settings)
    reader = open_index(settings)
    keyword = reader.keyword_search()
    pdfs.text_pdf(docs / "pump.pdf", ["The Zorblax pump now runs dry for a year."])
    _ingest(docs, settings)
    try:
        q = FakeEmbedder().embed(["Zorblax pump serviced"])[0]
        ids = [i for i, _ in reader.nearest(q, 10)] + [
            h.id for h in keyword.search(["zorblax", "pump"], 10)
        ]
        texts = {c.text for c in reader.chunks_by_ids(ids) if c.source == "pump.pdf"}
        assert texts == {"The Zorblax pump is serviced every 90 days."}
        assert reader.page_text("pump.pdf", 1) == "The Zorblax pump is serviced every 90 days."
    finally:
        reader.close()
    with open_index(settings) as fresh:
        hits = fresh.keyword_search().search(["zorblax", "dry"], 5)
        assert [c.text for c in fresh.chunks_by_ids([hits[0].id])] == [
            "The Zorblax pump now runs dry for a year."
        ]


def test_an_uncommitted_writer_leaves_the_committed_state(pg_url, tmp_path):
    """A writer that dies before its commit (its transaction rolls back) changes nothing."""
    settings = Settings(store_url=pg_url)
    _ingest(_docs(tmp_path), settings)
    before = open_store(settings).committed()
    emb = FakeEmbedder()
    chunk = Chunk("new.pdf", 0, 1, 1, "half written", 2)
    record = DocumentRecord("new.pdf", "s", 1, 1, "/", "/new.pdf", 1, 1, "pdfium")
    with PgIndexWriter(pg_url, embedding=emb.info, chunking=before.chunking) as writer:
        writer.put_document(record, [chunk], emb.embed([chunk.text]), [])
        writer.remove("pump.pdf")
    after = open_store(settings).committed()
    assert after.documents == before.documents and after.generation == before.generation


def test_vectors_model_and_schema_are_checked(pg_url, tmp_path):
    settings = Settings(store_url=pg_url)
    _ingest(_docs(tmp_path), settings)
    chunking = open_store(settings).committed().chunking
    emb = FakeEmbedder()
    chunk = Chunk("x.pdf", 0, 1, 1, "x", 1)
    record = DocumentRecord("x.pdf", "s", 1, 1, "/", "/x.pdf", 1, 1, "pdfium")
    with PgIndexWriter(pg_url, embedding=emb.info, chunking=chunking) as writer:
        bad = np.full((1, 64), np.nan, np.float32)
        with pytest.raises(IndexWriteError, match="NaN"):
            writer.put_document(record, [chunk], bad, [])
        with pytest.raises(IndexWriteError, match="shape"):
            writer.put_document(record, [chunk], np.zeros((1, 32), np.float32), [])
    other = FakeEmbedder(dim=32)
    with pytest.raises(IndexMismatchError, match="vector\\(64\\)"):
        ingest_documents([tmp_path / "docs"], settings, embedder=other, parser_processes=0)
    renamed = FakeEmbedder()
    renamed._info = renamed.info.__class__("another-model", 64, 256, "another")
    with pytest.raises(IndexMismatchError, match="another"):
        ingest_documents([tmp_path / "docs"], settings, embedder=renamed, parser_processes=0)
    with psycopg.connect(pg_url) as con:
        con.execute("UPDATE rag_state SET schema_version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(IndexMismatchError, match="schema version"):
        open_index(settings)


def test_an_empty_database_says_to_ingest_first(pg_url):
    with pytest.raises(IndexNotFoundError, match="ingest"):
        open_index(Settings(store_url=pg_url))
    assert open_store(Settings(store_url=pg_url)).committed() is None


def test_rebuild_replaces_every_document(pg_url, tmp_path):
    settings = Settings(store_url=pg_url)
    docs = _docs(tmp_path)
    _ingest(docs, settings)
    (docs / "fan.pdf").unlink()
    report = _ingest(docs / "pump.pdf", settings, rebuild=True)
    assert report.added == ("pump.pdf",)
    assert sorted(open_store(settings).committed().documents) == ["pump.pdf"]
    assert open_store(settings).committed().chunking == ChunkingInfo(192, 32, 1, 2)


def test_a_file_name_with_undecodable_bytes_is_kept_exactly(pg_url, tmp_path):
    import os
    from pathlib import Path

    docs = tmp_path / "docs"
    docs.mkdir()
    odd = Path(os.fsdecode(bytes(docs) + b"/caf\xe9.pdf"))
    pdfs.text_pdf(odd, ["The markerlatin1 espresso machine descales monthly."])
    settings = Settings(store_url=pg_url)
    assert _ingest(docs, settings).added == ("caf\\xe9.pdf",)
    record = open_store(settings).committed().documents["caf\\xe9.pdf"]
    assert record.path == str(odd) and record.real_path == os.path.realpath(odd)
    assert _ingest(docs, settings).unchanged == ("caf\\xe9.pdf",)  # its stat matched
    with open_index(settings) as reader:
        assert "markerlatin1" in reader.page_text("caf\\xe9.pdf", 1)
