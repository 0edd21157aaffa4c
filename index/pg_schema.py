"""The index in PostgreSQL + pgvector: its tables, its version, and how to connect.

Chosen by `RAG_STORE_URL=postgresql://...` (any libpq URI, a Unix-socket one included).
Every SQL statement that creates or checks the schema is here; `index.pg_writer`,
`index.pg_reader` and `index.pg_keyword` hold the others.

Generations, as in the index directory: `rag_state.generation` is the last committed
one. Each document version is one `rag_documents` row, visible to a reader of
generation G when `gen_from <= G` and (`gen_to` is NULL or `gen_to > G`). A writer
inserts its rows inside its own transaction (nobody sees them), and its commit, under
the row lock of `rag_state` (commits of several writers take turns there), stamps
them `gen_from = G+1`, stamps the versions they replace `gen_to = G+1` and moves
`generation` on: one PostgreSQL transaction, so a reader sees all of it or none, and
a reader still on G keeps seeing G until it reopens (`index.pg_reader`). Replaced
versions are deleted once no reader should still be on them (`GC_GRACE_SECONDS`).

Keyword search lives in `rag_keywords`: a tsvector per chunk (its lexemes only, for the
GIN index; positions and weights stripped once the term frequencies, a header hit counting
half, and the length are taken from it) for BM25 (`index.pg_keyword`), and
`rag_terms`, the document frequency of each term in the committed state.
"""

from __future__ import annotations

from typing import Any

from core.errors import ConfigError, IndexMismatchError, IndexNotFoundError

SCHEMA_VERSION = 1
# Rows of document versions visible at generation %(g)s; and the ids of those that are not
# (few: replaced versions not yet deleted, and newer ones).
VISIBLE = "gen_from <= %(g)s AND (gen_to IS NULL OR gen_to > %(g)s)"
HIDDEN = f"SELECT doc_id FROM rag_documents WHERE NOT ({VISIBLE})"
# Replaced document versions are deleted this long after their replacement: an app
# reopens its reader at its next question, and a question takes seconds.
GC_GRACE_SECONDS = 600
# Advisory lock key (an arbitrary constant) under which the schema is created.
SCHEMA_LOCK = 0x7261_6731

# The text search configuration: English Snowball stems, no stopword removal (as the
# local index's FTS5 porter tokenizer: stopwords stay searchable, questions drop them).
TEXT_SEARCH = """
CREATE TEXT SEARCH DICTIONARY rag_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION rag_english (COPY = english);
ALTER TEXT SEARCH CONFIGURATION rag_english
    ALTER MAPPING FOR asciiword, word, hword, hword_part, hword_asciipart, asciihword
    WITH rag_stem;
"""

# {dim}: the embedding model's dimension, fixed by the first writer.
TABLES = """
CREATE TABLE rag_state (
    id int PRIMARY KEY CHECK (id = 1),
    schema_version int NOT NULL,
    generation bigint NOT NULL,
    embedding jsonb NOT NULL,
    chunking jsonb NOT NULL,
    skipped jsonb NOT NULL DEFAULT '{{}}',
    chunks bigint NOT NULL DEFAULT 0,
    tokens double precision NOT NULL DEFAULT 0,
    created_at double precision NOT NULL,
    updated_at double precision NOT NULL
);
CREATE TABLE rag_documents (
    doc_id bigserial PRIMARY KEY,
    source text NOT NULL,
    record jsonb NOT NULL,
    gen_from bigint,
    gen_to bigint,
    replaced_at timestamptz
);
CREATE UNIQUE INDEX rag_documents_current ON rag_documents (source)
    WHERE gen_to IS NULL AND gen_from IS NOT NULL;
CREATE INDEX rag_documents_gen_from ON rag_documents (gen_from);
CREATE INDEX rag_documents_gen_to ON rag_documents (gen_to) WHERE gen_to IS NOT NULL;
CREATE TABLE rag_chunks (
    id bigserial PRIMARY KEY,
    doc_id bigint NOT NULL REFERENCES rag_documents ON DELETE CASCADE,
    chunk_id text NOT NULL,
    source text NOT NULL,
    ordinal int NOT NULL,
    page_start int NOT NULL,
    page_end int NOT NULL,
    n_tokens int NOT NULL,
    text text NOT NULL,
    ocr_confidence real,
    heading text NOT NULL DEFAULT '',
    title text NOT NULL DEFAULT '',
    section jsonb NOT NULL DEFAULT '[]',
    embedding vector({dim}) NOT NULL
);
CREATE INDEX rag_chunks_doc ON rag_chunks (doc_id, ordinal);
{hnsw};
CREATE TABLE rag_pages (
    doc_id bigint NOT NULL REFERENCES rag_documents ON DELETE CASCADE,
    page int NOT NULL,
    text text NOT NULL,
    PRIMARY KEY (doc_id, page)
);
CREATE TABLE rag_keywords (
    chunk_id bigint PRIMARY KEY REFERENCES rag_chunks ON DELETE CASCADE,
    doc_id bigint NOT NULL,
    tsv tsvector NOT NULL,
    tf jsonb NOT NULL,
    len real NOT NULL
);
{gin};
CREATE TABLE rag_terms (
    term text PRIMARY KEY,
    df bigint NOT NULL
);
"""

# The two search indexes: built with the tables, and dropped and built again by a bulk load
# (`index.pg_writer`: a first load into an empty store builds them after its rows).
SEARCH_INDEXES = {
    "rag_chunks_hnsw": "CREATE INDEX rag_chunks_hnsw ON rag_chunks"
    " USING hnsw (embedding vector_ip_ops)",
    "rag_keywords_tsv": "CREATE INDEX rag_keywords_tsv ON rag_keywords USING gin (tsv)",
}

# Term frequencies for BM25 from a chunk's tsvector: a header (weight B) hit counts half,
# as in the local index (`index.keyword.HEADING_WEIGHT`); the length counts every token.
FUNCTIONS = """
CREATE FUNCTION rag_tf(tsv tsvector) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(jsonb_object_agg(u.lexeme, (
        SELECT count(*) FILTER (WHERE w = 'A') + 0.5 * count(*) FILTER (WHERE w = 'B')
        FROM unnest(u.weights) AS w)), '{{}}')
    FROM unnest(tsv) AS u
$$;
CREATE FUNCTION rag_len(tsv tsvector) RETURNS real LANGUAGE sql IMMUTABLE AS $$
    SELECT coalesce(sum(array_length(u.positions, 1)), 0)::real FROM unnest(tsv) AS u
$$;
"""


def redact(url: str) -> str:
    """The URL without its password, for messages and reports.

    >>> redact("postgresql://rag:secret@db.internal:5432/rag")
    'postgresql://rag@db.internal:5432/rag'
    >>> redact("postgresql://postgres@/rag?host=/tmp/s")
    'postgresql://postgres@/rag?host=/tmp/s'
    """
    head, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    auth, _, host = rest.partition("@")
    return f"{head}://{auth.split(':', 1)[0]}@{host}"


def connect(url: str, *, autocommit: bool = False) -> Any:
    """A psycopg connection with pgvector's types, or a ConfigError with the next step."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        con = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise ConfigError(
            f"cannot connect to the index database {redact(url)} ({exc})",
            hint="check RAG_STORE_URL and that PostgreSQL is running (`make serve-stack` "
            "starts one on this machine)",
        ) from exc
    try:
        register_vector(con)
    except psycopg.ProgrammingError as exc:  # the type is missing: no extension yet
        if "vector type not found" not in str(exc):
            raise
    return con


def ensure_extension(con: Any, url: str) -> None:
    import psycopg

    try:
        with con.transaction():
            con.execute("CREATE EXTENSION IF NOT EXISTS vector")
    except psycopg.Error as exc:
        raise ConfigError(
            f"the database {redact(url)} has no pgvector extension and it cannot be "
            f"created ({exc.__class__.__name__}: {str(exc).strip()})",
            hint="install pgvector on the server and run `CREATE EXTENSION vector;` in "
            "that database as a superuser (docs/deployment.md)",
        ) from exc


def has_schema(con: Any) -> bool:
    return con.execute("SELECT to_regclass('rag_state') IS NOT NULL").fetchone()[0]


def create_tables(con: Any, sql: str) -> None:
    """Run `CREATE ... IF NOT EXISTS` statements once, however many processes start at once
    (`con` in autocommit mode; see `create_schema` for why the lock is a session one)."""
    con.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
    try:
        with con.transaction():
            con.execute(sql)
    finally:
        con.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def create_schema(con: Any, dim: int) -> None:
    """Create every table (the first writer, under an advisory lock so only one does).
    `con` is in autocommit mode."""
    # A session lock, then a new transaction: its catalog snapshot sees what the writer
    # that held the lock before created (one taken before the wait would not).
    con.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
    try:
        with con.transaction():
            if has_schema(con):
                return
            for script in (
                TEXT_SEARCH,
                TABLES.format(
                    dim=int(dim),
                    hnsw=SEARCH_INDEXES["rag_chunks_hnsw"],
                    gin=SEARCH_INDEXES["rag_keywords_tsv"],
                ),
                FUNCTIONS.format(),
            ):
                con.execute(script)
    finally:
        con.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


def check_version(con: Any, url: str) -> dict:
    """The state row, after checking the schema version; IndexNotFoundError if none."""
    if not has_schema(con):
        raise IndexNotFoundError(
            f"no index in the database {redact(url)} yet",
            hint="add documents first: `python -m ingest FOLDER` (or upload PDFs in the app)",
        )
    row = con.execute(
        "SELECT schema_version, generation, embedding, chunking, skipped, chunks, tokens,"
        " created_at, updated_at FROM rag_state WHERE id = 1"
    ).fetchone()
    if row is None:
        raise IndexNotFoundError(
            f"the index in {redact(url)} was never committed",
            hint="add documents: `python -m ingest FOLDER`",
        )
    names = ("schema_version", "generation", "embedding", "chunking", "skipped", "chunks")
    state = dict(zip((*names, "tokens", "created_at", "updated_at"), row, strict=True))
    if state["schema_version"] != SCHEMA_VERSION:
        raise IndexMismatchError(
            f"the database {redact(url)} holds an index of schema version "
            f"{state['schema_version']}; this program reads version {SCHEMA_VERSION}",
            hint="run the program version that wrote it, or point RAG_STORE_URL at a new "
            "database and ingest again",
        )
    return state
