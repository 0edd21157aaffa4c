"""`manifest.json`: the versioned, human-readable root of an index directory.

Round trip:

>>> m = Manifest.empty(embedding=EmbeddingInfo("m", 3), chunking=ChunkingInfo(8, 2))
>>> Manifest.from_json(m.to_json()) == m
True
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from core.errors import IndexCorruptError, IndexMismatchError, IndexNotFoundError
from core.text import escape_surrogates_for_json
from core.types import ChunkingInfo, EmbeddingInfo
from index.layout import MANIFEST

FORMAT = "pdf-chat-index"
# 2: each document records its real path, its identity (ingest.identity); version 1
# keyed documents by relative name alone, so two folders' `doc.pdf` were one document.
# 3: the manifest carries its own checksum (`checksum`), checked on every read.
VERSION = 3
# What every "the index is damaged or mismatched" error recommends; --rebuild never reads
# the old manifest or generations, so it repairs any of them (index.writer).
REBUILD_HINT = (
    "rebuild the index with `python -m ingest --rebuild FOLDER...`, naming every folder "
    "it should hold (documents of folders not named are dropped, and listed)"
)
# The files of one generation (`gen-NNNNNN/`).
VECTORS = "vectors.faiss"
CHUNKS = "chunks.sqlite"


class ForeignManifestError(IndexCorruptError):
    """A `manifest.json` that another program wrote: its folder is not an index of ours."""


@dataclass(frozen=True)
class DocumentRecord:
    """One indexed PDF. `source`: the name users see (see ingest.identity); `real_path`: which
    file it is, with symbolic links resolved. Paths keep undecodable bytes as surrogates."""

    source: str
    sha256: str
    pages: int
    chunks: int
    root: str
    path: str
    size: int
    mtime_ns: int
    backend: str
    empty_pages: int = 0
    ingested_at: float = 0.0
    real_path: str = ""
    ocr_pages: int = 0  # pages whose text was read by OCR


@dataclass(frozen=True)
class FileChecksum:
    name: str
    bytes: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    generation: int
    embedding: EmbeddingInfo
    chunking: ChunkingInfo
    documents: dict[str, DocumentRecord] = field(default_factory=dict)
    files: dict[str, FileChecksum] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0
    version: int = VERSION  # of the file it was read from; a writer writes VERSION

    @classmethod
    def empty(cls, *, embedding: EmbeddingInfo, chunking: ChunkingInfo) -> Manifest:
        now = time.time()
        return cls(0, embedding, chunking, created_at=now, updated_at=now)

    @property
    def generation_dir(self) -> str:
        return generation_dir_name(self.generation)

    @property
    def pages(self) -> int:
        return sum(d.pages for d in self.documents.values())

    @property
    def chunks(self) -> int:
        return sum(d.chunks for d in self.documents.values())

    def evolve(self, **changes) -> Manifest:
        return replace(self, **changes)

    def migrated(self) -> Manifest:
        """This manifest in the current format; a writer publishes it at its next commit.

        From version 1: each document's real path is its recorded path with links resolved.
        """
        if self.version >= VERSION:
            return self
        docs = {
            key: replace(doc, real_path=doc.real_path or os.path.realpath(doc.path))
            for key, doc in self.documents.items()
        }
        return self.evolve(documents=docs, version=VERSION)

    def to_json(self) -> str:
        body = {"format": FORMAT, **asdict(self)}
        body["chunking"] = self.chunking.to_json()
        body["documents"] = {k: asdict(v) for k, v in sorted(self.documents.items())}
        body["checksum"] = _checksum(body)
        # Paths with undecodable bytes: \udcXX escapes keep the file valid UTF-8.
        return escape_surrogates_for_json(json.dumps(body, indent=1, ensure_ascii=False)) + "\n"

    @classmethod
    def from_json(cls, text: str | bytes, where: str = "manifest.json") -> Manifest:
        """Parse and check a manifest; any damage is an `IndexCorruptError`, never a traceback."""
        try:
            body = json.loads(text.decode("utf-8") if isinstance(text, bytes) else text)
            stored = body.pop("checksum", None) if isinstance(body, dict) else None
            if stored is not None and stored != _checksum(body):
                raise _damaged(where, "it fails its checksum: it was edited by hand or damaged")
            if not isinstance(body, dict) or body.get("format") != FORMAT:
                raise ForeignManifestError(
                    f"{where} is not a manifest of this application",
                    hint="point RAG_INDEX_DIR at an index made by `python -m ingest`",
                )
            if body["version"] > VERSION:
                raise IndexMismatchError(
                    f"{where} has format version {body['version']}; this program reads "
                    f"up to version {VERSION}",
                    hint=f"update this program, or {REBUILD_HINT}",
                )
            if stored is None and body["version"] >= 3:
                raise _damaged(where, "its checksum is missing")
            manifest = cls(
                generation=int(body["generation"]),
                embedding=EmbeddingInfo(**body["embedding"]),
                chunking=ChunkingInfo.from_json(body["chunking"]),
                documents={k: DocumentRecord(**v) for k, v in body["documents"].items()},
                files={k: FileChecksum(**v) for k, v in body["files"].items()},
                skipped=dict(body.get("skipped", {})),
                created_at=float(body["created_at"]),
                updated_at=float(body["updated_at"]),
                version=int(body["version"]),
            )
        except UnicodeDecodeError as exc:
            why = f"not UTF-8 text: byte {exc.object[exc.start]:#04x} at offset {exc.start}"
            raise _damaged(where, why) from exc
        except json.JSONDecodeError as exc:
            raise _damaged(where, f"not JSON: {exc.msg} at offset {exc.pos}") from exc
        except KeyError as exc:
            raise _damaged(where, f"the field {exc} is missing") from exc
        except (ValueError, TypeError, AttributeError, RecursionError) as exc:
            raise _damaged(where, f"{type(exc).__name__}: {_short(exc)}") from exc
        for key, doc in manifest.documents.items():
            if key != doc.source:
                raise _damaged(where, f"document {key!r} is recorded as {doc.source!r}")
        return manifest


def _damaged(where: str, why: str) -> IndexCorruptError:
    return IndexCorruptError(f"{where} is damaged ({why})", hint=REBUILD_HINT)


def _checksum(body: dict) -> str:
    """sha256 of the manifest's content (not its layout): any change of meaning changes it."""
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def _short(exc: BaseException, limit: int = 160) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= limit else text[:limit] + "..."


# What each chunk format holds (`chunking.chunk_format` in the manifest; absent means 1).
_FORMATS = {
    1: "without document structure,",
    2: "with document titles and section paths,",
}


def generation_dir_name(generation: int) -> str:
    return f"gen-{generation:06d}"


def read_manifest(index_dir: Path) -> Manifest:
    path = index_dir / MANIFEST
    if not path.is_file():
        raise IndexNotFoundError(
            f"no index at {index_dir} (no {MANIFEST})",
            hint="add documents first: `python -m ingest FOLDER` (or upload PDFs in the app)",
        )
    try:
        data = path.read_bytes()
    except OSError as err:
        raise IndexCorruptError(
            f"{path} cannot be read ({err.strerror or err})",
            hint="give this user read permission on the index folder",
        ) from err
    return Manifest.from_json(data, where=str(path))


def check_compatible(
    manifest: Manifest, *, embedding: EmbeddingInfo, chunking: ChunkingInfo | None
) -> None:
    """Refuse to mix vectors of two models, or chunks of two chunkings, in one index.

    What an older manifest did not record ("" or None) is not compared.
    """
    built_model = manifest.embedding
    for key in ("model_id", "dim", "fingerprint"):
        built, wanted = getattr(built_model, key), getattr(embedding, key)
        if built not in ("", None) and built != wanted:
            raise IndexMismatchError(
                f"the index was built with embedding model {built_model.model_id!r} "
                f"({key}={built!r}), but the configured model has {key}={wanted!r}",
                hint=f"{REBUILD_HINT}; or set RAG_EMBEDDING_MODEL back to the model it was "
                "built with",
            )
    if chunking is not None:
        _check_chunking(manifest.chunking, chunking)


def _check_chunking(built: ChunkingInfo, wanted: ChunkingInfo) -> None:
    if built.chunk_format != wanted.chunk_format:
        was, asked = built.chunk_format, wanted.chunk_format
        raise IndexMismatchError(
            f"the index holds chunks of format {was}, {_FORMATS.get(was, '')} but the "
            f"settings ask for format {asked}, {_FORMATS.get(asked, '')}",
            hint=f"{REBUILD_HINT} (every file is read and embedded again); or set "
            f"RAG_CHUNK_FORMAT={was} to keep adding to it",
        )
    for key in ("chunk_tokens", "chunk_overlap", "chunker_version"):
        value = getattr(built, key)
        if value is not None and getattr(wanted, key) != value:
            raise IndexMismatchError(
                f"the index was built with chunking {key}={value!r}, but the settings say "
                f"{key}={getattr(wanted, key)!r}",
                hint=REBUILD_HINT
                + ("" if key == "chunker_version" else f"; or set RAG_{key.upper()}={value}"),
            )
