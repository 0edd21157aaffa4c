"""Ingest benchmark: pages/s, chunks/s and peak memory for a first ingest and a re-run.

    .venv/bin/python bench/ingest.py ../shared/corpus/seeds [--runs 3] [--json]

Each run ingests the folder into a fresh temporary index (the first ingest),
then ingests it again unchanged (the re-run). Peak RSS is the largest
resident set of this process and of its parser workers (getrusage).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from ingest.embed import load_embedder
from ingest.pipeline import run_ingest


def peak_rss_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    settings = Settings()
    embedder = load_embedder(settings)
    embedder.embed(["warm up the model once, outside the timings"])
    firsts, reruns = [], []
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            s = settings.model_copy(update={"index_dir": Path(tmp) / "index"})
            t = time.perf_counter()
            report = run_ingest([args.folder], s, embedder=embedder)
            firsts.append((time.perf_counter() - t, report))
            t = time.perf_counter()
            again = run_ingest([args.folder], s, embedder=embedder)
            reruns.append(time.perf_counter() - t)
            assert not again.added and not again.updated, "re-run found changes"
    first_s = statistics.median(t for t, _ in firsts)
    report = firsts[0][1]
    own, children = peak_rss_mb()
    result = {
        "folder": str(args.folder),
        "files": report.files,
        "pages": report.pages,
        "chunks": report.chunks,
        "skipped": len(report.skipped),
        "runs": args.runs,
        "first_ingest_s": round(first_s, 2),
        "pages_per_s": round(report.pages / first_s, 1),
        "chunks_per_s": round(report.chunks / first_s, 1),
        "rerun_s": round(statistics.median(reruns), 3),
        "rerun_speedup": round(first_s / statistics.median(reruns), 1),
        "peak_rss_mb_main": round(own),
        "peak_rss_mb_parser": round(children),
        "cpu": platform.processor() or platform.machine(),
        "threads": __import__("torch").get_num_threads(),
    }
    if args.json:
        print(json.dumps(result))
    else:
        width = max(map(len, result))
        for k, v in result.items():
            print(f"{k:<{width}}  {v}")


if __name__ == "__main__":
    main()
