"""What the re-ranker's sentence signal (RAG_RERANK_SENTENCES) adds to a search, measured.

    python bench/rerank_sentences.py INDEX_DIR QUESTIONS.jsonl

The same index, embedder and questions (the first 20), searched with the signal on and off
in one process, alternating which goes first; prints the median milliseconds of each.
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from wiring.root import load_embedder, open_retriever


def main(index: str, qa: str, n: int = 20) -> dict[str, float]:
    lines = Path(qa).read_text(encoding="utf-8").splitlines()
    questions = [json.loads(line)["question"] for line in lines if line.strip()][:n]
    embedder = load_embedder(Settings(index_dir=index))
    retrievers = {
        on: open_retriever(Settings(index_dir=index, rerank_sentences=on), embedder)
        for on in (True, False)
    }
    for retriever in retrievers.values():
        retriever.search(questions[0])  # warm up
    times: dict[bool, list[float]] = {True: [], False: []}
    for i, question in enumerate(questions):
        for on in (True, False) if i % 2 else (False, True):
            started = time.perf_counter()
            retrievers[on].search(question, k=4)
            times[on].append(time.perf_counter() - started)
    medians = {on: round(statistics.median(t) * 1000, 1) for on, t in times.items()}
    return {"on": medians[True], "off": medians[False]}


if __name__ == "__main__":
    print(json.dumps({"median_ms": main(sys.argv[1], sys.argv[2])}))
