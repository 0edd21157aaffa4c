"""Caps per file: its extracted text, its chunks, its time (docs/limits.md).

A PDF of a few kilobytes can expand to millions of characters (one content stream
drawn on a thousand pages, or a compressed stream of text): without a cap it holds
the ingest for an hour of embedding. Past a cap the file is skipped, with a reason
that names the setting; the other files go on.

Real PDFs hold at most about 1.4 characters of text per byte of file (196 PDFs of
the seeds and the Debian manuals, measured); the attack's files held 300. Past
`EXPANSION_FLOOR` characters, a file whose text passes `max_expansion` characters
per byte is skipped as a text bomb, long before the absolute caps.

>>> caps = FileCaps(max_chars=1000, max_chunks=10, max_seconds=0, seconds_name="RAG_X")
>>> caps.text(999, 3, size=10), caps.time(10_000.0)
('', '')
>>> print(caps.chunks(11, 4))
not indexed: it passes 10 chunks by page 4 (RAG_FILE_MAX_CHUNKS, about 0 min of \
embedding at 8 chunks/s); raise RAG_FILE_MAX_CHUNKS to index it
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.options import IngestOptions

CHUNKS_PER_SECOND = 8  # measured on a 2-core machine (issue 27): what a cap costs at most
EXPANSION_FLOOR = 250_000  # characters: below this, any file may expand as it likes


@dataclass(frozen=True)
class FileCaps:
    max_chars: int
    max_chunks: int
    max_seconds: float  # 0 = no limit
    seconds_name: str
    max_expansion: float = 0.0  # characters of text per byte of file; 0 = no check

    @classmethod
    def of(cls, options: IngestOptions) -> FileCaps:
        return cls(
            options.file_max_chars,
            options.file_max_chunks,
            options.file_max_seconds,
            options.file_max_seconds_name,
            options.file_max_expansion,
        )

    def text(self, chars: int, page: int, size: int) -> str:
        """The skip reason once a file's text passes a cap, else ""; `size`: its bytes."""
        if chars > self.max_chars:
            return (
                f"not indexed: its text passes {self.max_chars:,} characters by page {page} "
                "(RAG_FILE_MAX_CHARS); raise RAG_FILE_MAX_CHARS to index it"
            )
        limit = self.max_expansion * max(size, 1)
        if self.max_expansion and chars > EXPANSION_FLOOR and chars > limit:
            return (
                f"not indexed: by page {page} its {size:,} bytes expand to {chars:,} characters "
                f"of text, over {self.max_expansion:g} per byte (RAG_FILE_MAX_EXPANSION): the "
                "mark of a text bomb; raise RAG_FILE_MAX_EXPANSION if the file is genuine"
            )
        return ""

    def chunks(self, chunks: int, page: int) -> str:
        if chunks <= self.max_chunks:
            return ""
        minutes = self.max_chunks / CHUNKS_PER_SECOND / 60
        return (
            f"not indexed: it passes {self.max_chunks:,} chunks by page {page} "
            f"(RAG_FILE_MAX_CHUNKS, about {minutes:.0f} min of embedding at "
            f"{CHUNKS_PER_SECOND} chunks/s); raise RAG_FILE_MAX_CHUNKS to index it"
        )

    def time(self, seconds: float) -> str:
        if not self.max_seconds or seconds <= self.max_seconds:
            return ""
        return (
            f"not indexed: it took more than {self.max_seconds:g} s ({self.seconds_name}); "
            f"raise {self.seconds_name}, or add it with `python -m ingest` (no limit there "
            "unless RAG_FILE_MAX_SECONDS is set)"
        )
