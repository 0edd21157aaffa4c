"""Ingest benchmark: pages/s, chunks/s and peak memory for a first ingest and a re-run.

    .venv/bin/python bench/ingest.py ../shared/corpus/seeds [--runs 3] [--json]

Each run ingests the folder into a fresh temporary index (the first ingest),
then ingests it again unchanged (the re-run). The model is loaded once before
the timings (the CLI adds about 3 s of model loading to a first ingest).
Peak RSS: this process (getrusage), its parser workers, and both together
(sampled from /proc every 50 ms).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from ingest.embed import load_embedder
from ingest.pipeline import run_ingest


class RssSampler:
    """Peak of (this process + its live child processes) resident memory, sampled every 50 ms.

    getrusage's RUSAGE_CHILDREN is no help here: a spawned worker is forked
    from this process before it execs, so it reports the parent's size.
    """

    def __init__(self) -> None:
        self.peak_total = 0.0
        self.peak_workers = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _rss_mb(pid: int) -> float:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        except OSError:
            pass
        return 0.0

    def _children(self) -> list[int]:
        me = os.getpid()
        kids = []
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == me:
                        kids.append(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
        return kids

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            workers = sum(self._rss_mb(pid) for pid in self._children())
            self.peak_workers = max(self.peak_workers, workers)
            self.peak_total = max(self.peak_total, workers + self._rss_mb(os.getpid()))

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


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
    sampler = RssSampler().__enter__()
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
    sampler.__exit__()
    first_s = statistics.median(t for t, _ in firsts)
    report = firsts[0][1]
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
        "peak_rss_mb_main": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "peak_rss_mb_parser_workers": round(sampler.peak_workers),
        "peak_rss_mb_total": round(sampler.peak_total),
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
