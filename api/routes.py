"""GET /v1/models, POST /v1/search, GET /health."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool

from api import chat
from api.errors import no_index_error
from api.schemas import SearchRequest, parse
from service.shared import SharedService

router = APIRouter()


@router.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@router.get("/v1/models")
async def models(request: Request) -> dict:
    svc: SharedService = request.app.state.service
    generator = await run_in_threadpool(svc.generator)
    data = []
    if generator is not None:
        info = generator.info
        data.append(
            {
                "id": info.name,
                "object": "model",
                "created": _mtime(info.path),
                "owned_by": "local",
                "context_length": info.n_ctx,
            }
        )
    data.append({"id": chat.EXTRACTIVE, "object": "model", "created": 0, "owned_by": "local"})
    return {"object": "list", "data": data}


def _mtime(path: Path) -> int:
    try:
        return int(path.stat().st_mtime)
    except OSError:
        return 0


@router.post("/v1/search")
async def search(request: Request) -> dict:
    body = parse(SearchRequest, await request.body())
    svc: SharedService = request.app.state.service

    def run() -> list:
        limit = svc.settings.api.max_question_chars
        query = chat.check_question(body.query.strip(), limit, "query")
        if svc.manifest() is None:
            raise no_index_error()
        files = chat.known_files(svc, body.files)
        return svc.retriever().search(query, body.k or svc.settings.search.passages, files)

    passages = await run_in_threadpool(run)
    return {
        "object": "list",
        "query": body.query,
        "data": [{"n": n, **p.to_json()} for n, p in enumerate(passages, 1)],
    }
