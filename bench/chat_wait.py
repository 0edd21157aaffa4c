"""How long the chat keeps a user waiting: time to sources, to first text, Stop, the model's line.

    .venv/bin/python bench/chat_wait.py --model models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf
        [--docs FOLDER ...] [--index DIR] [--runs 3] [--no-browser] [--json]

With the real embedding model, a real index of `--docs` (built once into `--index`,
never in the repo) and the real GGUF model:

library   `ChatSession.ask` with an `AnswerWatch`, per question: seconds until the
          passages are known (the sources can be shown), until the model's first token,
          until the first checked sentence, until the end; then Stop 1 s into the
          reading of a long prompt (12 passages): seconds from `cancel()` until the
          consuming thread has its `GenerationCancelled`.
callback  tokens/s of plain llama.cpp generation with no abort callback, with the one
          the app uses (C's strlen on a flag) and with a Python callback, each alone and
          beside a busy Python thread (the app serves other tabs), alternated.
browser   `streamlit run` with the real parts, headless Chromium: seconds from Enter to
          the sources on the page, to the first answer text, to the finished answer; a
          second tab's question while the first is answered (its status line); Stop
          while the model reads a long prompt, until the page says it stopped.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from llm.chat import ChatOptions, ChatSession
from llm.watch import AnswerWatch, GenerationCancelled

QUESTIONS = [
    "What does ELBO stand for?",
    "What is the purpose of the /var/cache directory?",
    "Which directories must be in the root filesystem?",
]
LONG_PROMPT_PASSAGES = 12
DEFAULT_DOCS = [Path("/work/shared/corpus/seeds")]


def build_index(docs: list[Path], index: Path, embedder) -> None:
    from wiring.root import ingest_documents

    if not (index / "manifest.json").exists():
        ingest_documents(docs, Settings(index_dir=index), embedder=embedder)


def library_runs(session: ChatSession, generator, runs: int) -> list[dict]:
    rows = []
    for run in range(runs):
        for question in QUESTIONS:
            session.reset()
            generator.reset_cache()  # a cold prompt, as for a new question
            watch = AnswerWatch()
            began = time.perf_counter()
            answer = session.ask(question, watch=watch)
            sources = time.perf_counter() - began
            first = None
            for _ in answer:
                first = first or time.perf_counter() - began
            total = time.perf_counter() - began
            stats = generator.last_stats
            token = sources + stats.first_token_s if stats and answer.mode == "generative" else None
            rows.append(
                {
                    "run": run,
                    "question": question,
                    "passages": len(answer.passages),
                    "sources_s": round(sources, 3),
                    "first_token_s": round(token, 3) if token else None,
                    "first_text_s": round(first, 3) if first else None,
                    "total_s": round(total, 3),
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    return rows


def library_stop(session: ChatSession, generator, runs: int) -> list[dict]:
    """Stop 1 s into the reading of a long prompt; seconds until the consumer is released."""
    rows = []
    for _ in range(runs):
        session.reset()
        generator.reset_cache()
        watch = AnswerWatch()
        answer = session.ask(QUESTIONS[1], passages=LONG_PROMPT_PASSAGES, watch=watch)
        ended: dict = {}

        def consume(answer=answer, ended=ended) -> None:
            try:
                for _ in answer:
                    pass
                ended["how"] = "finished"
            except GenerationCancelled:
                ended["how"] = "cancelled"
            ended["at"] = time.perf_counter()

        thread = threading.Thread(target=consume)
        thread.start()
        while (p := watch.progress()) is None or p.stage != "reading":
            time.sleep(0.01)
        time.sleep(1.0)
        progress = watch.progress()
        stopped = time.perf_counter()
        watch.cancel()
        thread.join(120)
        rows.append(
            {
                "stage_at_stop": progress.stage,
                "prompt_tokens": progress.prompt_tokens,
                "how": ended.get("how"),
                "stop_to_return_s": round(ended["at"] - stopped, 3),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
    return rows


def callback_overhead(model: Path, runs: int, tokens: int = 48) -> dict:
    """Generation tokens/s with no, the strlen, and a Python abort callback; idle and busy."""
    import ctypes

    import llama_cpp

    from llm.llama_generation import _abort_callback, abort_flag

    llama = llama_cpp.Llama(model_path=str(model), n_ctx=1024, verbose=False)
    prompt = llama.tokenize(b"Write a long story about a lighthouse keeper and the sea.")
    flag = abort_flag()
    python_cb = llama_cpp.ggml_abort_callback(lambda data: ctypes.string_at(data, 1) != b"\0")
    variants = {
        "none": lambda: llama_cpp.llama_set_abort_callback(
            llama._ctx.ctx, llama_cpp.ggml_abort_callback(), None
        ),
        "strlen": lambda: llama_cpp.llama_set_abort_callback(
            llama._ctx.ctx, _abort_callback(), ctypes.addressof(flag)
        ),
        "python": lambda: llama_cpp.llama_set_abort_callback(
            llama._ctx.ctx, python_cb, ctypes.addressof(flag)
        ),
    }
    results: dict[str, list[float]] = {}
    for busy in (False, True):
        stop = threading.Event()
        spinner = threading.Thread(target=_spin, args=(stop,)) if busy else None
        if spinner:
            spinner.start()
        for _ in range(runs):
            for name, install in variants.items():
                install()
                llama.reset()
                began = time.perf_counter()
                stream = llama.generate(prompt, temp=0.0, top_k=1, reset=True)
                made = sum(1 for _ in itertools.islice(stream, tokens))  # it never ends alone
                rate = made / (time.perf_counter() - began)
                results.setdefault(f"{name}{' busy' if busy else ''}", []).append(rate)
        stop.set()
        if spinner:
            spinner.join()
    return {k: round(statistics.median(v), 2) for k, v in results.items()}


def _spin(stop: threading.Event) -> None:
    """A Python thread that always wants the GIL (another tab's page script, say)."""
    n = 0
    while not stop.is_set():
        n += 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--docs", type=Path, nargs="+", default=DEFAULT_DOCS)
    ap.add_argument("--index", type=Path, default=Path("/tmp/rag-bench-chat-wait/index"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-library", action="store_true")
    ap.add_argument("--no-browser", action="store_true")
    ap.add_argument("--no-callback", action="store_true")
    ap.add_argument("--json", type=Path, help="write every figure to this file")
    args = ap.parse_args()
    from wiring.params import chat_options
    from wiring.root import load_embedder, load_generator, open_retriever

    settings = Settings(index_dir=args.index, llm_model=args.model)
    embedder = load_embedder(settings)
    build_index(args.docs, args.index, embedder)
    out: dict = {"load": os.getloadavg(), "model": args.model.name}
    if not args.no_library:
        generator = load_generator(settings)
        with open_retriever(settings, embedder) as retriever:
            options: ChatOptions = chat_options(settings)
            session = ChatSession(retriever, generator, options, embedder=embedder)
            _ = session.ask(QUESTIONS[0]).text  # warm up: embedder, index, model
            out["library"] = library_runs(session, generator, args.runs)
            out["stop"] = library_stop(session, generator, args.runs)
    if not args.no_callback:
        out["callback_tokens_per_s"] = callback_overhead(args.model, args.runs)
        print(json.dumps(out["callback_tokens_per_s"]), flush=True)
    if not args.no_browser:
        from bench.chat_wait_browser import browser_runs

        out["browser"] = browser_runs(args.index, args.model, args.runs)
    out["load_after"] = os.getloadavg()
    print(json.dumps({k: v for k, v in out.items() if k in ("load", "load_after")}))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
