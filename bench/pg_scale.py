"""The PostgreSQL store beside the local index at scale, in one run (synthetic chunks).

    .venv/bin/python bench/pg_scale.py --sizes 100000 1000000 --work /work/scratch/NAME/pgscale \
        [--baseline-code DIR]

For each size: the synthetic index of bench/search.py (built once through the real
`IndexWriter`, kept in --work), and the same synthetic documents written into a fresh
database of a private PostgreSQL (`deploy.local_postgres`) through the real
`PgIndexWriter`: the PostgreSQL "ingest" of those chunks, a bulk load (rows by COPY, then
the HNSW and GIN indexes built over them; `index.pg_bulk`), its time kept in
--work/pg_load_N.json for later runs. `--load-only` stops there (to load a large size while
something else runs). Then, alternating the two stores question by question, the same 100
questions through `Retriever.search` (real query model): median and p95. Then on each
store (PostgreSQL: a copy of the database, so the loaded one stays as it was): 10,000 new
chunks written and committed (ten 1,000-chunk documents), one 1,000-chunk document
removed; and an incremental re-run of an unchanged folder of real PDFs
(../shared/corpus/seeds) through `ingest`. With `--baseline-code DIR` (a checkout of an
earlier commit), the PostgreSQL writes and re-run are measured with that code too, in the
same run, on another copy. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import search as local_bench  # noqa: E402  (bench/search.py)

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


def load_postgres(n: int, url: str, work: Path) -> dict:
    """The synthetic documents of size `n` into the empty database at `url`: one commit."""
    from index.pg_writer import PgIndexWriter

    info, chunking = local_bench.synthetic_identity(work / f"n{n}")
    load = os.getloadavg()
    t0, writing = time.perf_counter(), 0.0
    with PgIndexWriter(url, embedding=info, chunking=chunking) as w:
        for document in local_bench.synthetic_documents(n, info.dim):
            started = time.perf_counter()
            w.put_document(*document)
            writing += time.perf_counter() - started
        t1 = time.perf_counter()
        w.commit()
    t2 = time.perf_counter()
    out = {
        "chunks": n,
        "seconds": round(t2 - t0, 1),
        "put_document_s": round(writing, 1),  # the rest of rows_s made the synthetic texts
        "rows_s": round(t1 - t0, 1),
        "commit_with_index_builds_s": round(t2 - t1, 1),
        "load_average": [load, os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    (work / f"pg_load_{n}.json").write_text(json.dumps(out))
    return out


def loaded(server, n: int, work: Path) -> tuple[str, dict]:
    """The database of size `n`, loaded now or by an earlier run."""
    name = f"scale{n}"
    url = server.create_database(name, exist_ok=True)
    done = server.psql(name, "SELECT to_regclass('rag_state') IS NOT NULL").strip() == "t"
    if done and server.psql(name, "SELECT generation FROM rag_state").strip() not in ("", "0"):
        record = work / f"pg_load_{n}.json"
        return url, {"reused": json.loads(record.read_text()) if record.exists() else True}
    return url, load_postgres(n, url, work)


def _copy(server, n: int, label: str) -> str:
    """A copy of the loaded database (the writes change it; the next run reuses the original)."""
    name = f"scale{n}_{label}"
    server.psql(  # the retrievers' pooled connections, left open by this process
        "postgres",
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        f" WHERE datname = 'scale{n}' AND pid <> pg_backend_pid()",
    )
    server.psql("postgres", f'DROP DATABASE IF EXISTS "{name}"')
    server.psql("postgres", f'CREATE DATABASE "{name}" TEMPLATE "scale{n}"')
    return server.url(name)


def _baseline(code: Path, url: str, what: str) -> dict:
    """`_writes` or `_rerun` of this benchmark as the checkout `code` has them, on `url`."""
    script = f"""
import json, sys
sys.path[:0] = [{str(code)!r}, {str(code / "bench")!r}]
import pg_scale
from core.settings import Settings
from wiring.root import load_embedder
from wiring.stores import open_store
settings = Settings(store_url={url!r})
if {what!r} == "writes":
    m = open_store(settings).committed()
    out = pg_scale._writes(open_store(settings), m.embedding, m.chunking)
else:
    out = pg_scale._rerun(settings, load_embedder(Settings()))
print(json.dumps(out))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=code, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(
    n: int, work: Path, server, baseline: Path | None, writes: bool = True, queries: int = 100
) -> dict:
    from core.settings import Settings
    from wiring.root import load_embedder, open_retriever
    from wiring.stores import open_store

    local_dir = work / f"n{n}"
    if not (local_dir / "manifest.json").exists():
        local_bench.build(local_dir, n)
    url, copied = loaded(server, n, work)
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
    out = {"chunks": n, "pg_load": copied, "search_ms": {}, "load_average": os.getloadavg()}
    for store, values in times.items():
        out["search_ms"][store] = {
            "median": round(statistics.median(values), 1),
            "p95": round(float(np.percentile(values, 95)), 1),
        }
    print(json.dumps(out), file=sys.stderr, flush=True)
    size = server.psql(f"scale{n}", "SELECT pg_database_size(current_database())")
    out["pg_size_mb"] = round(int(size) / 2**20, 1)
    if not writes:
        return out
    m = open_store(local).committed()
    scratch = work / f"n{n}_writes"  # a copy: the next run finds the index as built
    shutil.rmtree(scratch, ignore_errors=True)
    shutil.copytree(local_dir, scratch)
    out["writes_local"] = _writes(open_store(Settings(index_dir=scratch)), m.embedding, m.chunking)
    shutil.rmtree(scratch, ignore_errors=True)
    if baseline is not None:
        out["writes_postgres_baseline"] = _baseline(baseline, _copy(server, n, "base"), "writes")
    copy = Settings(store_url=_copy(server, n, "new"))
    out["writes_postgres"] = _writes(open_store(copy), m.embedding, m.chunking)
    for label in ("base", "new"):
        server.psql("postgres", f'DROP DATABASE IF EXISTS "scale{n}_{label}"')
    return out


def main() -> None:
    from core.settings import Settings
    from deploy.local_postgres import LocalPostgres
    from wiring.root import load_embedder

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "pgscale")
    parser.add_argument("--baseline-code", type=Path, help="a checkout to measure writes with too")
    parser.add_argument("--load-only", action="store_true", help="load the databases, then stop")
    parser.add_argument("--no-writes", action="store_true", help="searches only (and the re-run)")
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    # 2 GB of shared buffers: the HNSW graph of 1M chunks fits (the local index holds its
    # vectors in RAM too); 3 GB for an index build, so the graph of 1M builds in memory.
    server = LocalPostgres(args.work / "pgdata", memory_mb=2048, build_memory_mb=3072).start()
    try:
        if args.load_only:
            print(json.dumps([loaded(server, n, args.work)[1] for n in args.sizes]))
            return
        results = {"load_average": os.getloadavg(), "sizes": []}
        for n in args.sizes:
            results["sizes"].append(
                run(n, args.work, server, args.baseline_code, not args.no_writes)
            )
            print(json.dumps(results["sizes"][-1]), file=sys.stderr, flush=True)
        embedder = load_embedder(Settings())
        with tempfile.TemporaryDirectory() as tmp:
            results["rerun_local"] = _rerun(Settings(index_dir=Path(tmp) / "i"), embedder)
            url = server.create_database(f"rerun_{int(time.time())}")
            results["rerun_postgres"] = _rerun(Settings(store_url=url), embedder)
            if args.baseline_code:
                url = server.create_database(f"rerun_base_{int(time.time())}")
                results["rerun_postgres_baseline"] = _baseline(args.baseline_code, url, "rerun")
        results["load_average_end"] = os.getloadavg()
        print(json.dumps(results, indent=1))
    finally:
        server.stop()


if __name__ == "__main__":
    main()
