"""files -> pages -> chunks -> vectors -> index: one ingest run.

`run_ingest` plans what changed (content hashes), parses the changed files in
worker processes while this process chunks and embeds them, and writes whole
documents into the next index generation, committing at least every
`checkpoint_seconds` so an interrupted run keeps what it finished.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from core.errors import IndexNotFoundError, RagError
from core.types import ChunkingInfo, IndexTotals, IngestReport, OcrSummary, Skipped
from embed.protocols import Embedder
from index import IndexWriting, Manifest
from index.writer import committing
from ingest.discover import discover
from ingest.ocr.config import OcrConfig
from ingest.options import Chunking, IngestOptions
from ingest.parse_pool import ParserPool, parse_file
from ingest.plan import make_plan
from ingest.progress import Progress, ProgressCallback
from ingest.run_loop import IngestRun

CHUNKER_VERSION = 1
__all__ = [
    "Chunking",
    "IngestOptions",
    "Progress",
    "ProgressCallback",
    "chunking_config",
    "run_ingest",
]


def chunking_config(
    chunking: Chunking, max_model_tokens: int, index_chunking: ChunkingInfo | None = None
) -> ChunkingInfo:
    """Effective chunking, as recorded in the manifest; 2 tokens go to [CLS] and [SEP].

    An existing index (`index_chunking`, from its manifest) keeps the sizes it was
    built with unless `chunking` names other ones: a new default must not make an
    index built under the old one refuse new documents.

    >>> chunking_config(Chunking(tokens=300), 256).chunk_tokens
    254
    >>> built = ChunkingInfo(128, 16, CHUNKER_VERSION)
    >>> chunking_config(Chunking(), 256, built).chunk_overlap
    16
    >>> chunking_config(Chunking(overlap=8), 256, built).chunk_overlap
    8
    >>> chunking_config(Chunking(), 256).chunk_tokens
    192
    """
    tokens, overlap = chunking.tokens, chunking.overlap
    if tokens is None:
        tokens = index_chunking.chunk_tokens if index_chunking else Chunking.DEFAULT_TOKENS
    if overlap is None:
        overlap = index_chunking.chunk_overlap if index_chunking else Chunking.DEFAULT_OVERLAP
    # What the index was built with stays as it is; a size asked for is capped.
    if not index_chunking or tokens != index_chunking.chunk_tokens:
        tokens = min(tokens, max_model_tokens - 2)
    return ChunkingInfo(tokens, overlap, CHUNKER_VERSION, chunking.format)


def run_ingest(
    paths: Sequence[Path],
    options: IngestOptions,
    *,
    embedder: Embedder,
    writer: IndexWriting,
    chunking: ChunkingInfo,
    rebuild: bool = False,
    live: Callable[[], Manifest | None] | None = None,
    on_progress: ProgressCallback | None = None,
    parser_processes: int | None = None,
    within: Sequence[Path] | None = None,
) -> IngestReport:
    """Ingest `paths` through `writer` (not yet entered; the composition root picks the
    store and builds it for `chunking`, see `wiring.stores`); `rebuild`: the writer builds
    a fresh index, and `live()` gives the one it replaces; `within`: symbolic links are
    followed only to places inside these."""
    o = options
    started = time.monotonic()
    found = discover(paths, follow_symlinks=o.follow_symlinks, within=within)
    skipped, warnings = list(found.skipped), list(found.warnings)
    with writer:
        # A rebuild holds only what these paths hold: say which documents it drops.
        before = _live_documents(live, warnings) if rebuild and live is not None else None
        plan = make_plan(found.files, paths, writer, o.file_timeout_seconds, everything=rebuild)
        skipped.extend(plan.skipped)
        warnings.extend(plan.warnings)
        run = IngestRun(o, embedder, writer, chunking, plan, on_progress, started)
        processes = o.parser_processes() if parser_processes is None else parser_processes
        pool = ParserPool(
            processes,
            o.pdf_backend,
            stall_seconds=o.file_timeout_seconds,
            memory_mb=o.parser_memory_mb,
            parse=functools.partial(parse_file, ocr=o.ocr),
        )
        run.abandon = pool.abandon  # a file past a cap is not parsed to its end
        # Also on Ctrl-C or SIGTERM: publish the documents that were finished.
        with committing(writer, lambda: {s.file: s.reason for s in [*skipped, *run.skipped]}):
            run.consume(pool.events([t.file.path for t in plan.todo]))
            publish = time.perf_counter()
            # Vanished and unreadable documents go last: until now a moved file could
            # reuse their vectors. An unreadable file's old text must not stay searchable.
            for source in [*plan.removed, *(s.file for s in plan.skipped)]:
                writer.remove(source)
    run.stages.seconds["write"] += time.perf_counter() - publish  # the last commit, too
    skipped.extend(run.skipped)
    warnings.extend(run.warnings)
    if before is not None:
        plan.removed = _dropped(before, writer.manifest, skipped, warnings)
    report = _report(plan, run, writer, skipped, warnings, o, started)
    return replace(report, other_files=found.other_files)


def _live_documents(
    live: Callable[[], Manifest | None], warnings: list[Skipped]
) -> set[str] | None:
    """The documents of the index a rebuild replaces (None: there is none, or it is damaged)."""
    try:
        manifest = live()
        return set(manifest.documents) if manifest is not None else set()
    except IndexNotFoundError:
        return set()
    except RagError as exc:
        warnings.append(Skipped("(old index)", f"{exc.message}: the documents it held are unknown"))
        return None


def _dropped(before: set[str], after, skipped, warnings: list[Skipped]) -> list[str]:
    """Documents of the replaced index that the rebuilt one lacks (skipped ones are listed
    as skipped already)."""
    if before and not after.documents:
        warnings.append(
            Skipped("(rebuild)", "no document was indexed, so the old index was kept as it was")
        )
        return []
    told = {s.file for s in skipped}
    return sorted(s for s in before if s not in after.documents and s not in told)


def _report(plan, run, writer, skipped, warnings, options, started) -> IngestReport:
    manifest = writer.manifest
    sources = [f.source for f in plan.files if f.source in manifest.documents]
    return IngestReport(
        added=tuple(run.done["added"]),
        updated=tuple(run.done["updated"]),
        unchanged=tuple(plan.unchanged),
        removed=tuple(plan.removed),
        skipped=tuple(skipped),
        warnings=tuple(warnings),
        files=len(plan.files),
        pages=sum(manifest.documents[s].pages for s in sources),
        chunks=sum(manifest.documents[s].chunks for s in sources),
        seconds=time.monotonic() - started,
        index=IndexTotals(
            writer.location, len(manifest.documents), manifest.pages, manifest.chunks
        ),
        parsed_pages=run.pages_done,
        reused_vectors=run.reused,
        ocr=_ocr_summary(run, options.ocr),
        stages={k: round(v, 3) for k, v in run.stages.seconds.items()},
    )


def _ocr_summary(run, ocr: OcrConfig) -> OcrSummary:
    """The `--json` "ocr" object: totals and one entry per file that needed OCR."""
    files = {
        source: stats.to_json(ocr.min_confidence)
        for source, stats in run.ocr_files.items()
        if stats.pages or stats.unreadable or stats.failed or stats.note
    }
    return OcrSummary(
        enabled=ocr.enabled,
        engine=ocr.engine,
        pages=sum(f["pages"] for f in files.values()),
        read_now=sum(f["read_now"] for f in files.values()),
        seconds=sum(f["seconds"] for f in files.values()),
        files=files,
    )
