"""Two processes, one machine, one model: taking turns (RAG_MODEL_TURNS=machine) or not (process).

    .venv/bin/python bench/model_turns.py --index DIR --model FILE.gguf [--rounds 3]

`make run` and `make serve` are two processes that each load the model. This starts
two pairs of `python -m api` servers on the index: one pair taking turns on the
machine's line, one pair not. Each round asks both servers of a pair one question at
the same moment (streaming), for each pair in turn (the order alternates between
rounds), and times each answer: to its first text and to its end. Reported per mode:
the answer that finished first and the one that finished last (medians over rounds).
Both servers of a pair hold the same model file; every server was asked once before.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.api_load import questions, start_server, stream_one


def both_at_once(urls: list[str], question: str) -> list[dict]:
    results: list[dict] = [{}, {}]
    start = threading.Barrier(len(urls))

    def ask(i: int) -> None:
        with httpx.Client(base_url=urls[i], timeout=900) as client:
            start.wait()
            results[i] = stream_one(client, question, "any")

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(urls))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    qs = questions()
    servers: dict[str, list] = {}
    report: dict = {"load_average_start": os.getloadavg(), "rounds": []}
    try:
        for mode in ("machine", "process"):
            scratch = Path(tempfile.mkdtemp(prefix=f"turns-{mode}-"))  # one line per pair
            os.environ["RAG_MODEL_TURNS"] = mode
            servers[mode] = [start_server(args.index, args.model, scratch) for _ in range(2)]
            for _child, url in servers[mode]:
                with httpx.Client(base_url=url, timeout=900) as client:
                    stream_one(client, qs[0], "any")  # loaded and warm
        for r in range(args.rounds):
            order = ("machine", "process") if r % 2 == 0 else ("process", "machine")
            for mode in order:
                urls = [url for _child, url in servers[mode]]
                results = both_at_once(urls, qs[(r + 1) % len(qs)])
                report["rounds"].append({"round": r, "mode": mode, "answers": results})
    finally:
        for pair in servers.values():
            for child, _url in pair:
                child.terminate()
                child.wait(30)
    report["load_average_end"] = os.getloadavg()
    summary = {}
    for mode in ("machine", "process"):
        rounds = [x["answers"] for x in report["rounds"] if x["mode"] == mode]
        summary[mode] = {
            "first_done_s": round(statistics.median(min(a["total"] for a in r) for r in rounds), 2),
            "last_done_s": round(statistics.median(max(a["total"] for a in r) for r in rounds), 2),
            "ttft_first_s": round(statistics.median(min(a["ttft"] for a in r) for r in rounds), 2),
            "ttft_last_s": round(statistics.median(max(a["ttft"] for a in r) for r in rounds), 2),
        }
    report["summary"] = summary
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
