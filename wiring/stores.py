"""Which store holds the index, from the settings; and the writers ingest is handed.

`RAG_STORE_URL` unset: the local index directory (`RAG_INDEX_DIR`, FAISS + SQLite).
Set to a `postgresql://` URI: PostgreSQL with pgvector (`index.pg_store`), shared by
any number of app and ingest processes. Ingest (`wiring.root.ingest_documents`) and
removal get their writer (`IndexWriting`) from the store chosen here, so neither knows
which store it writes.

>>> from core.settings import Settings
>>> open_store(Settings(index_dir="/tmp/idx")).location
'/tmp/idx'
>>> open_store(Settings(store_url="postgresql://rag:pw@db/rag")).location
'postgresql://rag@db/rag'
"""

from __future__ import annotations

from collections.abc import Sequence

from core.errors import IndexNotFoundError
from core.settings import Settings
from index import IndexStore
from index.dir_store import DirectoryStore
from index.ivf_search import VectorPolicy


def open_store(settings: Settings) -> IndexStore:
    """The store these settings name (nothing is opened yet)."""
    url = settings.store.url.strip()
    if url:
        from index.pg_store import PgStore  # psycopg: only when asked for

        return PgStore(url, pool_size=settings.store.pool_size, ef_search=settings.store.ef_search)
    s = settings.search
    return DirectoryStore(
        settings.paths.index_dir,
        verify=s.verify_index,
        lock_timeout=settings.ingest.lock_timeout_seconds,
        vector_policy=VectorPolicy(s.vector_index, s.ivf_min_chunks, s.ivf_nprobe),
    )


def remove_documents(
    settings: Settings, sources: Sequence[str], store: IndexStore | None = None
) -> list[str]:
    """Take documents out of the index (their files stay); returns those that were there."""
    from ingest.manage import remove_documents as remove

    store = store if store is not None else open_store(settings)
    manifest = store.committed()
    if manifest is None:
        raise IndexNotFoundError(
            f"no index at {store.location}",
            hint="add documents first: `python -m ingest FOLDER` (or upload PDFs in the app)",
        )
    writer = store.open_writer(embedding=manifest.embedding, chunking=manifest.chunking)
    return remove(writer, sources)
