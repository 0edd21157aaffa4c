"""How the embedding model runs: which device, engine and precision, and why.

`choose` turns the settings (`auto` or explicit) and what this machine has
(`embed.cpu.CpuProfile`, the engines installed, a CUDA GPU) into an
`EngineChoice`, whose `reason` the ingest prints in its first line and in
`--json`. It is a pure function of its inputs, so every kind of machine can be
tested with fake flags. Why each default is what it is: docs/embedding.md.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

from core.errors import ConfigError
from embed.cpu import CpuProfile, cpu_profile

__all__ = [
    "EngineChoice",
    "choose",
    "cuda_available",
    "nncf_available",
    "openvino_available",
    "resolve_device",
]

# How each engine and precision is named in the first line of an ingest.
_ENGINE_NAMES = {"openvino": "OpenVINO", "torch": "torch"}


@dataclass(frozen=True)
class EngineChoice:
    """What runs the model: `backend` (torch or openvino), `dtype`, `device`, and why."""

    backend: str
    dtype: str
    device: str
    reason: str
    cpu: str = ""  # the CPU's kind, e.g. "AVX2" or "AVX-512 BF16"

    def describe(self) -> str:
        """One line for people.

        >>> EngineChoice("openvino", "int8", "cpu", "the default on AVX2", "AVX2").describe()
        'OpenVINO int8 on the CPU (AVX2): the default on AVX2'
        """
        where = "the CPU" if self.device == "cpu" else self.device
        kind = f" ({self.cpu})" if self.cpu and self.device == "cpu" else ""
        engine = _ENGINE_NAMES.get(self.backend, self.backend)
        return f"{engine} {self.dtype} on {where}{kind}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return {
            "engine": self.backend,
            "precision": self.dtype,
            "device": self.device,
            "cpu": self.cpu,
            "reason": self.reason,
        }


def openvino_available() -> bool:
    """Whether the `openvino` package is installed (found without importing it)."""
    return importlib.util.find_spec("openvino") is not None


def nncf_available() -> bool:
    """Whether NNCF, which makes the int8 model, is installed."""
    return importlib.util.find_spec("nncf") is not None


def cuda_available() -> bool:
    """A CUDA GPU torch can use. torch is imported only where an NVIDIA driver is loaded."""
    if not Path("/proc/driver/nvidia/version").exists() and not Path("/dev/nvidia0").exists():
        return False
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


def resolve_device(requested: str) -> str:
    """`auto`: the first CUDA GPU when torch can use one, else the CPU.

    >>> resolve_device("cpu"), resolve_device("cuda:1")
    ('cpu', 'cuda:1')
    """
    if requested != "auto":
        return requested
    return "cuda" if cuda_available() else "cpu"


# The precision OpenVINO runs in by default, by what the CPU has: the first row whose
# flag it has. Each one kept the retrieval harness's figures within 0.01 of float32 on
# every question set (docs/embedding.md, "Precision per CPU").
_OPENVINO_DEFAULTS: tuple[tuple[str, str, str], ...] = ()  # measured next: int8
_FLOAT_REASON = {
    "bfloat16": "bfloat16 in hardware (AVX-512 BF16/AMX), vectors at cosine >= 0.9999",
    "float32": "no faster precision this CPU runs natively",
}


def _best_float(cpu: CpuProfile) -> str:
    return "bfloat16" if cpu.bf16_native else "float32"


def _openvino_dtype(cpu: CpuProfile, has_nncf: bool) -> tuple[str, str]:
    for test, dtype, why in _OPENVINO_DEFAULTS:
        matches = getattr(cpu, test) if test.endswith("_native") else test in cpu.flags
        if not matches:
            continue
        if dtype == "int8" and not has_nncf:
            best = _best_float(cpu)
            return best, f"{_FLOAT_REASON[best]} (int8 needs nncf, which is not installed)"
        return dtype, why
    best = _best_float(cpu)
    return best, _FLOAT_REASON[best]


def choose(
    backend: str = "auto",
    dtype: str = "auto",
    device: str = "cpu",
    *,
    cpu: CpuProfile | None = None,
    has_openvino: bool | None = None,
    has_nncf: bool | None = None,
) -> EngineChoice:
    """The engine, precision and device for these settings on this machine.

    >>> avx2 = CpuProfile("x86_64", frozenset({"avx2", "fma"}))
    >>> c = choose(cpu=avx2, has_openvino=True, has_nncf=True)
    >>> c.backend, c.dtype, c.device
    ('openvino', 'float32', 'cpu')
    >>> choose("torch", cpu=avx2).dtype
    'float32'
    """
    cpu = cpu or cpu_profile()
    has_openvino = openvino_available() if has_openvino is None else has_openvino
    device = resolve_device(device if backend != "openvino" or device != "auto" else "cpu")
    engine = _backend(backend, device, has_openvino)
    kind = cpu.kind if device == "cpu" else ""
    if dtype != "auto":
        if dtype == "int8":
            _check_int8(engine, nncf_available() if has_nncf is None else has_nncf)
        return EngineChoice(engine, dtype, device, "set by RAG_EMBEDDING_DTYPE", kind)
    if device.startswith("cuda"):
        return EngineChoice(engine, "float16", device, "a CUDA GPU: torch in float16", kind)
    if engine == "openvino":
        has_nncf = nncf_available() if has_nncf is None else has_nncf
        precision, why = _openvino_dtype(cpu, has_nncf)
        return EngineChoice(engine, precision, device, why, kind)
    if device == "cpu":
        best = _best_float(cpu)
        why = _FLOAT_REASON[best] if backend == "torch" else "OpenVINO is not installed"
        return EngineChoice(engine, best, device, why, kind)
    return EngineChoice(engine, "float32", device, f"float32 on {device}", kind)


def _backend(requested: str, device: str, has_openvino: bool) -> str:
    """`auto`: OpenVINO for the CPU when it is installed, else torch; CUDA is torch's."""
    if requested == "openvino" and device != "cpu":
        raise ConfigError(
            f"the OpenVINO embedding backend runs on the CPU only, not {device!r}",
            hint="set RAG_EMBEDDING_DEVICE=cpu, or RAG_EMBEDDING_BACKEND=torch",
        )
    if requested == "openvino" and not has_openvino:
        raise ConfigError(
            "RAG_EMBEDDING_BACKEND=openvino, but the openvino package is not installed",
            hint="run `make install`, or set RAG_EMBEDDING_BACKEND=torch",
        )
    if requested != "auto":
        return requested
    return "openvino" if device == "cpu" and has_openvino else "torch"


def _check_int8(backend: str, has_nncf: bool) -> None:
    """int8 is OpenVINO's, quantized by NNCF: say what to change when either is missing."""
    if backend != "openvino":
        raise ConfigError(
            f"RAG_EMBEDDING_DTYPE=int8 runs on OpenVINO only, but the backend is {backend}",
            hint="set RAG_EMBEDDING_BACKEND=openvino with RAG_EMBEDDING_DEVICE=cpu, "
            "or RAG_EMBEDDING_DTYPE=auto",
        )
    if not has_nncf:
        raise ConfigError(
            "RAG_EMBEDDING_DTYPE=int8 needs the nncf package, which is not installed",
            hint="run `make install`, or set RAG_EMBEDDING_DTYPE=auto",
        )
