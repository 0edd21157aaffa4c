"""The model's line: first come first served, each waiter's place, a stopped waiter leaves."""

from __future__ import annotations

import threading
import time

from llm.generation_line import GenerationLine, Ticket


def wait_for(condition, timeout=5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


def test_turns_go_in_the_order_asked_and_each_waiter_knows_its_place():
    line = GenerationLine()
    running = Ticket()
    assert line.wait_turn(running)
    tickets = [Ticket() for _ in range(3)]
    order: list[int] = []

    def take(n: int) -> None:
        assert line.wait_turn(tickets[n])
        order.append(n)
        line.done(tickets[n])

    threads = []
    for n in range(3):  # each joins the line after the one before it
        threads.append(threading.Thread(target=take, args=(n,)))
        threads[-1].start()
        wait_for(lambda n=n: line.waiting() == n + 1)
    assert [line.ahead(t) for t in tickets] == [1, 2, 3]
    assert line.ahead(running) == 0
    line.done(running)
    for thread in threads:
        thread.join(5)
    assert order == [0, 1, 2]
    assert line.waiting() == 0


def test_a_stopped_waiter_leaves_the_line_at_once_and_the_next_moves_up():
    line = GenerationLine()
    running, stopped, after = Ticket(), Ticket(), Ticket()
    line.wait_turn(running)
    stop = threading.Event()
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(line.wait_turn(stopped, stop.is_set)))
    thread.start()
    wait_for(lambda: line.waiting() == 1)
    line.enter(after)
    assert line.ahead(after) == 2
    began = time.monotonic()
    stop.set()
    thread.join(5)
    assert result == [False] and time.monotonic() - began < 1.0
    assert line.ahead(after) == 1  # only the running one is ahead now


def test_turn_waits_for_the_running_generation():
    line = GenerationLine()
    running = Ticket()
    line.wait_turn(running)
    entered = threading.Event()

    def exclusive() -> None:
        with line.turn():
            entered.set()

    thread = threading.Thread(target=exclusive)
    thread.start()
    assert not entered.wait(0.2)
    line.done(running)
    assert entered.wait(5)
    thread.join(5)
