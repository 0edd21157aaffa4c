"""How the embedding model runs: which precision (`resolve_dtype`) and which engine
(`resolve_backend`), chosen from the settings and what this machine has.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from core.errors import ConfigError

__all__ = [
    "check_int8",
    "cpu_has_native_bf16",
    "openvino_available",
    "resolve_backend",
    "resolve_dtype",
]


def openvino_available() -> bool:
    """Whether the `openvino` package is installed (found without importing it)."""
    return importlib.util.find_spec("openvino") is not None


def cpu_has_native_bf16(cpuinfo: Path = Path("/proc/cpuinfo")) -> bool:
    """AVX-512 BF16 or AMX: bfloat16 matrix work runs natively (about 2x float32 here)."""
    try:
        flags = cpuinfo.read_text()
    except OSError:  # not Linux: stay with float32
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags))


def resolve_dtype(requested: str, device: str) -> str:
    """The torch dtype to embed in. `auto`: bfloat16 on CPUs with native bf16, float16 on
    CUDA, else float32. Measured on all-MiniLM-L6-v2: bf16 vectors agree with float32 ones
    at cosine >= 0.9999, and retrieval results match (see README).

    >>> resolve_dtype("float32", "cpu"), resolve_dtype("auto", "cuda:0")
    ('float32', 'float16')
    """
    if requested != "auto":
        return requested
    if device.startswith("cuda"):
        return "float16"
    if device == "cpu" and cpu_has_native_bf16():
        return "bfloat16"
    return "float32"


def resolve_backend(requested: str, device: str) -> str:
    """What runs the model. `auto`: OpenVINO for the CPU when it is installed (1.4x torch
    here, same vectors), else torch; CUDA is always torch's.

    >>> resolve_backend("auto", "cuda:0"), resolve_backend("torch", "cpu")
    ('torch', 'torch')
    """
    if requested == "openvino" and device != "cpu":
        raise ConfigError(
            f"the OpenVINO embedding backend runs on the CPU only, not {device!r}",
            hint="set RAG_EMBEDDING_DEVICE=cpu, or RAG_EMBEDDING_BACKEND=torch",
        )
    if requested == "openvino" and not openvino_available():
        raise ConfigError(
            "RAG_EMBEDDING_BACKEND=openvino, but the openvino package is not installed",
            hint="run `make install`, or set RAG_EMBEDDING_BACKEND=torch",
        )
    if requested != "auto":
        return requested
    return "openvino" if device == "cpu" and openvino_available() else "torch"


def check_int8(backend: str) -> None:
    """int8 is OpenVINO's, quantized by NNCF: say what to change when either is missing."""
    if backend != "openvino":
        raise ConfigError(
            f"RAG_EMBEDDING_DTYPE=int8 runs on OpenVINO only, but the backend is {backend}",
            hint="set RAG_EMBEDDING_BACKEND=openvino with RAG_EMBEDDING_DEVICE=cpu, "
            "or RAG_EMBEDDING_DTYPE=auto",
        )
    if importlib.util.find_spec("nncf") is None:
        raise ConfigError(
            "RAG_EMBEDDING_DTYPE=int8 needs the nncf package, which is not installed",
            hint="run `make install`, or set RAG_EMBEDDING_DTYPE=auto",
        )
