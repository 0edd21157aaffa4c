"""`python -m retrieval "QUERY" [--index DIR] [-k N] [--file GLOB] [--json]`: search the index.

With `--json`, stdout carries one JSON array, best first, each item
`{"source", "page_start", "page_end", "score", "text", "ocr", "title", "section"}`
(`[]` when nothing is relevant); notes and errors go to stderr. Without it, a
readable list.
Exit codes: 0 done (even with no results), 2 a usage or index error.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

from core.errors import RagError
from core.settings import load_settings


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m retrieval",
        description="Find the passages of the indexed PDFs that answer a question.",
    )
    p.add_argument("query", help="the question or search words")
    p.add_argument(
        "--index",
        type=Path,
        help="a local index directory (default: RAG_STORE_URL if set, else RAG_INDEX_DIR)",
    )
    p.add_argument("-k", type=int, help="number of passages (default: RAG_PASSAGES, 4)")
    p.add_argument(
        "--file",
        action="append",
        metavar="GLOB",
        help="only these files: a glob on the indexed path, a file name, or a folder/ "
        "(repeat for several)",
    )
    p.add_argument("--json", action="store_true", help="print a JSON array on stdout")
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.k is not None and args.k < 1:
        print("error: -k must be at least 1", file=sys.stderr)
        return 2
    from wiring.root import open_retriever  # after argparse: `--help` stays instant

    try:
        settings = load_settings(
            **({"index_dir": args.index, "store_url": ""} if args.index else {})
        )
        with open_retriever(settings) as retriever:
            if args.file and not retriever.matching_sources(args.file):
                print(
                    f"note: no indexed file matches {', '.join(args.file)}; "
                    "`python -m ingest --json` lists what is indexed",
                    file=sys.stderr,
                )
            if not retriever.keyword_available:
                print(
                    "note: this index has no keyword index yet (made by an older version); "
                    "rebuild it with `python -m ingest --rebuild FOLDER`",
                    file=sys.stderr,
                )
            passages = retriever.search(args.query, args.k, args.file)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([p.to_json() for p in passages], ensure_ascii=False))
        return 0
    if not passages:
        print("No passage of the indexed documents is relevant to this question.")
    for n, p in enumerate(passages, 1):
        print(f"[{n}] {p.location}  (score {p.score:.2f})")
        body = textwrap.shorten(" ".join(p.text.split()), width=600, placeholder=" ...")
        print(textwrap.indent(textwrap.fill(body, width=96), "    "))
    return 0
