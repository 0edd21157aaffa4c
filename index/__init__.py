"""The index: chunks and their vectors in, passages' candidates out. Ingest writes through
`IndexWriting`, retrieval and the app read through `IndexReader`; `wiring` chooses the store.

    `protocols`       one Protocol per role: `IndexStore`, `IndexWriting`, `IndexReader`,
                      `KeywordSearch`, in chunk records, vectors and ids, never SQLite or FAISS

The local index, a directory (the embedded default):
    `dir_store`       the directory as an `IndexStore`
    `lock`            one writer per index: an advisory `flock` on `.lock`
    `writer`          `IndexWriter`: builds the next generation aside, then swaps the manifest
    `chunks_db`       a generation's SQLite file: chunk texts, provenance, pages, the FTS5 table
    `vector_search`   exact vector search (`ExactIndex`) and what every vector backend shares
    `ivf_search`      `IvfIndex`: approximate search with filters, for large collections
    `manifest`        `manifest.json`: the versioned root that names the live generation
    `fsutil`          durable writes: write aside, fsync, rename
    `layout`          what in the folder is the program's own: the only things it deletes
    `staging`         `--rebuild` beside the live index, and how the rebuild is published
    `storage_errors`  a full disk or a read-only folder: one `IndexWriteError` with the way out
    `reader`          `IndexSnapshot`: the live generation, read-only, checked against the manifest
    `keyword`         BM25 over the generation's FTS5 table

The PostgreSQL index (`RAG_STORE_URL`), shared by any number of processes:
    `pg_store`        PostgreSQL + pgvector as an `IndexStore`
    `pg_schema`       its tables, its version, and how to connect
    `pg_writer`       `PgIndexWriter`: several at once, each commit one new generation
    `pg_bulk`         rows by COPY; a first load into an empty store builds its indexes after
    `pg_terms`        keyword rows (stems, term counts) computed in Python, as the SQL would
    `pg_rows`         how that writer encodes and checks its rows
    `pg_reader`       one committed generation, read-only: a question never sees half a commit
    `pg_keyword`      BM25 computed in SQL, scored as the local index's FTS5 scores

A crash at any moment leaves the last committed generation whole: a writer publishes with
one atomic step (a renamed manifest, a committed transaction), and readers never see a mix.
Nothing is pickled. The directory's files: docs/ingest.md#the-index-directory.
"""

from index.manifest import DocumentRecord, Manifest
from index.protocols import IndexReader, IndexStore, IndexWriting, KeywordSearch
from index.reader import IndexSnapshot, StoredChunk
from index.writer import IndexWriter

__all__ = [
    "DocumentRecord",
    "IndexReader",
    "IndexSnapshot",
    "IndexStore",
    "IndexWriter",
    "IndexWriting",
    "KeywordSearch",
    "Manifest",
    "StoredChunk",
]
