"""What the browser app and the HTTP API share: one model and one live index per process.

    files -> ingest -> index <- retrieval <- llm <- wiring <- service <- app, api

`service.shared.SharedService` loads the embedder and the model once and serves
questions, ingests, uploads and removals; `service.model_queue` makes every
question take its turn on the one model (and `service.machine_turns` lets two
processes on one machine alternate). The app (`app.service.AppService`) and the
API (`api/`) are edges over it; nothing below imports this package.
"""
