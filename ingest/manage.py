"""Small index operations besides ingest: removing documents."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from index import IndexWriter
from index.manifest import read_manifest


def remove_documents(
    index_dir: Path, sources: Sequence[str], *, lock_timeout: float = 10.0
) -> list[str]:
    """Remove documents (by `source`) from the index; returns those that were there.

    `lock_timeout`: seconds to wait for an ingest running on the same index.
    The PDF files themselves are left alone: an ingest of their folder would add
    them again, which is the user's call.
    """
    manifest = read_manifest(index_dir)
    writer = IndexWriter(
        index_dir,
        embedding=manifest.embedding,
        chunking=manifest.chunking,
        lock_timeout=lock_timeout,
    )
    with writer:
        present = [s for s in sources if s in writer.manifest.documents]
        for source in present:
            writer.remove(source)
        skipped = {k: v for k, v in writer.manifest.skipped.items() if k not in sources}
        writer.set_skipped(skipped)
        writer.commit()
    return present
