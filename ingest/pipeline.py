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
from dataclasses import asdict
from pathlib import Path

from core.errors import RagError
from core.settings import Settings
from core.types import IndexTotals, IngestReport, OcrSummary
from embed.embedder import Embedder, load_embedder
from index import IndexWriter
from index.ann import VectorPolicy
from index.manifest import read_manifest
from index.writer import committing
from ingest.discover import discover
from ingest.parse_pool import ParserPool, parse_file
from ingest.plan import make_plan
from ingest.run_loop import Progress, ProgressCallback, Run

CHUNKER_VERSION = 1
__all__ = ["Progress", "ProgressCallback", "chunking_config", "run_ingest"]


def chunking_config(
    settings: Settings, max_model_tokens: int, index_chunking: dict | None = None
) -> dict:
    """Effective chunking, as recorded in the manifest; 2 tokens go to [CLS] and [SEP].

    An existing index (`index_chunking`, from its manifest) keeps the sizes it was
    built with unless a setting names other ones: a new default must not make an
    index built under the old one refuse new documents.

    >>> chunking_config(Settings(chunk_tokens=300), 256)["chunk_tokens"]
    254
    >>> built = {"chunk_tokens": 192, "chunk_overlap": 32, "chunker_version": CHUNKER_VERSION}
    >>> chunking_config(Settings(), 256, built)["chunk_overlap"]
    32
    >>> chunking_config(Settings(chunk_overlap=8), 256, built)["chunk_overlap"]
    8
    """
    config = {
        "chunk_tokens": min(settings.chunk_tokens, max_model_tokens - 2),
        "chunk_overlap": settings.chunk_overlap,
        "chunker_version": CHUNKER_VERSION,
    }
    if settings.chunk_format > 1:  # absent means 1: plain chunks, as indexes built before
        config["chunk_format"] = settings.chunk_format
    for key in ("chunk_tokens", "chunk_overlap"):
        if index_chunking and key in index_chunking and key not in settings.ingest.model_fields_set:
            config[key] = index_chunking[key]
    return config


def _index_chunking(settings: Settings, rebuild: bool) -> dict | None:
    if rebuild:
        return None
    try:
        return read_manifest(settings.index_dir).chunking
    except RagError:  # no index yet, or a damaged one: the writer reports that
        return None


def run_ingest(
    paths: Sequence[Path],
    settings: Settings,
    *,
    embedder: Embedder | None = None,
    rebuild: bool = False,
    on_progress: ProgressCallback | None = None,
    on_wait: Callable[[str], None] | None = None,
    parser_processes: int | None = None,
    within: Sequence[Path] | None = None,
) -> IngestReport:
    """Ingest `paths`; `within`: symbolic links are followed only to places inside these."""
    started = time.monotonic()
    found = discover(paths, follow_symlinks=settings.follow_symlinks, within=within)
    skipped, warnings = list(found.skipped), list(found.warnings)
    embedder = embedder or load_embedder(settings)
    chunking = chunking_config(
        settings, embedder.info.max_tokens, _index_chunking(settings, rebuild)
    )
    with _writer(settings, embedder, chunking, rebuild, on_wait) as writer:
        plan = make_plan(found.files, paths, writer, settings.file_timeout_seconds)
        skipped.extend(plan.skipped)
        warnings.extend(plan.warnings)
        run = Run(settings, embedder, writer, chunking, plan, on_progress, started)
        processes = settings.parser_workers() if parser_processes is None else parser_processes
        pool = ParserPool(
            processes,
            settings.pdf_backend,
            stall_seconds=settings.file_timeout_seconds,
            memory_mb=settings.parser_memory_mb,
            parse=functools.partial(parse_file, ocr=settings.ocr_config()),
        )
        # Also on Ctrl-C or SIGTERM: publish the documents that were finished.
        with committing(writer, lambda: {s.file: s.reason for s in [*skipped, *run.skipped]}):
            run.consume(pool.events([f.path for f, _, _ in plan.todo]))
            # Vanished and unreadable documents go last: until now a moved file could
            # reuse their vectors. An unreadable file's old text must not stay searchable.
            for source in [*plan.removed, *(s.file for s in plan.skipped)]:
                writer.remove(source)
    skipped.extend(run.skipped)
    warnings.extend(run.warnings)
    return _report(plan, run, writer.manifest, skipped, warnings, settings, started)


def _writer(settings, embedder, chunking, rebuild, on_wait) -> IndexWriter:
    return IndexWriter(
        settings.index_dir,
        embedding=asdict(embedder.info),
        chunking=chunking,
        rebuild=rebuild,
        lock_timeout=settings.lock_timeout_seconds,
        on_wait=on_wait,
        vector_policy=VectorPolicy(
            settings.vector_index, settings.ivf_min_chunks, settings.ivf_nprobe
        ),
    )


def _report(plan, run, manifest, skipped, warnings, settings, started) -> IngestReport:
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
            str(settings.index_dir), len(manifest.documents), manifest.pages, manifest.chunks
        ),
        parsed_pages=run.pages_done,
        reused_vectors=run.reused,
        ocr=_ocr_summary(run, settings),
    )


def _ocr_summary(run, settings) -> OcrSummary:
    """The `--json` "ocr" object: totals and one entry per file that needed OCR."""
    files = {
        source: stats.to_json(settings.ocr_min_confidence)
        for source, stats in run.ocr_files.items()
        if stats.pages or stats.unreadable or stats.failed or stats.note
    }
    return OcrSummary(
        enabled=settings.ocr,
        engine=settings.ocr_engine,
        pages=sum(f["pages"] for f in files.values()),
        read_now=sum(f["read_now"] for f in files.values()),
        seconds=sum(f["seconds"] for f in files.values()),
        files=files,
    )
