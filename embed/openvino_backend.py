"""The sentence-transformers model run by OpenVINO on the CPU: the same vectors, faster.

Why: on this project's 2-core AVX-512 machine, OpenVINO embeds the ingest
benchmark's chunks at 62.9 chunks/s in bfloat16 against 44.4 for torch in
bfloat16 (its kernels fuse attention and layer norms; torch's eager mode runs
them one by one), with vectors that agree with torch float32 at cosine >= 0.9998; in int8 (NNCF)
where the CPU has VNNI or AMX, 1.4x its bfloat16 (docs/embedding.md).

The torch model is traced once into OpenVINO's graph format and saved under
the cache folder, keyed by the model's fingerprint and the OpenVINO version,
so later processes skip the tracing. The saved graph is XML plus raw weights:
nothing is pickled.

OpenVINO's model-conversion code reports usage to Google Analytics unless a
consent file says no. This product sends nothing anywhere, so the telemetry
package is made unimportable before OpenVINO loads; both OpenVINO and NNCF
then fall back to their no-op stubs.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from embed.batching import encode_by_length
from embed.cache_checksums import files_under, intact, write_checksums
from embed.cpu import cpu_profile

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

__all__ = ["OpenVinoEncoder", "block_telemetry", "cache_folder", "is_cached"]

# OpenVINO's names for the torch dtypes the settings speak of.
_PRECISION = {"float32": "f32", "bfloat16": "bf16", "float16": "f16"}
logger = logging.getLogger(__name__)
GRAPH_SUMS = "graph.sha256.json"  # written with the graph, inside the folder renamed into place
# The tokenizer outputs the traced graph takes, in `forward`'s order; models differ in the last.
_INPUTS = ("input_ids", "attention_mask", "token_type_ids")


def block_telemetry() -> None:
    """Make `import openvino_telemetry` fail, so OpenVINO's usage reports stay stubs.

    >>> block_telemetry()
    >>> import openvino_telemetry
    Traceback (most recent call last):
    ...
    ModuleNotFoundError: import of openvino_telemetry halted; None in sys.modules
    """
    sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]


def cache_folder(cache_dir: Path, cache_key: str, dtype: str) -> Path:
    """Where the traced (for int8: also quantized) graph of the model `cache_key` is kept.

    Keyed by OpenVINO's version; float32 and bfloat16 share one float graph.
    """
    from importlib.metadata import version

    suffix = "-int8" if dtype == "int8" else ""
    return Path(cache_dir) / f"{cache_key}-openvino-{version('openvino')}{suffix}"


def is_cached(folder: Path) -> bool:
    """Whether `folder` holds a graph whose files match their checksums (no tracing needed)."""
    return (folder / "model.xml").is_file() and intact(folder, GRAPH_SUMS)


def _traceable(model: SentenceTransformer) -> Any:
    """A torch module with plain tensor inputs, as tracing wants, around a SentenceTransformer."""
    import torch

    class SentenceEmbedding(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, input_ids, attention_mask, token_type_ids=None):
            features = {"input_ids": input_ids, "attention_mask": attention_mask}
            if token_type_ids is not None:
                features["token_type_ids"] = token_type_ids
            return self.model(features)["sentence_embedding"]

    return SentenceEmbedding()


def _discard(graph_dir: Path) -> None:
    """Move a bad cache folder aside (a reader may hold its files open), then delete it."""
    aside = graph_dir.with_name(f".bad-{graph_dir.name}-{os.getpid()}")
    try:
        os.replace(graph_dir, aside)
    except OSError:  # another process moved it first
        return
    shutil.rmtree(aside, ignore_errors=True)


class OpenVinoEncoder:
    """Embeds texts with an OpenVINO-compiled copy of a loaded SentenceTransformer.

    Construction traces (or reads from `cache_dir`) and compiles the model:
    seconds, done once per process by the embedder that owns it.
    """

    def __init__(
        self, model: SentenceTransformer, *, dtype: str, cache_dir: Path, cache_key: str
    ) -> None:
        block_telemetry()
        import openvino as ov

        self._model = model
        sample = model.preprocess(["a sample text", "two"])
        self.input_names = [n for n in _INPUTS if n in sample]
        quantize = dtype == "int8"
        graph_dir = cache_folder(cache_dir, cache_key, dtype)
        graph_file = graph_dir / "model.xml"
        core = ov.Core()
        # OpenVINO keys its compiled blobs by the CPU's brand name only ("AMD EPYC" for an
        # AVX2 Rome and an AVX-512 Genoa alike): a cache folder copied or shared between
        # machines must not hand one CPU the other's kernels. So each instruction-set
        # profile compiles into a folder of its own; the traced graph itself is portable.
        self._compiled = f"compiled-{cpu_profile().key}"
        self._checked_cache(model, sample, graph_dir, quantize=quantize)
        if quantize:  # what int8 leaves in floating point (norms, softmax) runs in the best float
            dtype = "bfloat16" if cpu_profile().bf16_native else "float32"
        compiled = core.compile_model(
            core.read_model(str(graph_file)),
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": _PRECISION[dtype],
                "PERFORMANCE_HINT": "LATENCY",
                "CACHE_DIR": str(graph_dir / self._compiled),
            },
        )
        self._request = compiled.create_infer_request()
        if (graph_dir / self._compiled).is_dir():  # blobs this compile added; the others stay
            sums = f"{self._compiled}.sha256.json"
            write_checksums(graph_dir, files_under(graph_dir, self._compiled), sums)

    def _checked_cache(
        self, model: SentenceTransformer, sample: dict, graph_dir: Path, *, quantize: bool
    ) -> None:
        """Make sure `graph_dir` holds a graph whose files match the checksums written with it.

        A cache that fails them (damaged, tampered, or made before checksums existed)
        is rebuilt: a damaged model.bin still runs, and its vectors look like vectors.
        """
        if (graph_dir / "model.xml").is_file() and not intact(graph_dir, GRAPH_SUMS):
            logger.warning("the OpenVINO model cache %s fails its checksums: rebuilding", graph_dir)
            _discard(graph_dir)
        if not (graph_dir / "model.xml").is_file():
            self._save_graph(model, sample, graph_dir, quantize=quantize)
        compiled_dir, sums = graph_dir / self._compiled, f"{self._compiled}.sha256.json"
        blobs = files_under(graph_dir, self._compiled) if compiled_dir.is_dir() else []
        if blobs and not intact(graph_dir, sums, blobs):
            # Only a cache of compiled kernels: OpenVINO makes it again.
            shutil.rmtree(compiled_dir, ignore_errors=True)
            (graph_dir / sums).unlink(missing_ok=True)
        # Blobs of the CPU-blind layout (before 2026-12): whichever CPU made them, unused now.
        shutil.rmtree(graph_dir / "compiled", ignore_errors=True)
        (graph_dir / "compiled.sha256.json").unlink(missing_ok=True)

    def _save_graph(
        self, model: SentenceTransformer, sample: dict, graph_dir: Path, *, quantize: bool
    ) -> None:
        import openvino as ov
        import torch

        example = {name: sample[name] for name in self.input_names}
        shapes = [(n, ov.PartialShape([-1, -1]), ov.Type.i64) for n in self.input_names]
        from transformers.utils import logging as hf_logging

        verbosity = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()  # tracing touches attributes that log (`loss_type`)
        try:
            with warnings.catch_warnings(), torch.no_grad():
                warnings.simplefilter("ignore")  # tracer warnings about Python control flow
                graph = ov.convert_model(_traceable(model), example_input=example, input=shapes)
        finally:
            hf_logging.set_verbosity(verbosity)
        if quantize:
            graph = self._quantized(graph, model)
        graph_dir.parent.mkdir(parents=True, exist_ok=True)
        # Written beside, then renamed: a crash or a concurrent process never sees half a graph.
        staging = Path(tempfile.mkdtemp(prefix=".staging-", dir=graph_dir.parent))
        try:
            ov.save_model(graph, str(staging / "model.xml"), compress_to_fp16=False)
            write_checksums(staging, ["model.xml", "model.bin"], GRAPH_SUMS)
            os.replace(staging, graph_dir)
        except OSError:
            if not (graph_dir / "model.xml").is_file():
                raise
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _quantized(self, graph: Any, model: SentenceTransformer) -> Any:
        """Static int8 weights and activations (NNCF), ranges learned on fixed texts."""
        import nncf

        from embed.calibration import calibration_texts

        texts = calibration_texts()
        batches = []
        for start in range(0, len(texts), 8):
            features = model.preprocess(texts[start : start + 8])
            batches.append({n: features[n].numpy() for n in self.input_names})
        return nncf.quantize(
            graph,
            nncf.Dataset(batches),
            model_type=nncf.ModelType.TRANSFORMER,  # keeps softmax and norms in float
            subset_size=len(batches),
        )

    def encode(self, texts: Sequence[str], batch_size: int) -> np.ndarray:
        """float32 (len(texts), dim) vectors, in batches of similar token length."""
        infer = self._request.infer
        return encode_by_length(
            self._model, texts, batch_size, self.input_names, lambda b: infer(b)[0]
        )
