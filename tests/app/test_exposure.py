"""The page names no server paths, reads folders only under the roots, and says when exposed."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit import config

from app.service import AppService
from tests import app_fakes
from tests.app.test_app import WARRANTY_PAGES, plain, start
from tests.pdf_factory import text_pdf


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    monkeypatch.setenv("RAG_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("RAG_DOCUMENTS_DIR", str(tmp_path / "uploads"))
    monkeypatch.setenv("RAG_INGEST_ROOTS", str(tmp_path / "allowed"))
    monkeypatch.setenv("RAG_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.setenv("RAG_APP_FACTORY", "tests.app_fakes:scripted")
    app_fakes.GENERATORS.clear()
    yield tmp_path
    st.cache_resource.clear()


def _add_folder(at, folder) -> None:
    at.text_input[0].input(str(folder))
    next(b for b in at.button if b.label == "Add folder").click().run()
    assert not at.exception, at.exception


def test_a_folder_outside_the_roots_is_refused_with_the_setting(app_env):
    outside = app_env / "outside"
    outside.mkdir()
    text_pdf(outside / "secret.pdf", WARRANTY_PAGES)
    at = start()
    _add_folder(at, outside)
    (message,) = [plain(e.value) for e in at.error]
    assert "outside the folders this app may read" in message and "RAG_INGEST_ROOTS" in message
    assert str(app_env) not in message
    assert not (app_env / "index").exists()


def test_an_unexpected_error_shows_its_kind_but_no_text(app_env, monkeypatch):
    def broken(self, paths, on_progress=None):
        raise ValueError(f"cannot parse {app_env}/private/notes.pdf")

    monkeypatch.setattr(AppService, "ingest", broken)
    (app_env / "allowed").mkdir()
    at = start()
    _add_folder(at, app_env / "allowed")
    (message,) = [plain(e.value) for e in at.error]
    assert message.startswith("Adding documents failed (ValueError)")
    assert "private" not in message and str(app_env) not in message


def test_index_errors_name_no_server_paths(app_env):
    index = app_env / "index"
    index.mkdir()
    (index / "manifest.json").write_text("{ not json")
    at = start()
    message = plain(at.error[0].value)
    assert "manifest.json is damaged" in message and str(app_env) not in message


@pytest.mark.parametrize("address", ["0.0.0.0", "192.168.1.20"])
def test_the_page_warns_when_it_listens_beyond_localhost(app_env, address):
    before = config.get_option("server.address")
    config.set_option("server.address", address)
    try:
        at = start()
        config.set_option("server.address", "localhost")
        private = start()
    finally:
        config.set_option("server.address", before)
    warnings = [plain(w.value) for w in at.warning]
    assert any("anyone who can reach it can read the indexed documents" in w for w in warnings)
    assert not any("anyone who can reach it" in plain(w.value) for w in private.warning)


def test_a_folder_path_that_does_not_exist_is_an_error_not_a_success(app_env):
    at = start()
    _add_folder(at, app_env / "allowed" / "typo")
    (message,) = [plain(e.value) for e in at.error]
    assert "There is no folder or PDF named 'typo'" in message and str(app_env) not in message
    assert not at.success
