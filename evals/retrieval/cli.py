"""`python -m evals.retrieval --qa FILE.jsonl --docs DIR [--index DIR]`: measure retrieval.

Ingests DIR into a temporary index (or searches `--index`), asks every
question of FILE, and does the same with LangChain's tutorial defaults on the
same PDFs (`evals.langchain_default`), so both columns come from one run.
`--previous` adds the default before document structure and re-ranking
(chunk format 1, no re-ranking) on an index of its own (`--previous-index`, or
a temporary one). The table goes to stderr, the JSON report to stdout (and to
`--out FILE`).
Exit codes: 0 done, 2 a usage or index error.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from core.errors import RagError
from core.settings import Settings


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m evals.retrieval",
        description="Hit@1, hit@k and MRR of our retrieval and of the LangChain default.",
    )
    p.add_argument("--qa", type=Path, required=True, help="questions, JSON lines")
    p.add_argument("--docs", type=Path, required=True, help="folder of the PDFs asked about")
    p.add_argument("--index", type=Path, help="search this index instead of ingesting --docs")
    p.add_argument("-k", type=int, default=5, help="passages per question (default 5)")
    p.add_argument("--floor", type=float, help="relevance floor (default: RAG_RELEVANCE_FLOOR)")
    p.add_argument("--no-baseline", action="store_true", help="skip the LangChain default")
    p.add_argument(
        "--previous",
        action="store_true",
        help="also run the previous default (plain chunks, no re-ranking) in the same run",
    )
    p.add_argument(
        "--previous-index", type=Path, help="its index (chunk format 1) instead of a new one"
    )
    p.add_argument("--no-rerank", action="store_true", help="our column without re-ranking")
    p.add_argument("--out", type=Path, help="also write the JSON report to this file")
    return p


def main(argv: list[str] | None = None) -> int:
    return run_report(build_parser().parse_args(argv), evaluate, format_table)


def run_report(args: argparse.Namespace, evaluate, format_table) -> int:
    """Evaluate, print the table to stderr and the JSON to stdout (and `--out`); exit code."""
    try:
        report = evaluate(args)
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    text = json.dumps(report, indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n", encoding="utf-8")
    print(format_table(report), file=sys.stderr)
    print(text)
    return 0


def evaluate(args: argparse.Namespace) -> dict:
    from evals.retrieval.metrics import load_questions
    from wiring.root import ingest_documents, load_embedder, open_retriever

    if not args.docs.is_dir():
        raise RagError(f"{args.docs} is not a folder", hint="give --docs the folder of the PDFs")
    questions = load_questions(args.qa)
    overrides = {} if args.floor is None else {"relevance_floor": args.floor}
    if getattr(args, "no_rerank", False):
        overrides["rerank"] = False
    with tempfile.TemporaryDirectory(prefix="rag-eval-") as tmp:
        settings = Settings(index_dir=args.index or Path(tmp) / "index", **overrides)
        embedder = load_embedder(settings)
        started = time.monotonic()
        if not args.index:
            print(f"ingesting {args.docs} into a temporary index ...", file=sys.stderr)
            ingest_documents([args.docs], settings, embedder=embedder)
        ingest_seconds = time.monotonic() - started
        previous = _previous(args, overrides, embedder, Path(tmp))
        with open_retriever(settings, embedder) as retriever:
            baseline = None
            if not args.no_baseline:
                from evals.langchain_default import LangChainDefault

                print("building the LangChain default over the same PDFs ...", file=sys.stderr)
                baseline = LangChainDefault(args.docs, settings.embedding_model_path())
            try:
                report = _ask(questions, retriever, baseline, args.k, previous)
            finally:
                if previous is not None:
                    previous.close()
            report["index"] = {
                "chunks": len(retriever.snapshot),
                "documents": len(retriever.snapshot.manifest.documents),
                "ingest_seconds": round(ingest_seconds, 1) if not args.index else None,
                "keyword_search": retriever.keyword_available,
                "relevance_floor": settings.search.relevance_floor,
            }
    report["qa"], report["docs"] = str(args.qa), str(args.docs)
    return report


def _previous(args, overrides: dict, embedder, tmp: Path):
    """The previous default's retriever (chunk format 1, no re-ranking), or None."""
    if not getattr(args, "previous", False):
        return None
    from wiring.root import ingest_documents, open_retriever

    index = getattr(args, "previous_index", None)
    old = {**overrides, "chunk_format": 1, "rerank": False}
    settings = Settings(index_dir=index or tmp / "index-previous", **old)
    if not index:
        print(f"ingesting {args.docs} for the previous default ...", file=sys.stderr)
        ingest_documents([args.docs], settings, embedder=embedder)
    return open_retriever(settings, embedder)


def _ask(questions, retriever, baseline, k: int, previous=None) -> dict:
    from evals.retrieval.metrics import Ranked, evidence_pages, first_hit, holds_keys, summarize

    page_texts = [retriever.snapshot.page_text]
    sources = set(retriever.snapshot.manifest.documents)
    if baseline is not None:
        page_texts.append(baseline.page_text)
        sources |= baseline.sources
    rows, ours, theirs, before = [], [], [], []
    times: dict[str, list[float]] = {"ours": [], "previous_default": [], "langchain_default": []}
    asked = {q.id: q for q in questions}
    for q in questions:
        pages = evidence_pages(q, sources, page_texts)
        query = search_query(q, asked)
        started = time.perf_counter()
        passages = retriever.search(query, k)
        times["ours"].append(time.perf_counter() - started)
        candidates = retriever.candidates(query)
        row = {
            "id": q.id,
            "query": query,
            "follow_up": q.after is not None,
            "answerable": q.answerable,
            "evidence_found": bool(pages) if q.answerable else None,
            "ours_rank": first_hit([(p.source, p.page_start, p.page_end) for p in passages], pages),
            "ours_returned": len(passages),
            "ours_scores": [round(p.score, 3) for p in passages],
            "best_relevance": round(max((c.relevance for c in candidates), default=0.0), 3),
        }
        keys = q.answer_keys if q.answerable else ()
        first = passages[0].text if passages else ""
        ours.append(Ranked(q.answerable, row["ours_rank"], len(passages), holds_keys(first, keys)))
        if previous is not None:
            row["previous_rank"], ranked = _timed_rank(
                previous.search, q, k, pages, keys, times["previous_default"]
            )
            before.append(ranked)
        if baseline is not None:
            row["baseline_rank"], ranked = _timed_rank(
                baseline.search, q, k, pages, keys, times["langchain_default"]
            )
            theirs.append(ranked)
        rows.append(row)
    systems = {"ours": summarize(ours, k)}
    if previous is not None:
        systems["previous_default"] = summarize(before, k)
    if baseline is not None:
        systems["langchain_default"] = summarize(theirs, k)
        systems["langchain_default"]["chunks"] = baseline.chunks
    follow_ups = [r for r in rows if r["follow_up"] and r["answerable"]]
    if follow_ups:
        systems["ours"]["follow_ups"] = len(follow_ups)
        systems["ours"][f"follow_ups_hit@{k}"] = round(
            sum(1 for r in follow_ups if r["ours_rank"]) / len(follow_ups), 3
        )
    for name, values in times.items():
        if values and name in systems:
            systems[name]["median_ms"] = round(statistics.median(values) * 1000, 1)
    missing = [r["id"] for r in rows if r["evidence_found"] is False]
    return {
        "k": k,
        "questions": len(questions),
        "systems": systems,
        "evidence_not_found": missing,
        "per_question": rows,
    }


def search_query(q, asked: dict) -> str:
    """What our chat searches for `q`: a follow-up (`after`) is made standalone from the
    question before it, as `llm.chat.ChatSession` does without a model (the answer
    harness measures the model's rewrite); any other question as asked."""
    before = asked.get(q.after) if q.after else None
    if before is None:
        return q.question
    from llm.rewrite import standalone_query
    from llm.types import Turn

    return standalone_query(q.question, [Turn(before.question, "")])


def format_table(report: dict) -> str:
    k, systems = report["k"], report["systems"]
    names = list(systems)
    head = f"{'':34}" + "".join(f"{n:>20}" for n in names)
    lines = [head]
    first = systems[names[0]]
    labels = [
        ("hit@1", f"answerable ({first['answerable']}): hit@1"),
        (f"hit@{k}", f"answerable: hit@{k}"),
        ("mrr", "answerable: MRR"),
        ("answerable_empty", "answerable: no passage returned"),
        ("unanswerable_empty", f"unanswerable ({first['unanswerable']}): none returned"),
        ("answer_keys@1", "first passage holds the answer keys"),
        (f"follow_ups_hit@{k}", f"follow-ups ({first.get('follow_ups', 0)}): hit@{k}"),
        ("median_ms", "median search latency, ms"),
    ]
    for key, label in labels:
        cells = "".join(f"{_cell(systems[n].get(key)):>20}" for n in names)
        lines.append(f"{label:34}{cells}")
    if report["evidence_not_found"]:
        lines.append(f"evidence phrase on no page: {', '.join(report['evidence_not_found'])}")
    misses = [r["id"] for r in report["per_question"] if r["answerable"] and not r["ours_rank"]]
    if misses:
        lines.append(f"ours missed: {', '.join(misses)}")
    return "\n".join(lines)


def _cell(value) -> str:
    return "-" if value is None else f"{value:.3f}" if isinstance(value, float) else str(value)


def _timed_rank(search, q, k: int, pages, keys, times: list[float]):
    """Another system's rank of the evidence for `q`, timed into `times`, and its Ranked row."""
    from evals.retrieval.metrics import Ranked, first_hit, holds_keys

    started = time.perf_counter()
    hits = search(q.question, k)
    times.append(time.perf_counter() - started)
    rank = first_hit([(h.source, h.page_start, h.page_end) for h in hits], pages)
    first = hits[0].text if hits else ""
    return rank, Ranked(q.answerable, rank, len(hits), holds_keys(first, keys))
