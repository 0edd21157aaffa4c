"""What this CPU can run, read the way the engines read it: through CPUID.

The engines (OpenVINO, torch, ONNX Runtime) pick their kernels from the CPUID
instruction, not from /proc/cpuinfo, so the embedding choice does too: numpy
reads CPUID (and the OS's register support) at import, and /proc/cpuinfo adds
only what numpy does not name (AMX, AVX-VNNI), and only where CPUID agrees the
base extension is there. Under a hypervisor, or under `bench/avx2_only` (which
makes CPUID hide AVX-512), the two can differ; CPUID is what the kernels obey.

>>> cpu = CpuProfile("x86_64", frozenset({"avx2", "fma", "avx512f", "avx512_vnni"}))
>>> cpu.kind, cpu.int8_native
('AVX-512 VNNI', True)
>>> CpuProfile("x86_64", frozenset({"avx2", "fma"})).kind
'AVX2'
"""

from __future__ import annotations

import functools
import hashlib
import platform
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CpuProfile", "cpu_profile"]

# numpy's names for the CPUID features that decide how the model runs, as Linux spells them.
_NUMPY_NAMES = {
    "AVX2": "avx2",
    "FMA3": "fma",
    "AVX512F": "avx512f",
    "AVX512BW": "avx512bw",
    "AVX512VL": "avx512vl",
    "AVX512DQ": "avx512dq",
    "AVX512VNNI": "avx512_vnni",
    "AVX512BF16": "avx512_bf16",
    "AVX512FP16": "avx512_fp16",
}
# Flags numpy does not report, trusted from /proc/cpuinfo only beside their base extension.
_CPUINFO_ONLY = {"amx_tile": "avx512f", "amx_bf16": "avx512f", "amx_int8": "avx512f"}
_CPUINFO_ONLY["avx_vnni"] = "avx2"
# Everything that decides which kernels run, and so what a compiled model may contain.
RELEVANT = frozenset(_NUMPY_NAMES.values()) | frozenset(_CPUINFO_ONLY)


@dataclass(frozen=True)
class CpuProfile:
    """The machine architecture and the relevant instruction-set flags (Linux names)."""

    arch: str
    flags: frozenset[str]

    @property
    def bf16_native(self) -> bool:
        """bfloat16 matrix work in hardware (AVX-512 BF16 or AMX)."""
        return bool(self.flags & {"avx512_bf16", "amx_bf16"})

    @property
    def int8_native(self) -> bool:
        """int8 dot products in one instruction (VNNI or AMX): no 16-bit saturation."""
        return bool(self.flags & {"avx512_vnni", "avx_vnni", "amx_int8"})

    @property
    def kind(self) -> str:
        """A short name for the tier, as said in the ingest's first line."""
        f = self.flags
        if self.arch not in ("x86_64", "AMD64", "i686", "x86"):
            return self.arch or "unknown CPU"
        for flag, name in (
            ("amx_bf16", "AMX"),
            ("avx512_bf16", "AVX-512 BF16"),
            ("avx512_vnni", "AVX-512 VNNI"),
            ("avx512f", "AVX-512"),
            ("avx_vnni", "AVX2 with AVX-VNNI"),
            ("avx2", "AVX2"),
        ):
            if flag in f:
                return name
        return "x86-64 without AVX2"

    @property
    def key(self) -> str:
        """Names a cache of compiled kernels: the same only on CPUs that run the same code.

        >>> a = CpuProfile("x86_64", frozenset({"avx2"}))
        >>> a.key == CpuProfile("x86_64", frozenset({"avx2", "sse4_2"})).key
        True
        >>> a.key == CpuProfile("x86_64", frozenset({"avx2", "avx512f"})).key
        False
        """
        relevant = ",".join(sorted(self.flags & RELEVANT))
        digest = hashlib.sha256(f"{self.arch}:{relevant}".encode()).hexdigest()[:8]
        tier = re.sub(r"[^a-z0-9]+", "-", self.kind.lower()).strip("-")
        return f"{tier}-{digest}"


def _cpuid_flags() -> set[str] | None:
    """numpy's reading of CPUID (it also checks that the OS saves the wide registers)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as features
    except ImportError:  # numpy 1.x
        try:
            from numpy.core._multiarray_umath import __cpu_features__ as features
        except ImportError:
            return None
    return {linux for name, linux in _NUMPY_NAMES.items() if features.get(name)}


def _cpuinfo_flags(cpuinfo: Path) -> set[str]:
    try:
        text = cpuinfo.read_text()
    except OSError:  # not Linux
        return set()
    match = re.search(r"^flags\s*:(.*)$", text, re.MULTILINE)
    return set(match.group(1).split()) if match else set()


def read_flags(cpuid: set[str] | None, cpuinfo: set[str]) -> frozenset[str]:
    """The relevant flags: CPUID's where known, /proc/cpuinfo's for the rest.

    >>> sorted(read_flags({"avx2"}, {"avx2", "avx512f", "amx_bf16", "avx_vnni"}))
    ['avx2', 'avx_vnni']
    >>> sorted(read_flags(None, {"avx2", "avx512f", "avx512_bf16", "sse2"}))
    ['avx2', 'avx512_bf16', 'avx512f']
    """
    if cpuid is None:  # no CPUID reading: the kernel's list
        return frozenset(cpuinfo & RELEVANT)
    extra = {f for f, base in _CPUINFO_ONLY.items() if f in cpuinfo and base in cpuid}
    return frozenset(cpuid | extra)


@functools.cache
def cpu_profile(cpuinfo: Path = Path("/proc/cpuinfo")) -> CpuProfile:
    """This machine's profile (read once per process)."""
    arch = platform.machine()
    cpuid = _cpuid_flags() if arch in ("x86_64", "AMD64") else set()
    return CpuProfile(arch, read_flags(cpuid, _cpuinfo_flags(cpuinfo)))
