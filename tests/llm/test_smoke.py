"""`llm.smoke`: a llama.cpp crash in a child process becomes a message, and a pass is remembered."""

from __future__ import annotations

import sys

import pytest

from core.errors import ModelError
from llm.smoke import check_runs, main, stamp_path

CRASH = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF" + bytes(60))
    return path


def test_a_crashing_child_is_reported_with_the_signal_and_the_next_step(model):
    with pytest.raises(ModelError) as err:
        check_runs(model, command=CRASH)
    assert "SIGSEGV" in err.value.message and "m.gguf" in err.value.message
    assert "make run" in err.value.hint
    assert not stamp_path(model).exists()


def test_a_pass_is_remembered_until_the_model_changes(model, tmp_path):
    counter = tmp_path / "runs.txt"
    count = [sys.executable, "-c", f"open({str(counter)!r}, 'a').write('x')"]
    assert check_runs(model, command=count) is True
    assert check_runs(model, command=CRASH) is False  # the stamp answers; the crash never runs
    assert counter.read_text() == "x"
    model.write_bytes(b"GGUF" + bytes(61))  # a new file: checked again
    with pytest.raises(ModelError):
        check_runs(model, command=CRASH)


def test_a_hang_is_reported(model):
    hang = [sys.executable, "-c", "import time; time.sleep(30)"]
    with pytest.raises(ModelError, match="did not generate"):
        check_runs(model, command=hang, timeout=0.5)


def test_the_cli_names_a_missing_model(tmp_path, capsys):
    assert main([str(tmp_path / "absent.gguf")]) == 2
    assert "no model file" in capsys.readouterr().err
