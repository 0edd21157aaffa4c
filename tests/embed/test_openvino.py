"""The OpenVINO backend: same vectors as torch, its graph cached on disk, no telemetry."""

from __future__ import annotations

import sys

import numpy as np
import pytest

import embed.choice as choice
from core.errors import ConfigError
from core.settings import Settings
from embed.embedder import SentenceTransformerEmbedder, resolve_backend
from wiring.root import load_embedder

TEXTS = [
    "The ELBO is the evidence lower bound used to train variational autoencoders.",
    "Temperature scales the logits before the softmax.",
    "A lighthouse keeper trims the wick at dusk.",
    "short",
]

needs_openvino = pytest.mark.skipif(
    not choice.openvino_available(), reason="the openvino package is not installed"
)


def test_auto_picks_openvino_on_cpu_only_when_installed(monkeypatch):
    monkeypatch.setattr(choice, "openvino_available", lambda: True)
    assert resolve_backend("auto", "cpu") == "openvino"
    assert resolve_backend("auto", "cuda:0") == "torch"
    assert resolve_backend("torch", "cpu") == "torch"
    monkeypatch.setattr(choice, "openvino_available", lambda: False)
    assert resolve_backend("auto", "cpu") == "torch"


def test_explicit_openvino_that_cannot_run_says_what_to_do(monkeypatch):
    monkeypatch.setattr(choice, "openvino_available", lambda: False)
    with pytest.raises(ConfigError, match="not installed") as missing:
        resolve_backend("openvino", "cpu")
    assert "RAG_EMBEDDING_BACKEND=torch" in missing.value.hint
    monkeypatch.setattr(choice, "openvino_available", lambda: True)
    with pytest.raises(ConfigError, match="CPU only") as gpu:
        resolve_backend("openvino", "cuda")
    assert "RAG_EMBEDDING_DEVICE=cpu" in gpu.value.hint


def test_settings_reach_the_embedder(tmp_path):
    embedder = load_embedder(Settings(embedding_backend="torch", model_cache_dir=tmp_path))
    assert embedder.backend == "torch"


@pytest.mark.slow
@needs_openvino
@pytest.mark.model
def test_openvino_vectors_agree_with_torch_float32_and_the_graph_is_cached(tmp_path, monkeypatch):
    path = Settings().embedding_model_path()
    reference = SentenceTransformerEmbedder(path, dtype="float32").embed(TEXTS)
    for dtype in ("float32", "bfloat16"):
        embedder = SentenceTransformerEmbedder(
            path, dtype=dtype, backend="openvino", cache_dir=tmp_path
        )
        vectors = embedder.embed(TEXTS)
        assert embedder.backend == "openvino"
        assert vectors.dtype == np.float32 and vectors.shape == reference.shape
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        # Rows come back in the caller's order although batches are sorted by length.
        assert (vectors * reference).sum(axis=1).min() >= (0.99999 if dtype == "float32" else 0.999)
    graphs = list(tmp_path.glob("*-openvino-*/model.xml"))
    assert len(graphs) == 1 and embedder.info.fingerprint in graphs[0].parent.name

    # A second process reads the saved graph: converting again would fail here.
    import openvino

    def no_conversion(*args, **kwargs):
        raise AssertionError("converted again instead of reading the cache")

    monkeypatch.setattr(openvino, "convert_model", no_conversion)
    again = SentenceTransformerEmbedder(path, backend="openvino", cache_dir=tmp_path).embed(TEXTS)
    assert (again * reference).sum(axis=1).min() >= 0.999


@pytest.mark.slow
@pytest.mark.subprocess
@needs_openvino
@pytest.mark.model
def test_openvino_telemetry_cannot_load(tmp_path):
    path = Settings().embedding_model_path()
    SentenceTransformerEmbedder(path, backend="openvino", cache_dir=tmp_path).embed(TEXTS[:1])
    assert sys.modules["openvino_telemetry"] is None
    with pytest.raises(ImportError):
        import openvino_telemetry  # noqa: F401
    from openvino.tools.ovc import telemetry_utils

    # OpenVINO's converter fell back to its no-op stub.
    assert telemetry_utils.tm.__name__.endswith("telemetry_stub")


@needs_openvino
@pytest.mark.slow
@pytest.mark.model
def test_a_model_openvino_cannot_run(tmp_path, monkeypatch):
    import embed.openvino_backend as backend

    def broken(*args, **kwargs):
        raise RuntimeError("unsupported operation aten::weird")

    monkeypatch.setattr(backend.OpenVinoEncoder, "__init__", broken)
    path = Settings().embedding_model_path()
    auto = SentenceTransformerEmbedder(path, dtype="bfloat16", backend="auto", cache_dir=tmp_path)
    assert auto.backend == "openvino"
    vectors = auto.embed(TEXTS)  # `auto` falls back to torch
    assert auto.backend == "torch" and vectors.shape == (len(TEXTS), auto.info.dim)

    # The fallback keeps the precision asked for; only int8 (OpenVINO's alone) changes.
    exact = SentenceTransformerEmbedder(path, dtype="float32", backend="auto", cache_dir=tmp_path)
    exact.embed(TEXTS[:1])
    assert (exact.backend, exact.dtype) == ("torch", "float32")

    explicit = SentenceTransformerEmbedder(path, backend="openvino", cache_dir=tmp_path)
    with pytest.raises(ConfigError, match="aten::weird") as error:
        explicit.embed(TEXTS)
    assert error.value.hint == "set RAG_EMBEDDING_BACKEND=torch"


def test_int8_needs_openvino_and_nncf(monkeypatch):
    with pytest.raises(ConfigError, match="OpenVINO only") as wrong_backend:
        choice.check_int8("torch")
    assert "RAG_EMBEDDING_DTYPE=auto" in wrong_backend.value.hint
    real_find_spec = choice.importlib.util.find_spec
    monkeypatch.setattr(
        choice.importlib.util,
        "find_spec",
        lambda name: None if name == "nncf" else real_find_spec(name),
    )
    with pytest.raises(ConfigError, match="nncf"):
        choice.check_int8("openvino")


needs_nncf = pytest.mark.skipif(
    not choice.importlib.util.find_spec("nncf"), reason="the nncf package is not installed"
)


@pytest.mark.slow
@needs_openvino
@needs_nncf
@pytest.mark.model
def test_int8_vectors_rank_like_float32(tmp_path):
    path = Settings().embedding_model_path()
    questions = ["How is a variational autoencoder trained?", "What does temperature do?"]
    exact = SentenceTransformerEmbedder(path, dtype="float32")
    int8 = SentenceTransformerEmbedder(path, dtype="int8", backend="openvino", cache_dir=tmp_path)
    docs, docs8 = exact.embed(TEXTS), int8.embed(TEXTS)
    assert int8.backend == "openvino" and int8.dtype == "int8"
    assert (docs * docs8).sum(axis=1).min() >= 0.95  # 0.935 at worst on 1,200 real chunks
    # Each question finds the same passage first.
    ranks = (exact.embed(questions) @ docs.T).argmax(axis=1)
    ranks8 = (int8.embed(questions) @ docs8.T).argmax(axis=1)
    assert ranks.tolist() == ranks8.tolist() == [0, 1]
    assert list(tmp_path.glob("*-int8/model.xml")), "the quantized graph is cached apart"


@pytest.mark.slow
@needs_openvino
@pytest.mark.model
def test_a_poisoned_cache_is_rebuilt_not_used(tmp_path, monkeypatch):
    path = Settings().embedding_model_path()
    reference = SentenceTransformerEmbedder(path, dtype="float32").embed(TEXTS)
    SentenceTransformerEmbedder(
        path, dtype="float32", backend="openvino", cache_dir=tmp_path
    ).embed(TEXTS)
    (graph_dir,) = [p.parent for p in tmp_path.glob("*-openvino-*/model.xml")]
    assert (graph_dir / "graph.sha256.json").is_file()
    # Plausible garbage: small random floats over a megabyte of the weights.
    weights = graph_dir / "model.bin"
    raw = bytearray(weights.read_bytes())
    middle = len(raw) // 2 // 4 * 4
    noise = np.random.default_rng(0).normal(0, 0.05, 1 << 18).astype(np.float32).tobytes()
    raw[middle : middle + len(noise)] = noise
    weights.write_bytes(bytes(raw))

    import openvino

    conversions = []
    convert = openvino.convert_model
    monkeypatch.setattr(
        openvino, "convert_model", lambda *a, **k: conversions.append(1) or convert(*a, **k)
    )
    again = SentenceTransformerEmbedder(
        path, dtype="float32", backend="openvino", cache_dir=tmp_path
    ).embed(TEXTS)
    assert conversions == [1], "the damaged cache was used instead of being rebuilt"
    assert (again * reference).sum(axis=1).min() >= 0.9999
