"""Search latency and memory at 10,000 and 1,000,000 chunks (synthetic index, real query model).

    .venv/bin/python bench/search.py [--sizes 10000 1000000] [--work DIR] [--json]

Each size gets a synthetic index, built once through the real `IndexWriter`
(so the FTS5 table, its triggers and the automatic IVF switch are the ones
users get) and kept in `--work` for later runs. Texts are 120 words drawn by
Zipf's law from a vocabulary whose ranks start with English stopwords and the
words of the question sets, so question terms have realistic document
frequencies (a few percent of the chunks); vectors are unit vectors around
2,000 random centres (embeddings cluster by topic; uniform noise would not).

The measurement runs in a fresh process per size: load the index and the
real embedding model, then ask 100 questions (the seeds_dev and
manuals_tricky questions, plus word windows of random chunks) once each
through `Retriever.search` and report the median and p95 of the whole call
(query embedding + dense + keyword + fusion + re-ranking + reading the
passages), its parts, the same call without re-ranking, resident memory per
chunk, disk per chunk, the IVF recall@10 against exact search, and how often
the keyword postings budget changed the BM25 top 50. Chunks carry a header
(chunk format 2: "Synthetic manual N › section"), keyword-indexed like real ones.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

QUESTION_FILES = [
    ROOT.parent / "shared" / "eval" / "seeds_dev.jsonl",
    ROOT / "evals" / "retrieval" / "data" / "manuals_tricky.jsonl",
]
WORDS_PER_CHUNK = 120
CHUNKS_PER_DOCUMENT = 10_000
VOCABULARY = 50_000


def _questions() -> list[str]:
    out = []
    for path in QUESTION_FILES:
        if path.is_file():
            out += [json.loads(line)["question"] for line in path.read_text().splitlines() if line]
    return out


def _vocabulary(rng) -> list[str]:
    from core.text import STOPWORDS, search_terms

    question_words = sorted({t for q in _questions() for t in search_terms(q)})
    rng.shuffle(question_words)
    head = sorted(STOPWORDS) + question_words
    return head + [f"w{i}x" for i in range(VOCABULARY - len(head))]


def build(index_dir: Path, n: int, seed: int = 0) -> dict:
    """Write a synthetic index of `n` chunks; returns build figures."""
    import numpy as np

    from core.settings import Settings
    from core.types import Chunk, PageText
    from index import DocumentRecord, IndexWriter
    from ingest.pipeline import chunking_config
    from wiring.params import ingest_options
    from wiring.root import load_embedder

    settings = Settings(index_dir=index_dir)
    info = load_embedder(settings).info  # only its identity: the index must match the model
    rng = np.random.default_rng(seed)
    words = np.array(_vocabulary(rng))
    p = 1.0 / np.arange(1, len(words) + 1)
    p /= p.sum()
    centres = rng.standard_normal((2000, info.dim)).astype(np.float32)
    started = time.monotonic()
    chunking = chunking_config(ingest_options(settings).chunking, info.max_tokens)
    with IndexWriter(index_dir, embedding=info, chunking=chunking) as writer:
        for start in range(0, n, CHUNKS_PER_DOCUMENT):
            size = min(CHUNKS_PER_DOCUMENT, n - start)
            source = f"synthetic/doc{start // CHUNKS_PER_DOCUMENT:04d}.pdf"
            drawn = words[rng.choice(len(words), size=(size, WORDS_PER_CHUNK), p=p)]
            # Chunk format 2: every 20 chunks a section named by 3 words; the header
            # ("title › section") goes into the keyword index like a real one.
            titles = words[rng.choice(len(words), size=(size // 20 + 1, 3), p=p)]
            title = f"Synthetic manual {start // CHUNKS_PER_DOCUMENT}"
            chunks = [
                Chunk(
                    source,
                    i,
                    i // 3 + 1,
                    i // 3 + 1,
                    " ".join(row),
                    WORDS_PER_CHUNK,
                    title=title,
                    section=(f"{i // 20 + 1} " + " ".join(titles[i // 20]),),
                    heading=f"{title} › {i // 20 + 1} " + " ".join(titles[i // 20]),
                )
                for i, row in enumerate(drawn)
            ]
            vectors = centres[rng.integers(0, len(centres), size)]
            vectors = vectors + 0.8 * rng.standard_normal(vectors.shape).astype(np.float32)
            vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
            pages = [PageText(page, "") for page in range(1, size // 3 + 2)]
            record = DocumentRecord(source, f"sha-{start}", len(pages), size, "", source, 0, 0, "")
            writer.put_document(record, chunks, vectors, pages)
        writer.commit()
    return {"chunks": n, "build_seconds": round(time.monotonic() - started, 1)}


def _rss_mb() -> dict[str, float]:
    """Resident memory: `anon` is the process's own (vectors, caches); `file` is pages of
    memory-mapped files (the SQLite file), which the kernel can drop and read again."""
    found = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        for key, name in (("RssAnon:", "anon"), ("RssFile:", "file")):
            if line.startswith(key):
                found[name] = int(line.split()[1]) / 1024
    return found


def measure(index_dir: Path, queries: int, seed: int = 1) -> dict:
    """Load the index and the model in this process, then time `queries` questions."""
    import numpy as np

    from core.settings import Settings
    from core.text import search_terms
    from index.ivf_search import IvfIndex
    from index.keyword import KeywordIndex
    from retrieval.dense import nearest
    from retrieval.threads import single_threaded
    from wiring.root import load_embedder, open_retriever

    settings = Settings(index_dir=index_dir)
    embedder = load_embedder(settings)
    embedder.embed(["warm up the model"])
    before = _rss_mb()
    started = time.perf_counter()
    retriever = open_retriever(settings, embedder)
    open_seconds = time.perf_counter() - started
    loaded = _rss_mb()
    snap = retriever.snapshot
    rng = np.random.default_rng(seed)
    texts = [c.text for c in snap.chunks_by_ids(rng.integers(1, len(snap), queries).tolist())]
    windows = [" ".join(t.split()[(o := int(rng.integers(0, 100))) : o + 6]) for t in texts]
    asked = (_questions() + windows)[:queries]
    for q in windows[:5]:  # warm-up: caches and code paths, not counted
        retriever.search(q)
    parts: dict[str, list[float]] = {
        k: [] for k in ("total", "embed", "dense", "keyword", "keyword_exact", "no_rerank")
    }
    params = retriever.params
    plain = dataclasses.replace(params, rerank=False)
    chunks_file = snap.index_dir / snap.manifest.generation_dir / "chunks.sqlite"
    exact_keyword = KeywordIndex.open(chunks_file, postings_budget=10**12)
    overlap, two_step = [], 0
    for q in asked:
        t0 = time.perf_counter()
        retriever.search(q)
        t1 = time.perf_counter()
        with single_threaded():  # as Retriever.search embeds a question
            vector = embedder.embed([q])[0]
        t2 = time.perf_counter()
        nearest(snap, vector, params.dense_candidates, nprobe=params.ivf_nprobe)
        t3 = time.perf_counter()
        terms = search_terms(q)
        hits = retriever.keyword.search(terms, params.keyword_candidates)
        t4 = time.perf_counter()
        exact = exact_keyword.search(terms, params.keyword_candidates)
        t5 = time.perf_counter()
        retriever.params = plain  # the same search without the second look (retrieval.rerank)
        retriever.search(q)
        retriever.params = params
        t6 = time.perf_counter()
        times = (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4, t6 - t5)
        for key, value in zip(parts, times, strict=True):
            parts[key].append(value * 1000)
        plan = retriever.keyword.plan(terms)
        two_step += bool(plan.rescored or plan.dropped)
        if exact:
            overlap.append(len({h.id for h in exact} & {h.id for h in hits}) / len(exact))
    after = _rss_mb()
    n = len(snap)
    gen = snap.index_dir / snap.manifest.generation_dir
    disk = sum(f.stat().st_size for f in gen.iterdir())
    result = {
        "chunks": n,
        "vector_index": snap.vectors.kind if hasattr(snap.vectors, "kind") else "?",
        "queries": len(asked),
        "open_seconds": round(open_seconds, 2),
        "median_ms": {k: round(statistics.median(v), 2) for k, v in parts.items()},
        "p95_ms": {k: round(float(np.percentile(v, 95)), 2) for k, v in parts.items()},
        "rss_mb": {"model": round(before["anon"] + before["file"], 1)}
        | {
            f"{when}_{kind}": round(now[kind] - before[kind], 1)
            for when, now in (("index_loaded", loaded), ("after_queries", after))
            for kind in ("anon", "file")
        },
        "rss_bytes_per_chunk": {
            f"{when}_{kind}": round((now[kind] - before[kind]) * 2**20 / n)
            for when, now in (("index_loaded", loaded), ("after_queries", after))
            for kind in ("anon", "file")
        },
        "disk_bytes_per_chunk": round(disk / n),
        "keyword_two_step_queries": two_step,
        "keyword_top50_overlap_with_exact_bm25": round(statistics.mean(overlap), 3),
        "load_average": os.getloadavg()[0],
    }
    if isinstance(snap.vectors, IvfIndex):
        result["ivf"] = _ivf_recall(snap.vectors, settings.search.ivf_nprobe, rng)
    retriever.close()
    return result


def _ivf_recall(ivf, nprobe: int, rng, n_queries: int = 100, k: int = 10) -> dict:
    """recall@k of the IVF search against exact inner product, on held-out-like queries."""
    import numpy as np

    ids, vectors = ivf.all_vectors()
    picks = rng.integers(0, len(ids), n_queries)
    queries = vectors[picks] + 0.5 * rng.standard_normal((n_queries, ivf.dim)).astype(
        np.float32
    ) / np.sqrt(ivf.dim)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :k]
    recall = []
    for q, truth in zip(queries, exact, strict=True):
        _, got = ivf.search(q[None], k, nprobe=nprobe)
        recall.append(len(set(got[0].tolist()) & set(ids[truth].tolist())) / k)
    return {"nlist": ivf.nlist, "nprobe": nprobe, f"recall@{k}": round(float(np.mean(recall)), 3)}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    p.add_argument("--work", type=Path, default=Path("/tmp/rag-bench-search"))
    p.add_argument("--queries", type=int, default=100)
    p.add_argument("--json", action="store_true", help="print the results as JSON on stdout")
    p.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    args = p.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.measure, args.queries)))
        return 0
    results = []
    for n in args.sizes:
        index_dir = args.work / f"n{n}"
        built = None
        if not (index_dir / "manifest.json").is_file():
            print(f"building a synthetic index of {n:,} chunks in {index_dir} ...", file=sys.stderr)
            built = build(index_dir, n)
        child = subprocess.run(
            [sys.executable, __file__, "--measure", str(index_dir), "--queries", str(args.queries)],
            check=True,
            capture_output=True,
            text=True,
        )
        result = json.loads(child.stdout.strip().splitlines()[-1])
        result["build"] = built
        results.append(result)
        print(_row(result), file=sys.stderr)
    if args.json:
        print(json.dumps(results, indent=1))
    return 0


def _row(r: dict) -> str:
    m, p95 = r["median_ms"], r["p95_ms"]
    ivf = f", IVF recall@10 {r['ivf']['recall@10']}" if "ivf" in r else ""
    return (
        f"{r['chunks']:>9,} chunks ({r['vector_index']}): "
        f"median {m['total']} ms (p95 {p95['total']}) "
        f"= embed {m['embed']} + dense {m['dense']} + keyword {m['keyword']} + rest "
        f"(exact BM25 would be {m['keyword_exact']}; without re-ranking {m['no_rerank']}); "
        f"RSS {r['rss_bytes_per_chunk']['after_queries_anon']} B/chunk "
        f"(+{r['rss_bytes_per_chunk']['after_queries_file']} mapped), "
        f"disk {r['disk_bytes_per_chunk']} B/chunk{ivf}"
    )


if __name__ == "__main__":
    raise SystemExit(main())
