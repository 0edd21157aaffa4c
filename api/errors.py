"""Every failure as JSON in OpenAI's error shape, with the next step; never a traceback.

    {"error": {"message": "... Next step: ...", "type": "invalid_request_error",
               "param": "messages", "code": "empty_question"}}

The product's errors (`core.errors.RagError`) carry their next step already; each kind
maps to one HTTP status here. Anything unexpected is logged with its traceback on the
server and reaches the client only as its kind. Messages name no server paths.

>>> status, body, headers = from_exception(ApiError(400, "the question is empty",
...     code="empty_question", param="messages", hint="send a question"))
>>> status, body["error"]["code"], body["error"]["message"]
(400, 'empty_question', 'the question is empty. Next step: send a question')
"""

from __future__ import annotations

import logging
import re

from core.errors import (
    ConfigError,
    IndexCorruptError,
    IndexLockedError,
    IndexMismatchError,
    IndexNotFoundError,
    IndexWriteError,
    ModelError,
    PdfError,
    RagError,
)
from core.text import redact_paths
from service.model_queue import QueueFull

LOG = logging.getLogger("api")

TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    500: "server_error",
    503: "server_error",
}
INDEX_BUSY_RETRY_S = 5
_API_PATH, _KEEP = re.compile(r"(?<![\w.:/~])/v1/"), "\x00v1\x00"


class ApiError(Exception):
    """A refusal with its HTTP status, OpenAI `type`/`code`/`param`, and the next step."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str,
        param: str | None = None,
        hint: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{message}. Next step: {hint}" if hint else message)
        self.status = status
        self.code = code
        self.param = param
        self.headers = headers or {}


def error_body(status: int, message: str, code: str, param: str | None = None) -> dict:
    """The error object; absolute server paths cut to their last part, API paths kept.

    >>> error_body(404, "No /srv/docs/a.pdf. Next step: GET /v1/documents", "x")["error"]["message"]
    'No …/a.pdf. Next step: GET /v1/documents'
    """
    return {
        "error": {
            "message": redact_paths(_API_PATH.sub(_KEEP, message)).replace(_KEEP, "/v1/"),
            "type": TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error"),
            "param": param,
            "code": code,
        }
    }


def from_exception(exc: BaseException) -> tuple[int, dict, dict[str, str]]:
    """(status, JSON body, headers) for any exception raised while serving a request."""
    if isinstance(exc, ApiError):
        return exc.status, error_body(exc.status, str(exc), exc.code, exc.param), exc.headers
    status, code, headers = _status_of(exc)
    if status == 500 and not isinstance(exc, RagError):
        LOG.error("request failed", exc_info=exc)
        message = (
            f"The server failed ({type(exc).__name__}). Next step: retry; if it persists, "
            "the details are in the log of the server that runs the API"
        )
        return status, error_body(status, message, code), headers
    return status, error_body(status, str(exc), code), headers


def _status_of(exc: BaseException) -> tuple[int, str, dict[str, str]]:
    if isinstance(exc, QueueFull):
        return 503, "queue_full", {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, IndexLockedError):
        return 503, "index_busy", {"Retry-After": str(INDEX_BUSY_RETRY_S)}
    if isinstance(exc, IndexNotFoundError):
        return 404, "index_not_found", {}
    if isinstance(exc, IndexCorruptError | IndexMismatchError | IndexWriteError | ConfigError):
        return 500, "index_unusable" if not isinstance(exc, ConfigError) else "config_error", {}
    if isinstance(exc, ModelError):
        return 503, "model_unavailable", {}
    if isinstance(exc, PdfError):
        return 400, "invalid_pdf", {}
    if isinstance(exc, RagError):
        return 400, "invalid_request", {}
    return 500, "internal_error", {}


def no_index_error() -> ApiError:
    return ApiError(
        404,
        "No documents are indexed yet",
        code="index_not_found",
        hint="add PDFs with POST /v1/documents (or `python -m ingest FOLDER`), then ask again",
    )
