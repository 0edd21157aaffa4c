"""What the browser app and the HTTP API share: one model and one live index per process,
questions, ingests, uploads and removals. Above `wiring`, which builds its parts; below the
app and the API, its two edges; nothing else imports it.

    `components`        `Components`: the heavy parts (embedder, model) from `wiring`, or fakes
    `shared`            `SharedService`: ask, add, list, remove, status, on the live generation
    `protocols`         `LiveRetriever`: the retriever over whatever generation is live
    `queued_generator`  the shared model as a `Generator` that takes its turn to generate
    `model_queue`       `ModelQueue`: questions take turns on the one model, fairly, with a bound
    `machine_turns`     processes on one machine take turns on the model (a line kept in a file)
    `uploads`           uploads saved into the documents folder, checked against the roots
    `ingest_job`        an ingest in the background: progress to read, never cancelled by a click
    `pg_state`          what every process must see alike, in PostgreSQL when `RAG_STORE_URL` is set
"""
