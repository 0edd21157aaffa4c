"""The PostgreSQL store beside the local index at scale, in one run (synthetic chunks).

    .venv/bin/python bench/pg_scale.py --sizes 100000 --work /work/scratch/NAME/pgscale

For each size: the synthetic index of bench/search.py (built once through the real
`IndexWriter`, kept in --work), copied as it is into a fresh database of a private
PostgreSQL (`deploy.local_postgres`; the copy is the PostgreSQL "ingest" of those
chunks: rows, HNSW and keyword entries, term counts). Then, alternating the two stores
question by question, the same 100 questions through `Retriever.search` (real query
model): median and p95. Then on each store: 10,000 new chunks written and committed
(ten 1,000-chunk documents), one 1,000-chunk document removed; and an incremental
re-run of an unchanged folder of real PDFs (../shared/corpus/seeds) through `ingest`.
Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import search as local_bench  # noqa: E402  (bench/search.py)
from pg_copy_index import copy_index  # noqa: E402

SEEDS = ROOT.parent / "shared" / "corpus" / "seeds"


def _docs(n_docs: int, size: int, dim: int, seed: int):
    from core.types import Chunk, PageText
    from index import DocumentRecord

    rng = np.random.default_rng(seed)
    words = np.array(local_bench._vocabulary(rng))
    p = 1.0 / np.arange(1, len(words) + 1)
    p /= p.sum()
    for d in range(n_docs):
        source = f"new/doc{seed}-{d}.pdf"
        drawn = words[rng.choice(len(words), size=(size, local_bench.WORDS_PER_CHUNK), p=p)]
        chunks = [
            Chunk(source, i, i // 3 + 1, i // 3 + 1, " ".join(r), 120) for i, r in enumerate(drawn)
        ]
        vectors = rng.standard_normal((size, dim)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        pages = [PageText(page, "") for page in range(1, size // 3 + 2)]
        yield (
            DocumentRecord(source, f"sha-{seed}-{d}", len(pages), size, "", source, 0, 0, ""),
            chunks,
            vectors,
            pages,
        )


def _writes(store, info, chunking) -> dict:
    """10,000 new chunks (ten documents), then one 1,000-chunk document removed."""
    t0 = time.perf_counter()
    with store.open_writer(embedding=info, chunking=chunking) as w:
        for doc in _docs(10, 1000, info.dim, seed=7):
            w.put_document(*doc)
        w.commit()
    t1 = time.perf_counter()
    with store.open_writer(embedding=info, chunking=chunking) as w:
        w.remove("new/doc7-0.pdf")
        w.commit()
    t2 = time.perf_counter()
    return {"add_10000_chunks_s": round(t1 - t0, 2), "remove_1000_chunks_s": round(t2 - t1, 2)}


def _rerun(settings, embedder) -> dict:
    from wiring.root import ingest_documents

    ingest_documents([SEEDS], settings, embedder=embedder)
    t0 = time.perf_counter()
    report = ingest_documents([SEEDS], settings, embedder=embedder)
    return {
        "unchanged_rerun_s": round(time.perf_counter() - t0, 3),
        "unchanged": len(report.unchanged),
    }


def run(n: int, work: Path, server, queries: int = 100) -> dict:
    from core.settings import Settings
    from wiring.root import load_embedder, open_retriever
    from wiring.stores import open_store

    local_dir = work / f"n{n}"
    if not (local_dir / "manifest.json").exists():
        local_bench.build(local_dir, n)
    name = f"scale{n}"  # kept: a later run reuses a complete copy
    url = server.create_database(name, exist_ok=True)
    done = server.psql(name, "SELECT to_regclass('rag_state') IS NOT NULL").strip() == "t"
    if done and server.psql(name, "SELECT generation FROM rag_state").strip() not in ("", "0"):
        copied = {"reused": True}
    else:
        copied = copy_index(local_dir, url)
    local, pg = Settings(index_dir=local_dir), Settings(store_url=url)
    embedder = load_embedder(local)
    embedder.embed(["warm up"])
    times: dict[str, list[float]] = {"local": [], "postgres": []}
    with open_retriever(local, embedder) as a, open_retriever(pg, embedder) as b:
        rng = np.random.default_rng(1)
        texts = [c.text for c in a.snapshot.chunks_by_ids(rng.integers(1, n, queries).tolist())]
        windows = [" ".join(t.split()[(o := int(rng.integers(0, 100))) : o + 6]) for t in texts]
        asked = (local_bench._questions() + windows)[:queries]
        for q in windows[:5]:
            a.search(q), b.search(q)
        for q in asked:  # alternating: the machine's drift hits both alike
            for store, r in (("local", a), ("postgres", b)):
                t0 = time.perf_counter()
                r.search(q)
                times[store].append((time.perf_counter() - t0) * 1000)
    out = {"chunks": n, "pg_copy": copied, "search_ms": {}}
    for store, values in times.items():
        out["search_ms"][store] = {
            "median": round(statistics.median(values), 1),
            "p95": round(float(np.percentile(values, 95)), 1),
        }
    print(json.dumps(out), file=sys.stderr, flush=True)
    m = open_store(local).committed()
    for kind, settings in (("local", local), ("postgres", pg)):
        out[f"writes_{kind}"] = _writes(open_store(settings), m.embedding, m.chunking)
    size = server.psql(name, "SELECT pg_database_size(current_database())")
    out["pg_size_mb"] = round(int(size) / 2**20, 1)
    return out


def main() -> None:
    from core.settings import Settings
    from deploy.local_postgres import LocalPostgres
    from wiring.root import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pgscale")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    # 2 GB: the HNSW graph of 1M chunks fits (the local index holds its vectors in RAM too).
    server = LocalPostgres(args.work / "pgdata", memory_mb=2048).start()
    try:
        results = {"load_average": os.getloadavg(), "sizes": []}
        for n in args.sizes:
            results["sizes"].append(run(n, args.work, server))
            print(json.dumps(results["sizes"][-1]), file=sys.stderr, flush=True)
        embedder = load_embedder(Settings())
        with tempfile.TemporaryDirectory() as tmp:
            url = server.create_database(f"rerun_{int(time.time())}")
            results["rerun_local"] = _rerun(Settings(index_dir=Path(tmp) / "i"), embedder)
            results["rerun_postgres"] = _rerun(Settings(store_url=url), embedder)
        results["load_average_end"] = os.getloadavg()
        print(json.dumps(results, indent=1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
