"""Two ingest processes and two app processes on one PostgreSQL at once.

Nothing lost (every file of both folders indexed), nothing indexed twice (the files
both ingests read are one document each, their chunks once), every question answered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from tests import pdf_factory as pdfs

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.slow,
    pytest.mark.subprocess,
    pytest.mark.timeout(300),
]
ROOT = Path(__file__).resolve().parents[2]
WORDS = ["pump", "valve", "fan", "boiler", "relay", "gasket", "filter", "heater", "motor"]


def _folder(path: Path, words: list[str]) -> Path:
    path.mkdir()
    for word in words:
        pages = [f"The {word} manual: {word} maintenance every {len(word)} weeks. " * 3] * 3
        pdfs.text_pdf(path / f"{word}.pdf", pages)
    return path


def _start(args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.pg_worker", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _result(proc: subprocess.Popen) -> dict:
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1])


def test_two_ingests_and_two_apps_share_one_database(pg_url, tmp_path):
    a = _folder(tmp_path / "a", WORDS[:3])
    b = _folder(tmp_path / "b", WORDS[3:6])
    shared = _folder(tmp_path / "shared", WORDS[6:])
    stop = tmp_path / "stop"
    env = {
        **os.environ,
        "RAG_STORE_URL": pg_url,
        "RAG_CHECKPOINT_SECONDS": "0.01",  # a commit after every file: as many as can be
        "PG_WORKER_STOP": str(stop),
        "RAG_PASSAGES": "3",
    }
    apps = [_start(["ask", "120"], env) for _ in range(2)]
    # The ingests start once both apps are up, so the apps see their commits land even when
    # a loaded machine takes many seconds to import them.
    assert all(json.loads(app.stdout.readline()) == {"ready": True} for app in apps)
    ingests = [
        _start(["ingest", str(a), str(shared)], env),
        _start(["ingest", str(b), str(shared)], env),
    ]
    done = [_result(p) for p in ingests]
    stop.touch()
    asked = [_result(p) for p in apps]

    assert {f"{w}.pdf" for w in WORDS[:3]} <= set(done[0]["added"])
    assert {f"{w}.pdf" for w in WORDS[3:6]} <= set(done[1]["added"])
    assert not done[0]["skipped"] and not done[1]["skipped"]
    with psycopg.connect(pg_url) as con:
        current = con.execute(
            "SELECT source, count(*), sum((record->>'chunks')::int) FROM rag_documents"
            " WHERE gen_to IS NULL AND gen_from IS NOT NULL GROUP BY source"
        ).fetchall()
        counted = con.execute(
            "SELECT count(*) FROM rag_chunks JOIN rag_documents USING (doc_id)"
            " WHERE gen_to IS NULL AND gen_from IS NOT NULL"
        ).fetchone()[0]
        pending = con.execute("SELECT count(*) FROM rag_documents WHERE gen_from IS NULL")
        pending = pending.fetchone()[0]
    # Every file once: the shared folder's files were read by both ingests.
    assert sorted(s for s, _, _ in current) == sorted(f"{w}.pdf" for w in WORDS)
    assert all(n == 1 for _, n, _ in current)
    assert counted == sum(c for _, _, c in current) and pending == 0
    for result in asked:
        assert result["asked"] > 0 and result["answered"] == result["asked"], result
    assert max(r["generations"] for r in asked) >= 2  # the apps saw commits land


@pytest.mark.kill
def test_an_ingest_killed_mid_run_leaves_the_last_commit_searchable(pg_url, tmp_path):
    import signal
    import time

    from core.settings import Settings
    from tests.fakes import FakeEmbedder
    from wiring.root import open_retriever, open_store

    names = [f"{w}{i}" for i in range(4) for w in WORDS]  # 36 files: the kill lands mid-run
    folder = _folder(tmp_path / "docs", names)
    env = {**os.environ, "RAG_STORE_URL": pg_url, "RAG_CHECKPOINT_SECONDS": "0.01"}
    proc = _start(["ingest", str(folder)], env)
    store = open_store(Settings(store_url=pg_url))
    deadline = time.monotonic() + 120
    while (store.committed() is None or not store.committed().documents) and proc.poll() is None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL
    committed = store.committed()
    assert committed is not None and 0 < len(committed.documents) < len(names)
    with psycopg.connect(pg_url) as con:  # the committed documents whole, nothing else
        rows = dict(
            con.execute(
                "SELECT d.source, count(c.id) FROM rag_documents d JOIN rag_chunks c"
                " USING (doc_id) WHERE d.gen_to IS NULL GROUP BY d.source"
            ).fetchall()
        )
    assert rows == {s: d.chunks for s, d in committed.documents.items()}
    with open_retriever(Settings(store_url=pg_url), FakeEmbedder()) as retriever:
        first = sorted(committed.documents)[0]
        word = Path(first).stem
        assert retriever.search(f"{word} maintenance", 3)[0].source == first
    again = _result(_start(["ingest", str(folder)], env))  # goes on where it stopped
    assert set(again["added"]) == {f"{w}.pdf" for w in names} - set(committed.documents)
    assert sorted(open_store(Settings(store_url=pg_url)).committed().documents) == sorted(
        f"{w}.pdf" for w in names
    )
