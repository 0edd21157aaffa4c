"""Small index operations besides ingest: removing documents."""

from __future__ import annotations

from collections.abc import Sequence

from core.settings import Settings
from index import IndexWriter
from index.manifest import read_manifest


def remove_documents(settings: Settings, sources: Sequence[str]) -> list[str]:
    """Remove documents (by `source`) from the index; returns those that were there.

    The PDF files themselves are left alone: an ingest of their folder would add
    them again, which is the user's call.
    """
    manifest = read_manifest(settings.index_dir)
    writer = IndexWriter(
        settings.index_dir,
        embedding=manifest.embedding,
        chunking=manifest.chunking,
        lock_timeout=settings.lock_timeout_seconds,
    )
    with writer:
        present = [s for s in sources if s in writer.manifest.documents]
        for source in present:
            writer.remove(source)
        skipped = {k: v for k, v in writer.manifest.skipped.items() if k not in sources}
        writer.set_skipped(skipped)
        writer.commit()
    return present
