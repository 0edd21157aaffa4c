"""The HTTP API: OpenAI's chat format, answers that carry their sources, documents to manage.

    make serve        # or: python -m api   (RAG_API_HOST, RAG_API_PORT; default 127.0.0.1:8000)

An edge like the app: it gets its parts from `service` (the same `SharedService`,
model queue, uploads and ingest jobs as the app) and never imports `app`.
docs/api.md shows every endpoint with curl, the OpenAI SDK and Open WebUI.
"""
