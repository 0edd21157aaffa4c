"""Files that arrive through the browser: checked by content, named safely, never clobbered.

An upload is streamed to disk a block at a time (hashed and checked on the
way), so saving holds one block, not a copy of the file. Names are capped in
bytes, not characters: a file system allows 255 bytes per name, and 90 CJK
characters are 270 bytes; the cap leaves room for " (N)" and for the
temporary `.NAME.XXXXXXXX.part` name the file is written under.

Every browser session runs in one process, so two uploads of one name may be
saved at once: each is written under a temporary name of its own (`mkstemp`),
and put in place with a link that never replaces a file (`os.link`), so they
end as two files, or one if their content is the same, never as a mix.

>>> safe_filename("../../etc/passwd.pdf")
'passwd.pdf'
>>> safe_filename("Q3 report (final).PDF")
'Q3 report (final).pdf'
>>> safe_filename("..")
'document.pdf'
>>> len(safe_filename("報" * 90).encode()) <= MAX_NAME_BYTES + len(".pdf")
True
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import re
import tempfile
import time
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from core.errors import PdfError, RagError
from core.files import sha256_file
from core.text import is_bidi_control, printable
from ingest.extract import HEADER_BYTES, has_pdf_header

# 255 bytes per name, less ".pdf" (4), " (9999)" (7) and ".", ".XXXXXXXX.part" (15).
MAX_NAME_BYTES = 255 - 4 - 7 - 15 - 30  # and a margin for file systems that count otherwise
STALE_PART_SECONDS = 3600  # a .part file this old belongs to a save that was killed
BLOCK = 1 << 20


@dataclass(frozen=True)
class SavedUpload:
    path: Path
    created: bool  # False: a file with the same content was there already


def safe_filename(name: str) -> str:
    """A plain file name ending in .pdf: no folders, no control, reserved or bidi characters
    (a right-to-left override makes "\u202egnp.pdf" show as "fdp.png")."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    name = re.sub(r"[\x00-\x1f\x7f<>:\"|?*]", "_", name)
    name = "".join("_" if is_bidi_control(c) else c for c in name).strip(" .")
    stem = name[:-4] if name.lower().endswith(".pdf") else name
    stem = _cut_to_bytes(stem.strip(" ."), MAX_NAME_BYTES).strip(" .") or "document"
    return f"{stem}.pdf"


def _cut_to_bytes(text: str, limit: int) -> str:
    """The longest prefix of `text` whose UTF-8 fits in `limit` bytes (whole characters)."""
    return text.encode("utf-8")[:limit].decode("utf-8", errors="ignore")


def save_upload(documents_dir: Path, name: str, data: bytes | BinaryIO, max_bytes: int) -> Path:
    """Write an uploaded PDF inside `documents_dir` and return its path (see `store_upload`)."""
    return store_upload(documents_dir, name, data, max_bytes).path


def store_upload(
    documents_dir: Path, name: str, data: bytes | BinaryIO, max_bytes: int
) -> SavedUpload:
    """Stream an uploaded PDF into `documents_dir`.

    The type is checked by content (a `%PDF-` header), not by extension. The
    same content uploaded again returns the existing file; another file under
    a taken name gets " (2)", " (3)", ... so nothing is overwritten.
    """
    stream = io.BytesIO(data) if isinstance(data, bytes | bytearray) else data
    try:
        documents_dir.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(documents_dir)
        filename = safe_filename(name)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{filename}.", suffix=".part", dir=documents_dir)
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            digest = _stream_to(tmp, stream, name, max_bytes)
            return _place(tmp, documents_dir, filename, digest)
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as err:
        raise RagError(
            f"{printable(name)} could not be saved ({err.strerror or err})",
            hint="free some disk space where uploads are kept (RAG_DOCUMENTS_DIR), "
            "or set RAG_DOCUMENTS_DIR to a writable folder",
        ) from err


def _stream_to(tmp: Path, stream: BinaryIO, name: str, max_bytes: int) -> str:
    """Copy `stream` into `tmp` block by block, checking the header and the size limit."""
    digest, written = hashlib.sha256(), 0
    with open(tmp, "wb") as out:
        head = stream.read(HEADER_BYTES)
        if not has_pdf_header(head):
            raise PdfError(
                f"{printable(name)} is not a PDF (no %PDF header)", hint="upload PDF files only"
            )
        block = head
        while block:
            written += len(block)
            if written > max_bytes:
                raise _too_large(name, stream, max_bytes)
            digest.update(block)
            out.write(block)
            block = stream.read(BLOCK)
    return digest.hexdigest()


def _too_large(name: str, stream: BinaryIO, max_bytes: int) -> PdfError:
    size = getattr(stream, "size", None)  # Streamlit's UploadedFile knows it
    if size is None and stream.seekable():
        size = stream.seek(0, io.SEEK_END)
    what = f"{size / 1e6:.1f} MB" if size else "larger"
    return PdfError(
        f"{printable(name)} is {what}, over the {max_bytes / 1e6:.0f} MB upload limit",
        hint="add large files with `python -m ingest FOLDER` instead",
    )


def _place(tmp: Path, documents_dir: Path, filename: str, digest: str) -> SavedUpload:
    """Give the saved upload a free name: " (2)", " (3)", ... ; a name taken meanwhile by
    another upload is never replaced (the link fails and the next name is tried)."""
    stem = filename[:-4]
    for n in range(1, 10_000):
        candidate = documents_dir / (filename if n == 1 else f"{stem} ({n}).pdf")
        if candidate.exists():
            if sha256_file(candidate) == digest:
                return SavedUpload(candidate, created=False)
            continue
        try:
            _link_new(tmp, candidate)
        except FileExistsError:  # another upload of this name, a moment earlier
            if sha256_file(candidate) == digest:
                return SavedUpload(candidate, created=False)
            continue
        return SavedUpload(candidate, created=True)
    raise OSError(errno.EEXIST, f"no free name for {filename}")


def _link_new(tmp: Path, target: Path) -> None:
    """Make `tmp`'s file appear as `target`, whole, only if `target` does not exist."""
    try:
        os.link(tmp, target)  # atomic and never replaces: FileExistsError if taken
    except FileExistsError:
        raise
    except OSError:  # a file system without hard links: the rename may replace a file
        if target.exists():
            raise FileExistsError(target) from None
        os.rename(tmp, target)


def _remove_stale_parts(documents_dir: Path) -> None:
    """Delete what saves killed mid-write left behind (recent ones may still be in progress)."""
    cutoff = time.time() - STALE_PART_SECONDS
    for part in documents_dir.glob(".*.part"):
        try:
            if part.stat().st_mtime < cutoff:
                part.unlink()
        except OSError:  # another process removed or finished it first
            continue
