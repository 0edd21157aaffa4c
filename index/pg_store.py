"""The index in PostgreSQL + pgvector (`RAG_STORE_URL`), as an `IndexStore`.

Any number of processes on any machines open it at once: readers pin a generation
(`index.pg_reader`), writers publish new ones (`index.pg_writer`), and the tables are
described in `index.pg_schema`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from core.errors import IndexNotFoundError
from core.types import ChunkingInfo, EmbeddingInfo
from index import pg_schema
from index.manifest import Manifest
from index.pg_reader import PgIndexReader, Pool, read_manifest
from index.pg_writer import PgIndexWriter


class PgStore:
    def __init__(self, url: str, *, pool_size: int = 8, ef_search: int = 100) -> None:
        self.url = url
        self.location = pg_schema.redact(url)
        self.pool_size = pool_size
        self.ef_search = ef_search
        self._lock = threading.Lock()
        self._con: Any = None
        self._manifest: Manifest | None = None
        self._pool: Pool | None = None

    def committed(self) -> Manifest | None:
        """The last committed manifest; one small query when the generation did not move."""
        with self._lock:
            try:
                if self._con is None or self._con.closed:
                    self._con = pg_schema.connect(self.url, autocommit=True)
                con = self._con
                if not pg_schema.has_schema(con):
                    return None
                g = con.execute("SELECT generation FROM rag_state WHERE id = 1").fetchone()
                if g is None or g[0] == 0:
                    return None
                if self._manifest is None or self._manifest.generation != g[0]:
                    with con.transaction():
                        self._manifest = read_manifest(con, pg_schema.check_version(con, self.url))
                return self._manifest
            except IndexNotFoundError:
                return None
            except BaseException:
                if self._con is not None:
                    self._con.close()
                self._con = None
                raise

    def open_reader(self) -> PgIndexReader:
        """A reader of the last generation; every reader of this store shares one pool."""
        with self._lock:
            if self._pool is None:
                self._pool = Pool(self.url, self.pool_size, self.ef_search)
        return PgIndexReader(self.url, pool=self._pool)

    def open_writer(
        self,
        *,
        embedding: EmbeddingInfo,
        chunking: ChunkingInfo,
        rebuild: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> PgIndexWriter:
        return PgIndexWriter(
            self.url, embedding=embedding, chunking=chunking, rebuild=rebuild, on_wait=on_wait
        )

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
            if self._con is not None:
                self._con.close()
                self._con = None
