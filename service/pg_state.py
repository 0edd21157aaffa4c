"""What every process must see alike, in PostgreSQL when `RAG_STORE_URL` is set.

With the index in PostgreSQL, any number of app and API processes serve the same users
(behind a load balancer, a user's next page may come from another process). Beside the
index, the database then keeps:

- each browser session's conversation (`app.shared_state.PgConversationStore`), so a
  reload served by another process shows it;
- the ingest started from the page or the API (`SharedIngests`): one row per ingest, its
  progress, result and a stop flag. The process that runs it writes a heartbeat every
  `BEAT_SECONDS` and reads the flag; every other process shows its progress bar and its
  Stop button works from there. A row whose heartbeat stopped (its process was killed)
  no longer blocks the next ingest.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict
from typing import Any

from core.errors import RagError
from core.types import IndexTotals, IngestReport, OcrSummary, Skipped
from index import pg_schema
from ingest.pipeline import Progress
from service.ingest_job import IngestJob

BEAT_SECONDS = 2.0
STALE_SECONDS = 30.0
TABLES = """
CREATE TABLE IF NOT EXISTS rag_conversations (
    session_id text PRIMARY KEY,
    turns jsonb NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS rag_ingest_jobs (
    id bigserial PRIMARY KEY,
    label text NOT NULL,
    state text NOT NULL,
    progress jsonb,
    result jsonb,
    error text,
    stop_requested boolean NOT NULL DEFAULT false,
    started_at double precision NOT NULL,
    beat_at double precision NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS rag_ingest_jobs_one_running ON rag_ingest_jobs ((1))
    WHERE state = 'running';
"""


class StateDb:
    """One autocommit connection, serialized; the tables made on first use."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._lock = threading.Lock()
        self._con: Any = None

    def rows(self, sql: str, args: Any = ()) -> list:
        with self._lock:
            if self._con is None or self._con.closed:
                con = pg_schema.connect(self.url, autocommit=True)
                pg_schema.create_tables(con, TABLES)
                self._con = con
            try:
                cur = self._con.execute(sql, args)
                return cur.fetchall() if cur.description else []
            except BaseException:
                self._con.close()
                raise


class SharedIngests:
    """The page's ingests, one at a time across every app process."""

    def __init__(self, url: str, make_result: Any) -> None:
        """`make_result(report, rejected)`: the page's result record (`AddResult`)."""
        self._db = StateDb(url)
        self._make_result = make_result

    def start(self, job: IngestJob) -> IngestJob:
        """Record `job` as the running ingest (RagError if another process runs one), then
        start it and its heartbeat."""
        now = time.time()
        self._db.rows(
            "UPDATE rag_ingest_jobs SET state = 'failed', error = %s"
            " WHERE state = 'running' AND beat_at < %s",
            ("the app process that ran it stopped", now - STALE_SECONDS),
        )
        import psycopg

        try:
            rows = self._db.rows(
                "INSERT INTO rag_ingest_jobs (label, state, started_at, beat_at)"
                " VALUES (%s, 'running', %s, %s) RETURNING id",
                (job.label, now, now),
            )
        except psycopg.errors.UniqueViolation:
            running = self.latest()
            raise RagError(
                f"Documents are being added already ({running.label if running else '...'})",
                hint="wait for it to finish, or stop it, then add these",
            ) from None
        job.id = int(rows[0][0])
        job.start()
        threading.Thread(target=self._beat, args=(job,), daemon=True).start()
        return job

    def _beat(self, job: IngestJob) -> None:
        while True:
            finished = job.finished  # read first: the last write then holds the end state
            progress = json.dumps(asdict(job.progress)) if job.progress else None
            stop = self._db.rows(
                "UPDATE rag_ingest_jobs SET progress = %s, beat_at = %s WHERE id = %s"
                " RETURNING stop_requested",
                (progress, time.time(), job.id),
            )
            if stop and stop[0][0] and not job.cancelling:
                job.cancel()
            if finished:
                break
            time.sleep(BEAT_SECONDS)
        self._db.rows(
            "UPDATE rag_ingest_jobs SET state = %s, result = %s, error = %s WHERE id = %s",
            (job.state, _result_json(job.result), _error_text(job.error), job.id),
        )

    def latest(self) -> IngestJob | None:
        """The running ingest, or the last one, as seen from any process."""
        rows = self._db.rows(
            "SELECT id, label, state, progress, result, error, stop_requested, started_at,"
            " beat_at FROM rag_ingest_jobs ORDER BY id DESC LIMIT 1"
        )
        if not rows:
            return None
        i, label, state, progress, result, error, stop, started, beat = rows[0]
        if state == "running" and beat < time.time() - STALE_SECONDS:
            state, error = "failed", "the app process that ran it stopped"
        job = _SeenJob(label, _no_run, id=int(i), state=state)
        job.progress = Progress(**progress) if progress else None
        job.result = _result(result, self._make_result)
        job.error = RagError(error) if error else None
        job.started = time.monotonic() - (time.time() - started)
        job.request_stop = lambda: self._db.rows(
            "UPDATE rag_ingest_jobs SET stop_requested = true WHERE id = %s", (int(i),)
        )
        if stop:
            job._cancel.set()
        return job


class _SeenJob(IngestJob):
    """An ingest another process (or this one) runs, as its row shows it."""

    request_stop: Any = None

    def cancel(self) -> None:
        self._cancel.set()
        if self.request_stop is not None:
            self.request_stop()


def _no_run(_progress: Any) -> None:
    raise RuntimeError("an ingest seen in the database is run by the process that started it")


def _error_text(error: BaseException | None) -> str | None:
    if error is None:
        return None
    if isinstance(error, RagError):
        return str(error)
    return f"Adding documents failed ({type(error).__name__}) in another app process"


def _result_json(result: Any) -> str | None:
    """An `AddResult` as JSON (its report and the rejected uploads)."""
    if result is None:
        return None
    report = result.report
    body = {"rejected": list(result.rejected), "report": asdict(report) if report else None}
    return json.dumps(body, ensure_ascii=False)


def _result(body: dict | None, make_result: Any) -> Any:
    if body is None:
        return None
    r = body["report"]
    report = None
    if r is not None:
        report = IngestReport(
            **{k: tuple(r[k]) for k in ("added", "updated", "unchanged", "removed")},
            skipped=tuple(Skipped(**s) for s in r["skipped"]),
            warnings=tuple(Skipped(**s) for s in r["warnings"]),
            index=IndexTotals(**r["index"]),
            ocr=OcrSummary(**r["ocr"]),
            **{k: r[k] for k in ("files", "pages", "chunks", "seconds", "parsed_pages")},
            reused_vectors=r["reused_vectors"],
        )
    return make_result(report, tuple(body["rejected"]))
