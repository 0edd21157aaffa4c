"""Questions answered off the page's script, so that nothing a user does can lose them.

Streamlit reruns the page script on every click; a question answered inside the
script would be abandoned by the rerun (the server went on computing it, the
page forgot it). Here each conversation has one worker thread that answers its
questions in order; the page only shows what the worker has produced so far,
and a rerun simply shows it again. Each job carries an `AnswerWatch`
(`llm.watch`): the passages as soon as the search has them, so the page shows
the sources before the model's first word, and the model's progress (in line
behind other conversations, reading, writing). A question is stopped only by
`cancel` (the Stop button), which also aborts the model's computation: it
then ends visibly, and the conversation memory used to rewrite follow-up
questions is put back as it was before it, so it cannot leak into the next
search.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from app.conversation import ChatTurn, Conversation, Tuning
from core.types import Passage
from llm.watch import AnswerWatch, GenerationCancelled
from service.model_queue import TurnCancelled

State = Literal["queued", "searching", "answering", "done", "stopped", "failed"]
FINISHED: frozenset[str] = frozenset({"done", "stopped", "failed"})
_IDS = itertools.count(1)


@dataclass
class Job:
    """One question on its way to an answer. Written by the worker, read by the page."""

    question: str
    tuning: Tuning
    id: int = field(default_factory=lambda: next(_IDS))
    state: State = "queued"
    parts: list[str] = field(default_factory=list)
    turn: ChatTurn | None = None
    error: BaseException | None = None
    asked_at: float = field(default_factory=time.monotonic)
    cancel: threading.Event = field(default_factory=threading.Event)
    first_text_at: float | None = None  # time.monotonic() of the first piece of the answer
    model_turn: object = None  # its place in the model's line while it waits (`Turn`)
    watch: AnswerWatch = field(init=False)

    def __post_init__(self) -> None:
        self.watch = AnswerWatch(self.cancel)

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def passages(self) -> tuple[Passage, ...] | None:
        """The passages found for it; None until its search is done."""
        return self.watch.passages

    @property
    def finished(self) -> bool:
        return self.state in FINISHED

    def waited(self) -> float:
        return time.monotonic() - self.asked_at


class SessionWork:
    """The questions of one conversation, answered one after another by one thread.

    `on_turn` is called (in the worker) with every finished or stopped turn after it was
    added to the conversation, e.g. to save the conversation to disk.
    """

    def __init__(
        self,
        conversation: Conversation,
        on_turn: Callable[[ChatTurn], None] | None = None,
        owner: object = None,
    ) -> None:
        self.conversation = conversation
        self.owner = owner  # the service whose conversation this is (a new one: rebuild)
        self._on_turn = on_turn
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue: deque[Job] = deque()
        self._jobs: list[Job] = []  # not yet collected by the page, in order asked
        self._thread: threading.Thread | None = None

    def submit(self, question: str, tuning: Tuning) -> Job:
        """Queue a question; one that cannot be asked (too long) is refused here, at once."""
        job = Job(self.conversation.check(question), tuning)
        with self._lock:
            self._queue.append(job)
            self._jobs.append(job)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="session-work", daemon=True)
                self._thread.start()
            self._wake.notify()
        return job

    def cancel(self, job_id: int) -> None:
        with self._lock:
            for job in self._jobs:
                if job.id == job_id and not job.finished:
                    job.watch.cancel()  # also aborts the model's computation
                    if job.state == "queued":  # never started: nothing to undo
                        self._queue.remove(job)
                        self._stop(job, None)

    def jobs(self) -> list[Job]:
        """The questions not yet collected: running, waiting, or finished since last look."""
        with self._lock:
            return list(self._jobs)

    def collect(self, shown: Sequence[ChatTurn]) -> list[Job]:
        """Finished jobs whose turn is among `shown` (or that failed), removed from `jobs()`.

        A job that finished after `shown` was read stays, so the page knows to show it.
        """
        ids = {id(t) for t in shown}
        with self._lock:
            done = [j for j in self._jobs if j.finished and (j.turn is None or id(j.turn) in ids)]
            self._jobs = [j for j in self._jobs if j not in done]
            return done

    def busy(self) -> bool:
        with self._lock:
            return any(not j.finished for j in self._jobs)

    def wait(self, timeout: float) -> bool:
        """Wait until nothing is running (tests, shutdown); True if idle."""
        deadline = time.monotonic() + timeout
        while self.busy():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    # -- the worker -------------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    # An idle worker ends; `submit` starts a new one.
                    if not self._wake.wait(timeout=60) and not self._queue:
                        self._thread = None
                        return
                job = self._queue.popleft()
                job.state = "searching"
            job.model_turn = self.conversation.model_turn(job.cancel)
            try:
                with job.model_turn:  # waits while another question's answer runs
                    self._answer(job)
            except TurnCancelled:  # stopped while it waited: nothing was asked
                self._stop(job, None)

    def _answer(self, job: Job) -> None:
        conv = self.conversation
        before = conv.memory()
        answer = None
        try:
            answer = conv.ask(job.question, job.tuning, watch=job.watch)
            if not job.cancel.is_set():
                job.state = "answering"
                for piece in answer:
                    job.first_text_at = job.first_text_at or time.monotonic()
                    job.parts.append(piece)
                    if job.cancel.is_set():
                        break
            answer.close()
            if job.cancel.is_set():
                raise GenerationCancelled()
            turn = conv.finish(job.question, answer)
        except GenerationCancelled:  # Stop: what was written is kept, not remembered
            conv.restore_memory(before)
            stopped = ChatTurn.from_answer(job.question, answer, stopped=True) if answer else None
            self._stop(job, stopped)
            return
        except Exception as exc:  # shown by the page; the memory is put back
            conv.restore_memory(before)
            job.error = exc
            job.state = "failed"
            return
        self._done(job, turn, "done")

    def _stop(self, job: Job, turn: ChatTurn | None) -> None:
        stopped = turn or ChatTurn(job.question, "", "stopped", (), (), stopped=True)
        if turn is not None:
            stopped = ChatTurn(**{**turn.__dict__, "answer": job.text.strip()})
        self.conversation.add(stopped)
        self._done(job, stopped, "stopped")

    def _done(self, job: Job, turn: ChatTurn, state: State) -> None:
        error = None
        if self._on_turn is not None:
            try:
                self._on_turn(turn)
            except Exception as exc:  # e.g. a full disk: the answer is still shown
                error = exc
        job.error = error
        job.turn = turn
        job.state = state  # last: a finished job has its turn
