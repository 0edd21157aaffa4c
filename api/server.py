"""The FastAPI application: routes, the key check, body limits, and errors in OpenAI's shape.

    app = create_app(SharedService(settings, components, lane="api"))

No interactive docs page is served (Swagger UI would load its script from a CDN, and
nothing here reaches beyond the machine); `/openapi.json` describes every route.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from api import chat, documents, routes
from api.errors import ApiError, error_body, from_exception
from api.guards import BodyLimit, KeyCheck
from api.schemas import FIELDS_HINT
from service.shared import SharedService

BYTES_PER_MB = 1_000_000
MULTIPART_OVERHEAD = 1_000_000  # part headers and form fields around the files


def create_app(svc: SharedService) -> FastAPI:
    settings = svc.settings
    app = FastAPI(
        title="Chat with your PDFs",
        description="An OpenAI-compatible API whose answers carry their sources.",
        docs_url=None,
        redoc_url=None,
    )
    app.state.service = svc
    app.state.jobs = documents.Jobs()
    app.state.quote_gate = chat.Gate(max(4, settings.api.queue_max))
    app.include_router(chat.router)
    app.include_router(documents.router)
    app.include_router(routes.router)
    upload_bytes = settings.app.upload_max_mb * BYTES_PER_MB * settings.app.upload_max_files
    app.add_middleware(
        BodyLimit,
        json_bytes=settings.api.max_request_kb * 1024,
        upload_bytes=upload_bytes + MULTIPART_OVERHEAD,
    )
    app.add_middleware(KeyCheck, keys=settings.api.key_list())  # outermost: checked first
    _error_handlers(app)
    return app


def _error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        # Only query parameters (`?wait=`, `?stream=`) and path parts are checked by FastAPI.
        first = (exc.errors() or [{}])[0]
        param = ".".join(str(p) for p in first.get("loc", ())[1:]) or None
        message = f"`{param}`: {first.get('msg', 'invalid')}. Next step: {FIELDS_HINT}"
        return JSONResponse(error_body(400, message, "invalid_value", param), status_code=400)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        message = f"{exc.detail}. Next step: see docs/api.md for the endpoints"
        body = error_body(exc.status_code, message, code)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def failed(_request: Request, exc: Exception) -> JSONResponse:
        status, body, headers = from_exception(exc)
        return JSONResponse(body, status_code=status, headers=headers)

    app.add_exception_handler(ApiError, failed)
