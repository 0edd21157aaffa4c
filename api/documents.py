"""/v1/documents: list, add (upload or server path) and remove PDFs; follow a long ingest.

    GET    /v1/documents                    the indexed documents, and the running ingest
    POST   /v1/documents                    multipart `file` fields, or JSON {"path": ...}
    GET    /v1/documents/jobs/{id}          an ingest's progress and, once done, its report
                                            (?stream=true: server-sent events until it ends)
    DELETE /v1/documents/jobs/{id}          stop it (finished files stay indexed)
    DELETE /v1/documents/{name}             take a document out of the index (its file stays)

An ingest runs in the background, as the app's does (`service.ingest_job`): a POST
waits up to `?wait=` seconds (default 60) and answers 200 with the report if it ended,
else 202 with the job to follow. A client that hangs up does not stop it.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import OrderedDict
from dataclasses import asdict
from pathlib import Path

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException

from api.errors import ApiError, no_index_error
from api.schemas import PathsRequest, parse
from core.errors import RagError
from core.text import redact_paths
from service.ingest_job import IngestJob
from service.shared import AddResult, SharedService
from service.uploads import Upload, check_within_roots

router = APIRouter()
KEEP_JOBS = 50
PROGRESS_EVERY_S = 0.5


class Jobs:
    """The API's recent ingests by id (the service keeps only the last)."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[int, IngestJob] = OrderedDict()

    def add(self, job: IngestJob) -> None:
        self._jobs[job.id] = job
        while len(self._jobs) > KEEP_JOBS:
            self._jobs.popitem(last=False)

    def get(self, job_id: int) -> IngestJob:
        job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(
                404,
                f"There is no ingest job {job_id}",
                code="job_not_found",
                hint=f"GET /v1/documents shows the running one; the last {KEEP_JOBS} are kept",
            )
        return job


def job_json(job: IngestJob) -> dict:
    p = job.progress
    result: AddResult | None = job.result if job.state == "done" else None
    ended = job.ended or time.monotonic()
    return {
        "id": job.id,
        "object": "ingest.job",
        "state": job.state,
        "label": job.label,
        "status": job.status() if job.state == "running" else job.state,
        "progress": {**asdict(p), "share": round(job.share, 4)} if p is not None else None,
        "seconds": round(ended - job.started, 3),
        "report": result.report.to_json() if result and result.report else None,
        "rejected": list(result.rejected) if result else [],
        "error": {"message": redact_paths(str(job.error)), "type": type(job.error).__name__}
        if job.error is not None
        else None,
        "url": f"/v1/documents/jobs/{job.id}",
    }


def document_json(record) -> dict:
    return {
        "name": record.source,
        "object": "document",
        "pages": record.pages,
        "chunks": record.chunks,
        "bytes": record.size,
        "sha256": record.sha256,
        "ocr_pages": record.ocr_pages,
        "empty_pages": record.empty_pages,
        "ingested_at": int(record.ingested_at),
    }


@router.get("/v1/documents")
async def list_documents(request: Request) -> dict:
    svc: SharedService = request.app.state.service
    manifest = await run_in_threadpool(svc.manifest)
    job = svc.ingest_job()
    indexed = manifest.documents if manifest else {}
    skipped = manifest.skipped if manifest else {}
    return {
        "object": "list",
        "data": [document_json(indexed[name]) for name in sorted(indexed)],
        "skipped": [{"file": f, "reason": skipped[f]} for f in sorted(skipped)],
        "ingest": job_json(job) if job is not None and not job.finished else None,
    }


@router.post("/v1/documents")
async def add_documents(request: Request, wait: float = Query(60.0, ge=0.0, le=3600.0)) -> Response:
    svc: SharedService = request.app.state.service
    kind = request.headers.get("content-type", "").lower()
    if kind.startswith("multipart/form-data"):
        job = await _start_uploads(svc, request)
    elif kind.startswith("application/json"):
        body = parse(PathsRequest, await request.body())
        job = await run_in_threadpool(_start_paths, svc, body.all_paths())
    else:
        raise ApiError(
            415,
            f"POST /v1/documents takes multipart/form-data or JSON, not {kind or 'no type'!r}",
            code="unsupported_media_type",
            hint='upload with `curl -F file=@doc.pdf`, or send {"path": "/folder/on/server"}',
        )
    request.app.state.jobs.add(job)
    deadline = time.monotonic() + wait
    while not job.finished and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    if not job.finished:
        body = job_json(job)
        return JSONResponse(body, status_code=202, headers={"Location": body["url"]})
    if job.state == "failed":
        raise job.error
    return JSONResponse(job_json(job))


async def _start_uploads(svc: SharedService, request: Request) -> IngestJob:
    limit = svc.settings.app.upload_max_files
    try:
        form = await request.form(max_files=limit, max_fields=100)
    except (MultiPartException, HTTPException) as exc:  # Starlette raises the latter in an app
        detail = str(getattr(exc, "detail", exc)).rstrip(".")
        raise ApiError(
            413 if "Too many files" in detail else 400,
            f"The upload could not be read ({detail})",
            code="invalid_upload",
            hint=f"send at most {limit} PDF files per request, as multipart `file` fields",
        ) from exc
    files = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
    if not files:
        raise ApiError(
            400,
            "The upload holds no file",
            code="missing_field",
            param="file",
            hint="send the PDFs as multipart `file` fields: curl -F file=@doc.pdf ...",
        )
    uploads = [Upload(f.filename or "document.pdf", f.file) for f in files]
    try:
        saved, rejected = await run_in_threadpool(svc.save_uploads, uploads)
    finally:
        await form.close()
    label = f"{len(files)} uploaded file" + ("s" if len(files) != 1 else "")
    return _start(svc, label, lambda progress: svc.ingest_saved(saved, rejected, progress))


def _start_paths(svc: SharedService, given: list[str]) -> IngestJob:
    if not given:
        raise ApiError(
            400,
            "Neither `path` nor `paths` was given",
            code="missing_field",
            param="path",
            hint='send {"path": "/folder/on/server"} or upload files as multipart',
        )
    paths = [Path(os.path.expanduser(p)) for p in given]
    try:
        check_within_roots(paths, svc.settings)
    except RagError as exc:
        raise ApiError(403, str(exc), code="outside_ingest_roots", param="path") from exc
    missing = [p for p in paths if not p.exists()]
    if missing:
        raise ApiError(
            404,
            f"There is no folder or PDF named {missing[0].name or str(missing[0])!r} there",
            code="path_not_found",
            param="path",
            hint="check the path on the server that runs the API",
        )
    label = ", ".join(p.name or str(p) for p in paths)
    return _start(svc, label, lambda progress: svc.ingest(paths, progress))


def _start(svc: SharedService, label: str, run) -> IngestJob:
    try:
        return svc.start_ingest(label, run)
    except RagError as exc:
        raise ApiError(
            409,
            exc.message,
            code="ingest_running",
            hint="follow it at GET /v1/documents (`ingest`), then send these again",
        ) from exc


@router.get("/v1/documents/jobs/{job_id}")
async def get_job(request: Request, job_id: int, stream: bool = False) -> Response:
    job = request.app.state.jobs.get(job_id)
    if not stream:
        return JSONResponse(job_json(job))

    async def progress():
        while True:
            yield f"data: {json.dumps(job_json(job), ensure_ascii=False)}\n\n".encode()
            if job.finished:
                yield b"data: [DONE]\n\n"
                return
            await asyncio.sleep(PROGRESS_EVERY_S)

    return StreamingResponse(progress(), media_type="text/event-stream")


@router.delete("/v1/documents/jobs/{job_id}")
async def stop_job(request: Request, job_id: int) -> dict:
    job = request.app.state.jobs.get(job_id)
    job.cancel()
    return job_json(job)


@router.delete("/v1/documents/{name:path}")
async def remove_document(request: Request, name: str) -> dict:
    svc: SharedService = request.app.state.service
    manifest = await run_in_threadpool(svc.manifest)
    if manifest is None:
        raise no_index_error()
    if name not in manifest.documents:
        raise ApiError(
            404,
            f"No indexed document is named {name!r}",
            code="document_not_found",
            hint="GET /v1/documents lists the names (URL-encode spaces and slashes as %20, /)",
        )
    removed = await run_in_threadpool(svc.remove, [name])
    return {"object": "document.deleted", "name": name, "deleted": name in removed}
