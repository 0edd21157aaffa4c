"""Run a real ingest in its own process with the fake embedder: the target of kill tests.

    python -m tests.ingest_driver INDEX_DIR DOCS_DIR

It commits after every document (checkpoint_seconds tiny), so kills land
while parsing, embedding, and writing generations alike.
"""

from __future__ import annotations

import sys
from pathlib import Path

from core.settings import Settings
from ingest.pipeline import run_ingest
from tests.fakes import FakeEmbedder


def main() -> None:
    index, docs = Path(sys.argv[1]), Path(sys.argv[2])
    settings = Settings(index_dir=index, chunk_tokens=40, chunk_overlap=8, checkpoint_seconds=0.001)
    report = run_ingest([docs], settings, embedder=FakeEmbedder(), parser_processes=1)
    print(len(report.added), len(report.unchanged), flush=True)


if __name__ == "__main__":
    main()
