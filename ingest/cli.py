"""`python -m ingest PATH... [--index DIR] [--json]`: the ingest command.

Progress and the human summary go to stderr; with `--json` stdout carries one
JSON object (the contract other tools rely on). Exit codes: 0 all files
indexed, 1 some files skipped, 2 nothing done (a usage or index error, a
full disk, a read-only index), 130 interrupted by Ctrl-C, 143 by SIGTERM
(finished files are kept either way). File names are printed with control
characters and undecodable bytes escaped, so a name cannot drive the terminal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from core.errors import RagError
from core.settings import load_settings
from core.text import printable
from core.types import IngestReport
from ingest.signals import Terminated, sigterm_as_interrupt


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ingest",
        description="Add folders or PDF files to the local search index (incremental).",
    )
    p.add_argument("paths", nargs="+", type=Path, help="folders (searched recursively) or PDFs")
    p.add_argument(
        "--index",
        type=Path,
        help="a local index directory (default: RAG_STORE_URL if set, else RAG_INDEX_DIR)",
    )
    p.add_argument("--json", action="store_true", help="print the summary as JSON on stdout")
    p.add_argument(
        "--rebuild",
        action="store_true",
        help="build a fresh index of these paths only (e.g. after changing the model), beside "
        "the live one, which is replaced when it is complete; documents of other folders are "
        "dropped, and listed",
    )
    p.add_argument("--backend", choices=["pdfium", "pypdf"], help="PDF text extractor")
    p.add_argument("--workers", type=int, help="parser processes (default: automatic)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument(
        "--no-ocr", action="store_true", help="do not OCR scanned pages (same as RAG_OCR=0)"
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    overrides = {}
    if args.index:
        overrides |= {"index_dir": args.index, "store_url": ""}  # that directory, not a database
    if args.backend:
        overrides["pdf_backend"] = args.backend
    if args.workers is not None:
        overrides["ingest_workers"] = args.workers
    if args.no_ocr:
        overrides["ocr"] = False
    from wiring.root import ingest_documents, load_embedder  # `--help` stays instant

    bar = None if args.quiet else _ProgressBar()
    try:
        settings = load_settings(**overrides)
        embedder = load_embedder(settings)
        # First line: how the model will run on this machine, and why (embed.choice).
        if (choice := getattr(embedder, "choice", None)) is not None:
            _say(f"embedding: {choice.describe()}")
        _prepare(embedder)
        with sigterm_as_interrupt():
            report = ingest_documents(
                args.paths,
                settings,
                embedder=embedder,
                rebuild=args.rebuild,
                on_progress=bar,
                on_wait=lambda pid: print(
                    printable(
                        f"waiting for another ingest (pid {pid}) on {settings.paths.index_dir} ..."
                    ),
                    file=sys.stderr,
                ),
            )
    except RagError as exc:
        if bar is not None:
            bar.close()  # the bar's line ends first: the error gets a line of its own
        print(f"error: {printable(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        if bar is not None:
            bar.close()
        how = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(
            f"\n{how}: finished files were kept; run the same command to finish",
            file=sys.stderr,
        )
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if bar is not None:
            bar.close()
    if args.json:
        out = report.to_json()
        # The choice as it ended up (an engine that cannot run the model falls back).
        if (choice := getattr(embedder, "choice", None)) is not None:
            out["embedding"] = choice.to_json()
        print(json.dumps(out, ensure_ascii=False))
    print(format_summary(report), file=sys.stderr)
    return 0 if report.ok else 1


def _prepare(embedder) -> None:
    """Convert the model for this CPU before parsing starts, when `make install` has not.

    In a child process: its memory peak (tracing, quantizing) is over before the parsers run.
    """
    if not getattr(embedder, "needs_preparing", lambda: False)():
        return
    from embed.prepare import prepare_in_child

    _say("embedding: preparing the model for this CPU (once; a minute or two)...")
    started = time.perf_counter()
    if prepare_in_child():
        _say(f"embedding: prepared in {time.perf_counter() - started:.0f} s")
    else:  # the ingest tries again itself, and under `auto` falls back to torch
        _say("embedding: could not prepare the model ahead; trying during the ingest")


def _say(text: str) -> None:
    print(printable(text), file=sys.stderr)


def format_summary(report: IngestReport, list_max: int = 20) -> str:
    idx = report.index
    lines = [
        f"{report.files} PDF files, {report.pages} pages, {report.chunks} chunks "
        f"in {report.seconds:.1f} s -> {idx.dir or '?'} "
        f"(index: {idx.documents} documents, {idx.chunks} chunks)",
        f"  added {len(report.added)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}, removed {len(report.removed)}, "
        f"skipped {len(report.skipped)}",
    ]
    ocr = report.ocr
    if ocr.pages:
        files = len(ocr.files)
        cached = ocr.pages - ocr.read_now
        lines.append(
            f"  OCR: {ocr.pages} pages in {files} file{'s' if files != 1 else ''} "
            f"({ocr.read_now} read in {ocr.seconds:.1f} s"
            + (f", {cached} from the OCR cache)" if cached else ")")
        )
    reused = report.reused_vectors
    if reused:
        lines.append(f"  {reused} chunks kept their stored vectors (moved, renamed, edited files)")
    # Every removed document is named: a rebuild drops those its folders do not hold.
    for label, names, most in (
        ("added", report.added, list_max),
        ("updated", report.updated, list_max),
        ("removed", report.removed, len(report.removed)),
    ):
        for name in names[:most]:
            lines.append(f"  {label}: {name}")
        if len(names) > most:
            lines.append(f"  {label}: ... and {len(names) - most} more")
    for s in report.skipped:
        lines.append(f"  skipped: {s.file}: {s.reason}")
    for w in report.warnings:
        lines.append(f"  warning: {w.file}: {w.reason}")
    if report.other_files:
        lines.append(f"  not read: {_other_files(report.other_files)}")
    # Names and reasons come from the file system and from parsers: no raw escape sequences.
    return "\n".join(printable(line) for line in lines)


def _other_files(n: int) -> str:
    """'3 other files (not named .pdf)'.

    >>> _other_files(1)
    '1 other file (not named .pdf)'
    """
    return f"{n} other file{'s' if n != 1 else ''} (not named .pdf)"


class _ProgressBar:
    """tqdm on stderr over the bytes of the files to read (known exactly from the start, so
    the bar's end never moves), with pages, files and chunks after it."""

    def __init__(self) -> None:
        self._bar = None

    def __call__(self, p) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(
                total=max(p.bytes_total, 1),
                unit="B",
                unit_scale=True,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        self._bar.n = min(p.bytes_done, self._bar.total)
        ocr = f", OCR {p.ocr_pages} pages {p.ocr_rate:.2f}/s" if p.ocr_pages else ""
        self._bar.set_postfix_str(
            f"{p.pages_done} pages, files {p.files_done}/{p.files_total}, "
            f"chunks embedded {p.chunks}/{p.chunks_made}{ocr}",
            refresh=False,
        )
        self._bar.refresh()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
