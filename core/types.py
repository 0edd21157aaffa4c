"""Frozen dataclasses that flow through the pipeline.

files -> PageText -> Chunk -> (vectors) -> index -> Passage -> prompt -> answer
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PageText:
    """Cleaned text of one PDF page; `page` is 1-based as printed by viewers."""

    page: int
    text: str
    ocr_confidence: float | None = None  # set when the text was read by OCR (0..1)

    @property
    def ocr(self) -> bool:
        return self.ocr_confidence is not None


@dataclass(frozen=True)
class Chunk:
    """A token-bounded span of a document, with its provenance.

    A chunk may cross a page break, so it records the first and last page.
    `ordinal` is its position in the file (0, 1, 2, ...).

    >>> c = Chunk(source="a.pdf", ordinal=0, page_start=1, page_end=2, text="hello", n_tokens=1)
    >>> c.chunk_id == Chunk("a.pdf", 0, 1, 2, "hello", 1).chunk_id
    True
    >>> len(c.chunk_id)
    16
    """

    source: str
    ordinal: int
    page_start: int
    page_end: int
    text: str
    n_tokens: int
    # Lowest OCR confidence of the pages it spans that were OCR'd; None: no OCR text.
    ocr_confidence: float | None = None
    # Document structure (format 2): the document's title, the section path the chunk sits
    # under, and the short header embedded and keyword-indexed with it. Not in the id: a
    # renamed section does not make the same text another chunk.
    title: str = ""
    section: tuple[str, ...] = ()
    heading: str = ""

    @property
    def ocr(self) -> bool:
        return self.ocr_confidence is not None

    @property
    def embed_text(self) -> str:
        """What the embedding model reads: the header, then the text.

        >>> Chunk("a.pdf", 0, 1, 1, "Use -v.", 3, heading="gs › 2 Options").embed_text
        'gs › 2 Options\\nUse -v.'
        """
        return f"{self.heading}\n{self.text}" if self.heading else self.text

    @property
    def chunk_id(self) -> str:
        """Content hash of text and provenance: stable across rebuilds."""
        parts = (self.source, self.ordinal, self.page_start, self.page_end, self.text)
        key = "\x00".join(map(str, parts))
        return hashlib.blake2b(key.encode("utf-8"), digest_size=8).hexdigest()


@dataclass(frozen=True)
class EmbeddingInfo:
    """What identifies the vectors of an index: stored in its manifest, compared when loaded.

    An index from an older build may lack `max_tokens` (0) or `fingerprint` ("").
    """

    model_id: str
    dim: int
    max_tokens: int = 0  # the model's max_seq_length, including its special tokens
    fingerprint: str = ""  # hash of config, tokenizer and weights; not of the folder's path


@dataclass(frozen=True)
class ChunkingInfo:
    """How an index's chunks were cut: stored in its manifest, kept by later ingests.

    `chunker_version` is None in an index written before it was recorded; format 1
    (plain chunks) is not written to the manifest, so indexes built before format 2
    read as format 1.

    >>> ChunkingInfo(192, 32).to_json()
    {'chunk_tokens': 192, 'chunk_overlap': 32, 'chunker_version': 1}
    >>> ChunkingInfo.from_json({"chunk_tokens": 40, "chunk_overlap": 8}).chunker_version is None
    True
    """

    chunk_tokens: int
    chunk_overlap: int
    chunker_version: int | None = 1
    chunk_format: int = 1

    def to_json(self) -> dict:
        body: dict = {"chunk_tokens": self.chunk_tokens, "chunk_overlap": self.chunk_overlap}
        if self.chunker_version is not None:
            body["chunker_version"] = self.chunker_version
        if self.chunk_format > 1:
            body["chunk_format"] = self.chunk_format
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, object]) -> ChunkingInfo:
        version = body.get("chunker_version")
        return cls(
            int(body["chunk_tokens"]),
            int(body["chunk_overlap"]),
            None if version is None else int(version),
            int(body.get("chunk_format", 1)),
        )


@dataclass(frozen=True)
class Skipped:
    """A file that was not indexed, with the reason shown to the user."""

    file: str
    reason: str


@dataclass(frozen=True)
class IndexTotals:
    """The whole index after a run (not only the files of this run)."""

    dir: str = ""
    documents: int = 0
    pages: int = 0
    chunks: int = 0


@dataclass(frozen=True)
class OcrSummary:
    """What OCR did in one run: totals, and one JSON entry per file that needed it."""

    enabled: bool = False
    engine: str = ""
    pages: int = 0
    read_now: int = 0  # pages read in this run; the rest came from the OCR cache
    seconds: float = 0.0
    files: Mapping[str, Mapping[str, object]] = field(default_factory=dict)

    def to_json(self) -> dict:
        return {
            "enabled": self.enabled,
            "engine": self.engine,
            "pages": self.pages,
            "read_now": self.read_now,
            "seconds": round(self.seconds, 3),
            "files": {source: dict(entry) for source, entry in self.files.items()},
        }


@dataclass(frozen=True)
class IngestReport:
    """What one ingest run did. Lists hold `source` names (paths relative to the folder)."""

    added: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    skipped: tuple[Skipped, ...] = ()
    warnings: tuple[Skipped, ...] = ()
    files: int = 0
    pages: int = 0
    chunks: int = 0
    seconds: float = 0.0
    index: IndexTotals = IndexTotals()
    parsed_pages: int = 0  # pages parsed in this run (unchanged files are not parsed)
    reused_vectors: int = 0  # chunks that kept their stored vectors (moved or edited files)
    ocr: OcrSummary = OcrSummary()
    other_files: int = 0  # files found that are not named *.pdf (not read)
    # Seconds per stage (ingest.stages): the main thread's "wait" (for parsers), "chunk",
    # "embed", "write", and the parser processes' CPU seconds, "parse", which overlap them.
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.skipped

    def to_json(self) -> dict:
        """The CLI's `--json` contract."""
        index = self.index
        return {
            "files": self.files,
            "pages": self.pages,
            "chunks": self.chunks,
            "added": list(self.added),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "removed": list(self.removed),
            "skipped": [{"file": s.file, "reason": s.reason} for s in self.skipped],
            "warnings": [{"file": s.file, "reason": s.reason} for s in self.warnings],
            "seconds": round(self.seconds, 3),
            "index": {
                "dir": index.dir,
                "documents": index.documents,
                "pages": index.pages,
                "chunks": index.chunks,
            },
            "reused_vectors": self.reused_vectors,
            "ocr": self.ocr.to_json(),
            "other_files": self.other_files,
            "stages": dict(self.stages),
        }


@dataclass(frozen=True)
class Passage:
    """A retrieved chunk with its score, as shown to users and models."""

    source: str
    page_start: int
    page_end: int
    score: float
    text: str
    chunk_id: str = ""
    ocr_confidence: float | None = None  # None: the text layer; else OCR's confidence (0..1)
    title: str = ""
    section: tuple[str, ...] = ()
    also: tuple[str, ...] = ()  # other files with this very text (a PDF indexed twice)

    @property
    def ocr(self) -> bool:
        """Its text was read from a page image by OCR.

        >>> Passage("scan.pdf", 1, 1, 0.5, "text", ocr_confidence=0.9).to_json()["ocr"]
        {'confidence': 0.9}
        """
        return self.ocr_confidence is not None

    @property
    def pages(self) -> str:
        """'p. 4' or 'pp. 4-5', as printed in citations."""
        if self.page_start == self.page_end:
            return f"p. {self.page_start}"
        return f"pp. {self.page_start}-{self.page_end}"

    @property
    def location(self) -> str:
        """File, section path and pages, as shown with sources.

        >>> Passage("sbcl.pdf", 20, 20, 0.5, "...", section=("3 Starting", "3.3 Options")).location
        'sbcl.pdf › 3 Starting › 3.3 Options, p. 20'
        >>> Passage("notes.pdf", 2, 3, 0.5, "...").location
        'notes.pdf pp. 2-3'
        """
        if not self.section:
            return f"{self.source} {self.pages}"
        return " › ".join((self.source, *self.section)) + f", {self.pages}"

    def to_json(self) -> dict:
        return {
            "source": self.source,
            "page_start": self.page_start,
            "page_end": self.page_end,
            "score": round(float(self.score), 4),
            "text": self.text,
            "ocr": {"confidence": round(self.ocr_confidence, 4)} if self.ocr else None,
            "title": self.title,
            "section": list(self.section),
        }
