"""`python -m evals.retrieval.reembed SRC DST`: the same index, its vectors made again.

Copies the index SRC (its current generation) to DST and embeds every stored
chunk again with the embedder the settings give (`RAG_EMBEDDING_BACKEND`,
`RAG_EMBEDDING_DTYPE`; under `bench/avx2_only/run.sh`, as an AVX2-only CPU
would), in the pipeline's groups of `4 x batch_size` texts. Parsing and chunking
are not redone, so two engines or precisions are compared on exactly the same
chunks, and `python -m evals.retrieval --index DST` (run with the same settings,
so questions are embedded alike) gives the harness's figures for that choice.

Prints one JSON line: the choice, chunks, seconds and chunks/s of the model on
these texts, and the cosine of each new vector with the one SRC stored
(min, 1st percentile, mean). Only exact (flat) indexes are handled.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

import numpy as np

from core.files import sha256_file
from core.settings import load_settings
from index import IndexSnapshot
from index.manifest import MANIFEST, VECTORS, read_manifest
from index.vector_search import ExactIndex


def reembed(src: Path, dst: Path, embedder, group: int) -> dict:
    manifest = read_manifest(src)
    gen = manifest.generation_dir
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    shutil.copytree(src / gen, dst / gen)
    shutil.copy2(src / MANIFEST, dst / MANIFEST)
    old = ExactIndex.load(dst / gen / VECTORS)
    ids, stored = old.all_vectors()
    with IndexSnapshot.open(src) as snap:
        texts = {c.id: c.embed_text for c in snap.iter_chunks()}
    todo = [texts[int(i)] for i in ids]
    embedder.embed(todo[:2])  # load (and on first use, convert) outside the timing
    start = time.perf_counter()
    vectors = np.concatenate(
        [embedder.embed(todo[i : i + group]) for i in range(0, len(todo), group)]
    )
    seconds = time.perf_counter() - start
    new = ExactIndex(vectors.shape[1])
    new.add(ids, vectors)
    new.save(dst / gen / VECTORS)
    raw = json.loads((dst / MANIFEST).read_text(encoding="utf-8"))
    path = dst / gen / VECTORS
    raw["files"]["vectors"].update(bytes=path.stat().st_size, sha256=sha256_file(path))
    (dst / MANIFEST).write_text(json.dumps(raw, indent=1), encoding="utf-8")
    cos = (vectors * stored).sum(axis=1)
    return {
        "embedding": embedder.choice.to_json(),
        "chunks": len(todo),
        "seconds": round(seconds, 1),
        "chunks_per_s": round(len(todo) / seconds, 2),
        "cosine_to_src": {
            "min": round(float(cos.min()), 5),
            "p1": round(float(np.percentile(cos, 1)), 5),
            "mean": round(float(cos.mean()), 5),
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m evals.retrieval.reembed", description=__doc__)
    p.add_argument("src", type=Path, help="an index folder")
    p.add_argument("dst", type=Path, help="where the copy goes (replaced)")
    args = p.parse_args(argv)
    from wiring.root import load_embedder

    settings = load_settings()
    embedder = load_embedder(settings)
    print(f"embedding: {embedder.choice.describe()}", file=sys.stderr)
    report = reembed(args.src, args.dst, embedder, 4 * settings.embedding.batch_size)
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
