"""Run the worked examples in the retrieval modules' docstrings.

pytest's `--doctest-modules` only walks `testpaths` (tests, core, ingest, index, embed);
this brings `retrieval` in without changing the project configuration.
"""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "retrieval.query",
    "retrieval.dense",
    "retrieval.fusion",
    "evals.retrieval.metrics",
    "retrieval.threads",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
