"""OCR benchmark: accuracy, speed and retrieval on scans, through the ingest's own code.

    .venv/bin/python bench/ocr.py image-pdf SRC.pdf OUT.pdf --pages 1-10 --dpi 150
    .venv/bin/python bench/ocr.py cer SPEC... [--engines tesseract rapidocr]
                                  [--configs 150:150 150:300 300:300] [--keep DIR]
    .venv/bin/python bench/ocr.py scans --docs SEEDS --qa seeds_dev.jsonl [--scan-dpi 150]
                                  [--ocr-dpi 300]
    .venv/bin/python bench/ocr.py parse-speed PDF... [--rounds 3]

SPEC is `path.pdf:FIRST-LAST:LANG` (LANG as tesseract names it: eng, fra, spa).
`cer` makes an image-only PDF of each SPEC's pages at the scan dpi (what a
scanner gives), ingests it with `parse_file` exactly as the workers do (OCR'd
at the OCR dpi), and compares each page with the born-digital text of the same
page read the same way: character error rate = edit distance / truth length,
whitespace collapsed, per language and per page type ("formula/symbols" when
a quarter of a page's lines hold a math sign or are letter-spaced). `scans` ingests the seed
PDFs and their image-only renderings with the real embedding model and asks
the questions of both; the evidence pages come from the born-digital text for
both, so an OCR typo inside the evidence phrase does not hide a right page.
`parse-speed` times parsing born-digital PDFs with OCR off and on, alternating.
JSON on stdout, a table on stderr. Single process: seconds are per core.
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import time
import unicodedata
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pypdfium2 as pdfium

from ingest.ocr import OcrConfig
from ingest.parse_pool import FileDone, OcrPageRead, PagesParsed, parse_file


def image_only_pdf(src: Path, first: int, last: int, dpi: int) -> bytes:
    """Pages first..last (1-based) of `src` as grayscale pictures: no text layer."""
    pdf = pdfium.PdfDocument(str(src))
    try:
        images = [
            pdf[i].render(scale=dpi / 72, grayscale=True).to_pil().convert("L")
            for i in range(first - 1, min(last, len(pdf)))
        ]
    finally:
        pdf.close()
    out = io.BytesIO()
    images[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=images[1:])
    return out.getvalue()


def read_pages(path: Path, ocr: OcrConfig) -> tuple[dict[int, str], list[float], FileDone]:
    """Page texts as the ingest reads them, the OCR seconds of each OCR'd page, and FileDone."""
    texts, seconds, done = {}, [], None
    for event in parse_file(0, path, "pdfium", 16, ocr):
        if isinstance(event, PagesParsed):
            texts.update((p.page, p.text) for p in event.pages)
        elif isinstance(event, OcrPageRead):
            seconds.append(event.seconds)
        elif isinstance(event, FileDone):
            done = event
    return texts, seconds, done


def normalized(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).split())


def page_type(text: str) -> str:
    """'formula/symbols' for pages of formulas, code or character lists, else 'prose'.

    >>> page_type("l1 ≤ x1 ≤ u1\\nThe bounds of the variables.")
    'formula/symbols'
    >>> page_type("The warranty lasts two years.\\nIt covers parts.")
    'prose'
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]

    def symbolic(words: list[str]) -> bool:
        math = any(unicodedata.category(c) == "Sm" for w in words for c in w)
        singles = sum(len(w) == 1 and w.isalnum() for w in words)
        return math or (len(words) >= 6 and singles >= len(words) * 2 / 3)

    return "formula/symbols" if sum(map(symbolic, lines)) >= len(lines) / 4 else "prose"


def cer(args) -> dict:
    from rapidfuzz.distance import Levenshtein

    specs = [_spec(s) for s in args.specs]
    keep = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="ocr-bench-"))
    keep.mkdir(parents=True, exist_ok=True)
    rows = []
    for path, first, last, lang in specs:
        truth, _, _ = read_pages(path, OcrConfig(enabled=False))
        for config in args.configs:
            scan_dpi, ocr_dpi = map(int, config.split(":"))
            scan = keep / f"image_only_{path.stem}_p{first}-{last}_{scan_dpi}dpi.pdf"
            if not scan.exists():
                scan.write_bytes(image_only_pdf(path, first, last, scan_dpi))
            for engine in args.engines:
                ocr = OcrConfig(engine=engine, languages=lang, dpi=ocr_dpi, cache_dir=None)
                texts, seconds, _ = read_pages(scan, ocr)
                for offset, page in enumerate(range(first, last + 1)):
                    want = normalized(truth.get(page, ""))
                    got = normalized(texts.get(offset + 1, ""))
                    if not want:
                        continue
                    rows.append(
                        {
                            "file": path.name,
                            "page": page,
                            "lang": lang,
                            "type": page_type(truth.get(page, "")),
                            "engine": engine,
                            "scan_dpi": scan_dpi,
                            "ocr_dpi": ocr_dpi,
                            "chars": len(want),
                            "edits": Levenshtein.distance(got, want),
                            "seconds": seconds[offset] if offset < len(seconds) else None,
                        }
                    )
                print(f"{path.name} {config} {engine}: done", file=sys.stderr)
    return {"pages": rows, "summary": _cer_summary(rows), "image_pdfs": str(keep)}


def _cer_summary(rows: list[dict]) -> list[dict]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in rows:
        config = (r["engine"], r["scan_dpi"], r["ocr_dpi"])
        for key in (("all",), ("lang", r["lang"]), ("type", r["type"]), ("file", r["file"])):
            groups[(*config, *key)].append(r)
    out = []
    for key, items in groups.items():
        seconds = [r["seconds"] for r in items if r["seconds"] is not None]
        out.append(
            {
                "engine": key[0],
                "scan_dpi": key[1],
                "ocr_dpi": key[2],
                "group": ":".join(map(str, key[3:])),
                "pages": len(items),
                "cer": round(sum(r["edits"] for r in items) / sum(r["chars"] for r in items), 4),
                "pages_per_s": round(len(seconds) / sum(seconds), 3) if seconds else None,
            }
        )
    return out


def _spec(text: str) -> tuple[Path, int, int, str]:
    path, pages, lang = text.rsplit(":", 2)
    first, _, last = pages.partition("-")
    return Path(path), int(first), int(last or first), lang


def scans(args) -> dict:
    from core.settings import Settings
    from evals.retrieval.metrics import Ranked, evidence_pages, first_hit, load_questions, summarize
    from wiring.root import ingest_documents, load_embedder, open_retriever

    questions = load_questions(args.qa)
    tmp = Path(tempfile.mkdtemp(prefix="ocr-scans-"))
    scanned = tmp / "scanned"
    scanned.mkdir()
    for pdf in sorted(Path(args.docs).glob("*.pdf")):
        n = len(pdfium.PdfDocument(str(pdf)))
        (scanned / pdf.name).write_bytes(image_only_pdf(pdf, 1, n, args.scan_dpi))
    base = Settings(index_dir=tmp / "born", ocr_cache_dir=tmp / "cache")
    embedder = load_embedder(base)
    runs = {"born_digital": (Path(args.docs), base)}
    for dpi in args.ocr_dpi:
        settings = base.replace(
            index_dir=tmp / f"scan{dpi}", ocr_dpi=dpi, ocr_cache_dir=tmp / f"c{dpi}"
        )
        runs[f"scanned_{args.scan_dpi}dpi_ocr_{dpi}dpi"] = (scanned, settings)
    report, truth = {}, None
    for name, (docs, settings) in runs.items():
        started = time.monotonic()
        ingested = ingest_documents([docs], settings, embedder=embedder)
        seconds = time.monotonic() - started
        with open_retriever(settings, embedder) as retriever:
            snapshot = retriever.snapshot
            sources = set(snapshot.manifest.documents)
            truth = truth or {
                q.id: evidence_pages(q, sources, [snapshot.page_text]) for q in questions
            }
            ranked, naive = [], []
            for q in questions:
                passages = retriever.search(q.question, args.k)
                spans = [(p.source, p.page_start, p.page_end) for p in passages]
                ranked.append(Ranked(q.answerable, first_hit(spans, truth[q.id]), len(passages)))
                own = evidence_pages(q, sources, [snapshot.page_text])
                naive.append(Ranked(q.answerable, first_hit(spans, own), len(passages)))
        ocr = ingested.ocr
        report[name] = {
            "judged_by_born_digital_evidence": summarize(ranked, args.k),
            "judged_by_own_text": summarize(naive, args.k),
            "ingest_seconds": round(seconds, 1),
            "ocr_pages": ocr.pages,
            "ocr_seconds": round(ocr.seconds, 3),
            "warnings": [w.reason for w in ingested.warnings],
        }
    return report


def parse_speed(args) -> dict:
    """Born-digital parsing, OCR off and on, alternating; pages/s and pages OCR'd."""
    paths = [Path(p) for p in args.pdfs]
    cache = Path(tempfile.mkdtemp(prefix="ocr-speed-"))
    configs = {"ocr_off": OcrConfig(enabled=False), "ocr_on": OcrConfig(cache_dir=cache)}
    times: dict[str, list[float]] = defaultdict(list)
    pages, routed = 0, {}
    for _ in range(args.rounds):
        for name, config in configs.items():
            started = time.perf_counter()
            pages = 0
            for path in paths:
                texts, _, done = read_pages(path, config)
                pages += len(texts)
                if done.ocr is not None:
                    routed[path.name] = len(done.ocr.pages) + len(done.ocr.unreadable)
            times[name].append(time.perf_counter() - started)
    return {
        "pages": pages,
        "pages_routed_to_ocr": routed,
        **{
            name: {
                "median_s": round(statistics.median(t), 2),
                "pages_per_s": round(pages / statistics.median(t), 1),
                "runs_s": [round(x, 2) for x in t],
            }
            for name, t in times.items()
        },
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench/ocr.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)
    one = sub.add_parser("image-pdf", help="an image-only PDF of some pages")
    one.add_argument("src", type=Path)
    one.add_argument("out", type=Path)
    one.add_argument("--pages", default="1-10")
    one.add_argument("--dpi", type=int, default=150)
    c = sub.add_parser("cer", help="character error rate and pages/s")
    c.add_argument("specs", nargs="+")
    c.add_argument("--engines", nargs="+", default=["tesseract"])
    c.add_argument("--configs", nargs="+", default=["150:150", "150:300", "300:300"])
    c.add_argument("--keep", help="folder for the image-only PDFs made")
    s = sub.add_parser("scans", help="retrieval on image-only seeds vs born-digital")
    s.add_argument("--docs", type=Path, required=True)
    s.add_argument("--qa", type=Path, required=True)
    s.add_argument("--scan-dpi", type=int, default=150)
    s.add_argument("--ocr-dpi", type=int, nargs="+", default=[300])
    s.add_argument("-k", type=int, default=5)
    ps = sub.add_parser("parse-speed", help="born-digital parsing with OCR off and on")
    ps.add_argument("pdfs", nargs="+")
    ps.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    if args.command == "image-pdf":
        first, _, last = args.pages.partition("-")
        args.out.write_bytes(image_only_pdf(args.src, int(first), int(last or first), args.dpi))
        return 0
    report = {"cer": cer, "scans": scans, "parse-speed": parse_speed}[args.command](args)
    if args.command == "cer":
        for row in report["summary"]:
            print(json.dumps(row), file=sys.stderr)
    print(json.dumps(report, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
