"""The embedder: sentence vectors and token counts from one local model.

    embedder.py         `Embedder` (the Protocol ingest and retrieval use) and the
                        sentence-transformers implementation, loaded lazily
    tokens.py           `TokenCounter` and cutting text at token offsets (shared
                        with the chunker in `ingest.chunk`)
    choice.py           which precision and which engine (torch or OpenVINO) to run
    openvino_backend.py the OpenVINO engine and its on-disk graph cache
    calibration.py      int8 calibration texts
    cache_checksums.py  checksums that make a cached graph safe to reuse

Nothing here imports `ingest`, `index` or `retrieval`: both ingest and retrieval
depend on it, never the other way round.
"""
