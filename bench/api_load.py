"""API load: N concurrent streaming clients for a while; throughput, TTFT p50/p99, queue waits.

    .venv/bin/python bench/api_load.py --index DIR --model FILE.gguf [--clients 10]
        [--seconds 60] [--single 8] [--modes generative,extractive] [--threads N] [--out FILE]

Starts `python -m api` (what `make serve` runs) in a child process over the index, then:

1. one client, `--single` questions, alternating with the app's own path in this process
   (`AppService.new_conversation().ask(...)`, iterated as the app's question worker does):
   time to the first answer text, through HTTP and directly. Both hold the same model
   file; each process keeps its own KV cache, and they never run at once.
2. for each mode (the model; `extractive`: quoted passages, no model), `--clients`
   threads each stream question after question through HTTP for `--seconds`, then
   finish the answer in flight. Reported: answers completed and per minute, answer
   tokens per second (all clients together), time to first text p50/p99, whole answer
   p50/p99, the server's own queue wait per answer (`queue.waited_s`) and every error.

Questions cycle through ../shared/eval/seeds_dev.jsonl. Time to first text is to the first
non-empty content: answers are shown a checked sentence at a time, in the app too. Each
phase's figures are written to `--out` (JSON) as soon as it ends. `--threads` sets
RAG_LLM_N_THREADS for the server and the app's path alike (on a busy shared machine one
thread gives steadier figures; see bench/llm.py).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT.parent / "shared" / "eval" / "seeds_dev.jsonl"
FALLBACK = ["What does ELBO stand for?", "What is KV caching?", "How is attention computed?"]


def questions() -> list[str]:
    if not QA.is_file():
        return FALLBACK
    rows = [json.loads(line) for line in QA.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def start_server(
    index: Path, model: Path | None, scratch: Path, threads: int = 0
) -> tuple[subprocess.Popen, str]:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "RAG_INDEX_DIR": str(index),
        "RAG_API_PORT": str(port),
        "RAG_API_QUEUE_MAX": "64",
        "TMPDIR": str(scratch),  # its own machine line: nothing else on it
        "RAG_LLM_N_THREADS": str(threads),
    }
    if model is not None:
        env["RAG_LLM_MODEL"] = str(model)
    log_path = scratch / f"api-{port}.log"
    log = open(log_path, "w")  # noqa: SIM115 (closed with the process)
    child = subprocess.Popen(
        [sys.executable, "-m", "api"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while True:
        if child.poll() is not None:
            raise SystemExit(f"python -m api exited; see {log_path}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return child, url
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("python -m api did not start in 5 minutes")
        time.sleep(0.2)


def stream_one(client: httpx.Client, question: str, model: str) -> dict:
    """One streamed answer: seconds to the first text and to the end, tokens, queue wait."""
    body = {
        "model": model,
        "messages": [{"role": "user", "content": question}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    started = time.perf_counter()
    first = None
    last: dict = {}
    with client.stream("POST", "/v1/chat/completions", json=body) as response:
        if response.status_code != 200:
            response.read()
            return {"error": f"HTTP {response.status_code} {response.json()['error']['code']}"}
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            chunk = json.loads(line[6:])
            if "error" in chunk:
                return {"error": f"stream error {chunk['error']['code']}"}
            last = chunk
            if first is None and chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                first = time.perf_counter()
    end = time.perf_counter()
    return {
        "ttft": (first or end) - started,
        "total": end - started,
        "tokens": last.get("usage", {}).get("completion_tokens", 0),
        "waited": last.get("queue", {}).get("waited_s", 0.0),
        "outcome": last.get("outcome", "?"),
    }


def app_ttft(svc, question: str) -> float:
    """The app's own path: the conversation its question worker asks, iterated the same way."""
    from app.conversation import Tuning

    s = svc.settings
    conversation = svc.new_conversation()
    started = time.perf_counter()
    with conversation.model_turn():
        answer = conversation.ask(
            question, Tuning(s.search.passages, s.llm.temperature, s.llm.max_tokens)
        )
        first = None
        for piece in answer:
            if first is None and piece.strip():
                first = time.perf_counter()
        answer.close()
    return (first or time.perf_counter()) - started


def single_client(
    url: str, index: Path, model: Path, rounds: int, qs: list[str], threads: int = 0
) -> dict:
    from app.service import AppService
    from core.settings import Settings
    from service.components import default_components
    from service.model_queue import ModelQueue

    settings = Settings(index_dir=index, llm_model=model, llm_n_threads=threads)
    svc = AppService(settings, default_components(), queue=ModelQueue())
    svc.model_status()  # load both models outside the clock
    app_ttft(svc, qs[0])
    api, app = [], []
    with httpx.Client(base_url=url, timeout=600) as client:
        stream_one(client, qs[0], "any")
        for i in range(rounds):
            q = qs[i % len(qs)]
            pair = [
                ("api", lambda q=q: stream_one(client, q, "any")["ttft"]),
                ("app", lambda q=q: app_ttft(svc, q)),
            ]
            for name, run in pair if i % 2 == 0 else pair[::-1]:  # alternate who goes first
                (api if name == "api" else app).append(run())
    p50_api, p50_app = statistics.median(api), statistics.median(app)
    return {
        "rounds": rounds,
        "api_ttft_p50_s": round(p50_api, 3),
        "app_ttft_p50_s": round(p50_app, 3),
        "api_over_app": round(p50_api / p50_app - 1, 4),
        "api_ttft_s": [round(x, 3) for x in api],
        "app_ttft_s": [round(x, 3) for x in app],
    }


def load(url: str, model: str, clients: int, seconds: float, qs: list[str]) -> dict:
    results: list[dict] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def client_loop(offset: int) -> None:
        i = offset
        with httpx.Client(base_url=url, timeout=600) as client:
            while time.monotonic() < stop_at:
                try:
                    result = stream_one(client, qs[i % len(qs)], model)
                except httpx.HTTPError as exc:
                    result = {"error": type(exc).__name__}
                i += clients
                with lock:
                    results.append(result)

    started = time.monotonic()
    threads = [threading.Thread(target=client_loop, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    ok = [r for r in results if "error" not in r]
    ttft = [r["ttft"] for r in ok]
    total = [r["total"] for r in ok]
    waited = [r["waited"] for r in ok]
    return {
        "mode": model,
        "clients": clients,
        "seconds_asked": seconds,
        "wall_s": round(wall, 1),
        "answers": len(ok),
        "answers_per_min": round(len(ok) / wall * 60, 2),
        "tokens_per_s": round(sum(r["tokens"] for r in ok) / wall, 2),
        "ttft_p50_s": round(percentile(ttft, 0.5), 3),
        "ttft_p99_s": round(percentile(ttft, 0.99), 3),
        "total_p50_s": round(percentile(total, 0.5), 3),
        "total_p99_s": round(percentile(total, 0.99), 3),
        "queue_wait_p50_s": round(percentile(waited, 0.5), 3),
        "queue_wait_p99_s": round(percentile(waited, 0.99), 3),
        "queue_wait_max_s": round(max(waited, default=float("nan")), 3),
        "outcomes": dict(Counter(r["outcome"] for r in ok)),
        "errors": dict(Counter(r["error"] for r in results if "error" in r)),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True, help="the GGUF model the API loads")
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--single", type=int, default=8, help="rounds of the one-client comparison")
    ap.add_argument("--modes", default="generative,extractive")
    ap.add_argument("--threads", type=int, default=0, help="RAG_LLM_N_THREADS (0: automatic)")
    ap.add_argument("--out", type=Path, help="write the figures here (JSON), phase by phase")
    args = ap.parse_args()
    qs = questions()
    scratch = Path(tempfile.mkdtemp(prefix="api-load-"))
    child, url = start_server(args.index, args.model, scratch, args.threads)
    report: dict = {"args": {k: str(v) for k, v in vars(args).items()}, "load": []}
    report["load_average_start"] = os.getloadavg()

    def save() -> None:
        report["load_average_now"] = os.getloadavg()
        if args.out:
            args.out.write_text(json.dumps(report, indent=2))

    try:
        if args.single:
            report["single_client"] = single_client(
                url, args.index, args.model, args.single, qs, args.threads
            )
            save()
            _print_single(report["single_client"])
        for mode in args.modes.split(","):
            name = "extractive" if mode == "extractive" else "any"
            report["load"].append(load(url, name, args.clients, args.seconds, qs))
            save()
            _print_load(report["load"][-1])
    finally:
        child.terminate()
        child.wait(30)
    print(f"load average {report['load_average_start']} -> {os.getloadavg()}")


def _print_single(single: dict) -> None:
    print(
        f"one client, {single['rounds']} questions: TTFT p50 {single['api_ttft_p50_s']} s "
        f"through the API, {single['app_ttft_p50_s']} s in the app's path "
        f"({single['api_over_app']:+.1%})",
        flush=True,
    )


def _print_load(r: dict) -> None:
    print(
        f"{r['mode']}: {r['clients']} clients, {r['wall_s']} s: {r['answers']} answers "
        f"({r['answers_per_min']}/min, {r['tokens_per_s']} tokens/s), TTFT p50 "
        f"{r['ttft_p50_s']} s p99 {r['ttft_p99_s']} s, queue wait p50 "
        f"{r['queue_wait_p50_s']} s p99 {r['queue_wait_p99_s']} s, errors {r['errors']}",
        flush=True,
    )


if __name__ == "__main__":
    main()
