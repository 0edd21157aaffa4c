"""The fast write path of the PostgreSQL store: keyword rows from Python, a bulk first load.

Every row must be what the SQL definition gives (`index.pg_terms`), a bulk load must end in
the same tables as document-by-document writes, and a killed bulk load must leave the last
committed state, search indexes included.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import psycopg
import pytest

from core.types import Chunk, ChunkingInfo, PageText
from index import pg_schema
from index.manifest import DocumentRecord
from index.pg_rows import keyword_text
from index.pg_terms import KeywordRows
from index.pg_writer import PgIndexWriter
from tests.fakes import FakeEmbedder

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
CHUNKING = ChunkingInfo(192, 32)

TRICKY = [
    ("The pumps' limits: GPT-4 runs 1200 rpm", "Manual › 2 Pumps"),
    ("Café naïve résumé über Straße ΑΒΓ δέλτα Привет мир 東京 タワー", ""),
    ("gpt4 2nd 1e5 0x1f v2 abc123def 12345678901234567890 ½ ² x", "Ⅻ chapter"),
    ("running runs ran runner the a of and is it", "running header running"),
    ("a " + "x" * 3000 + " end", "long word"),  # a word PostgreSQL does not index
    ("again " * 300, "again"),  # a lexeme past PostgreSQL's positions per lexeme
    ("w " * 17000, ""),  # positions past PostgreSQL's limit
    ("", ""),
]


def _sql_rows(con, texts):
    return con.execute(
        "SELECT array(SELECT lexeme FROM unnest(tsv) ORDER BY lexeme), rag_tf(tsv), rag_len(tsv)"
        " FROM (SELECT i, setweight(to_tsvector('rag_english', t), 'A')"
        " || setweight(to_tsvector('rag_english', h), 'B') AS tsv"
        " FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS x(t, h, i)) k ORDER BY i",
        ([t for t, _ in texts], [h for _, h in texts]),
    ).fetchall()


def test_keyword_rows_from_python_are_the_sql_rows(pg_url):
    con = pg_schema.connect(pg_url, autocommit=True)
    pg_schema.create_schema(con, 8)
    texts = [(keyword_text(t), keyword_text(h)) for t, h in TRICKY]
    rows = KeywordRows(con).rows(texts)
    for row, (lexemes, tf, length), text in zip(rows, _sql_rows(con, texts), TRICKY, strict=True):
        assert row.lexemes == tuple(lexemes), text[0][:40]
        assert row.tf == {k: float(v) for k, v in tf.items()}, text[0][:40]
        assert row.length == float(length), text[0][:40]
        # PostgreSQL reads our tsvector text back as its own.
        back = con.execute("SELECT %s::tsvector = array_to_tsvector(%s)", (row.tsvector(), lexemes))
        assert back.fetchone()[0]
    assert rows[2].tf["abc123def"] == 1.0 and "xxx" not in "".join(rows[4].lexemes)
    con.close()


def _documents(n_docs: int, size: int, seed: int):
    rng = np.random.default_rng(seed)
    words = ["pump", "pumps", "running", "valve", "Café", "GPT-4", "2nd", "flow", "the", "of"]
    emb = FakeEmbedder()
    for d in range(n_docs):
        source = f"doc{seed}-{d}.pdf"
        chunks = [
            Chunk(
                source,
                i,
                i + 1,
                i + 1,
                " ".join(rng.choice(words, 12)),
                12,
                heading=f"Doc {d} › {rng.choice(words)}",
                section=(f"{d} ΑΒΓ",),
            )
            for i in range(size)
        ]
        record = DocumentRecord(source, f"sha-{seed}-{d}", size, size, "/", source, 1, 1, "pdfium")
        pages = [PageText(i + 1, f"page {i + 1}") for i in range(size)]
        yield record, chunks, emb.embed([c.text for c in chunks]), pages


def _write(url, documents, *, remove=()):
    with PgIndexWriter(url, embedding=FakeEmbedder().info, chunking=CHUNKING) as w:
        bulk = []
        for document in documents:
            w.put_document(*document)
            bulk.append(w._bulk)
        for source in remove:
            w.remove(source)
        w.commit()
    return bulk


def _tables(url):
    """Everything the writes decide, keyed by (source, ordinal) instead of generated ids."""
    with psycopg.connect(url) as con:
        chunks = con.execute(
            "SELECT source, ordinal, chunk_id, page_start, page_end, n_tokens, text,"
            " ocr_confidence, heading, title, section, embedding::text FROM rag_chunks"
            " ORDER BY source, ordinal"
        ).fetchall()
        keywords = con.execute(
            "SELECT c.source, c.ordinal, k.tsv::text, k.tf, k.len FROM rag_keywords k"
            " JOIN rag_chunks c ON c.id = k.chunk_id ORDER BY c.source, c.ordinal"
        ).fetchall()
        texts = con.execute(
            "SELECT text, heading FROM rag_chunks ORDER BY source, ordinal"
        ).fetchall()
        kw = [(keyword_text(t), keyword_text(h)) for t, h in texts]
        defined = [  # the rows as the SQL definition computes them
            (c[0], c[1], " ".join(f"'{x}'" for x in lexemes), tf, length)
            for c, (lexemes, tf, length) in zip(chunks, _sql_rows(con, kw), strict=True)
        ]
        pages = con.execute(
            "SELECT d.source, p.page, p.text FROM rag_pages p JOIN rag_documents d USING (doc_id)"
            " ORDER BY 1, 2"
        ).fetchall()
        terms = con.execute("SELECT term, df FROM rag_terms ORDER BY term").fetchall()
        counted = con.execute(
            "SELECT u.lexeme, count(*) FROM rag_keywords k, unnest(k.tsv) u GROUP BY 1 ORDER BY 1"
        ).fetchall()
        state = con.execute("SELECT chunks, tokens FROM rag_state").fetchone()
        totals = con.execute("SELECT count(*), sum(len) FROM rag_keywords").fetchone()
        indexes = con.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN"
            " ('rag_chunks_hnsw', 'rag_keywords_tsv') ORDER BY 1"
        ).fetchall()
    assert [k[:3] for k in keywords] == [d[:3] for d in defined]  # the SQL's rows
    assert [(k[3], k[4]) for k in keywords] == [(d[3], d[4]) for d in defined]
    assert terms == [t for t in counted]  # document frequencies: those of the rows
    assert state == (totals[0], totals[1])  # totals kept by commits: those of the rows
    assert indexes == [("rag_chunks_hnsw",), ("rag_keywords_tsv",)]
    return chunks, keywords, pages, terms, state


def test_a_bulk_load_and_incremental_writes_give_the_same_rows(pg_server):
    bulk_url = pg_server.create_database("bulk_vs_incremental_a")
    step_url = pg_server.create_database("bulk_vs_incremental_b")
    docs = list(_documents(4, 30, seed=1))
    # One writer into an empty store: the bulk path (indexes built at its commit).
    assert _write(bulk_url, docs, remove=["doc1-3.pdf"]) == [True] * 4
    # The same documents one commit at a time: the first is a bulk load, the rest not.
    assert _write(step_url, docs[:1]) == [True]
    assert _write(step_url, docs[1:3]) == [False, False]
    assert _write(step_url, docs[3:], remove=["doc1-3.pdf"]) == [False]
    assert _tables(bulk_url) == _tables(step_url)
    # Removing everything: the next writer loads in bulk again, and the totals follow.
    with PgIndexWriter(step_url, embedding=FakeEmbedder().info, chunking=CHUNKING) as w:
        for source in ("doc1-0.pdf", "doc1-1.pdf", "doc1-2.pdf"):
            w.remove(source)
        w.commit()
    with psycopg.connect(step_url) as con:  # the replaced versions, gone as after 10 minutes
        con.execute("DELETE FROM rag_documents WHERE gen_to IS NOT NULL")
        con.execute("DELETE FROM rag_terms WHERE df <= 0")
    assert _write(step_url, docs[:1]) == [True]
    _tables(step_url)


CHILD = """
import sys, time
sys.path.insert(0, {root!r})
from tests.index.test_pg_bulk import _documents, CHUNKING
from tests.fakes import FakeEmbedder
from index.pg_writer import PgIndexWriter
w = PgIndexWriter({url!r}, embedding=FakeEmbedder().info, chunking=CHUNKING).__enter__()
for document in _documents(3, 20, seed=2):
    w.put_document(*document)
print("written", w._bulk, flush=True)
time.sleep(60)
"""


def test_a_killed_bulk_load_leaves_the_last_committed_state(pg_server):
    url = pg_server.create_database("killed_bulk_load")
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD.format(root=str(ROOT), url=url)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert child.stdout.readline().strip() == "written True"  # indexes dropped, rows in
        # Meanwhile a second writer waits for the first, and is not a bulk load of its own.
        found: list = []
        second = threading.Thread(target=lambda: found.append(_write(url, _documents(1, 5, 3))))
        second.start()
        time.sleep(1.0)
        assert second.is_alive()  # waiting on the bulk load's lock
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        second.join(60)
    finally:
        child.kill()
    # The killed load left nothing; the dropped indexes are back; the waiting writer then
    # found an empty store and loaded in bulk itself.
    assert found == [[True]]
    chunks, *_ = _tables(url)
    assert {c[0] for c in chunks} == {"doc3-0.pdf"}


def test_two_writers_that_find_the_store_empty_at_once_both_commit(pg_server):
    """Both hold a read lock when they ask for the table lock: PostgreSQL ends one ask.

    The read before the first write makes the race certain (the CI run that found it had
    two ingest processes start together on an empty database). Here the read is outside the
    bulk load's savepoint, so the writer whose ask ended keeps its read lock, writes row by
    row and commits first; the other then finds rows and does the same.
    """
    url = pg_server.create_database("two_empty_writers")
    ready = threading.Barrier(2, timeout=30)
    bulk: dict[int, bool] = {}
    errors: list[BaseException] = []

    def write(seed: int) -> None:
        try:
            with PgIndexWriter(url, embedding=FakeEmbedder().info, chunking=CHUNKING) as w:
                w._con.execute("SELECT count(*) FROM rag_chunks")  # the read lock, held
                ready.wait()
                for document in _documents(2, 10, seed):
                    w.put_document(*document)
                bulk[seed] = w._bulk
                w.commit()
        except BaseException as exc:  # reported below, with its type
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(seed,)) for seed in (4, 5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert errors == []
    assert bulk == {4: False, 5: False}
    chunks, *_ = _tables(url)
    assert {c[0] for c in chunks} == {f"doc{s}-{d}.pdf" for s in (4, 5) for d in (0, 1)}
