"""`python -m api` (what `make serve` runs) as its own process, and two processes on one model.

Marked `subprocess`: each test starts the API in a child process, as a user would.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app.conversation import Tuning
from app.service import AppService
from app.session_work import SessionWork
from service.machine_turns import MachineTurns
from service.model_queue import ModelQueue
from tests.api.conftest import SlowScripted, api_settings, free_port, indexed, scripted

ROOT = Path(__file__).resolve().parents[2]
QUESTION = {"messages": [{"role": "user", "content": "How long does the warranty last?"}]}
pytestmark = [pytest.mark.subprocess, pytest.mark.slow]


def start_api(tmp_path: Path, factory: str, **env: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    environ = {
        **os.environ,
        "RAG_INDEX_DIR": str(tmp_path / "index"),
        "RAG_DOCUMENTS_DIR": str(tmp_path / "uploads"),
        "RAG_RELEVANCE_FLOOR": "0.05",
        "RAG_APP_FACTORY": factory,
        "RAG_API_PORT": str(port),
        "TMPDIR": str(tmp_path),  # the machine's line of processes, for this test only
        **env,
    }
    child = subprocess.Popen(
        [sys.executable, "-m", "api"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        assert child.poll() is None, child.stdout.read()
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return child, url
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "python -m api did not start"
        time.sleep(0.1)


def stop(child: subprocess.Popen) -> str:
    child.send_signal(signal.SIGTERM)
    out, _ = child.communicate(timeout=20)
    # uvicorn shuts down cleanly, then re-raises the signal (the exit status says SIGTERM).
    assert child.returncode in (0, -signal.SIGTERM) and "Finished server process" in out, out
    return out


def test_python_m_api_serves_with_keys_and_stops_cleanly_on_sigterm(tmp_path):
    indexed(api_settings(tmp_path), scripted())
    child, url = start_api(tmp_path, "tests.app_fakes:no_model", RAG_API_KEYS="s3cret-key")
    try:
        assert httpx.get(url + "/v1/models").status_code == 401
        headers = {"Authorization": "Bearer s3cret-key"}
        reply = httpx.post(url + "/v1/chat/completions", json=QUESTION, headers=headers)
        assert reply.status_code == 200 and reply.json()["outcome"] == "quoted"
        assert reply.json()["sources"][0]["file"] == "warranty.pdf"
    finally:
        log = stop(child)
    assert "answering with quoted passages" in log
    assert "s3cret-key" not in log


def test_a_bad_setting_exits_2_with_the_variable_named(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "api"],
        cwd=ROOT,
        env={**os.environ, "RAG_API_PORT": "99999"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2 and "RAG_API_PORT" in result.stderr


def test_the_app_and_the_api_in_two_processes_take_turns_on_the_machine(tmp_path):
    settings = api_settings(tmp_path)
    indexed(settings, scripted())
    child, url = start_api(tmp_path, "tests.api.conftest:slow_model")
    try:
        finished: list[tuple[str, float]] = []

        def ask(name: str) -> None:
            httpx.post(url + "/v1/chat/completions", json=QUESTION, timeout=60)
            finished.append((name, time.monotonic()))

        line = MachineTurns(tmp_path / f"pdf-chat-{os.getuid()}" / "model-turns")
        api_1 = threading.Thread(target=ask, args=("api-1",))
        api_1.start()
        deadline = time.monotonic() + 20
        while line.waiting() == 0:  # the API process is generating
            assert time.monotonic() < deadline
            time.sleep(0.01)
        api_2 = threading.Thread(target=ask, args=("api-2",))
        api_2.start()
        time.sleep(0.2)  # api-2 waits inside the API process, behind api-1
        # The app, in this process, on the same machine line.
        app = AppService(settings, scripted(SlowScripted(0.05)), queue=ModelQueue(line))
        work = SessionWork(app.new_conversation())
        job = work.submit("How long does the warranty last?", Tuning(4, 0.0, 200))
        while not job.finished:
            time.sleep(0.01)
        finished.append(("app", time.monotonic()))
        api_1.join(60)
        api_2.join(60)
    finally:
        stop(child)
    assert job.state == "done"
    order = [name for name, _ in sorted(finished, key=lambda f: f[1])]
    assert order == ["api-1", "app", "api-2"]  # neither waited for more than one answer
