"""How much of each passage the page highlight finds, and what showing a cited page costs.

    .venv/bin/python bench/highlight.py ../shared/corpus/seeds /work/manuals/tricky \\
        [--chunks 400] [--work DIR] [--json]

The folders are indexed once into `--work` by the real pipeline (pdfium
extraction, clean-up, chunking with the real embedding model's tokenizer), so
the chunks carry what clean-up changed: unfolded ligatures, joined hyphens,
removed headers and footers, passages over page breaks. Then `--chunks`
chunks, drawn evenly over the index, are each rendered on their first page
with their passage marked, uncached (`app.page_render.render_page`): the
figure is the share of the passages' letters found on their pages (over all
their pages), how many chunks are found whole, and the time of render + mark
per page (median and p95). Chunks read by OCR have no text layer to mark and
are left out.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def build_index(folders: list[Path], index: Path) -> None:
    from core.settings import Settings
    from wiring.root import ingest_documents, load_embedder

    settings = Settings(index_dir=index)
    ingest_documents(folders, settings, embedder=load_embedder(settings), within=None)


def sample(index: Path, n: int) -> list[tuple]:
    from index import IndexSnapshot

    with IndexSnapshot.open(index) as snapshot:
        docs = snapshot.manifest.documents
        rows = [
            (c.source, c.page_start, c.page_end, c.text)
            for c in snapshot.iter_chunks()
            if c.ocr_confidence is None
        ]
    step = max(1, len(rows) // n)
    return [
        (Path(docs[s].real_path or docs[s].path), s, a, b, t)
        for s, a, b, t in rows[::step][:n]
        if s in docs
    ]


def measure(chunks: list[tuple]) -> dict:
    from app.page_render import render_page
    from app.passage_marks import fold

    found = total = whole = 0
    times = []
    worst = []
    for path, source, start, end, text in chunks:
        began = time.perf_counter()
        view = render_page(path, start, text, (start, end))
        times.append(time.perf_counter() - began)
        letters = len(fold(text))
        got = round(view.coverage * letters)
        found += got
        total += letters
        whole += got == letters
        if got < letters:
            worst.append((view.coverage, source, start))
    times.sort()
    return {
        "chunks": len(chunks),
        "letters_found": round(found / total, 5) if total else 0.0,
        "chunks_found_whole": whole,
        "render_mark_ms_median": round(1000 * statistics.median(times), 1),
        "render_mark_ms_p95": round(1000 * times[int(0.95 * (len(times) - 1))], 1),
        "lowest": [
            {"coverage": round(c, 3), "source": s, "page": p} for c, s, p in sorted(worst)[:5]
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("folders", nargs="+", type=Path)
    parser.add_argument("--chunks", type=int, default=400)
    parser.add_argument("--work", type=Path, default=ROOT / "data" / "bench-highlight")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    index = args.work / "index"
    if not (index / "manifest.json").exists():
        build_index(args.folders, index)
    result = measure(sample(index, args.chunks))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"{result['chunks']} chunks: {100 * result['letters_found']:.2f}% of letters found, "
        f"{result['chunks_found_whole']} chunks whole; render + mark "
        f"{result['render_mark_ms_median']} ms median, {result['render_mark_ms_p95']} ms p95"
    )
    for row in result["lowest"]:
        print(f"  {row['coverage']:.1%} {row['source']} p. {row['page']}")


if __name__ == "__main__":
    main()
