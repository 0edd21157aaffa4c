"""The engines that run the model on the CPU faster than torch, behind one small interface.

    openvino   OpenVINO (embed/openvino_backend.py): float32, bfloat16, int8 (NNCF)
    onnx       ONNX Runtime (embed/onnx_backend.py): float32, int8 (dynamic)

Each is made from a loaded SentenceTransformer (which keeps the tokenizer) and
caches its converted model under `cache_dir`, keyed by the model's fingerprint.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["Encoder", "is_prepared", "make_encoder"]


class Encoder(Protocol):
    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """float32 (len(texts), dim) vectors, rows in the order of `texts`."""
        ...


def make_encoder(
    backend: str, model: SentenceTransformer, dtype: str, cache_dir: Path, cache_key: str
) -> Encoder:
    """The `backend` engine's copy of `model` (converted on first use, then read back)."""
    if backend == "openvino":
        from embed.openvino_backend import OpenVinoEncoder

        return OpenVinoEncoder(model, dtype=dtype, cache_dir=cache_dir, cache_key=cache_key)
    if backend == "onnx":
        from embed.onnx_backend import OnnxEncoder

        return OnnxEncoder(model, dtype=dtype, cache_dir=cache_dir, cache_key=cache_key)
    raise ValueError(f"no CPU engine named {backend!r}")


def is_prepared(backend: str, dtype: str, cache_dir: Path, cache_key: str) -> bool:
    """Whether the `backend` engine's copy of the model is cached and intact, so that
    making the encoder reads it back instead of converting (a minute or more for int8)."""
    if backend == "openvino":
        from embed import openvino_backend as engine
    elif backend == "onnx":
        from embed import onnx_backend as engine  # type: ignore[no-redef]
    else:
        return True  # torch runs the model as it is
    return engine.is_cached(engine.cache_folder(cache_dir, cache_key, dtype))
