"""BM25 through the snapshot's own SQLite connection against a second connection, interleaved.

Keyword search used to open a second connection to the generation's
`chunks.sqlite`; it now reads through the one the snapshot holds. This times
both on one index (for example one `bench/search.py` built), 200 questions cut
from random chunks, alternating which goes first:

    python bench/keyword_connection.py /tmp/bench/n300000
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import numpy as np

    from core.text import search_terms
    from index import IndexSnapshot
    from index.keyword import KeywordIndex

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("index", type=Path, help="an index directory")
    parser.add_argument("--questions", type=int, default=200)
    args = parser.parse_args()
    snap = IndexSnapshot.open(args.index, verify=False)
    chunks = args.index / snap.manifest.generation_dir / "chunks.sqlite"
    sides = {
        "second connection": KeywordIndex.open(chunks, 20_000, len(snap)),
        "snapshot's connection": snap.keyword_search(20_000),
    }
    rng = np.random.default_rng(1)
    picked = rng.integers(1, len(snap), args.questions).tolist()
    questions = []
    for chunk in snap.chunks_by_ids(picked):
        start = int(rng.integers(0, 100))
        questions.append(search_terms(" ".join(chunk.text.split()[start : start + 6])))
    for terms in questions[:10]:  # warm both caches
        for side in sides.values():
            side.search(terms, 50)
    times: dict[str, list[float]] = {name: [] for name in sides}
    for i, terms in enumerate(questions):
        for name in sorted(sides, reverse=bool(i % 2)):
            began = time.perf_counter()
            sides[name].search(terms, 50)
            times[name].append((time.perf_counter() - began) * 1000)
    for name, values in times.items():
        p95 = float(np.percentile(values, 95))
        print(f"{name}: median {statistics.median(values):.2f} ms, p95 {p95:.2f} ms")


if __name__ == "__main__":
    main()
