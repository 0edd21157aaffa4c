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

from core.types import Passage
from llm.prompt import citations_for
from llm.types import Citation, Mode


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
    ) -> None:
        self.mode: Mode = mode
        self.passages: tuple[Passage, ...] = tuple(passages)  # numbered [1]..[n]
        self.query = query  # what was searched for (the rewritten follow-up)
        self.notes: tuple[str, ...] = tuple(notes)
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
            "citations": [c.to_json() for c in self.citations],
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
