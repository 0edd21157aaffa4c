"""The ONNX Runtime engine (int8 on AVX2 CPUs) and the per-CPU caches of compiled kernels."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import embed.choice as choice
import embed.openvino_backend as openvino_backend
from core.settings import Settings
from embed.cpu import CpuProfile
from embed.embedder import SentenceTransformerEmbedder

TEXTS = [
    "The ELBO is the evidence lower bound used to train variational autoencoders.",
    "Temperature scales the logits before the softmax.",
    "A lighthouse keeper trims the wick at dusk.",
    "short",
]
QUESTIONS = ["How is a variational autoencoder trained?", "What does temperature do?"]

needs_onnx = pytest.mark.skipif(
    not choice.Installed.here().onnx, reason="onnxruntime and onnx are not installed"
)
needs_openvino = pytest.mark.skipif(
    not choice.Installed.here().openvino, reason="the openvino package is not installed"
)


@needs_onnx
def test_onnx_runtime_keeps_no_device_id_and_queues_no_usage_events(tmp_path):
    # Without ORT_DISABLE_TELEMETRY, a session writes ~/.cache/Microsoft/DeveloperTools/
    # .onnxruntime/{deviceid,onnxruntime.db}: an id and events waiting to be sent.
    run = """
import core, numpy as np, onnxruntime as ort
from onnx import TensorProto, helper as h
graph = h.make_graph([h.make_node("Relu", ["x"], ["y"])], "g",
    [h.make_tensor_value_info("x", TensorProto.FLOAT, [1])],
    [h.make_tensor_value_info("y", TensorProto.FLOAT, [1])])
model = h.make_model(graph, opset_imports=[h.make_opsetid("", 17)], ir_version=8)
session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
print(session.run(None, {"x": np.array([-1.0], dtype=np.float32)})[0][0])
"""
    env = {k: v for k, v in os.environ.items() if k != "ORT_DISABLE_TELEMETRY"}
    env["HOME"] = str(tmp_path)
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-c", run], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "0.0"  # the session did run
    assert list(tmp_path.rglob("*")) == []


@needs_onnx
def test_onnx_sessions_keep_the_arena_but_no_memory_pattern_per_input_shape():
    import embed.onnx_backend as onnx_backend

    options = onnx_backend.session_options()
    # Patterns planned per batch shape: the ingest peaked 411 MB higher (docs/embedding.md).
    assert options.enable_mem_pattern is False
    assert options.enable_cpu_mem_arena is True  # without the arena: 1.7x the CPU time
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


@pytest.mark.slow
@needs_onnx
@pytest.mark.model
def test_onnx_int8_vectors_rank_like_float32_and_the_model_is_cached(tmp_path, monkeypatch):
    path = Settings().embedding_model_path()
    exact = SentenceTransformerEmbedder(path, dtype="float32")
    int8 = SentenceTransformerEmbedder(path, dtype="int8", backend="onnx", cache_dir=tmp_path)
    assert int8.needs_preparing() and not exact.needs_preparing()
    docs, docs8 = exact.embed(TEXTS), int8.embed(TEXTS)
    assert not int8.needs_preparing()
    assert (int8.backend, int8.dtype) == ("onnx", "int8") and docs8.dtype == np.float32
    assert int8._encoder._session.get_session_options().enable_mem_pattern is False
    np.testing.assert_allclose(np.linalg.norm(docs8, axis=1), 1.0, atol=1e-5)
    assert (docs * docs8).sum(axis=1).min() >= 0.97  # 0.976 at worst on 800 real chunks
    ranks = (exact.embed(QUESTIONS) @ docs.T).argmax(axis=1)
    ranks8 = (int8.embed(QUESTIONS) @ docs8.T).argmax(axis=1)
    assert ranks.tolist() == ranks8.tolist() == [0, 1]
    (folder,) = tmp_path.glob("*-onnx-*-int8")
    assert (folder / "model.onnx").is_file() and (folder / "onnx.sha256.json").is_file()

    # A second process reads the saved model: exporting again would fail here.
    import embed.onnx_backend as onnx_backend

    real_export = onnx_backend._export

    def no_export(*args, **kwargs):
        raise AssertionError("exported again instead of reading the cache")

    monkeypatch.setattr(onnx_backend, "_export", no_export)
    again = SentenceTransformerEmbedder(path, dtype="int8", backend="onnx", cache_dir=tmp_path)
    np.testing.assert_allclose(again.embed(TEXTS), docs8, atol=1e-5)

    # A damaged model file is rebuilt, never used.
    raw = bytearray((folder / "model.onnx").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    (folder / "model.onnx").write_bytes(bytes(raw))
    assert again.needs_preparing()  # `make install` and the ingest would prepare it again
    exports = []
    monkeypatch.setattr(onnx_backend, "_export", lambda *a: exports.append(1) or real_export(*a))
    rebuilt = SentenceTransformerEmbedder(path, dtype="int8", backend="onnx", cache_dir=tmp_path)
    np.testing.assert_allclose(rebuilt.embed(TEXTS), docs8, atol=1e-5)
    assert exports == [1]


@pytest.mark.slow
@needs_openvino
@pytest.mark.model
def test_openvino_compiles_apart_for_each_instruction_set(tmp_path, monkeypatch):
    path = Settings().embedding_model_path()
    avx2 = CpuProfile("x86_64", frozenset({"avx2", "fma"}))
    here = openvino_backend.cpu_profile()
    first = SentenceTransformerEmbedder(path, backend="openvino", cache_dir=tmp_path)
    reference = first.embed(TEXTS)
    # The same cache folder reached from a CPU of another kind (copied, or on a shared disk).
    monkeypatch.setattr(openvino_backend, "cpu_profile", lambda: avx2)
    second = SentenceTransformerEmbedder(path, backend="openvino", cache_dir=tmp_path)
    assert (second.embed(TEXTS) * reference).sum(axis=1).min() >= 0.999
    (graph,) = tmp_path.glob("*-openvino-*[0-9]")
    compiled = sorted(p.name for p in graph.glob("compiled-*") if p.is_dir())
    assert compiled == sorted({f"compiled-{here.key}", f"compiled-{avx2.key}"})
