"""The parser pool survives parsers that crash or hang, and reports each such file."""

from __future__ import annotations

import os
import time

import pytest

from ingest.parse_pool import FileDone, FileFailed, PagesParsed, ParserPool, parse_file
from tests import pdf_factory as pdfs


def sabotaged_parse(index, path, backend, batch_pages):
    """The real parser, except that it dies on crash*.pdf, hangs on hang*.pdf and
    allocates without bound on bomb*.pdf."""
    if path.name.startswith("crash"):
        os._exit(11)
    if path.name.startswith("hang"):
        time.sleep(3600)
    if path.name.startswith("bomb"):
        hog = []
        while True:
            hog.append(bytearray(64 << 20))
    yield from parse_file(index, path, backend, batch_pages)


@pytest.mark.slow
@pytest.mark.kill
@pytest.mark.hostile
def test_crash_hang_and_memory_bomb_cost_one_file_each(tmp_path):
    paths = []
    for name in ("a", "crash", "b", "hang", "c", "bomb"):
        paths.append(pdfs.text_pdf(tmp_path / f"{name}.pdf", [f"text of {name}"]))
    # The stall limit leaves room for a worker to start on a busy machine.
    pool = ParserPool(2, stall_seconds=6.0, memory_mb=512, parse=sabotaged_parse)
    events = list(pool.events(paths))
    ends = {e.index: e for e in events if isinstance(e, FileDone | FileFailed)}
    assert sorted(ends) == [0, 1, 2, 3, 4, 5]
    assert isinstance(ends[5], FileFailed) and "memory" in ends[5].reason
    assert isinstance(ends[1], FileFailed) and "crashed" in ends[1].reason
    assert isinstance(ends[3], FileFailed) and "stalled" in ends[3].reason
    for i, name in ((0, "a"), (2, "b"), (4, "c")):
        assert isinstance(ends[i], FileDone)
        texts = [
            p.text for e in events if isinstance(e, PagesParsed) and e.index == i for p in e.pages
        ]
        assert any(f"text of {name}" in t for t in texts)


def test_pages_arrive_in_order_in_bounded_batches(tmp_path):
    path = pdfs.text_pdf(tmp_path / "long.pdf", [f"page number {i}" for i in range(1, 41)])
    events = list(ParserPool(1, batch_pages=16).events([path]))
    batches = [e.pages for e in events if isinstance(e, PagesParsed)]
    assert [len(b) for b in batches] == [16, 16, 8]
    assert [p.page for b in batches for p in b] == list(range(1, 41))
