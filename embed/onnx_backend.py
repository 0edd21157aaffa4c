"""The sentence-transformers model run by ONNX Runtime on the CPU, its matrix products in int8.

Why: on a CPU with AVX2 but neither AVX-512 nor VNNI (AMD EPYC Rome and Milan,
many laptops), OpenVINO's int8 runs through oneDNN's generic int8 GEMM and is
slower than its own float32, while ONNX Runtime's MLAS has AVX2 int8 kernels:
56.9 against 74.1 CPU ms per chunk for OpenVINO float32 (docs/embedding.md).

The model is exported once (torch's ONNX exporter), its BERT patterns fused
(attention, layer norm, GELU), and its weight matrices quantized to int8 per
output channel; activations are quantized at run time, per batch, so no
calibration texts are needed. The result is saved under the cache folder keyed
by the model's fingerprint and the ONNX Runtime version, with checksums (a
damaged file is rebuilt, never used). It is plain ONNX, the same for every CPU:
ONNX Runtime picks its kernels for the CPU it runs on each time it loads it,
and the session's own optimized graph is never saved.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embed.batching import encode_by_length
from embed.cache_checksums import intact, write_checksums
from embed.openvino_backend import _INPUTS, _discard, _traceable

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["OnnxEncoder", "cache_folder", "is_cached", "session_options"]

logger = logging.getLogger(__name__)
SUMS = "onnx.sha256.json"


def cache_folder(cache_dir: Path, cache_key: str, dtype: str) -> Path:
    """Where the exported (for int8: also quantized) model `cache_key` is kept, per ORT version."""
    from importlib.metadata import version

    suffix = "-int8" if dtype == "int8" else ""
    return Path(cache_dir) / f"{cache_key}-onnx-{version('onnxruntime')}{suffix}"


def is_cached(folder: Path) -> bool:
    """Whether `folder` holds a model whose files match their checksums (no export needed)."""
    return (folder / "model.onnx").is_file() and intact(folder, SUMS)


def _export(model: SentenceTransformer, names: list[str], sample: dict, path: Path) -> None:
    import torch

    dynamic = {n: {0: "batch", 1: "tokens"} for n in names}
    dynamic["sentence_embedding"] = {0: "batch"}
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")  # tracer warnings about Python control flow
        torch.onnx.export(
            _traceable(model),
            tuple(sample[n] for n in names),
            str(path),
            input_names=names,
            output_names=["sentence_embedding"],
            dynamic_axes=dynamic,
            opset_version=17,
            dynamo=False,
        )


def _fused(path: Path, model: SentenceTransformer, out: Path) -> None:
    """BERT's attention, layer norms and GELU as ONNX Runtime's fused operators."""
    from onnxruntime.transformers import optimizer

    config = model[0].auto_model.config
    graph = optimizer.optimize_model(
        str(path),
        model_type="bert",
        num_heads=int(config.num_attention_heads),
        hidden_size=int(config.hidden_size),
        opt_level=1,
    )
    graph.save_model_to_file(str(out))


def _quantize(path: Path, out: Path) -> None:
    """int8 weights per output channel; activations quantized at run time."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    logging.disable(logging.WARNING)  # it advises "pre-processing" on the root logger
    try:
        quantize_dynamic(
            str(path),
            str(out),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],  # the fused attention and the embeddings stay float
            per_channel=True,
            extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT, "MatMulConstBOnly": True},
        )
    finally:
        logging.disable(logging.NOTSET)


def session_options() -> Any:
    """ONNX Runtime's session options for the ingest's stream of batches of every length."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    # The parser processes share the cores: threads that wait must not spin on them.
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # A memory pattern is one block for all of a run's tensors, planned per input shape, and
    # length-sorted batches have many shapes: without it the AVX2 ingest peaked at 1,268 MB
    # against 1,679 MB, same run, same CPU time and vectors. The arena stays (off: 1.7x the
    # CPU time). docs/embedding.md, "Memory on the AVX2 path".
    options.enable_mem_pattern = False
    options.log_severity_level = 3  # its notes on fused nodes are not the user's business
    return options


class OnnxEncoder:
    """Embeds texts with an ONNX Runtime session made from a loaded SentenceTransformer."""

    def __init__(
        self, model: SentenceTransformer, *, dtype: str, cache_dir: Path, cache_key: str
    ) -> None:
        import onnxruntime as ort

        self._model = model
        sample = model.preprocess(["a sample text", "two"])
        self.input_names = [n for n in _INPUTS if n in sample]
        quantize = dtype == "int8"
        folder = cache_folder(cache_dir, cache_key, dtype)
        if (folder / "model.onnx").is_file() and not intact(folder, SUMS):
            logger.warning("the ONNX model cache %s fails its checksums: rebuilding", folder)
            _discard(folder)
        if not (folder / "model.onnx").is_file():
            self._build(model, sample, folder, quantize=quantize)
        self._session = ort.InferenceSession(
            str(folder / "model.onnx"), session_options(), providers=["CPUExecutionProvider"]
        )

    def _build(
        self, model: SentenceTransformer, sample: dict, folder: Path, *, quantize: bool
    ) -> None:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Built beside, then renamed: a crash or a concurrent process never sees half a model.
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=folder.parent))
        try:
            _export(model, self.input_names, sample, staging / "exported.onnx")
            fused = staging / ("fused.onnx" if quantize else "model.onnx")
            _fused(staging / "exported.onnx", model, fused)
            if quantize:
                _quantize(fused, staging / "model.onnx")
            for name in os.listdir(staging):
                if name != "model.onnx":
                    (staging / name).unlink()
            write_checksums(staging, ["model.onnx"], SUMS)
            os.replace(staging, folder)
        except OSError:
            if not (folder / "model.onnx").is_file():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """float32 (len(texts), dim) vectors, in batches of similar token length."""
        run = self._session.run

        def infer(batch: dict[str, Any]) -> np.ndarray:
            return run(None, batch)[0]

        return encode_by_length(self._model, texts, batch_size, self.input_names, infer)
