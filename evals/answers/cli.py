"""`python -m evals.answers --qa FILE --docs DIR --model FILE`: measure answers with a real model.

Ingests DIR into a temporary index (or uses `--index`), asks every question
through our chat session with the model, and (unless `--no-baseline`) through
LangChain's RAG tutorial with the same model, in the same run. For every
answer it records: the expected facts held, a citation of the file and page
that hold the evidence, no citation at all, unsupported sentences, refusals
(of unanswerable and of answerable questions), words, prompt tokens, time to
first token and total time; the answer's own generation apart from a second, narrower
ask after a refusal (`second_ask`: its prompt tokens and times). Follow-up rows (`after`)
are asked in the same conversation as the row they follow. The table goes to stderr, the JSON report
to stdout and `--out`. Exit codes: 0 done, 2 a usage, index or model error.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from core.settings import Settings
from evals.answers.report import format_table, summarize


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m evals.answers", description=__doc__.split("\n")[0])
    p.add_argument("--qa", type=Path, required=True, help="questions with answer_keys, JSON lines")
    p.add_argument("--docs", type=Path, required=True, help="folder of the PDFs asked about")
    p.add_argument("--model", type=Path, required=True, help="GGUF model file")
    p.add_argument("--index", type=Path, help="use this index instead of ingesting --docs")
    p.add_argument("--no-baseline", action="store_true", help="skip LangChain's tutorial")
    p.add_argument("--limit", type=int, help="only the first N questions")
    p.add_argument("--threads", type=int, default=0, help="llama.cpp threads (0: automatic)")
    p.add_argument("--out", type=Path, help="also write the JSON report here")
    return p


def main(argv: list[str] | None = None) -> int:
    from evals.retrieval.cli import run_report

    return run_report(build_parser().parse_args(argv), evaluate, format_table)


def evaluate(args: argparse.Namespace) -> dict:
    from evals.answers.scoring import load_answer_questions
    from wiring.root import ingest_documents, load_embedder, load_generator, open_retriever

    questions = load_answer_questions(args.qa)[: args.limit]
    with tempfile.TemporaryDirectory(prefix="rag-llm-eval-") as tmp:
        settings = Settings(
            index_dir=args.index or Path(tmp) / "index",
            llm_model=args.model,
            llm_n_threads=args.threads,
        )
        embedder = load_embedder(settings)
        if not args.index:
            print(f"ingesting {args.docs} ...", file=sys.stderr)
            ingest_documents([args.docs], settings, embedder=embedder)
        generator = load_generator(settings)
        with open_retriever(settings, embedder) as retriever:
            page_texts = [retriever.snapshot.page_text]
            sources = set(retriever.snapshot.manifest.documents)
            if not args.no_baseline:
                # Its page texts count for the evidence too; without the baseline, building
                # its store (embedding every page again) would only slow the run down.
                from evals.langchain_default import LangChainDefault

                lc_retrieval = LangChainDefault(args.docs, settings.embedding_model_path())
                page_texts.append(lc_retrieval.page_text)
                sources |= lc_retrieval.sources
            partial = Path(f"{args.out}.partial.jsonl") if args.out else None
            rows = _ask_ours(questions, retriever, generator, embedder, settings, partial)
            _add_evidence(rows, questions, sources, page_texts)
            if not args.no_baseline:
                generator.close()  # one model in memory at a time
                from evals.answers.baseline import LangChainRag

                rag = LangChainRag(
                    lc_retrieval,
                    args.model,
                    n_ctx=settings.llm.n_ctx,
                    max_tokens=settings.llm.max_tokens,
                    threads=args.threads,
                )
                _ask_baseline(rows, questions, rag, partial)
    return {
        "qa": str(args.qa),
        "docs": str(args.docs),
        "model": args.model.name,
        "questions": len(questions),
        "systems": summarize(rows, baseline=not args.no_baseline),
        "per_question": rows,
    }


def _ask_ours(questions, retriever, generator, embedder, settings, partial=None) -> list[dict]:
    """Our answers, one row per question; each row also appended to `partial` (JSON lines)
    as soon as it is known, so a long run cut short still leaves its answers."""
    from evals.answers.generations import GenerationLog, first_of
    from llm.chat import ChatSession
    from wiring.params import chat_options

    generator = GenerationLog(generator)  # the answer's figures apart from the second ask's
    sessions: dict[str, ChatSession] = {}
    rows = []
    for q in questions:
        session = sessions.get(q.after) if q.after else None
        session = session or ChatSession(
            retriever, generator, chat_options(settings), embedder=embedder
        )
        sessions[q.id] = session
        started = time.perf_counter()
        answer = session.ask(q.question)
        text = answer.text
        seconds = time.perf_counter() - started
        records = generator.take()
        stats, second = first_of(records, "answer"), first_of(records, "second")
        rows.append(
            {
                "id": q.id,
                "answerable": q.answerable,
                "question": q.question,
                "query": answer.query,
                "ours": {
                    "answer": text,
                    "raw": answer.raw,
                    "outcome": answer.outcome,
                    "citations": [c.to_json() for c in answer.citations],
                    "sentences": [s.to_json() for s in answer.sentences],
                    "notes": list(answer.notes),
                    "passages": [(p.source, p.page_start, p.page_end) for p in answer.passages],
                    "best_relevance": max((p.score for p in answer.passages), default=0.0),
                    "prompt_tokens": stats.prompt_tokens if stats else 0,
                    "cached_tokens": stats.cached_tokens if stats else 0,
                    "first_token_s": round(stats.first_token_s, 3) if stats else None,
                    "second_ask": _figures(second),
                    "seconds": round(seconds, 3),
                },
            }
        )
        print(f"{q.id}: {text[:100]!r}", file=sys.stderr)
        if partial is not None:
            with partial.open("a", encoding="utf-8") as f:
                f.write(json.dumps(rows[-1], ensure_ascii=False) + "\n")
    return rows


def _figures(stats) -> dict | None:
    """A generation's figures for the report (None: it did not happen)."""
    if stats is None:
        return None
    return {
        "prompt_tokens": stats.prompt_tokens,
        "cached_tokens": stats.cached_tokens,
        "first_token_s": round(stats.first_token_s, 3),
        "total_s": round(stats.total_s, 3),
    }


def _add_evidence(rows, questions, sources, page_texts) -> None:
    from evals.retrieval.metrics import Question, evidence_pages

    for row, q in zip(rows, questions, strict=True):
        pages = evidence_pages(
            Question(q.id, q.question, q.source, q.evidence, page=q.page), sources, page_texts
        )
        row["evidence_pages"] = sorted(pages)
        row["answer_keys"] = list(q.answer_keys)
        row["after"], row["topic_change"] = q.after, q.topic_change
        row["payload"] = q.payload


def _ask_baseline(rows, questions, rag, partial=None) -> None:
    """LangChain's answers into the rows; each also appended to `partial` as
    `{"id", "langchain"}`, so a run cut short keeps the baseline's answers too."""
    for row, q in zip(rows, questions, strict=True):
        answer = rag.ask(q.question)
        ttft = answer.first_token_s
        row["langchain"] = {
            "answer": answer.text,
            "passages": list(answer.hits),
            "first_token_s": None if ttft is None else round(ttft, 3),
            "seconds": round(answer.seconds, 3),
        }
        print(f"{q.id} (langchain): {answer.text[:100]!r}", file=sys.stderr)
        if partial is not None:
            with partial.open("a", encoding="utf-8") as f:
                line = {"id": row["id"], "langchain": row["langchain"]}
                f.write(json.dumps(line, ensure_ascii=False) + "\n")
