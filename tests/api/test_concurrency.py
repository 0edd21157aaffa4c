"""Many clients, one model: a bounded line, 503 with Retry-After, hang-ups free the model at once,
and the app and the API take turns (neither waits for more than one answer of the other)."""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from app.conversation import Tuning
from app.service import AppService
from app.session_work import SessionWork
from tests.api.conftest import SlowScripted, api_settings, indexed, scripted, serve

# Timed with a model paced at a few tens of ms per piece: a second or two each.
pytestmark = pytest.mark.slow
QUESTION = {"messages": [{"role": "user", "content": "How long does the warranty last?"}]}


def wait_until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def in_background(server, stream=False, finished=None, name=""):
    """Ask in a thread; `finished` gets (name, time) when the answer is complete."""
    result = {}

    def run():
        with server.client() as client:
            reply = client.post("/v1/chat/completions", json={**QUESTION, "stream": stream})
            result["status"] = reply.status_code
            if finished is not None:
                finished.append((name, time.monotonic()))

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def raw_request(server, body: dict) -> socket.socket:
    """A POST sent on a plain socket, so the test can hang up whenever it likes."""
    data = json.dumps(body).encode()
    host, port = server.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.sendall(
        b"POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(data)}\r\n\r\n".encode()
        + data
    )
    return sock


def slow_server(tmp_path, delay=0.05, **changes):
    settings = api_settings(tmp_path, **changes)
    indexed(settings, scripted())
    model = SlowScripted(delay)
    return serve(settings, scripted(model)), model, settings


def test_questions_queue_up_to_the_bound_then_get_503_with_retry_after(tmp_path):
    context, _model, _ = slow_server(tmp_path, delay=0.03, api_queue_max=1)
    with context as server:
        first, first_result = in_background(server)
        wait_until(lambda: server.queue.holder() is not None)
        second, second_result = in_background(server)
        wait_until(lambda: server.queue.waiting() == 1)
        refused = server.client().post("/v1/chat/completions", json=QUESTION)
        assert refused.status_code == 503
        error = refused.json()["error"]
        assert error["code"] == "queue_full" and "Next step: retry in about" in error["message"]
        assert int(refused.headers["Retry-After"]) >= 1
        first.join(30)
        second.join(30)
        assert first_result["status"] == second_result["status"] == 200  # queued, not failed


@pytest.mark.parametrize("stream", [True, False])
def test_a_client_that_hangs_up_mid_answer_stops_its_generation_at_once(tmp_path, stream):
    context, model, _ = slow_server(tmp_path, delay=0.05)
    with context as server:
        sock = raw_request(server, {**QUESTION, "stream": stream})
        wait_until(lambda: model.produced >= 2)  # the answer is being generated
        sock.close()  # hang up mid-answer
        hung_up = time.monotonic()
        wait_until(lambda: server.queue.holder() is None, timeout=2)
        freed_after = time.monotonic() - hung_up
        produced = model.produced
        time.sleep(0.3)
        assert model.produced == produced  # nothing more was generated
        assert produced < 10 and freed_after < 0.5  # the whole answer is 14 pieces (0.7 s)
        with server.queue.turn("api"):  # the model is free for the next question
            pass


def test_a_client_that_hangs_up_while_waiting_leaves_the_line(tmp_path):
    context, model, _ = slow_server(tmp_path, delay=0.08)
    with context as server:
        first, result = in_background(server)
        wait_until(lambda: model.produced >= 1)
        for stream in (True, False):
            sock = raw_request(server, {**QUESTION, "stream": stream})
            wait_until(lambda: server.queue.waiting() == 1)
            sock.close()
            wait_until(lambda: server.queue.waiting() == 0, timeout=1)
            assert server.queue.holder() is not None  # left the line: the first still answers
        first.join(30)
        assert result["status"] == 200
        assert model.produced == 14  # only the first question's answer was generated


def test_the_app_and_the_api_take_turns_on_one_model(tmp_path):
    context, _model, settings = slow_server(tmp_path, delay=0.02)
    finished: list[tuple[str, float]] = []
    with context as server:
        api_1, _ = in_background(server, finished=finished, name="api-1")
        wait_until(lambda: server.queue.holder() is not None)
        api_2, _ = in_background(server, finished=finished, name="api-2")
        wait_until(lambda: server.queue.waiting("api") == 1)
        api_3, _ = in_background(server, finished=finished, name="api-3")
        wait_until(lambda: server.queue.waiting("api") == 2)
        # The browser app in the same process, on the same model and queue.
        app = AppService(settings, scripted(server.service.generator().inner), queue=server.queue)
        work = SessionWork(app.new_conversation())
        job = work.submit("How long does the warranty last?", Tuning(4, 0.0, 200))
        wait_until(lambda: job.finished, timeout=30)
        finished.append(("app", time.monotonic()))
        for thread in (api_1, api_2, api_3):
            thread.join(30)
    assert job.state == "done" and "two years" in job.turn.answer
    order = [name for name, _ in sorted(finished, key=lambda f: f[1])]
    # The app came after the answer running when it asked, before the API's next ones.
    assert order == ["api-1", "app", "api-2", "api-3"]
