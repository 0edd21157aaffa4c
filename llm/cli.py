"""`python -m llm "QUESTION" [--index DIR] [--model FILE] [--json] [--chat]`: ask the documents.

The answer streams to stdout, then its sources (`[1] contracts/acme.pdf p. 4`).
Model information, warnings and notes go to stderr. With `--json`, stdout
carries one JSON object: {"answer", "mode", "citations": [{"n", "source",
"page_start", "page_end"}]}. Exit codes: 0 answered, 2 a usage, index or model
error, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from core.errors import QuestionTooLongError, RagError
from core.settings import Settings, load_settings
from llm.chat import check_question


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m llm",
        description="Answer a question from the indexed PDFs, citing file and page.",
    )
    p.add_argument("question", help="the question, in quotes")
    p.add_argument("--index", type=Path, help="index directory (default: RAG_INDEX_DIR)")
    p.add_argument("--model", type=Path, help="GGUF model file (default: newest in models/)")
    p.add_argument("--no-model", action="store_true", help="quote passages, do not generate")
    p.add_argument("--json", action="store_true", help="print one JSON object on stdout")
    p.add_argument("--chat", action="store_true", help="then read follow-up questions from stdin")
    p.add_argument("--files", nargs="+", metavar="SOURCE", help="search only these documents")
    p.add_argument("-k", type=int, help="passages to retrieve (default: RAG_PASSAGES, 4)")
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.question.strip():
        parser.error("the question is empty")
    overrides: dict = {}
    if args.index:
        overrides |= {"index_dir": args.index, "store_url": ""}  # that directory, not a database
    if args.model:
        overrides["llm_model"] = args.model
    if args.k:
        overrides["passages"] = args.k
    from wiring import root  # after argparse: `--help` stays instant

    try:
        settings = load_settings(**overrides)
        # Before the model loads: a question that will be refused is refused at once.
        question = check_question(args.question, settings.search.max_question_chars)
        generator = None if args.no_model else root.load_generator(settings)
        describe_model(generator, settings, sys.stderr)
        session = root.build_session(settings, generator=generator)
        while True:
            try:
                answer = session.ask(question, files=args.files)
            except QuestionTooLongError as exc:  # a follow-up: the conversation goes on
                print(f"error: {exc}", file=sys.stderr)
                if not (question := read_follow_up()):
                    return 2
                continue
            if answer.query != question:
                print(f"searching for: {answer.query}", file=sys.stderr)
            if args.json:
                print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
            else:
                print_answer(answer, sys.stdout)
            for note in answer.notes:
                print(f"note: {note}", file=sys.stderr)
            if not args.chat or not (question := read_follow_up()):
                return 0
    except RagError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def describe_model(generator, settings: Settings, out: TextIO) -> None:
    if generator is None:
        print(
            "No language model: answering with quoted passages (extractive mode). For generated "
            f"answers, put a .gguf file in {settings.paths.models_dir}/ or pass --model FILE "
            "(or set RAG_LLM_MODEL).",
            file=out,
        )
        return
    print(f"model: {generator.info.summary}", file=out)
    for warning in generator.info.warnings:
        print(f"warning: {warning}", file=out)


def print_answer(answer, out: TextIO) -> None:
    """Stream the answer, then its sources."""
    for piece in answer:
        out.write(piece)
        out.flush()
    out.write("\n")
    if answer.citations:
        out.write("\nSources:\n")
        for citation in answer.citations:
            out.write(f"{citation.label}\n")
    elif answer.passages:
        out.write("\nRetrieved passages (the answer cites none of them):\n")
        for n, passage in enumerate(answer.passages, 1):
            out.write(f"[{n}] {passage.location}\n")
    out.flush()


def read_follow_up() -> str:
    try:
        print("\nfollow-up> ", end="", file=sys.stderr, flush=True)
        return sys.stdin.readline().strip()
    except EOFError:
        return ""
