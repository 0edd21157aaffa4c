"""Files that arrive through the browser: checked by content, named safely, never clobbered.

>>> safe_filename("../../etc/passwd.pdf")
'passwd.pdf'
>>> safe_filename("Q3 report (final).PDF")
'Q3 report (final).pdf'
>>> safe_filename("..")
'document.pdf'
"""

from __future__ import annotations

import hashlib
import os
import re
import time
import unicodedata
from pathlib import Path

from core.errors import PdfError

MAX_NAME = 120
STALE_PART_SECONDS = 3600  # a .part file this old belongs to a save that was killed


def safe_filename(name: str) -> str:
    """A plain file name ending in .pdf: no folders, no control or reserved characters."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "_", name).strip(" .")
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    stem = stem.strip(" .")[:MAX_NAME] or "document"
    return f"{stem}.pdf"


def save_upload(documents_dir: Path, name: str, data: bytes, max_bytes: int) -> Path:
    """Write an uploaded PDF inside `documents_dir` and return its path.

    The type is checked by content (a `%PDF-` header), not by extension. The
    same content uploaded again returns the existing file; another file under
    a taken name gets " (2)", " (3)", ... so nothing is overwritten.
    """
    if len(data) > max_bytes:
        raise PdfError(
            f"{name} is {len(data) / 1e6:.1f} MB, over the {max_bytes / 1e6:.0f} MB upload limit",
            hint="add large files with `python -m ingest FOLDER` instead",
        )
    if b"%PDF-" not in data[:1024]:
        raise PdfError(f"{name} is not a PDF (no %PDF header)", hint="upload PDF files only")
    documents_dir.mkdir(parents=True, exist_ok=True)
    _remove_stale_parts(documents_dir)
    filename = safe_filename(name)
    stem = filename[:-4]
    digest = hashlib.sha256(data).hexdigest()
    for n in range(1, 10_000):
        candidate = documents_dir / (filename if n == 1 else f"{stem} ({n}).pdf")
        if not candidate.exists():
            break
        if hashlib.sha256(candidate.read_bytes()).hexdigest() == digest:
            return candidate
    tmp = documents_dir / f".{candidate.name}.{os.getpid()}.part"
    tmp.write_bytes(data)
    os.replace(tmp, candidate)  # a half-written upload never looks like a document
    return candidate


def _remove_stale_parts(documents_dir: Path) -> None:
    """Delete what saves killed mid-write left behind (recent ones may still be in progress)."""
    cutoff = time.time() - STALE_PART_SECONDS
    for part in documents_dir.glob(".*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
        except OSError:  # another process removed or finished it first
            continue
