"""Load: N concurrent searches against one loaded index for a while; throughput, p50/p99, errors.

    .venv/bin/python bench/load.py [--index data/index] [--clients 20] [--seconds 60]

One `Retriever` (one embedder, one loaded index) is shared by every client
thread, as the app shares it between browser sessions. Questions cycle
through ../shared/eval/seeds_dev.jsonl (or a built-in list).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from wiring.root import open_retriever

QA = Path(__file__).resolve().parents[2] / "shared" / "eval" / "seeds_dev.jsonl"
FALLBACK = ["What does ELBO stand for?", "What is KV caching?", "How is attention computed?"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--index", type=Path)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    settings = Settings(**({"index_dir": args.index} if args.index else {}))
    questions = (
        [json.loads(line)["question"] for line in QA.read_text().splitlines() if line.strip()]
        if QA.is_file()
        else FALLBACK
    )
    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    with open_retriever(settings) as retriever:
        retriever.search(questions[0])  # load the model outside the clock
        stop = time.monotonic() + args.seconds

        def client(offset: int) -> None:
            i = offset
            while time.monotonic() < stop:
                q = questions[i % len(questions)]
                i += 1
                t = time.perf_counter()
                try:
                    retriever.search(q, k=5)
                except Exception as exc:  # counted, not fatal: the point is to see them
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                with lock:
                    latencies.append(time.perf_counter() - t)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.monotonic() - started
    ms = sorted(x * 1000 for x in latencies)
    result = {
        "clients": args.clients,
        "seconds": round(wall, 1),
        "requests": len(ms),
        "errors": len(errors),
        "throughput_rps": round(len(ms) / wall, 1),
        "p50_ms": round(statistics.median(ms), 1) if ms else None,
        "p99_ms": round(ms[int(0.99 * (len(ms) - 1))], 1) if ms else None,
        "chunks": len(retriever.snapshot),
    }
    print(json.dumps(result))
    if errors:
        print("first error:", errors[0], file=sys.stderr)


if __name__ == "__main__":
    main()
