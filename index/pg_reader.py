"""One committed generation of the index in PostgreSQL, read-only (`IndexReader`).

A reader is pinned to the generation G it opened: every query keeps only document
versions visible at G (`index.pg_schema`), so a question never sees half of a newer
commit, even one made between its dense and its keyword search. Connections come from
a small pool: threads search at once, each query on its own connection.
"""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from core.errors import ConfigError, IndexNotFoundError
from core.types import ChunkingInfo, EmbeddingInfo
from index import pg_schema
from index.manifest import Manifest
from index.pg_rows import record_from
from index.pg_schema import HIDDEN, VISIBLE
from index.reader import StoredChunk

_COLUMNS = (
    "id, source, ordinal, page_start, page_end, n_tokens, text, ocr_confidence,"
    " heading, title, section"
)
# Below this many chunks (or allowed ids) dense search is exact: a scan costs little.
EXACT_BELOW = 20_000


def read_manifest(con: Any, state: dict) -> Manifest:
    """The manifest of the generation `state` names (documents visible at it)."""
    g = state["generation"]
    rows = con.execute(
        f"SELECT record FROM rag_documents WHERE {VISIBLE} ORDER BY source", {"g": g}
    ).fetchall()
    docs = {d.source: d for d in (record_from(r[0]) for r in rows)}
    return Manifest(
        generation=g,
        embedding=EmbeddingInfo(**state["embedding"]),
        chunking=ChunkingInfo.from_json(state["chunking"]),
        documents=docs,
        skipped=dict(state["skipped"]),
        created_at=state["created_at"],
        updated_at=state["updated_at"],
    )


def read_state(url: str) -> tuple[Manifest, dict[str, int], dict]:
    """(manifest, source -> doc_id, state row) of the last committed generation."""
    con = pg_schema.connect(url)
    try:
        with con.transaction():
            state = pg_schema.check_version(con, url)
            if state["generation"] == 0:
                raise IndexNotFoundError(
                    f"the index in {pg_schema.redact(url)} holds no documents yet",
                    hint="add documents first: `python -m ingest FOLDER`",
                )
            manifest = read_manifest(con, state)
            ids = dict(
                con.execute(
                    f"SELECT source, doc_id FROM rag_documents WHERE {VISIBLE}",
                    {"g": state["generation"]},
                ).fetchall()
            )
        return manifest, ids, state
    finally:
        con.close()


class Pool:
    """Up to `size` connections, made when first needed; safe to share between threads."""

    def __init__(self, url: str, size: int = 8, ef_search: int = 100) -> None:
        self.url = url
        self.ef_search = ef_search
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._slots = threading.Semaphore(size)
        self._all: list[Any] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        self._slots.acquire()
        try:
            try:
                con = self._idle.get_nowait()
            except queue.Empty:
                con = self._connect()
            try:
                yield con
            except BaseException:
                con.close()  # its state is unknown: never reused
                raise
            self._idle.put(con)
        finally:
            self._slots.release()

    def _connect(self) -> Any:
        con = pg_schema.connect(self.url, autocommit=True)
        con.execute(f"SET hnsw.ef_search = {int(self.ef_search)}")
        try:
            con.execute("SET hnsw.iterative_scan = relaxed_order")  # pgvector >= 0.8
        except Exception:
            con.rollback()
        with self._lock:
            self._all.append(con)
        return con

    def close(self) -> None:
        with self._lock:
            for con in self._all:
                con.close()
            self._all.clear()


class PgIndexReader:
    """Generation G of the index in PostgreSQL; thread-safe."""

    def __init__(
        self, url: str, *, pool_size: int = 8, ef_search: int = 100, pool: Pool | None = None
    ) -> None:
        """`pool`: connections shared with other readers of this process (`PgStore` gives
        one, so a reader per generation does not mean connections per generation)."""
        self.url = url
        self.location = pg_schema.redact(url)
        self.manifest, self._doc_ids, state = read_state(url)
        self.generation = self.manifest.generation
        self._n = sum(d.chunks for d in self.manifest.documents.values())
        self._tokens = float(state["tokens"])
        self._owns_pool = pool is None
        self.pool = pool if pool is not None else Pool(url, pool_size, max(ef_search, 1))

    def close(self) -> None:
        if self._owns_pool:
            self.pool.close()

    def __enter__(self) -> PgIndexReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __len__(self) -> int:
        return self._n

    def _rows(self, sql: str, args: Any, binary: bool = False, no_seqscan: bool = False) -> list:
        import psycopg

        try:
            with self.pool.connection() as con:
                if not no_seqscan:
                    return con.cursor(binary=binary).execute(sql, args).fetchall()
                with con.transaction():
                    con.execute("SET LOCAL enable_seqscan = off")
                    return con.cursor(binary=binary).execute(sql, args).fetchall()
        except psycopg.OperationalError as exc:
            raise ConfigError(
                f"the index database {self.location} cannot be read ({exc})",
                hint="check that PostgreSQL is running and reachable (RAG_STORE_URL), then ask "
                "again",
            ) from exc

    def nearest(
        self,
        query: np.ndarray,
        limit: int,
        allowed: np.ndarray | None = None,
        nprobe: int | None = None,
    ) -> list[tuple[int, float]]:
        """(chunk id, cosine) of the nearest chunks: HNSW, exact below EXACT_BELOW chunks
        (or allowed ids), or when `nprobe` asks for exhaustive search (1 << 20 or more)."""
        if limit <= 0 or self._n == 0 or (allowed is not None and len(allowed) == 0):
            return []
        args: dict[str, Any] = {"q": np.asarray(query, np.float32), "g": self.generation}
        where = f"doc_id NOT IN ({HIDDEN})"
        if allowed is not None:
            where += " AND id = ANY(%(ids)s)"
            args["ids"] = np.asarray(allowed, np.int64).tolist()
        size = len(allowed) if allowed is not None else self._n
        exact = size < EXACT_BELOW or (nprobe or 0) >= 1 << 20
        # `+ 0` keeps the planner off the HNSW index: an exact scan, sorted.
        order = "(embedding <#> %(q)s) + 0" if exact else "embedding <#> %(q)s"
        rows = self._rows(
            f"SELECT id, embedding <#> %(q)s FROM rag_chunks WHERE {where}"
            f" ORDER BY {order} LIMIT {int(limit)}",
            args,
        )
        hits = sorted(((int(i), -float(d)) for i, d in rows), key=lambda h: -h[1])
        return hits

    def vectors_of(self, ids: Sequence[int]) -> np.ndarray:
        ids = [int(i) for i in ids]
        if not ids:
            return np.zeros((0, self.manifest.embedding.dim), np.float32)
        sql = "SELECT id, embedding FROM rag_chunks WHERE id = ANY(%s)"
        rows = dict(self._rows(sql, (ids,), binary=True))
        return np.vstack([rows[i].to_numpy() for i in ids]).astype(np.float32)

    def chunks_by_ids(self, ids: Sequence[int]) -> list[StoredChunk]:
        ids = [int(i) for i in ids if int(i) >= 0]
        if not ids:
            return []
        rows = self._rows(f"SELECT {_COLUMNS} FROM rag_chunks WHERE id = ANY(%s)", (ids,))
        found = {r[0]: _stored(r) for r in rows}
        return [found[i] for i in ids if i in found]

    def iter_chunks(self, batch: int = 2048) -> Iterator[StoredChunk]:
        last, docs = -1, list(self._doc_ids.values())
        while True:
            rows = self._rows(
                f"SELECT {_COLUMNS} FROM rag_chunks WHERE id > %s AND doc_id = ANY(%s)"
                " ORDER BY id LIMIT %s",
                (last, docs, batch),
            )
            if not rows:
                return
            yield from (_stored(r) for r in rows)
            last = rows[-1][0]

    def chunk_ids_of(self, sources: Sequence[str]) -> np.ndarray:
        docs = [self._doc_ids[s] for s in sources if s in self._doc_ids]
        if not docs:
            return np.zeros(0, np.int64)
        rows = self._rows("SELECT id FROM rag_chunks WHERE doc_id = ANY(%s)", (docs,))
        return np.asarray([r[0] for r in rows], dtype=np.int64)

    def doc_ids_of(self, sources: Sequence[str]) -> list[int]:
        return [self._doc_ids[s] for s in sources if s in self._doc_ids]

    def page_text(self, source: str, page: int) -> str | None:
        doc = self._doc_ids.get(source)
        if doc is None:
            return None
        rows = self._rows("SELECT text FROM rag_pages WHERE doc_id = %s AND page = %s", (doc, page))
        return rows[0][0] if rows else None

    def keyword_search(self, postings_budget: int = 20_000):
        from index.pg_keyword import PgKeywordSearch

        return PgKeywordSearch(self, postings_budget, self._n, self._tokens)


def _stored(row) -> StoredChunk:
    (i, source, ordinal, start, end, n_tokens, text, ocr, heading, title, section) = row
    if isinstance(section, str):
        section = json.loads(section)
    return StoredChunk(
        source=source,
        ordinal=ordinal,
        page_start=start,
        page_end=end,
        text=text,
        n_tokens=n_tokens,
        ocr_confidence=ocr,
        heading=heading,
        title=title,
        section=tuple(section),
        id=i,
    )
