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

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from core.errors import ConfigError
from core.settings import DEFAULT_EMBEDDING_NAME, PathSettings, packaged_embedding_model
from core.types import EmbeddingInfo
from embed.choice import ENGINE_NAMES, EngineChoice, choose
from embed.engines import Encoder, is_prepared, make_encoder
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

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model")
_WEIGHT_HEAD_BYTES = 1 << 20
_NEXT_STEP = "set RAG_EMBEDDING_MODEL to a local sentence-transformers folder, or unset it"


def _read_json(path: Path) -> dict[str, Any] | list[Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint=_NEXT_STEP) from exc


def _transformer_dir(model_path: Path) -> Path:
    """Folder of the transformer module (the root for current models, 0_Transformer for old)."""
    modules_file = model_path / "modules.json"
    if not model_path.is_dir():
        raise ConfigError(f"embedding model folder {model_path} does not exist", hint=_NEXT_STEP)
    if not modules_file.is_file():
        raise ConfigError(
            f"{model_path} is not a sentence-transformers model (no modules.json)", hint=_NEXT_STEP
        )
    modules = _read_json(modules_file)
    first_module = modules[0] if isinstance(modules, list) and modules else {}
    folder = model_path / str(first_module.get("path", ""))
    missing = [
        what
        for what, names in (
            ("config.json", ("config.json",)),
            ("weights", _WEIGHT_FILES),
            ("tokenizer", _TOKENIZER_FILES),
        )
        if not any((folder / name).is_file() for name in names)
    ]
    if missing:
        raise ConfigError(
            f"embedding model folder {folder} lacks {', '.join(missing)}", hint=_NEXT_STEP
        )
    return folder


def _fingerprint(model_path: Path) -> str:
    digest = hashlib.sha256()
    for file in sorted(model_path.rglob("*")):
        # Paths relative to the folder, so that a copy elsewhere has the same fingerprint.
        name = file.relative_to(model_path).as_posix()
        if file.suffix in (".json", ".txt") and file.is_file():  # configs and vocabularies
            digest.update(f"{name}\0".encode() + file.read_bytes())
        elif file.name in _WEIGHT_FILES:
            # Hashing 90 MB would cost a second per start; size and head tell weights apart.
            with file.open("rb") as stream:
                head = stream.read(_WEIGHT_HEAD_BYTES)
            digest.update(f"{name}\0{file.stat().st_size}\0".encode() + head)
    return digest.hexdigest()[:16]


def _output_dim(model_path: Path) -> int | None:
    """Sentence-vector size from the module configs, or None if they do not say."""
    dim = None
    for module in _read_json(model_path / "modules.json"):
        kind, config_file = str(module.get("type", "")), model_path / module.get("path", "")
        config_file = config_file / "config.json"
        if kind.endswith(".Pooling") and config_file.is_file():
            config = _read_json(config_file)
            modes = sum(on is True for key, on in config.items() if key.startswith("pooling_mode_"))
            dim = int(config["word_embedding_dimension"]) * max(1, modes)
        elif kind.endswith(".Dense") and config_file.is_file():
            dim = int(_read_json(config_file)["out_features"])
    return dim


def _max_tokens(transformer_dir: Path) -> int:
    st_config = transformer_dir / "sentence_bert_config.json"
    if st_config.is_file() and _read_json(st_config).get("max_seq_length"):
        return int(_read_json(st_config)["max_seq_length"])
    config = _read_json(transformer_dir / "config.json")
    return int(config.get("max_position_embeddings", 512))


def _is_packaged_default(model_path: Path) -> bool:
    try:
        return packaged_embedding_model().resolve() == model_path.resolve()
    except ConfigError:
        return False


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
        self._transformer_dir = _transformer_dir(self.model_path)
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
            dim = _output_dim(self.model_path)
            if dim is None:  # unusual module stack: only the loaded model knows its output size
                dim = int(self._loaded_model().get_sentence_embedding_dimension())
            model_id = (
                DEFAULT_EMBEDDING_NAME
                if _is_packaged_default(self.model_path)
                else self.model_path.resolve().name
            )
            self._info = EmbeddingInfo(
                model_id=model_id,
                dim=dim,
                max_tokens=_max_tokens(self._transformer_dir),
                fingerprint=_fingerprint(self.model_path),
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
                        hint=_NEXT_STEP,
                    ) from exc
                if not tokenizer.is_fast:
                    raise ConfigError(
                        f"the tokenizer of {self._transformer_dir} has no fast version, "
                        "which exact token offsets need",
                        hint="add a tokenizer.json to the folder, or " + _NEXT_STEP,
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
                        hint=f"check RAG_EMBEDDING_DEVICE (cpu works everywhere); {_NEXT_STEP}",
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
