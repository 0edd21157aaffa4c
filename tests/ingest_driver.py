"""Run a real ingest in its own process with the fake embedder: the target of kill tests.

    python -m tests.ingest_driver INDEX_DIR DOCS_DIR
    python -m tests.ingest_driver INDEX_DIR DOCS_DIR --wait-after N
    python -m tests.ingest_driver INDEX_DIR DOCS_DIR --rebuild

It commits after every document (checkpoint_seconds tiny), so kills land
while parsing, embedding, and writing generations alike. With `--wait-after N`
it never checkpoints, handles SIGTERM as the CLI does, and once N files are
done prints "ready N" and waits for a signal: what SIGTERM keeps is then
exactly what a clean stop commits.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from core.settings import Settings
from ingest.signals import Terminated, sigterm_as_interrupt
from tests.fakes import FakeEmbedder
from wiring.root import ingest_documents


def main() -> None:
    index, docs = Path(sys.argv[1]), Path(sys.argv[2])
    if len(sys.argv) > 3 and sys.argv[3] == "--wait-after":
        sys.exit(_wait_for_signal(index, docs, int(sys.argv[4])))
    rebuild = sys.argv[3:] == ["--rebuild"]
    settings = Settings(
        index_dir=index,
        chunk_tokens=40,
        chunk_overlap=8,
        checkpoint_seconds=0.001,
        embedding_batch_size=1,  # many small embedding calls: kills land between them
    )
    embedder = SlowEmbedder(float(os.environ.get("DRIVER_EMBED_DELAY", "0")))
    report = ingest_documents(
        [docs], settings, embedder=embedder, parser_processes=1, rebuild=rebuild
    )
    print(len(report.added), len(report.unchanged), flush=True)


class SlowEmbedder(FakeEmbedder):
    """Each embedding call takes `delay` seconds longer: kills land among the files."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    def embed(self, texts):
        time.sleep(self.delay)
        return super().embed(texts)


def _wait_for_signal(index: Path, docs: Path, after: int) -> int:
    settings = Settings(index_dir=index, chunk_tokens=40, chunk_overlap=8, checkpoint_seconds=3600)

    def progress(p) -> None:
        if p.files_done >= after:
            print("ready", p.files_done, flush=True)
            time.sleep(600)  # the test sends its signal now

    try:
        with sigterm_as_interrupt():
            ingest_documents(
                [docs], settings, embedder=FakeEmbedder(), parser_processes=0, on_progress=progress
            )
    except Terminated:
        return 143
    return 0


if __name__ == "__main__":
    main()
