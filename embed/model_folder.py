"""A sentence-transformers model folder, read without loading it: checks, sizes, a fingerprint.

What `embed.embedder.SentenceTransformerEmbedder` learns from the folder before
any weights are loaded: that it is complete (`transformer_dir`), the vector size
(`output_dim`), the token limit (`max_tokens`) and a fingerprint of its files
that a copy elsewhere shares (`fingerprint`), so an index can tell whether it was
built with the same model.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.settings import packaged_embedding_model

_WEIGHT_FILES = ("model.safetensors", "pytorch_model.bin")
_TOKENIZER_FILES = ("tokenizer.json", "vocab.txt", "tokenizer.model")
_WEIGHT_HEAD_BYTES = 1 << 20
NEXT_STEP = "set RAG_EMBEDDING_MODEL to a local sentence-transformers folder, or unset it"


def read_json(path: Path) -> dict[str, Any] | list[Any]:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}", hint=NEXT_STEP) from exc


def transformer_dir(model_path: Path) -> Path:
    """Folder of the transformer module (the root for current models, 0_Transformer for old)."""
    modules_file = model_path / "modules.json"
    if not model_path.is_dir():
        raise ConfigError(f"embedding model folder {model_path} does not exist", hint=NEXT_STEP)
    if not modules_file.is_file():
        raise ConfigError(
            f"{model_path} is not a sentence-transformers model (no modules.json)", hint=NEXT_STEP
        )
    modules = read_json(modules_file)
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
            f"embedding model folder {folder} lacks {', '.join(missing)}", hint=NEXT_STEP
        )
    return folder


def fingerprint(model_path: Path) -> str:
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


def output_dim(model_path: Path) -> int | None:
    """Sentence-vector size from the module configs, or None if they do not say."""
    dim = None
    for module in read_json(model_path / "modules.json"):
        kind, config_file = str(module.get("type", "")), model_path / module.get("path", "")
        config_file = config_file / "config.json"
        if kind.endswith(".Pooling") and config_file.is_file():
            config = read_json(config_file)
            modes = sum(on is True for key, on in config.items() if key.startswith("pooling_mode_"))
            dim = int(config["word_embedding_dimension"]) * max(1, modes)
        elif kind.endswith(".Dense") and config_file.is_file():
            dim = int(read_json(config_file)["out_features"])
    return dim


def token_limit(transformer_dir: Path) -> int:
    st_config = transformer_dir / "sentence_bert_config.json"
    if st_config.is_file() and read_json(st_config).get("max_seq_length"):
        return int(read_json(st_config)["max_seq_length"])
    config = read_json(transformer_dir / "config.json")
    return int(config.get("max_position_embeddings", 512))


def is_packaged_default(model_path: Path) -> bool:
    try:
        return packaged_embedding_model().resolve() == model_path.resolve()
    except ConfigError:
        return False
