"""The engine and precision chosen per machine, from fake CPU flags: every kind gets its own."""

from __future__ import annotations

import pytest

import embed.choice as choice
from core.errors import ConfigError
from embed.choice import EngineChoice, choose
from embed.cpu import CpuProfile, read_flags

AVX2 = CpuProfile("x86_64", frozenset({"avx2", "fma"}))  # AMD EPYC Rome/Milan
ZEN4 = CpuProfile(  # AMD EPYC Genoa, this project's development VM
    "x86_64",
    frozenset({"avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx512_bf16"}),
)
SPR = CpuProfile("x86_64", ZEN4.flags | {"amx_tile", "amx_bf16", "amx_int8"})  # Intel AMX
CASCADE = CpuProfile("x86_64", frozenset({"avx2", "fma", "avx512f", "avx512_vnni"}))
OLD = CpuProfile("x86_64", frozenset({"sse4_2"}))
ARM = CpuProfile("aarch64", frozenset())


def auto(cpu: CpuProfile, **kwargs) -> EngineChoice:
    kwargs.setdefault("has_openvino", True)
    kwargs.setdefault("has_nncf", True)
    return choose("auto", "auto", "cpu", cpu=cpu, **kwargs)


def test_default_precision_per_cpu():
    assert [auto(c).dtype for c in (AVX2, ZEN4, SPR, CASCADE)] == [
        "float32",
        "bfloat16",
        "bfloat16",
        "float32",
    ]
    assert auto(AVX2).cpu == "AVX2" and auto(AVX2).backend == "openvino"


def test_kinds_are_named_as_people_know_them():
    names = [c.kind for c in (AVX2, ZEN4, SPR, CASCADE, OLD, ARM)]
    assert names == [
        "AVX2",
        "AVX-512 BF16",
        "AMX",
        "AVX-512 VNNI",
        "x86-64 without AVX2",
        "aarch64",
    ]


@pytest.mark.parametrize("cpu", [OLD, ARM])
def test_without_avx2_or_x86_the_exact_precision_stays(cpu):
    assert auto(cpu).dtype == "float32"


def test_without_openvino_torch_takes_the_best_float():
    assert (auto(ZEN4, has_openvino=False).backend, auto(ZEN4, has_openvino=False).dtype) == (
        "torch",
        "bfloat16",
    )
    assert "not installed" in auto(AVX2, has_openvino=False).reason


def test_explicit_settings_win_and_say_so():
    c = choose("openvino", "float32", "cpu", cpu=AVX2, has_openvino=True, has_nncf=True)
    assert (c.backend, c.dtype) == ("openvino", "float32") and "RAG_EMBEDDING_DTYPE" in c.reason
    assert choose("torch", "auto", "cpu", cpu=ZEN4).dtype == "bfloat16"
    with pytest.raises(ConfigError, match="OpenVINO only"):
        choose("torch", "int8", "cpu", cpu=AVX2)
    with pytest.raises(ConfigError, match="nncf"):
        choose("openvino", "int8", "cpu", cpu=AVX2, has_openvino=True, has_nncf=False)


def test_a_cuda_gpu_is_used_when_the_device_is_auto(monkeypatch):
    monkeypatch.setattr(choice, "cuda_available", lambda: True)
    c = choose("auto", "auto", "auto", cpu=AVX2, has_openvino=True)
    assert (c.backend, c.dtype, c.device) == ("torch", "float16", "cuda")
    assert c.describe().startswith("torch float16 on cuda: ")
    # OpenVINO asked for explicitly keeps the CPU.
    assert choose("openvino", "auto", "auto", cpu=AVX2, has_openvino=True).device == "cpu"
    monkeypatch.setattr(choice, "cuda_available", lambda: False)
    assert choose("auto", "auto", "auto", cpu=AVX2, has_openvino=True).device == "cpu"


def test_the_first_line_and_the_json_name_engine_precision_and_why():
    c = auto(AVX2)
    assert c.describe().startswith("OpenVINO float32 on the CPU (AVX2): ")
    assert c.to_json() == {
        "engine": "openvino",
        "precision": "float32",
        "device": "cpu",
        "cpu": "AVX2",
        "reason": c.reason,
    }


def test_cpuid_decides_not_proc_cpuinfo():
    # Under a hypervisor (or bench/avx2_only) CPUID may hide what /proc/cpuinfo lists:
    # the engines obey CPUID, so the choice does too.
    flags = read_flags({"avx2", "fma"}, {"avx2", "fma", "avx512f", "avx512_vnni", "amx_int8"})
    assert CpuProfile("x86_64", flags).kind == "AVX2"
    assert auto(CpuProfile("x86_64", flags)).cpu == "AVX2"


def test_compiled_kernels_are_keyed_per_instruction_set():
    assert AVX2.key != ZEN4.key != SPR.key
    assert AVX2.key.startswith("avx2-") and ZEN4.key.startswith("avx-512-bf16-")
    # Flags no kernel depends on do not split the cache.
    assert CpuProfile("x86_64", AVX2.flags | {"sse4_2", "aes"}).key == AVX2.key
