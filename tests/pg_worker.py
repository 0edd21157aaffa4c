"""A child process for the two-ingests-two-apps test: `ingest FOLDER...` or `ask SECONDS`.

Both use the store `RAG_STORE_URL` names, through the wiring, with the fake embedder.
`ask` answers questions (no model: quoted passages) until the time is up or the file
named by `PG_WORKER_STOP` exists, reopening its retriever at each new generation as the
app does, and prints one JSON line: questions asked, answered, generations seen.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

from core.settings import load_settings
from tests.fakes import FakeEmbedder
from wiring.root import build_session, ingest_documents, open_retriever, open_store


def ingest(folders: list[str]) -> None:
    report = ingest_documents(
        [Path(f) for f in folders], load_settings(), embedder=FakeEmbedder(), parser_processes=0
    )
    print(json.dumps({"added": list(report.added), "skipped": [s.file for s in report.skipped]}))


def ask(seconds: float) -> None:
    settings, embedder = load_settings(), FakeEmbedder()
    store, retriever, seen = open_store(settings), None, set()
    print(json.dumps({"ready": True}), flush=True)  # imports done: the test starts the ingests
    asked = answered = 0
    stop, deadline = os.environ.get("PG_WORKER_STOP", ""), time.monotonic() + seconds
    while time.monotonic() < deadline and not (stop and Path(stop).exists()):
        manifest = store.committed()
        if manifest is None:
            time.sleep(0.05)
            continue
        if retriever is None or retriever.generation != manifest.generation:
            retriever = open_retriever(settings, embedder, store)  # as the app: no close
            seen.add(retriever.generation)
        session = build_session(settings, retriever=retriever, embedder=embedder)
        source = sorted(manifest.documents)[asked % len(manifest.documents)]
        word = Path(source).stem
        answer = session.ask(f"What does the {word} manual say about {word} maintenance?")
        asked += 1
        answered += bool(answer.passages) and any(p.source == source for p in answer.passages)
    print(json.dumps({"asked": asked, "answered": answered, "generations": len(seen)}))


if __name__ == "__main__":
    if sys.argv[1] == "ingest":
        ingest(sys.argv[2:])
    else:
        ask(float(sys.argv[2]))
