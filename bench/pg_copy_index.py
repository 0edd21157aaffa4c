"""Copy a local index (FAISS + SQLite) into PostgreSQL, chunks and vectors as they are.

The retrieval comparison (docs/deployment.md) then searches the very same chunks and
vectors in both stores, so any difference is the store's own (HNSW against exact or
IVF search, BM25 in SQL against FTS5):

    python bench/pg_copy_index.py /tmp/idx-tricky postgresql://postgres@/tricky?host=...
    RAG_STORE_URL=postgresql://... python -m evals.retrieval --qa ... --docs ... --index X

Into an empty database it is a bulk load (one commit; the search indexes are built after
the rows, `index.pg_bulk`).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.types import PageText
from index import IndexSnapshot
from index.pg_writer import PgIndexWriter


def copy_index(index_dir: Path, url: str) -> dict:
    started = time.monotonic()
    with IndexSnapshot.open(index_dir) as snap:
        m = snap.manifest
        by_source: dict[str, list] = {}
        for chunk in snap.iter_chunks():
            by_source.setdefault(chunk.source, []).append(chunk)
        with PgIndexWriter(url, embedding=m.embedding, chunking=m.chunking) as writer:
            for source, record in m.documents.items():
                chunks = by_source.get(source, [])
                vectors = snap.vectors_of([c.id for c in chunks])
                pages = [
                    PageText(p, text)
                    for p in range(1, record.pages + 1)
                    if (text := snap.page_text(source, p)) is not None
                ]
                writer.put_document(record, chunks, vectors, pages)
            writer.set_skipped(m.skipped)
            writer.commit()
    return {"documents": len(m.documents), "seconds": round(time.monotonic() - started, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path)
    parser.add_argument("url")
    args = parser.parse_args()
    print(copy_index(args.index, args.url))


if __name__ == "__main__":
    main()
