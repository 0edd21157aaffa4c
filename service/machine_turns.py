"""Processes on one machine take turns on the model: a first-come, first-served line in a file.

`make run` (the app) and `make serve` (the API) are two processes, each with the model
loaded (its weights are memory-mapped, so the two share them in the page cache). Two
llama.cpp generations at once on the same cores slow each other down far more than
twice (each one's threads wait on the other's), so a process that wants to generate
first takes the machine's turn: it writes itself at the end of a line kept in a small
file, waits until it is first, generates, and strikes itself off. Each process enters
at most once at a time (its own `ModelQueue` picks which of its questions goes), so two
busy processes alternate: neither waits for more than one answer of the other.

The file is locked (`flock`) only while it is read and rewritten, never while a model
runs. A process that died while in line (killed, crashed) is struck off by the next
reader: an entry names its process id and that process's start time, so a reused id
does not count.

>>> import tempfile, pathlib
>>> turns = MachineTurns(pathlib.Path(tempfile.mkdtemp()) / "turns")
>>> token = turns.acquire()
>>> turns.waiting()
1
>>> turns.release(token)
>>> turns.waiting()
0
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

try:
    import fcntl
except ImportError:  # not POSIX: turns are taken within each process only
    fcntl = None  # type: ignore[assignment]

POLL_S = 0.01  # how often a waiting process looks at the line (a file read)
MAX_POLL_S = 0.05


class TurnCancelled(Exception):
    """The asker went away (a client hung up) before its turn came."""


def default_path() -> Path:
    """One line per user and machine, in the temporary folder."""
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"pdf-chat-{uid}" / "model-turns"


def available() -> bool:
    return fcntl is not None


class MachineTurns:
    """The line of processes waiting for the model on this machine (see the module doc)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._me = f"{os.getpid()}:{_start_time(os.getpid())}"

    def acquire(self, cancel: threading.Event | None = None) -> str:
        """Wait until this process is first in line; returns the token `release` takes."""
        token = uuid.uuid4().hex
        with self._line() as line:
            line.append(f"{self._me} {token}")
        pause = POLL_S
        try:
            while True:
                with self._line() as line:
                    if line and line[0].endswith(token):
                        return token
                if cancel is not None and cancel.wait(pause):
                    raise TurnCancelled()
                if cancel is None:
                    time.sleep(pause)
                pause = min(pause * 1.5, MAX_POLL_S)
        except BaseException:
            self.release(token)
            raise

    def release(self, token: str) -> None:
        with self._line() as line:
            line[:] = [entry for entry in line if not entry.endswith(token)]

    def waiting(self) -> int:
        """Entries in line, the one generating included."""
        with self._line() as line:
            return len(line)

    @contextlib.contextmanager
    def _line(self) -> Iterator[list[str]]:
        """The line, locked for reading and rewriting; dead processes struck off."""
        self.path.parent.mkdir(parents=True, exist_ok=True)  # a /tmp cleaner may remove it
        with open(self.path, "a+", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                f.seek(0)
                before = [e for e in f.read().splitlines() if e.strip()]
                line = [e for e in before if _alive(e.split(" ", 1)[0])]
                kept = list(line)
                yield line
                if line != before or line != kept:
                    f.seek(0)
                    f.truncate()
                    f.write("".join(f"{e}\n" for e in line))
                    f.flush()
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot (Linux), or "" where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return stat.rsplit(")", 1)[-1].split()[19]


def _alive(who: str) -> bool:
    pid_text, _, started = who.partition(":")
    try:
        pid = int(pid_text)
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    except ValueError:
        return False
    return not started or _start_time(pid) in ("", started)
