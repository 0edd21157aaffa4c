"""A writer of the index in PostgreSQL (`IndexWriting`): several may run at once.

    with PgIndexWriter(url, embedding=info, chunking=cfg) as w:
        w.put_document(record, chunks, vectors, pages)
        w.commit()        # each commit publishes one new generation

Each writer holds one connection and one open transaction between commits: what it
writes is invisible to everyone else until `commit`, and a killed writer's
transaction is rolled back by the server, so the last committed state stays as it
was. Commits of concurrent writers take turns on the row lock of `rag_state`; each
replaces the current version of the documents it wrote (`index.pg_schema`), so two
ingests of the same file leave it indexed once.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np

from core.errors import IndexMismatchError
from core.types import Chunk, ChunkingInfo, EmbeddingInfo, PageText
from index import pg_bulk, pg_schema
from index.manifest import DocumentRecord, Manifest, check_compatible
from index.pg_reader import read_manifest
from index.pg_rows import check_vectors, guarded, keyword_text, record_json
from index.pg_terms import KeywordRows


class PgIndexWriter:
    def __init__(
        self,
        url: str,
        *,
        embedding: EmbeddingInfo,
        chunking: ChunkingInfo,
        rebuild: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        self.location = pg_schema.redact(url)
        self._embedding = embedding
        self._chunking = chunking
        self._rebuild = rebuild
        self._con: Any = None
        self._committed: Manifest | None = None
        self._pending: Manifest | None = None
        self._written: dict[str, int] = {}  # source -> doc_id of my uncommitted version
        self._replaced: set[str] = set()  # sources whose current version my commit ends
        self._touched: dict[str, DocumentRecord] = {}
        self._skipped: dict[str, str] | None = None
        self._in_work = False
        self._keywords: KeywordRows | None = None
        self._df: dict[int, Counter[str]] = {}  # doc_id of my version -> its term counts
        self._bulk: bool | None = None  # this transaction: a bulk load? (decided at 1st write)

    # -- lifecycle ---------------------------------------------------------
    def __enter__(self) -> PgIndexWriter:
        self._con = pg_schema.connect(self.url, autocommit=True)
        try:
            self._open()
        except BaseException:
            self._con.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        try:
            self._con.rollback()  # what was not committed is dropped, as a crash would
        finally:
            self._con.close()

    def _open(self) -> None:
        con = self._con
        pg_schema.ensure_extension(con, self.url)
        if not pg_schema.has_schema(con):
            pg_schema.create_schema(con, self._embedding.dim)
        from pgvector.psycopg import register_vector

        register_vector(con)
        self._keywords = KeywordRows(con)
        with con.transaction():
            con.execute("SELECT pg_advisory_xact_lock(%s)", (pg_schema.SCHEMA_LOCK,))
            con.execute(
                "INSERT INTO rag_state (id, schema_version, generation, embedding, chunking,"
                " created_at, updated_at) VALUES (1, %s, 0, %s, %s, %s, %s)"
                " ON CONFLICT (id) DO NOTHING",
                (pg_schema.SCHEMA_VERSION, *self._info_json(), time.time(), time.time()),
            )
        state = pg_schema.check_version(con, self.url)
        self._check_dimension()
        committed = read_manifest(con, state)
        if self._rebuild:
            self._pending = committed.evolve(
                embedding=self._embedding, chunking=self._chunking, documents={}, skipped={}
            )
            self._replaced.update(committed.documents)
        else:
            if state["generation"] > 0:
                check_compatible(committed, embedding=self._embedding, chunking=self._chunking)
            self._pending = committed
        self._committed = committed
        con.autocommit = False

    def _info_json(self) -> tuple[str, str]:
        return json.dumps(asdict(self._embedding)), json.dumps(self._chunking.to_json())

    def _check_dimension(self) -> None:
        row = self._con.execute(
            "SELECT format_type(atttypid, atttypmod) FROM pg_attribute"
            " WHERE attrelid = 'rag_chunks'::regclass AND attname = 'embedding'"
        ).fetchone()
        if row[0] != f"vector({self._embedding.dim})":
            raise IndexMismatchError(
                f"the index in {self.location} holds vectors of type {row[0]}, but the "
                f"embedding model {self._embedding.model_id!r} gives {self._embedding.dim}",
                hint="set RAG_EMBEDDING_MODEL back to the model the index was built with, or "
                "point RAG_STORE_URL at a new database",
            )

    @property
    def manifest(self) -> Manifest:
        """The index as it will be after the next commit (of this writer alone)."""
        assert self._pending is not None, "use PgIndexWriter as a context manager"
        return self._pending

    # -- changes -----------------------------------------------------------
    @guarded
    def remove(self, source: str) -> None:
        if source not in self.manifest.documents:
            return
        mine = self._written.pop(source, None)
        if mine is not None:
            self._con.execute("DELETE FROM rag_documents WHERE doc_id = %s", (mine,))
            self._df.pop(mine, None)
        self._replaced.add(source)
        self._touched.pop(source, None)
        docs = dict(self.manifest.documents)
        del docs[source]
        self._pending = self.manifest.evolve(documents=docs)

    @guarded
    def put_document(
        self,
        record: DocumentRecord,
        chunks: Sequence[Chunk],
        vectors: np.ndarray,
        pages: Sequence[PageText],
    ) -> None:
        """Add or replace one whole document (visible to others at `commit`)."""
        vectors = check_vectors(vectors, len(chunks), self._embedding.dim)
        self.remove(record.source)
        con = self._con
        if self._bulk is None:
            self._bulk = pg_bulk.start_bulk_load(con)
        doc_id = con.execute(
            "INSERT INTO rag_documents (source, record) VALUES (%s, %s) RETURNING doc_id",
            (record.source, record_json(record)),
        ).fetchone()[0]
        texts = [(keyword_text(c.text), keyword_text(c.heading)) for c in chunks]
        keywords = self._keywords.rows(texts)
        pg_bulk.copy_document(con, doc_id, chunks, vectors, pages, keywords)
        self._df[doc_id] = pg_bulk.document_frequencies(keywords)
        self._written[record.source] = doc_id
        self._in_work = True
        docs = dict(self.manifest.documents)
        docs[record.source] = record
        self._pending = self.manifest.evolve(documents=docs)

    @guarded
    def stored_vectors(self, sources: Sequence[str]) -> dict[str, np.ndarray]:
        """Embedded text -> vector of these documents' chunks: committed ones, and mine."""
        sources = [s for s in dict.fromkeys(sources) if s in self.manifest.documents]
        if not sources:
            return {}
        rows = (
            self._con.cursor(binary=True)
            .execute(
                "SELECT c.heading, c.text, c.embedding FROM rag_chunks c"
                " JOIN rag_documents d USING (doc_id) WHERE d.source = ANY(%s)"
                " AND ((d.gen_to IS NULL AND d.gen_from IS NOT NULL) OR d.doc_id = ANY(%s))",
                (sources, list(self._written.values())),
            )
            .fetchall()
        )
        self._in_work = True
        keys = (Chunk("", 0, 0, 0, text, 0, heading=head).embed_text for head, text, _ in rows)
        return dict(zip(keys, (r[2].to_numpy() for r in rows), strict=True))

    def touch(self, record: DocumentRecord) -> None:
        """New bookkeeping (size, mtime, path) for an unchanged document, at `commit`."""
        self._touched[record.source] = record
        docs = dict(self.manifest.documents)
        docs[record.source] = record
        self._pending = self.manifest.evolve(documents=docs)

    def set_skipped(self, skipped: dict[str, str]) -> None:
        self._skipped = dict(skipped)
        self._pending = self.manifest.evolve(skipped=dict(skipped))

    # -- commit ------------------------------------------------------------
    @guarded
    def commit(self) -> Manifest:
        """Publish what this writer wrote as the next generation; no-op if nothing changed."""
        if not (self._written or self._replaced or self._touched or self._rebuild) and (
            self._skipped is None or self._skipped == self._committed.skipped
        ):
            self._con.rollback()
            self._in_work = False
            self._bulk = None
            return self._committed
        con = self._con
        if self._bulk:
            pg_bulk.build_search_indexes(con)
        generation = con.execute(
            "SELECT generation FROM rag_state WHERE id = 1 FOR UPDATE"
        ).fetchone()[0]
        new = generation + 1
        ended = con.execute(
            "UPDATE rag_documents SET gen_to = %s, replaced_at = now()"
            " WHERE gen_to IS NULL AND gen_from IS NOT NULL"
            " AND (source = ANY(%s) OR %s) RETURNING doc_id",
            (new, sorted(self._replaced | set(self._written)), self._rebuild),
        ).fetchall()
        started = list(self._written.values())
        con.execute("UPDATE rag_documents SET gen_from = %s WHERE doc_id = ANY(%s)", (new, started))
        for source, record in self._touched.items():
            con.execute(
                "UPDATE rag_documents SET record = %s WHERE source = %s"
                " AND gen_to IS NULL AND gen_from IS NOT NULL",
                (record_json(record), source),
            )
        pg_bulk.add_terms(con, sum((self._df[d] for d in started), Counter()))
        self._count_terms([r[0] for r in ended], -1)
        (chunks, tokens), (gone, gone_tokens) = (self._sizes(started), self._sizes(ended))
        changes = "generation = %s, updated_at = %s"
        args: list[Any] = [new, time.time()]
        if self._skipped is not None:
            changes += ", skipped = %s"
            args.append(json.dumps(self._skipped))
        if self._rebuild:
            changes += ", embedding = %s, chunking = %s"
            args.extend(self._info_json())
        # The committed totals move by what started and ended (commits take turns here).
        con.execute(
            f"UPDATE rag_state SET {changes}, chunks = chunks + %s, tokens = tokens + %s"
            " WHERE id = 1",
            [*args, chunks - gone, tokens - gone_tokens],
        )
        con.commit()
        self._bulk = None
        self._df.clear()
        self._written.clear()
        self._replaced.clear()
        self._touched.clear()
        self._rebuild = False
        self._in_work = False
        self._collect_garbage()
        with con.transaction():
            self._committed = read_manifest(con, pg_schema.check_version(con, self.url))
        con.commit()
        self._pending = self._committed
        return self._committed

    def _count_terms(self, doc_ids: list[int], sign: int) -> None:
        """Keep each term's document frequency in the committed state (for BM25's idf).
        Through `rag_chunks_doc`: a removal reads its own rows, not every keyword row."""
        if not doc_ids:
            return
        self._con.execute(
            "INSERT INTO rag_terms (term, df) SELECT u.lexeme, %s * count(*)"
            " FROM rag_chunks c JOIN rag_keywords k ON k.chunk_id = c.id, unnest(k.tsv) u"
            " WHERE c.doc_id = ANY(%s) GROUP BY u.lexeme ORDER BY u.lexeme"
            " ON CONFLICT (term) DO UPDATE SET df = rag_terms.df + excluded.df",
            (sign, doc_ids),
        )

    def _sizes(self, doc_ids: list) -> tuple[int, float]:
        """Chunks and keyword tokens of these document versions."""
        ids = [d[0] if isinstance(d, tuple) else d for d in doc_ids]
        if not ids:
            return 0, 0.0
        n, tokens = self._con.execute(
            "SELECT count(*), coalesce(sum(k.len::float8), 0) FROM rag_chunks c"
            " JOIN rag_keywords k ON k.chunk_id = c.id WHERE c.doc_id = ANY(%s)",
            (ids,),
        ).fetchone()
        return int(n), float(tokens)

    def _collect_garbage(self) -> None:
        """Delete versions replaced long enough ago that no reader should be on them."""
        self._con.execute(
            "DELETE FROM rag_documents WHERE gen_to IS NOT NULL"
            " AND replaced_at < now() - make_interval(secs => %s)",
            (pg_schema.GC_GRACE_SECONDS,),
        )
        self._con.execute("DELETE FROM rag_terms WHERE df <= 0")
        self._con.commit()
