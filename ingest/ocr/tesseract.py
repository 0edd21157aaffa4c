"""Debian's `tesseract` (5.x), run as a subprocess on a PGM piped through stdin.

TSV output gives each word's confidence. One OpenMP thread per process: the
parser pool already runs one tesseract per core, and tesseract's own threads
only fight them. Installed by `make ocr` (apt: tesseract-ocr, tesseract-ocr-LANG).
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess

from ingest.ocr.engines import OcrResult, OcrUnavailable, lines_to_text, weighted_confidence
from ingest.ocr.render import PageImage

INSTALL_HINT = (
    "install it with `make ocr` (as root: apt-get install tesseract-ocr tesseract-ocr-eng), "
    "or pip install rapidocr==3.10.0 onnxruntime and set RAG_OCR_ENGINE=rapidocr, "
    "or turn OCR off with RAG_OCR=0"
)
# Page segmentation 3 (automatic, no orientation detection): single- and two-column pages.
PAGE_SEGMENTATION = "3"


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
    ...         "5\\t1\\t1\\t1\\t2\\t1\\t0\\t0\\t9\\t9\\t50\\tBye"]
    >>> r = parse_tsv("\\n".join(rows))
    >>> r.text, r.confidence, r.words
    ('Hello world\\nBye', 0.8327, 3)
    """
    lines: dict[tuple[str, str, str], list[str]] = {}
    scored: list[tuple[str, float]] = []
    for row in tsv.splitlines()[1:]:
        cols = row.split("\t")
        if len(cols) < 12 or cols[0] != "5":
            continue
        word = cols[11].strip()
        if not word:
            continue
        lines.setdefault((cols[2], cols[3], cols[4]), []).append(word)
        scored.append((word, max(0.0, float(cols[10])) / 100))
    return OcrResult(lines_to_text(list(lines.values())), weighted_confidence(scored), len(scored))


class TesseractEngine:
    name = "tesseract"

    @property
    def version(self) -> str:
        return _version()

    def read(self, image: PageImage, languages: str, timeout: float) -> OcrResult:
        check_languages(languages)
        command = [_program(), "stdin", "stdout", "-l", languages, "--psm", PAGE_SEGMENTATION]
        command += ["--dpi", str(round(image.dpi)), "tsv"]
        env = dict(os.environ, OMP_THREAD_LIMIT="1")
        done = subprocess.run(
            command, input=image.pgm(), capture_output=True, timeout=timeout, env=env, check=False
        )
        if done.returncode != 0:
            detail = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise RuntimeError(f"tesseract exit {done.returncode}: {(detail or [''])[-1][:120]}")
        return parse_tsv(done.stdout.decode("utf-8", "replace"))
