"""OCR results kept in SQLite, keyed by the rendered page image's hash.

The key is the picture, not the file: a re-ingest, a moved or renamed file, a
rebuilt index or the same page in another PDF is read once. Engine, its
version and the languages are part of the key. Parser processes share the file
(WAL, busy timeout); a cache that cannot be opened or written is skipped, not fatal.
"""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
import time
from pathlib import Path

from ingest.ocr.engines import OcrResult

SCHEMA = """
CREATE TABLE IF NOT EXISTS ocr (
    key TEXT PRIMARY KEY,
    text TEXT NOT NULL,
    confidence REAL,
    words INTEGER NOT NULL,
    created REAL NOT NULL
) WITHOUT ROWID;
"""


def cache_key(image_digest: str, engine: str, version: str, languages: str) -> str:
    """A 32-hex-digit key; any part changing gives another key.

    >>> len(cache_key("abc", "tesseract", "tesseract 5.3.0", "eng"))
    32
    """
    parts = "\x00".join((image_digest, engine, version, languages))
    return hashlib.blake2b(parts.encode(), digest_size=16).hexdigest()


class OcrCache:
    """`get`/`put` by key; every failure of the cache file is a miss."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._con: sqlite3.Connection | None = None
        self._broken = path is None

    def _open(self) -> sqlite3.Connection | None:
        if self._con is None and not self._broken:
            try:
                assert self.path is not None
                self.path.parent.mkdir(parents=True, exist_ok=True)
                con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
                con.execute("PRAGMA journal_mode=WAL")
                con.executescript(SCHEMA)
                self._con = con
            except (OSError, sqlite3.Error):
                self._broken = True
        return self._con

    def get(self, key: str) -> OcrResult | None:
        con = self._open()
        if con is None:
            return None
        try:
            row = con.execute(
                "SELECT text, confidence, words FROM ocr WHERE key=?", (key,)
            ).fetchone()
        except sqlite3.Error:
            return None
        return None if row is None else OcrResult(row[0], row[1], int(row[2]))

    def put(self, key: str, result: OcrResult) -> None:
        con = self._open()
        if con is None:
            return
        with contextlib.suppress(sqlite3.Error):
            con.execute(
                "INSERT OR REPLACE INTO ocr(key, text, confidence, words, created) "
                "VALUES (?,?,?,?,?)",
                (key, result.text, result.confidence, result.words, time.time()),
            )

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
