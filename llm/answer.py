"""A streamed answer: iterate it for text pieces, then read its text and citations.

Works with the terminal (`for piece in answer: print(piece, end="")`) and with
Streamlit (`st.write_stream(answer)`). Once iteration ends (or is abandoned),
the answer is final: `text`, `citations` and `to_json()` are ready, and the
session is told so it can remember the turn. Abandoning an answer mid-way
stops generation and frees the model for other sessions.

>>> from core.types import Passage
>>> passages = [Passage("acme.pdf", 4, 4, 0.9, "...")]
>>> answer = Answer(iter(["Two ", "years [1]."]), mode="generative", passages=passages)
>>> "".join(answer)
'Two years [1].'
>>> answer.citations[0].label, answer.to_json()["mode"]
('[1] acme.pdf p. 4', 'generative')
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from core.types import Passage
from llm.grounding import AnswerSentence
from llm.prompt import citations_for
from llm.types import Citation, Mode


class Grounding(Protocol):
    """What a checked stream (`llm.guard.GroundedStream`) reports once it is done."""

    sentences: list[AnswerSentence]
    notes: list[str]
    outcome: str


class Answer:
    """One answer to one question. Not thread-safe: one consumer."""

    def __init__(
        self,
        pieces: Iterable[str],
        *,
        mode: Mode,
        passages: Sequence[Passage] = (),
        query: str = "",
        notes: Sequence[str] = (),
        on_done: Callable[[Answer], None] | None = None,
        grounding: Grounding | None = None,
    ) -> None:
        self.mode: Mode = mode
        self.passages: tuple[Passage, ...] = tuple(passages)  # numbered [1]..[n]
        self.query = query  # what was searched for (the rewritten follow-up)
        self._notes: tuple[str, ...] = tuple(notes)
        self._grounding = grounding
        self._pieces = iter(pieces)
        self._parts: list[str] = []
        self._done = False
        self._citations: list[Citation] = []
        self._on_done = on_done

    @classmethod
    def fixed(cls, text: str, **kwargs) -> Answer:
        """An answer known in full up front (not found, extractive)."""
        return cls([text], **kwargs)

    def __iter__(self) -> Iterator[str]:
        if self._done:
            if self._parts:  # iterating a finished answer replays it in one piece
                yield self.text
            return
        try:
            for piece in self._pieces:
                self._parts.append(piece)
                yield piece
        finally:
            self._finish()

    @property
    def notes(self) -> tuple[str, ...]:
        """What the user may want to know: trimmed context, a stopped or replaced answer."""
        extra = tuple(self._grounding.notes) if self._grounding is not None and self._done else ()
        return self._notes + extra

    @property
    def sentences(self) -> list[AnswerSentence]:
        """The answer's sentences with the passages that support them (generative mode)."""
        _ = self.text
        return list(self._grounding.sentences) if self._grounding is not None else []

    @property
    def outcome(self) -> str:
        """answered, quoted (the model's answer was replaced by quotes) or refused."""
        _ = self.text
        return self._grounding.outcome if self._grounding is not None else "answered"

    @property
    def raw(self) -> str:
        """The model's own text before checking (empty without a model)."""
        _ = self.text
        return getattr(self._grounding, "raw", "")

    @property
    def done(self) -> bool:
        return self._done

    @property
    def text(self) -> str:
        """The whole answer; reading it before iterating consumes the stream silently."""
        if not self._done:
            for _ in self:
                pass
        return "".join(self._parts).strip()

    @property
    def citations(self) -> list[Citation]:
        """The passages the text cites, in passage order (numbers out of range dropped)."""
        _ = self.text
        return list(self._citations)

    def to_json(self) -> dict:
        """The CLI's `--json` contract."""
        return {
            "answer": self.text,
            "mode": self.mode,
            "outcome": self.outcome,
            "citations": [c.to_json() for c in self.citations],
            "sentences": [s.to_json() for s in self.sentences],
            "notes": list(self.notes),
        }

    def close(self) -> None:
        """Stop generating; what was produced so far becomes the final text."""
        if not self._done:
            self._finish()

    def _finish(self) -> None:
        if self._done:
            return
        self._done = True
        close = getattr(self._pieces, "close", None)
        if close is not None:
            close()  # releases the model lock if generation was abandoned
        self._citations = citations_for("".join(self._parts), self.passages)
        if self._on_done is not None:
            self._on_done(self)
