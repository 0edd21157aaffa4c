"""The examples in the app modules' docstrings run as tests."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "app.conversation",
    "app.conversation_store",
    "app.documents_view",
    "app.ingest_job",
    "app.passage_marks",
    "app.safe_markdown",
    "app.sources_view",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0, result
