"""Ingest benchmark: ours against the LangChain tutorial default, in one run.

    .venv/bin/python bench/ingest.py FOLDER [--runs 2] [--compare] [--json] [--no-model-alone]

Every measured run is a fresh process (so its memory peak is its own), and
with --compare the two pipelines alternate. Ours: a first ingest into a new
temporary index, a re-run on the unchanged folder, the embedding model alone
on the very same chunk texts (the ceiling for the pipeline's chunks/s), and a
re-run after every file was moved into a new subfolder (new names, same
contents: the stored vectors are reused). It works on a temporary copy of FOLDER.
Both timings include loading the model (its files already read once, so in
the OS cache). Ours first makes and caches its engine's copy of the model (in
a child process, `python -m embed.prepare`, as `make install` and the ingest
do), a step done once per machine and model: it is timed apart, from an empty
cache, as first_use_seconds. Peak RSS is the
process and its parser workers together, sampled from /proc every 50 ms.
Tokens embedded are counted after the timings with the model's tokenizer; for
LangChain they stop at the model's limit (256 word pieces), past which it
silently ignores the rest of a chunk, and what it ignored is reported too.

Where the time goes (`stages`, medians): the ingest's main thread waits for the
parsers ("wait"), chunks, embeds and writes; "parse" is the parser processes'
own CPU time, which runs beside those; "ocr" the OCR time of scanned pages.
The header records the date, commit, CPU kind and flags, load average, and the
engine, precision and reason the embedding choice gave (`embed.choice`). To
measure as on an AVX2-only CPU, run this under `bench/avx2_only/run.sh`.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from core.settings import Settings
from embed.cpu import cpu_profile
from index import IndexSnapshot
from wiring.root import ingest_documents, load_embedder


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


def first_use(cache: Path) -> float:
    """Seconds to make the engine's copy of the model for this CPU into an empty `cache`.

    In a child process, as `make install` and the ingest do it (embed.prepare): what it
    leaves in memory is not this process's.
    """
    t = time.perf_counter()
    env = {**os.environ, "RAG_MODEL_CACHE_DIR": str(cache)}
    prepare = [sys.executable, "-m", "embed.prepare", "--quiet"]
    subprocess.run(prepare, cwd=Path(__file__).resolve().parents[1], env=env, check=True)
    return time.perf_counter() - t


def measure_ours(folder: Path, model_alone: bool = True) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        s = Settings(index_dir=Path(tmp) / "index", model_cache_dir=Path(tmp) / "model-cache")
        first_use_seconds = first_use(s.paths.model_cache_dir)  # once per machine and model
        # Loading the model counts, as it does in LangChain's run; it is also reported apart.
        t = time.perf_counter()
        embedder = load_embedder(s)
        embedder.embed(["load the model"])
        load = time.perf_counter() - t
        # A copy, so that the "reorganized folder" step below can move its files.
        folder = Path(shutil.copytree(folder, Path(tmp) / "docs"))
        with RssSampler() as rss:
            t = time.perf_counter()
            report = ingest_documents([folder], s, embedder=embedder)
            ingest = time.perf_counter() - t
        first = load + ingest
        t = time.perf_counter()
        again = ingest_documents([folder], s, embedder=embedder)
        rerun = time.perf_counter() - t
        assert not again.added and not again.updated, "re-run found changes"
        # The model alone on the very same texts: the ceiling the pipeline is held to.
        with IndexSnapshot.open(s.paths.index_dir) as snap:
            stored = list(snap.iter_chunks())
        texts = [c.text for c in stored]
        t = time.perf_counter()
        if model_alone:
            embedder.embed(texts)
        model_only = time.perf_counter() - t if model_alone else None
        # Every file moved into a new subfolder: new names, same contents.
        for pdf in sorted(folder.rglob("*.pdf")):
            target = folder / "reorganized" / pdf.relative_to(folder)
            target.parent.mkdir(parents=True, exist_ok=True)
            pdf.rename(target)
        t = time.perf_counter()
        moved_report = ingest_documents([folder], s, embedder=embedder)
        moved = time.perf_counter() - t
        assert len(moved_report.added) == report.files - len(report.skipped), "move not seen"
    return {
        "pipeline": "ours",
        "files": report.files,
        "skipped": len(report.skipped),
        "pages": report.pages,
        "chunks": report.chunks,
        "seconds": first,
        "load_seconds": load,
        "rerun_seconds": rerun,
        "moved_seconds": moved,
        "moved_reused_vectors": moved_report.reused_vectors,
        "model_only_chunks_per_s": len(texts) / model_only if model_only else None,
        "tokens_embedded": sum(c.n_tokens for c in stored),
        "peak_rss_mb": rss.peak_total,
        "peak_rss_mb_parsers": rss.peak_workers,
        "dtype": embedder.dtype,
        "backend": embedder.backend,
        "embedding": embedder.choice.to_json(),
        "first_use_seconds": first_use_seconds,
        "stages": {**report.stages, "ocr": report.ocr.seconds},
    }


def measure_langchain(folder: Path) -> dict:
    from evals.langchain_default import LangChainDefault, langchain_embeddings

    model_path = Settings().embedding_model_path()
    langchain_embeddings(model_path).embed_documents(["warm up"])  # file cache, like ours
    with RssSampler() as rss:
        t = time.perf_counter()
        baseline = LangChainDefault(folder, model_path)
        seconds = time.perf_counter() - t
    # After the timing: how much of its text the model saw (it truncates at max_seq_length).
    embedder = load_embedder(Settings())
    limit = embedder.info.max_tokens - 2
    texts = baseline.chunk_texts
    counts = embedder.count_tokens(texts)
    return {
        "pipeline": "langchain",
        "pages": baseline.pages,
        "chunks": baseline.chunks,
        "seconds": seconds,
        "peak_rss_mb": rss.peak_total,
        "tokens_embedded": sum(min(n, limit) for n in counts),
        "chunks_truncated": sum(n > limit for n in counts),
        "tokens_never_embedded": sum(max(n - limit, 0) for n in counts),
    }


def run_one(
    pipeline: str, folder: Path, env: dict[str, str] | None = None, extra: tuple[str, ...] = ()
) -> dict:
    """Each measured run gets a fresh process, so memory peaks are its own."""
    out = subprocess.run(
        [sys.executable, __file__, str(folder), "--one", pipeline.split("@")[0], *extra],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, **(env or {})},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def summarize(runs: list[dict]) -> dict:
    first = runs[0]
    med = statistics.median
    out = {k: first[k] for k in ("pages", "chunks") if k in first}
    out["seconds"] = round(med(r["seconds"] for r in runs), 1)
    out["pages_per_s"] = round(first["pages"] / out["seconds"], 2)
    out["chunks_per_s"] = round(first["chunks"] / out["seconds"], 2)
    out["peak_rss_mb"] = round(max(r["peak_rss_mb"] for r in runs))
    out["tokens_embedded"] = first["tokens_embedded"]
    out["tokens_per_s"] = round(first["tokens_embedded"] / out["seconds"])
    if first["pipeline"] == "langchain":
        out["chunks_truncated"] = first["chunks_truncated"]
        out["tokens_never_embedded"] = first["tokens_never_embedded"]
    if first["pipeline"] == "ours":
        out["rerun_seconds"] = round(med(r["rerun_seconds"] for r in runs), 3)
        out["rerun_speedup"] = round(out["seconds"] / out["rerun_seconds"])
        out["moved_seconds"] = round(med(r["moved_seconds"] for r in runs), 2)
        out["moved_reused_vectors"] = first["moved_reused_vectors"]
        out["load_seconds"] = round(med(r["load_seconds"] for r in runs), 1)
        if first["model_only_chunks_per_s"] is not None:
            model = med(r["model_only_chunks_per_s"] for r in runs)
            out["model_only_chunks_per_s"] = round(model, 2)
            # The model alone was timed loaded, so the pipeline is held to it without its load.
            ingest_only = out["seconds"] - out["load_seconds"]
            out["embedding_efficiency"] = round(first["chunks"] / ingest_only / model, 3)
        out["peak_rss_mb_parsers"] = round(max(r["peak_rss_mb_parsers"] for r in runs))
        out["dtype"], out["backend"] = first["dtype"], first["backend"]
        out["embedding_reason"] = first["embedding"]["reason"]
        out["stages"] = {k: round(med(r["stages"][k] for r in runs), 1) for k in first["stages"]}
        out["first_use_seconds"] = round(med(r["first_use_seconds"] for r in runs), 1)
        out["files"], out["skipped"] = first["files"], first["skipped"]
    return out


def _machine() -> dict:
    """Date, commit and the CPU as the engines see it (CPUID: emulation shows here)."""
    try:
        root = Path(__file__).resolve().parents[1]
        git = ["git", "-C", str(root), "rev-parse", "--short", "HEAD"]
        commit = subprocess.run(git, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cpu = cpu_profile()
    return {
        "date": datetime.date.today().isoformat(),
        "commit": commit,
        "cpu": platform.processor() or platform.machine(),
        "cpu_kind": cpu.kind,
        "cpu_flags": " ".join(sorted(cpu.flags)),
        "avx2_only_emulation": "cpuid_avx2" in os.environ.get("LD_PRELOAD", ""),
        "cores": os.cpu_count(),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("folder", type=Path)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--compare", action="store_true", help="also run the LangChain default")
    ap.add_argument("--json", action="store_true")
    ap.add_argument(
        "--also",
        metavar="NAME=VAL,...",
        help="also run ours with these settings (e.g. RAG_EMBEDDING_DTYPE=bfloat16), "
        'alternating with the others, as "ours@also"',
    )
    ap.add_argument(
        "--no-model-alone",
        action="store_true",
        help="skip timing the model alone on ours' chunks (saves about a third of its run)",
    )
    ap.add_argument("--one", choices=["ours", "langchain"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        if args.one == "ours":
            print(json.dumps(measure_ours(args.folder, model_alone=not args.no_model_alone)))
        else:
            print(json.dumps(measure_langchain(args.folder)))
        return
    extra = ("--no-model-alone",) if args.no_model_alone else ()

    load_start = round(os.getloadavg()[0], 2)
    pipelines = ["ours", "langchain"] if args.compare else ["ours"]
    also = dict(kv.split("=", 1) for kv in args.also.split(",")) if args.also else {}
    if also:
        pipelines.insert(1, "ours@also")
    results: dict[str, list[dict]] = {p: [] for p in pipelines}
    for round_ in range(args.runs):
        # Alternate the order so drift in machine load hits both alike.
        for p in pipelines if round_ % 2 == 0 else pipelines[::-1]:
            env = also if p == "ours@also" else None
            results[p].append(run_one(p, args.folder, env, extra))
            print(f"round {round_ + 1}: {p} {results[p][-1]['seconds']:.1f} s", file=sys.stderr)
    summary = {**_machine(), "folder": str(args.folder), "runs": args.runs}
    if also:
        summary["also"] = also
    summary["load_average_start"] = load_start
    summary["load_average_end"] = round(os.getloadavg()[0], 2)
    summary.update({p: summarize(r) for p, r in results.items()})
    if args.compare:
        ours, lc = summary["ours"], summary["langchain"]
        summary["speedup_pages_per_s"] = round(ours["pages_per_s"] / lc["pages_per_s"], 2)
        if also:
            alt = summary["ours@also"]["pages_per_s"]
            summary["speedup_also_pages_per_s"] = round(alt / lc["pages_per_s"], 2)
    if args.json:
        print(json.dumps(summary))
        return
    for key, value in summary.items():
        if isinstance(value, dict):
            print(f"{key}:")
            for k, v in value.items():
                print(f"  {k:<26} {v}")
        else:
            print(f"{key:<28} {value}")


if __name__ == "__main__":
    main()
