"""Texts that calibrate int8 quantization of the embedding model: the same on every machine.

Static int8 quantization needs sample inputs to learn the range of each
activation. They come from the Python standard library's own docstrings, read
from its source files (never imported): technical English prose like the
documents this product indexes, present wherever Python is, and identical for
a given Python version, so every machine makes the same int8 model.

>>> texts = calibration_texts(8)
>>> len(texts), all(400 <= len(t) for t in texts)
(8, True)
>>> calibration_texts(8) == texts
True
"""

from __future__ import annotations

import ast
import sysconfig
from pathlib import Path

__all__ = ["calibration_texts"]

_TARGET_CHARS = 900  # about the length of a 192-token chunk


def _docstrings(source: Path) -> list[str]:
    try:
        tree = ast.parse(source.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return []
    nodes = [tree] + [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.ClassDef)]
    docs = (ast.get_docstring(n) for n in nodes)
    return [" ".join(d.split()) for d in docs if d and len(d) >= 80]


def calibration_texts(count: int = 256) -> list[str]:
    """`count` passages of about 900 characters, joined from standard-library docstrings."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    texts: list[str] = []
    current = ""
    for source in sorted(stdlib.glob("*.py")):
        for doc in _docstrings(source):
            current = f"{current} {doc}".strip()
            if len(current) >= _TARGET_CHARS:
                texts.append(current[: _TARGET_CHARS * 2])
                current = ""
                if len(texts) == count:
                    return texts
    return texts
