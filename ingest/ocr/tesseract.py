"""Debian's `tesseract` (5.x), run as a subprocess on a PGM piped through stdin.

TSV output gives each word's confidence. One OpenMP thread per process: the
parser pool already runs one tesseract per core, and tesseract's own threads
only fight them. Installed by `make ocr` (apt: tesseract-ocr, tesseract-ocr-LANG).
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess

from ingest.ocr.engines import OcrResult, OcrUnavailable, lines_to_text, weighted_confidence
from ingest.ocr.render import PageImage

INSTALL_HINT = (
    "install it with `make ocr` (as root: apt-get install tesseract-ocr tesseract-ocr-eng), "
    "or pip install rapidocr==3.10.0 onnxruntime and set RAG_OCR_ENGINE=rapidocr, "
    "or turn OCR off with RAG_OCR=0"
)
# Page segmentation 3 (automatic, no orientation detection): single- and two-column pages;
# 6 (one block of lines) for lists such as contents pages.
PAGE_SEGMENTATION = "3"
SINGLE_BLOCK = "6"


@functools.cache
def _program() -> str:
    path = shutil.which("tesseract")
    if path is None:
        raise OcrUnavailable(
            "OCR needs the `tesseract` program, which is not installed", hint=INSTALL_HINT
        )
    return path


@functools.cache
def installed_languages() -> frozenset[str]:
    out = subprocess.run(
        [_program(), "--list-langs"], capture_output=True, text=True, timeout=30, check=False
    )
    return frozenset(line.strip() for line in out.stdout.splitlines()[1:] if line.strip())


@functools.cache
def _version() -> str:
    out = subprocess.run(
        [_program(), "--version"], capture_output=True, text=True, timeout=30, check=False
    )
    first = (out.stdout or out.stderr).splitlines()
    return first[0].strip() if first else "tesseract"


def check_languages(languages: str) -> None:
    missing = [lang for lang in languages.split("+") if lang not in installed_languages()]
    if missing:
        packages = " ".join(f"tesseract-ocr-{lang}" for lang in missing)
        raise OcrUnavailable(
            f"tesseract has no language data for {', '.join(missing)}",
            hint=f"install it with `make ocr OCR_LANGS={'+'.join(missing)}` "
            f"(as root: apt-get install {packages}), or change RAG_OCR_LANGUAGES",
        )


def parse_tsv(tsv: str) -> OcrResult:
    """Words (level 5 rows) grouped into lines, with their confidences.

    >>> rows = ["level\\tpage_num\\tblock_num\\tpar_num\\tline_num\\tword_num\\tleft\\ttop"
    ...         "\\twidth\\theight\\tconf\\ttext",
    ...         "5\\t1\\t1\\t1\\t1\\t1\\t0\\t0\\t9\\t9\\t96.5\\tHello",
    ...         "5\\t1\\t1\\t1\\t1\\t2\\t0\\t0\\t9\\t9\\t90\\tworld",
    ...         "5\\t1\\t1\\t1\\t2\\t1\\t0\\t20\\t9\\t9\\t50\\tBye",
    ...         "5\\t1\\t2\\t1\\t1\\t1\\t90\\t1\\t9\\t9\\t90\\t12",
    ...         "5\\t1\\t2\\t1\\t2\\t1\\t90\\t21\\t9\\t9\\t90\\t14"]
    >>> r = parse_tsv("\\n".join(rows))
    >>> r.text, r.confidence, r.words
    ('Hello world 12\\nBye 14', 0.8485, 5)
    """
    lines: dict[tuple[str, str, str], list[tuple[str, int, int, int]]] = {}
    scored: list[tuple[str, float]] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        left, top, height = int(cols[6]), int(cols[7]), int(cols[9])
        lines.setdefault((cols[2], cols[3], cols[4]), []).append((word, top, top + height, left))
        scored.append((word, max(0.0, float(cols[10])) / 100))
    texts = [[w for w, *_ in line] for line in _attach_number_columns(lines).values()]
    return OcrResult(lines_to_text(texts), weighted_confidence(scored), len(scored))


_NUMBER = re.compile(r"^[\dIVXLCivxlc.,:;()\-]+$")


def _attach_number_columns(lines: dict) -> dict:
    """A block of lone numbers (a contents page's section or page column, a table's
    figures) is read by tesseract as a column of its own; each number goes back,
    in left-to-right order, to the text line it sits on.
    """
    blocks: dict[str, list[tuple]] = {}
    for key in lines:
        blocks.setdefault(key[0], []).append(key)
    numbers = set()
    for keys in blocks.values():
        numeric = [k for k in keys if all(_NUMBER.match(w[0]) for w in lines[k])]
        if len(numeric) >= 2 and len(numeric) >= 0.8 * len(keys):
            numbers.update(numeric)
    if not numbers or len(numbers) == len(lines):
        return lines
    spans = {
        key: (min(w[1] for w in words), max(w[2] for w in words))
        for key, words in lines.items()
        if key not in numbers
    }
    merged = {key: list(words) for key, words in lines.items() if key not in numbers}
    for key in numbers:
        middle = sum((w[1] + w[2]) / 2 for w in lines[key]) / len(lines[key])
        home = [k for k, (top, bottom) in spans.items() if top <= middle <= bottom]
        if home:
            target = min(home, key=lambda k: abs(sum(spans[k]) / 2 - middle))
            merged[target] = sorted([*merged[target], *lines[key]], key=lambda w: w[3])
        else:
            merged[key] = list(lines[key])
    order = {key: n for n, key in enumerate(lines)}
    return dict(sorted(merged.items(), key=lambda item: order[item[0]]))


class TesseractEngine:
    name = "tesseract"

    @property
    def version(self) -> str:
        return _version()

    def read(
        self, image: PageImage, languages: str, timeout: float, single_block: bool = False
    ) -> OcrResult:
        check_languages(languages)
        psm = SINGLE_BLOCK if single_block else PAGE_SEGMENTATION
        command = [_program(), "stdin", "stdout", "-l", languages, "--psm", psm]
        command += ["--dpi", str(round(image.dpi)), "tsv"]
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        done = subprocess.run(
            command, input=image.pgm(), capture_output=True, timeout=timeout, env=env, check=False
        )
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"tesseract exit {done.returncode}: {(detail or [''])[-1][:120]}")
        return parse_tsv(done.stdout.decode("utf-8", "replace"))
