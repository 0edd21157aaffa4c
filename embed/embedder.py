"""Sentence embeddings and token counting with a local sentence-transformers model.

The chunker needs the model's own token counts (all-MiniLM-L6-v2 silently
truncates past 256 word pieces), and the index needs vectors. Both come from
one `Embedder`. The real one, `SentenceTransformerEmbedder`, loads lazily: the
fast tokenizer (milliseconds) serves counting and splitting, so chunking starts
before the torch weights (seconds) are loaded for the first `embed` call.
What a token counter must do (`TokenCounter`) and how text is cut at token
offsets (`split_at_token_boundaries`) live in `embed.tokens`, shared with the chunker.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ConfigError
from core.settings import DEFAULT_EMBEDDING_NAME, PathSettings
from core.types import EmbeddingInfo
from embed.choice import ENGINE_NAMES, EngineChoice, choose
from embed.engines import Encoder, is_prepared, make_encoder
from embed.model_folder import (
    NEXT_STEP,
    fingerprint,
    is_packaged_default,
    output_dim,
    token_limit,
    transformer_dir,
)
from embed.protocols import Embedder, TokenCounter
from embed.tokens import split_at_token_boundaries

__all__ = [
    "Embedder",
    "EmbeddingInfo",
    "EngineChoice",
    "SentenceTransformerEmbedder",
    "TokenCounter",
]

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


logger = logging.getLogger(__name__)


class SentenceTransformerEmbedder:
    """A local sentence-transformers folder, loaded on first use (once, thread-safe).

    Construction only checks the folder; `info` reads its config files;
    counting and splitting load the tokenizer alone; `embed` loads torch.
    """

    def __init__(
        self,
        model_path: Path,
        device: str = "cpu",
        batch_size: int = 32,
        dtype: str = "float32",
        *,
        backend: str = "torch",
        cache_dir: Path | None = None,
    ) -> None:
        self.model_path = Path(model_path)
        self.batch_size = batch_size
        # Device, engine and precision, with the reason (`auto` is decided here, from the CPU).
        self.choice: EngineChoice = choose(backend, dtype, device)
        self.device = self.choice.device
        self.dtype = self.choice.dtype
        self.backend = self.choice.backend
        self._backend_requested = backend
        self._cache_dir = cache_dir or PathSettings().model_cache_dir
        self._encoder: Encoder | None = None  # OpenVINO's or ONNX Runtime's, made on first use
        self._transformer_dir = transformer_dir(self.model_path)
        self._info: EmbeddingInfo | None = None
        self._tokenizer: Any = None
        self._model: SentenceTransformer | None = None
        self._load_lock = threading.Lock()
        # A fast tokenizer is not safe for concurrent calls ("Already borrowed"); nor is encode().
        self._tokenizer_lock = threading.Lock()
        self._model_lock = threading.Lock()

    @property
    def info(self) -> EmbeddingInfo:
        if self._info is None:
            dim = output_dim(self.model_path)
            if dim is None:  # unusual module stack: only the loaded model knows its output size
                dim = int(self._loaded_model().get_sentence_embedding_dimension())
            model_id = (
                DEFAULT_EMBEDDING_NAME
                if is_packaged_default(self.model_path)
                else self.model_path.resolve().name
            )
            self._info = EmbeddingInfo(
                model_id=model_id,
                dim=dim,
                max_tokens=token_limit(self._transformer_dir),
                fingerprint=fingerprint(self.model_path),
            )
        return self._info

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Word pieces of each text, without special tokens, in one batched tokenizer call."""
        if not texts:
            return []
        return [len(ids) for ids in self._encode(texts, with_offsets=False)["input_ids"]]

    def split_to_tokens(self, text: str, max_tokens: int) -> list[str]:
        """Pieces of `text`, each at most `max_tokens` tokens, cut at token boundaries."""
        encoding = self._encode([text], with_offsets=True)
        spans = encoding["offset_mapping"][0]
        if len(spans) <= max_tokens:
            return [text.strip()] if text.strip() else []
        pieces = split_at_token_boundaries(text, spans, encoding.word_ids(0), max_tokens)
        # A piece cut inside a word may tokenize differently alone (say "##ing" -> "in", "##g").
        result: list[str] = []
        for piece, count in zip(pieces, self.count_tokens(pieces), strict=True):
            too_long = count > max_tokens and piece != text.strip()
            result.extend(self.split_to_tokens(piece, max_tokens) if too_long else [piece])
        return result

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """float32 (len(texts), dim) vectors with L2 norm 1.

        The model silently truncates a text past `info.max_tokens`; chunks never are that long.
        """
        if not texts:
            return np.zeros((0, self.info.dim), dtype=np.float32)
        model = self._loaded_model()
        encoder = self._loaded_encoder(model) if self.backend != "torch" else None
        with self._model_lock:
            if encoder is not None:
                vectors = encoder.encode(list(texts), self.batch_size)
            else:
                vectors = model.encode(
                    list(texts),
                    batch_size=self.batch_size,
                    convert_to_numpy=True,
                    normalize_embeddings=True,
                    show_progress_bar=False,
                )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        # Normalize again in float32: a bfloat16 model normalizes to only ~3 digits.
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors

    def needs_preparing(self) -> bool:
        """Whether the first `embed` must convert the model for its engine (int8: a minute
        or more, once per machine and model; `python -m embed.prepare` does it ahead)."""
        if self.backend == "torch":
            return False
        return not is_prepared(self.backend, self.dtype, self._cache_dir, self.info.fingerprint)

    def _encode(self, texts: Sequence[str], *, with_offsets: bool) -> Any:
        tokenizer = self._loaded_tokenizer()
        with self._tokenizer_lock:
            return tokenizer(
                list(texts),
                add_special_tokens=False,
                truncation=False,
                padding=False,
                return_offsets_mapping=with_offsets,
                return_attention_mask=False,
                return_token_type_ids=False,
            )

    def _loaded_tokenizer(self) -> Any:
        with self._load_lock:
            if self._tokenizer is None:
                from transformers import AutoTokenizer

                try:
                    # model_max_length: we count long texts on purpose; no "too long" warning.
                    tokenizer = AutoTokenizer.from_pretrained(
                        str(self._transformer_dir), use_fast=True, model_max_length=10**9
                    )
                except Exception as exc:  # any failure means the folder is unusable
                    raise ConfigError(
                        f"cannot load the tokenizer of {self._transformer_dir}: {exc}",
                        hint=NEXT_STEP,
                    ) from exc
                if not tokenizer.is_fast:
                    raise ConfigError(
                        f"the tokenizer of {self._transformer_dir} has no fast version, "
                        "which exact token offsets need",
                        hint="add a tokenizer.json to the folder, or " + NEXT_STEP,
                    )
                self._tokenizer = tokenizer
            return self._tokenizer

    def _loaded_model(self) -> SentenceTransformer:
        with self._load_lock:
            if self._model is None:
                from sentence_transformers import SentenceTransformer
                from transformers.utils import logging as hf_logging

                bars_were_on = hf_logging.is_progress_bar_enabled()
                hf_logging.disable_progress_bar()  # library code must not write to the terminal
                try:
                    model = SentenceTransformer(
                        str(self.model_path), device=self.device, local_files_only=True
                    )
                    # OpenVINO traces the float32 model and picks its own precision.
                    if self.dtype != "float32" and self.backend == "torch":
                        import torch

                        model = model.to(getattr(torch, self.dtype))
                    self._model = model
                except Exception as exc:  # torch/ST raise many types; all mean "cannot use it"
                    raise ConfigError(
                        f"cannot load embedding model {self.model_path} on {self.device!r}: {exc}",
                        hint=f"check RAG_EMBEDDING_DEVICE (cpu works everywhere); {NEXT_STEP}",
                    ) from exc
                finally:
                    if bars_were_on:
                        hf_logging.enable_progress_bar()
            return self._model

    def _loaded_encoder(self, model: SentenceTransformer) -> Encoder | None:
        """The OpenVINO or ONNX Runtime copy of `model`; None (and torch from then on) if
        `auto` cannot make one; an engine asked for by name says why it cannot."""
        cache_key = self.info.fingerprint  # outside the lock: `info` may load the model
        with self._load_lock:
            if self._encoder is None and self.backend != "torch":
                try:
                    self._encoder = make_encoder(
                        self.backend, model, self.dtype, self._cache_dir, cache_key
                    )
                except Exception as exc:  # tracing fails in many ways on unusual models
                    self._fall_back_to_torch(model, exc)
            return self._encoder

    def _fall_back_to_torch(self, model: SentenceTransformer, exc: Exception) -> None:
        engine = ENGINE_NAMES[self.backend]
        if self._backend_requested != "auto":
            raise ConfigError(
                f"{engine} cannot run embedding model {self.model_path}: {exc}",
                hint="set RAG_EMBEDDING_BACKEND=torch",
            ) from exc
        logger.warning("%s cannot run %s (%s); using torch", engine, self.model_path, exc)
        if self.dtype == "int8":  # the engines' alone; torch takes the best float
            fallback = choose("torch", "auto", self.device)
        else:  # the precision asked for, or chosen, stays
            fallback = choose("torch", self.dtype, self.device)
        why = f"{engine} could not run the model ({type(exc).__name__}); torch instead"
        self.choice = EngineChoice("torch", fallback.dtype, self.device, why, fallback.cpu)
        self.backend, self.dtype = "torch", fallback.dtype
        if self.dtype != "float32":
            import torch

            self._model = model.to(getattr(torch, self.dtype))
