"""The worked examples in `llm/` docstrings run as tests (`llm` is outside pytest's testpaths)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import llm

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(llm.__path__, "llm.") if not m.name.endswith("__main__")
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"


def test_importing_llm_loads_no_heavy_library():
    import subprocess
    import sys

    heavy = ("llama_cpp", "torch", "sentence_transformers")
    code = (
        "import sys, llm.chat, llm.cli, llm.service_factory, llm.budget, llm.rewrite;"
        f"print(sorted(m for m in {heavy!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
