"""The embedder: chunks -> vectors (and token counts) from one local sentence-transformers
model. Ingest embeds chunks with it and retrieval embeds questions; `wiring` builds it.

    `protocols`             the roles others see: `TokenCounter` and `Embedder`
    `tokens`                where a piece of at most N tokens ends
                            (the chunker in `ingest.chunk` cuts with it too)
    `embedder`              `SentenceTransformerEmbedder`, loaded lazily
    `model_folder`          the model folder read without loading it: checks, sizes, fingerprint
    `cpu`                   what this CPU runs: its instruction sets, read through CPUID
    `choice`                which device, engine and precision run the model here, and why
    `engines`               the CPU engines (OpenVINO, ONNX Runtime) behind one interface
    `openvino_backend`      the OpenVINO engine (float32, bfloat16, int8 by NNCF), its graph cache
    `onnx_backend`          the ONNX Runtime engine (int8 on AVX2 CPUs), its model cache
    `batching`              batches of similar token length, so little padding is computed
    `calibration`           the texts that calibrate int8 quantization, the same on every machine
    `cache_checksums`       checksums that make a cached graph safe to reuse
    `prepare/`              `python -m embed.prepare`: the engine's copy made ahead, once
    `langchain_embeddings`  the model as a LangChain `Embeddings` (LangChain stays at the edge)

Nothing here imports `ingest`, `index` or `retrieval`: both ingest and retrieval
depend on it, never the other way round.
"""
