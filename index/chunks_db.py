"""The chunk store: one SQLite file per generation with chunk texts, provenance and page texts.

A committed generation's file is never written again, so readers open it
read-only and immutable (no locks, no journal).

Keyword search lives in the same file: `chunks_fts` is an FTS5 index over
`chunks.text` and `chunks.heading` (the chunk's "title › section" header, chunk
format 2; external content, no second copy of the text), kept in step by
triggers inside the same transaction as the chunk rows, so it is updated
incrementally by every ingest and can never disagree with the chunks. Tokens:
Unicode word characters, case and diacritics folded, English Porter stems
("caching" finds "cache"). `index.keyword` queries it.

Every SQL statement on this file is in this module and `index.keyword` (the
FTS5 queries); readers and the writer call these functions.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path

from core.types import Chunk, PageText

SCHEMA = """
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    chunk_id TEXT NOT NULL,
    source TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    page_start INTEGER NOT NULL,
    page_end INTEGER NOT NULL,
    n_tokens INTEGER NOT NULL,
    text TEXT NOT NULL,
    ocr_confidence REAL,
    heading TEXT NOT NULL DEFAULT '',
    title TEXT NOT NULL DEFAULT '',
    section TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS chunks_by_source ON chunks(source, ordinal);
CREATE TABLE IF NOT EXISTS pages (
    source TEXT NOT NULL,
    page INTEGER NOT NULL,
    text TEXT NOT NULL,
    PRIMARY KEY (source, page)
) WITHOUT ROWID;
"""

# Columns added after the first schema: (table, column, declaration). Files written
# before a column existed get it on their next write (`add_missing_columns`); readers
# of older files see NULL (`columns`).
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("chunks", "ocr_confidence", "REAL"),  # set when the chunk's text came from OCR
    # Document structure (chunk format 2): the header embedded with the chunk, the
    # document's title, and the section path as a JSON array ('' = none).
    ("chunks", "heading", "TEXT NOT NULL DEFAULT ''"),
    ("chunks", "title", "TEXT NOT NULL DEFAULT ''"),
    ("chunks", "section", "TEXT NOT NULL DEFAULT ''"),
)

FTS_TABLE = "chunks_fts"
FTS_COLUMNS = {"text", "heading"}
FTS_SCHEMA = f"""
CREATE VIRTUAL TABLE IF NOT EXISTS {FTS_TABLE} USING fts5(
    text, heading, content='chunks', content_rowid='id',
    tokenize='porter unicode61 remove_diacritics 2'
);
CREATE TRIGGER IF NOT EXISTS chunks_fts_insert AFTER INSERT ON chunks BEGIN
    INSERT INTO {FTS_TABLE}(rowid, text, heading) VALUES (new.id, new.text, new.heading);
END;
CREATE TRIGGER IF NOT EXISTS chunks_fts_delete AFTER DELETE ON chunks BEGIN
    INSERT INTO {FTS_TABLE}({FTS_TABLE}, rowid, text, heading)
    VALUES ('delete', old.id, old.text, old.heading);
END;
"""
# The keyword index of a generation from before chunk format 2 (text only) is replaced.
_OLD_FTS = f"""
DROP TRIGGER IF EXISTS chunks_fts_insert;
DROP TRIGGER IF EXISTS chunks_fts_delete;
DROP TABLE IF EXISTS {FTS_TABLE};
"""


def has_keyword_index(con: sqlite3.Connection) -> bool:
    row = con.execute(
        "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (FTS_TABLE,)
    ).fetchone()
    return row is not None


def columns(con: sqlite3.Connection, table: str) -> set[str]:
    return {row[1] for row in con.execute(f"PRAGMA table_info({table})")}


def add_missing_columns(con: sqlite3.Connection) -> None:
    """Additive migration: add each column of ADDED_COLUMNS that a table lacks."""
    for table, column, declaration in ADDED_COLUMNS:
        if column not in columns(con, table):
            con.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")


def encode_section(section: Sequence[str]) -> str:
    """A section path as stored ('' for none); `decode_section` reads it back.

    >>> decode_section(encode_section(("3 Start", "3.3 Options")))
    ('3 Start', '3.3 Options')
    >>> encode_section(()), decode_section("")
    ('', ())
    """
    return json.dumps(list(section), ensure_ascii=False) if section else ""


def decode_section(stored: str | None) -> tuple[str, ...]:
    return tuple(json.loads(stored)) if stored else ()


def open_writable(path: Path) -> sqlite3.Connection:
    con = sqlite3.connect(path, isolation_level=None)
    # The file only becomes visible after the generation is renamed into place,
    # so the journal buys nothing here; the commit protocol gives atomicity.
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.executescript(SCHEMA)
    add_missing_columns(con)
    # Generations written before keyword search (or its heading column) existed get their
    # index on the next write.
    backfill = not has_keyword_index(con) or columns(con, FTS_TABLE) != FTS_COLUMNS
    if backfill:
        con.executescript(_OLD_FTS)
    con.executescript(FTS_SCHEMA)
    con.execute("BEGIN")
    if backfill:
        con.execute(f"INSERT INTO {FTS_TABLE}({FTS_TABLE}) VALUES ('rebuild')")
    return con


def open_readonly(path: Path) -> sqlite3.Connection:
    uri = f"file:{path}?mode=ro&immutable=1"
    con = sqlite3.connect(uri, uri=True, check_same_thread=False)
    # Memory-map the file: keyword postings and chunk texts are read by the OS page
    # cache, not copied.
    con.execute("PRAGMA mmap_size=8589934592")
    return con


def chunk_counts(con: sqlite3.Connection) -> dict[str, int]:
    """Chunks per document, as the chunk table holds them."""
    rows = con.execute("SELECT source, count(*) FROM chunks GROUP BY source").fetchall()
    return {source: int(n) for source, n in rows}


def count_chunks(con: sqlite3.Connection) -> int:
    return int(con.execute("SELECT count(*) FROM chunks").fetchone()[0])


def rows_by_ids(con: sqlite3.Connection, names: Sequence[str], ids: Sequence[int]) -> list:
    """Rows of `names` (the first must be `id`) for the chunk ids, in no set order."""
    marks = ",".join("?" * len(ids))
    return con.execute(
        f"SELECT {', '.join(names)} FROM chunks WHERE id IN ({marks})", list(ids)
    ).fetchall()


def rows_after(con: sqlite3.Connection, names: Sequence[str], last: int, batch: int) -> list:
    """Up to `batch` rows of `names` with ids above `last`, in id order."""
    query = f"SELECT {', '.join(names)} FROM chunks WHERE id > ? ORDER BY id LIMIT ?"
    return con.execute(query, (last, batch)).fetchall()


def ids_of_sources(con: sqlite3.Connection, sources: Sequence[str]) -> list[int]:
    """Row ids of every chunk of the given sources."""
    rows = con.execute(
        "SELECT id FROM chunks WHERE source IN (SELECT value FROM json_each(?))",
        (json.dumps(list(sources)),),
    ).fetchall()
    return [r[0] for r in rows]


def embedded_texts(con: sqlite3.Connection, sources: Sequence[str]) -> list[tuple[int, str, str]]:
    """(id, heading, text) of every chunk of the given sources: what was embedded."""
    return con.execute(
        "SELECT id, heading, text FROM chunks WHERE source IN (SELECT value FROM json_each(?))",
        (json.dumps(list(sources)),),
    ).fetchall()


def page_text(con: sqlite3.Connection, source: str, page: int) -> str | None:
    row = con.execute("SELECT text FROM pages WHERE source=? AND page=?", (source, page)).fetchone()
    return row[0] if row else None


def insert_document(
    con: sqlite3.Connection, chunks: Sequence[Chunk], pages: Iterable[PageText], source: str
) -> list[int]:
    """Insert one document's chunks and pages; returns the new chunk row ids in order."""
    ids = []
    for c in chunks:
        cur = con.execute(
            "INSERT INTO chunks(chunk_id, source, ordinal, page_start, page_end, n_tokens, text,"
            " ocr_confidence, heading, title, section) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                c.chunk_id,
                c.source,
                c.ordinal,
                c.page_start,
                c.page_end,
                c.n_tokens,
                c.text,
                c.ocr_confidence,
                c.heading,
                c.title,
                encode_section(c.section),
            ),
        )
        ids.append(cur.lastrowid)
    con.executemany(
        "INSERT OR REPLACE INTO pages(source, page, text) VALUES (?,?,?)",
        ((source, p.page, p.text) for p in pages),
    )
    return ids


def delete_document(con: sqlite3.Connection, source: str) -> list[int]:
    """Delete a document's rows; returns the chunk ids removed (to drop their vectors)."""
    ids = [r[0] for r in con.execute("SELECT id FROM chunks WHERE source=?", (source,))]
    con.execute("DELETE FROM chunks WHERE source=?", (source,))
    con.execute("DELETE FROM pages WHERE source=?", (source,))
    return ids
