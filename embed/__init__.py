"""The embedder: chunks -> vectors (and token counts) from one local sentence-transformers
model. Ingest embeds chunks with it and retrieval embeds questions; `wiring` builds it.

    `tokens`                `TokenCounter`, and where a piece of at most N tokens ends
                            (the chunker in `ingest.chunk` cuts with it too)
    `embedder`              the `Embedder` Protocol and `SentenceTransformerEmbedder`, loaded lazily
    `choice`                which precision and which engine (torch or OpenVINO) this machine runs
    `openvino_backend`      the OpenVINO engine and its on-disk graph cache
    `calibration`           the texts that calibrate int8 quantization, the same on every machine
    `cache_checksums`       checksums that make a cached graph safe to reuse
    `langchain_embeddings`  the model as a LangChain `Embeddings` (LangChain stays at the edge)

Nothing here imports `ingest`, `index` or `retrieval`: both ingest and retrieval
depend on it, never the other way round.
"""
