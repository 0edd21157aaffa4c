"""Fixtures shared by the ingest tests."""

from __future__ import annotations

import pytest

from core.settings import Settings


@pytest.fixture
def settings(tmp_path) -> Settings:
    """An index under tmp_path with small chunks, so a short PDF page gives several."""
    return Settings(index_dir=tmp_path / "index", chunk_tokens=40, chunk_overlap=8)
