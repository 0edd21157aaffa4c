"""A conversation about the indexed documents: the entry point for the CLI and the UI.

    session = ChatSession(retriever, generator, settings)   # generator None: extractive
    answer = session.ask("What does the warranty cover?")
    for piece in answer: print(piece, end="")             # or st.write_stream(answer)
    answer.citations                                        # [Citation(1, Passage(...))]
    session.ask("And for how long?")                        # understands the follow-up

One session per user (it keeps that user's history); the generator is shared
between sessions and serializes its own use.

>>> from core.types import Passage
>>> class OnePassage:
...     def search(self, query, k=5, files=None):
...         if "warranty" not in query.lower():
...             return []
...         return [Passage("acme.pdf", 4, 4, 0.9, "The warranty lasts two years from delivery.")]
>>> session = ChatSession(OnePassage())
>>> answer = session.ask("How long is the warranty?")
>>> answer.mode, [c.label for c in answer.citations]
('extractive', ['[1] acme.pdf p. 4'])
>>> session.ask("What is the weather like?").text
'The documents do not contain the answer to this question.'
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from core.settings import Settings
from llm.answer import Answer
from llm.budget import fit_prompt
from llm.extractive import SentenceEmbedder, extractive_answer
from llm.guard import GroundedStream
from llm.injection import REMOVED, flag_note, without_instructions
from llm.prompt import NOT_FOUND_ANSWER, build_messages
from llm.protocols import Generator, Retriever
from llm.rewrite import standalone_query
from llm.types import GenerationParams, Mode, Turn
from llm.windows import passage_window


class ChatSession:
    """Question in, streamed grounded answer out; remembers the last turns."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator | None = None,
        settings: Settings | None = None,
        *,
        embedder: SentenceEmbedder | None = None,
    ) -> None:
        self._retriever = retriever
        self._generator = generator
        self._settings = settings or Settings()
        self._embedder = embedder
        self._history: deque[Turn] = deque(maxlen=self._settings.llm_history_turns)
        if generator is not None:
            # Fail now, with the size to configure, rather than at the first question.
            fit_prompt(
                "",
                [],
                [],
                count_prompt_tokens=generator.count_prompt_tokens,
                n_ctx=generator.n_ctx,
                max_tokens=self._settings.llm_max_tokens,
            )

    @property
    def mode(self) -> Mode:
        return "extractive" if self._generator is None else "generative"

    @property
    def history(self) -> tuple[Turn, ...]:
        return tuple(self._history)

    def reset(self) -> None:
        """Forget the conversation (a new topic)."""
        self._history.clear()

    def restore(self, turns: Sequence[Turn]) -> None:
        """Remember exactly these turns (the last `llm_history_turns` of them), e.g. a
        conversation read back from disk, or the history before a question that was stopped."""
        self._history.clear()
        self._history.extend(turns)

    def forget(self, question: str) -> None:
        """Drop the newest remembered turn if it is this question's (a stopped answer must
        not shape how the next question is searched)."""
        if self._history and self._history[-1].question == question.strip():
            self._history.pop()

    def ask(self, question: str, *, files: Sequence[str] | None = None) -> Answer:
        """Search, then answer from what was found. `files` limits the search to sources.

        Rewriting and retrieval happen here; generation happens as the answer is iterated.
        """
        question = question.strip()
        if not question:
            raise ValueError("the question is empty")
        history = tuple(self._history)
        rewriter = self._generator if self._settings.llm_rewrite_followups else None
        query = standalone_query(question, history, rewriter)
        passages = self._retriever.search(query, k=self._settings.llm_passages, files=files)
        remember = self._remember(question)
        if not passages:
            return Answer.fixed(NOT_FOUND_ANSWER, mode=self.mode, query=query, on_done=remember)
        if self._generator is None:
            text = extractive_answer(question, passages, embedder=self._embedder)
            return Answer.fixed(
                text, mode="extractive", passages=passages, query=query, on_done=remember
            )
        cleaned = [without_instructions(p) for p in passages]
        windows = [passage_window(query, p) for p, _ in cleaned]
        plan = fit_prompt(
            question,
            windows,
            history,
            count_prompt_tokens=self._generator.count_prompt_tokens,
            n_ctx=self._generator.n_ctx,
            max_tokens=self._settings.llm_max_tokens,
            build=build_messages,
        )
        pieces = self._generator.stream(plan.messages, self._params(plan.max_tokens))
        flagged = [n for n, p in enumerate(plan.passages, 1) if REMOVED in p.text]
        notes = (*plan.notes, flag_note(flagged, plan.passages)) if flagged else plan.notes
        checked = GroundedStream(
            pieces,
            question=query,
            passages=plan.passages,
            embedder=self._embedder,
            count_tokens=self._generator.count_tokens,
            max_tokens=plan.max_tokens,
        )
        return Answer(
            checked,
            mode="generative",
            passages=plan.passages,
            query=query,
            notes=notes,
            on_done=remember,
            grounding=checked,
        )

    def _params(self, max_tokens: int) -> GenerationParams:
        s = self._settings
        return GenerationParams(
            max_tokens=max_tokens,
            temperature=s.llm_temperature,
            top_p=s.llm_top_p,
            top_k=s.llm_top_k,
            repeat_penalty=s.llm_repeat_penalty,
            seed=s.llm_seed,
        )

    def _remember(self, question: str):
        def remember(answer: Answer) -> None:
            if not self._history.maxlen:
                return
            # A quoted answer is remembered as its plain sentences: a small model shown the
            # quote layout in the history copies it instead of answering the next question.
            quoted = answer.outcome == "quoted" and answer.sentences
            text = " ".join(s.text for s in answer.sentences) if quoted else answer.text
            self._history.append(Turn(question, text))

        return remember
