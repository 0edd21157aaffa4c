"""The model alone: each engine and precision on the same chunk texts, side by side.

    .venv/bin/python bench/embed_engines.py INDEX [--texts 400] [--rounds 3] [--cpus 0]
        [VARIANT ...]        # e.g. torch:float32 openvino:bfloat16 openvino:int8 onnx:int8

The texts are chunks an index holds (what the model reads: header and text),
every k-th so the sample spans the corpus. Each (round, variant) runs in a
fresh process through the product's own embedder (token-length batches,
groups of 4 x batch size, as the ingest embeds), rounds alternating the
variants so drift in machine load hits all alike; loading and converting
the model is not timed. Reported per variant, medians over rounds:
texts/s and tokens/s of wall-clock time, CPU milliseconds per text (all
threads: steadier than wall-clock on a shared machine), and the cosine of
its vectors with the first variant's (min, 1st percentile, mean).

`--cpus 0` pins each run to those CPUs (e.g. one core: a per-core cost that
other work on the machine disturbs little). Run under bench/avx2_only/run.sh
to measure as an AVX2-only CPU would.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

DEFAULT = ["torch:float32", "openvino:float32", "openvino:bfloat16", "openvino:int8", "onnx:int8"]


def sample_texts(index: Path, count: int) -> list[str]:
    from index import IndexSnapshot

    with IndexSnapshot.open(index) as snap:
        texts = [c.embed_text for c in snap.iter_chunks()]
    step = max(1, len(texts) // count)
    return texts[::step][:count]


def run_variant(variant: str, texts_file: Path, out: Path, cpus: str | None) -> dict:
    """In this (child) process: load, warm up, then time the embedding of every text."""
    if cpus:
        os.sched_setaffinity(0, {int(c) for c in cpus.split(",")})
    from core.settings import Settings
    from wiring.root import load_embedder

    backend, dtype = variant.split(":")
    embedder = load_embedder(Settings(embedding_backend=backend, embedding_dtype=dtype))
    texts = json.loads(texts_file.read_text(encoding="utf-8"))
    embedder.embed(texts[:8])
    group = 4 * embedder.batch_size
    wall, cpu = time.perf_counter(), time.process_time()
    vectors = np.concatenate(
        [embedder.embed(texts[i : i + group]) for i in range(0, len(texts), group)]
    )
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    np.save(out, vectors)
    tokens = sum(embedder.count_tokens(texts)) + 2 * len(texts)  # with [CLS] and [SEP]
    return {
        "variant": variant,
        "choice": embedder.choice.to_json(),
        "texts_per_s": len(texts) / wall,
        "tokens_per_s": tokens / wall,
        "cpu_ms_per_text": 1000 * cpu / len(texts),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("index", type=Path)
    ap.add_argument("variants", nargs="*", default=DEFAULT)
    ap.add_argument("--texts", type=int, default=400)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cpus", help="pin each run to these CPUs, e.g. 0 or 0,1")
    ap.add_argument("--one", nargs=3, help=argparse.SUPPRESS)  # variant texts_file out
    args = ap.parse_args()
    if args.one:
        variant, texts_file, out = args.one
        print(json.dumps(run_variant(variant, Path(texts_file), Path(out), args.cpus)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        texts_file = Path(tmp) / "texts.json"
        texts_file.write_text(json.dumps(sample_texts(args.index, args.texts)), encoding="utf-8")
        runs: dict[str, list[dict]] = {v: [] for v in args.variants}
        for round_ in range(args.rounds):
            order = args.variants if round_ % 2 == 0 else args.variants[::-1]
            for v in order:
                out = Path(tmp) / f"{v.replace(':', '-')}.npy"
                cmd = [sys.executable, __file__, str(args.index), "--one", v, str(texts_file)]
                cmd += [str(out)] + (["--cpus", args.cpus] if args.cpus else [])
                done = subprocess.run(cmd, capture_output=True, text=True, check=True)
                runs[v].append(json.loads(done.stdout.strip().splitlines()[-1]))
                load = os.getloadavg()[0]
                print(f"round {round_ + 1} {v}: {runs[v][-1]['texts_per_s']:.1f} texts/s "
                      f"(load {load:.1f})", file=sys.stderr)  # fmt: skip
        ref = np.load(Path(tmp) / f"{args.variants[0].replace(':', '-')}.npy")
        report = {"texts": args.texts, "rounds": args.rounds, "cpus": args.cpus, "variants": {}}
        for v, rs in runs.items():
            cos = (np.load(Path(tmp) / f"{v.replace(':', '-')}.npy") * ref).sum(axis=1)
            med = statistics.median
            report["variants"][v] = {
                "engine": rs[0]["choice"]["engine"],
                "precision": rs[0]["choice"]["precision"],
                "cpu": rs[0]["choice"]["cpu"],
                "texts_per_s": round(med(r["texts_per_s"] for r in rs), 2),
                "tokens_per_s": round(med(r["tokens_per_s"] for r in rs)),
                "cpu_ms_per_text": round(med(r["cpu_ms_per_text"] for r in rs), 1),
                "cosine_to_first": [
                    round(float(cos.min()), 5),
                    round(float(np.percentile(cos, 1)), 5),
                    round(float(cos.mean()), 5),
                ],
            }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
