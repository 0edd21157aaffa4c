"""The index directory: a JSON manifest naming one immutable generation of files.

    index_dir/
      manifest.json         format version, models, chunking, documents, file checksums,
                            and its own checksum (checked against the chunk table too)
      gen-000007/
        vectors.faiss       faiss.write_index: exact IndexIDMap2(IndexFlatIP), or IVF
                            on large collections (see index.ann)
        chunks.sqlite       chunk texts, provenance, page texts, and the FTS5
                            keyword index `chunks_fts` over the chunk texts
        .pdf-chat-index     the marker: this folder is the writer's (index.layout)
      rebuild/              while `--rebuild` runs: the next index, beside the live one
      .lock                 held by the one writer

A writer builds `gen-000008/` beside the live generation and then swaps
`manifest.json` with an atomic rename: a crash at any moment leaves the old
manifest pointing at complete files. Readers load the generation the manifest
names and never see a mix. Only folders the writer marked are ever deleted, and a
non-empty folder that is not an index is refused. Nothing is pickled.
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
