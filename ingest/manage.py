"""Small index operations besides ingest: removing documents."""

from __future__ import annotations

from collections.abc import Sequence

from index import IndexWriting


def remove_documents(writer: IndexWriting, sources: Sequence[str]) -> list[str]:
    """Remove documents (by `source`) through `writer` (not yet entered); returns those
    that were there.

    The PDF files themselves are left alone: an ingest of their folder would add
    them again, which is the user's call.
    """
    with writer:
        present = [s for s in sources if s in writer.manifest.documents]
        for source in present:
            writer.remove(source)
        skipped = {k: v for k, v in writer.manifest.skipped.items() if k not in sources}
        writer.set_skipped(skipped)
        writer.commit()
    return present
