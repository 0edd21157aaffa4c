"""Served-model benchmark: time to first token, our pipeline vs calling the server directly.

    .venv/bin/python bench/served_llm.py --model models/qwen2.5-coder-0.5b-instruct-q4_k_m.gguf \\
        --index /tmp/idx_seeds --runs 5 [--counting auto|gguf|server|estimate] [--threads 2]

Starts `python -m llama_cpp.server` on the model (127.0.0.1, a free port) and times,
alternately, one question with 5 passages of the index:

  ours    ChatSession.ask(question) through the served generator: follow-up check,
          retrieval (a fixed retriever), passage windows, the budget counted by the
          chosen counter (its memo cleared each run, as for a new question), the
          messages prepared, the streamed request, up to the model's first piece
  direct  one streamed POST /v1/chat/completions with the very body ours sent (httpx,
          no pipeline), up to the first piece of content

Before each timed call the server answers a one-token question with another prompt,
so both start from the same cold KV cache; which of the two goes first in a round is
drawn at random. Overhead = TTFT(ours) - TTFT(direct),
relative to TTFT(direct), medians. On a busy machine the server's own time varies more
than the overhead, so the pipeline's time before its request leaves (all it adds: the
two then wait for the same server) is reported too, measured in the same runs. The
machine's load average is printed at the start and the end.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx

from bench.llm import QUESTION, FixedRetriever, corpus, pick_passages
from core.settings import Settings
from deploy.model_server import start_model_server
from llm.chat import ChatOptions, ChatSession
from llm.openai_backend import (
    OpenAIGenerator,
    ServedOptions,
    connect_served_generator,
    request_body,
)
from llm.types import GenerationParams, Message

FLUSH = [Message("user", "Say yes.")]


class Recording:
    """The served generator, keeping the wall time of its first piece and what it sent."""

    def __init__(self, inner: OpenAIGenerator) -> None:
        self.inner = inner
        self.n_ctx, self.info = inner.n_ctx, inner.info
        self.count_tokens, self.count_prompt_tokens = inner.count_tokens, inner.count_prompt_tokens
        self.first_wall = self.request_wall = 0.0
        self.sent: tuple[list[Message], GenerationParams] | None = None
        self.raw = ""

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        self.sent, self.first_wall, self.raw = (list(messages), params), 0.0, ""
        stream = self.inner.stream(messages, params)
        for piece in stream:
            if not self.first_wall:
                self.first_wall, self.request_wall = time.perf_counter(), stream.started
            self.raw += piece
            yield piece


def flush(client: httpx.Client, url: str, model: str) -> None:
    """A one-token answer to another prompt: the server's KV cache no longer holds ours."""
    body = {"model": model, "messages": [m.to_dict() for m in FLUSH], "max_tokens": 1}
    client.post(url + "/chat/completions", json=body, timeout=600).raise_for_status()


def direct_ttft(client: httpx.Client, url: str, body: dict) -> tuple[float, str]:
    """Seconds to the first content piece of one streamed request, and the whole text."""
    started, first, text = time.perf_counter(), 0.0, ""
    with client.stream("POST", url + "/chat/completions", json=body, timeout=600) as response:
        for line in response.iter_lines():
            if not line.startswith("data:") or line.endswith("[DONE]"):
                continue
            for choice in json.loads(line[5:]).get("choices", ()):
                piece = (choice.get("delta") or {}).get("content") or ""
                if piece:
                    first = first or time.perf_counter() - started
                    text += piece
    return first, text


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--model", type=Path, required=True, help="GGUF file the server loads")
    ap.add_argument("--index", type=Path, default=Settings().paths.index_dir)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0, help="server threads (0: its default)")
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--counting", default="auto", choices=["auto", "gguf", "server", "estimate"])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    passages = pick_passages(corpus(args.index), QUESTION)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # the server is stopped below
    load_before = os.getloadavg()
    server = start_model_server(args.model, n_ctx=args.n_ctx, threads=args.threads)
    try:
        result = run(args, server, passages)
    finally:
        server.stop()
    result["load_average_before_after"] = [round(x, 2) for x in (*load_before, *os.getloadavg())]
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for k, v in result.items():
            print(f"{k:<{width}}  {v}")


def run(args: argparse.Namespace, server, passages) -> dict:
    tokenizer = args.model if args.counting in ("auto", "gguf") else None
    options = ServedOptions(
        server.url, n_ctx=args.n_ctx, token_counting=args.counting, tokenizer=tokenizer
    )
    gen = connect_served_generator(options)
    recorder = Recording(gen)
    sampling = GenerationParams(
        max_tokens=args.max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0
    )
    chat = ChatOptions(passages=5, sampling=sampling)
    client = httpx.Client()

    def ours() -> tuple[float, str, float]:
        gen.reset_cache()  # a new question: its passages are counted afresh
        started = time.perf_counter()
        answer = ChatSession(FixedRetriever(passages), recorder, chat).ask(QUESTION)
        answer.text  # noqa: B018
        # Until the request leaves: rewrite check, retrieval, windows, budget, prompt.
        before_request = recorder.request_wall - started
        return recorder.first_wall - started, recorder.raw, before_request

    ours()  # untimed: what ours sends is what direct sends too
    messages, params = recorder.sent
    body = request_body(gen.model, gen.prepare(messages), params)

    rows: dict[str, list] = {"ours": [], "direct": []}
    order = random.Random(7)  # which goes first in each round: other jobs on a shared machine
    for run_number in range(args.runs + 1):  # come and go in cycles that can lock onto ours
        pair = ["ours", "direct"]
        order.shuffle(pair)
        for name in pair:  # round 0 is a warm-up for both
            flush(client, server.url, gen.model)
            result = ours() if name == "ours" else direct_ttft(client, server.url, body)
            if run_number:
                rows[name].append(result)
                print(f"{name}: TTFT {result[0]:.3f} s", file=sys.stderr)
    med = {k: statistics.median(r[0] for r in v) for k, v in rows.items()}
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
    ).stdout.strip()
    return {
        "date": date.today().isoformat(),
        "commit": commit,
        "model": f"{args.model.name} on llama_cpp.server",
        "served": gen.info.summary,
        "counting": gen.counting,
        "cpu": platform.processor() or platform.machine(),
        "server_threads": args.threads or "default",
        "prompt_tokens": gen.count_prompt_tokens(messages),
        "runs": args.runs,
        "ttft_direct_s": round(med["direct"], 3),
        "ttft_ours_s": round(med["ours"], 3),
        "overhead_pct": round(100 * (med["ours"] - med["direct"]) / med["direct"], 2),
        # Each round's two calls ran back to back: their difference drifts less with the load.
        "overhead_pct_paired_median": round(
            100
            * statistics.median(
                (o[0] - d[0]) / d[0] for o, d in zip(rows["ours"], rows["direct"], strict=True)
            ),
            2,
        ),
        "ttft_direct_all_s": [round(r[0], 3) for r in rows["direct"]],
        "ttft_ours_all_s": [round(r[0], 3) for r in rows["ours"]],
        # The pipeline's own time before its request leaves: the whole of what it adds,
        # measured apart from the server's time, which a busy machine makes vary.
        "before_request_ms_median": round(1000 * statistics.median(r[2] for r in rows["ours"]), 2),
        "before_request_ms_max": round(1000 * max(r[2] for r in rows["ours"]), 2),
        "before_request_pct_of_direct_ttft": round(
            100 * statistics.median(r[2] for r in rows["ours"]) / med["direct"], 3
        ),
        "same_output": rows["ours"][-1][1].strip() == rows["direct"][-1][1].strip(),
    }


if __name__ == "__main__":
    main()
