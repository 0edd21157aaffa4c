"""A conversation about the indexed documents: the entry point for the CLI and the UI.

    session = ChatSession(retriever, generator, ChatOptions(passages=4))  # None: extractive
    answer = session.ask("What does the warranty cover?")
    for piece in answer: print(piece, end="")             # or st.write_stream(answer)
    answer.citations                                        # [Citation(1, Passage(...))]
    session.ask("And for how long?")                        # understands the follow-up
    session.ask("Who pays?", passages=8, temperature=0.7)   # tuning for one question

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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

from core.errors import QuestionTooLongError
from core.types import Passage
from llm.answer import Answer
from llm.budget import PromptPlan, fit_prompt
from llm.extractive import extractive_answer
from llm.guard import GroundedStream
from llm.injection import REMOVED, flag_note, without_instructions
from llm.passage_windows import passage_window
from llm.prompt import NOT_FOUND_ANSWER, build_messages
from llm.protocols import Generator, Retriever, SentenceEmbedder
from llm.rewrite import standalone_query
from llm.second_try import Retry, SecondTryOptions, narrow_messages, pick_passage, with_window
from llm.sentence_cache import SentenceCache
from llm.types import GenerationParams, Mode, Turn
from llm.watch import AnswerWatch, WatchedGenerator


@dataclass(frozen=True)
class ChatOptions:
    """How a session answers (the edges fill it from `Settings.search` and `Settings.llm`).

    `sampling.max_tokens` is the longest answer, reserved in the model's window.
    """

    passages: int = 4  # per question: searched for and given to the model
    history_turns: int = 4  # earlier exchanges remembered
    rewrite_followups: bool = True  # the model rewrites a follow-up into a search query
    max_question_chars: int = 2000  # a longer question is refused (RAG_MAX_QUESTION_CHARS)
    sampling: GenerationParams = field(default_factory=GenerationParams)
    second_try: SecondTryOptions = field(default_factory=SecondTryOptions)


class ChatSession:
    """Question in, streamed grounded answer out; remembers the last turns."""

    def __init__(
        self,
        retriever: Retriever,
        generator: Generator | None = None,
        options: ChatOptions | None = None,
        *,
        embedder: SentenceEmbedder | None = None,
    ) -> None:
        self._retriever = retriever
        self._generator = generator
        self.options = options or ChatOptions()
        self._embedder = embedder
        self._history: deque[Turn] = deque(maxlen=self.options.history_turns)
        if generator is not None:
            # Fail now, with the size to configure, rather than at the first question.
            fit_prompt(
                "",
                [],
                [],
                count_prompt_tokens=generator.count_prompt_tokens,
                n_ctx=generator.n_ctx,
                max_tokens=self.options.sampling.max_tokens,
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
        """Remember exactly these turns (the last `history_turns` of them), e.g. a
        conversation read back from disk, or the history before a question that was stopped."""
        self._history.clear()
        self._history.extend(turns)

    def forget(self, question: str) -> None:
        """Drop the newest remembered turn if it is this question's (a stopped answer must
        not shape how the next question is searched)."""
        if self._history and self._history[-1].question == question.strip():
            self._history.pop()

    def check(self, question: str) -> str:
        """The question as it will be asked (stripped); refused here if it cannot be.

        Callers that queue questions call it first, so a refusal comes at once.
        """
        return check_question(question, self.options.max_question_chars)

    def ask(
        self,
        question: str,
        *,
        files: Sequence[str] | None = None,
        passages: int | None = None,
        temperature: float | None = None,
        max_tokens: int | None = None,
        watch: AnswerWatch | None = None,
    ) -> Answer:
        """Search, then answer from what was found. `files` limits the search to sources.

        `passages`, `temperature` and `max_tokens` tune this question only (None: the
        session's options). Rewriting and retrieval happen here; generation happens as
        the answer is iterated. `watch` follows it all from another thread (the stage, the
        passages as soon as they are found, the model's progress) and can stop it.
        """
        question = self.check(question)
        opts = self.options
        sampling = replace(
            opts.sampling,
            temperature=opts.sampling.temperature if temperature is None else temperature,
            max_tokens=opts.sampling.max_tokens if max_tokens is None else max_tokens,
        )
        history = tuple(self._history)
        generator = self._generator
        if watch is not None:
            watch.stage = "searching"
            if generator is not None:
                generator = WatchedGenerator(generator, watch)
        rewriter = generator if opts.rewrite_followups else None
        query = standalone_query(question, history, rewriter)
        k = opts.passages if passages is None else passages
        found = self._retriever.search(query, k=k, files=files)
        if watch is not None:
            watch.found(found)  # the sources can be shown now, before the model's first word
            watch.stage = "answering"
        return self._answer(question, query, found, history, sampling, generator)

    def _answer(
        self,
        question: str,
        query: str,
        passages: list,
        history: tuple[Turn, ...],
        sampling: GenerationParams,
        generator: Generator | None,
    ) -> Answer:
        remember = self._remember(question)
        if not passages:
            return Answer.fixed(NOT_FOUND_ANSWER, mode=self.mode, query=query, on_done=remember)
        if generator is None:
            text = extractive_answer(question, passages, embedder=self._embedder)
            return Answer.fixed(
                text, mode="extractive", passages=passages, query=query, on_done=remember
            )
        # One cache for the answer: the refusal path embeds the same sentences several times.
        embedder = SentenceCache(self._embedder) if self._embedder is not None else None
        cleaned = [without_instructions(p) for p in passages]
        windows = [passage_window(query, p) for p, _ in cleaned]
        plan = fit_prompt(
            question,
            windows,
            history,
            count_prompt_tokens=generator.count_prompt_tokens,
            n_ctx=generator.n_ctx,
            max_tokens=sampling.max_tokens,
            build=build_messages,
        )
        pieces = generator.stream(plan.messages, replace(sampling, max_tokens=plan.max_tokens))
        flagged = [n for n, p in enumerate(plan.passages, 1) if REMOVED in p.text]
        notes = (*plan.notes, flag_note(flagged, plan.passages)) if flagged else plan.notes
        checked = GroundedStream(
            pieces,
            question=query,
            passages=plan.passages,
            embedder=embedder,
            count_tokens=generator.count_tokens,
            max_tokens=plan.max_tokens,
            second_try=self._second_try(
                query,
                [p for p, _ in cleaned][: len(plan.passages)],
                plan,
                sampling,
                generator,
                embedder,
            ),
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

    def _second_try(
        self,
        query: str,
        chunks: Sequence[Passage],
        plan: PromptPlan,
        sampling: GenerationParams,
        generator: Generator,
        embedder: SentenceEmbedder | None,
    ) -> Callable[[], Retry | None] | None:
        """How to ask again, narrower, if the model refuses (None: never)."""
        options = self.options.second_try
        if not options.enabled or embedder is None or plan.truncated:
            return None

        def ask_again() -> Retry | None:
            pick = pick_passage(query, chunks, embedder, options)
            if pick is None:
                return None
            messages = narrow_messages(query, pick)
            if generator.count_prompt_tokens(messages) + plan.max_tokens > generator.n_ctx:
                return None
            pieces = generator.stream(messages, replace(sampling, max_tokens=plan.max_tokens))
            return Retry(
                pieces, with_window(plan.passages, pick), pick.number, options.min_answer_cosine
            )

        return ask_again

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


def check_question(question: str, max_chars: int) -> str:
    """The stripped question; `ValueError` if empty, `QuestionTooLongError` if too long.

    >>> check_question("  How long?  ", 20)
    'How long?'
    >>> check_question("Why? " * 10, 20)
    Traceback (most recent call last):
    ...
    core.errors.QuestionTooLongError: The question is 49 characters long; the limit is 20 \
(RAG_MAX_QUESTION_CHARS). Next step: ask about one thing in a sentence or two, quoting only \
the words that matter
    """
    question = question.strip()
    if not question:
        raise ValueError("the question is empty")
    if len(question) > max_chars:
        raise QuestionTooLongError(
            f"The question is {len(question):,} characters long; the limit is {max_chars:,} "
            "(RAG_MAX_QUESTION_CHARS)",
            hint="ask about one thing in a sentence or two, quoting only the words that matter",
        )
    return question
