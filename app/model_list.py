"""The GGUF models installed in `models_dir`: file, size, trained context, catalog name.

The context length is read from the file's own GGUF metadata (a few header
fields, without loading the model): `{architecture}.context_length`.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from llm.catalog import DEFAULT, by_file

__all__ = ["DEFAULT", "InstalledModel", "by_file", "installed_models"]

# Split models: llama.cpp is given the first shard and finds the others itself.
_LATER_SHARD = re.compile(r"-(?!00001)\d{5}-of-\d{5}\.gguf$")
# GGUF value types: sizes of the fixed-width ones (8: string, 9: array).
_FIXED = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_INTS = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 10: "<Q", 11: "<q"}
MAX_KEYS = 64  # the context length comes early; tokenizer arrays come later


@dataclass(frozen=True)
class InstalledModel:
    path: Path
    size: int  # bytes
    context: int  # trained context length in tokens, 0 if unknown
    name: str  # catalog name, or the file name

    @property
    def file(self) -> str:
        return self.path.name

    @property
    def size_label(self) -> str:
        return f"{self.size / 1e9:.1f} GB" if self.size >= 1e9 else f"{self.size / 1e6:.0f} MB"

    @property
    def label(self) -> str:
        context = f", context {self.context:,} tokens" if self.context else ""
        return f"{self.name} ({self.size_label}{context})"


def installed_models(models_dir: Path) -> list[InstalledModel]:
    """Every .gguf in `models_dir` (first shards only for split models), by name."""
    try:
        files = sorted(p for p in Path(models_dir).glob("*.gguf") if p.is_file())
    except OSError:
        return []
    out = []
    for path in files:
        if _LATER_SHARD.search(path.name):
            continue
        known = by_file(path.name)
        out.append(
            InstalledModel(
                path, path.stat().st_size, context_length(path), known.name if known else path.name
            )
        )
    return out


def context_length(path: Path) -> int:
    """`{arch}.context_length` from the GGUF header; 0 when it cannot be read."""
    try:
        with open(path, "rb") as f:
            if f.read(4) != b"GGUF":
                return 0
            _version, _tensors, n_kv = struct.unpack("<IQQ", f.read(20))
            arch = ""
            for _ in range(min(n_kv, MAX_KEYS)):
                key = _string(f)
                kind = struct.unpack("<I", f.read(4))[0]
                if kind == 8:
                    value = _string(f)
                    if key == "general.architecture":
                        arch = value
                    continue
                if key == f"{arch}.context_length" and kind in _INTS:
                    fmt = _INTS[kind]
                    return int(struct.unpack(fmt, f.read(struct.calcsize(fmt)))[0])
                _skip(f, kind)
    except (OSError, struct.error, UnicodeDecodeError, ValueError):
        return 0
    return 0


def _string(f: BinaryIO) -> str:
    (length,) = struct.unpack("<Q", f.read(8))
    if length > 1 << 20:
        raise ValueError("string too long for a GGUF key")
    return f.read(length).decode("utf-8")


def _skip(f: BinaryIO, kind: int) -> None:
    if kind in _FIXED:
        f.seek(_FIXED[kind], 1)
    elif kind == 8:
        (length,) = struct.unpack("<Q", f.read(8))
        f.seek(length, 1)
    elif kind == 9:
        item, count = struct.unpack("<IQ", f.read(12))
        if item in _FIXED:
            f.seek(_FIXED[item] * count, 1)
        else:
            for _ in range(count):
                _skip(f, item)
    else:
        raise ValueError(f"unknown GGUF value type {kind}")
