"""What a question still without an answer text shows: which stage it is in, and since when.

Honest about the wait: the question's place in line when the one model is busy
with other conversations, the prompt's size while the model reads it (and how
long that took last time), the tokens written while sentences are checked
before they are shown.

>>> from llm.watch import GenerationProgress
>>> in_line(0), in_line(1), in_line(3)
('Next in line for the model', 'Waiting for the model: 1 question is ahead of yours', \
'Waiting for the model: 3 questions are ahead of yours')
>>> reading(GenerationProgress("reading", prompt_tokens=1900, cached_tokens=400,
...                            expected_read_s=21.4), 4)
'The model is reading the 4 passages and your question (1,500 tokens; about 21 s at its last pace)'
>>> writing(GenerationProgress("writing", written_tokens=35))
'The model is writing (35 tokens so far); each sentence is shown once it is checked against \
the passages'
"""

from __future__ import annotations

from app.session_work import Job
from llm.watch import GenerationProgress


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def in_line(ahead: int) -> str:
    """The question's place in the model's line (it answers one question at a time)."""
    if ahead <= 0:
        return "Next in line for the model"
    verb = "is" if ahead == 1 else "are"
    return f"Waiting for the model: {count(ahead, 'question')} {verb} ahead of yours"


def reading(progress: GenerationProgress, n_passages: int) -> str:
    read = progress.prompt_tokens - progress.cached_tokens
    about = ""
    if progress.expected_read_s is not None and progress.expected_read_s >= 1:
        about = f"; about {progress.expected_read_s:.0f} s at its last pace"
    return (
        f"The model is reading the {count(n_passages, 'passage')} and your question "
        f"({read:,} tokens{about})"
    )


def writing(progress: GenerationProgress) -> str:
    return (
        f"The model is writing ({count(progress.written_tokens, 'token')} so far); each "
        "sentence is shown once it is checked against the passages"
    )


def status(job: Job) -> str:
    """The line a pending answer shows while it has no text yet, with the seconds waited."""
    return f"{_stage(job)} ... {job.waited():.0f} s"


def _stage(job: Job) -> str:
    if job.cancel.is_set():
        return "Stopping"
    if job.state == "queued":
        return "Waiting for your question before it to be answered"
    turn = job.model_turn
    if getattr(turn, "granted_at", 0) is None:  # in the model's line (`service.model_queue`)
        return in_line(turn.position())
    watch = job.watch
    progress = watch.progress()
    if job.passages is None:
        if progress is None or not watch.rewriting or progress.stage == "done":
            return "Searching your documents"
        if progress.stage == "waiting":
            return f"{in_line(progress.ahead)} (to read your follow-up question)"
        return "The model is turning your follow-up question into a search query"
    n = len(job.passages)
    if progress is None or watch.rewriting:  # a model that does not report its progress
        return f"The model is reading the {count(n, 'passage')}"
    if progress.stage == "waiting":
        return in_line(progress.ahead)
    if progress.stage == "reading":
        return reading(progress, n)
    if progress.stage == "writing":
        return writing(progress)
    return "Checking the answer against the passages"
