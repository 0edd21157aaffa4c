"""The model's line: lanes and processes alternate, a bound says QueueFull, cancel leaves."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time

import pytest

from llm.types import GenerationParams, Message
from service.machine_turns import MachineTurns, TurnCancelled
from service.model_queue import ModelQueue, QueueFull
from service.queued_generator import QueuedGenerator
from tests.fake_generator import ScriptedGenerator


class Holder:
    """A turn held by another thread until `done` (as a question being answered)."""

    def __init__(self, queue: ModelQueue, lane: str = "api") -> None:
        self.done = threading.Event()
        granted = threading.Event()

        def hold():
            with queue.turn(lane):
                granted.set()
                self.done.wait(10)

        threading.Thread(target=hold).start()
        assert granted.wait(5)

    def release(self) -> None:
        self.done.set()


def ask_in_thread(queue: ModelQueue, lane: str, served: list[str], name: str, hold_s=0.0):
    turn = queue.enter(lane)

    def run():
        with turn:
            served.append(name)
            time.sleep(hold_s)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_lanes_alternate_so_neither_waits_for_more_than_one_answer_of_the_other():
    queue = ModelQueue()
    served: list[str] = []
    first = Holder(queue)  # the API is answering; two more API questions and one app question wait
    threads = [
        ask_in_thread(queue, "api", served, "api-2"),
        ask_in_thread(queue, "api", served, "api-3"),
        ask_in_thread(queue, "app", served, "app-1"),
    ]
    assert queue.waiting() == 3 and queue.waiting("api") == 2
    first.release()
    for t in threads:
        t.join(5)
    assert served == ["app-1", "api-2", "api-3"]
    assert queue.holder() is None and queue.waiting() == 0


def test_a_full_lane_answers_queue_full_with_a_retry_hint_and_other_lanes_still_queue():
    queue = ModelQueue()
    running = Holder(queue)
    waiting = [queue.enter("api", max_waiting=2) for _ in range(2)]
    with pytest.raises(QueueFull) as full:
        queue.enter("api", max_waiting=2)
    assert full.value.retry_after >= 1 and "Next step: retry in about" in str(full.value)
    app = queue.enter("app", max_waiting=2)  # the app's lane has its own room
    assert queue.position(app) == 2  # after the one answering and the API's next
    for turn in [*waiting, app]:
        turn.release()  # leaving the line before being served
    running.release()
    deadline = time.monotonic() + 5
    while queue.holder() is not None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert queue.waiting() == 0 and queue.holder() is None


def test_a_question_cancelled_while_waiting_leaves_the_line_at_once():
    queue = ModelQueue()
    running = Holder(queue)
    cancel = threading.Event()
    gone = queue.enter("api", cancel=cancel)
    raised: list[BaseException] = []

    def wait():
        try:
            gone.wait()
        except TurnCancelled as exc:
            raised.append(exc)

    thread = threading.Thread(target=wait)
    thread.start()
    cancel.set()
    thread.join(2)
    assert raised and queue.waiting() == 0
    running.release()
    with queue.turn("api") as again:  # the model is free for the next one
        assert queue.holder() is again


def test_a_thread_holding_the_turn_generates_again_without_queueing():
    queue = ModelQueue()
    with queue.turn("api") as outer:
        inner = queue.enter("api")
        assert inner is outer
        inner.wait().release()
        assert queue.holder() is outer
    assert queue.holder() is None


def test_the_queued_generator_stops_at_the_next_token_when_its_turn_is_cancelled():
    queue = ModelQueue()
    words = " ".join(f"w{i}" for i in range(50))
    generator = QueuedGenerator(ScriptedGenerator([words]), queue, lane="api")
    cancel = threading.Event()
    got = []
    with queue.turn("api", cancel=cancel):
        for piece in generator.stream([Message("user", "q")], GenerationParams(max_tokens=200)):
            got.append(piece)
            if len(got) == 3:
                cancel.set()
    assert len(got) == 3
    assert queue.holder() is None


@pytest.mark.slow
def test_processes_on_one_machine_take_turns_and_a_dead_one_is_struck_off(tmp_path):
    path = tmp_path / "turns"
    holder = textwrap.dedent(
        f"""
        import sys, time
        sys.path.insert(0, {str(tmp_path.parent)!r})
        from service.machine_turns import MachineTurns
        turns = MachineTurns(__import__("pathlib").Path({str(path)!r}))
        token = turns.acquire()
        print("holding", flush=True)
        time.sleep(0.6)
        turns.release(token)
        """
    )
    root = str(__import__("pathlib").Path(__file__).resolve().parents[2])
    child = subprocess.Popen(
        [sys.executable, "-c", holder.replace(repr(str(tmp_path.parent)), repr(root))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout.readline().strip() == "holding"
    turns = MachineTurns(path)
    started = time.monotonic()
    token = turns.acquire()
    assert time.monotonic() - started > 0.3  # it waited for the other process's answer
    turns.release(token)
    child.wait(5)
    # A process killed while in line does not block the others.
    path.write_text("999999999:1 deadbeef\n")
    started = time.monotonic()
    turns.release(turns.acquire())
    assert time.monotonic() - started < 0.5 and turns.waiting() == 0


def test_a_machine_line_that_cannot_be_written_does_not_stop_answers(tmp_path, caplog):
    line = MachineTurns(tmp_path / "turns" / "model-turns")
    (tmp_path / "turns" / "model-turns").mkdir()  # a folder where the file should be
    queue = ModelQueue(line)
    with queue.turn("app") as turn:
        assert queue.holder() is turn
    assert "answering anyway" in caplog.text and queue.holder() is None
