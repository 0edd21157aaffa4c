"""The index in a local directory (the embedded default), as an `IndexStore`."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from core.errors import IndexNotFoundError
from core.types import ChunkingInfo, EmbeddingInfo
from index.ivf_search import VectorPolicy
from index.manifest import MANIFEST, Manifest, read_manifest
from index.reader import IndexSnapshot
from index.writer import IndexWriter


class DirectoryStore:
    """`index_dir`: a manifest naming one generation of FAISS + SQLite files."""

    def __init__(
        self,
        index_dir: Path,
        *,
        verify: bool = True,
        lock_timeout: float = 10.0,
        vector_policy: VectorPolicy | None = None,
    ) -> None:
        self.index_dir = Path(index_dir)
        self.location = str(self.index_dir)
        self.verify = verify
        self.lock_timeout = lock_timeout
        self.vector_policy = vector_policy
        self._lock = threading.Lock()
        self._key: tuple[int, int, int] | None = None
        self._manifest: Manifest | None = None

    def committed(self) -> Manifest | None:
        """The manifest, re-read only when the file changed (a commit replaces it)."""
        try:
            stat = (self.index_dir / MANIFEST).stat()
        except FileNotFoundError:
            return None
        key = (stat.st_ino, stat.st_mtime_ns, stat.st_size)
        with self._lock:
            if key != self._key:
                try:
                    self._manifest = read_manifest(self.index_dir)
                except IndexNotFoundError:
                    return None
                self._key = key
            return self._manifest

    def open_reader(self) -> IndexSnapshot:
        return IndexSnapshot.open(self.index_dir, verify=self.verify)

    def open_writer(
        self,
        *,
        embedding: EmbeddingInfo,
        chunking: ChunkingInfo,
        rebuild: bool = False,
        on_wait: Callable[[str], None] | None = None,
    ) -> IndexWriter:
        return IndexWriter(
            self.index_dir,
            embedding=embedding,
            chunking=chunking,
            rebuild=rebuild,
            lock_timeout=self.lock_timeout,
            on_wait=on_wait,
            vector_policy=self.vector_policy,
        )
