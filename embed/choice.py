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
    "ENGINE_NAMES",
    "EngineChoice",
    "Installed",
    "choose",
    "cuda_available",
    "resolve_device",
]

# How each engine is named in the first line of an ingest and in messages.
ENGINE_NAMES = {"openvino": "OpenVINO", "onnx": "ONNX Runtime", "torch": "torch"}


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
        engine = ENGINE_NAMES.get(self.backend, self.backend)
        return f"{engine} {self.dtype} on {where}{kind}: {self.reason}"

    def to_json(self) -> dict[str, str]:
        return {
            "engine": self.backend,
            "precision": self.dtype,
            "device": self.device,
            "cpu": self.cpu,
            "reason": self.reason,
        }


def _found(*packages: str) -> bool:
    return all(importlib.util.find_spec(p) is not None for p in packages)


@dataclass(frozen=True)
class Installed:
    """Which optional engines can run here (found without importing them)."""

    openvino: bool = False
    nncf: bool = False  # OpenVINO's int8 model is made by NNCF
    onnx: bool = False  # ONNX Runtime, and `onnx` to export and quantize the model

    @classmethod
    def here(cls) -> Installed:
        return cls(_found("openvino"), _found("nncf"), _found("onnxruntime", "onnx"))


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


# What `auto` runs on the CPU, by what the CPU has: the first row it qualifies for
# wins. Each was the fastest on its kind of CPU; the retrieval harness's figures with
# it against float32's on every question set, and what int8 costs, are in
# docs/embedding.md.
_CPU_DEFAULTS: tuple[tuple[str, str, str, str], ...] = (
    # (CPU test, engine, precision, why)
    (
        "int8_native",
        "openvino",
        "int8",
        "int8 dot products in hardware (VNNI/AMX): 1.4x bfloat16, 2.5x float32; "
        "the same top-5 hits as float32 on every question set",
    ),
    (
        "bf16_native",
        "openvino",
        "bfloat16",
        "bfloat16 in hardware (AVX-512 BF16/AMX), vectors at cosine >= 0.9999",
    ),
    (
        "avx2",
        "onnx",
        "int8",
        "AVX2 without VNNI: ONNX Runtime's int8 kernels, 1.3x OpenVINO float32 "
        "(OpenVINO's int8 is slower here), retrieval figures as float32's",
    ),
)
_NEEDS = {("openvino", "int8"): ("openvino", "nncf"), ("openvino", "bfloat16"): ("openvino",)}
_NEEDS[("onnx", "int8")] = ("onnx",)


def _qualifies(cpu: CpuProfile, test: str) -> bool:
    return bool(getattr(cpu, test)) if test.endswith("_native") else test in cpu.flags


def _cpu_default(cpu: CpuProfile, installed: Installed) -> tuple[str, str, str]:
    """(engine, precision, why) for `auto` on this CPU with what is installed."""
    missing: list[str] = []
    for test, engine, dtype, why in _CPU_DEFAULTS:
        if not _qualifies(cpu, test):
            continue
        lacking = [p for p in _NEEDS[(engine, dtype)] if not getattr(installed, p)]
        if not lacking:
            note = f" ({', '.join(missing)} not installed)" if missing else ""
            return engine, dtype, why + note
        missing.extend(p for p in lacking if p not in missing)
    note = f" ({', '.join(missing)} not installed)" if missing else ""
    if installed.openvino:
        return "openvino", "float32", "no faster precision runs well on this CPU" + note
    best = "bfloat16" if cpu.bf16_native else "float32"
    return "torch", best, "OpenVINO is not installed"


def choose(
    backend: str = "auto",
    dtype: str = "auto",
    device: str = "cpu",
    *,
    cpu: CpuProfile | None = None,
    installed: Installed | None = None,
) -> EngineChoice:
    """The engine, precision and device for these settings on this machine.

    >>> avx2 = CpuProfile("x86_64", frozenset({"avx2", "fma"}))
    >>> c = choose(cpu=avx2, installed=Installed(openvino=True, nncf=True, onnx=True))
    >>> c.backend, c.dtype, c.device
    ('onnx', 'int8', 'cpu')
    >>> choose("torch", cpu=avx2).dtype
    'float32'
    """
    cpu = cpu or cpu_profile()
    installed = installed or Installed.here()
    cpu_engine = backend in ("openvino", "onnx")
    device = resolve_device("cpu" if cpu_engine and device == "auto" else device)
    _check(backend, dtype, device, installed)
    kind = cpu.kind if device == "cpu" else ""
    if device != "cpu":  # a GPU: torch's
        precision = "float16" if dtype == "auto" else dtype
        why = "set by RAG_EMBEDDING_DTYPE" if dtype != "auto" else "a CUDA GPU: torch in float16"
        return EngineChoice("torch", precision, device, why, kind)
    if backend == "auto" and dtype == "auto":
        engine, precision, why = _cpu_default(cpu, installed)
        return EngineChoice(engine, precision, device, why, kind)
    engine = backend if backend != "auto" else "openvino" if installed.openvino else "torch"
    if dtype != "auto":
        return EngineChoice(engine, dtype, device, "set by RAG_EMBEDDING_DTYPE", kind)
    # The engine was named, the precision left to us: the best this engine runs well here.
    named = f"with RAG_EMBEDDING_BACKEND={engine}"
    for test, default_engine, precision, _ in _CPU_DEFAULTS:
        runs = all(getattr(installed, p) for p in _NEEDS[(default_engine, precision)])
        if default_engine == engine and _qualifies(cpu, test) and runs:
            why = f"the fastest precision of {ENGINE_NAMES[engine]} on this CPU, {named}"
            return EngineChoice(engine, precision, device, why, kind)
    best = "bfloat16" if cpu.bf16_native and engine != "onnx" else "float32"
    why = "bfloat16 in hardware (AVX-512 BF16/AMX)" if best == "bfloat16" else "float32"
    return EngineChoice(engine, best, device, f"{why}, {named}", kind)


def _check(backend: str, dtype: str, device: str, installed: Installed) -> None:
    """An engine or precision asked for by name that cannot run: say what to change."""
    name = ENGINE_NAMES.get(backend, backend)
    if backend in ("openvino", "onnx") and device != "cpu":
        raise ConfigError(
            f"the {name} embedding backend runs on the CPU only, not {device!r}",
            hint="set RAG_EMBEDDING_DEVICE=cpu, or RAG_EMBEDDING_BACKEND=torch",
        )
    package = {"openvino": "openvino", "onnx": "onnxruntime and onnx"}.get(backend)
    if package and not getattr(installed, backend):
        raise ConfigError(
            f"RAG_EMBEDDING_BACKEND={backend}, but {package} is not installed",
            hint="run `make install`, or set RAG_EMBEDDING_BACKEND=auto",
        )
    if dtype == "int8":
        engine = backend if backend != "auto" else "openvino"
        if engine not in ("openvino", "onnx") or device != "cpu":
            raise ConfigError(
                f"RAG_EMBEDDING_DTYPE=int8 runs on OpenVINO or ONNX Runtime only, "
                f"not {ENGINE_NAMES.get(engine, engine)} on {device!r}",
                hint="set RAG_EMBEDDING_BACKEND=openvino (or onnx) with "
                "RAG_EMBEDDING_DEVICE=cpu, or RAG_EMBEDDING_DTYPE=auto",
            )
        if engine == "openvino" and not (installed.openvino and installed.nncf):
            raise ConfigError(
                "RAG_EMBEDDING_DTYPE=int8 with OpenVINO needs the openvino and nncf packages",
                hint="run `make install`, or set RAG_EMBEDDING_DTYPE=auto",
            )
    if dtype == "bfloat16" and backend == "onnx":
        raise ConfigError(
            "ONNX Runtime runs this model in float32 or int8, not bfloat16",
            hint="set RAG_EMBEDDING_DTYPE=int8 or float32, or RAG_EMBEDDING_BACKEND=openvino",
        )
