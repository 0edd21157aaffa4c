"""A file's SHA-256, read in blocks: how every part checks that bytes are the ones it wrote.

The index checks its vector files with it, the model installer its GGUF, the upload its
duplicate, the embedding cache its converted model:

>>> import tempfile, pathlib
>>> with tempfile.TemporaryDirectory() as d:
...     path = pathlib.Path(d) / "a.txt"
...     _ = path.write_bytes(b"abc")
...     sha256_file(path)[:16]
'ba7816bf8f01cfea'
"""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    """The hex SHA-256 of the file's bytes (memory bounded by `block`)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            digest.update(chunk)
    return digest.hexdigest()
