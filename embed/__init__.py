"""The embedder: sentence vectors and token counts from one local model.

    embedder.py         `Embedder` (the Protocol ingest and retrieval use) and the
                        sentence-transformers implementation, loaded lazily
    tokens.py           `TokenCounter` and cutting text at token offsets (shared
                        with the chunker in `ingest.chunk`)
    cpu.py              what this CPU runs (its instruction sets, read through CPUID)
    choice.py           which device, engine and precision run the model, and why
    engines.py          the CPU engines behind one interface
    openvino_backend.py OpenVINO (float32, bfloat16, int8 by NNCF) and its graph cache
    onnx_backend.py     ONNX Runtime (int8 on AVX2 CPUs) and its model cache
    batching.py         batches of similar token length, tokenized once
    calibration.py      int8 calibration texts
    cache_checksums.py  checksums that make a cached graph safe to reuse

Nothing here imports `ingest`, `index` or `retrieval`: both ingest and retrieval
depend on it, never the other way round.
"""
