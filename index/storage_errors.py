"""A full disk or a read-only index folder: one error with the way out, not a traceback.

OSError (ENOSPC, EROFS, EACCES, ...), SQLite's "database or disk is full" and
FAISS's write errors all mean the same to a user: the index cannot be written
here. They become `IndexWriteError`, which the CLI reports with exit code 2.
"""

from __future__ import annotations

import errno
import functools
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from core.errors import IndexWriteError

_FULL = {errno.ENOSPC, errno.EDQUOT}
_READ_ONLY = {errno.EROFS, errno.EACCES, errno.EPERM}
T = TypeVar("T")


def full_disk(index_dir: Path) -> IndexWriteError:
    return IndexWriteError(
        f"the disk holding the index {index_dir} is full; the index is as it was before this run",
        hint="free some space on that disk (or give --index / RAG_INDEX_DIR a folder on "
        "another disk) and run the same command again",
    )


def read_only(index_dir: Path, why: str) -> IndexWriteError:
    return IndexWriteError(
        f"the index folder {index_dir} cannot be written ({why})",
        hint="give this user write permission there, or give --index / RAG_INDEX_DIR "
        "a writable folder",
    )


def translate(err: BaseException, index_dir: Path) -> IndexWriteError | None:
    """The IndexWriteError `err` means, or None if it is another kind of failure."""
    if isinstance(err, OSError) and err.errno in _FULL:
        return full_disk(index_dir)
    if isinstance(err, OSError) and err.errno in _READ_ONLY:
        return read_only(index_dir, err.strerror or "permission denied")
    text = str(err).lower()
    if isinstance(err, sqlite3.OperationalError | RuntimeError):
        if "disk is full" in text or "no space left" in text:
            return full_disk(index_dir)
        if "readonly" in text or "read-only" in text:
            return read_only(index_dir, "read-only")
    return None


@contextmanager
def storage_errors(index_dir: Path) -> Iterator[None]:
    try:
        yield
    except (OSError, sqlite3.OperationalError, RuntimeError) as err:
        meant = translate(err, index_dir)
        if meant is None:
            raise
        raise meant from err


def guarded(method: Callable[..., T]) -> Callable[..., T]:
    """Decorate an IndexWriter method: storage errors become IndexWriteError."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        with storage_errors(self.index_dir):
            return method(self, *args, **kwargs)

    return wrapper
