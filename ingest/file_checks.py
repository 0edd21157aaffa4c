"""Reading a user's file without trusting it: never block, never open what is not a file.

A path that passed discovery may still have become a named pipe (opening it
for reading would wait forever for a writer), a link to `/dev/zero` (reading
it never ends), or an unreadable file. The ingest holds the index lock while
it hashes, so hashing opens with O_NONBLOCK, checks the open descriptor is a
regular file before reading a byte, and gives up after the per-file time limit.

>>> import stat
>>> not_regular_reason(stat.S_IFIFO)
'not a regular file (a named pipe); it was not opened'
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import time
from dataclasses import dataclass
from pathlib import Path

from core.errors import PdfError

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISDIR, "a folder"),
)


@dataclass(frozen=True)
class FileHash:
    sha256: str
    size: int
    mtime_ns: int


def not_regular_reason(mode: int) -> str:
    kind = next((name for test, name in _KINDS if test(mode)), "a special file")
    return f"not a regular file ({kind}); it was not opened"


def unreadable_reason(err: OSError) -> str:
    """The skip reason for an OSError met while looking at or reading a file."""
    if err.errno == errno.ELOOP:
        return "symbolic link loop (it leads back to itself)"
    if err.errno in (errno.EACCES, errno.EPERM):
        return "cannot read file (permission denied)"
    if err.errno in (errno.ENOENT, errno.ENOTDIR):
        return "file vanished before it was read"
    return f"cannot read file ({err.strerror or err})"


def _hint(err_reason: str) -> str:
    if "permission" in err_reason:
        return "give this user read permission on the file, then run the ingest again"
    return "run the ingest again"


def hash_source(path: Path, timeout_s: float, block: int = 1 << 20) -> FileHash:
    """SHA-256, size and mtime of a regular file, read within `timeout_s` seconds.

    Raises PdfError (a per-file reason) if the file is not regular, cannot be
    read, changes while it is read, or takes longer than `timeout_s`.
    """
    deadline = time.monotonic() + timeout_s
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as err:
        reason = unreadable_reason(err)
        raise PdfError(reason, hint=_hint(reason)) from err
    try:
        before = os.fstat(fd)
        if not stat.S_ISREG(before.st_mode):
            raise PdfError(not_regular_reason(before.st_mode), hint="give PDF files only")
        digest = hashlib.sha256()
        while chunk := os.read(fd, block):
            digest.update(chunk)
            if time.monotonic() > deadline:
                raise PdfError(
                    f"reading it took more than {timeout_s:g} s (skipped)",
                    hint="copy it to a local disk, or raise RAG_FILE_TIMEOUT_SECONDS",
                )
        after = os.fstat(fd)
    except OSError as err:
        reason = unreadable_reason(err)
        raise PdfError(reason, hint=_hint(reason)) from err
    finally:
        os.close(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise PdfError(
            "the file changed while it was read (skipped)",
            hint="run the ingest again once the file is completely written",
        )
    return FileHash(digest.hexdigest(), after.st_size, after.st_mtime_ns)


def changed_since(path: Path, size: int, mtime_ns: int) -> str | None:
    """Why `path` is no longer the file that was hashed (size, mtime), or None."""
    try:
        st = os.stat(path)
    except OSError as err:
        return "file vanished while it was read" if err.errno == errno.ENOENT else None
    if (st.st_size, st.st_mtime_ns) != (size, mtime_ns):
        return "the file changed while it was read (skipped; run the ingest again)"
    return None
