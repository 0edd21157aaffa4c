"""The HTTP API: OpenAI's chat format in, grounded answers that carry their sources out, and
documents to manage. An edge like the app: it gets its parts from `service` (the same
`SharedService`, model queue, uploads and ingest jobs) and never imports `app`.

    `__main__`   `python -m api` (`make serve`; `RAG_API_HOST`, `RAG_API_PORT`, 127.0.0.1:8000)
    `server`     the FastAPI application: routes, key check, body limits, errors in OpenAI's shape
    `guards`     what every request passes first: its key (`RAG_API_KEYS`) and its body's size
    `schemas`    the request bodies, checked with bounds; unknown fields ignored, as OpenAI's are
    `chat`       POST /v1/chat/completions: a question (and its conversation) -> a grounded answer
    `runs`       one question answered in a worker thread, its events handed to the event loop
    `evidence`   an answer's sources, checked sentences and outcome, as JSON
    `routes`     GET /v1/models, POST /v1/search, GET /health
    `documents`  /v1/documents: list, add, remove PDFs; follow and stop a long ingest
    `errors`     every failure as JSON in OpenAI's error shape, with the next step

docs/api.md shows every endpoint with curl, the OpenAI SDK and Open WebUI.
"""
