"""Finding the GGUF model file and checking it before llama.cpp sees it.

llama.cpp answers a wrong file with "failed to load model"; these checks say
what is wrong instead (missing, a Git LFS pointer, an HTML error page, the old
GGML format, a truncated download) and what to do about it.

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as tmp:
...     bad = pathlib.Path(tmp) / "model.gguf"
...     _ = bad.write_text("<!DOCTYPE html><html>Not found</html>")
...     try:
...         check_gguf_file(bad)
...     except ModelError as err:
...         print(err.message)
model.gguf is not a GGUF model: it is an HTML page (a failed download?)
"""

from __future__ import annotations

import os
import re
import struct
from pathlib import Path

from core.errors import ModelError
from llm.catalog import DEFAULT

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
# magic, version, tensor count, key-value count: the smallest possible GGUF.
HEADER_BYTES = 4 + 4 + 8 + 8
# Split models: llama.cpp is given the first shard and finds the others itself.
_LATER_SHARD = re.compile(r"-(\d{5})-of-\d{5}\.gguf$")
_WHERE = "put a .gguf file in {dir}/ or set RAG_LLM_MODEL (or pass --model FILE)"


def find_model_file(model: Path | None, models_dir: Path) -> Path | None:
    """`model` when given, else the default model or the newest .gguf in `models_dir`.

    A configured path that does not exist is an error, not a silent fallback.
    """
    if model is not None:
        path = Path(os.path.expanduser(model))
        if not path.exists():
            raise ModelError(
                f"model file {path} does not exist",
                hint=f"check RAG_LLM_MODEL / --model, or {_WHERE.format(dir=models_dir)}",
            )
        return path
    folder = Path(os.path.expanduser(models_dir))
    if not folder.is_dir():
        return None
    candidates = [
        p
        for p in folder.glob("*.gguf")
        if p.is_file() and not _is_later_shard(p) and not p.name.startswith(".")
    ]
    if not candidates:
        return None
    default = folder / DEFAULT.file
    if default in candidates:  # the set-up's own model, even when a test model is newer
        return default
    return max(candidates, key=lambda p: (p.stat().st_mtime, p.name))


def _is_later_shard(path: Path) -> bool:
    match = _LATER_SHARD.search(path.name)
    return bool(match) and int(match.group(1)) != 1


def check_gguf_file(path: Path) -> None:
    """Raise ModelError unless `path` starts like a GGUF file llama.cpp can read."""
    if not path.exists():
        raise ModelError(f"model file {path} does not exist", hint=_WHERE.format(dir="models"))
    if not path.is_file():
        raise ModelError(f"{path} is not a file", hint="point RAG_LLM_MODEL at a .gguf file")
    try:
        with path.open("rb") as fh:
            head = fh.read(HEADER_BYTES)
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc}", hint="check its permissions") from exc
    if head[:4] != GGUF_MAGIC:
        raise ModelError(f"{path.name} is not a GGUF model: {_describe(head)}", hint=_hint(head))
    if len(head) < HEADER_BYTES:
        raise ModelError(
            f"{path.name} is truncated ({path.stat().st_size} bytes)",
            hint="download the model again; the file is incomplete",
        )
    (version,) = struct.unpack("<I", head[4:8])
    if version not in SUPPORTED_VERSIONS:
        raise ModelError(
            f"{path.name} has GGUF version {version}, which this llama.cpp cannot read",
            hint="download a GGUF v3 file of the model",
        )


def _describe(head: bytes) -> str:
    if not head:
        return "the file is empty"
    if head.startswith(b"version https://git-lfs"):
        return "it is a Git LFS pointer, not the model itself"
    text = head.lstrip().lower()
    if text.startswith((b"<!doctype html", b"<html", b"<?xml")):
        return "it is an HTML page (a failed download?)"
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg", b"ggml", b"ggmf", b"ggjt"):
        return "it is in the old GGML format"
    if head[:4] == b"PK\x03\x04" or head[:2] == b"\x80\x02":
        return "it is a PyTorch checkpoint"
    if head[8:9] == b"{":
        return "it looks like a safetensors file"
    return f"it starts with {head[:4]!r} instead of {GGUF_MAGIC!r}"


def _hint(head: bytes) -> str:
    if head.startswith(b"version https://git-lfs"):
        return "run `git lfs pull` in the model's repository, or download the .gguf file directly"
    if head[:4] in (b"lmgg", b"fmgg", b"tjgg", b"ggml", b"ggmf", b"ggjt") or head[8:9] == b"{":
        return "download a .gguf version of the model (or convert it with llama.cpp's tools)"
    return "download the model again as a .gguf file"
