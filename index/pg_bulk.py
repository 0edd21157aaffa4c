"""How `index.pg_writer` moves rows into PostgreSQL quickly, in its own transaction.

* Chunk rows go by binary COPY (vectors as raw float32, no text formatting), keyword rows
  computed in Python (`index.pg_terms`) by COPY, term counts as two arrays.
* A bulk load: a writer whose first write finds the store empty (a first ingest, a copy,
  everything removed before) drops the HNSW and GIN indexes inside its transaction and
  builds them again at its commit, over all its rows at once (pgvector's build, parallel
  workers as the server allows), instead of inserting each vector into the graph. Measured
  in docs/deployment.md. A killed bulk load rolls back the drop with the rows: the store is
  as it was, indexes included. Whoever touches the tables meanwhile (another writer, a
  reader of a store emptied by removals) waits for the commit, never sees a half state.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from functools import partial
from typing import Any

import numpy as np

from core.types import Chunk, PageText
from index.pg_rows import CHUNK_COLUMNS
from index.pg_schema import SEARCH_INDEXES
from index.pg_terms import KeywordRow

CHUNK_TYPES = (
    *("int8", "int8", "text", "text", "int4", "int4", "int4", "int4", "text", "float4"),
    *("text", "text", "jsonb", "vector"),
)


def copy_document(
    con: Any,
    doc_id: int,
    chunks: Sequence[Chunk],
    vectors: np.ndarray,
    pages: Sequence[PageText],
    keywords: Sequence[KeywordRow],
) -> None:
    """The rows of one document version (`doc_id`, already inserted), by COPY."""
    from psycopg.types.json import set_json_dumps

    ids = [
        r[0]
        for r in con.execute(
            "SELECT nextval('rag_chunks_id_seq') FROM generate_series(1, %s)", (len(chunks),)
        )
    ]
    with con.cursor() as cur:
        set_json_dumps(partial(json.dumps, ensure_ascii=False), context=cur)
        with cur.copy(f"COPY rag_chunks ({CHUNK_COLUMNS}) FROM STDIN (FORMAT BINARY)") as copy:
            copy.set_types(list(CHUNK_TYPES))
            for i, c, v in zip(ids, chunks, vectors, strict=True):
                copy.write_row(
                    (
                        *(i, doc_id, c.chunk_id, c.source, c.ordinal, c.page_start, c.page_end),
                        *(c.n_tokens, c.text, c.ocr_confidence, c.heading, c.title),
                        *(list(c.section), v),
                    )
                )
        with cur.copy("COPY rag_pages (doc_id, page, text) FROM STDIN") as copy:
            for p in {p.page: p for p in pages}.values():
                copy.write_row((doc_id, p.page, p.text))
        with cur.copy("COPY rag_keywords (chunk_id, doc_id, tsv, tf, len) FROM STDIN") as copy:
            for i, k in zip(ids, keywords, strict=True):
                copy.write_row((i, doc_id, k.tsvector(), k.tf_json(), k.length))


def document_frequencies(keywords: Sequence[KeywordRow]) -> Counter[str]:
    """How many of these chunks hold each lexeme (a document's share of `rag_terms`)."""
    return Counter(x for k in keywords for x in k.lexemes)


def add_terms(con: Any, df: Counter[str]) -> None:
    """Add counted document frequencies to `rag_terms` (the writer's commit)."""
    if not df:
        return
    terms = sorted(df)  # one order for every writer: concurrent commits never deadlock
    con.execute(
        "INSERT INTO rag_terms (term, df) SELECT * FROM unnest(%s::text[], %s::bigint[])"
        " ON CONFLICT (term) DO UPDATE SET df = rag_terms.df + excluded.df",
        (terms, [df[t] for t in terms]),
    )


def start_bulk_load(con: Any) -> bool:
    """Drop the search indexes if the store holds no chunk at all (inside the transaction).

    Two writers that find the store empty at once both hold a read lock when they ask for
    the table lock, and PostgreSQL ends one ask as a deadlock: that writer loads row by row
    after the other's commit instead of failing its ingest.
    """
    from psycopg import errors

    con.execute("SAVEPOINT rag_bulk")  # rolled back: its locks go too, readers go on
    try:
        bulk = _claim_empty_store(con)
    except errors.DeadlockDetected:
        bulk = False
    if not bulk:
        con.execute("ROLLBACK TO SAVEPOINT rag_bulk")
        return False
    for name in SEARCH_INDEXES:
        con.execute(f"DROP INDEX {name}")
    con.execute("RELEASE SAVEPOINT rag_bulk")
    return True


def _claim_empty_store(con: Any) -> bool:
    if con.execute("SELECT EXISTS (SELECT 1 FROM rag_chunks)").fetchone()[0]:
        return False
    con.execute("LOCK TABLE rag_chunks, rag_keywords IN ACCESS EXCLUSIVE MODE")
    # Under the lock, a fresh look: a writer that loaded meanwhile has committed by now.
    return not con.execute("SELECT EXISTS (SELECT 1 FROM rag_chunks)").fetchone()[0]


def build_search_indexes(con: Any) -> None:
    """Build the indexes a bulk load dropped (in its commit's transaction)."""
    for sql in SEARCH_INDEXES.values():
        con.execute(sql)
