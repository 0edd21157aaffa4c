"""One writer per index: an advisory `flock` on `index_dir/.lock`.

The kernel releases the lock when the holder dies (even on kill -9), so a
crashed ingest never leaves the index locked.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

from core.errors import IndexLockedError


class WriteLock:
    def __init__(self, index_dir: Path, timeout: float = 10.0, on_wait=None) -> None:
        self.path = index_dir / ".lock"
        self.timeout = timeout
        self.on_wait = on_wait
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                if time.monotonic() >= deadline:
                    os.close(fd)
                    raise IndexLockedError(
                        f"another ingest (pid {holder}) is writing to the index at "
                        f"{self.path.parent}",
                        hint="wait for it to finish and run again, or raise "
                        "RAG_LOCK_TIMEOUT_SECONDS to wait longer",
                    ) from None
                if not told and self.on_wait is not None:
                    self.on_wait(holder)
                    told = True
                time.sleep(0.2)
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> WriteLock:
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()
