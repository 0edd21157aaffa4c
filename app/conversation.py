"""One user's conversation: their chat session, their settings, the turns so far, the export.

Each browser session holds one `Conversation` (in `st.session_state`); the
index, the embedder and the model behind it are shared by all of them.
"""

from __future__ import annotations

import contextlib
import glob
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from app.safe_markdown import escape_text, model_markdown
from core.types import Passage
from llm.answer import Answer
from llm.chat import ChatOptions, ChatSession
from llm.protocols import Retriever
from llm.types import Citation, Turn
from llm.watch import AnswerWatch


@dataclass(frozen=True)
class Tuning:
    """What a user tunes in the sidebar. `documents` empty: search every document."""

    passages: int
    temperature: float
    max_tokens: int
    documents: tuple[str, ...] = ()


@dataclass(frozen=True)
class ChatTurn:
    """A finished question and answer, with the passages it was given ([1] is passages[0])."""

    question: str
    answer: str
    mode: str
    passages: tuple[Passage, ...]
    citations: tuple[Citation, ...]
    query: str = ""
    notes: tuple[str, ...] = ()
    asked_at: float = 0.0
    stopped: bool = False  # the user stopped it: not remembered for follow-up questions

    @classmethod
    def from_answer(cls, question: str, answer: Answer, stopped: bool = False) -> ChatTurn:
        """Reading `text` finishes the answer if the stream was cut short."""
        return cls(
            question=question,
            answer=answer.text,
            mode=answer.mode,
            passages=answer.passages,
            citations=tuple(answer.citations),
            query=answer.query,
            notes=answer.notes,
            asked_at=time.time(),
            stopped=stopped,
        )

    @property
    def cited(self) -> frozenset[int]:
        return frozenset(c.n for c in self.citations)


class Conversation:
    """A chat session whose sampling and search settings can change between questions."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Any,
        options: ChatOptions,
        embedder: Any,
        model_turn: Callable[[threading.Event], AbstractContextManager] | None = None,
    ) -> None:
        self._session = ChatSession(retriever, generator, options, embedder=embedder)
        self._model_turn = model_turn
        self.turns: list[ChatTurn] = []
        # Turns are added by the question's worker thread and read by the page.
        self._lock = threading.Lock()

    @property
    def mode(self) -> str:
        return self._session.mode

    def model_turn(self, cancel: threading.Event) -> AbstractContextManager:
        """A place in the shared model's line (`service.model_queue.Turn`), to hold for one
        whole question, its rewrite and its answer: others wait at most one answer of this
        one. Entering it waits for the turn; `cancel` set meanwhile leaves the line."""
        if self._model_turn is None or self.mode != "generative":
            return contextlib.nullcontext()
        return self._model_turn(cancel)

    def check(self, question: str) -> str:
        """The question as it will be asked; raises at once if it cannot be (too long)."""
        return self._session.check(question)

    def ask(self, question: str, tuning: Tuning, watch: AnswerWatch | None = None) -> Answer:
        """The answer streams when iterated; call `finish` with it afterwards. `watch`
        follows it from the page (see `llm.watch`)."""
        # The retriever reads file filters as glob patterns; a name is matched literally.
        files = [glob.escape(name) for name in tuning.documents] or None
        return self._session.ask(
            question,
            files=files,
            passages=tuning.passages,
            temperature=tuning.temperature,
            max_tokens=tuning.max_tokens,
            watch=watch,
        )

    def finish(self, question: str, answer: Answer) -> ChatTurn:
        turn = ChatTurn.from_answer(question, answer)
        self.add(turn)
        return turn

    def add(self, turn: ChatTurn) -> None:
        with self._lock:
            self.turns = [*self.turns, turn]  # a new list: a reader's copy never changes

    def shown(self) -> list[ChatTurn]:
        with self._lock:
            return list(self.turns)

    def memory(self) -> tuple[Turn, ...]:
        """What follow-up questions are rewritten with (see `restore_memory`)."""
        return self._session.history

    def restore_memory(self, turns: Sequence[Turn]) -> None:
        self._session.restore(turns)

    def load(self, turns: Sequence[ChatTurn]) -> None:
        """Show these turns and remember the answered ones (a conversation read from disk)."""
        with self._lock:
            self.turns = list(turns)
        self._session.restore([Turn(t.question, t.answer) for t in turns if not t.stopped])

    def clear(self) -> None:
        with self._lock:
            self.turns = []
        self._session.reset()


def conversation_markdown(turns: Sequence[ChatTurn]) -> str:
    """The conversation as a Markdown document: questions, answers, cited passages.

    What the documents and the model wrote is escaped as on the page
    (`app.safe_markdown`): a Markdown viewer shows it as text, with no link, image or
    HTML of a PDF's making.

    >>> p = Passage("acme.pdf", 4, 4, 0.81, "The warranty lasts two years.")
    >>> c = Citation(1, p)
    >>> print(conversation_markdown([ChatTurn("How long?", "Two years [1].", "generative",
    ...                                       (p,), (c,))]))
    # Conversation with your PDFs
    <BLANKLINE>
    ## Q1. How long\\?
    <BLANKLINE>
    Two years **\\[1\\]**.
    <BLANKLINE>
    **Sources**
    <BLANKLINE>
    - \\[1\\] acme\\.pdf p\\. 4 \\(relevance 0\\.81\\)
    <BLANKLINE>
      > The warranty lasts two years\\.
    <BLANKLINE>
    """
    return "\n".join(_export_lines(turns))


def _export_lines(turns: Sequence[ChatTurn]) -> Iterator[str]:
    yield "# Conversation with your PDFs"
    yield ""
    for i, turn in enumerate(turns, 1):
        yield f"## Q{i}. {escape_text(_one_line(turn.question))}"
        yield ""
        yield model_markdown(turn.answer, streamlit=False)
        yield ""
        if turn.stopped:
            yield "*Stopped before the answer was finished.*"
            yield ""
        cited = [c for c in turn.citations if 1 <= c.n <= len(turn.passages)]
        if not cited:
            continue
        yield "**Sources**"
        yield ""
        for c in cited:
            passage = turn.passages[c.n - 1]
            yield "- " + escape_text(f"{c.label} (relevance {passage.score:.2f})")
            yield ""
            yield from (f"  > {escape_text(line)}" for line in passage.text.strip().splitlines())
            yield ""


def _one_line(text: str) -> str:
    return " ".join(text.split())
