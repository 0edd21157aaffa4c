"""Importing `llm` stays light: the heavy libraries load only when a model is used."""

from __future__ import annotations

import subprocess
import sys


def test_importing_llm_loads_no_heavy_library():
    heavy = ("llama_cpp", "torch", "sentence_transformers")
    code = (
        "import sys, llm.chat, llm.cli, wiring.root, llm.budget, llm.rewrite;"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
