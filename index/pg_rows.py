"""How the PostgreSQL writer encodes and checks what it writes (`index.pg_writer`)."""

from __future__ import annotations

import functools
import json
import re
from dataclasses import asdict

import numpy as np

from core.errors import IndexWriteError
from core.text import WORD, fold
from core.types import Chunk
from index.manifest import DocumentRecord

# A path may hold undecodable bytes (lone surrogates, as Python hands them over), which
# PostgreSQL text and jsonb refuse. They are stored as MARK + two hex digits, and MARK
# itself (a private-use character) as MARK twice, so the original comes back exactly.
MARK = "\uf8ff"
_TO_DB = re.compile(f"[{MARK}\udc80-\udcff]")
_FROM_DB = re.compile(f"{MARK}({MARK}|[0-9a-f]{{2}})")


def to_db(text: str) -> str:
    """Text PostgreSQL accepts; `from_db` gives the original back.

    >>> odd = "caf\\udce9 \\uf8ff.pdf"
    >>> to_db("caf\\udce9.pdf"), from_db(to_db(odd)) == odd
    ('caf\\uf8ffe9.pdf', True)
    """
    return _TO_DB.sub(
        lambda m: MARK * 2 if m[0] == MARK else f"{MARK}{ord(m[0]) - 0xDC00:02x}", text
    )


def from_db(text: str) -> str:
    return _FROM_DB.sub(lambda m: MARK if m[1] == MARK else chr(0xDC00 + int(m[1], 16)), text)


def record_json(record: DocumentRecord) -> str:
    """A document's record as stored in `rag_documents.record`."""
    return to_db(json.dumps(asdict(record), ensure_ascii=False))


def record_from(stored: dict) -> DocumentRecord:
    return DocumentRecord(**{k: from_db(v) if isinstance(v, str) else v for k, v in stored.items()})


# Columns copied into rag_chunks, in order.
CHUNK_COLUMNS = (
    "id, doc_id, chunk_id, source, ordinal, page_start, page_end, n_tokens, text,"
    " ocr_confidence, heading, title, section, embedding"
)


def keyword_text(text: str) -> str:
    """What the keyword index reads of a text: folded words, one space apart.

    >>> keyword_text("Café: GPT-4's limits")
    'cafe gpt 4 s limits'
    """
    return " ".join(WORD.findall(fold(text)))


def check_vectors(vectors: np.ndarray, n: int, dim: int) -> np.ndarray:
    """float32 (n, dim) and finite, or IndexWriteError: nothing bad reaches the database."""
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.shape != (n, dim):
        raise IndexWriteError(
            f"{n} chunks came with vectors of shape {vectors.shape}, expected ({n}, {dim})",
            hint="this is a bug in the caller; nothing was written for this document",
        )
    if n and not np.isfinite(vectors).all():
        raise IndexWriteError(
            "vectors with NaN or infinite values were refused",
            hint="delete the model cache folder (RAG_MODEL_CACHE_DIR) and run again",
        )
    return vectors


def guarded(method):
    """Database failures become IndexWriteError (ingest stops; the last commit stays)."""

    @functools.wraps(method)
    def call(self, *args, **kwargs):
        import psycopg

        try:
            return method(self, *args, **kwargs)
        except psycopg.Error as exc:
            raise IndexWriteError(
                f"writing the index database {self.location} failed "
                f"({type(exc).__name__}: {str(exc).strip()})",
                hint="nothing of this run after the last commit was kept; check that "
                "PostgreSQL is running and has room, then run the ingest again",
            ) from exc
        except UnicodeEncodeError as exc:
            raise IndexWriteError(
                f"a file name or text is not valid UTF-8 and cannot be stored ({exc.reason})",
                hint="rename the file (the local index directory accepts such names)",
            ) from exc

    return call


def chunk_row(i: int, doc_id: int, c: Chunk, vector: np.ndarray) -> tuple:
    section = json.dumps(list(c.section), ensure_ascii=False)
    return (
        *(i, doc_id, c.chunk_id, c.source, c.ordinal, c.page_start, c.page_end),
        *(c.n_tokens, c.text, c.ocr_confidence, c.heading, c.title, section, vector),
    )
