"""LLM benchmark: time to first token and tokens/s, our pipeline vs llama-cpp-python directly.

    .venv/bin/python bench/llm.py [--index DIR] [--shape 1b|tiny] [--runs 3] [--json]
    .venv/bin/python bench/llm.py --model models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf

Builds (once, cached in /tmp, never in the repo) a random-weight GGUF with
TinyLlama-1.1B's layout and a byte-level BPE trained on the indexed text,
written as f16 with `gguf` and quantized to Q4_K_M by llama.cpp's quantize API.

Then, in one process and one loaded model, alternating runs with a cold KV cache:
  ours    ChatSession.ask(question) with 5 passages: rewrite check, retrieval
          (a fixed retriever), budgeting with the real tokenizer, prompt, streaming
  direct  Llama.create_chat_completion(same messages, stream=True)
Both decode greedily from the very messages ours built (passage windows included), so
they produce the same tokens. With `--model FILE` a real model is timed instead of the
random-weight one. Ours shows text sentence by sentence (each is checked before it is
shown), so besides the model's first token the time to the first shown sentence is
reported. Overhead = TTFT(ours) -
TTFT(direct), relative to TTFT(direct), in wall-clock and in CPU seconds (steadier
on a shared machine); the pure-Python preparation time of ours is reported too.
Finally a follow-up question in the same conversation is timed with the KV cache
left by the previous calls (warm) and with its answer prompt replayed cold.

On a small shared VM, `--threads 1` gives stable figures: with every core in use,
llama.cpp's threads wait on each other whenever another program runs.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from core.text import content_words
from core.types import Passage
from llm.chat import ChatOptions, ChatSession
from llm.llama_cpp_backend import LlamaCppGenerator
from llm.llama_log import captured_llama_log
from llm.types import GenerationParams, Message
from tests.tiny_gguf import ONE_B, SAMPLE_TEXT, TINY, LlamaShape, write_llama_gguf

QUESTION = "How do generative models learn the probability distribution of their training data?"
FOLLOW_UP = "And how are they evaluated?"
SHAPES = {"1b": ONE_B, "tiny": TINY}
CACHE = Path(tempfile.gettempdir()) / "rag-bench-llm"


def corpus(index_dir: Path, limit_chars: int = 2_000_000) -> list[str]:
    """Chunk texts of the index (realistic text); a synthetic sample when there is none."""
    try:
        from index import IndexSnapshot

        with IndexSnapshot.open(index_dir, verify=False) as snap:
            texts, size = [], 0
            for chunk in snap.iter_chunks():
                texts.append(chunk.text)
                size += len(chunk.text)
                if size > limit_chars:
                    break
            if len(texts) >= 5:
                return texts
    except Exception as exc:  # the bench still runs without an index
        print(f"no usable index at {index_dir} ({exc}); using sample text", file=sys.stderr)
    return [SAMPLE_TEXT.replace("\n", " ")] * 5


def pick_passages(texts: Sequence[str], question: str, k: int = 5) -> list[Passage]:
    """The k texts sharing most words with the question (a stand-in for retrieval)."""
    asked = set(content_words(question))
    ranked = sorted(range(len(texts)), key=lambda i: -len(asked & set(content_words(texts[i]))))
    return [
        Passage(f"doc{i}.pdf", i + 1, i + 1, 1.0 - r / 10, texts[i])
        for r, i in enumerate(ranked[:k])
    ]


def build_model(shape: LlamaShape, texts: Sequence[str], threads: int) -> Path:
    """Q4_K_M random-weight model, cached by shape and training text."""
    import hashlib

    import llama_cpp
    import numpy as np

    recipe = (2, shape, list(texts))  # bump the first number when write_llama_gguf changes
    key = hashlib.blake2b(repr(recipe).encode(), digest_size=6).hexdigest()
    final = CACHE / f"llama-{shape.n_layer}x{shape.n_embd}-{key}.Q4_K_M.gguf"
    if final.exists():
        return final
    CACHE.mkdir(parents=True, exist_ok=True)
    f16 = final.with_suffix(".f16.tmp")
    t = time.perf_counter()
    write_llama_gguf(f16, shape, texts=texts, dtype=np.float16)
    written = time.perf_counter() - t
    params = llama_cpp.llama_model_quantize_default_params()
    params.ftype = llama_cpp.LLAMA_FTYPE_MOSTLY_Q4_K_M
    params.nthread = threads
    t = time.perf_counter()
    tmp = final.with_suffix(".tmp")
    with captured_llama_log() as log:  # hundreds of per-tensor lines: kept, not printed
        failed = llama_cpp.llama_model_quantize(
            str(f16).encode(), str(tmp).encode(), ctypes.byref(params)
        )
    if failed:
        raise SystemExit("llama_model_quantize failed:\n" + "".join(text for _, text in log[-20:]))
    tmp.rename(final)
    f16.unlink()
    print(
        f"built {final} ({final.stat().st_size / 2**20:.0f} MiB): f16 written in {written:.0f} s, "
        f"quantized in {time.perf_counter() - t:.0f} s",
        file=sys.stderr,
    )
    return final


class FixedRetriever:
    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages

    def search(self, query: str, k: int = 5, files=None) -> list[Passage]:
        return self.passages[:k]


class Recording:
    """Wraps the generator: keeps every generation's messages and stats."""

    def __init__(self, inner: LlamaCppGenerator) -> None:
        self.inner, self.calls = inner, []
        self.first_wall = 0.0  # perf_counter() of the model's first piece in the last call
        self.raw = ""
        self.n_ctx, self.info = inner.n_ctx, inner.info
        self.count_tokens, self.count_prompt_tokens = inner.count_tokens, inner.count_prompt_tokens

    def stream(self, messages: Sequence[Message], params: GenerationParams) -> Iterator[str]:
        cpu_start, cpu_first, self.raw = time.process_time(), None, ""
        for piece in self.inner.stream(messages, params):
            if cpu_first is None:
                cpu_first, self.first_wall = time.process_time() - cpu_start, time.perf_counter()
            self.raw += piece
            yield piece
        self.calls.append((list(messages), params, self.inner.last_stats, cpu_first))


def timed(call, recorder: Recording | None = None) -> tuple:
    """From the call: s to the first piece, s in total, text, s until `call` returned, and
    CPU s (all threads of this process) to the first piece, which the other programs on a
    shared machine disturb far less than wall-clock time, and s to the first piece shown.
    With `recorder`, the first piece is the model's own and the text its raw output (ours
    shows text only once a sentence is checked)."""
    start, cpu_start = time.perf_counter(), time.process_time()
    pieces = call()
    ready = time.perf_counter() - start
    first, cpu_first, parts = None, None, []
    for piece in pieces:
        if piece and first is None:
            first, cpu_first = time.perf_counter() - start, time.process_time() - cpu_start
        parts.append(piece)
    shown = first or 0.0
    if recorder is not None:
        first, parts = recorder.first_wall - start, [recorder.raw]
    total = time.perf_counter() - start
    return first or 0.0, total, "".join(parts), ready, cpu_first or 0.0, shown


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--index", type=Path, default=Settings().paths.index_dir)
    ap.add_argument("--shape", choices=sorted(SHAPES), default="1b")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max-tokens", type=int, default=32)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--n-ctx", type=int, default=4096)
    ap.add_argument("--n-gpu-layers", type=int, default=0, help="-1 = all (needs a GPU build)")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--model", type=Path, help="time this GGUF instead of a random-weight one")
    args = ap.parse_args()

    texts = corpus(args.index)
    passages = pick_passages(texts, QUESTION)
    model = args.model or build_model(SHAPES[args.shape], texts, args.threads)
    t = time.perf_counter()
    gen = LlamaCppGenerator(
        model, n_ctx=args.n_ctx, n_threads=args.threads, n_gpu_layers=args.n_gpu_layers
    )
    load_s = time.perf_counter() - t
    for warning in gen.info.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    options = ChatOptions(
        passages=5,
        sampling=GenerationParams(
            max_tokens=args.max_tokens, temperature=0.0, top_k=1, repeat_penalty=1.0
        ),
    )
    recorder = Recording(gen)

    def ours():
        return ChatSession(FixedRetriever(passages), recorder, options).ask(QUESTION)

    ours().text  # noqa: B018  untimed: the messages ours sends are what direct gets too
    messages = recorder.calls[-1][0]

    def direct():
        stream = gen.llama.create_chat_completion(
            messages=[m.to_dict() for m in messages],
            max_tokens=args.max_tokens,
            temperature=0.0,
            top_k=1,
            repeat_penalty=1.0,
            stream=True,
        )
        return (c["choices"][0]["delta"].get("content", "") for c in stream)

    # 1. Same question, cold KV cache each time, ours and direct alternating (after one
    #    untimed round, so page faults and buffer allocation hit neither side).
    rows: dict[str, list] = {"ours": [], "direct": []}
    for run in range(args.runs + 1):
        for name, call in (("ours", ours), ("direct", direct)):
            gen.reset_cache()
            result = timed(call, recorder if name == "ours" else None)
            if run:
                rows[name].append(result)
                print(f"{name}: TTFT {result[0]:.2f} s, {result[4]:.2f} CPU s", file=sys.stderr)
    first_call = recorder.calls[-1][2]
    same_output = rows["ours"][-1][2].strip() == rows["direct"][-1][2].strip()

    # 2. A follow-up in the same conversation. The model first rewrites it into a search
    #    query (its prompt shares the system prompt with the cached first answer), then
    #    answers (its prompt shares system prompt + history with the rewrite). The answer
    #    prompt is then replayed with an empty cache: the difference is the prefix reuse.
    session = ChatSession(FixedRetriever(passages), recorder, options)
    gen.reset_cache()
    session.ask(QUESTION).text  # noqa: B018
    recorder.calls.clear()
    follow_up = timed(lambda: session.ask(FOLLOW_UP))
    (_, _, rewrite, _), (answer_messages, answer_params, warm, warm_cpu) = recorder.calls
    gen.reset_cache()
    list(recorder.stream(answer_messages, answer_params))
    *_, cold, cold_cpu = recorder.calls[-1]

    med = {k: statistics.median(r[0] for r in v) for k, v in rows.items()}
    cpu = {k: statistics.median(r[4] for r in v) for k, v in rows.items()}
    decode = {
        k: statistics.median((first_call.completion_tokens - 1) / max(r[1] - r[0], 1e-9) for r in v)
        for k, v in rows.items()
    }
    prep = statistics.median(r[3] for r in rows["ours"])  # ask(): rewrite check, search, budget
    result = {
        "model": f"{model.name} ({model.stat().st_size / 2**20:.0f} MiB"
        + (")" if args.model else ", random weights)"),
        "loaded": gen.info.summary,
        "load_s": round(load_s, 2),
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "prompt_tokens": first_call.prompt_tokens,
        "completion_tokens": first_call.completion_tokens,
        "runs": args.runs,
        "ttft_direct_s": round(med["direct"], 3),
        "ttft_ours_s": round(med["ours"], 3),
        "first_checked_sentence_ours_s": round(statistics.median(r[5] for r in rows["ours"]), 3),
        "overhead_pct": round(100 * (med["ours"] - med["direct"]) / med["direct"], 2),
        "ttft_cpu_direct_s": round(cpu["direct"], 3),
        "ttft_cpu_ours_s": round(cpu["ours"], 3),
        "overhead_cpu_pct": round(100 * (cpu["ours"] - cpu["direct"]) / cpu["direct"], 2),
        "prep_ms": round(1000 * prep, 2),
        "prep_pct_of_ttft": round(100 * prep / med["direct"], 3),
        "decode_tok_s_direct": round(decode["direct"], 2),
        "decode_tok_s_ours": round(decode["ours"], 2),
        "same_output": same_output,
        "followup_ttft_s": round(follow_up[0], 3),
        "followup_rewrite": f"{rewrite.prompt_tokens} prompt tokens ({rewrite.cached_tokens} "
        f"cached), {rewrite.completion_tokens} generated, {rewrite.total_s:.2f} s",
        "followup_answer_prompt_tokens": warm.prompt_tokens,
        "followup_answer_cached_tokens": warm.cached_tokens,
        "followup_answer_ttft_warm_s": round(warm.first_token_s, 3),
        "followup_answer_ttft_cold_s": round(cold.first_token_s, 3),
        "followup_answer_ttft_cpu_warm_s": round(warm_cpu, 3),
        "followup_answer_ttft_cpu_cold_s": round(cold_cpu, 3),
    }
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for k, v in result.items():
            print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
