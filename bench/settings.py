"""What reading the settings costs: `Settings()` as the app does at every page run.

    git show bbe10ca:core/settings.py > /tmp/settings_flat.py   # the flat Settings, before
    .venv/bin/python bench/settings.py --old /tmp/settings_flat.py

Both are timed in one run, alternating, with the same three RAG_* variables set,
and the median of 5 rounds of 2,000 constructions each is printed, in microseconds.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings


def per_call_us(make: Callable[[], object], n: int = 2000, rounds: int = 5) -> float:
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            make()
        times.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(times)


def load_old(path: Path) -> type:
    spec = importlib.util.spec_from_file_location("settings_old", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules["settings_old"] = module  # pydantic resolves its annotations there
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        spec.loader.exec_module(module)
    return module.Settings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old", type=Path, help="an older core/settings.py to time beside")
    args = ap.parse_args()
    os.environ.update(
        {"RAG_INDEX_DIR": "/tmp/i", "RAG_CHUNK_TOKENS": "128", "RAG_LLM_N_CTX": "2048"}
    )
    old = load_old(args.old) if args.old else None
    for _ in range(2):
        now = per_call_us(Settings)
        line = f"grouped Settings(): {now:.0f} us"
        if old is not None:
            line = f"old Settings(): {per_call_us(old):.0f} us   " + line
        print(line)


if __name__ == "__main__":
    main()
